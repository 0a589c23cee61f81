"""The ``baseten-loops`` command line (also ``python -m baseten_loops``).

Exit codes: 0 all found; 1 some lookups failed (each on stderr, successes still printed);
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
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Protocol

from ._client import LoopsClient
from ._exceptions import (
    AuthenticationError,
    ConfigurationError,
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
    "the server refused the API key (401 Unauthorized); no lookup can succeed with it: "
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
        description="Look up Baseten Loops samplers from the terminal.",
        epilog="The API key comes from --api-key-file, --api-key or BASETEN_API_KEY; it is "
        "never printed. Prefer --api-key-file or the environment variable: --api-key is "
        "visible to other local users in the process list.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    samplers = commands.add_parser(
        "samplers", help="look up samplers", formatter_class=_HelpFormatter
    )
    sampler_commands = samplers.add_subparsers(title="commands", metavar="COMMAND")
    samplers.set_defaults(run=lambda _: _usage(samplers))

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
        _print_table(ordered)
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


def _print_table(samplers: Sequence[Sampler]) -> None:
    now = datetime.now(timezone.utc)
    header = ("ID", "STATUS", "BASE MODEL", "AGE")
    rows = [
        (_shown(s.id), _shown(str(s.status.name)), _shown(s.base_model), _age(s.created_at, now))
        for s in samplers
    ]
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
    return asyncio.run(_serve(server, ids, args.port, args.ids_out))


async def _serve(server: FakeLoopsServer, ids: list[str], port: int, ids_out: str | None) -> int:
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
