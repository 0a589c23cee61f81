"""What refusing a hostile 2xx body costs, against decoding it with ``json.loads``.

Each body is as large as the client reads by default (``max_response_bytes``, 1 MiB): a
``runs.list`` answer made of one item repeated, or a metrics answer with one huge map. For each,
the best of a few runs of ``json.loads`` and of ``parse_response`` (which decodes, then refuses
the body), and their ratio. A valid body and a valid one with a bad last item show what the
success path itself costs, the floor of any refusal that must read every item.

    python benchmarks/validation.py
    python benchmarks/validation.py --rounds 5

Before issue 15 (item 6) the detailed pass described every problem: the ``{}`` body took 44 s
and gave 2,800,000 error lines. Nothing here runs in the test suite (tests/test_convert.py
bounds the same bodies by counting calls, not time).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from baseten_loops import ResponseValidationError
from baseten_loops._convert import parse_response
from baseten_loops._models import DeploymentMetrics, Run

MAX_RESPONSE_BYTES = 1 << 20
KEY = "sk-bench-0123456789abcdef"  # scrubbed from every quoted value, as a client does
RUN = {
    "id": "r1",
    "session_id": "s1",
    "name": "run",
    "base_model": "Qwen/Qwen3-8B",
    "base_url": "https://model-r1.api.baseten.co/environments/production/sync/v1",
    "created_at": "2026-01-02T03:04:05+00:00",
    "status": {"name": "ACTIVE"},
    "user": {"email": "trainer@example.com"},
}


def filled(item: bytes, *, key: str = "runs", last: bytes | None = None) -> bytes:
    """``{"<key>": [item, ..., last]}``, as many items as fit in 1 MiB."""
    head, tail = b'{"' + key.encode() + b'": [', b"]}"
    room = MAX_RESPONSE_BYTES - len(head) - len(tail) - (len(last) + 1 if last else 0)
    items = [item] * ((room + 1) // (len(item) + 1)) + ([last] if last else [])
    return head + b",".join(items) + tail


def filled_value() -> bytes:
    """One run whose ``created_at`` is nearly 1 MiB long (quoted, cut, in its error)."""
    long_value = "x" * (MAX_RESPONSE_BYTES - 300)
    return json.dumps({"runs": [{**RUN, "created_at": long_value}]}).encode()


def metrics_with_a_huge_map() -> bytes:
    entries = b",".join(b'"gpu%d": 1' % index for index in range(70_000))
    body = {
        "inference_volume": [],
        "concurrent_requests": [],
        "response_time_stats": [],
        "inference_volume_by_status": [],
        "gpu_memory_usage_bytes": {},
        "gpu_utilization": "@",
        "cpu_usage": [],
        "cpu_memory_usage_bytes": [],
        "ephemeral_storage": {"usage_bytes": [], "utilization": []},
        "per_node_metrics": [],
    }
    return json.dumps({"metrics": body}).encode().replace(b'"@"', b"{" + entries + b"}")


def bodies() -> dict[str, tuple[bytes, str, Any]]:
    runs = tuple[Run, ...]
    run = json.dumps(RUN).encode()
    bad_run = json.dumps({**RUN, "created_at": 1}).encode()
    return {
        "valid runs (accepted)": (filled(run), "runs", runs),
        "valid runs, last one bad": (filled(run, last=bad_run), "runs", runs),
        "runs, every one bad": (filled(bad_run), "runs", runs),
        "{} items": (filled(b"{}"), "runs", runs),
        "1 items": (filled(b"1"), "runs", runs),
        "null items": (filled(b"null"), "runs", runs),
        "one 1 MiB value": (
            json.dumps(
                {"runs": [{**RUN, "created_at": "x" * (MAX_RESPONSE_BYTES - 300)}]}
            ).encode(),
            "runs",
            runs,
        ),
        "a map of 70,000 bad entries": (metrics_with_a_huge_map(), "metrics", DeploymentMetrics),
    }


def best_of(rounds: int, action: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        with contextlib.suppress(ResponseValidationError):
            action()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, best kept")
    rounds = parser.parse_args().rounds
    print(f"{'body':30} {'bytes':>9} {'json.loads':>11} {'parse':>9} {'ratio':>6}  errors")
    for name, (raw, key, type_) in bodies().items():
        decode = best_of(rounds, lambda raw=raw: json.loads(raw))
        parse = best_of(
            rounds,
            lambda raw=raw, key=key, type_=type_: parse_response(raw, key, type_, secret=(KEY,)),
        )
        try:
            parse_response(raw, key, type_, secret=(KEY,))
            lines = "accepted"
        except ResponseValidationError as exc:
            lines = f"{len(exc.errors)} lines"
        print(
            f"{name:30} {len(raw):>9,} {decode * 1e3:>9.1f}ms {parse * 1e3:>7.1f}ms "
            f"{parse / decode:>6.1f}  {lines}"
        )


if __name__ == "__main__":
    main()
