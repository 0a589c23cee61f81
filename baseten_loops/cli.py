"""The ``baseten-loops`` command line (also ``python -m baseten_loops``).

Exit codes: 0 all found; 1 some lookups failed (each on stderr, successes still printed);
2 usage or configuration errors. Tables and progress bars use rich when it is installed
(``pip install 'aio-baseten-loops[cli]'``) and plain text otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Protocol

from ._client import LoopsClient
from ._exceptions import (
    ConfigurationError,
    LoopsError,
    SamplerFailedError,
    WaitTimeoutError,
)
from ._models import Sampler
from ._retry import RetryPolicy
from ._version import __version__
from .testing import FakeLoopsServer, Faults

__all__ = ["main"]

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except ConfigurationError as exc:
        print(f"baseten-loops: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("baseten-loops: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baseten-loops",
        description="Look up Baseten Loops samplers from the terminal.",
        epilog="The API key comes from --api-key or BASETEN_API_KEY; it is never printed.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    samplers = commands.add_parser("samplers", help="look up samplers")
    sampler_commands = samplers.add_subparsers(title="commands", metavar="COMMAND")
    samplers.set_defaults(run=lambda _: _usage(samplers))

    get = sampler_commands.add_parser(
        "get",
        help="print samplers as JSON (or a table)",
        description="Print each sampler as JSON: one indented object for one id, one object "
        "per line (in completion order) for several. Failures go to stderr.",
    )
    get.add_argument("ids", nargs="*", metavar="ID", help="sampler ids")
    get.add_argument(
        "--ids-file", metavar="FILE", help="read more ids from FILE, one per line ('-': stdin)"
    )
    get.add_argument("--format", choices=("json", "table"), default="json")
    get.add_argument(
        "--concurrency", type=_positive_int, default=16, help="lookups in flight (default 16)"
    )
    _add_client_options(get)
    get.set_defaults(run=_run_get)

    wait = sampler_commands.add_parser(
        "wait",
        help="wait until a sampler is ACTIVE",
        description="Poll a sampler until it is ACTIVE, showing status changes on stderr; "
        "print it as JSON when it is. Exit 1 if it fails or time runs out.",
    )
    wait.add_argument("id", metavar="ID")
    wait.add_argument(
        "--poll-interval", type=_positive_float, default=5.0, help="seconds between lookups"
    )
    _add_client_options(wait, wait_timeout=True)
    wait.set_defaults(run=_run_wait)

    fake = commands.add_parser(
        "fake-server",
        help="serve a fake Loops API on 127.0.0.1",
        description="Serve the bundled fake Loops API on 127.0.0.1 until interrupted.",
    )
    fake.add_argument("--port", type=int, default=8089, help="port (default 8089; 0: any)")
    fake.add_argument("--samplers", type=int, default=100, help="samplers to generate")
    fake.add_argument("--api-key", default="test-key", help="key to accept (default test-key)")
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
    )
    demo.add_argument("--samplers", type=_positive_int, default=3000)
    demo.add_argument("--concurrency", type=_positive_int, default=64)
    demo.set_defaults(run=_run_demo)
    return parser


def _add_client_options(parser: argparse.ArgumentParser, *, wait_timeout: bool = False) -> None:
    group = parser.add_argument_group("client options")
    group.add_argument("--base-url", help="API root (default BASETEN_BASE_URL or Baseten's)")
    group.add_argument("--api-key", help="API key (default BASETEN_API_KEY; never echoed)")
    if wait_timeout:
        group.add_argument(
            "--timeout", type=_positive_float, default=900.0, help="seconds to wait in all"
        )
    else:
        group.add_argument(
            "--timeout", type=_positive_float, default=30.0, help="seconds per attempt"
        )
    group.add_argument(
        "--max-attempts", type=_positive_int, default=4, help="tries per lookup (default 4)"
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


def _client(args: argparse.Namespace, *, per_attempt_timeout: float = 30.0) -> LoopsClient:
    return LoopsClient(
        args.api_key,
        base_url=args.base_url,
        timeout=per_attempt_timeout,
        retry=RetryPolicy(max_attempts=args.max_attempts),
    )


# -- samplers get ----------------------------------------------------------------------------


def _read_ids(args: argparse.Namespace) -> list[str]:
    ids = list(args.ids)
    if args.ids_file:
        if args.ids_file == "-":
            lines: Iterable[str] = sys.stdin
            ids.extend(line.strip() for line in lines)
        else:
            try:
                with open(args.ids_file, encoding="utf-8") as f:
                    ids.extend(line.strip() for line in f)
            except OSError as exc:
                raise ConfigurationError(f"cannot read --ids-file: {exc}") from None
    # Blank lines in a file are skipped; the same id twice is looked up once.
    return list(dict.fromkeys(i for i in ids if i))


def _run_get(args: argparse.Namespace) -> int:
    ids = _read_ids(args)
    if not ids:
        raise ConfigurationError("no sampler ids: give IDs or --ids-file")
    client = _client(args, per_attempt_timeout=args.timeout)
    return asyncio.run(_get(client, ids, args.format, args.concurrency))


async def _get(client: LoopsClient, ids: list[str], output: str, concurrency: int) -> int:
    streaming = output == "json" and len(ids) > 1  # JSON Lines as results arrive
    found: dict[str, Sampler] = {}  # kept only for a table or a single object
    failures = 0
    progress = _progress(len(ids))
    async with client:
        async for sampler_id, result in client.samplers.iter_many(ids, concurrency=concurrency):
            if isinstance(result, Sampler):
                if streaming:
                    print(json.dumps(result.to_dict()), flush=True)
                else:
                    found[sampler_id] = result
            else:
                failures += 1
                progress.error(f"error: {sampler_id}: {result}")
            progress.advance(failed=not isinstance(result, Sampler))
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
    rows = [(s.id, str(s.status.name), s.base_model, _age(s.created_at, now)) for s in samplers]
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # the [cli] extra is not installed: plain columns
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        return
    table = Table(*header, box=None, pad_edge=False)
    for row in rows:
        table.add_row(*row)
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


class _RichProgress:
    """done/total, rate and errors, on stderr, while lookups run."""

    def __init__(self, total: int) -> None:
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
            TextColumn("{task.fields[rate]:>6.0f}/s  {task.fields[errors]} errors"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            # Results go to stdout untouched (often a pipe); only the bar lives on stderr.
            redirect_stdout=False,
        )
        self._task = self._progress.add_task("lookups", total=total, rate=0.0, errors=0)
        self._started = time.monotonic()
        self._done = 0
        self._errors = 0
        self._progress.start()

    def advance(self, *, failed: bool) -> None:
        self._done += 1
        self._errors += failed
        rate = self._done / max(time.monotonic() - self._started, 1e-6)
        self._progress.update(self._task, advance=1, rate=rate, errors=self._errors)

    def error(self, line: str) -> None:
        self._progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        self._progress.stop()


def _progress(total: int) -> _Progress:
    if total < 2 or not sys.stderr.isatty():
        return _NoProgress()
    try:
        return _RichProgress(total)
    except ImportError:
        return _NoProgress()


# -- samplers wait ---------------------------------------------------------------------------


def _run_wait(args: argparse.Namespace) -> int:
    client = _client(args)
    return asyncio.run(_wait(client, args.id, args.timeout, args.poll_interval))


async def _wait(client: LoopsClient, sampler_id: str, timeout: float, poll: float) -> int:
    def show(sampler: Sampler) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        print(f"[{stamp}] {sampler.id}: {sampler.status.name}", file=sys.stderr, flush=True)

    async with client:
        try:
            sampler = await client.samplers.wait_until_active(
                sampler_id, timeout=timeout, poll_interval=poll, on_status=show
            )
        except (SamplerFailedError, WaitTimeoutError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_SOME_FAILED
        except LoopsError as exc:
            print(f"error: {sampler_id}: {exc}", file=sys.stderr)
            return EXIT_SOME_FAILED
    print(json.dumps(sampler.to_dict(), indent=2))
    return EXIT_OK


# -- fake-server -----------------------------------------------------------------------------


def _run_fake_server(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ConfigurationError(f"--port must be 0-65535, got {args.port}")
    server = FakeLoopsServer(
        args.api_key,
        port=args.port,
        faults=DEMO_FAULTS if args.faults else None,
        latency=args.latency,
    )
    ids = server.add_samplers(args.samplers)
    if args.ids_out:
        with open(args.ids_out, "w", encoding="utf-8") as f:
            f.write("".join(f"{i}\n" for i in ids))
    return asyncio.run(_serve(server, ids))


async def _serve(server: FakeLoopsServer, ids: list[str]) -> int:
    async with server:
        print(f"Fake Loops API serving {len(ids)} samplers at {server.base_url}")
        print(f"API key: {server.api_key}")
        print(f"  export BASETEN_BASE_URL={server.base_url} BASETEN_API_KEY={server.api_key}")
        if ids:
            print(f"  baseten-loops samplers get {' '.join(ids[:3])}")
        print("Press Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()
    return EXIT_OK  # pragma: no cover - only Ctrl-C ends the wait


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
        progress = _progress(count)
        started = time.perf_counter()
        async with LoopsClient(
            server.api_key, base_url=server.base_url, retry=policy, timeout=1.0
        ) as client:
            async for sampler_id, result in client.samplers.iter_many(ids, concurrency=concurrency):
                if isinstance(result, Sampler):
                    by_status[str(result.status.name)] += 1
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
        print(f"error: {sampler_id}: {error}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK
