"""How results are shown on stdout: JSON, JSON Lines or a table, and each kind's columns.

Every cell goes through :func:`_cell`, which escapes it (``_escape._shown``); rich renders a
table when it is installed, plain columns otherwise.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from ._escape import _shown

#: A table's columns: each a header and what to show for an object (``now``: for ages).
Columns = tuple[tuple[str, Callable[[Any, datetime], object]], ...]

SAMPLER_COLUMNS: Columns = (
    ("ID", lambda sampler, now: sampler.id),
    ("STATUS", lambda sampler, now: sampler.status.name),
    ("BASE MODEL", lambda sampler, now: sampler.base_model),
    ("AGE", lambda sampler, now: _age(sampler.created_at, now)),
)

RUN_COLUMNS: Columns = (
    ("ID", lambda run, now: run.id),
    ("STATUS", lambda run, now: run.status.name),
    ("NAME", lambda run, now: run.name),
    ("BASE MODEL", lambda run, now: run.base_model),
    ("SAMPLER", lambda run, now: run.sampler and run.sampler.id),
    ("AGE", lambda run, now: _age(run.created_at, now)),
)
DEACTIVATED_COLUMNS: Columns = (
    ("ID", lambda gone, now: gone.id),
    ("BASE MODEL", lambda gone, now: gone.base_model),
    ("USER", lambda gone, now: gone.user.email),
)
SESSION_COLUMNS: Columns = (("ID", lambda session, now: session.id),)
CHECKPOINT_COLUMNS: Columns = (
    ("ID", lambda checkpoint, now: checkpoint.id),
    ("RUN", lambda checkpoint, now: checkpoint.run_id),
    ("TARGET", lambda checkpoint, now: checkpoint.target),
    ("SIZE", lambda checkpoint, now: _size(checkpoint.size_bytes)),
    ("AGE", lambda checkpoint, now: _age(checkpoint.created_at, now)),
)
FILE_COLUMNS: Columns = (
    ("FILE", lambda file, now: file.relative_file_name),
    ("NODE", lambda file, now: file.node_rank),
    ("SIZE", lambda file, now: _size(file.size_bytes)),
    ("LAST MODIFIED", lambda file, now: file.last_modified),
)
DEPLOYMENT_COLUMNS: Columns = (
    ("ID", lambda deployment, now: deployment.id),
    ("STATUS", lambda deployment, now: deployment.status.name),
    ("BASE MODEL", lambda deployment, now: deployment.base_model),
    ("ACTIVE RUN", lambda deployment, now: deployment.active_run_id),
    ("AVAILABILITY", lambda deployment, now: deployment.availability_model),
    ("AGE", lambda deployment, now: _age(deployment.created_at, now)),
)
LOG_COLUMNS: Columns = (
    ("TIME", lambda log, now: _log_time(log.timestamp)),
    ("LEVEL", lambda log, now: log.level),
    ("REPLICA", lambda log, now: log.replica),
    ("MESSAGE", lambda log, now: log.message),
)


def _age(created_at: datetime, now: datetime) -> str:
    seconds = max(0, int((now - created_at).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"


def _size(size_bytes: int) -> str:
    """A byte count as people read it: ``512 B``, ``1.5 KiB``, ``3.2 GiB``."""
    size = float(size_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            break
        size /= 1024
    return f"{size_bytes} B" if unit == "B" else f"{size:.1f} {unit}"


def _log_time(timestamp: str) -> str:
    """A log line's epoch-nanoseconds stamp as an ISO time (UTC); any other text as it is."""
    if not timestamp.isdigit():
        return timestamp
    moment = datetime.fromtimestamp(int(timestamp) / 1e9, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cell(value: object) -> str:
    """One table cell: ``-`` for nothing, else the value's text made safe by :func:`_shown`."""
    return "-" if value is None else _shown(str(value))


def _print_table(objects: Sequence[object], columns: Columns) -> None:
    """Print ``objects`` as a table on stdout: with rich when it is installed, else plain."""
    now = datetime.now(timezone.utc)
    header = tuple(title for title, _ in columns)
    rows = [tuple(_cell(value(obj, now)) for _, value in columns) for obj in objects]
    try:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
    except ImportError:  # the [cli] extra is not installed: plain columns
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        return
    table = Table(*header, box=None, pad_edge=False)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # Text: never parsed as markup
    console = Console(soft_wrap=True)  # sized and styled for stdout, as if printing to it
    with console.capture() as captured:
        console.print(table)
    # Line by line: one big write to a pipe whose reader goes away midway (``| head -1``) is
    # cut short without an error (io.BufferedWriter returns the short count, which
    # sys.stdout drops), where a line-sized write fails with BrokenPipeError for ``main``.
    for line in captured.get().splitlines(keepends=True):
        sys.stdout.write(line)


class _Printer:
    """Shows a verb's results: JSON as they come, or a table once they are all in."""

    def __init__(self, output: str, columns: Columns) -> None:
        self._table = output == "table"
        self._columns = columns
        self._rows: list[object] = []
        self._listing = False

    def single(self, item: Any) -> None:
        if self._table:
            self._rows.append(item)
        else:
            print(json.dumps(item.to_dict(), indent=2))

    def begin_list(self) -> None:
        """Results come as a list (JSON Lines; a table even when it is empty)."""
        self._listing = True

    def add(self, item: Any) -> None:
        if self._table:
            self._rows.append(item)
        else:  # JSON Lines, flushed: a long listing streams through a pipe
            print(json.dumps(item.to_dict()), flush=True)

    def close(self) -> None:
        # An empty list still shows its header; a single object that failed shows nothing.
        if self._table and (self._rows or self._listing):
            _print_table(self._rows, self._columns)
