"""Bulk lookup benchmark: this library against raw aiohttp (and Baseten's SDK when installed).

Modes, each making a fresh session or client per batch as a script would: "raw aiohttp" (the
plain code a user would write instead: ``asyncio.gather`` over a semaphore,
``raise_for_status()``, ``resp.json()``, results kept), "raw + models" (the same plus this
library's JSON -> Sampler step: the floor for a typed client), "get_many", "iter_many", "get on a
pool" (a hand-written worker pool calling ``client.samplers.get``), and "baseten SDK" when
``baseten`` is installed. Reported: wall time and client CPU per lookup, and both as ratios to
raw aiohttp (medians of per-round ratios).

    python benchmarks/bulk.py                      # N=3000, concurrency 64, 7 rounds
    python benchmarks/bulk.py -n 1000 --rounds 3
    python benchmarks/bulk.py --memory             # peak RSS of iter_many, 5,000 vs 50,000 ids

The fake Loops API runs in its own process and answers as the live API does (``Content-Type:
application/json; charset=utf-8``, an ``X-Request-Id``, fractional-second ``created_at``, a
field this client does not know). Every mode runs in a fresh process in every round (one
warm-up batch of 200 ids, then the measured batch), the modes' order rotating from round to
round, so that no mode inherits another's warm caches or heap. Nothing here runs in the test
suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator

import aiohttp

from baseten_loops import LoopsClient, Sampler
from baseten_loops._convert import parse_response

API_KEY = "bench-key"
SERVER_SCRIPT = """
import asyncio, sys
from baseten_loops.testing import FakeLoopsServer

