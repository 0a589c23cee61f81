"""Retry configuration and the pure arithmetic behind it: backoff, Retry-After, retry budget.

Nothing here does I/O; the session (``_session.py``) asks these functions what to do.
"""

from __future__ import annotations

import math
import random
import re
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import attrs

from ._exceptions import APIConnectionError, APIStatusError, LoopsError

if TYPE_CHECKING:
    from ._response import ResponseRecord

__all__ = [
    "Deferred",
    "RetryBudget",
    "RetryPolicy",
    "RetryState",
    "backoff_delay",
    "parse_retry_after",
    "retry_delay",
]

#: Statuses worth asking again: the server (or a proxy) may answer differently next time.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def _positive(_: object, attribute: Any, value: object) -> None:
    if not (isinstance(value, int | float) and value > 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number > 0, got {value!r}")


def _non_negative(_: object, attribute: Any, value: object) -> None:
    if not (isinstance(value, int | float) and value >= 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def _positive_or_none(_: object, attribute: Any, value: object) -> None:
    if value is not None:
        _positive(_, attribute, value)


@attrs.frozen
class RetryBudget:
    """A token bucket shared by all calls of one client, bounding retries during an outage.

    Modelled on botocore's standard retry quota. The bucket starts full with ``capacity``
    tokens. A retry after an error status or connection error costs ``retry_cost`` tokens; a
    retry after a timeout costs ``timeout_cost`` (timeouts are the most expensive failures to
    pile on). A call that succeeds without retrying earns ``success_refund`` tokens back; one
    that succeeds after retrying returns what its last retry cost. When the bucket cannot pay
    for a retry, the call fails at once with the error it has.

    Why these defaults: with 500 tokens and a cost of 5, a client facing a total outage makes at
    most about 100 retries in all before it stops retrying (2,000 lookups at ``max_attempts=6``
    send about 1.05 requests per id instead of 6). A degraded service where a quarter of the
    attempts fail keeps the bucket near full, because successes pay back what retries spend.
    """

    capacity: int = attrs.field(default=500, validator=attrs.validators.ge(1))
    retry_cost: int = attrs.field(default=5, validator=attrs.validators.ge(0))
    timeout_cost: int = attrs.field(default=10, validator=attrs.validators.ge(0))
    success_refund: int = attrs.field(default=1, validator=attrs.validators.ge(0))


@attrs.frozen
class RetryPolicy:
    """How a lookup is retried. Frozen: build one and share it between clients.

    Retried: connection errors, timeouts, 408, 429, 500, 502, 503, 504. Never retried: other
    statuses, TLS/certificate errors, and a 2xx body that fails validation.

    Attributes:
        max_attempts: Total tries per call; 1 means no retry. Default 4.
        initial_backoff: Seconds before the first retry; doubles each retry. Default 0.5.
        max_backoff: Cap on the exponential backoff, in seconds. Default 8.
        jitter: Fraction of each backoff that is random (0 = none, 1 = "full jitter"), so that
            many clients do not retry in step. Default 0.5: a wait lies in [50%, 100%] of the
            exponential value.
        max_retry_after: Longest server ``Retry-After`` honoured, in seconds; a longer one is
            capped to this. Default 30.
        budget: The client-wide :class:`RetryBudget`, or ``None`` to retry without one.

    """

    max_attempts: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    initial_backoff: float = attrs.field(default=0.5, validator=_non_negative)
    max_backoff: float = attrs.field(default=8.0, validator=_non_negative)
    jitter: float = attrs.field(
        default=0.5, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)]
    )
    max_retry_after: float = attrs.field(default=30.0, validator=_non_negative)
    budget: RetryBudget | None = attrs.field(factory=RetryBudget)


def backoff_delay(policy: RetryPolicy, retry_number: int, rand: float | None = None) -> float:
    """Seconds to wait before retry number ``retry_number`` (1 for the first retry).

    Exponential (``initial_backoff * 2**(n-1)``, capped at ``max_backoff``) with the last
    ``jitter`` fraction of it random. ``rand`` in [0, 1) may be passed for tests. Any
    ``retry_number`` works: the exponent is bounded, so a call retried a thousand times (429s
    do not use up attempts) cannot overflow.
    """
    exponent = min(max(retry_number - 1, 0), _MAX_DOUBLINGS)
    base = min(policy.max_backoff, policy.initial_backoff * 2.0**exponent)
    if rand is None:
        rand = random.random()
    return base * (1.0 - policy.jitter * rand)


#: Backoff doublings past which the cap has long been reached (2**64 times any start).
_MAX_DOUBLINGS = 64


class RetryState:
    """Where one call stands in its retries; the bulk calls carry it across a deferral.

    Attributes:
        attempt: Requests sent so far by this call.
        throttled: How many of their answers were 429s (they do not use up attempts while the
            call has a deadline: see :func:`retry_delay`).
        last_cost: Budget tokens the last retry cost (refunded on success), or ``None``.
        deadline: Event-loop time by which the call must be done (the client's or the call's
            ``timeout`` from its start), or ``None``.
        record: What a ``with_raw_response`` call records, or ``None`` (see
            ``HTTPSession.request``); kept here so that a deferred lookup keeps it.

    """

    __slots__ = ("attempt", "deadline", "last_cost", "record", "throttled")

    def __init__(self, deadline: float | None, record: ResponseRecord | None = None) -> None:
        self.attempt = 0
        self.throttled = 0
        self.last_cost: int | None = None
        self.deadline = deadline
        self.record = record


