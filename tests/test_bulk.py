"""Bulk lookups and waiting, against the fake server."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Iterator

import pytest

from baseten_loops import (
    AuthenticationError,
    InvalidSamplerIdError,
    LoopsClient,
    LoopsError,
    NotFoundError,
    Sampler,
    SamplerFailedError,
    SamplerIdTypeError,
    WaitTimeoutError,
)
from baseten_loops.testing import FakeLoopsServer, Reply


def lookup_tasks() -> set[asyncio.Task[object]]:
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and "iter_many" in repr(t)}


async def test_get_many_returns_results_in_input_order(
    client: LoopsClient, server: FakeLoopsServer
) -> None:
    ids = server.add_samplers(50)
    shuffled = ids[::-1]
    samplers = await client.samplers.get_many(shuffled, concurrency=8)
    assert [s.id for s in samplers] == shuffled


async def test_get_many_sends_one_request_per_distinct_id(
    client: LoopsClient, server: FakeLoopsServer
) -> None:
    ids = server.add_samplers(3)
    samplers = await client.samplers.get_many([ids[0], ids[1], ids[0], ids[2], ids[0]])
    assert [s.id for s in samplers] == [ids[0], ids[1], ids[0], ids[2], ids[0]]
    assert samplers[0] is samplers[2] is samplers[4]
    assert server.requests == 3


async def test_get_many_of_nothing_is_empty(client: LoopsClient, server: FakeLoopsServer) -> None:
    assert await client.samplers.get_many([]) == []
    assert server.requests == 0


@pytest.mark.parametrize("concurrency", [1, 4, 16])
async def test_never_more_than_concurrency_requests_in_flight(concurrency: int) -> None:
    async with FakeLoopsServer(latency=0.05) as server:
        ids = server.add_samplers(60)
        async with LoopsClient(server.api_key, base_url=server.base_url) as client:
            await client.samplers.get_many(ids, concurrency=concurrency)
    assert server.peak_in_flight == concurrency


async def test_iter_many_respects_concurrency_too() -> None:
    async with FakeLoopsServer(latency=0.05) as server:
        ids = server.add_samplers(40)
        async with LoopsClient(server.api_key, base_url=server.base_url) as client:
            seen = [sid async for sid, _ in client.samplers.iter_many(ids, concurrency=5)]
    assert sorted(seen) == sorted(ids)
    assert server.peak_in_flight == 5


async def test_partial_failures_fill_their_own_slots(
    client: LoopsClient, server: FakeLoopsServer
) -> None:
    ids = server.add_samplers(4)
    server.enqueue(Reply(status=403), sampler_id=ids[2])
    results = await client.samplers.get_many(
        [ids[0], "missing", ids[1], ids[2], "a/b", 7, ids[3]],  # type: ignore[list-item]
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == [
        "Sampler",
        "NotFoundError",
        "Sampler",
        "PermissionDeniedError",
        "InvalidSamplerIdError",
        "SamplerIdTypeError",
        "Sampler",
    ]
    assert isinstance(results[4], ValueError)
    assert isinstance(results[5], TypeError)
    assert [r.id for r in results if isinstance(r, Sampler)] == [ids[0], ids[1], ids[3]]


async def test_first_failure_is_raised_and_the_rest_cancelled(server: FakeLoopsServer) -> None:
    server.latency = 0.05
    ids = server.add_samplers(40)
    server.enqueue(Reply(status=404), sampler_id=ids[0])
    async with LoopsClient(server.api_key, base_url=server.base_url) as client:
        with pytest.raises(NotFoundError):
            await client.samplers.get_many(ids, concurrency=4)
        assert lookup_tasks() == set()
    assert server.requests < len(ids)


async def test_invalid_id_fails_fast_without_requests_when_raising(
    client: LoopsClient, server: FakeLoopsServer
) -> None:
    ids = server.add_samplers(5)
    with pytest.raises(InvalidSamplerIdError):
        await client.samplers.get_many([*ids, "../etc"])
    with pytest.raises(SamplerIdTypeError):
        await client.samplers.get_many([*ids, None])  # type: ignore[list-item]
    assert server.requests == 0


async def test_iter_many_reports_every_id_once_in_completion_order(
    client: LoopsClient, server: FakeLoopsServer
) -> None:
    ids = server.add_samplers(3)
    server.enqueue(Reply(delay=0.2), sampler_id=ids[0])
    pairs = [pair async for pair in client.samplers.iter_many([*ids, "missing", ""])]
    assert len(pairs) == 5
    assert pairs[-1][0] == ids[0]  # the slow one finishes last
    by_id = dict(pairs)
    assert isinstance(by_id["missing"], NotFoundError)
    assert isinstance(by_id[""], InvalidSamplerIdError)
    assert all(isinstance(by_id[i], Sampler) and by_id[i].id == i for i in ids)  # type: ignore[union-attr]


async def test_iter_many_consumes_a_generator_lazily(
    client: LoopsClient, server: FakeLoopsServer
) -> None:
    ids = server.add_samplers(30)
    pulled = 0

    def generate() -> Iterator[str]:
        nonlocal pulled
        for sampler_id in ids:
            pulled += 1
            yield sampler_id

    async with contextlib.aclosing(client.samplers.iter_many(generate(), concurrency=4)) as it:
        first = await anext(it)
        # At most 4 in flight and 4 results waiting to be taken, plus the one taken.
        assert pulled <= 2 * 4 + 1
        rest = [pair async for pair in it]
    assert first[0] in ids
    assert len(rest) == 29
    assert pulled == 30


async def test_a_failing_ids_iterable_surfaces_its_error(
    client: LoopsClient, server: FakeLoopsServer
) -> None:
    ids = server.add_samplers(3)

    def generate() -> Iterator[str]:
        yield from ids
        raise OSError("ids file vanished")

    async def consume() -> None:
        async with contextlib.aclosing(client.samplers.iter_many(generate())) as it:
            async for _ in it:
                pass

    with pytest.raises(OSError, match="ids file vanished"):
        await consume()
    assert lookup_tasks() == set()


async def test_iter_many_takes_an_async_iterable(
    client: LoopsClient, server: FakeLoopsServer
) -> None:
    ids = server.add_samplers(10)

    async def generate() -> AsyncIterator[str]:
        for sampler_id in ids:
            await asyncio.sleep(0)
            yield sampler_id

    got = {sid: r async for sid, r in client.samplers.iter_many(generate(), concurrency=3)}
    assert sorted(got) == sorted(ids)


async def test_iter_many_handles_a_million_id_generator_without_reading_it_all(
    client: LoopsClient, server: FakeLoopsServer
) -> None:
    server.add_sampler("abc")
    pulled = 0

    def million() -> Iterator[str]:
        nonlocal pulled
        for _ in range(1_000_000):
            pulled += 1
            yield "abc"

    count = 0
    async with contextlib.aclosing(client.samplers.iter_many(million(), concurrency=8)) as it:
        async for _ in it:
            count += 1
            if count == 100:
                break
    assert pulled < 120
    assert lookup_tasks() == set()


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, "4"])
async def test_bad_concurrency_is_a_value_error(client: LoopsClient, concurrency: object) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        await client.samplers.get_many(["abc"], concurrency=concurrency)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="concurrency"):
        await anext(client.samplers.iter_many(["abc"], concurrency=concurrency))  # type: ignore[arg-type]


async def test_cancelling_get_many_cancels_in_flight_requests(server: FakeLoopsServer) -> None:
    server.latency = 10
    ids = server.add_samplers(20)
    async with LoopsClient(server.api_key, base_url=server.base_url) as client:
        task = asyncio.create_task(client.samplers.get_many(ids, concurrency=4))
        while server.in_flight < 4:  # noqa: ASYNC110 - polling a counter of another component
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert lookup_tasks() == set()
        assert server.requests == 4  # no new request after the cancel


async def test_timeout_around_iter_many_leaves_nothing_behind(server: FakeLoopsServer) -> None:
    server.latency = 10
    ids = server.add_samplers(20)
    async with LoopsClient(server.api_key, base_url=server.base_url) as client:
        with pytest.raises(asyncio.TimeoutError):  # 3.10: not yet the builtin TimeoutError
            async with contextlib.aclosing(client.samplers.iter_many(ids, concurrency=4)) as it:
                await asyncio.wait_for(anext(it), 0.2)
        assert lookup_tasks() == set()


async def test_breaking_out_of_iter_many_cancels_the_rest(server: FakeLoopsServer) -> None:
    ids = server.add_samplers(40)
    server.enqueue(*[Reply(delay=10)] * 3, sampler_id=None)
    async with LoopsClient(server.api_key, base_url=server.base_url) as client:
        async for _ in client.samplers.iter_many(ids, concurrency=4):
            break
        gc.collect()
        # An abandoned async generator is closed by the event loop's finalizer hook.
        for _ in range(10):
            if not lookup_tasks():
                break
            await asyncio.sleep(0)
        assert lookup_tasks() == set()


# -- wait_until_active ---------------------------------------------------------------------


async def test_wait_until_active_follows_status_transitions(
    client: LoopsClient, server: FakeLoopsServer
) -> None:
    server.script_statuses("abc", ["BUILDING", "BUILDING", "LOADING_MODEL", "ACTIVE"])
    seen: list[str] = []
    sampler = await client.samplers.wait_until_active(
        "abc", timeout=5, poll_interval=0.01, on_status=lambda s: seen.append(str(s.status.name))
    )
    assert sampler.status.is_ready
    assert seen == ["BUILDING", "LOADING_MODEL", "ACTIVE"]
    assert server.requests_by_id["abc"] == 4


@pytest.mark.parametrize(
    "failed",
    ["BUILD_FAILED", "DEPLOY_FAILED", "BUILD_STOPPED", "FAILED", "INACTIVE", "DEACTIVATING"],
)
async def test_wait_until_active_raises_at_once_on_failure(
    client: LoopsClient, server: FakeLoopsServer, failed: str
) -> None:
    server.script_statuses("abc", ["BUILDING", failed, "ACTIVE"])
    with pytest.raises(SamplerFailedError, match=failed) as info:
        await client.samplers.wait_until_active("abc", timeout=30, poll_interval=0.01)
    assert info.value.sampler.status.name == failed
    assert server.requests_by_id["abc"] == 2


async def test_wait_until_active_times_out(client: LoopsClient, server: FakeLoopsServer) -> None:
    server.add_sampler("abc", status="BUILDING")
    with pytest.raises(WaitTimeoutError, match="last status BUILDING") as info:
        await client.samplers.wait_until_active("abc", timeout=0.2, poll_interval=0.05)
    assert isinstance(info.value, TimeoutError)
    assert isinstance(info.value, LoopsError)
    assert info.value.last_sampler is not None


async def test_wait_until_active_times_out_when_the_server_hangs(server: FakeLoopsServer) -> None:
    server.add_sampler("abc", status="ACTIVE")
    server.latency = 5
    async with LoopsClient(server.api_key, base_url=server.base_url) as client:
        with pytest.raises(WaitTimeoutError, match="no status seen"):
            await client.samplers.wait_until_active("abc", timeout=0.3, poll_interval=0.05)


async def test_wait_until_active_propagates_lookup_errors(client: LoopsClient) -> None:
    with pytest.raises(NotFoundError):
        await client.samplers.wait_until_active("missing", timeout=5, poll_interval=0.01)


async def test_wait_until_active_refuses_bad_arguments(client: LoopsClient) -> None:
    with pytest.raises(ValueError, match="timeout"):
        await client.samplers.wait_until_active("abc", timeout=0)
    with pytest.raises(InvalidSamplerIdError):
        await client.samplers.wait_until_active("a/b")


@pytest.mark.parametrize("bulk_call", ["get_many", "iter_many"])
async def test_a_refused_key_ends_a_bulk_call_without_a_request_per_id(
    server: FakeLoopsServer, bulk_call: str
) -> None:
    ids = server.add_samplers(500)
    async with LoopsClient("wrong-key", base_url=server.base_url) as client:
        if bulk_call == "get_many":
            results = await client.samplers.get_many(ids, concurrency=8, return_exceptions=True)
        else:
            pairs = [pair async for pair in client.samplers.iter_many(ids, concurrency=8)]
            assert sorted(sampler_id for sampler_id, _ in pairs) == sorted(ids)
            results = [result for _, result in pairs]
    assert len(results) == len(ids)
    assert all(isinstance(result, AuthenticationError) for result in results)
    assert server.requests <= 8  # at most the lookups already in flight, not one per id


async def test_a_refused_key_is_raised_by_get_many_without_return_exceptions(
    server: FakeLoopsServer,
) -> None:
    ids = server.add_samplers(100)
    async with LoopsClient("wrong-key", base_url=server.base_url) as client:
        with pytest.raises(AuthenticationError):
            await client.samplers.get_many(ids, concurrency=4)
    assert server.requests <= 4
