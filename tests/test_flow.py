"""Flow control: the sans-I/O RouteFlow on a synthetic clock, then whole clients on the fake."""

from __future__ import annotations

import asyncio
import logging
import math
import random

import pytest

from baseten_loops import (
    APITimeoutError,
    ClientClosedError,
    ClientThrottledError,
    ConfigurationError,
    FlowControl,
    LoopsClient,
    RateLimitError,
    RetryPolicy,
    Sampler,
)
from baseten_loops._flow import RouteFlow, policy_name
from baseten_loops.testing import FakeLoopsServer, Reply


def flow(**settings: object) -> RouteFlow:
    return RouteFlow(FlowControl(**settings), "samplers.get", rand=random.Random(1).random)  # type: ignore[arg-type]


def answer(route: RouteFlow, now: float, *, throttled: bool = False, rtt: float = 0.002) -> bool:
    return route.on_answer(now, now - rtt, throttled=throttled)


def engage(route: RouteFlow) -> None:
    """Hit the limit while unpaced: 16 sent at once, then two of their answers throttled."""
    for _ in range(16):
        assert route.try_send(0.0)
    route.on_answer(0.010, 0.0, throttled=False)
    route.on_answer(0.011, 0.0, throttled=True)
    route.on_answer(0.012, 0.0, throttled=True)


# -- the rules, one at a time ------------------------------------------------------------


def test_an_unthrottled_route_is_never_paced() -> None:
    route = flow()
    now = 0.0
    for _ in range(5000):
        now += 0.0001
        if route.try_send(now):
            answer(route, now + 0.002)
    assert route.rate is None
    assert route.try_send(now)


def test_slow_start_lets_sixteen_go_then_one_more_per_accepted_answer() -> None:
    route = flow()
    assert [route.try_send(0.0) for _ in range(17)] == [True] * 16 + [False]
    assert route.next_slot() == math.inf  # the next answer opens the window
    answer(route, 0.01)
    assert [route.try_send(0.01) for _ in range(3)] == [True, True, False]


def test_slow_start_ends_after_a_thousand_unthrottled_answers() -> None:
    route = flow()
    for step in range(1100):
        assert route.try_send(step * 0.001) or step < 16
        answer(route, step * 0.001 + 0.0005)
    assert [route.try_send(2.0) for _ in range(2000)] == [True] * 2000


def test_an_answer_that_never_comes_frees_its_place_in_the_window() -> None:
    route = flow()
    for _ in range(16):
        route.try_send(0.0)
    assert not route.try_send(0.0)
    route.on_lost()  # a timeout, a dropped connection
    assert route.try_send(0.0)


def test_a_single_429_is_not_a_limit() -> None:
    route = flow()
    now = 0.0
    for step in range(400):
        now = step * 0.001
        if route.try_send(now):
            answer(route, now + 0.001, throttled=step == 20)
    assert route.rate is None
    assert route.throttled == 1


def test_two_429s_in_a_round_start_pacing_after_a_pause_of_two_round_trips() -> None:
    route = flow()
    engage(route)
    # Half the rate the server accepted so far: one answer in the 12 ms since the first send.
    assert route.rate == pytest.approx(1 / 0.012 * 0.5)
    assert route.next_slot() >= 0.012 + 0.0035  # nothing more until the answers in flight
    assert not route.try_send(0.013)


def test_far_over_the_limit_the_rate_becomes_what_the_server_accepted() -> None:
    route = flow()
    engage(route)
    now, accepted = 0.1, 0
    # Paced at hundreds per second against a limit of 50/s: most answers are throttled.
    while now < 0.6:
        slot = max(route.next_slot(), now)
        assert route.try_send(slot) or route.pop_due(slot) is not None or True
        now = slot + 0.0001
        taken = accepted < 50 * (now - 0.1)
        accepted += taken
        answer(route, now + 0.002, throttled=not taken)
    assert route.rate is not None
    assert 35 < route.rate < 75


def test_an_idle_gap_is_not_counted_as_time_at_the_limit() -> None:
    route = flow()
    engage(route)
    rate = route.rate
    # Twenty seconds with nothing to send, then a round: the rate measures the sends only.
    for step in range(8):
        now = 20.0 + step * 0.02
        route.try_send(now)
        answer(route, now + 0.002, throttled=step % 4 == 0)
    assert route.rate is not None
    assert route.rate > 10  # not 8 answers over twenty seconds
    assert rate is not None


