"""``fake-server`` and ``demo``: the bundled fake Loops API, served or driven in-process.

Also the objects the docs' examples name (:func:`_seed_examples`): ``fake-server`` serves them,
and the docs' tests seed every server with them, so the examples run for a reader too.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import errno
import sys
import time
from typing import Any

from .._client import LoopsClient
from .._exceptions import LoopsError
from .._models import Sampler
from .._retry import RetryPolicy
from ..testing import FakeLoopsServer, Faults
from ._escape import _error_line, _shown
from ._exit import EXIT_OK, EXIT_SOME_FAILED, _UsageError
from ._options import _HelpFormatter, _positive_int, _source
from ._progress import _progress

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


def _add_fake_server_and_demo(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
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
    fake.add_argument(
        "--ids-out", metavar="FILE", help="write the generated ids to FILE (default: none)"
    )
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


#: Sampler id -> fields: the samplers the docs' examples look up.
EXAMPLE_SAMPLERS: dict[str, dict[str, Any]] = {
    "abc123": {"status": "ACTIVE", "base_model": "Qwen/Qwen3-8B"},
    "def456": {"status": "SCALED_TO_ZERO", "base_model": "meta-llama/Llama-3.1-8B-Instruct"},
    "ghi789": {"status": "BUILDING", "base_model": "Qwen/Qwen3-8B"},
}
#: A team, for ``team_id=`` examples.
EXAMPLE_TEAM = "t1"
#: A run of ``Qwen/Qwen3-8B`` that is up: its deployment ``RUNNING``, its sampler ``ACTIVE``.
EXAMPLE_RUN = "r1"
#: A sampler checkpoint of ``r1`` named ``step-100`` (``bt://loops:r1/sampler_weights/step-100``),
#: with two files; ``r1`` also has a trainer checkpoint, ``step-100-trainer``.
EXAMPLE_CHECKPOINT = "c1"
#: A ``RUNNING`` deployment with log lines at INFO, WARNING and ERROR and a debug archive.
EXAMPLE_DEPLOYMENT = "d1"


def _seed_examples(server: FakeLoopsServer) -> list[str]:
    """Serve the objects the docs' examples name; return lines that say so, to print.

    One function for ``fake-server`` and for the test harness that runs every example of the
    docs (tests/docs_blocks.py), so an example that runs in the tests runs for a reader who
    pastes it against ``baseten-loops fake-server``. The examples only read these objects; what
    an example changes, it creates first.
    """
    for sampler_id, fields in EXAMPLE_SAMPLERS.items():
        server.add_sampler(sampler_id, **fields)
    server.add_team(EXAMPLE_TEAM)
    server.add_run(EXAMPLE_RUN, base_model="Qwen/Qwen3-8B")
    server.add_checkpoint(
        EXAMPLE_CHECKPOINT,
        run_id=EXAMPLE_RUN,
        name="step-100",
        files=["adapter_config.json", "adapter_model.safetensors"],
    )
    server.add_checkpoint(run_id=EXAMPLE_RUN, name="step-100-trainer", target="trainer", files=3)
    server.add_deployment(
        EXAMPLE_DEPLOYMENT,
        base_model="Qwen/Qwen3-8B",
        logs=[
            "trainer started",
            {"message": "step 100: loss 1.92", "level": "INFO"},
            {"message": "GPU memory at 93%", "level": "WARNING"},
            {"message": "NCCL timeout on rank 3, retrying", "level": "ERROR"},
        ],
        debug_files=["nccl.log", "stack-rank0.txt", "stack-rank1.txt"],
    )
    samplers = " ".join(EXAMPLE_SAMPLERS)
    return [
        f"Also serving what the docs' examples use: samplers {samplers}, run {EXAMPLE_RUN}, "
        f"checkpoint {EXAMPLE_CHECKPOINT}, deployment {EXAMPLE_DEPLOYMENT}, team {EXAMPLE_TEAM}. "
        "Try:",
        f"  baseten-loops samplers get {' '.join(EXAMPLE_SAMPLERS)} --format table",
        f"  baseten-loops runs get {EXAMPLE_RUN} --format table",
        f"  baseten-loops checkpoints files {EXAMPLE_CHECKPOINT} --format table",
        f"  baseten-loops deployments logs {EXAMPLE_DEPLOYMENT} --format table",
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
        print(f"Fake Loops API serving {len(ids)} generated samplers at {server.base_url}")
        print(f"API key: {server.api_key}")
        print("Point the command line and the docs' examples at it, in another terminal:")
        print(f"  export BASETEN_BASE_URL={server.base_url}")
        print(f"  export BASETEN_API_KEY={server.api_key}")
        print("\n".join(examples))
        if ids_out is not None:
            print(f"  baseten-loops samplers get --ids-file {_source(ids_out)} --format table")
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
            server.api_key, base_url=server.base_url, retry=policy, attempt_timeout=1.0
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
