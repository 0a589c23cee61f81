"""A deterministic simulator of bulk lookups against rate-limited servers, on a virtual clock.

It drives the library's own sans-I/O pieces, the pacing of :class:`~baseten_loops._flow.RouteFlow`
and the retry arithmetic of :func:`~baseten_loops._retry.retry_delay`, against modelled servers
(token buckets of ``rate`` tokens per second holding ``burst``, 429 + ``Retry-After`` beyond
it), with the bulk engine's scheduling modelled around them: ``concurrency`` workers, a throttled
id handed back and resumed at its ``Retry-After`` while the worker looks up others, requests
queueing for their route's slot. A scenario of thousands of ids runs in a fraction of a second,
the same every time, so its figures (virtual wall time against the oracle's, requests per id, ids
lost) can be asserted in ordinary tests.

Two peers run the same workers and retries with another rate controller:
- the **oracle**: plain pacing at the server's true rate, told of every change at once (what
  ``aiolimiter.AsyncLimiter(burst, burst / rate)`` does in ``benchmarks/ratelimit.py``);
- **botocore**: the ``adaptive`` retry mode's controller, built from botocore's own
  ``CubicCalculator``, ``RateClocker`` and ``TokenBucket`` on the same virtual clock.

    python -m tests.flowsim            # the table of every scenario, for docs/flow-control.md
"""

from __future__ import annotations

import collections
import heapq
import itertools
import math
import random
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import attrs

from baseten_loops import FlowControl, RateLimitError, RetryPolicy
from baseten_loops._flow import RouteFlow
from baseten_loops._retry import RetryState, retry_delay

# -- the clock ------------------------------------------------------------------------------


class Clock:
    """Virtual time and the events scheduled on it, run in order (ties in scheduling order)."""

    def __init__(self) -> None:
        self.now = 0.0
        self._events: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._events, (max(when, self.now), next(self._order), action))

    def run(self, until: float = math.inf) -> None:
        events = self._events
        while events and events[0][0] <= until:
            when, _, action = heapq.heappop(events)
            self.now = when
            action()


# -- servers --------------------------------------------------------------------------------


@attrs.define
class Limit:
    """One token bucket of a server (a route's, or the whole API's)."""

    rate: float
    burst: float
    tokens: float = attrs.field(default=math.nan)
    updated: float = 0.0

    def __attrs_post_init__(self) -> None:
        if math.isnan(self.tokens):
            self.tokens = self.burst  # a server starts with a full bucket

    def take(self, now: float) -> float:
        """0.0 if a token was taken, else the seconds until one is there."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def set_rate(self, now: float, rate: float) -> None:
        self.take(now)  # bring the tokens up to date at the old rate
        self.tokens = min(self.tokens + 1.0, self.burst)  # take() took one: give it back
        self.rate = rate


#: What a throttled answer says in ``Retry-After``: given the exact wait, the seconds (or None).
RetryAfterPolicy = Callable[[float, float], float | None]
RETRY_AFTER: dict[str, RetryAfterPolicy] = {
    "1": lambda exact, now: 1.0,
    "exact": lambda exact, now: exact,
    "none": lambda exact, now: None,
    # An HTTP date has whole seconds: the client reads it against its own wall clock.
    "date": lambda exact, now: math.ceil(now + exact + 0.37) - (now + 0.37),
    "30": lambda exact, now: 30.0,
    "0": lambda exact, now: 0.0,
}


@attrs.define
class Server:
    """Limits by key (``"*"``: every route), a Retry-After policy, latency, scripted 429s."""

    limits: dict[str, Limit]
    retry_after: str = "1"
    latency: float = 0.002
    jitter: float = 0.002
    #: Answer these request numbers (counted from 1, all clients) with 429, Retry-After 0.
    stray: frozenset[int] = frozenset()
    #: Answer this share of requests, at random, with 429 and Retry-After 1 (a flaky proxy).
    noise: float = 0.0
    requests: int = 0
    throttled: int = 0
    rng: random.Random = attrs.field(factory=lambda: random.Random(7))

    def limit_for(self, route: str) -> Limit | None:
        return self.limits.get(route, self.limits.get("*"))

    def answer(self, route: str, now: float) -> float | bool | None:
        """True: accepted; otherwise the Retry-After of a 429 (None: no header)."""
        self.requests += 1
        if self.requests in self.stray:
            self.throttled += 1
            return 0.0
        if self.noise and self.rng.random() < self.noise:
            self.throttled += 1
            return 1.0
        limit = self.limit_for(route)
        if limit is None:
            return True
        wait = limit.take(now)
        if not wait:
            return True
        self.throttled += 1
        return RETRY_AFTER[self.retry_after](wait, now)


# -- rate controllers -----------------------------------------------------------------------


class Controller(Protocol):
    """What the workers ask of a route's pacing (``RouteFlow``'s interface)."""

    rate: float | None
    queue: collections.deque[object]

    def try_send(self, now: float) -> bool: ...
    def next_slot(self) -> float: ...
    def expected_wait(self, now: float, ahead: int | None = None) -> float: ...
    def pop_due(self, now: float) -> object | None: ...
    def on_answer(
        self, now: float, sent_at: float, *, throttled: bool, retry_after: float | None = None
    ) -> bool: ...


class Oracle:
    """Paced at the true limit, told of every change: a token bucket like the server's."""

    def __init__(self, limit: Limit | None) -> None:
        self._truth = limit
        self._tokens = limit.burst if limit else 0.0
        self._updated = 0.0
        self.queue: collections.deque[object] = collections.deque()

    @property
    def rate(self) -> float | None:
        return self._truth.rate if self._truth else None

    def _refill(self, now: float) -> None:
        truth = self._truth
        assert truth is not None
        self._tokens = min(truth.burst, self._tokens + (now - self._updated) * truth.rate)
        self._updated = now

    def try_send(self, now: float) -> bool:
        if self.queue:
            return False
        return self._take(now)

    def _take(self, now: float) -> bool:
        if self._truth is None:
            return True
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def next_slot(self) -> float:
        truth = self._truth
        if truth is None:
            return -math.inf
        return self._updated + max(0.0, 1.0 - self._tokens) / truth.rate

    def expected_wait(self, now: float, ahead: int | None = None) -> float:
        return 0.0  # the oracle knows its waits end in time

    def pop_due(self, now: float) -> object | None:
        if self.queue and self._take(now):
            return self.queue.popleft()
        return None

    def on_answer(
        self, now: float, sent_at: float, *, throttled: bool, retry_after: float | None = None
    ) -> bool:
        return False


class Botocore:
    """botocore's ``adaptive`` mode: its CUBIC rate and its send-rate clock on our clock."""

    def __init__(self, clock: Clock) -> None:
        from botocore.retries.adaptive import RateClocker
        from botocore.retries.bucket import TokenBucket
        from botocore.retries.throttling import CubicCalculator

        class BotoClock:
            def current_time(self) -> float:
                return clock.now

            def sleep(self, amount: float) -> None:  # pragma: no cover - never blocks here
                raise AssertionError("the simulator never sleeps")

        boto_clock = BotoClock()
        self._clock = boto_clock
        self._cubic = CubicCalculator(starting_max_rate=0.5, start_time=0.0)
        self._rate_clocker = RateClocker(boto_clock)
        self._bucket = TokenBucket(max_rate=0.5, clock=boto_clock)
        self._enabled = False
        self.queue: collections.deque[object] = collections.deque()

    @property
    def rate(self) -> float | None:
        return self._bucket.max_rate if self._enabled else None

    def try_send(self, now: float) -> bool:
        if self.queue:
            return False
        return self._take()

    def _take(self) -> bool:
        if not self._enabled:
            return True
        from botocore.exceptions import CapacityNotAvailableError

        try:
            return bool(self._bucket.acquire(block=False))
        except CapacityNotAvailableError:
            return False

    def next_slot(self) -> float:
        if not self._enabled:
            return -math.inf
        missing = max(0.0, 1.0 - self._bucket.available_capacity)
        return self._clock.current_time() + missing / self._bucket.max_rate

    def expected_wait(self, now: float, ahead: int | None = None) -> float:
        if not self._enabled:
            return 0.0
        ahead = len(self.queue) if ahead is None else ahead
        return max(0.0, self.next_slot() - now) + ahead / self._bucket.max_rate

    def pop_due(self, now: float) -> object | None:
        if self.queue and self._take():
            return self.queue.popleft()
        return None

    def on_answer(
        self, now: float, sent_at: float, *, throttled: bool, retry_after: float | None = None
    ) -> bool:
        # ClientRateLimiter.on_receiving_response, line for line (it reads no Retry-After).
        measured = self._rate_clocker.record()
        if not throttled:
            new_rate = self._cubic.success_received(now)
        else:
            used = measured if not self._enabled else min(measured, self._bucket.max_rate)
            new_rate = self._cubic.error_received(used, now)
            self._enabled = True
        old = self._bucket.max_rate
        self._bucket.max_rate = min(new_rate, 2.0 * measured)
        return bool(self._enabled and self._bucket.max_rate != old)


