"""Faults at scale: an outage must not be multiplied, a degraded service must still answer."""

from __future__ import annotations

from baseten_loops import (
    InternalServerError,
    LoopsClient,
    RetryPolicy,
    Sampler,
)
from baseten_loops._convert import structure
from baseten_loops.testing import FakeLoopsServer, Faults, Reply


async def test_outage_sends_few_requests_per_id_and_fails_every_id() -> None:
    async with FakeLoopsServer() as server:
        ids = server.add_samplers(2000)
        server.enqueue(*[Reply(status=503)] * 20_000)
        policy = RetryPolicy(max_attempts=6, initial_backoff=0.001, max_backoff=0.01)
        async with LoopsClient(server.api_key, base_url=server.base_url, retry=policy) as client:
            results = await client.samplers.get_many(ids, concurrency=64, return_exceptions=True)
            stats = client.stats
    assert all(isinstance(r, InternalServerError) for r in results)
    per_id = server.requests / len(ids)
    print(f"\noutage: {server.requests} requests for {len(ids)} ids = {per_id:.3f} per id; {stats}")
    assert per_id <= 1.6  # a naive client with max_attempts=6 sends 6
    assert stats.retries_denied > 0


async def test_chaos_soak_returns_every_sampler_exactly() -> None:
    faults = Faults(
        error_503=0.10,
        rate_limit_429=0.05,
        retry_after=1,
        drop_connection=0.04,
        bad_gateway_502=0.04,
        slow=0.02,
        slow_seconds=1.0,
        faulty_attempts=3,
        seed=20261126,
    )
    async with FakeLoopsServer(faults=faults) as server:
        ids = server.add_samplers(3000, seed=7)
        expected = {i: structure(server.payload(i), Sampler, path="sampler") for i in ids}
        policy = RetryPolicy(max_attempts=6, initial_backoff=0.05, max_backoff=1.0)
        async with LoopsClient(
            server.api_key, base_url=server.base_url, retry=policy, attempt_timeout=0.5
        ) as client:
            samplers = await client.samplers.get_many(ids, concurrency=64)
            stats = client.stats
    per_id = server.requests / len(ids)
    print(
        f"\nchaos soak: {server.requests} requests for {len(ids)} ids = {per_id:.3f} per id; "
        f"faults {dict(server.faults_injected)}; {stats}"
    )
    assert len(samplers) == len(ids)  # nothing lost
    assert [s.id for s in samplers] == ids  # nothing mixed up, nothing duplicated
    assert all(isinstance(s, Sampler) and s == expected[s.id] for s in samplers)
    assert per_id <= 1.5
    assert sum(server.faults_injected.values()) > 0.2 * len(ids)  # the faults really happened
    assert stats.requests == server.requests  # every request sent was counted
