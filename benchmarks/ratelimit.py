"""Bulk lookups against a rate-limited API: this client against an oracle told the true limit.

The fake Loops API runs in its own process with a token bucket of ``rate`` tokens a second
holding ``burst`` (429 + ``Retry-After`` beyond it, in the scenario's style). Each batch runs in
a fresh process, as a script would: this library (a default ``LoopsClient``, ``get_many(ids,
concurrency=C, return_exceptions=True)``) or the **oracle** (plain aiohttp paced by
``aiolimiter.AsyncLimiter(burst, burst / rate)`` at the server's true limit, told of every
change, waiting out any 429's ``Retry-After``). Several processes share one server in the
"processes" scenarios (the oracle's processes each know their share). Reported per scenario:
wall time (the last process to finish), client / oracle, requests per id (counted by the
server), ids lost, CPU per id, and the spread of the processes' finish times.

    pip install -e ".[bench]"                 # aiolimiter, for the oracle
    python benchmarks/ratelimit.py            # every scenario, 3 runs each (about 25 minutes)
    python benchmarks/ratelimit.py --runs 1 --scenario "1000/s burst 10" --scenario "800 -> 200/s"
    python benchmarks/ratelimit.py --runs 1 --scenario "800 -> 200/s" --trace   # rate over time

The same scenarios run in milliseconds, deterministically, in the flow simulator
(``python -m tests.flowsim``); nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

API_KEY = "bench-key"
HERE = os.path.abspath(__file__)
# The scenarios are the flow simulator's, so that both tables describe the same cases.
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from tests.flowsim import SCENARIOS, Scenario  # noqa: E402

SERVER = """
import asyncio, json, sys
from baseten_loops.testing import FakeLoopsServer