# -- clients --------------------------------------------------------------------------------


@attrs.define
class Outcome:
    """What one client's batch came to."""

    ids: int
    found: int = 0
    lost: int = 0
    requests: int = 0
    throttled: int = 0
    finished: float = math.nan
    started: float = math.nan
    first_send: float = math.nan
    #: ``(time, rate)`` each time the sampled route's pacing rate changed.
    rates: list[tuple[float, float | None]] = attrs.field(factory=list)


class Client:
    """One process's bulk lookup: ``get_many(ids, concurrency=...)`` on one route.

    Workers take a due resumed id first, else a new one; each attempt queues for its route's
    slot, is answered after the server's latency, and a throttled one is handed back with its
    ``Retry-After`` (or retried through the pacing at once) exactly as the library does.
    """

    def __init__(
        self,
        clock: Clock,
        server: Server,
        controller: Controller,
        *,
        ids: int,
        concurrency: int,
        route: str = "samplers.get",
        policy: RetryPolicy | None = None,
        deadline: float | None = 60.0,
        start: float = 0.0,
        cpu_per_request: float = 0.0001,
        seed: int = 0,
    ) -> None:
        self.clock, self.server, self.controller = clock, server, controller
        self.route = route
        self.policy = policy or RetryPolicy()
        self.deadline = deadline  # each lookup's, from when it starts (the client's timeout)
        self.cpu = cpu_per_request
        self.random = random.Random(seed)
        self.outcome = Outcome(ids)
        self._pending: Iterator[int] = iter(range(ids))
        self._later: list[tuple[float, int, int, RetryState]] = []
        self._order = itertools.count()
        self._busy_until = 0.0  # the client's CPU: one request prepared at a time
        self._last_rate: float | str | None = "unset"
        self._dispatch_at = math.inf
        self._left = ids
        self.outcome.started = start
        for _ in range(min(concurrency, ids)):
            clock.at(start, self._next)

    # A worker's loop, as callbacks.

    def _next(self) -> None:
        now = self.clock.now
        later = self._later
        if later and later[0][0] <= now:
            _, _, item, state = heapq.heappop(later)
        else:
            item_or_none = next(self._pending, None)
            if item_or_none is None:
                if later:
                    self.clock.at(later[0][0], self._next)
                return
            item = item_or_none
            state = RetryState(None if self.deadline is None else now + self.deadline)
        self._attempt(item, state)

    def _attempt(self, item: int, state: RetryState) -> None:
        state.attempt += 1
        controller, now = self.controller, self.clock.now
        if controller.try_send(now):
            self._send(item, state)
            return
        wait = controller.expected_wait(now)
        if state.deadline is not None and now + wait >= state.deadline:
            self._lost()  # APITimeoutError: the slot would come after the deadline
            self.clock.at(now, self._next)  # and the worker takes the next id
            return
        controller.queue.append((item, state))
        self._dispatch()

    def _dispatch(self) -> None:
        """Release the head of the queue at its slot (the session's head waiter does this)."""
        controller, now = self.controller, self.clock.now
        while True:
            head = controller.pop_due(now)
            if head is None:
                break
            item, state = head  # type: ignore[misc]
            self._send(item, state)
        # Waiters whose deadline passed leave the queue (their slot is not held).
        queue = controller.queue
        while queue and queue[0][1].deadline is not None and queue[0][1].deadline <= now:  # type: ignore[index]
            queue.popleft()
            self._lost()
            self.clock.at(now, self._next)
        if queue:
            when = max(controller.next_slot(), now + 1e-6)
            if when < self._dispatch_at or self._dispatch_at <= now:
                self._dispatch_at = when
                self.clock.at(when, self._dispatch_due)

    def _dispatch_due(self) -> None:
        if self.clock.now >= self._dispatch_at:
            self._dispatch_at = math.inf
        self._dispatch()

    def _send(self, item: int, state: RetryState) -> None:
        now = self.clock.now
        self._busy_until = max(self._busy_until, now) + self.cpu
        sent_at = self._busy_until
        if not self.outcome.requests:
            self.outcome.first_send = sent_at
        self.outcome.requests += 1
        latency = self.server.latency + self.random.random() * self.server.jitter
        arrival = sent_at + latency / 2

        def arrive() -> None:
            answer = self.server.answer(self.route, arrival)
            self.clock.at(sent_at + latency, lambda: self._answered(item, state, sent_at, answer))

        self.clock.at(arrival, arrive)

    def _answered(
        self, item: int, state: RetryState, sent_at: float, answer: float | bool | None
    ) -> None:
        now, controller = self.clock.now, self.controller
        accepted = answer is True
        retry_after = answer if not accepted and isinstance(answer, float) else None
        if controller.on_answer(now, sent_at, throttled=not accepted, retry_after=retry_after):
            self._dispatch()  # a new rate applies to the waiting requests at once
        self._record_rate()
        if accepted:
            self.outcome.found += 1
            self._done()
            self.clock.at(now, self._next)
            return
        self.outcome.throttled += 1
        state.throttled += 1
        retry_after = None if answer is None else float(answer)  # type: ignore[arg-type]
        error = RateLimitError("429", status_code=429, retry_after=retry_after)
        decision = retry_delay(
            self.policy, state, error, paced=controller.rate is not None, now=now, rand=0.5
        )
        if decision is None:
            self._lost()  # the worker goes on below
        elif decision[0] > 0:  # handed back to the engine, resumed when due
            heapq.heappush(self._later, (now + decision[0], next(self._order), item, state))
        else:
            self._attempt(item, state)
            return
        self.clock.at(now, self._next)

    def _lost(self) -> None:
        self.outcome.lost += 1
        self._done()

    def _done(self) -> None:
        self._left -= 1
        if not self._left:
            self.outcome.finished = self.clock.now

    def _record_rate(self) -> None:
        rate = self.controller.rate
        if rate != self._last_rate:
            self._last_rate = rate
            self.outcome.rates.append((self.clock.now, rate))


