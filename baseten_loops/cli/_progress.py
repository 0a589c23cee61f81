"""The progress of bulk lookups on stderr: a rich bar on a terminal, else nothing but errors."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol

from .._client import LoopsClient
from .._session import ClientStats


class _Progress(Protocol):
    def advance(self, *, failed: bool) -> None: ...
    def error(self, line: str) -> None: ...
    def close(self) -> None: ...


class _NoProgress:
    """Nothing on stderr when it is not a terminal."""

    def advance(self, *, failed: bool) -> None:
        pass

    def error(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        pass


def _progress_summary(
    *, done: int, errors: int, elapsed: float, stats: ClientStats | None = None
) -> str:
    """The progress line's text after the done/total count: the one place to add to it.

    Says when the server is throttling the client, and the rate the client paces itself to.
    """
    rate = done / max(elapsed, 1e-6)
    summary = f"{rate:>6.0f}/s  {errors} errors"
    if stats is not None and stats.throttled:
        summary += f"  throttled x{stats.throttled}"
        if stats.rate_limit is not None:
            summary += f", pacing at {stats.rate_limit:.0f}/s"
    return summary


class _RichProgress:
    """done/total, rate and errors, on stderr, while lookups run."""

    def __init__(self, total: int, stats: Callable[[], ClientStats]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("samplers"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[summary]}", markup=False),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            # Results go to stdout untouched (often a pipe); only the bar lives on stderr.
            redirect_stdout=False,
        )
        summary = _progress_summary(done=0, errors=0, elapsed=1.0)
        self._task = self._progress.add_task("lookups", total=total, summary=summary)
        self._started = time.monotonic()
        self._stats = stats
        self._done = 0
        self._errors = 0
        self._progress.start()

    def advance(self, *, failed: bool) -> None:
        self._done += 1
        self._errors += failed
        summary = _progress_summary(
            done=self._done,
            errors=self._errors,
            elapsed=time.monotonic() - self._started,
            stats=self._stats(),
        )
        self._progress.update(self._task, advance=1, summary=summary)

    def error(self, line: str) -> None:
        from rich.text import Text

        # A Text is printed as it is: no markup, no emoji codes, no highlighting.
        self._progress.console.print(Text(line), soft_wrap=True)

    def close(self) -> None:
        self._progress.stop()


def _progress(total: int, client: LoopsClient) -> _Progress:
    if total < 2 or not sys.stderr.isatty():
        return _NoProgress()
    try:
        return _RichProgress(total, lambda: client.stats)
    except ImportError:
        return _NoProgress()