def test_pacing_stops_when_the_client_stops_using_a_rate_it_outgrew() -> None:
    route = flow()
    engage(route)
    now = 1.0
    # Unthrottled and held back: the rate grows; then the client asks for less than it may.
    for step in range(4000):
        now = 1.0 + step * 0.005
        if route.try_send(now):
            answer(route, now + 0.002)
        if route.rate is None:
            break
    assert route.rate is None


def test_slots_are_spaced_from_the_previous_actual_send_with_dither() -> None:
    route = flow(max_rate=100, adaptive=False)
    assert route.try_send(0.0)
    gaps = []
    now = 0.0
    for _ in range(200):
        slot = route.next_slot()
        gaps.append(slot - now)
        now = slot
        assert route.try_send(now)
    assert min(gaps) > 0.0049 and max(gaps) < 0.0151  # 1/100 s, give or take half
    assert sum(gaps) / len(gaps) == pytest.approx(0.01, rel=0.1)
    # A send long after its slot: the next one counts from it, no burst to catch up.
    assert route.try_send(now + 5.0)
    assert route.next_slot() > now + 5.0 + 0.004


def test_a_request_that_leaves_the_queue_leaves_no_hole() -> None:
    route = flow(max_rate=10, adaptive=False)
    assert route.try_send(0.0)
    first, second = object(), object()
    route.queue.extend([first, second])
    route.queue.remove(first)  # its call gave up
    slot = route.next_slot()
    assert route.pop_due(slot) is second  # the next in line takes the first free slot


def test_a_new_rate_applies_to_requests_already_waiting() -> None:
    route = flow()
    engage(route)
    waiting = object()
    route.queue.append(waiting)
    before = route.next_slot()
    route.rate = (route.rate or 1) / 10  # as a measured cut does
    assert route.next_slot() > before
    assert route.pop_due(before) is None


def test_max_rate_caps_a_learnt_rate_and_adaptive_false_keeps_it() -> None:
    fixed = flow(max_rate=50, adaptive=False)
    assert fixed.rate == 50
    for step in range(100):
        now = step * 0.001
        if fixed.try_send(now):
            answer(fixed, now + 0.002, throttled=True)
    assert fixed.rate == 50
    capped = flow(max_rate=50)
    assert capped.rate == 50
    for step in range(400):
        now = step * 0.02
        if capped.try_send(now):
            answer(capped, now + 0.002)
    assert capped.rate == 50  # grows no further than the cap


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_rate": 0},
        {"max_rate": -1},
        {"max_rate": float("inf")},
        {"max_rate": True},
        {"min_rate": 0},
        {"adaptive": 1},
        {"wait_for_slot": "no"},
    ],
)
def test_flow_control_settings_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        FlowControl(**kwargs)  # type: ignore[arg-type]


def test_flow_control_must_be_a_flow_control() -> None:
    with pytest.raises(ConfigurationError, match="flow_control must be a FlowControl"):
        LoopsClient("key", flow_control=5)  # type: ignore[arg-type]


def test_rate_changes_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="baseten_loops")
    engage(flow())
    assert "samplers.get: throttled; pacing at" in caplog.text


# -- whole clients against a rate-limited fake server ------------------------------------


async def test_a_rate_limit_loses_no_ids_and_forms_no_herd() -> None:
    async with FakeLoopsServer(rate_limit=400) as server:
        ids = server.add_samplers(1000)
        async with LoopsClient(server.api_key, base_url=server.base_url) as client:
            results = await client.samplers.get_many(ids, concurrency=64, return_exceptions=True)
            stats = client.stats
    assert all(isinstance(r, Sampler) for r in results)
    assert [r.id for r in results if isinstance(r, Sampler)] == ids
    # Without shared flow control every worker meets the limit, sleeps, and meets it again.
    assert server.rate_limited <= 0.2 * len(ids)
    assert stats.throttled == server.rate_limited
    assert stats.rate_limit is not None  # the client now paces itself...
    assert stats.throttle_wait > 0  # ...and its calls waited for their slots
    assert stats.budget_tokens == RetryPolicy().budget.capacity  # type: ignore[union-attr]