# -- scenarios ------------------------------------------------------------------------------


@attrs.frozen
class Scenario:
    """A server, its limit over time, and the clients that share it."""

    name: str
    rate: float
    burst: float
    ids: int
    concurrency: int
    retry_after: str = "1"
    #: ``(fraction of all ids answered, new rate)``: the limit changes when that share is done.
    changes: tuple[tuple[float, float], ...] = ()
    #: The limit alternates between ``rate`` and this every ``period`` seconds.
    alternate: float | None = None
    period: float = 3.0
    processes: int = 1

    def ideal(self) -> float:
        """Seconds the limit allows for all ids, tokens in the bucket at the start included."""
        if self.alternate is not None:
            done, t, rates = 0.0, 0.0, itertools.cycle([self.rate, self.alternate])
            budget = self.ids - self.burst
            for rate in rates:
                step = min(self.period, (budget - done) / rate)
                done += step * rate
                t += step
                if done >= budget - 1e-9:
                    return t
        total, start, rate = 0.0, 0.0, self.rate
        bounds = [*self.changes, (1.0, 0.0)]
        budget_burst = self.burst
        for fraction, new_rate in bounds:
            count = (fraction - start) * self.ids
            total += max(0.0, count - budget_burst) / rate
            budget_burst = 0.0
            start, rate = fraction, new_rate
        return total


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("1000/s burst 1000", 1000, 1000, 8000, 256),
        Scenario("1000/s burst 100", 1000, 100, 8000, 256),
        Scenario("1000/s burst 10", 1000, 10, 8000, 256),
        Scenario("100/s burst 10", 100, 10, 1500, 64),
        Scenario("400/s RA 1", 400, 40, 3000, 64, retry_after="1"),
        Scenario("400/s RA exact", 400, 40, 3000, 64, retry_after="exact"),
        Scenario("400/s RA none", 400, 40, 3000, 64, retry_after="none"),
        Scenario("400/s RA date", 400, 40, 3000, 64, retry_after="date"),
        Scenario("400/s RA 30", 400, 40, 3000, 64, retry_after="30"),
        Scenario("800 -> 200/s", 800, 80, 4000, 64, changes=((0.5, 200),)),
        Scenario("200 -> 800/s", 200, 20, 4000, 64, changes=((0.5, 800),)),
        Scenario("600 <-> 250/s every 3 s", 600, 60, 6000, 64, alternate=250),
        Scenario("2 processes, 400/s", 400, 40, 4000, 64, processes=2),
        Scenario("4 processes, 400/s", 400, 40, 4000, 64, processes=4),
        Scenario("8 processes, 400/s", 400, 40, 4000, 64, processes=8),
    )
}


