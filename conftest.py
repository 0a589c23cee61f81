"""Collects the code blocks of README.md and docs/*.md as tests: see tests/docs_blocks.py."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from sybil.integration.pytest import SybilItem

from tests.docs_blocks import docs_sybil

pytest_collect_file = docs_sybil().pytest()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[Any]:
    """Report a skipped block at its own file and line, not inside pytest's unittest support."""
    report = yield
    if report.skipped and isinstance(item, SybilItem) and isinstance(report.longrepr, tuple):
        _, _, reason = report.longrepr
        report.longrepr = (str(item.path), item.example.line, reason)
    return report