async def test_throttled_lookups_are_retried_beyond_max_attempts() -> None:
    async with FakeLoopsServer(rate_limit=20, rate_limit_burst=1) as server:
        ids = server.add_samplers(30)
        policy = RetryPolicy(max_attempts=2)
        async with LoopsClient(
            server.api_key, base_url=server.base_url, retry=policy, timeout=30
        ) as c:
            results = await c.samplers.get_many(ids, concurrency=30, return_exceptions=True)
    assert all(isinstance(r, Sampler) for r in results)
    assert max(server.requests_by_id.values()) > 2  # some were throttled more than once


async def test_without_a_deadline_throttles_count_as_attempts() -> None:
    async with FakeLoopsServer(rate_limit=1, rate_limit_burst=1) as server:
        ids = server.add_samplers(2)
        policy = RetryPolicy(max_attempts=2, max_retry_after=0.01)
        async with LoopsClient(
            server.api_key, base_url=server.base_url, retry=policy, timeout=None
        ) as c:
            results = await c.samplers.get_many(ids, concurrency=2, return_exceptions=True)
    assert sum(isinstance(r, RateLimitError) for r in results) == 1
    assert server.requests == 3


async def test_the_deadline_still_bounds_a_throttled_call() -> None:
    async with FakeLoopsServer(rate_limit=0.01, rate_limit_burst=1) as server:
        first, second = server.add_samplers(2)
        async with LoopsClient(server.api_key, base_url=server.base_url) as client:
            await client.samplers.get(first)  # takes the only token for 100 s
            with pytest.raises((RateLimitError, APITimeoutError)):
                # The server says Retry-After: 100; the call may take 0.5 s: fail now.
                await asyncio.wait_for(client.samplers.get(second, timeout=0.5), 10)
    assert server.requests == 2


async def test_a_fixed_rate_paces_requests_and_reports_the_wait() -> None:
    async with FakeLoopsServer() as server:
        ids = server.add_samplers(6)
        flow = FlowControl(max_rate=100, adaptive=False)
        async with LoopsClient(server.api_key, base_url=server.base_url, flow_control=flow) as c:
            await c.samplers.get_many(ids, concurrency=6)
            stats = c.stats
    assert c.flow_control is flow
    assert stats.rate_limit == 100
    assert stats.throttle_wait > 0  # six at once at 100/s: the later ones waited their slot
    assert stats.throttled == 0


# -- the fake server's rate limit -------------------------------------------------------------


async def test_fake_server_rate_limit_answers_429_with_retry_after() -> None:
    async with FakeLoopsServer(rate_limit=1, rate_limit_burst=2) as server:
        server.add_sampler("abc")
        policy = RetryPolicy(max_attempts=1)
        async with LoopsClient(server.api_key, base_url=server.base_url, retry=policy) as c:
            await c.samplers.get("abc")
            await c.samplers.get("abc")
            with pytest.raises(RateLimitError) as info:
                await c.samplers.get("abc")
        assert info.value.retry_after is not None
        assert info.value.retry_after >= 1
        assert server.rate_limited == 1
        server.set_rate_limit(None)
        async with LoopsClient(server.api_key, base_url=server.base_url, retry=policy) as c:
            assert (await c.samplers.get("abc")).id == "abc"


def test_fake_server_rate_limit_settings_are_checked() -> None:
    server = FakeLoopsServer()
    with pytest.raises(ValueError, match="rate must be > 0"):
        server.set_rate_limit(0)
    with pytest.raises(ValueError, match="burst must be >= 1"):
        server.set_rate_limit(10, burst=0.5)


# -- the review's probes, on a real server --------------------------------------------------


def client_for(server: FakeLoopsServer, **options: object) -> LoopsClient:
    return LoopsClient(server.api_key, base_url=server.base_url, **options)  # type: ignore[arg-type]


async def test_wait_for_slot_false_fails_at_once_with_the_wait_it_spared() -> None:
    async with FakeLoopsServer() as server:
        first, second = server.add_samplers(2)
        flow = FlowControl(max_rate=0.5, adaptive=False, wait_for_slot=False)
        async with client_for(server, flow_control=flow) as client:
            await client.samplers.get(first)
            with pytest.raises(ClientThrottledError) as info:
                await client.samplers.get(second)
    assert 1.0 < info.value.retry_after <= 3.0  # 1/0.5 s, give or take the dither
    assert server.requests == 1  # the refused call sent nothing


