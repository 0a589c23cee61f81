"""What the fake server answers instead of a route's own answer (private).

Scripted replies (:class:`Reply`, filed by ``FakeLoopsServer.enqueue``), random faults
(:class:`Faults`) and the rate limit's token bucket. ``Reply`` and ``Faults`` are public
through ``baseten_loops.testing``.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

# The package's table; the package itself never imports this module, so this is no cycle.
from . import ROUTES, ROUTES_BY_OPERATION
from ._routing import Route

_BAD_GATEWAY_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


@attrs.frozen
class Reply:
    """One scripted answer, consumed by the next matching request (see ``enqueue``).

    Attributes:
        status: HTTP status to answer with.
        body: ``None`` for the normal answer (the route's own answer on 200, a JSON error
            body otherwise), or the exact body: ``bytes``, ``str``, or a JSON-able object.
        headers: Extra response headers (e.g. ``{"Retry-After": "2"}``).
        delay: Seconds to wait before answering (to trip client timeouts).
        drop: Close the connection without answering.
        raw: Bytes written to the socket as they are (status line, headers, body), after
            which the connection is closed: for malformed or truncated HTTP.

    """

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    delay: float = 0.0
    drop: bool = False
    raw: bytes | None = None


@attrs.frozen
class Faults:
    """Random faults, each a probability per attempt, on each id's first ``faulty_attempts``.

    Faults hit every route. A request is counted per object id in its path (sampler, run,
    checkpoint...); a route without an id (lists, creates) is counted per route.

    Attributes:
        error_503: A JSON 503.
        rate_limit_429: A 429 with ``Retry-After: retry_after``.
        drop_connection: The connection is closed without an answer.
        bad_gateway_502: A 502 with an HTML body, as a proxy sends.
        slow: The answer comes after ``slow_seconds`` (longer than the client's timeout).
        retry_after: The Retry-After, in seconds, of injected 429s.
        slow_seconds: How late a slow answer is.
        faulty_attempts: Faults hit only an id's (or route's) first this-many requests, so
            every request eventually succeeds with enough attempts.
        seed: Seed of the fault dice and of generated ids, for reproducible runs.

    """

    error_503: float = 0.0
    rate_limit_429: float = 0.0
    drop_connection: float = 0.0
    bad_gateway_502: float = 0.0
    slow: float = 0.0
    retry_after: float = 1.0
    slow_seconds: float = 5.0
    faulty_attempts: int = 3
    seed: int | None = None


def roll_fault(faults: Faults, rng: random.Random, attempts: int) -> tuple[str, Reply] | None:
    """The fault (its kind and reply) to inject into a request, or ``None`` to serve it.

    ``attempts`` is how many requests its id (or route) has had, this one included: past
    ``faults.faulty_attempts`` no dice are rolled.
    """
    if attempts > faults.faulty_attempts:
        return None
    dice = rng.random()
    for kind, probability, reply in (
        ("503", faults.error_503, Reply(status=503)),
        (
            "429",
            faults.rate_limit_429,
            Reply(status=429, headers={"Retry-After": f"{faults.retry_after:g}"}),
        ),
        ("drop", faults.drop_connection, Reply(drop=True)),
        ("502", faults.bad_gateway_502, Reply(status=502, body=_BAD_GATEWAY_HTML)),
        ("slow", faults.slow, Reply(delay=faults.slow_seconds)),
    ):
        if dice < probability:
            return kind, reply
        dice -= probability
    return None


class ScriptedReplies:
    """The replies waiting for requests, filed by what they match: an id, a path, a route, any."""

    def __init__(self) -> None:
        self._queues: dict[tuple[str, str] | None, collections.deque[Reply]] = {}

    def add(self, replies: Iterable[Reply], *, sampler_id: str | None, route: str | None) -> None:
        """File ``replies`` as ``FakeLoopsServer.enqueue`` describes."""
        if sampler_id is not None and route is not None:
            raise ValueError("pass sampler_id or route, not both")
        key = ("id", sampler_id) if sampler_id is not None else _reply_key(route)
        self._queues.setdefault(key, collections.deque()).extend(replies)

    def take(self, method: str, path: str, route: Route, object_id: str | None) -> Reply | None:
        """The most specific reply waiting: by id, then by concrete path, then route, then any."""
        keys: list[tuple[str, str] | None] = [
            ("path", f"{method} {path}"),
            ("route", route.key),
            None,
        ]
        if object_id is not None:
            keys.insert(0, ("id", object_id))
        for key in keys:
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
        return None


def route_key(route: str) -> str:
    """The ``"METHOD /template"`` key of the operation ``route`` names (``ValueError`` if none).

    ``route`` is an operation id or ``"METHOD /template"``, as ``enqueue(route=...)`` takes.
    """
    key = _reply_key(route)
    if key is None or key[0] != "route":
        raise ValueError(f"{route!r} names no operation (a template or an operation id)")
    return key[1]


def _reply_key(route: str | None) -> tuple[str, str] | None:
    """Where ``enqueue(route=...)`` files its replies; ``ValueError`` if no operation matches."""
    if route is None:
        return None
    if " " not in route:
        if route not in ROUTES_BY_OPERATION:
            raise ValueError(f"no operation {route!r}")
        return ("route", ROUTES_BY_OPERATION[route].key)
    method, _, path = route.partition(" ")
    method, path = method.upper(), path.strip()
    for known in ROUTES:
        if known.method == method and known.template == path:
            return ("route", known.key)
    if any(known.method == method and known.pattern.match(path) for known in ROUTES):
        return ("path", f"{method} {path}")
    raise ValueError(f"no operation serves {method} {path}")


class TokenBucket:
    """The fake's rate limit: ``rate`` tokens a second, at most ``size`` saved up."""

    __slots__ = ("rate", "size", "tokens", "updated")

    def __init__(self, rate: float, size: float, tokens: float) -> None:
        self.rate = rate
        self.size = size
        self.tokens = tokens
        self.updated: float | None = None

    def take(self, now: float) -> float:
        """Take a token: 0.0 if there was one, else the seconds until there is."""
        if self.updated is not None:
            self.tokens = min(self.size, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate
