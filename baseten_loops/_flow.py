"""Flow control: how fast a client sends on each route, measured from what the server accepts.

Pure arithmetic on a clock passed in (no sleeping, no I/O): the session (``_session.py``) asks
a :class:`RouteFlow` for a sending slot before each attempt and reports each answer; the flow
simulator in the tests (``tests/flowsim.py``) drives the same objects on a virtual clock.
``docs/flow-control.md`` explains the design, ``docs/design.md#flow-control`` what it was chosen
against. In short:

- **Per route.** Each route (``samplers.get``, ``deployments.logs`` ...) has its own
  :class:`RouteFlow`: a limit on one never slows another.
- **Slow start.** On a route's first use at most ``_INITIAL_WINDOW`` requests are in flight,
  one more per accepted answer (so twice as many each round trip, as TCP's slow start), until
  ``_MAX_WINDOW`` go through unthrottled. A rate-limited route then costs a dozen refused
  requests on first use, not the client's whole concurrency.
- **Nothing is paced until the server throttles** (429, or 503 with ``Retry-After``) twice in
  one round of answers: a single 429 is not a limit.
- **The limit is measured, not guessed.** A saturated token-bucket server accepts exactly its
  rate, so answers are counted in rounds (at least ``_ROUND_SECONDS`` and two round trips): far
  over the limit, the rate is cut to what the server accepted per second of the round, counting
  only the time the client was sending, never extrapolating from a young window (as TCP BBR
  paces at the measured delivery rate). When the limit is first hit the client pauses two round
  trips and restarts at half the rate the server accepted from it.
- **Near the limit**, the rate is steered so that about ``_TARGET_THROTTLED`` answers a
  second are throttled (at most a tenth of them): 0.5% at 1,000 requests per second, 5% at
  100. A few throttled answers are the price of knowing where the limit is. Clients sharing a
  limit see about the same share of their answers throttled, which is more throttled answers
  a second for the faster ones, so these slow down and the slower speed up: shares even out,
  without talking to each other, but slowly (a few throttled answers a second are a weak
  signal; the split the start produced can last a whole batch: docs/flow-control.md).
- **Probing.** After ``_CLEAN_ROUNDS`` rounds without a throttled answer while the pacing holds
  the client back, the rate grows each round: by ``_PROBE_GAIN`` while under the last measured
  limit, then gently past it and faster each clean round (flat near the last maximum, convex
  beyond, as CUBIC): a raised limit is found within a second.
- **Letting go.** When the client does not use the rate it is allowed, and that rate has grown
  well past the last measured limit without throttling, pacing stops: stray 429s leave
  nothing behind. An idle client learns nothing from its own idleness (no answers, no rounds).
- **Slots.** Requests wait in one queue per route, first come first served; the head is sent
  about ``1/rate`` after the previous actual send (dithered, so that clients sharing a limit
  do not lock into step with the server's tokens). Nothing is reserved ahead: a call that gives
  up leaves no hole, and a new rate applies at once to every waiting request.
"""

from __future__ import annotations

import collections
import logging
import math
import random
import re
from collections.abc import Callable
from typing import Any

import attrs

from ._retry import _positive, _positive_or_none

__all__ = ["FlowControl", "RouteFlow", "policy_name"]

logger = logging.getLogger("baseten_loops")

