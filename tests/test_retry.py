from __future__ import annotations

import math
from datetime import datetime, timezone
from email.utils import format_datetime

import attrs
import pytest

from baseten_loops import RetryBudget, RetryPolicy
from baseten_loops._retry import TokenBucket, backoff_delay, parse_retry_after


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
