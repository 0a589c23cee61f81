"""The ``baseten-loops`` command line (also ``python -m baseten_loops``).

``samplers get`` and ``samplers wait`` are written out; the everyday verbs (list, get, create,
deactivate, files, logs of samplers, runs, sessions, checkpoints and deployments) are declared
in :data:`VERBS` and run by :func:`_run_verb`.

Exit codes: 0 success; 1 a request failed (each failure on stderr, successes still printed);
2 usage or configuration errors, and a refused API key (401). Tables and progress bars use rich
when it is installed (``pip install 'aio-baseten-loops[cli]'``) and plain text otherwise.

Every string that comes from the server or from an ids file is shown through
:func:`_shown`: control characters escaped, never read as rich markup.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import errno
import functools
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol

import attrs

from ._client import LoopsClient
from ._exceptions import (
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    InvalidIdError,
    LoopsError,
    SamplerFailedError,
    WaitTimeoutError,
)
from ._models import Sampler
from ._retry import RetryPolicy
from ._session import ClientStats
from ._version import __version__
from .testing import FakeLoopsServer, Faults

__all__ = ["main"]

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: How much of an id is echoed in a message: enough to recognise it, never a whole huge line.
SHOWN_ID_CHARS = 80
#: How much of an error message is echoed (server text is already bounded by the library).
SHOWN_MESSAGE_CHARS = 500
STDIN = "-"

#: The fault mix of ``fake-server --faults`` and ``demo``: a degraded, not a dead, service.
DEMO_FAULTS = Faults(
    error_503=0.10,
    rate_limit_429=0.05,
    retry_after=1,
    drop_connection=0.04,
    bad_gateway_502=0.04,
    slow=0.02,
    slow_seconds=3.0,
    faulty_attempts=3,
)

_NO_KEY = (
    "no Baseten API key: use --api-key-file FILE ('-': stdin) or set the BASETEN_API_KEY "
    "environment variable"
)
_KEY_REFUSED = (
    "the server refused the API key (401 Unauthorized); no request can succeed with it: "
    "check --api-key-file, --api-key or BASETEN_API_KEY"
)


class _UsageError(Exception):
    """Ends the command with its message as one line on stderr and exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except (ConfigurationError, _UsageError) as exc:
        # Messages may quote file names or server text: escaped like everything else shown.
        print(f"baseten-loops: error: {_shown(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("baseten-loops: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# -- showing untrusted text ------------------------------------------------------------------


def _shown(text: str, limit: int = SHOWN_MESSAGE_CHARS) -> str:
    r"""``text`` made safe for a terminal: at most ``limit`` characters, none of them control.

    Every character that is not printable (C0/C1 controls such as ESC, ``\r``, bidi overrides
    such as U+202E, zero-width and line separators) is written as its Python escape
    (``\x1b``, ``\r``, ``\u202e``), so a server cannot set the window title, move the cursor
    or fake output. Ordinary unicode stays as it is. The result is plain text: print it with
    ``print`` or as a ``rich.text.Text``, never as rich markup.
    """
    length = len(text)
    if length > limit:
        text = text[:limit]
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return f"{text}... ({length} characters in all)" if length > limit else text


def _source(name: str) -> str:
    """A file option's value as shown in a message: stdin for ``-``."""
    return "stdin" if name == STDIN else _shown(name, SHOWN_ID_CHARS)


def _shown_id(sampler_id: str) -> str:
    return _shown(sampler_id, SHOWN_ID_CHARS)


def _error_line(sampler_id: str, error: BaseException) -> str:
    return f"error: {_shown_id(sampler_id)}: {_shown(str(error))}"


# -- arguments -------------------------------------------------------------------------------


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows each option's default, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baseten-loops",
        description="Work with Baseten Loops from the terminal: samplers, runs, sessions, "
        "checkpoints and deployments.",
        epilog="The API key comes from --api-key-file, --api-key or BASETEN_API_KEY; it is "
        "never printed. Prefer --api-key-file or the environment variable: --api-key is "
        "visible to other local users in the process list.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    groups = {name: _add_group(commands, name, text) for name, text in GROUPS.items()}
    sampler_commands = groups["samplers"]

    get = sampler_commands.add_parser(
        "get",
        help="print samplers as JSON (or a table)",
        description="Print each sampler as JSON: one indented object for one id, one object "
        "per line (in completion order) for several. Failures go to stderr. A refused key "
        "(401) stops at once with exit code 2.",
        formatter_class=_HelpFormatter,
    )
    get.add_argument("ids", nargs="*", metavar="ID", help="sampler ids")
    get.add_argument(
        "--ids-file", metavar="FILE", help="read more ids from FILE, one per line ('-': stdin)"
    )
    get.add_argument("--format", choices=("json", "table"), default="json", help="output format")
    get.add_argument(
        "--concurrency",
        type=_positive_int,
        default=16,
        metavar="N",
        help="lookups in flight at once",
    )
    _add_client_options(get)
    get.set_defaults(run=_run_get)

    wait = sampler_commands.add_parser(
        "wait",
        help="wait until a sampler is ACTIVE",
        description="Poll a sampler until it is ACTIVE, showing status changes on stderr; "
        "print it as JSON when it is. Exit 1 if it fails or --max-wait runs out.",
        formatter_class=_HelpFormatter,
    )
    wait.add_argument("id", metavar="ID")
    wait.add_argument(
        "--max-wait",
        type=_positive_float,
        default=900.0,
        metavar="S",
        help="seconds to wait in all, lookups and pauses included",
    )
    wait.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=5.0,
        metavar="S",
        help="seconds between lookups",
    )
    _add_client_options(wait)
    wait.set_defaults(run=_run_wait)
    for verb in VERBS:
        _add_verb(groups[verb.group], verb)

    fake = commands.add_parser(
        "fake-server",
        help="serve a fake Loops API on 127.0.0.1",
        description="Serve the bundled fake Loops API on 127.0.0.1 until interrupted.",
        formatter_class=_HelpFormatter,
    )
    fake.add_argument("--port", type=int, default=8089, help="port to bind (0: any free one)")
    fake.add_argument("--samplers", type=int, default=100, help="samplers to generate")
    fake.add_argument("--api-key", default="test-key", help="key to accept")
    fake.add_argument(
        "--faults", action="store_true", help="inject a degraded service's faults at random"
    )
    fake.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    fake.add_argument("--ids-out", metavar="FILE", help="write the generated ids to FILE")
    fake.set_defaults(run=_run_fake_server)

    demo = commands.add_parser(
        "demo",
        help="bulk-fetch samplers from an embedded fake server, with faults",
        description="Start the fake server in-process, fetch a few thousand samplers through "
        "the real client while faults are injected, and print a summary. Runs offline.",
        formatter_class=_HelpFormatter,
    )
    demo.add_argument("--samplers", type=_positive_int, default=3000, help="samplers to fetch")
    demo.add_argument("--concurrency", type=_positive_int, default=64, help="lookups in flight")
    demo.set_defaults(run=_run_demo)
    return parser