#: A round of answers lasts at least this long (seconds) and two round trips ...
_ROUND_SECONDS = 0.1
#: ... and holds at least this many answers.
_ROUND_ANSWERS = 4
#: Far over the limit (more answers throttled than accepted), a round ends after this many
#: answers and one round trip: the sooner the rate comes down, the fewer requests are refused.
_OVERLOAD_ANSWERS = 16
#: ... and this many accepted, enough to measure a rate by, or ``_OVERLOAD_CAP`` answers.
_OVERLOAD_ACCEPTED = 4
_OVERLOAD_CAP = 64
#: A round with more than this share of its answers throttled (and at least
#: ``_OVERLOAD_THROTTLED`` of them: fewer are chance at low rates) is far over the limit.
_OVERLOAD_SHARE = 0.2
_OVERLOAD_THROTTLED = 4
#: Near the limit, each client aims at this many throttled answers per second (but at most
#: ``_MAX_TARGET_SHARE`` of its answers): clients sharing a limit, who all see the same share
#: of their answers throttled, then all send at the same rate.
_TARGET_THROTTLED = 5.0
_MAX_TARGET_SHARE = 0.1
#: Answers over which the throttled share is averaged.
_SHARE_ANSWERS = 64
#: How far one round steers the rate towards the target share, at most.
_GAIN = 0.05
#: Rounds without a throttled answer, held back by the pacing, after which the rate grows by
#: ``_PROBE_GAIN`` each round (BBR probes at 1.25x).
_CLEAN_ROUNDS = 3
_PROBE_GAIN = 1.25
#: Under this share of the last measured limit, probing grows by _PROBE_GAIN at once.
_NEAR_LIMIT = 0.9
#: When the limit is first hit, pace at this share of the rate the server accepted so far.
_DRAIN = 0.5
#: The share of its rate a client must use for the pacing to count as holding it back.
_BINDING_SHARE = 0.8
#: Rounds in a row not using its rate, and growth past the last measured limit, after which
#: pacing stops.
_IDLE_ROUNDS = 3
_RELEASE_GROWTH = 1.5
#: A pause in sending longer than this (seconds) ends the round of answers before it.
_IDLE_GAP = 1.0
#: The share of answers throttled whatever the rate (``RouteFlow._noise_check``): measured
#: when the client slowed to ``_NOISE_TEST`` of its rate without that share falling by as
#: much, tolerated ``_NOISE_MARGIN`` times over, fading by ``_NOISE_DECAY`` each round.
_NOISE_TEST = 0.6
_NOISE_MIDDLE = math.sqrt(_NOISE_TEST)
_NOISE_MARGIN = 1.5
_NOISE_DECAY = 0.995
#: Slow start: requests in flight on a route's first use, one more per accepted answer, until
#: this many went through unthrottled (then the window is dropped).
_INITIAL_WINDOW = 16
_MAX_WINDOW = 1024
#: Spacing between slots varies at random by this share of ``1/rate``, either way.
_DITHER = 0.5
#: A send this late (seconds) still counts as sent at its slot (see RouteFlow._sent_at).
_CATCH_UP = 0.003
#: A slot this close (seconds) is taken at once: sub-millisecond sleeps cost more than they
#: smooth.
SLOT_TOLERANCE = 0.001


def _not_bool(_: object, attribute: Any, value: object) -> None:
    # A rate is a number, and a bool is not one (the shared checks alone would take True as 1).
    if isinstance(value, bool):
        raise ValueError(f"{attribute.name} must be a number, got {value!r}")


@attrs.frozen
class FlowControl:
    """How fast a client may send, per route, shared by every call of that client.

    The default needs no configuration: the client sends as fast as its calls ask until the
    server throttles a route (``429``, or ``503`` with ``Retry-After``), then paces that
    route's requests at the rate the server was measured to accept, probing upwards now and
    then, and stops pacing once the server stops throttling.

    Attributes:
        max_rate: Requests per second the client never exceeds on any one route, for a quota
            you know (``None``, the default: no fixed cap). Several processes sharing one
            quota: give each its share (``quota / processes``).
        adaptive: Measure and pace the rate when the server throttles (default ``True``).
            With ``False`` only ``max_rate`` (if any) paces requests, and a throttled request
            is retried on its own, with backoff.
        min_rate: Pacing never goes below this many requests per second (default 0.5), so a
            throttled route still makes progress.
        wait_for_slot: ``True`` (default): a request that the pacing holds back waits for its
            slot (as long as the call's deadline allows). ``False``: the call fails at once
            with :class:`ClientThrottledError` instead, e.g. for a web service that would
            rather answer its own caller "429, retry later" than hold the request.

    """

    max_rate: float | None = attrs.field(default=None, validator=[_not_bool, _positive_or_none])
    adaptive: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    min_rate: float = attrs.field(default=0.5, validator=[_not_bool, _positive])
    wait_for_slot: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))


