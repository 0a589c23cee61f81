"""The one polling loop behind every ``wait_until_...``: fetch, report changes, stop or sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from ._exceptions import (
    APIConnectionError,
    APITimeoutError,
    LoopsError,
    RateLimitError,
    WaitTimeoutError,
)
from ._sansio import check_timeout, scrub

__all__ = ["check_wait_arguments", "poll_until"]


class _Status(Protocol):
    @property
    def name(self) -> str: ...


class _HasStatus(Protocol):
    @property
    def status(self) -> _Status: ...


Watched = TypeVar("Watched", bound=_HasStatus)
#: Seconds added to twice the slowest lookup so far to tell how long before the deadline the
#: last lookup must start (room for the event loop's own delays in waking the wait up).
_LEAD_MARGIN = 0.05


def check_wait_arguments(timeout: float, poll_interval: float) -> None:
    """Refuse a wait that could never end or would spin (before any I/O).

    Raises:
        ConfigurationError: ``timeout`` or ``poll_interval`` is not a finite number of seconds
            > 0 (also a ``ValueError``).

    """
    check_timeout(timeout)
    check_timeout(poll_interval, "poll_interval")


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
    secrets: tuple[str, ...] = (),
    timeout_error: Callable[[str, Watched | None], WaitTimeoutError] | None = None,
) -> Watched:
    """Fetch until ``reached``; raise ``failure``'s error at once; time out after ``timeout``.

    The last lookup is made at the deadline (started early enough to be done by it: twice the
    slowest lookup so far, plus 50 ms), so an object that gets there in the wait's last
    interval is seen; a wait that times out raises at its deadline. A lookup
    that is throttled (:class:`RateLimitError`) or runs out of time (:class:`APITimeoutError`)
    is no answer yet: the wait goes on (no sooner than the server's ``Retry-After``), and
    times out at its deadline with that error as the ``__cause__``. Any other error of a
    lookup is raised as it is, except a connection error at the deadline, which is a timeout.

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
        secrets: Blanked out of the server's text (the status) that messages quote.
        timeout_error: Builds the :class:`WaitTimeoutError` from the message and the last
            object seen; by default one with ``resource_id`` and ``last_seen``.

    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Watched | None = None
    slowest = 0.0  # the longest a lookup took so far
    last_call = False

    def timed_out() -> WaitTimeoutError:
        if last is not None:
            seen = f"last status {scrub(str(last.status.name), secrets)}"
        else:
            seen = "no status seen"
        message = f"{what} {object_id!r} did not become {goal} within {timeout:g}s ({seen})"
        if timeout_error is not None:
            return timeout_error(message, last)
        return WaitTimeoutError(message, resource_id=object_id, last_seen=last)

    while True:
        started = loop.time()
        error: LoopsError | None = None
        try:
            current = await fetch(deadline)
        except (RateLimitError, APITimeoutError) as exc:  # no answer yet; the wait goes on
            error = exc
        except APIConnectionError as exc:
            if loop.time() < deadline:
                raise
            error = exc
        now = loop.time()
        slowest = max(slowest, now - started)
        if error is None:
            if on_status is not None and (last is None or last.status != current.status):
                on_status(current)
            last = current
            if reached(current):
                return current
            failure_error = failure(current)
            if failure_error is not None:
                raise failure_error
        if not last_call:
            # A lookup must be done by the deadline: it starts at least `lead` before it.
            lead = 2 * slowest + _LEAD_MARGIN
            remaining = deadline - now
            retry_after = getattr(error, "retry_after", None) or 0.0  # when to come back
            pause = max(poll_interval, retry_after)
            if pause + lead < remaining:
                await asyncio.sleep(pause)
                continue
            if retry_after + lead < remaining:
                # No time for another interval: the next lookup is the last, made as late as
                # it can be and still be done by the deadline.
                last_call = True
                await asyncio.sleep(remaining - lead)
                continue
        # Out of time: the wait ends at its deadline, not before.
        await asyncio.sleep(max(0.0, deadline - loop.time()))
        raise timed_out() from error
