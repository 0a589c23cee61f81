"""Client-wide flow control: how fast one client sends, learnt from the server's 429s.

Pure arithmetic on a clock passed in (no sleeping, no I/O); the session (``_session.py``) asks
:meth:`RateLimiter.reserve` before each attempt and reports each answer. The design, and why,
is in ``docs/flow-control.md``; in short:

- Nothing is limited until the server first throttles (a 429, or a 503 with Retry-After), so
  an unthrottled client pays a counter increment per request and nothing else.
- Then every request of the client takes a slot from one schedule (GCRA: slots ``1/rate``
  apart, handed out in order), so workers cannot form a herd: a retry waits for its slot like
  everybody else.
- The rate follows CUBIC, as botocore's ``adaptive`` retry mode does: on a throttle it drops to
  ``beta`` times the rate it had (or, the first time, the send rate measured over the last
  second), and then grows back along a cubic curve that is flat near the rate where the server
  last pushed back and probes beyond it only slowly. Unlike botocore, the curve is scaled so
  that the climb back takes ``_RECOVERY_SECONDS`` whatever the rate (botocore's fixed constant
  takes about 9 s to recover at 1,000 requests/s).
- Only a real limit slows the client: at least ``_THROTTLE_SHARE`` of the last second's
  requests must have been throttled (a limit throttles a growing share as the client pushes
  past it; a stray 429 from a flaky proxy does not).
- One decrease per congestion event, as TCP does per round trip: the 429s of requests that took
  their slot before the last decrease (and so went out at the old pace) report the same event
  and are not counted again. Without this a burst of 64 throttled answers would cut the rate by
  0.7^64.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import attrs

from ._retry import _positive, _positive_or_none

__all__ = ["FlowControl", "RateLimiter"]

logger = logging.getLogger("baseten_loops")

#: Width, in seconds, of the window over which send and acceptance rates are measured.
_MEASURE_WINDOW = 1.0
#: Share of the requests of the last window that must have been throttled before the client
#: slows down. A real limit throttles a growing share as the client pushes past it; a few
#: stray 429s (a flaky proxy, another client's burst) must not halve the client's speed.
_THROTTLE_SHARE = 0.1
#: A slot this close (seconds) is taken without sleeping: sub-millisecond sleeps cost more
#: than they smooth.
_SLOT_TOLERANCE = 0.002


def _not_bool(_: object, attribute: Any, value: object) -> None:
    # A rate is a number, and a bool is not one (the shared checks alone would take True as 1).
    if isinstance(value, bool):
        raise ValueError(f"{attribute.name} must be a number, got {value!r}")


@attrs.frozen
class FlowControl:
    """How fast one client may send, shared by every call of that client.

    The default needs no configuration: the client sends as fast as its calls ask until the
    server throttles it (``429``, or ``503`` with ``Retry-After``), then paces every request
    of the client to a rate it learns from those answers, and keeps probing upwards.

    Attributes:
        max_rate: Requests per second the client never exceeds, for a quota you know
            (``None``, the default: no fixed cap).
        adaptive: Learn the rate from throttled answers (default ``True``). With ``False`` the
            client only ever applies ``max_rate`` (if any) and treats a 429 per request.
        min_rate: The learnt rate never drops below this many requests per second (default
            0.5), so a throttled client still makes progress.
        beta: The fraction of the rate kept after a throttle (default 0.7, as CUBIC and
            botocore use).

    """

    max_rate: float | None = attrs.field(default=None, validator=[_not_bool, _positive_or_none])
    adaptive: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    min_rate: float = attrs.field(default=0.5, validator=[_not_bool, _positive])
    beta: float = attrs.field(
        default=0.7, validator=[attrs.validators.gt(0.0), attrs.validators.lt(1.0)]
    )


#: Seconds the rate takes to climb back to where the server last pushed back (CUBIC's K).
_RECOVERY_SECONDS = 2.0


class RateLimiter:
    """The mutable state behind a :class:`FlowControl` (one per client).

    Every method takes ``now`` (event-loop time, seconds) so that tests drive it with a
    synthetic clock.
    """

    __slots__ = (
        "_config",
        "_cubic_c",
        "_decreased_at",
        "_last_logged_rate",
        "_next_slot",
        "_rate",
        "_sent_now",
        "_sent_prev",
        "_throttled_now",
        "_throttled_prev",
        "_w_max",
        "_window_start",
        "throttled",
        "waited",
    )

    def __init__(self, config: FlowControl) -> None:
        self._config = config
        #: The learnt rate (requests/s), or ``None`` while nothing has been throttled.
        self._rate: float | None = None
        self._w_max = 0.0  # CUBIC: the rate at the last decrease
        self._decreased_at = -math.inf  # when the last decrease happened
        self._next_slot = -math.inf  # the earliest time the next request may be sent
        self._window_start = -math.inf
        self._cubic_c = 0.0  # CUBIC: W(t) = C (t - K)^3 + W_max
        self._sent_now = self._sent_prev = 0
        self._throttled_now = self._throttled_prev = 0
        self._last_logged_rate: float | None = None
        #: Throttled answers met so far.
        self.throttled = 0
        #: Seconds requests have waited for a slot, summed over requests.
        self.waited = 0.0

    def rate(self, now: float) -> float | None:
        """The rate in force at ``now`` (requests per second), or ``None`` for no limit."""
        learnt = self._rate
        if learnt is not None:
            # CUBIC: concave back up to W_max, flat around it, convex beyond (the probe).
            elapsed = now - self._decreased_at - _RECOVERY_SECONDS
            learnt = max(learnt, self._cubic_c * elapsed**3 + self._w_max)
            # Never run far ahead of what the client actually sends (an idle client must not
            # "learn" an absurd rate and then burst into the limit).
            measured = self._measured(self._sent_now, self._sent_prev, now)
            learnt = min(learnt, max(2.0 * measured, self._w_max))
        cap = self._config.max_rate
        if cap is None:
            return learnt
        return cap if learnt is None else min(cap, learnt)

    def reserve(self, now: float) -> float:
        """Take the next sending slot; return the seconds to wait for it (0: send now)."""
        self._count(now)
        self._sent_now += 1
        rate = self.rate(now)
        if rate is None:
            return 0.0
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / rate
        self._log_rate(rate)
        wait = slot - now
        if wait <= _SLOT_TOLERANCE:
            return 0.0
        self.waited += wait
        return wait

    def on_throttled(self, reserved_at: float, now: float) -> None:
        """A throttled answer: slow the whole client down.

        ``reserved_at`` is when the request took its slot (:meth:`reserve`); a request that
        took it before the last slow-down was sent at the old pace and reports the congestion
        event already acted on.
        """
        self.throttled += 1
        self._count(now)
        self._throttled_now += 1
        config = self._config
        if not config.adaptive or reserved_at <= self._decreased_at:
            return  # adaptation off, or an echo of a congestion event already acted on
        sent = self._measured(self._sent_now, self._sent_prev, now)
        throttled = self._measured(self._throttled_now, self._throttled_prev, now)
        if throttled < _THROTTLE_SHARE * sent:
            return  # a stray 429, not a limit being hit
        current = self.rate(now)
        if current is None:  # first throttle: start from what the client was really sending
            current = max(sent, config.min_rate)
        new_rate = max(config.beta * current, config.min_rate)
        self._w_max = current
        self._cubic_c = (current - new_rate) / _RECOVERY_SECONDS**3
        self._rate = new_rate
        self._decreased_at = now
        logger.debug("throttled: client rate %.1f -> %.1f requests/s", current, new_rate)
        self._last_logged_rate = new_rate

    def _count(self, now: float) -> None:
        """Roll the measurement windows forward to ``now``."""
        if self._window_start + _MEASURE_WINDOW > now:
            return
        if self._window_start + 2 * _MEASURE_WINDOW > now:
            self._sent_prev, self._throttled_prev = self._sent_now, self._throttled_now
            self._window_start += _MEASURE_WINDOW
        else:  # idle for more than a window: the past says nothing about now
            self._sent_prev = self._throttled_prev = 0
            self._window_start = now
        self._sent_now = self._throttled_now = 0

    def _measured(self, in_window: int, in_previous: int, now: float) -> float:
        """Events per second over the last ``_MEASURE_WINDOW`` seconds.

        A sliding window: the previous window counts for the part of it still covered.
        """
        into = min(max(now - self._window_start, 0.0), _MEASURE_WINDOW)
        share_of_previous = 1.0 - into / _MEASURE_WINDOW
        return (in_window + in_previous * share_of_previous) / _MEASURE_WINDOW

    def _log_rate(self, rate: float) -> None:
        last = self._last_logged_rate
        if last is None or abs(rate - last) > 0.1 * last:
            logger.debug("client rate now %.1f requests/s", rate)
            self._last_logged_rate = rate