async def test_without_pacing_a_zero_retry_after_still_backs_off() -> None:
    async with FakeLoopsServer() as server:
        server.add_sampler("abc")
        server.enqueue(*[Reply(status=429, headers={"Retry-After": "0"})] * 1000, sampler_id="abc")
        flow = FlowControl(adaptive=False)
        async with client_for(server, flow_control=flow) as client:
            with pytest.raises((RateLimitError, APITimeoutError)):
                await client.samplers.get("abc", timeout=1.2)
    # Backoff 0.5 s then 1 s (with jitter): a handful of requests, not thousands.
    assert server.requests_by_id["abc"] <= 5


async def test_a_throttled_logs_route_paces_only_itself() -> None:
    async with FakeLoopsServer() as server:
        ids = server.add_samplers(100)
        server.add_deployment("d1")
        server.set_rate_limit(2, burst=1, route="GET /v1/loops/deployments/{deployment_id}/logs")
        async with client_for(server) as client:

            async def tail() -> None:
                for _ in range(4):
                    await client.deployments.logs("d1")

            tailers = [asyncio.ensure_future(tail()) for _ in range(4)]
            await asyncio.sleep(0.5)  # the logs route is throttled by now
            found = await client.samplers.get_many(ids, concurrency=16)
            stats = client.stats
            for task in tailers:
                task.cancel()
            await asyncio.gather(*tailers, return_exceptions=True)
    assert len(found) == 100
    assert server.rate_limited_by_route == {
        "GET /v1/loops/deployments/{deployment_id}/logs": server.rate_limited
    }
    assert set(stats.rate_limits) <= {"deployments.logs"}
    assert "samplers.get" not in stats.rate_limits


async def test_a_throttled_id_does_not_hold_its_worker_while_it_waits() -> None:
    async with FakeLoopsServer() as server:
        server.add_sampler("a")
        server.add_sampler("b")
        server.add_sampler("c")
        server.enqueue(Reply(status=429, headers={"Retry-After": "0.5"}), sampler_id="a")
        async with client_for(server) as client:
            found = await client.samplers.get_many(["a", "b", "c"], concurrency=1)
    assert [sampler.id for sampler in found] == ["a", "b", "c"]
    # One worker: while "a" waited out its Retry-After, it looked "b" and "c" up.
    assert [request.path.rsplit("/", 1)[1] for request in server.recorded] == ["a", "b", "c", "a"]


async def test_a_retry_after_beyond_the_cap_keeps_the_id_while_the_deadline_allows() -> None:
    async with FakeLoopsServer() as server:
        ids = server.add_samplers(3)
        server.enqueue(*[Reply(status=429, headers={"Retry-After": "100"})] * 2, sampler_id=ids[0])
        policy = RetryPolicy(max_retry_after=0.2)
        async with client_for(server, retry=policy) as client:
            found = await client.samplers.get_many(ids, return_exceptions=True)
    assert all(isinstance(result, Sampler) for result in found)
    assert server.requests_by_id[ids[0]] == 3


async def test_calls_that_give_up_their_wait_leave_no_hole_in_the_queue() -> None:
    async with FakeLoopsServer() as server:
        ids = server.add_samplers(7)
        flow = FlowControl(max_rate=2, adaptive=False)  # a slot every 0.25-0.75 s
        async with client_for(server, flow_control=flow) as client:
            await client.samplers.get(ids[0])
            waiting = [asyncio.ensure_future(client.samplers.get(i)) for i in ids[1:6]]
            await asyncio.sleep(0.05)
            for task in waiting:
                task.cancel()  # they gave up while queued for their slots
            loop = asyncio.get_running_loop()
            started = loop.time()
            await client.samplers.get(ids[6])
            waited = loop.time() - started
    assert server.requests == 2
    # The next slot after the first send, not the sixth (1.25 s at least had holes been kept).
    assert waited < 0.8


