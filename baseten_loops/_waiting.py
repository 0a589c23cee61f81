"""The one polling loop behind every ``wait_until_...``: fetch, report changes, stop or sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from ._exceptions import APIConnectionError, LoopsError, WaitTimeoutError

__all__ = ["check_wait_arguments", "poll_until"]


class _Status(Protocol):
    @property
    def name(self) -> str: ...


class _HasStatus(Protocol):
    @property
    def status(self) -> _Status: ...


Watched = TypeVar("Watched", bound=_HasStatus)


def check_wait_arguments(timeout: float, poll_interval: float) -> None:
    """Refuse a wait that could never end or would spin (before any I/O)."""
    if not (timeout > 0 and poll_interval > 0):
        raise ValueError("timeout and poll_interval must be > 0")


async def poll_until(
    fetch: Callable[[float], Awaitable[Watched]],
    *,
    what: str,
    object_id: str,
    goal: str,
    reached: Callable[[Watched], bool],
    failure: Callable[[Watched], LoopsError | None],
    timeout: float,
    poll_interval: float,
    on_status: Callable[[Watched], object] | None,
    timeout_error: Callable[[str, Watched | None], WaitTimeoutError] | None = None,
) -> Watched:
    """Fetch until ``reached``; raise ``failure``'s error at once; time out after ``timeout``.

    Args:
        fetch: Fetches the object; takes the loop time by which it must be done.
        what: What is waited for, for messages (``"sampler"``).
        object_id: Its id, for messages and the timeout error.
        goal: The status awaited, for messages (``"ACTIVE"``).
        reached: Whether the fetched object is where it should be.
        failure: The error to raise for an object that will never get there, else ``None``.
        timeout: Seconds to wait in all; every fetch is bounded by it too.
        poll_interval: Seconds between fetches.
        on_status: Called with the object when its status changes (and on the first fetch).
        timeout_error: Builds the :class:`WaitTimeoutError` from the message and the last
            object seen; by default one with ``resource_id`` and ``last_seen``.

    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Watched | None = None

    def timed_out() -> WaitTimeoutError:
        seen = f"last status {last.status.name}" if last is not None else "no status seen"
        message = f"{what} {object_id!r} did not become {goal} within {timeout:g}s ({seen})"
        if timeout_error is not None:
            return timeout_error(message, last)
        return WaitTimeoutError(message, resource_id=object_id, last_seen=last)

    while True:
        try:
            current = await fetch(deadline)
        except APIConnectionError as exc:
            if loop.time() < deadline:
                raise
            raise timed_out() from exc
        if on_status is not None and (last is None or last.status != current.status):
            on_status(current)
        last = current
        if reached(current):
            return current
        error = failure(current)
        if error is not None:
            raise error
        remaining = deadline - loop.time()
        if remaining <= poll_interval:
            if remaining > 0:
                await asyncio.sleep(remaining)
            raise timed_out()
        await asyncio.sleep(poll_interval)