@attrs.frozen
class Result:
    """One scenario run by one controller: figures over all its clients."""

    scenario: Scenario
    peer: str
    wall: float
    requests_per_id: float
    lost: int
    finishes: tuple[float, ...]
    rates: list[tuple[float, float | None]]

    @property
    def spread(self) -> float:
        """Latest finish over earliest, minus 1 (0: all clients finished together)."""
        return max(self.finishes) / min(self.finishes) - 1


def make_controller(
    peer: str, clock: Clock, limit: Limit | None, flow: FlowControl, seed: int = 0
) -> Controller:
    if peer == "baseten_loops":
        return RouteFlow(flow, "samplers.get", rand=random.Random(seed).random)
    if peer == "oracle":
        return Oracle(limit)
    if peer == "botocore":
        return Botocore(clock)
    raise ValueError(peer)


def run(
    scenario: Scenario,
    peer: str = "baseten_loops",
    *,
    flow: FlowControl | None = None,
    seed: int = 1,
) -> Result:
    """Run ``scenario`` with ``peer``'s rate controller on a fresh clock and server."""
    clock = Clock()
    limit = Limit(scenario.rate, scenario.burst)
    server = Server({"*": limit}, retry_after=scenario.retry_after)
    flow = flow or FlowControl()
    processes = scenario.processes
    per_process = scenario.ids // processes
    clients = []
    for number in range(processes):
        # The oracle of several processes: each told its share of the quota.
        share = Limit(scenario.rate / processes, max(1.0, scenario.burst / processes))
        truth = share if processes > 1 else limit
        controller = make_controller(peer, clock, truth, flow, seed * 1000 + number)
        clients.append(
            Client(
                clock,
                server,
                controller,
                ids=per_process,
                concurrency=scenario.concurrency,
                start=number * 0.001,  # processes start a millisecond apart
                seed=seed * 1000 + number,
                # botocore waits for its token bucket as long as it takes, and gives up after
                # max_attempts: no deadline, and attempts enough never to lose an id.
                policy=RetryPolicy(max_attempts=1000) if peer == "botocore" else None,
                deadline=None if peer == "botocore" else 60.0,
            )
        )
    _schedule_limit_changes(scenario, clock, clients, limit, peer)
    clock.run(until=600.0)
    outcomes = [client.outcome for client in clients]
    ids = sum(o.ids for o in outcomes)
    return Result(
        scenario,
        peer,
        wall=max(o.finished for o in outcomes),
        requests_per_id=sum(o.requests for o in outcomes) / ids,
        lost=sum(o.lost for o in outcomes),
        finishes=tuple(o.finished for o in outcomes),
        rates=outcomes[0].rates,
    )


def _schedule_limit_changes(
    scenario: Scenario, clock: Clock, clients: Sequence[Client], limit: Limit, peer: str
) -> None:
    def set_rate(rate: float) -> None:
        limit.set_rate(clock.now, rate)
        if peer == "oracle":
            for client in clients:
                client._dispatch()  # the oracle is told at once

    if scenario.alternate is not None:
        rates = itertools.cycle([scenario.alternate, scenario.rate])
        for step in range(1, 200):
            rate = next(rates)
            clock.at(step * scenario.period, lambda rate=rate: set_rate(rate))
    for fraction, rate in scenario.changes:
        threshold = fraction * scenario.ids

        def watch(threshold: float = threshold, rate: float = rate) -> None:
            if sum(c.outcome.found for c in clients) >= threshold:
                set_rate(rate)
            else:
                clock.at(clock.now + 0.005, watch)

        clock.at(0.0, watch)


# -- the review's probes ----------------------------------------------------------------------


