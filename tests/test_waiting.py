"""The shared polling loop, driven by scripted fetches (no server)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import attrs
import pytest

from baseten_loops import (
    APIConnectionError,
    APITimeoutError,
    LoopsError,
    RateLimitError,
    WaitTimeoutError,
)
from baseten_loops._waiting import poll_until


@attrs.frozen
class Status:
    name: str


@attrs.frozen
class Thing:
    status: Status


def fetcher(results: Iterator[Thing | Exception]) -> Callable[[float], Awaitable[Thing]]:
    async def fetch(deadline: float) -> Thing:
        result = next(results)
        if isinstance(result, Exception):
            raise result
        return result

    return fetch


async def poll_with(
    fetch: Callable[[float], Awaitable[Thing]],
    *,
    timeout: float = 5.0,
    poll_interval: float = 0.001,
) -> Thing:
    """Wait for "t1" to be DONE (BROKEN fails the wait), fetching it with ``fetch``."""
    return await poll_until(
        fetch,
        what="thing",
        object_id="t1",
        goal="DONE",
        reached=lambda thing: thing.status.name == "DONE",
        failure=lambda thing: LoopsError("broken") if thing.status.name == "BROKEN" else None,
        timeout=timeout,
        poll_interval=poll_interval,
        on_status=None,
    )


async def poll(results: list[Thing | Exception], *, timeout: float = 5.0) -> Thing:
    return await poll_with(fetcher(iter(results)), timeout=timeout)


async def test_a_connection_error_before_the_deadline_is_raised_as_is() -> None:
    error = APIConnectionError("reset")
    with pytest.raises(APIConnectionError) as info:
        await poll([Thing(Status("WAIT")), error])
    assert info.value is error


async def test_a_connection_error_at_the_deadline_becomes_a_timeout() -> None:
    async def slow_then_fail(deadline: float) -> Thing:
        await asyncio.sleep(max(0.0, deadline - asyncio.get_running_loop().time()))
        raise APIConnectionError("timed out")

    with pytest.raises(WaitTimeoutError, match=r"\(no status seen\)$") as info:
        await poll_with(slow_then_fail, timeout=0.01)
    assert info.value.resource_id == "t1"
    assert info.value.last_seen is None
    assert isinstance(info.value.__cause__, APIConnectionError)


async def test_the_failure_error_is_raised_at_once() -> None:
    with pytest.raises(LoopsError, match="broken"):
        await poll([Thing(Status("WAIT")), Thing(Status("BROKEN")), Thing(Status("DONE"))])


async def test_a_wait_whose_time_is_already_spent_times_out_without_sleeping() -> None:
    # poll_interval > timeout: the first non-final answer ends the wait.
    with pytest.raises(WaitTimeoutError, match=r"\(last status WAIT\)$"):
        await poll_with(fetcher(iter([Thing(Status("WAIT"))])), timeout=0.001, poll_interval=10.0)


async def test_a_throttled_lookup_is_no_answer_yet_and_the_wait_goes_on() -> None:
    throttled = RateLimitError("429", status_code=429, retry_after=0.0)
    assert (await poll([Thing(Status("WAIT")), throttled, Thing(Status("DONE"))])).status.name == (
        "DONE"
    )


async def test_a_lookup_that_ran_out_of_time_is_no_answer_yet() -> None:
    assert (await poll([APITimeoutError("slow"), Thing(Status("DONE"))])).status.name == "DONE"


async def test_a_wait_throttled_to_the_end_is_a_timeout_caused_by_the_last_error() -> None:
    raised: list[Exception] = []

    async def always_throttled(deadline: float) -> Thing:
        raised.append(RateLimitError("429", status_code=429, retry_after=None))
        raise raised[-1]

    with pytest.raises(WaitTimeoutError, match=r"\(no status seen\)$") as info:
        await poll_with(always_throttled, timeout=0.2, poll_interval=0.01)
    assert len(raised) > 2
    assert info.value.__cause__ is raised[-1]


async def test_a_retry_after_past_the_deadline_ends_the_lookups() -> None:
    # The server asks to come back after the deadline: no lookup is made before then.
    calls = 0

    async def come_back_later(deadline: float) -> Thing:
        nonlocal calls
        calls += 1
        raise RateLimitError("429", status_code=429, retry_after=60.0)

    with pytest.raises(WaitTimeoutError):
        await poll_with(come_back_later, timeout=0.1, poll_interval=0.01)
    assert calls == 1
