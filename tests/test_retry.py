from __future__ import annotations

import math
from datetime import datetime, timezone
from email.utils import format_datetime

import attrs
import pytest

from baseten_loops import (
    APIConnectionError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ResponseTooLargeError,
    RetryBudget,
    RetryPolicy,
)
from baseten_loops._retry import (
    RetryState,
    TokenBucket,
    backoff_delay,
    parse_retry_after,
    retry_delay,
)


def test_policy_defaults_are_finite_and_budgeted() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 4
    assert policy.budget == RetryBudget(
        capacity=500, retry_cost=5, timeout_cost=10, success_refund=1
    )


def test_policy_is_frozen_and_compares_as_data() -> None:
    policy = RetryPolicy(max_attempts=2)
    assert policy == RetryPolicy(max_attempts=2)
    assert "max_attempts=2" in repr(policy)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        policy.max_attempts = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"initial_backoff": -1},
        {"max_backoff": math.inf},
        {"jitter": 1.5},
        {"max_retry_after": math.nan},
        {"deadline": 60},  # removed: LoopsClient(timeout=...) is the whole call's limit
        {"initial_backoff": "1"},
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=3.0, jitter=0.0)
    assert [backoff_delay(policy, n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_spreads_waits_below_the_exponential_value() -> None:
    policy = RetryPolicy(initial_backoff=1.0, jitter=0.5)
    assert backoff_delay(policy, 1, rand=0.0) == 1.0
    assert backoff_delay(policy, 1, rand=0.999) == pytest.approx(0.5005)
    waits = {backoff_delay(policy, 2) for _ in range(50)}
    assert len(waits) > 1
    assert all(1.0 <= w <= 2.0 for w in waits)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        ("0", 0.0),
        (" 1.5 ", 1.5),
        ("99999999", 99999999.0),
        (None, None),
        ("", None),
        ("-1", None),
        ("abc", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_http_date() -> None:
    now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc).timestamp()
    future = format_datetime(datetime(2026, 11, 26, 12, 0, 7, tzinfo=timezone.utc), usegmt=True)
    past = format_datetime(datetime(2020, 1, 1, tzinfo=timezone.utc), usegmt=True)
    assert parse_retry_after(future, now=now) == 7.0
    assert parse_retry_after(past, now=now) == 0.0


def test_retry_after_date_without_zone_is_ignored() -> None:
    assert parse_retry_after("Thu, 26 Nov 2026 12:00:07 -0000") is None


def test_bucket_pays_for_retries_until_empty() -> None:
    bucket = TokenBucket(RetryBudget(capacity=12, retry_cost=5, timeout_cost=10))
    assert bucket.try_spend(after_timeout=False) == 5
    assert bucket.try_spend(after_timeout=False) == 5
    assert bucket.try_spend(after_timeout=False) is None
    assert bucket.tokens == 2


def test_timeouts_cost_more() -> None:
    bucket = TokenBucket(RetryBudget(capacity=15, retry_cost=5, timeout_cost=10))
    assert bucket.try_spend(after_timeout=True) == 10
    assert bucket.try_spend(after_timeout=True) is None
    assert bucket.try_spend(after_timeout=False) == 5


def test_successes_refill_the_bucket_up_to_capacity() -> None:
    bucket = TokenBucket(RetryBudget(capacity=10, retry_cost=5, success_refund=1))
    cost = bucket.try_spend(after_timeout=False)
    bucket.refund(None)
    assert bucket.tokens == 6
    bucket.refund(cost)
    assert bucket.tokens == 10
    bucket.refund(None)
    assert bucket.tokens == 10


# -- retry_delay: the decision after a failed attempt ---------------------------------------


def throttled(retry_after: float | None) -> RateLimitError:
    return RateLimitError("429", status_code=429, retry_after=retry_after)


def state(attempt: int, deadline: float | None = 60.0, throttled_attempts: int = 0) -> RetryState:
    current = RetryState(deadline)
    current.attempt, current.throttled = attempt, throttled_attempts
    return current


@pytest.mark.parametrize("attempt", [1_025, 10**6, 10**12])
def test_backoff_never_overflows(attempt: int) -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=8.0, jitter=0.0)
    assert backoff_delay(policy, attempt) == 8.0


def test_a_thousand_throttled_attempts_still_get_a_decision() -> None:
    policy = RetryPolicy()
    current = state(5000, throttled_attempts=4999)
    decision = retry_delay(policy, current, throttled(None), paced=False, now=0.0, rand=0.5)
    assert decision == (backoff_delay(policy, 5000, rand=0.5), False)


@pytest.mark.parametrize("retry_after", [0.0, None])
def test_an_unpaced_429_without_a_wait_still_backs_off(retry_after: float | None) -> None:
    # FlowControl(adaptive=False) and Retry-After 0 (or a date in the past, or none): without
    # a backoff one call would send thousands of requests until its deadline.
    policy = RetryPolicy(initial_backoff=0.5, jitter=0.0)
    waits = [
        retry_delay(
            policy, state(n, throttled_attempts=n), throttled(retry_after), paced=False, now=0.0
        )
        for n in (1, 2, 3, 8)
    ]
    assert [w[0] for w in waits if w] == [0.5, 1.0, 2.0, 8.0]


def test_a_paced_429_without_a_wait_goes_back_to_the_pacing() -> None:
    decision = retry_delay(
        RetryPolicy(), state(3, throttled_attempts=3), throttled(0.0), paced=True, now=0.0
    )
    assert decision == (0.0, False)  # its slot is its wait; 429s do not pay the budget


def test_a_429_never_retries_sooner_than_asked() -> None:
    policy = RetryPolicy(jitter=1.0)
    for rand in (0.0, 0.5, 0.999):
        decision = retry_delay(policy, state(1), throttled(2.0), paced=True, now=0.0, rand=rand)
        assert decision is not None
        assert 2.0 <= decision[0] <= 2.2


def test_a_long_retry_after_is_capped_and_the_call_tries_once_more_before_its_deadline() -> None:
    policy = RetryPolicy(max_retry_after=30, jitter=0.0)
    # 100 s asked, 30 honoured: the call tries again in 30 s...
    assert retry_delay(policy, state(1, deadline=60.0), throttled(100), paced=True, now=0.0) == (
        30.0,
        False,
    )
    # ... and when even that would pass its deadline, once more 1 s before it, not never.
    assert retry_delay(policy, state(2, deadline=60.0), throttled(100), paced=True, now=31.0) == (
        28.0,
        False,
    )
    # With less than a second left there is no last try.
    assert retry_delay(policy, state(3), throttled(100), paced=True, now=59.5) is None


def test_a_backoff_past_the_deadline_is_not_started() -> None:
    error = InternalServerError("503", status_code=503)
    policy = RetryPolicy(initial_backoff=10, jitter=0.0)
    assert retry_delay(policy, state(1, deadline=5.0), error, paced=False, now=0.0) is None


def test_429s_count_as_attempts_without_a_deadline_or_with_one_attempt() -> None:
    assert (
        retry_delay(
            RetryPolicy(max_attempts=2), state(2, None, 1), throttled(0.1), paced=True, now=0.0
        )
        is None
    )
    assert (
        retry_delay(
            RetryPolicy(max_attempts=1), state(1, 60.0, 1), throttled(0.1), paced=True, now=0.0
        )
        is None
    )
    decision = retry_delay(
        RetryPolicy(max_attempts=2), state(2, 60.0, 1), throttled(0.1), paced=True, now=0.0
    )
    assert decision is not None and decision[1] is False


def test_only_retryable_failures_are_retried() -> None:
    policy = RetryPolicy()
    not_found = NotFoundError("404", status_code=404)
    assert retry_delay(policy, state(1), not_found, paced=False, now=0.0) is None
    assert retry_delay(policy, state(1), ResponseTooLargeError("big"), paced=False, now=0.0) is None
    dropped = retry_delay(policy, state(1), APIConnectionError("dropped"), paced=False, now=0.0)
    assert dropped is not None and dropped[1] is True  # an outage's retries pay the budget
