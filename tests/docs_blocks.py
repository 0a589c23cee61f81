"""Every code block of README.md and docs/*.md is a test, run as a reader would paste it.

Sybil finds the fenced blocks (``conftest.py`` at the root hands it to pytest); this module says
how each kind of block runs. The conventions, for anyone adding a page:

- ``python``: a complete program (imports included), run in a fresh namespace as ``__main__``.
  Top-level ``await`` is a ``SyntaxError``, as it is for a reader: wrap it in
  ``async def main()`` and ``asyncio.run(main())``. A block whose first line is
  ``# continues the example above`` runs in what the previous block of the same file left.
- ``bash``: run by ``bash -euo pipefail`` in a scratch directory, with this environment's
  scripts (``baseten-loops``) first on ``PATH``.
- ``text``, ``json``, ``toml``, ``yaml``: shown, never run (output, trees, signatures, data).
- any other tag, or none: the block fails and asks for a tag.
- a block that cannot run here (``pip install``: CI has no business downloading; a command
  that reads your own files or serves until interrupted) is preceded by
  ``<!-- not run: the reason -->``: invisible on the page, it makes the block an illustration
  rather than a test (nothing is collected, so nothing is reported as skipped).

Every file gets its own :class:`FakeLoopsServer`, with its key and URL in ``BASETEN_API_KEY``
and ``BASETEN_BASE_URL``, so a block written for a real account runs unchanged. It serves the
objects the docs name as a reader would use their own ids (samplers ``abc123``, ``def456`` and
``ghi789``, team ``t1``, run ``r1``, checkpoint ``c1``, deployment ``d1``), seeded by the very
function that seeds ``baseten-loops fake-server`` (``cli._fake._seed_examples``), so a reader can
run the blocks against that too (tests/test_docs_pasted.py does, as a reader would).
``no-such-sampler`` answers 404. A block reads those objects and changes only what it creates,
so the blocks run in any order against one server. What a block creates comes up at once here
(:data:`DOCS_SERVER_OPTIONS`), so a wait with the default ``poll_interval`` ends on its first
lookup and the pages run in seconds.

A failure names the file and line of the block (``docs/bulk.md, line 12``); Python tracebacks
point at lines of the Markdown file itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

from baseten_loops.cli._fake import EXAMPLE_SAMPLERS, _seed_examples
from baseten_loops.testing import FakeLoopsServer

ROOT = Path(__file__).resolve().parent.parent
#: The files whose blocks are tests, relative to the project root.
DOCS_PATTERNS = ("README.md", "docs/*.md")
#: First line of a Python block that continues the previous block of its file.
CONTINUATION = "# continues the example above"
#: Tags of blocks that are shown, never run.
SHOWN_ONLY = ("text", "json", "toml", "yaml")
#: Sampler id -> fields the docs' server serves (the ids the docs use).
DOCS_SAMPLERS = EXAMPLE_SAMPLERS
#: What a block creates is up at once: a sampler ``ACTIVE``, a run's deployment ``RUNNING``.
DOCS_SERVER_OPTIONS: dict[str, Any] = {
    "sampler_statuses": ("ACTIVE",),
    "deployment_statuses": ("RUNNING",),
}
BASH_TIMEOUT_SECONDS = 120
#: The comment that makes the next block an illustration, not a test; the reason is required.
NOT_RUN = re.compile(r"<!--\s*not run:\s*\S[^>]*-->\s*\Z")


def where(example: Example) -> str:
    """``docs/bulk.md, line 12``: where a block starts, for failure messages."""
    path = Path(example.path)
    with contextlib.suppress(ValueError):
        path = path.relative_to(ROOT)
    return f"{path}, line {example.line}"


def run_python(example: Example) -> str | None:
    """Run a ``python`` block as a script, in a fresh namespace unless it continues one.

    Returns what went wrong, if anything (Sybil reports it with the file and line).
    """
    source = str(example.parsed)
    namespace = example.namespace
    if not source.startswith(CONTINUATION):
        namespace.clear()
    namespace["__name__"] = "__main__"
    # Pad with newlines so that tracebacks give the line in the Markdown file.
    padded = "\n" * example.line + source
    try:
        code = compile(padded, example.path, "exec", dont_inherit=True)
        exec(code, namespace)
    except BaseException as exc:
        hint = ""
        if isinstance(exc, SyntaxError) and "await" in str(exc):
            hint = "\nhint: wrap top-level await in 'async def main()' and 'asyncio.run(main())'"
        # The traceback from the block's own frames on; its lines are lines of the Markdown file.
        frames = exc.__traceback__.tb_next if exc.__traceback__ else None
        details = "".join(traceback.format_exception(type(exc), exc, frames))
        return f"python block at {where(example)} failed:\n{details}{hint}"
    return None


def run_bash(example: Example) -> str | None:
    """Run a ``bash`` block in a scratch directory; return its output if it fails."""
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", str(example.parsed)],
            cwd=scratch,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=BASH_TIMEOUT_SECONDS,
            check=False,
        )
    if result.returncode != 0:
        return (
            f"bash block at {where(example)} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
        )
    return None


def refuse_untagged(example: Example) -> str:
    """Fail a block whose tag is missing or unknown: say which tags there are."""
    tag = example.parsed.strip() or "(none)"
    return (
        f"code block at {where(example)} has tag {tag!r}: tag it 'python' or 'bash' (run as "
        f"tests), or one of {', '.join(SHOWN_ONLY)} (shown only), e.g. 'text' for output"
    )


class RunnableBlockParser(CodeBlockParser):
    """A :class:`CodeBlockParser` that passes over blocks marked ``<!-- not run: why -->``."""

    def __call__(self, document: Any) -> Any:
        for region in super().__call__(document):
            if not NOT_RUN.search(document.text[max(0, region.start - 500) : region.start]):
                yield region


class TagCheckParser:
    """Yields a failing example for every fence whose tag is neither run nor shown-only."""

    def __init__(self) -> None:
        known = "|".join(("python", "bash", *SHOWN_ONLY))
        self.lexer = RawFencedCodeBlockLexer(
            info_pattern=re.compile(rf"(?!(?:{known})$)(?P<tag>[^\n]*)$\n", re.MULTILINE),
        )

    def __call__(self, document: Any) -> Any:
        for region in self.lexer(document):
            region.parsed = region.lexemes["tag"]
            region.evaluator = refuse_untagged
            yield region


class DocsServer:
    """One fake Loops API per Markdown file, its key and URL in the environment.

    The environment is also what a reader has after activating the virtualenv: its scripts
    (``baseten-loops``) first on ``PATH``.
    """

    def __init__(self) -> None:
        self._stack: contextlib.ExitStack | None = None

    def setup(self, namespace: dict[str, Any]) -> None:
        """Start a seeded server and point ``BASETEN_*`` at it (Sybil calls this per file)."""
        stack = contextlib.ExitStack()
        server = stack.enter_context(FakeLoopsServer(**DOCS_SERVER_OPTIONS).serve_in_thread())
        _seed_examples(server)
        scripts = str(Path(sys.executable).parent)
        environ = {
            "BASETEN_API_KEY": server.api_key,
            "BASETEN_BASE_URL": server.base_url,
            "PATH": scripts + os.pathsep + os.environ.get("PATH", ""),
            # A safety net: an unmarked 'pip install' fails at once instead of changing this
            # environment from the network.
            "PIP_NO_INDEX": "1",
        }
        stack.callback(restore_environ, {name: os.environ.get(name) for name in environ})
        os.environ.update(environ)
        self._stack = stack

    def teardown(self, namespace: dict[str, Any]) -> None:
        """Stop the server and restore the environment."""
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()


def restore_environ(saved: dict[str, str | None]) -> None:
    """Put environment variables back as they were (``None``: unset)."""
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def docs_sybil(root: Path = ROOT, patterns: tuple[str, ...] = DOCS_PATTERNS) -> Sybil:
    """The Sybil that makes tests of the blocks of the files matching ``patterns`` in ``root``."""
    server = DocsServer()
    return Sybil(
        parsers=[
            RunnableBlockParser("python", run_python),
            RunnableBlockParser("bash", run_bash),
            TagCheckParser(),
        ],
        path=str(root),  # absolute: Sybil joins it to this file's directory
        patterns=list(patterns),
        setup=server.setup,
        teardown=server.teardown,
        name="docs",
    )