class Deferred(Exception):  # a signal between two layers, not an error
    """A throttled request of a bulk call, to be tried again at ``not_before`` (loop time).

    Raised by ``HTTPSession.request(defer=True)`` instead of sleeping, caught by the bulk
    engine (``_bulk.py``), which looks up other ids meanwhile and then resumes the call with
    its ``state``. It never reaches the user.
    """

    def __init__(self, not_before: float, state: RetryState) -> None:
        super().__init__(not_before)
        self.not_before = not_before
        self.state = state


def retry_delay(
    policy: RetryPolicy,
    state: RetryState,
    error: LoopsError,
    *,
    paced: bool,
    now: float,
    rand: float | None = None,
) -> tuple[float, bool] | None:
    """``(seconds to wait, whether the retry pays the retry budget)``, or ``None``: give up.

    ``error`` is the failure of attempt ``state.attempt``; ``paced`` says whether the route is
    paced (:mod:`._flow`), in which case a throttled request needs no backoff of its own: it
    waits out the server's ``Retry-After`` (0 if none) and then its slot. Rules:

    - Retried: connection errors and timeouts, and the statuses of :data:`RETRYABLE_STATUSES`.
    - A 429 is the server setting the pace, not failing: while the call has a deadline (a
      ``timeout``: the client's, by default) and ``max_attempts`` > 1, it neither uses up
      attempts nor pays the budget; the deadline bounds it instead. Its wait is its
      ``Retry-After`` (capped at ``max_retry_after``); without one, or with 0 or a date in the
      past, a route that is not paced backs off exponentially, so one call can never flood
      the server.
    - A wait that would end past the deadline is not started (the call fails with the error it
      has), except for a throttled answer: then the call tries once more shortly before its
      deadline, so a long ``Retry-After`` costs the call time, not its result.
    """
    if isinstance(error, APIStatusError):
        if error.status_code not in RETRYABLE_STATUSES:
            return None
        retry_after = error.retry_after
        throttle = error.status_code == 429 or (
            error.status_code == 503 and retry_after is not None
        )
    elif isinstance(error, APIConnectionError):
        retry_after = None
        throttle = False
    else:  # a body too large, a closed client: asking again cannot help
        return None
    deadline = state.deadline
    # 429s are left out of the count only where a deadline bounds them, and never when the
    # policy says no retry at all.
    pacing_exempt = deadline is not None and policy.max_attempts > 1
    exempt = pacing_exempt and isinstance(error, APIStatusError) and error.status_code == 429
    counted = state.attempt - state.throttled if pacing_exempt else state.attempt
    if not exempt and counted >= policy.max_attempts:
        return None
    if rand is None:
        rand = random.random()
    if retry_after:  # > 0: never earlier than asked; a little later, so clients spread out
        wait = min(retry_after, policy.max_retry_after) * (1.0 + 0.1 * policy.jitter * rand)
    elif throttle and paced:
        wait = 0.0  # the route's pacing spaces the retry
    else:
        wait = backoff_delay(policy, state.attempt, rand)
    if deadline is not None and now + wait >= deadline:
        remaining = deadline - now
        if not throttle or remaining <= _LAST_TRY_MARGIN:
            return None
        # A throttled request tries once more just before the deadline instead of giving up.
        wait = remaining - _LAST_TRY_MARGIN
    return wait, not exempt


#: How long before its deadline a throttled call makes its last try (time for the answer).
_LAST_TRY_MARGIN = 1.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for, or ``None`` when absent or unusable.

    Accepts delta-seconds (``"2"``, ``"1.5"``) and HTTP dates, written in ASCII only: other
    digits (``"١٢"``), ``"1_0"``, exponents, signs, ``inf`` and ``nan`` are unusable (``None``:
    fall back to backoff). A date in the past means 0.
    """
    if not value:
        return None
    value = value.strip()
    if not value.isascii():  # int() and float() would read Arabic-Indic and other digits
        return None
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


#: RFC 9110 delta-seconds (``1*DIGIT``), and a decimal fraction, which some servers send.
_DELTA_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class TokenBucket:
    """The mutable state of a :class:`RetryBudget` (one per client)."""

    __slots__ = ("_budget", "tokens")

    def __init__(self, budget: RetryBudget) -> None:
        self._budget = budget
        self.tokens = budget.capacity

    def try_spend(self, *, after_timeout: bool) -> int | None:
        """Take the cost of one retry; return it, or ``None`` when the bucket cannot pay."""
        cost = self._budget.timeout_cost if after_timeout else self._budget.retry_cost
        if cost > self.tokens:
            return None
        self.tokens -= cost
        return cost

    def refund(self, last_retry_cost: int | None) -> None:
        """Credit a success: the last retry's cost, or ``success_refund`` if none was paid."""
        amount = self._budget.success_refund if last_retry_cost is None else last_retry_cost
        self.tokens = min(self._budget.capacity, self.tokens + amount)