async def main():
    spec = json.loads(sys.argv[1])
    retry_after = spec["retry_after"]
    retry_after = float(retry_after) if retry_after[0].isdigit() else retry_after
    async with FakeLoopsServer(
        sys.argv[2], rate_limit=spec["rate"], rate_limit_burst=spec["burst"],
        retry_after=retry_after,
    ) as server:
        ids = server.add_samplers(spec["ids"])
        with open(sys.argv[3], "w") as f:
            f.write("\\n".join(ids))
        print(server.base_url, flush=True)
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(None, sys.stdin.read)
        changes = list(spec["changes"])  # [fraction of ids answered, new rate]
        rates = [spec["rate"], spec["alternate"]] if spec["alternate"] else None
        started = None
        while not done.done():
            answered = server.requests - server.rate_limited
            if server.requests and started is None:
                started = loop.time()
            if changes and answered >= changes[0][0] * spec["ids"]:
                server.set_rate_limit(changes.pop(0)[1], burst=spec["burst"])
            if rates and started is not None:
                phase = int((loop.time() - started) // spec["period"]) % 2
                if server._limiters[None].rate != rates[phase]:
                    server.set_rate_limit(rates[phase], burst=spec["burst"])
            await asyncio.sleep(0.002)
        print(server.requests, server.rate_limited, flush=True)

asyncio.run(main())
"""


def spec_of(scenario: Scenario) -> dict[str, Any]:
    """What the server process needs to know of a scenario (JSON)."""
    return {
        "rate": scenario.rate,
        "burst": scenario.burst,
        "ids": scenario.ids,
        "retry_after": scenario.retry_after,
        "changes": [list(change) for change in scenario.changes],
        "alternate": scenario.alternate,
        "period": scenario.period,
    }


# -- one batch, in its own process -------------------------------------------------------------


async def ours(args: argparse.Namespace, ids: list[str]) -> dict[str, Any]:
    from baseten_loops import LoopsClient, LoopsError

    samples: list[tuple[float, float | None]] = []
    client = LoopsClient(API_KEY, base_url=args.base_url)
    start = time.perf_counter()

    async def sample() -> None:
        while True:
            samples.append((time.perf_counter() - start, client.stats.rate_limit))
            await asyncio.sleep(0.1)

    sampler = asyncio.ensure_future(sample()) if args.trace else None
    async with client:
        results = await client.samplers.get_many(
            ids, concurrency=args.concurrency, return_exceptions=True
        )
    if sampler is not None:
        sampler.cancel()
    lost = sum(isinstance(result, LoopsError) for result in results)
    return {"found": len(results) - lost, "lost": lost, "trace": samples}


async def oracle(args: argparse.Namespace, ids: list[str]) -> dict[str, Any]:
    """Plain aiohttp paced by aiolimiter at the true limit: the best a client can do."""
    import aiohttp
    from aiolimiter import AsyncLimiter

    from baseten_loops._retry import parse_retry_after

    share = args.processes
    spec = json.loads(args.spec)
    burst = max(1.0, spec["burst"] / share)

    rates = [spec["rate"], spec["alternate"]] if spec["alternate"] else None
    changes = list(spec["changes"])
    limiter = AsyncLimiter(burst, burst / (spec["rate"] / share))
    state = {"rate": spec["rate"], "found": 0, "lost": 0}
    start = time.perf_counter()

    def told(rate: float) -> None:
        # Told of a new limit: the bucket keeps its level and drains at the new rate from
        # now on, as the server's does (aiolimiter has no public way to change its rate).
        if rate != state["rate"]:
            limiter._leak()
            limiter._rate_per_sec = rate / share
            limiter.time_period = burst / (rate / share)
            state["rate"] = rate
            limiter._wake_next()

    def current() -> AsyncLimiter:
        if changes and state["found"] >= changes[0][0] * len(ids):
            told(changes.pop(0)[1])
        if rates:
            told(rates[int((time.perf_counter() - start) // spec["period"]) % 2])
        return limiter

    semaphore = asyncio.Semaphore(args.concurrency)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def one(sampler_id: str) -> None:
            async with semaphore:
                while True:
                    await current().acquire()
                    url = f"{args.base_url}/v1/loops/samplers/{sampler_id}"
                    async with session.get(url) as response:
                        if response.status == 429:
                            wait = parse_retry_after(response.headers.get("Retry-After"))
                            await asyncio.sleep(0.05 if wait is None else wait)
                            continue
                        response.raise_for_status()
                        await response.json()
                        state["found"] += 1
                        return

        await asyncio.gather(*(one(i) for i in ids))
    return {"found": state["found"], "lost": state["lost"], "trace": []}


def child(args: argparse.Namespace) -> None:
    with open(args.ids_file) as f:
        every = f.read().split("\n")
    ids = every[args.index :: args.processes]
    # Start together: the parent writes a line to every child at once.
    sys.stdin.readline()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run = ours if args.child == "ours" else oracle
    figures = asyncio.run(run(args, ids))
    figures.update(
        wall=time.perf_counter() - wall0,
        cpu_us=(time.process_time() - cpu0) / len(ids) * 1e6,
        ids=len(ids),
    )
    print(json.dumps(figures), flush=True)


# -- one scenario: a server, then our batch(es) and the oracle's, each on a fresh server ----------


def run_batch(peer: str, scenario: Scenario, trace: bool) -> dict[str, Any]:
    spec = spec_of(scenario)
    processes = scenario.processes
    with tempfile.NamedTemporaryFile("r", suffix=".ids") as ids_file:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, json.dumps(spec), API_KEY, ids_file.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdin is not None
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    HERE,
                    "--child",
                    peer,
                    "--base-url",
                    base_url,
                    "--ids-file",
                    ids_file.name,
                    "--index",
                    str(index),
                    "--processes",
                    str(processes),
                    "--concurrency",
                    str(scenario.concurrency),
                    "--spec",
                    json.dumps(spec),
                    *(["--trace"] if trace else []),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for index in range(processes)
        ]
        time.sleep(1.0 + 0.2 * processes)  # every child imported and waiting
        for proc in children:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = []
        for proc in children:
            out, _ = proc.communicate(timeout=600)
            outputs.append(json.loads(out))
        server.stdin.close()
        requests, limited = map(int, server.stdout.readline().split())
        server.wait(timeout=30)
    ids = sum(o["ids"] for o in outputs)
    finishes = [o["wall"] for o in outputs]
    return {
        "wall": max(finishes),
        "spread": max(finishes) / min(finishes) - 1,
        "found": sum(o["found"] for o in outputs),
        "lost": sum(o["lost"] for o in outputs),
        "per_id": requests / ids,
        "limited": limited,
        "cpu_us": statistics.mean(o["cpu_us"] for o in outputs),
        "trace": outputs[0]["trace"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trace", action="store_true", help="print our client's rate over time")
    parser.add_argument("--child", choices=["ours", "oracle"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--ids-file", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=64, help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    names = args.scenario or list(SCENARIOS)
    print(
        f"python {sys.version.split()[0]}; medians of {args.runs} run(s); a fresh process per batch"
    )
    print(
        "| scenario | ids @ conc | oracle s | baseten_loops s | / oracle | req/id | lost "
        "| CPU us/id (oracle) | finish spread |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        scenario = SCENARIOS[name]
        runs = []
        for _ in range(args.runs):
            theirs = run_batch("oracle", scenario, False)
            mine = run_batch("ours", scenario, args.trace)
            runs.append((mine, theirs))
            if args.trace:
                print(f"  {name}: t (s) / rate (requests/s)")
                for t, rate in mine["trace"]:
                    print(f"  {t:6.2f} {'unpaced' if rate is None else f'{rate:.0f}'}")
        ratio = statistics.median(m["wall"] / o["wall"] for m, o in runs)
        mine = {
            k: statistics.median(m[k] for m, _ in runs)
            for k in ("wall", "per_id", "cpu_us", "spread")
        }
        lost = max(m["lost"] for m, _ in runs)
        oracle_wall = statistics.median(o["wall"] for _, o in runs)
        oracle_cpu = statistics.median(o["cpu_us"] for _, o in runs)
        spread = f"{mine['spread']:.2f}" if scenario.processes > 1 else "-"
        print(
            f"| {name} | {scenario.ids:,} @ {scenario.concurrency} | {oracle_wall:.1f} "
            f"| {mine['wall']:.1f} | {ratio:.2f} | {mine['per_id']:.3f} | {lost} "
            f"| {mine['cpu_us']:.0f} ({oracle_cpu:.0f}) | {spread} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