def batch_after(clock: Clock, server: Server, controller: Controller, **settings: Any) -> Outcome:
    """Run one more ``get_many`` on ``controller`` (state kept), from now until it is done."""
    client = Client(clock, server, controller, start=clock.now, **settings)
    clock.run(until=clock.now + 600.0)
    return client.outcome


def stray_429_then_a_batch(ids: int = 200) -> tuple[float, float]:
    """Seconds a batch takes after one stray 429 on an idle client, and without it."""
    times = []
    for stray in (frozenset({1}), frozenset()):
        clock = Clock()
        server = Server({}, stray=stray)
        route = RouteFlow(FlowControl(), "samplers.get", rand=random.Random(0).random)
        batch_after(clock, server, route, ids=1, concurrency=1)  # the one call, answered 429
        clock.now += 5.0  # the client idles
        outcome = batch_after(clock, server, route, ids=ids, concurrency=16)
        times.append(outcome.finished - outcome.started)
    return times[0], times[1]


def scattered_429s_in_a_batch(ids: int = 1000) -> tuple[float, float]:
    """Seconds a batch takes with 4 stray 429s among its first 16 requests, and without."""
    times = []
    for stray in (frozenset({3, 5, 9, 12}), frozenset()):
        clock = Clock()
        server = Server({}, stray=stray)
        route = RouteFlow(FlowControl(), "samplers.get", rand=random.Random(0).random)
        outcome = batch_after(clock, server, route, ids=ids, concurrency=64)
        times.append(outcome.finished)
    return times[0], times[1]


def abandoned_slots() -> tuple[Outcome, float]:
    """400 ids, 32 at a time, 2 s each, against 20/s; then the limit lifts: one more lookup.

    Returns the batch and how long the lookup after it waited for its slot.
    """
    clock = Clock()
    limit = Limit(20, 5)
    server = Server({"*": limit})
    route = RouteFlow(FlowControl(), "samplers.get", rand=random.Random(0).random)
    batch = batch_after(clock, server, route, ids=400, concurrency=32, deadline=2.0)
    server.limits.clear()
    clock.now += 1.0
    after = batch_after(clock, server, route, ids=1, concurrency=1)
    return batch, after.first_send - after.started


def random_429s(share: float = 0.05, ids: int = 3000, seed: int = 0) -> tuple[Outcome, Outcome]:
    """A batch against an unlimited server that answers ``share`` of requests 429 at random.

    Returns it, and the same batch paced by the oracle (which never slows down).
    """
    outcomes = []
    for peer in ("baseten_loops", "oracle"):
        clock = Clock()
        server = Server({}, noise=share, rng=random.Random(7 + seed))
        controller = make_controller(peer, clock, None, FlowControl(), seed)
        outcomes.append(batch_after(clock, server, controller, ids=ids, concurrency=64))
    return outcomes[0], outcomes[1]


def logs_throttled_beside_samplers(tailers: int = 4) -> tuple[float, float]:
    """Seconds 300 sampler lookups take while ``tailers`` tail logs limited to 1/s, and alone.

    Each route has its own RouteFlow, as in the library: the logs' limit paces the logs only.
    """
    times = []
    for count in (tailers, 0):
        clock = Clock()
        server = Server({"deployments.logs": Limit(1, 1)})
        logs = RouteFlow(FlowControl(), "deployments.logs", rand=random.Random(0).random)
        samplers = RouteFlow(FlowControl(), "samplers.get", rand=random.Random(1).random)
        for number in range(count):
            Client(
                clock, server, logs, ids=30, concurrency=1, route="deployments.logs", seed=number
            )
        lookups = Client(clock, server, samplers, ids=300, concurrency=16, start=2.0, seed=9)
        clock.run(until=2.0 + 60.0)
        times.append(lookups.outcome.finished - 2.0)
    return times[0], times[1]


# -- rate over time ------------------------------------------------------------------------------


