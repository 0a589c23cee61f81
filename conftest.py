"""Collects the code blocks of README.md and docs/*.md as tests: see tests/docs_blocks.py."""

from __future__ import annotations

from tests.docs_blocks import docs_sybil

pytest_collect_file = docs_sybil().pytest()