async def main():
    async with FakeLoopsServer(sys.argv[1]) as server:
        ids = server.add_samplers(int(sys.argv[2]))
        with open(sys.argv[3], "w") as f:
            f.write("\\n".join(ids))
        print(server.base_url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""

Mode = Callable[[list[str], int], Awaitable[int]]


def start_server(count: int, ids_file: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """Start the fake server in its own process; it stops when our stdin pipe closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, API_KEY, str(count), ids_file],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    with open(ids_file) as f:
        ids = f.read().split("\n")
    return proc, base_url, ids


def make_modes(base_url: str) -> dict[str, Mode]:
    """Each mode makes its own session or client per batch, as a script would."""
    headers = {"Authorization": f"Bearer {API_KEY}"}

    def raw(models: bool) -> Mode:
        # The plain code a user would write instead: gather over a semaphore, resp.json().
        async def run(ids: list[str], concurrency: int) -> int:
            semaphore = asyncio.Semaphore(concurrency)
            async with aiohttp.ClientSession(headers=headers) as session:

                async def one(sampler_id: str) -> object:
                    async with (
                        semaphore,
                        session.get(f"{base_url}/v1/loops/samplers/{sampler_id}") as response,
                    ):
                        response.raise_for_status()
                        if models:  # the floor for a typed client: plus our JSON -> Sampler
                            return parse_response(await response.read(), "sampler", Sampler)
                        return await response.json()

                results = await asyncio.gather(*(one(i) for i in ids))  # results kept
                return len(results)

        return run

    async def get_many(ids: list[str], concurrency: int) -> int:
        async with LoopsClient(API_KEY, base_url=base_url) as client:
            return len(await client.samplers.get_many(ids, concurrency=concurrency))

    async def iter_many(ids: list[str], concurrency: int) -> int:
        async with LoopsClient(API_KEY, base_url=base_url) as client:
            return len([r async for r in client.samplers.iter_many(ids, concurrency=concurrency)])

    async def get_pool(ids: list[str], concurrency: int) -> int:
        # A hand-written worker pool over client.samplers.get.
        async with LoopsClient(API_KEY, base_url=base_url) as client:
            pending = iter(ids)
            found: list[Sampler] = []

            async def worker() -> None:
                for sampler_id in pending:
                    found.append(await client.samplers.get(sampler_id))

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return len(found)

    modes: dict[str, Mode] = {
        "raw aiohttp": raw(models=False),
        "raw + models": raw(models=True),
        "get_many": get_many,
        "iter_many": iter_many,
        "get on a pool": get_pool,
    }
    peer = _baseten_sdk_mode(base_url)
    if peer is not None:
        modes["baseten SDK"] = peer
    return modes


def _baseten_sdk_mode(base_url: str) -> Mode | None:
    try:
        from baseten.client import AsyncManagementClient  # type: ignore[import-not-found]
    except ImportError:
        return None

    async def baseten_sdk(ids: list[str], concurrency: int) -> int:
        sdk = AsyncManagementClient(api_key=API_KEY, base_url_override=base_url)
        semaphore = asyncio.Semaphore(concurrency)

        async def one(sampler_id: str) -> object:
            async with semaphore:
                return await sdk.api.get_loops_samplers_sampler_id(sampler_id=sampler_id)

        try:
            return len(await asyncio.gather(*(one(i) for i in ids)))
        finally:
            await sdk.close()

    return baseten_sdk


async def measure_one(mode_name: str, base_url: str, batch: list[str], concurrency: int) -> None:
    """In a fresh process: one warm-up batch, then the measured one; print its wall and CPU."""
    mode = make_modes(base_url)[mode_name]
    await mode(batch[:200], concurrency)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    done = await mode(batch, concurrency)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    assert done == len(batch)
    print(wall, cpu, flush=True)


def run_speed(base_url: str, ids_file: str, n: int, concurrency: int, rounds: int) -> None:
    names = list(make_modes(base_url))
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:  # rotate who goes first
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    name,
                    base_url,
                    ids_file,
                    str(n),
                    "-c",
                    str(concurrency),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            wall, cpu = map(float, out.stdout.split())
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(
        f"N={n} concurrency={concurrency} rounds={rounds}; each mode in a fresh process per round"
    )
    print(f"  {'mode':14s} {'req/s':>8} {'wall ms':>8} {'CPU us/lookup':>14}   vs raw: wall  CPU")
    base = "raw aiohttp"
    for name in names:
        wall = statistics.median(walls[name])
        cpu_us = statistics.median(cpus[name]) / n * 1e6
        # Each round runs every mode back to back, so a ratio within a round cancels most of
        # the machine's drift; the median of those paired ratios is the figure to quote.
        wall_ratio = statistics.median(a / b for a, b in zip(walls[name], walls[base], strict=True))
        cpu_ratio = statistics.median(a / b for a, b in zip(cpus[name], cpus[base], strict=True))
        print(
            f"  {name:14s} {n / wall:8.0f} {wall * 1000:8.1f} {cpu_us:14.1f}"
            f"   {wall_ratio:10.3f} {cpu_ratio:5.3f}"
        )


MEMORY_CHILD = """
import asyncio, sys
from baseten_loops import LoopsClient, RetryPolicy

async def main(base_url, ids, count):
    def generate():
        for i in range(count):
            yield ids[i % len(ids)]
    done = 0
    async with LoopsClient("bench-key", base_url=base_url, retry=RetryPolicy(max_attempts=1)) as c:
        async for _, result in c.samplers.iter_many(generate(), concurrency=64):
            done += 1
    assert done == count
    # VmHWM: this process's own peak RSS. (ru_maxrss would carry over the parent's peak,
    # which Linux keeps across fork and exec.)
    with open("/proc/self/status") as status:
        print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))

ids = open(sys.argv[2]).read().split()
asyncio.run(main(sys.argv[1], ids, int(sys.argv[3])))
"""


def run_memory(base_url: str, ids_file: str) -> None:
    peaks = {}
    for count in (5_000, 50_000):
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, base_url, ids_file, str(count)],
            check=True,
            capture_output=True,
            text=True,
        )
        peaks[count] = int(out.stdout.strip()) / 1024  # VmHWM is in KiB
        print(f"  iter_many over {count:>6,} ids: peak RSS {peaks[count]:.1f} MiB")
    print(f"  difference 50,000 - 5,000: {peaks[50_000] - peaks[5_000]:+.1f} MiB")


def main(argv: Iterator[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=3000, help="lookups per round (default 3000)")
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--memory", action="store_true", help="also measure iter_many memory")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.child:  # one mode, one measured batch, in this fresh process
        name, base_url, ids_file, n = args.child
        with open(ids_file) as f:
            batch = f.read().split("\n")[: int(n)]
        asyncio.run(measure_one(name, base_url, batch, args.concurrency))
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, aiohttp {aiohttp.__version__}"
    )
    ids_file = f"/tmp/baseten_loops_bench_ids_{os.getpid()}.txt"
    proc, base_url, _ = start_server(max(args.n, 3000), ids_file)
    try:
        run_speed(base_url, ids_file, args.n, args.concurrency, args.rounds)
        if args.memory:
            run_memory(base_url, ids_file)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
        os.unlink(ids_file)


if __name__ == "__main__":
    main()