def trace(
    scenario: Scenario, *, seed: int = 1, every: float = 0.05, until: float | None = None
) -> list[tuple[float, float | None, float]]:
    """``(time, pacing rate or None, the server's limit)`` every ``every`` seconds of a run."""
    clock = Clock()
    limit = Limit(scenario.rate, scenario.burst)
    server = Server({"*": limit}, retry_after=scenario.retry_after)
    route = make_controller("baseten_loops", clock, limit, FlowControl(), seed * 1000)
    client = Client(
        clock, server, route, ids=scenario.ids, concurrency=scenario.concurrency, seed=seed * 1000
    )
    _schedule_limit_changes(scenario, clock, [client], limit, "baseten_loops")
    samples: list[tuple[float, float | None, float]] = []

    def sample() -> None:
        samples.append((clock.now, route.rate, limit.rate))
        if math.isnan(client.outcome.finished) and (until is None or clock.now < until):
            clock.at(clock.now + every, sample)

    clock.at(0.0, sample)
    clock.run(until=600.0)
    return samples


def stray_trace(every: float = 0.01) -> list[tuple[float, float | None, float]]:
    """The rate over a 1,000-id batch whose first 16 requests include 4 stray 429s."""
    clock = Clock()
    server = Server({}, stray=frozenset({3, 5, 9, 12}))
    route = RouteFlow(FlowControl(), "samplers.get", rand=random.Random(0).random)
    client = Client(clock, server, route, ids=1000, concurrency=64)
    samples: list[tuple[float, float | None, float]] = []

    def sample() -> None:
        samples.append((clock.now, route.rate, math.inf))
        if math.isnan(client.outcome.finished):
            clock.at(clock.now + every, sample)

    clock.at(0.0, sample)
    clock.run(until=600.0)
    return samples


def plot(samples: Sequence[tuple[float, float | None, float]], *, height: int = 12) -> str:
    """A text chart: ``*`` the pacing rate, ``-`` the server's limit, ``^`` not paced."""
    top = max(
        [r for _, r, _ in samples if r is not None]
        + [lim for _, _, lim in samples if lim < math.inf]
        + [1.0]
    )
    top *= 1.1
    rows = [[" "] * len(samples) for _ in range(height)]
    for column, (_, rate, limit) in enumerate(samples):
        if limit < math.inf:
            rows[min(height - 1, int(limit / top * height))][column] = "-"
        if rate is None:
            rows[height - 1][column] = "^"
        else:
            rows[min(height - 1, int(rate / top * height))][column] = "*"
    lines = []
    for number, row in enumerate(reversed(rows)):
        level = top * (height - number) / height
        lines.append(f"{level:7.0f} |" + "".join(row))
    end = samples[-1][0]
    lines.append(" " * 8 + "+" + "-" * len(samples))
    lines.append(" " * 9 + f"0 s{'':>{max(0, len(samples) - 10)}}{end:.1f} s")
    return "\n".join(lines)


def table(results: Sequence[tuple[Result, Result, Result]]) -> str:
    """A Markdown table: each scenario with our client, the oracle and botocore's mode."""
    lines = [
        "| scenario | ids @ conc | oracle s | baseten_loops s | / oracle | req/id | lost "
        "| botocore s | / oracle | req/id | lost |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ours, oracle, boto in results:
        s = ours.scenario
        lines.append(
            f"| {s.name} | {s.ids:,} @ {s.concurrency} | {oracle.wall:.1f} | {ours.wall:.1f} "
            f"| {ours.wall / oracle.wall:.2f} | {ours.requests_per_id:.3f} | {ours.lost} "
            f"| {boto.wall:.1f} | {boto.wall / oracle.wall:.2f} | {boto.requests_per_id:.3f} "
            f"| {boto.lost} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] = ()) -> None:
    if list(argv) == ["--plots"]:
        print("cold start, 1,000/s burst 100 (first 2 s):")
        print(plot(trace(SCENARIOS["1000/s burst 100"], every=0.025, until=2.0)))
        print("\n4 stray 429s among the first 16 requests of 1,000 (unlimited server):")
        print(plot(stray_trace()))
        print("\nthe limit drops from 800/s to 200/s half-way:")
        print(plot(trace(SCENARIOS["800 -> 200/s"], every=0.2)))
        print("\nthe limit rises from 200/s to 800/s half-way:")
        print(plot(trace(SCENARIOS["200 -> 800/s"], every=0.2)))
        return
    names = list(argv) or list(SCENARIOS)
    results = [
        (run(SCENARIOS[n]), run(SCENARIOS[n], "oracle"), run(SCENARIOS[n], "botocore"))
        for n in names
    ]
    print(table(results))


if __name__ == "__main__":
    main(sys.argv[1:])
