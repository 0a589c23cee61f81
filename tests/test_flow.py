"""Flow control: the rate limiter's arithmetic on a synthetic clock, then whole clients."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from baseten_loops import (
    APITimeoutError,
    ConfigurationError,
    FlowControl,
    LoopsClient,
    RateLimitError,
    RetryPolicy,
    Sampler,
)
from baseten_loops._flow import _RECOVERY_SECONDS, RateLimiter
from baseten_loops.testing import FakeLoopsServer


def send(limiter: RateLimiter, count: int, now: float) -> list[float]:
    """Reserve ``count`` slots at ``now``; return the times they may be sent at."""
    return [now + limiter.reserve(now) for _ in range(count)]


def congest(limiter: RateLimiter, now: float, sent: int = 100) -> None:
    """Send ``sent`` requests at ``now`` and have all of them throttled."""
    send(limiter, sent, now)
    for _ in range(sent):
        limiter.on_throttled(now, now + 0.01)


# -- the limiter on a synthetic clock -------------------------------------------------------


def test_nothing_is_limited_until_the_server_throttles() -> None:
    limiter = RateLimiter(FlowControl())
    assert send(limiter, 10_000, now=5.0) == [5.0] * 10_000
    assert limiter.rate(5.0) is None
    assert limiter.waited == 0.0


def test_fixed_rate_spaces_every_request_and_never_exceeds_it() -> None:
    limiter = RateLimiter(FlowControl(max_rate=50, adaptive=False))
    times = send(limiter, 200, now=0.0)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(1 / 50)
    # In any one-second window, at most 50 sends (+1 for the window's edge).
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) <= 51
    limiter.on_throttled(0.0, 0.5)  # not adaptive: a 429 changes nothing
    assert limiter.rate(0.5) == 50
    assert limiter.throttled == 1


def test_a_throttle_slows_the_whole_client_by_beta() -> None:
    limiter = RateLimiter(FlowControl(beta=0.5))
    congest(limiter, now=10.0, sent=100)
    # First throttle: from the send rate measured over the last second (100 requests).
    assert limiter.rate(10.01) == pytest.approx(50, rel=0.05)
    times = send(limiter, 50, now=10.02)
    assert times[-1] - times[0] == pytest.approx(49 / 50, rel=0.05)  # now paced, for everybody


def test_echoes_of_one_congestion_event_slow_the_client_once() -> None:
    limiter = RateLimiter(FlowControl())
    send(limiter, 64, now=1.0)  # 64 workers took slots at the old pace...
    for _ in range(64):  # ...and all of them come back throttled
        limiter.on_throttled(1.0, 1.05)
    after_one_event = limiter.rate(1.05)
    assert after_one_event == pytest.approx(0.7 * 64, rel=0.05)
    assert limiter.throttled == 64
    # A request that took its slot after the slow-down is a new event.
    limiter.on_throttled(1.06, 1.1)
    assert limiter.rate(1.1) == pytest.approx(0.7 * after_one_event, rel=0.05)


def test_stray_throttles_do_not_slow_the_client() -> None:
    limiter = RateLimiter(FlowControl())
    send(limiter, 1000, now=0.5)
    for _ in range(20):  # 2% of the requests: a flaky proxy, not a limit
        limiter.on_throttled(0.5, 0.6)
    assert limiter.rate(0.6) is None
    assert limiter.throttled == 20


def test_the_rate_rises_again_after_the_limit_lifts() -> None:
    limiter = RateLimiter(FlowControl())
    congest(limiter, now=0.0, sent=200)
    low = limiter.rate(0.0)
    assert low is not None
    now = 0.0
    rates = []
    while now < 3 * _RECOVERY_SECONDS:  # the server accepts everything again
        send(limiter, 100, now)  # demand far above the learnt rate
        rate = limiter.rate(now)
        assert rate is not None
        rates.append(rate)
        now += 0.1
    assert all(b >= a * 0.99 for a, b in itertools.pairwise(rates))  # no throttle, no cut
    assert rates[-1] > 200  # back past where the server last pushed back: probing upwards


def test_the_rate_never_drops_below_min_rate() -> None:
    limiter = RateLimiter(FlowControl(min_rate=5))
    now = 0.0
    for _ in range(50):
        now += 1.0
        congest(limiter, now, sent=10)
    assert limiter.rate(now) == 5


def test_max_rate_caps_the_learnt_rate_too() -> None:
    limiter = RateLimiter(FlowControl(max_rate=10))
    congest(limiter, now=0.0, sent=1000)
    assert limiter.rate(100.0) == 10


@pytest.mark.parametrize(
    "kwargs",
    [{"max_rate": 0}, {"max_rate": -1}, {"max_rate": float("inf")}, {"min_rate": 0}, {"beta": 1}],
)
def test_bad_flow_control_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        FlowControl(**kwargs)  # type: ignore[arg-type]


def test_flow_control_must_be_a_flow_control() -> None:
    with pytest.raises(ConfigurationError, match="flow_control must be a FlowControl"):
        LoopsClient("key", flow_control=5)  # type: ignore[arg-type]


def test_rate_changes_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="baseten_loops")
    limiter = RateLimiter(FlowControl())
    congest(limiter, now=0.0)
    send(limiter, 1, now=_RECOVERY_SECONDS)  # climbed back by 30%
    assert "throttled: client rate" in caplog.text
    assert "client rate now" in caplog.text


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
        policy = RetryPolicy(max_attempts=2, deadline=30)
        async with LoopsClient(server.api_key, base_url=server.base_url, retry=policy) as c:
            results = await c.samplers.get_many(ids, concurrency=30, return_exceptions=True)
    assert all(isinstance(r, Sampler) for r in results)
    assert max(server.requests_by_id.values()) > 2  # some were throttled more than once


async def test_without_a_deadline_throttles_count_as_attempts() -> None:
    async with FakeLoopsServer(rate_limit=1, rate_limit_burst=1) as server:
        ids = server.add_samplers(2)
        policy = RetryPolicy(max_attempts=2, deadline=None, max_retry_after=0.01)
        async with LoopsClient(server.api_key, base_url=server.base_url, retry=policy) as c:
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