def _add_group(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """A command group (``samplers``, ``runs``...): alone, it prints its help and exits 2."""
    group = commands.add_parser(name, help=text, formatter_class=_HelpFormatter)
    group.set_defaults(run=lambda _: _usage(group))
    return group.add_subparsers(title="commands", metavar="COMMAND")


def _add_client_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("client options")
    group.add_argument("--base-url", help="API root (default: BASETEN_BASE_URL, else Baseten's)")
    key = group.add_mutually_exclusive_group()
    key.add_argument(
        "--api-key-file",
        metavar="FILE",
        help="read the API key from FILE ('-': stdin); surrounding whitespace is ignored",
    )
    key.add_argument(
        "--api-key",
        metavar="KEY",
        help="the API key (default: BASETEN_API_KEY). Visible to other local users in the "
        "process list: prefer --api-key-file or the environment variable",
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        default=30.0,
        metavar="S",
        help="seconds one request attempt may take",
    )
    group.add_argument(
        "--max-attempts", type=_positive_int, default=4, metavar="N", help="tries per lookup"
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


# -- inputs: the key and ids files -----------------------------------------------------------


def _read_input(name: str, option: str) -> str:
    """The text of ``name`` (``-``: stdin), or a one-line :class:`_UsageError` saying why not."""
    source = _source(name)
    try:
        if name == STDIN:
            if sys.stdin is None:  # started with standard input closed
                raise OSError(errno.EBADF, "no standard input")
            binary = getattr(sys.stdin, "buffer", None)
            data = binary.read() if binary is not None else sys.stdin.read().encode()
        else:
            with open(name, "rb") as f:
                data = f.read()
    except OSError as exc:
        raise _UsageError(f"cannot read {option} {source}: {exc.strerror or exc}") from None
    if b"\0" in data:
        raise _UsageError(f"{option} {source} is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _UsageError(
            f"{option} {source} is not UTF-8 text (undecodable byte at offset {exc.start})"
        ) from None


def _check_stdin_use(args: argparse.Namespace) -> None:
    if getattr(args, "api_key_file", None) == STDIN and getattr(args, "ids_file", None) == STDIN:
        raise _UsageError("--api-key-file - and --ids-file - cannot both read stdin")


def _api_key(args: argparse.Namespace) -> str:
    if args.api_key_file is not None:
        key = _read_input(args.api_key_file, "--api-key-file").strip()
        if not key:
            raise _UsageError(f"--api-key-file {_source(args.api_key_file)} holds no key")
        return key
    key = args.api_key if args.api_key is not None else os.environ.get("BASETEN_API_KEY", "")
    if not key.strip():
        raise _UsageError(_NO_KEY)
    return str(key)


def _client(args: argparse.Namespace) -> LoopsClient:
    return LoopsClient(
        _api_key(args),
        base_url=args.base_url,
        timeout=args.timeout,
        retry=RetryPolicy(max_attempts=args.max_attempts),
    )


# -- samplers get ----------------------------------------------------------------------------


def _read_ids(args: argparse.Namespace) -> list[str]:
    ids = list(args.ids)
    if args.ids_file is not None:
        from_file = [line.strip() for line in _read_input(args.ids_file, "--ids-file").split("\n")]
        if not any(from_file):
            raise _UsageError(f"--ids-file {_source(args.ids_file)} has no sampler ids")
        ids.extend(from_file)
    # Blank lines in a file are skipped; the same id twice is looked up once.
    return list(dict.fromkeys(i for i in ids if i))


def _run_get(args: argparse.Namespace) -> int:
    _check_stdin_use(args)
    ids = _read_ids(args)
    if not ids:
        raise _UsageError("no sampler ids: give IDs or --ids-file")
    client = _client(args)
    return asyncio.run(_get(client, ids, args.format, args.concurrency))


async def _get(client: LoopsClient, ids: list[str], output: str, concurrency: int) -> int:
    streaming = output == "json" and len(ids) > 1  # JSON Lines as results arrive
    found: dict[str, Sampler] = {}  # kept only for a table or a single object
    failures = 0
    progress = _progress(len(ids), client)
    try:
        async with (
            client,
            contextlib.aclosing(client.samplers.iter_many(ids, concurrency=concurrency)) as results,
        ):
            async for sampler_id, result in results:
                if isinstance(result, AuthenticationError):
                    # No lookup with this key can succeed: leaving the block closes the
                    # iterator, which cancels the lookups in flight and sends no more.
                    raise _UsageError(_KEY_REFUSED)
                if isinstance(result, Sampler):
                    if streaming:
                        print(json.dumps(result.to_dict()), flush=True)
                    else:
                        found[sampler_id] = result
                else:
                    failures += 1
                    progress.error(_error_line(sampler_id, result))
                progress.advance(failed=not isinstance(result, Sampler))
    finally:
        progress.close()
    ordered = [found[i] for i in ids if i in found]
    if output == "table":
        _print_table(ordered, SAMPLER_COLUMNS)
    elif len(ids) == 1 and ordered:
        print(json.dumps(ordered[0].to_dict(), indent=2))
    return EXIT_SOME_FAILED if failures else EXIT_OK


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


#: A table's columns: each a header and what to show for an object (``now``: for ages).
Columns = tuple[tuple[str, Callable[[Any, datetime], object]], ...]

SAMPLER_COLUMNS: Columns = (
    ("ID", lambda sampler, now: sampler.id),
    ("STATUS", lambda sampler, now: sampler.status.name),
    ("BASE MODEL", lambda sampler, now: sampler.base_model),
    ("AGE", lambda sampler, now: _age(sampler.created_at, now)),
)


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
    Console(soft_wrap=True).print(table)


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


# -- samplers wait ---------------------------------------------------------------------------


def _run_wait(args: argparse.Namespace) -> int:
    client = _client(args)
    return asyncio.run(_wait(client, args.id, args.max_wait, args.poll_interval))


async def _wait(client: LoopsClient, sampler_id: str, max_wait: float, poll: float) -> int:
    def show(sampler: Sampler) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        line = f"[{stamp}] {_shown_id(sampler.id)}: {_shown(str(sampler.status.name))}"
        print(line, file=sys.stderr, flush=True)

    async with client:
        try:
            sampler = await client.samplers.wait_until_active(
                sampler_id, timeout=max_wait, poll_interval=poll, on_status=show
            )
        except AuthenticationError:
            raise _UsageError(_KEY_REFUSED) from None
        except (SamplerFailedError, WaitTimeoutError) as exc:
            print(f"error: {_shown(str(exc))}", file=sys.stderr)
            return EXIT_SOME_FAILED
        except LoopsError as exc:
            print(_error_line(sampler_id, exc), file=sys.stderr)
            return EXIT_SOME_FAILED
    print(json.dumps(sampler.to_dict(), indent=2))
    return EXIT_OK


# -- the everyday verbs: declared in VERBS, run by one function -----------------------------

GROUPS = {
    "samplers": "look up, list, create and deactivate samplers",
    "runs": "list, read, create and deactivate runs",
    "sessions": "create and read sessions",
    "checkpoints": "list checkpoints and their files",
    "deployments": "list and read deployments, read their logs",
}


@attrs.frozen
class _Option:
    """One ``add_argument`` call: its flags (or positional name) and settings."""

    flags: tuple[str, ...]
    settings: Mapping[str, Any] = attrs.field(factory=dict)


def _option(*flags: str, **settings: Any) -> _Option:
    return _Option(flags, settings)


@attrs.frozen
class _Verb:
    """A command that calls one library method and prints what it returns.

    Every argument of :attr:`options` is handed to the method as the keyword of its ``dest``
    (``--run-id`` as ``run_id``, ``--team`` as ``team_id``); one left out is ``None``, which the
    library does not send.

    Attributes:
        group: The command group (a key of :data:`GROUPS`).
        name: The command's name in its group.
        help: One line for the group's ``--help``.
        method: The library method to call, from a client.
        columns: The table of ``--format table``.
        options: The method's arguments.
        check_with: For a create, which is never sent twice: the command that shows whether
            an ambiguous failure created the object after all.

    """

    group: str
    name: str
    help: str
    method: Callable[[LoopsClient], Callable[..., Any]]
    columns: Columns
    options: tuple[_Option, ...] = ()
    check_with: str | None = None


def _epoch_millis(text: str) -> int:
    """``--start``/``--end``: epoch milliseconds, or an ISO 8601 time (UTC unless it says)."""
    if text.isdigit():
        return int(text)
    try:
        # Python 3.10's fromisoformat does not read a "Z" suffix.
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected epoch milliseconds or an ISO 8601 time, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


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


def _id_argument(name: str, what: str) -> _Option:
    return _option(name, metavar=name.upper(), help=what)


_TEAM = _option("--team", dest="team_id", metavar="TEAM_ID", help="act within this team")
_SCOPE = _option(
    "--scope", metavar="SCOPE", help="'org': everyone's in your organization (default: your own)"
)
_ONLY_RUN = _option("--run-id", help="only this run's")
_ONLY_BASE_MODEL = _option("--base-model", help="only those of this base model")
_SESSION = _option("--session-id", required=True, help="the session (`sessions create`)")
_AVAILABILITY = _option(
    "--availability-model", choices=("dedicated", "spot"), help="capacity to run on"
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

VERBS: tuple[_Verb, ...] = (
    _Verb(
        "samplers",
        "list",
        "list samplers, paired and standalone",
        lambda client: client.samplers.list,
        SAMPLER_COLUMNS,
        (_SCOPE, _TEAM),
    ),
    _Verb(
        "samplers",
        "create",
        "create a sampler (then: samplers wait ID)",
        lambda client: client.samplers.create,
        SAMPLER_COLUMNS,
        (
            _SESSION,
            _option("--base-model", help="the base model of a standalone sampler"),
            _option("--run-id", help="the run to pair it with"),
            _option("--model-path", help="a bt:// sampler checkpoint to serve"),
            _AVAILABILITY,
            _option(
                "--max-seq-length",
                type=_positive_int,
                metavar="N",
                help="longest prompt, in tokens",
            ),
            _option(
                "--num-replicas", type=_positive_int, metavar="N", help="replicas (min and max)"
            ),
            _TEAM,
        ),
        check_with="samplers list",
    ),
    _Verb(
        "samplers",
        "deactivate",
        "shut a standalone sampler down",
        lambda client: client.samplers.deactivate,
        DEACTIVATED_COLUMNS,
        (_id_argument("sampler_id", "the sampler"),),
    ),
    _Verb(
        "runs",
        "list",
        "list runs",
        lambda client: client.runs.list,
        RUN_COLUMNS,
        (_ONLY_RUN, _ONLY_BASE_MODEL, _SCOPE, _TEAM),
    ),
    _Verb(
        "runs",
        "get",
        "fetch one run",
        lambda client: client.runs.get,
        RUN_COLUMNS,
        (_id_argument("run_id", "the run"),),
    ),
    _Verb(
        "runs",
        "create",
        "create a run: a trainer and its paired sampler",
        lambda client: client.runs.create,
        RUN_COLUMNS,
        (
            _SESSION,
            _option("--base-model", required=True, help="the HuggingFace model to train"),
            _option("--name", help="a display name (server default: the base model's)"),
            _option("--lora-rank", type=_positive_int, metavar="N", help="LoRA rank (server: 64)"),
            _option(
                "--max-seq-len", type=_positive_int, metavar="N", help="longest example, in tokens"
            ),
            _option("--seed", type=int, metavar="N", help="random seed"),
            _AVAILABILITY,
            _option("--replicas", type=_positive_int, metavar="N", help="trainer replicas"),
            _option(
                "--sampler-num-replicas", type=_positive_int, metavar="N", help="sampler replicas"
            ),
            _option("--path", help="a bt:// trainer checkpoint to start from"),
            _option("--reuse-from-run-id", metavar="RUN_ID", help="a run to reuse machines of"),
            _TEAM,
        ),
        check_with="runs list",
    ),
    _Verb(
        "runs",
        "deactivate",
        "shut a run and its sampler down",
        lambda client: client.runs.deactivate,
        DEACTIVATED_COLUMNS,
        (_id_argument("run_id", "the run"),),
    ),
    _Verb(
        "sessions",
        "create",
        "create a session",
        lambda client: client.sessions.create,
        SESSION_COLUMNS,
        (_TEAM,),
    ),
    _Verb(
        "sessions",
        "get",
        "fetch one session",
        lambda client: client.sessions.get,
        SESSION_COLUMNS,
        (_id_argument("session_id", "the session"),),
    ),
    _Verb(
        "checkpoints",
        "list",
        "list checkpoints (give one filter)",
        lambda client: client.checkpoints.list,
        CHECKPOINT_COLUMNS,
        (
            _ONLY_RUN,
            _ONLY_BASE_MODEL,
            _option("--checkpoint-path", metavar="URI", help="only the one at this bt:// URI"),
        ),
    ),
    _Verb(
        "checkpoints",
        "files",
        "list every file of a checkpoint, with download URLs",
        lambda client: client.checkpoints.iter_files,
        FILE_COLUMNS,
        (
            _id_argument("checkpoint_id", "the checkpoint"),
            _option("--page-size", type=_positive_int, metavar="N", help="files per request"),
        ),
    ),
    _Verb(
        "deployments",
        "list",
        "list deployments",
        lambda client: client.deployments.list,
        DEPLOYMENT_COLUMNS,
        (_SCOPE,),
    ),
    _Verb(
        "deployments",
        "get",
        "fetch one deployment",
        lambda client: client.deployments.get,
        DEPLOYMENT_COLUMNS,
        (_id_argument("deployment_id", "the deployment"),),
    ),
    _Verb(
        "deployments",
        "logs",
        "print a deployment's trainer logs",
        lambda client: client.deployments.logs,
        LOG_COLUMNS,
        (
            _id_argument("deployment_id", "the deployment"),
            _option(
                "--start",
                dest="start_epoch_millis",
                type=_epoch_millis,
                metavar="TIME",
                help="window start: epoch milliseconds or ISO 8601 (server default: 30 "
                "minutes before the end; the window spans at most 7 days)",
            ),
            _option(
                "--end",
                dest="end_epoch_millis",
                type=_epoch_millis,
                metavar="TIME",
                help="window end: epoch milliseconds or ISO 8601 (server default: now)",
            ),
            _option("--limit", type=_positive_int, metavar="N", help="at most N lines (1-1000)"),
            _option("--direction", choices=("asc", "desc"), help="oldest or newest first"),
            _option(
                "--min-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="lowest level"
            ),
        ),
    ),
)


def _add_verb(commands: argparse._SubParsersAction[argparse.ArgumentParser], verb: _Verb) -> None:
    parser = commands.add_parser(
        verb.name,
        help=verb.help,
        description=f"{verb.help[0].upper()}{verb.help[1:]}. {_OUTPUT_HELP}"
        + (f" {_SENT_ONCE_HELP.format(verb.check_with)}" if verb.check_with else ""),
        formatter_class=_HelpFormatter,
    )
    keywords = tuple(parser.add_argument(*o.flags, **o.settings).dest for o in verb.options)
    parser.add_argument("--format", choices=("json", "table"), default="json", help="output format")
    _add_client_options(parser)
    parser.set_defaults(run=functools.partial(_run_verb, verb, keywords))


_SENT_ONCE_HELP = (
    "Sent once: after a failure that leaves open whether the server acted (no answer, a 5xx), "
    "check with 'baseten-loops {}' before trying again."
)
_OUTPUT_HELP = (
    "Prints JSON (one indented object, or one object per line for a list) or a table; "
    "failures go to stderr (exit 1), a refused key (401) exits 2."
)


def _run_verb(verb: _Verb, keywords: tuple[str, ...], args: argparse.Namespace) -> int:
    arguments = {name: getattr(args, name) for name in keywords}
    client = _client(args)
    return asyncio.run(_call_verb(verb, client, arguments, _Printer(args.format, verb.columns)))


async def _call_verb(
    verb: _Verb, client: LoopsClient, arguments: dict[str, Any], printer: _Printer
) -> int:
    failure: LoopsError | None = None
    async with client:
        try:
            answer = verb.method(client)(**arguments)
            if isinstance(answer, AsyncIterator):  # pages: each item shown as it arrives
                printer.begin_list()
                async for item in answer:
                    printer.add(item)
            else:
                result = await answer
                if isinstance(result, list):
                    printer.begin_list()
                    for item in result:
                        printer.add(item)
                else:
                    printer.single(result)
        except AuthenticationError:
            raise _UsageError(_KEY_REFUSED) from None
        except LoopsError as exc:
            failure = exc
    printer.close()  # what came before a failure is still shown
    if failure is None:
        return EXIT_OK
    # The verb's id argument (a positional), if it has one: named in the error line.
    subject = next((arguments[o.flags[0]] for o in verb.options if o.flags[0].isidentifier()), None)
    print(
        _error_line(subject, failure) if subject else f"error: {_shown(str(failure))}",
        file=sys.stderr,
    )
    if verb.check_with and _may_have_acted(failure):
        print(
            f"hint: the server may have acted on it, so it was not sent again; check with "
            f"'baseten-loops {verb.check_with}' before trying again",
            file=sys.stderr,
        )
    return EXIT_SOME_FAILED


def _may_have_acted(error: LoopsError) -> bool:
    """Whether a create that failed with ``error`` may have been carried out all the same.

    A 4xx answer says the server refused it, and a bad argument stops it before any I/O;
    no answer, a 5xx or an unreadable 2xx leave it open.
    """
    if isinstance(error, APIStatusError):
        return error.status_code >= 500
    return not isinstance(error, InvalidIdError)


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


# -- fake-server -----------------------------------------------------------------------------


def _run_fake_server(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise _UsageError(f"--port must be 0-65535, got {args.port}")
    server = FakeLoopsServer(
        args.api_key,
        port=args.port,
        faults=DEMO_FAULTS if args.faults else None,
        latency=args.latency,
    )
    ids = server.add_samplers(args.samplers)
    examples = _seed_examples(server)
    return asyncio.run(_serve(server, ids, examples, args.port, args.ids_out))


def _seed_examples(server: FakeLoopsServer) -> list[str]:
    """Serve one of everything the verbs work on; return lines naming them, to try them on."""
    session = server.add_session()
    run = server.add_run(session_id=session["id"])
    deployment_id = run["deployment_id"]
    server.add_logs(deployment_id, ["trainer started", "step 1: loss 2.31", "step 2: loss 2.07"])
    checkpoint = server.add_checkpoint(run_id=run["id"], files=3)
    return [
        f"Also serving session {session['id']}, run {run['id']} (sampler "
        f"{run['sampler']['id']}, deployment {deployment_id}) and checkpoint {checkpoint['id']}:",
        f"  baseten-loops runs get {run['id']} --format table",
        f"  baseten-loops checkpoints files {checkpoint['id']} --format table",
        f"  baseten-loops deployments logs {deployment_id} --format table",
    ]


async def _serve(
    server: FakeLoopsServer, ids: list[str], examples: list[str], port: int, ids_out: str | None
) -> int:
    try:
        await server.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise _UsageError(
                f"port {port} on 127.0.0.1 is already in use: pick another with --port "
                "(0: any free port)"
            ) from None
        raise _UsageError(f"cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    try:
        if ids_out is not None:
            _write_ids(ids_out, ids)  # once the port is ours: no file for a server that failed
        print(f"Fake Loops API serving {len(ids)} samplers at {server.base_url}")
        print(f"API key: {server.api_key}")
        print(f"  export BASETEN_BASE_URL={server.base_url} BASETEN_API_KEY={server.api_key}")
        if ids:
            print(f"  baseten-loops samplers get {' '.join(ids[:3])}")
        print("\n".join(examples))
        print("Press Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()
    finally:
        await server.close()
    return EXIT_OK  # pragma: no cover - only Ctrl-C ends the wait


def _write_ids(path: str, ids: list[str]) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(f"{i}\n" for i in ids))
    except OSError as exc:
        raise _UsageError(
            f"cannot write --ids-out {_source(path)}: {exc.strerror or exc}"
        ) from None


# -- demo ------------------------------------------------------------------------------------


def _run_demo(args: argparse.Namespace) -> int:
    return asyncio.run(_demo(args.samplers, args.concurrency))


async def _demo(count: int, concurrency: int) -> int:
    async with FakeLoopsServer("demo-key", faults=DEMO_FAULTS) as server:
        ids = server.add_samplers(count)
        print(
            f"Fetching {count} samplers from a fake Loops API at {server.base_url}, "
            f"with faults injected (503, 429 Retry-After, dropped connections, 502 HTML, "
            f"slow answers) on each sampler's first attempts...",
            flush=True,
        )
        policy = RetryPolicy(max_attempts=6, initial_backoff=0.1, max_backoff=2.0)
        by_status: collections.Counter[str] = collections.Counter()
        failed: dict[str, LoopsError] = {}
        started = time.perf_counter()
        async with LoopsClient(
            server.api_key, base_url=server.base_url, retry=policy, timeout=1.0
        ) as client:
            progress = _progress(count, client)
            async for sampler_id, result in client.samplers.iter_many(ids, concurrency=concurrency):
                if isinstance(result, Sampler):
                    by_status[_shown(str(result.status.name))] += 1
                else:
                    failed[sampler_id] = result
                progress.advance(failed=not isinstance(result, Sampler))
            stats = client.stats
        progress.close()
        elapsed = time.perf_counter() - started
    found = count - len(failed)
    print(
        f"Done in {elapsed:.1f} s: {found} found, {len(failed)} failed, "
        f"{count / elapsed:.0f} lookups/s."
    )
    print("By status: " + ", ".join(f"{name} {n}" for name, n in by_status.most_common()))
    print(
        f"Requests: {stats.requests} ({stats.requests / count:.2f} per sampler), "
        f"retries: {stats.retries}, retry budget left: {stats.budget_tokens}."
    )
    faults = ", ".join(f"{kind} x{n}" for kind, n in server.faults_injected.most_common())
    print(f"Faults the server injected: {faults or 'none'}.")
    for sampler_id, error in list(failed.items())[:10]:
        print(_error_line(sampler_id, error), file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK
