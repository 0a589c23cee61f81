"""Bulk lookups against a rate-limited API: found, failed, requests sent, wall time vs ideal.

Reproduces the table of issue #8. The fake Loops server runs in its own process with a token
bucket of N requests per second (429 + ``Retry-After`` beyond it); each scenario makes a fresh
default ``LoopsClient`` (as a script would) and calls ``get_many(ids, concurrency=C,
return_exceptions=True)``.

    python benchmarks/ratelimit.py                     # every scenario, 3 runs each
    python benchmarks/ratelimit.py --scenario drop --runs 1 --trace   # rate over time

"ideal" is the time the server's limit allows: ids / limit (for "drop": the first half at the
first limit, the second half at the second). Nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time

import attrs

from baseten_loops import FlowControl, LoopsClient, LoopsError

API_KEY = "bench-key"
SERVER_SCRIPT = """
import asyncio, sys
from baseten_loops.testing import FakeLoopsServer

async def main():
    count, rate, drop_to = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    async with FakeLoopsServer(sys.argv[1], rate_limit=rate) as server:
        ids = server.add_samplers(count)
        with open(sys.argv[5], "w") as f:
            f.write("\\n".join(ids))
        print(server.base_url, flush=True)
        if drop_to:  # lower the limit once half of the ids have been answered
            while server.requests - server.rate_limited < count // 2:
                await asyncio.sleep(0.005)
            server.set_rate_limit(drop_to)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        print(server.requests, server.rate_limited, flush=True)

asyncio.run(main())
"""


@attrs.frozen
class Scenario:
    name: str
    limit: float
    ids: int
    concurrency: int
    drop_to: float = 0.0

    @property
    def ideal(self) -> float:
        if not self.drop_to:
            return self.ids / self.limit
        half = self.ids // 2
        return half / self.limit + (self.ids - half) / self.drop_to


SCENARIOS = {
    "100": Scenario("100 req/s", 100, 1500, 64),
    "1000": Scenario("1,000 req/s", 1000, 8000, 256),
    "drop": Scenario("800 -> 200 req/s", 800, 4000, 64, drop_to=200),
}


def run_once(
    scenario: Scenario, flow: FlowControl | None, trace: bool
) -> tuple[dict[str, float], list[tuple[float, float | None]]]:
    """Start a rate-limited server process, run one batch against it, stop it."""
    with tempfile.NamedTemporaryFile("r", suffix=".ids") as ids_file:
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SERVER_SCRIPT,
                API_KEY,
                str(scenario.ids),
                str(scenario.limit),
                str(scenario.drop_to),
                ids_file.name,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        assert server.stdin is not None
        base_url = server.stdout.readline().strip()
        ids = ids_file.read().split("\n")
    try:
        figures, samples = asyncio.run(measure(base_url, ids, scenario, flow, trace))
    finally:
        server.stdin.close()
        requests, limited = map(int, server.stdout.readline().split())
        server.wait()
    figures.update(
        requests=requests,
        per_id=requests / len(ids),
        limited=limited,
        vs_ideal=figures["wall"] / scenario.ideal,
    )
    return figures, samples


async def measure(
    base_url: str, ids: list[str], scenario: Scenario, flow: FlowControl | None, trace: bool
) -> tuple[dict[str, float], list[tuple[float, float | None]]]:
    """One batch with a fresh default client, as a script would make it."""
    samples: list[tuple[float, float | None]] = []
    client = LoopsClient(API_KEY, base_url=base_url, flow_control=flow)
    wall0, cpu0 = time.perf_counter(), time.process_time()

    async def sample() -> None:
        while True:
            samples.append((time.perf_counter() - wall0, client.stats.rate_limit))
            await asyncio.sleep(0.25)

    sampler = asyncio.get_running_loop().create_task(sample()) if trace else None
    async with client:
        results = await client.samplers.get_many(
            ids, concurrency=scenario.concurrency, return_exceptions=True
        )
        stats = client.stats
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    if sampler is not None:
        sampler.cancel()
    failed = sum(isinstance(r, LoopsError) for r in results)
    return {
        "found": len(results) - failed,
        "failed": failed,
        "wall": wall,
        "cpu_us": cpu / len(ids) * 1e6,
        "client_throttled": stats.throttled,
    }, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trace", action="store_true", help="print the rate over time")
    parser.add_argument(
        "--no-adaptive", action="store_true", help="FlowControl(adaptive=False): the old way"
    )
    args = parser.parse_args()
    flow = FlowControl(adaptive=False) if args.no_adaptive else None
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    print(f"python {sys.version.split()[0]}, flow control: {flow or 'default'}")
    header = (
        f"{'scenario':>17} {'ids':>5} {'conc':>4} | {'found':>5} {'failed':>6} "
        f"{'requests':>8} {'per id':>6} | {'wall s':>6} {'ideal':>5} {'x ideal':>7} "
        f"| {'CPU us/id':>9}"
    )
    print(header)
    for name in names:
        scenario = SCENARIOS[name]
        runs = []
        for _ in range(args.runs):
            figures, samples = run_once(scenario, flow, args.trace)
            runs.append(figures)
            print(
                f"{scenario.name:>17} {scenario.ids:>5} {scenario.concurrency:>4} | "
                f"{figures['found']:>5.0f} {figures['failed']:>6.0f} "
                f"{figures['requests']:>8.0f} {figures['per_id']:>6.3f} | "
                f"{figures['wall']:>6.2f} {scenario.ideal:>5.1f} {figures['vs_ideal']:>7.3f} "
                f"| {figures['cpu_us']:>9.0f}",
                flush=True,
            )
            if args.trace:
                print("  t (s)  client rate (req/s)")
                for t, rate in samples:
                    print(f"  {t:5.2f}  {'unlimited' if rate is None else f'{rate:.0f}'}")
        if len(runs) > 1:
            median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"{'median':>17} {'':>5} {'':>4} | {median['found']:>5.0f} "
                f"{median['failed']:>6.0f} {median['requests']:>8.0f} "
                f"{median['per_id']:>6.3f} | {median['wall']:>6.2f} {scenario.ideal:>5.1f} "
                f"{median['vs_ideal']:>7.3f} | {median['cpu_us']:>9.0f}"
            )


if __name__ == "__main__":
    main()
