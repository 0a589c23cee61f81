"""The pytest plugin: fixtures under pytest-asyncio (strict, auto) and anyio, and its opt-in."""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

import pytest

from baseten_loops import _pytest_entry, pytest_plugin

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parent.parent / "docs"
EXAMPLE = DOCS / "examples" / "test_with_plugin.py"
STRICT = "asyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
AUTO = "asyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.DOTALL)


def _configuration_line() -> str:
    """The one line of configuration docs/testing.md tells users to add."""
    (line,) = [
        block
        for block in _python_blocks((DOCS / "testing.md").read_text())
        if block.startswith("pytest_plugins")
    ]
    return line


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # Hypothesis's plugin spends most of a small run on its terminal summary; not ours to test.
    return pytester.runpytest_inprocess("-p", "no:hypothesispytest", *args)


def _scratch_project(pytester: pytest.Pytester, ini: str, *, conftest: bool = True) -> None:
    """A user's project: the docs example, the docs' configuration line, warnings as errors."""
    pytester.makeini(f"[pytest]\n{ini}filterwarnings = error\n")
    pytester.makepyfile(test_with_plugin=EXAMPLE.read_text())
    if conftest:
        pytester.makeconftest(_configuration_line())


def test_the_docs_show_the_example_file_verbatim() -> None:
    assert EXAMPLE.read_text() in _python_blocks((DOCS / "testing.md").read_text())
    assert _configuration_line() == 'pytest_plugins = ["baseten_loops.pytest_plugin"]\n'


@pytest.mark.parametrize("mode", [STRICT, AUTO], ids=["strict", "auto"])
def test_the_docs_example_passes_under_pytest_asyncio(pytester: pytest.Pytester, mode: str) -> None:
    _scratch_project(pytester, mode)
    _run(pytester, "-p", "no:anyio").assert_outcomes(passed=3)


def test_the_docs_example_passes_under_anyio(pytester: pytest.Pytester) -> None:
    _scratch_project(pytester, "")
    test_file = pytester.path / "test_with_plugin.py"
    test_file.write_text(
        test_file.read_text().replace("pytest.mark.asyncio", "pytest.mark.anyio", 1)
    )
    _run(pytester, "-p", "no:asyncio").assert_outcomes(passed=3)


def test_anyio_tests_work_next_to_pytest_asyncio_in_strict_mode(
    pytester: pytest.Pytester,
) -> None:
    _scratch_project(pytester, STRICT)
    pytester.makepyfile(
        test_anyio="""
        import pytest

        @pytest.mark.anyio
        async def test_get(loops_server, loops_client):
            loops_server.add_sampler("abc123")
            assert (await loops_client.samplers.get("abc123")).id == "abc123"
        """
    )
    _run(
        pytester,
    ).assert_outcomes(passed=4)


def test_each_test_gets_a_fresh_server_and_client(pytester: pytest.Pytester) -> None:
    _scratch_project(pytester, AUTO)
    pytester.makepyfile(
        test_fresh="""
        import pytest

        @pytest.mark.parametrize("run", [1, 2])
        async def test_starts_empty(loops_server, loops_client, run):
            assert loops_server.requests == 0
            assert loops_client.stats.requests == 0
            loops_server.add_sampler("abc123")
            await loops_client.samplers.get("abc123")
        """
    )
    _run(pytester, "-p", "no:anyio").assert_outcomes(passed=5)


def test_client_options_can_be_overridden(pytester: pytest.Pytester) -> None:
    _scratch_project(pytester, AUTO)
    pytester.makepyfile(
        test_options="""
        import pytest

        @pytest.fixture
        def loops_client_options():
            return {"timeout": 7.0}

        async def test_timeout(loops_client):
            assert "timeout=7.0" in repr(loops_client)
        """
    )
    _run(pytester, "-p", "no:anyio").assert_outcomes(passed=4)


def test_the_sync_server_fixture_works_in_plain_tests(pytester: pytest.Pytester) -> None:
    _scratch_project(pytester, STRICT)
    pytester.makepyfile(
        test_sync="""
        from baseten_loops import SyncLoopsClient

        def test_sync(loops_server):
            loops_server.add_sampler("abc123")
            with SyncLoopsClient(loops_server.api_key, base_url=loops_server.base_url) as c:
                assert c.samplers.get("abc123").id == "abc123"
        """
    )
    _run(pytester, "-p", "no:anyio").assert_outcomes(passed=4)


# -- opt-in -----------------------------------------------------------------------------------

USES_SERVER = """
def test_uses_server(loops_server):
    assert loops_server.base_url.startswith("http://127.0.0.1:")
"""


@pytest.mark.parametrize("installed", [True, False])
def test_the_entry_point_switches_the_fixtures_on_only_with_the_testing_extra(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    monkeypatch.setattr(_pytest_entry, "extra_installed", lambda: installed)
    pytester.makepyfile(test_opt_in=USES_SERVER)
    result = _run(pytester, "-p", "no:anyio", "-p", "no:asyncio")
    if installed:
        result.assert_outcomes(passed=1)
    else:
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["*fixture 'loops_server' not found*"])


@pytest.mark.parametrize("installed", [True, False])
def test_explicit_p_switches_the_fixtures_on_with_or_without_the_extra(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, installed: bool
) -> None:
    # With the extra too, the module is registered once (pytest refuses a module registered
    # under two names).
    monkeypatch.setattr(_pytest_entry, "extra_installed", lambda: installed)
    pytester.makepyfile(test_opt_in=USES_SERVER)
    result = _run(
        pytester, "-p", "baseten_loops.pytest_plugin", "-p", "no:anyio", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)


def test_p_no_switches_the_entry_point_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_opt_in=USES_SERVER)
    result = _run(pytester, "-p", "no:baseten_loops", "-p", "no:anyio", "-p", "no:asyncio")
    result.assert_outcomes(errors=1)


def test_the_testing_extra_is_installed_here() -> None:
    assert _pytest_entry.extra_installed()


@pytest.mark.parametrize(
    ("requirements", "expected"),
    [
        (['pytest>=1; extra == "testing"', "attrs>=1"], True),
        (['pytest>=999; extra == "testing"'], False),
        (['no-such-package-for-sure>=1; extra == "testing"'], False),
        (['pytest>=1; extra == "other"'], False),  # no such extra
        (['pytest>=1; python_version >= "3"'], False),  # a base requirement only
        (["not a requirement ((("], False),
        (None, False),
    ],
)
def test_extra_installed_reads_the_extras_requirements(
    monkeypatch: pytest.MonkeyPatch, requirements: list[str] | None, expected: bool
) -> None:
    monkeypatch.setattr(importlib.metadata, "requires", lambda name: requirements)
    assert _pytest_entry.extra_installed() is expected


def test_extra_installed_without_the_distribution_is_false() -> None:
    assert not _pytest_entry.extra_installed("no-such-distribution-for-sure")


def test_loops_client_without_an_async_runner_says_what_to_install(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pytest_plugin, "pytest_asyncio", None)
    pytester.makepyfile(
        test_no_runner="""
        def test_client(loops_client):
            pass
        """
    )
    result = _run(pytester, "-p", "no:anyio", "-p", "no:asyncio")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*loops_client needs an async test runner*"])