class RouteFlow:
    """The pacing state of one route (or one group of routes sharing a server limit).

    Every method takes ``now`` (event-loop time, seconds), so that tests and the simulator
    drive it with a virtual clock. Not thread-safe by itself: the session uses it from one
    event loop at a time.
    """

    __slots__ = (
        "_accepted",
        "_clean",
        "_config",
        "_gap",
        "_idle",
        "_in_flight",
        "_last_logged",
        "_last_send",
        "_measure_from",
        "_measured",
        "_noise",
        "_previous_sent",
        "_rand",
        "_retry_after",
        "_round_start",
        "_sent",
        "_sent_first",
        "_sent_last",
        "_share",
        "_slowing_from",
        "_srtt",
        "_throttled",
        "_window",
        "name",
        "queue",
        "rate",
        "throttled",
        "waited",
    )

    def __init__(
        self, config: FlowControl, name: str = "", rand: Callable[[], float] = random.random
    ) -> None:
        self._config = config
        self._rand = rand
        self._gap = 1.0  # this slot's spacing, in units of 1/rate (dithered)
        #: The route (or limit policy) this flow paces, for logs and stats.
        self.name = name
        #: The pacing rate in force (requests per second), or ``None``: not paced.
        self.rate: float | None = config.max_rate
        self._last_send = -math.inf
        # The current round of answers: when it started, what it counted.
        self._round_start: float | None = None
        self._accepted = self._throttled = self._sent = 0
        # When the requests answered in this round were sent: the first and the last.
        self._sent_first, self._sent_last = math.inf, -math.inf
        self._srtt = 0.0  # smoothed round-trip time of answers
        self._measured = 0.0  # the rate measured in the last throttled round
        self._measure_from = -math.inf  # answers to requests sent before are not measured
        self._previous_sent = -math.inf  # the latest send time of an answer counted
        self._clean = 0  # rounds in a row held back by the pacing and not throttled
        self._idle = 0  # rounds in a row in which the client did not use its rate
        self._share = 0.0  # the share of answers throttled, averaged over recent rounds
        self._noise = 0.0  # the share of answers throttled whatever the rate
        # While slowing down: the rate and the throttled share it started from.
        # While slowing down: the rate it started from, then the answers since, throttled and
        # all, before and after the rate fell below the middle of the noise test.
        self._slowing_from: list[float] | None = None
        self._retry_after = 0.0  # the last Retry-After of a throttled answer, in seconds
        # Slow start: until the route has proven it is not throttled at this many requests in
        # flight, at most `_window` are (growing by one per accepted answer, so doubling each
        # round trip, as TCP's slow start). A rate-limited route then costs the client a dozen
        # throttled requests on its first use instead of its whole concurrency.
        self._window: float | None = (
            _INITIAL_WINDOW
            if config.adaptive and config.max_rate is None and config.wait_for_slot
            else None
        )
        self._in_flight = 0
        self._last_logged: float | None = None
        #: Requests waiting for a slot, first come first served (opaque tickets).
        self.queue: collections.deque[object] = collections.deque()
        #: Throttled answers met on this route so far.
        self.throttled = 0
        #: Seconds requests have waited for a slot, summed over requests.
        self.waited = 0.0

    # -- slots -----------------------------------------------------------------------------

    def next_slot(self) -> float:
        """When the next request may be sent: about ``1/rate`` after the previous actual send.

        ``inf`` while the slow-start window is full: the next answer opens it.
        """
        window = self._window
        if window is not None and self._in_flight >= window:
            return math.inf
        rate = self.rate
        if rate is None:
            return -math.inf
        return self._last_send + self._gap / rate

    def try_send(self, now: float) -> bool:
        """Send now if nobody waits and the slot is free; records the send. The hot path."""
        if self.queue:
            return False
        window = self._window
        if window is not None and self._in_flight >= window:
            return False
        rate = self.rate
        if rate is not None and now + SLOT_TOLERANCE < self._last_send + self._gap / rate:
            return False
        self._sent_at(now)
        return True

    def expected_wait(self, now: float, ahead: int | None = None) -> float:
        """Seconds a request joining the queue now should wait (``ahead``: waiting before it)."""
        rate = self.rate
        if rate is None:
            return 0.0  # the slow-start window opens within round trips: no estimate needed
        if ahead is None:
            ahead = len(self.queue)
        return max(0.0, self.next_slot() - now) + ahead / rate

    def pop_due(self, now: float) -> object | None:
        """The head of the queue if its slot has come (its send is recorded), else ``None``."""
        if not self.queue or now + SLOT_TOLERANCE < self.next_slot():
            return None
        self._sent_at(now)
        return self.queue.popleft()

    def _sent_at(self, now: float) -> None:
        # Spacing counts from the previous send, and a slot is never banked ahead. A send let
        # through a little early (SLOT_TOLERANCE) counts as sent at its slot, so that the
        # tolerance never adds up to a faster rate; and one a little late (a timer fires to
        # the millisecond at best) also counts as sent at its slot, up to _CATCH_UP late, so
        # that the lateness never adds up to a slower one. A send later than that follows a
        # pause: it counts from when it went, with nothing saved up from the pause.
        rate = self.rate
        if rate is not None:
            slot = self._last_send + self._gap / rate
            if slot - SLOT_TOLERANCE <= now <= slot + _CATCH_UP:
                now = slot
            # Dithered spacing: strictly periodic clients sharing a limit lock into phase with
            # the server's tokens, and one of them gets every 429 (seen in the simulator).
            self._gap = 1.0 + _DITHER * (2.0 * self._rand() - 1.0)
        self._last_send = now
        self._sent += 1
        if self._window is not None:
            self._in_flight += 1

    def on_lost(self) -> None:
        """A request sent that got no answer (a timeout, a dropped connection, cancelled)."""
        if self._window is not None:
            self._in_flight -= 1

    # -- answers ---------------------------------------------------------------------------

    def on_answer(
        self, now: float, sent_at: float, *, throttled: bool, retry_after: float | None = None
    ) -> bool:
        """Count an answer to a request sent at ``sent_at``; ``True`` if the rate changed.

        ``throttled``: a 429, or a 503 with ``Retry-After`` (``retry_after``: its seconds).
        """
        if not throttled and self.rate is None and self._window is None and not self._throttled:
            # The common case, unpaced and unthrottled: count it. The round's bookkeeping (its
            # end, the round-trip time) waits for the answer after the round's time is up.
            start = self._round_start
            if start is not None and now - start < _ROUND_SECONDS:
                self._accepted += 1
                return False
        if throttled and retry_after is not None:
            self._retry_after = retry_after
        rtt = now - sent_at
        self._srtt += (rtt - self._srtt) * 0.125
        if throttled:
            self.throttled += 1
        window = self._window
        opened = False
        if window is not None:
            self._in_flight -= 1
            if throttled:
                # A limit: halve the window (as TCP does on a loss) until pacing takes over.
                self._window = max(window / 2, 1.0)
            else:
                self._window = window + 1
                if window + 1 >= _MAX_WINDOW:
                    self._window = None  # no limit in sight at this concurrency
            opened = bool(self.queue)  # a waiting request may go
        if sent_at < self._measure_from:
            # Sent unpaced, before the limit was first hit: a burst, whose answers say what the
            # server's bucket held, not its rate. Not a measurement.
            return opened
        start = self._round_start
        if sent_at - self._previous_sent > _IDLE_GAP > 0 and start is not None:
            # Nothing was sent for a while before this request: a round never spans the pause
            # (an idle client learns nothing from its own idleness), so the few answers from
            # before it are dropped and a round starts with this one.
            self._accepted = self._throttled = 0
            self._sent_first, self._sent_last = math.inf, -math.inf
            start = None
        self._previous_sent = max(self._previous_sent, sent_at)
        if start is None or not (self._accepted or self._throttled):
            start = self._round_start = sent_at if start is None else max(start, sent_at)
        if throttled:
            self._throttled += 1
        else:
            self._accepted += 1
        if sent_at < self._sent_first:
            self._sent_first = sent_at
        if sent_at > self._sent_last:
            self._sent_last = sent_at
        answers = self._accepted + self._throttled
        elapsed = now - start
        if throttled and self.rate is None and self._throttled >= 2:
            # First signs of a limit: act now, before the unpaced workers send more into it.
            due = True
        elif self._throttled > self._accepted:
            # Far over the limit: act on the first dozen answers rather than a whole round.
            due = (
                answers >= _OVERLOAD_ANSWERS
                and (self._accepted >= _OVERLOAD_ACCEPTED or answers >= _OVERLOAD_CAP)
                and elapsed >= self._srtt
            )
        else:
            due = answers >= _ROUND_ANSWERS and elapsed >= max(_ROUND_SECONDS, 2 * self._srtt)
        if not due or elapsed <= 0:  # a clock too coarse to tell the answers apart: wait
            return opened
        return self._end_round(now, elapsed) or opened

    def _noise_check(
        self, old: float, new: float, target: float, throttled: int, answers: int
    ) -> float | None:
        """Tell throttling that answers the rate from throttling that does not.

        A limit throttles less as the client slows down; a flaky proxy or a server that
        refuses a share of requests whatever the rate does not. So the answers of a slowing
        down are counted in two halves (before and after the rate fell below the geometric
        middle of the test); when the client has slowed to ``_NOISE_TEST`` of the rate it
        started from and the share throttled in the second half has not fallen below
        ``_NOISE_TEST`` of the first half's, that share is noise: it is remembered (tolerated
        from then on, fading slowly) and pacing stops (``None``), as it would have had the
        noise been known when it began: a limit behind the noise throttles more than the
        noise, and starts the pacing again.

        Shares are counted over whole halves, not read from the recent average: random
        refusals make that dip below the target now and then (which would end every test
        before it could tell), and at low rates it lags the share it should compare.
        """
        episode = self._slowing_from
        if episode is None:
            if new < old:
                self._slowing_from = [old, 0.0, 0.0, 0.0, 0.0]
            return new
        rate = episode[0]
        second = 3 if old <= _NOISE_MIDDLE * rate else 1  # the half these answers belong to
        episode[second] += throttled
        episode[second + 1] += answers
        _, throttled_first, first, throttled_second, second_answers = episode
        since = (throttled_first + throttled_second) / (first + second_answers)
        if since <= target:
            self._slowing_from = None  # it answered: a limit, and the rate found it
            return new
        if new <= _NOISE_TEST * rate and first and second_answers:
            share_first = throttled_first / first
            share_second = throttled_second / second_answers
            if share_second >= _NOISE_TEST * share_first:
                self._slowing_from = None
                self._noise = since
                logger.debug(
                    "%s: %.0f%% of answers throttled whatever the rate: not a limit; "
                    "pacing stopped",
                    self.name,
                    100 * since,
                )
                return None
        return new

    def _end_round(self, now: float, elapsed: float) -> bool:
        accepted, throttled, sent = self._accepted, self._throttled, self._sent
        answers = accepted + throttled
        self._round_start = now
        self._accepted = self._throttled = self._sent = 0
        sent_first, sent_last = self._sent_first, self._sent_last
        self._sent_first, self._sent_last = math.inf, -math.inf
        config = self._config
        old = self.rate
        if not config.adaptive:
            return False
        if old is None:
            if throttled < 2 or throttled <= _NOISE_MARGIN * self._noise * answers:
                return False  # one throttled answer, or no more than the known noise: no limit
            # The limit was just hit, unpaced. What was accepted so far, per second, is a limit
            # from above (the server's bucket was full at the start): start at half of it, and
            # send nothing for two round trips, so that the answers still in flight (an echo of
            # the unpaced burst, not measured) come back first (as BBR drains after start-up).
            # The next rounds, paced, measure the limit itself.
            new = max(accepted, 1) / elapsed * _DRAIN
            self._last_send = now + 2 * self._srtt - self._gap / new
            self._measure_from = now
            self._measured = max(accepted, 1) / elapsed  # probing climbs back fast up to it
            self._window = None  # pacing takes over from the slow-start window
            self._share = 0.0
        else:
            share = throttled / answers
            if share > _OVERLOAD_SHARE and throttled >= _OVERLOAD_THROTTLED:
                # Far over the limit (it went down, or the start was too fast): what the
                # server accepted of the requests answered in the round, per second over which
                # they were sent, is the limit, or this client's share of it. Over the time they
                # were sent, not the round's: time with nothing to send (the end of a batch,
                # lookups waiting out a Retry-After) says nothing about the limit. And never
                # more than the rate that was just too fast.
                sent_over = max(sent_last - sent_first, 1.0 / old)
                self._share = _OVERLOAD_SHARE
                self._slowing_from = None  # a limit that moved: not a test of noise
                # Plus one: the next token may have been a moment away (and a round with a
                # few accepted must not make a rate of almost nothing).
                new = min((accepted + 1) / sent_over, old)
                self._measured = new
            else:
                # Near the limit: steer the share of answers throttled (averaged over about
                # _SHARE_ANSWERS answers) so that about _TARGET_THROTTLED answers a second are.
                # A few throttled answers are the price of knowing where the limit is. And
                # clients sharing a limit see about the same share of their answers
                # throttled, so the faster ones, whose share means more throttled answers a
                # second, slow down and the slower ones speed up (slowly: see the module's
                # docstring).
                weight = min(1.0, answers / _SHARE_ANSWERS)
                self._share += (share - self._share) * weight
                # Each throttled answer costs its request the server's Retry-After: the longer
                # that is, the fewer the client can afford.
                target = min(_TARGET_THROTTLED / old, _MAX_TARGET_SHARE)
                target /= max(1.0, self._retry_after)
                # Throttled answers that come whatever the rate (a flaky proxy, another
                # client's quota) are not a limit to pace for: tolerate that share.
                self._noise *= _NOISE_DECAY
                target = max(target, _NOISE_MARGIN * self._noise)
                if throttled or sent < _BINDING_SHARE * old * elapsed:
                    self._clean = 0
                else:
                    self._clean += 1
                gain = 1.0 + _GAIN * (target - self._share) / max(target, self._share)
                if not throttled:
                    gain = max(gain, 1.0)  # a clean round never slows the client down
                # Growth is what finds the limit again, at the price of throttled answers: the
                # longer the server's Retry-After, the slower the client grows.
                if gain > 1.0:
                    gain = 1.0 + (gain - 1.0) / max(1.0, self._retry_after)
                # A probe that finds the limit costs a few requests their Retry-After: the
                # longer that is, the longer the client stays clean before probing.
                beyond = self._clean - _CLEAN_ROUNDS * max(1.0, self._retry_after)
                if beyond > 0:
                    # Nothing throttled for a while: look for more, fast while under the last
                    # measured limit, then gently past it, faster each round that stays clean
                    # (as CUBIC is flat near its last maximum and convex beyond).
                    if old < _NEAR_LIMIT * self._measured:
                        probe = _PROBE_GAIN
                    else:
                        probe = min(1.0 + _GAIN * 2.0 ** (beyond - 1), _PROBE_GAIN)
                    gain = max(gain, probe)
                if sent < _BINDING_SHARE * old * elapsed and gain > 1.0:
                    # The client sends less than it may: the rate is not what holds it back.
                    # Once it has also grown well past the last measured limit without being
                    # throttled, the limit is gone (or never was: a few stray 429s): stop
                    # pacing. Not before: a client that merely has less to send (the end of
                    # a batch, lookups waiting out a Retry-After) must find the pacing in
                    # place when it sends again.
                    self._idle += 1
                    if (
                        self._idle < _IDLE_ROUNDS
                        or old < _RELEASE_GROWTH * self._measured
                        or config.max_rate is not None
                    ):
                        return False
                    self.rate = None
                    self._idle = 0
                    logger.debug("%s: not throttled any more; pacing stopped", self.name)
                    self._last_logged = None
                    return True
                self._idle = 0
                checked = self._noise_check(old, old * gain, target, throttled, answers)
                if checked is None:
                    self.rate = config.max_rate  # unpaced, or back to the rate the user set
                    self._last_logged = None
                    return True
                new = checked
        cap = config.max_rate
        new = max(new, config.min_rate)
        if cap is not None:
            new = min(new, cap)
        if old is not None and new < old:
            # Slowed down: the answers still to come to requests sent at the old pace echo
            # what was just acted on; measure only what is sent at the new one (as TCP acts
            # once per round trip).
            self._measure_from = now
        self.rate = new
        if old is None:
            logger.debug(
                "%s: throttled; pacing at %.1f requests/s, the rate the server accepted",
                self.name,
                new,
            )
            self._last_logged = new
        else:
            last = self._last_logged
            if last is None or abs(new - last) > 0.1 * last:
                logger.debug("%s: pacing now %.1f requests/s", self.name, new)
                self._last_logged = new
        return new != old


#: The name of the first policy of a ``RateLimit-Policy`` header: ``"name";q=100;w=60``.
_POLICY_NAME = re.compile(r'\s*"([!#-\[\]-~ ]{1,64})"\s*;')


def policy_name(header: str | None) -> str | None:
    """The limit policy a ``RateLimit-Policy`` header names first, or ``None``.

    The IETF draft (httpapi-ratelimit-headers, from draft 8) names each policy as a quoted
    string: ``"burst";q=100;w=60``. Earlier drafts' unnamed form (``100;w=60``), a malformed
    header, or none at all name nothing.
    """
    if not header:
        return None
    match = _POLICY_NAME.match(header)
    return None if match is None else match.group(1)