async def test_close_ends_a_wait_for_a_slot_with_client_closed_error() -> None:
    async with FakeLoopsServer() as server:
        first, second = server.add_samplers(2)
        client = client_for(server, flow_control=FlowControl(max_rate=0.2, adaptive=False))
        await client.samplers.get(first)
        waiting = asyncio.ensure_future(client.samplers.get(second))
        await asyncio.sleep(0.05)
        await client.close()
        with pytest.raises(ClientClosedError):
            await asyncio.wait_for(waiting, 2)
    assert server.requests == 1


async def test_the_fake_server_says_retry_after_as_told() -> None:
    async with FakeLoopsServer(rate_limit=1, rate_limit_burst=1) as server:
        server.add_sampler("abc")
        policy = RetryPolicy(max_attempts=1)
        seen = {}
        async with client_for(server, retry=policy) as client:
            await client.samplers.get("abc")
            for setting in ("ceil", "exact", "date", "none", 30):
                server.retry_after = setting
                with pytest.raises(RateLimitError) as info:
                    await client.samplers.get("abc")
                seen[setting] = info.value.retry_after
    assert seen["ceil"] == 1.0
    assert seen["exact"] is not None and 0 < seen["exact"] < 1.0
    assert seen["date"] is not None and 0 <= seen["date"] <= 2.0
    assert seen["none"] is None
    assert seen[30] == 30.0
    with pytest.raises(ValueError, match="retry_after must be"):
        FakeLoopsServer(retry_after="soon")
    with pytest.raises(ValueError, match="names no operation"):
        FakeLoopsServer().set_rate_limit(1, route="GET /v1/loops/samplers/abc")


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('"burst";q=100;w=60', "burst"),
        ('"api-2";q=5, "day";q=1000;w=86400', "api-2"),
        ("100;w=60", None),  # an earlier draft's unnamed policy
        ('"";q=1', None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_the_limit_policy_a_header_names(header: str | None, name: str | None) -> None:
    assert policy_name(header) == name


async def test_routes_a_server_puts_under_one_limit_policy_share_one_pacing() -> None:
    async with FakeLoopsServer() as server:
        ids = server.add_samplers(20)
        server.add_run("r1")
        policy = {"Retry-After": "0", "RateLimit-Policy": '"api";q=10;w=1'}
        server.enqueue(
            *[Reply(status=429, headers=policy)] * 2, route="GET /v1/loops/runs/{run_id}"
        )
        server.enqueue(*[Reply(status=429, headers=policy)] * 2, sampler_id=ids[0])
        async with client_for(server) as client:
            await client.runs.get("r1")
            await client.samplers.get(ids[0])
            await client.samplers.get_many(ids[1:], concurrency=4)
            pool = client._http._pool
            assert pool.policies == {"runs.get": "policy api", "samplers.get": "policy api"}
            assert pool.flow("runs.get") is pool.flow("samplers.get")
            assert pool.flow("runs.list") is not pool.flow("samplers.get")  # not named: apart


def test_a_clock_too_coarse_to_tell_answers_apart_changes_nothing() -> None:
    # Windows' monotonic clock ticks every 15 ms: many answers may share one reading.
    route = flow()
    for _ in range(16):
        route.try_send(5.0)
    for number in range(16):
        assert not route.on_answer(5.0, 5.0, throttled=number % 2 == 0)
    assert route.rate is None
    paced = flow(max_rate=100)  # paced from the start
    for _ in range(40):  # far over the limit, all in one tick: no division by a zero round
        assert not paced.on_answer(7.0, 7.0, throttled=True)
    assert paced.rate == 100


def test_a_long_retry_after_makes_the_client_grow_slowly() -> None:
    # Each throttled answer costs its request the Retry-After: at 30 s the client grows a
    # thirtieth as fast as at 1 s after the same clean rounds.
    growth = {}
    for retry_after in (1.0, 30.0):
        route = flow()
        engage(route)
        route.on_answer(0.02, 0.019, throttled=True, retry_after=retry_after)
        start, now = route.rate, 1.0
        assert start is not None
        for _ in range(2000):
            now += 0.002
            if route.try_send(now):
                route.on_answer(now + 0.001, now, throttled=False)
            if now > 3.0:
                break
        assert route.rate is not None
        growth[retry_after] = route.rate / start
    assert growth[1.0] > 1.5
    assert growth[30.0] < 1 + (growth[1.0] - 1) / 5
