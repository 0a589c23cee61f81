"""An in-process fake of the Loops API, for this library's tests and for yours.

It is a real ``aiohttp.web`` server on 127.0.0.1, so your code under test goes through real
sockets, timeouts and keep-alive::

    from baseten_loops import LoopsClient
    from baseten_loops.testing import FakeLoopsServer, Reply

    async def test_my_dashboard():
        async with FakeLoopsServer() as server:
            server.add_sampler("abc123", status="BUILDING")
            server.enqueue(Reply(status=503), sampler_id="abc123")  # one failure first
            async with LoopsClient(server.api_key, base_url=server.base_url) as client:
                sampler = await client.samplers.get("abc123")

It answers ``GET /v1/loops/samplers/{id}`` like the live API (401 without the right key, 404
for an unknown sampler, JSON error bodies), and can script replies per id, script status
transitions, and inject random faults (:class:`Faults`). It counts what it saw:
:attr:`FakeLoopsServer.requests`, :attr:`~FakeLoopsServer.requests_by_id` and
:attr:`~FakeLoopsServer.peak_in_flight`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import math
import random
import string
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web

__all__ = ["FakeLoopsServer", "Faults", "RecordedRequest", "Reply", "sampler_payload"]

_ID_ALPHABET = string.ascii_lowercase + string.digits
_BASE_MODELS = ("Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B-Instruct", "mistralai/Mistral-7B-v0.3")
_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)
_BAD_GATEWAY_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


@attrs.frozen
class Reply:
    """One scripted answer, consumed by the next matching request (see ``enqueue``).

    Attributes:
        status: HTTP status to answer with.
        body: ``None`` for the normal answer (the sampler's JSON on 200, a JSON error body
            otherwise), or the exact body: ``bytes``, ``str``, or a JSON-able object.
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

    Attributes:
        error_503: A JSON 503.
        rate_limit_429: A 429 with ``Retry-After: retry_after``.
        drop_connection: The connection is closed without an answer.
        bad_gateway_502: A 502 with an HTML body, as a proxy sends.
        slow: The answer comes after ``slow_seconds`` (longer than the client's timeout).
        retry_after: The Retry-After, in seconds, of injected 429s.
        slow_seconds: How late a slow answer is.
        faulty_attempts: Faults hit only an id's first this-many requests, so every id
            eventually succeeds with enough attempts.
        seed: Seed of the fault dice, for reproducible runs.

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


@attrs.frozen
class RecordedRequest:
    """A request the server received: method, raw (still percent-encoded) path, headers."""

    method: str
    raw_path: str
    headers: Mapping[str, str]


def sampler_payload(
    sampler_id: str,
    *,
    status: str = "ACTIVE",
    base_model: str = "Qwen/Qwen3-8B",
    created_at: str | None = None,
    model_id: str | None = None,
    deployment_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A sampler object as the live API sends it (``LoopsSamplerV1`` plus live fields)."""
    payload: dict[str, Any] = {
        "id": sampler_id,
        "base_url": f"https://model-{sampler_id}.api.baseten.co/environments/production/sync/v1",
        "base_model": base_model,
        "created_at": created_at or "2026-01-02T03:04:05.123456Z",
        "model_id": model_id,
        "deployment_id": deployment_id,
        "status": {"name": status},
        "user": {"email": "trainer@example.com"},
        "instance_type": None,
        "node_count": 1,
    }
    payload.update(extra)
    return payload


class FakeLoopsServer:
    """A fake Loops API served on 127.0.0.1 (an ephemeral port unless ``port`` is given).

    Args:
        api_key: The key it accepts, as ``Bearer <key>`` or ``Api-Key <key>``.
        port: The port to bind; 0 (default) picks a free one. See :attr:`base_url`.
        faults: Random faults to inject (default: none).
        latency: Seconds every answer takes (default 0). With some latency, requests overlap
            on the server, so :attr:`peak_in_flight` shows the client's real concurrency.
        rate_limit: Requests per second admitted, as real APIs protect themselves (default
            ``None``: no limit). A token bucket refilled at this rate and holding one second's
            worth (``rate_limit_burst`` to change that); a request that finds it empty is
            answered ``429`` with ``Retry-After`` (whole seconds until a token is back, at
            least 1). Change it while serving with :meth:`set_rate_limit`.
        rate_limit_burst: Size of that bucket (default: ``rate_limit``, one second's worth).

    """

    def __init__(
        self,
        api_key: str = "test-key",
        *,
        port: int = 0,
        faults: Faults | None = None,
        latency: float = 0.0,
        rate_limit: float | None = None,
        rate_limit_burst: float | None = None,
    ) -> None:
        self.api_key = api_key
        self.latency = latency
        self.faults = faults or Faults()
        self._port = port
        self._payloads: dict[str, dict[str, Any]] = {}
        self._bodies: dict[str, bytes] = {}
        self._status_scripts: dict[str, collections.deque[str]] = {}
        self._scripted: dict[str | None, collections.deque[Reply]] = {}
        self._accepted = {f"Bearer {api_key}", f"Api-Key {api_key}"}
        self._rng = random.Random(self.faults.seed)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        #: Requests received in all.
        self.requests = 0
        #: Requests received per sampler id.
        self.requests_by_id: collections.Counter[str] = collections.Counter()
        #: Requests being handled right now, and the most there ever were at once.
        self.in_flight = 0
        self.peak_in_flight = 0
        #: Faults injected so far, by kind.
        self.faults_injected: collections.Counter[str] = collections.Counter()
        self._limiter: _TokenBucket | None = None
        self.set_rate_limit(rate_limit, burst=rate_limit_burst)
        #: Requests answered 429 by the rate limit (``rate_limit``).
        self.rate_limited = 0
        #: The most recent requests (method, raw path, headers), newest last.
        self.recorded: collections.deque[RecordedRequest] = collections.deque(maxlen=1000)

    # -- data ------------------------------------------------------------------------------

    def add_sampler(self, sampler_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Serve a sampler; ``fields`` override those of :func:`sampler_payload`.

        Returns the JSON object served (change it through this method or
        :meth:`set_status`, which keep the served bytes in step).
        """
        if sampler_id is None:
            sampler_id = self._new_id()
        payload = sampler_payload(sampler_id, **fields)
        self._payloads[sampler_id] = payload
        self._bodies.pop(sampler_id, None)
        return payload

    def add_samplers(self, count: int, *, seed: int = 0) -> list[str]:
        """Serve ``count`` generated samplers with a spread of statuses; return their ids."""
        rng = random.Random(seed)
        statuses = ["ACTIVE"] * 6 + ["SCALED_TO_ZERO", "BUILDING", "LOADING_MODEL", "FAILED"]
        ids = []
        for index in range(count):
            sampler_id = "".join(rng.choices(_ID_ALPHABET, k=8)) + f"{index:x}"
            created = _EPOCH + timedelta(minutes=index)
            self.add_sampler(
                sampler_id,
                status=rng.choice(statuses),
                base_model=rng.choice(_BASE_MODELS),
                created_at=created.isoformat().replace("+00:00", "Z"),
                model_id="".join(rng.choices(_ID_ALPHABET, k=7)),
                deployment_id="".join(rng.choices(_ID_ALPHABET, k=7)),
            )
            ids.append(sampler_id)
        return ids

    def payload(self, sampler_id: str) -> dict[str, Any]:
        """The JSON object served for ``sampler_id`` (``KeyError`` if none is)."""
        return self._payloads[sampler_id]

    def remove_sampler(self, sampler_id: str) -> None:
        """Stop serving a sampler: it answers 404 from now on."""
        self._payloads.pop(sampler_id, None)
        self._bodies.pop(sampler_id, None)

    def set_status(self, sampler_id: str, status: str) -> None:
        """Change a served sampler's status."""
        self._payloads[sampler_id]["status"] = {"name": status}
        self._bodies.pop(sampler_id, None)

    def script_statuses(self, sampler_id: str, statuses: Iterable[str]) -> None:
        """Make each lookup of ``sampler_id`` see the next status; the last one stays.

        E.g. ``["BUILDING", "LOADING_MODEL", "ACTIVE"]``.
        """
        script = collections.deque(statuses)
        if not script:
            raise ValueError("statuses must not be empty")
        if sampler_id not in self._payloads:
            self.add_sampler(sampler_id, status=script[0])
        self._status_scripts[sampler_id] = script

    def set_rate_limit(self, rate: float | None, *, burst: float | None = None) -> None:
        """Admit ``rate`` requests per second from now on (``None``: no limit).

        The bucket keeps the tokens it has (up to its new size), so a lowered limit bites at
        once, the way a quota change does on a live API.
        """
        if rate is None:
            self._limiter = None
            return
        if not rate > 0:
            raise ValueError(f"rate must be > 0, got {rate!r}")
        size = rate if burst is None else burst
        if not size >= 1:
            raise ValueError(f"burst must be >= 1, got {size!r}")
        tokens = size if self._limiter is None else min(self._limiter.tokens, size)
        self._limiter = _TokenBucket(rate, size, tokens)

    def enqueue(self, *replies: Reply, sampler_id: str | None = None) -> None:
        """Answer the next requests (for ``sampler_id``, or for any path) with ``replies``."""
        self._scripted.setdefault(sampler_id, collections.deque()).extend(replies)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: pass it as ``LoopsClient(base_url=...)``."""
        if self._base_url is None:
            raise RuntimeError("the server is not started; use 'async with' or start()")
        return self._base_url

    async def start(self) -> None:
        """Bind 127.0.0.1 and start serving."""
        app = web.Application()
        app.router.add_get("/v1/loops/samplers/{sampler_id}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._port)
        await site.start()
        port = runner.addresses[0][1]
        self._runner = runner
        self._base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        """Stop serving and close every connection."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @contextlib.contextmanager
    def serve_in_thread(self) -> Iterator[FakeLoopsServer]:
        """Serve from a background thread with its own event loop, for synchronous code.

        For testing a CLI or other blocking code::

            with FakeLoopsServer().serve_in_thread() as server:
                subprocess.run(["my-tool", "--base-url", server.base_url], check=True)

        Configure samplers and replies before the code under test runs.
        """
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="FakeLoopsServer", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result()
            try:
                yield self
            finally:
                asyncio.run_coroutine_threadsafe(self.close(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    async def __aenter__(self) -> FakeLoopsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- handling --------------------------------------------------------------------------

    def _new_id(self) -> str:
        return "".join(self._rng.choices(_ID_ALPHABET, k=10))

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self._record(request)
        return _json_error(404, "not_found", f"no route for {request.method} {request.path}")

    def _record(self, request: web.Request) -> None:
        self.recorded.append(RecordedRequest(request.method, request.raw_path, request.headers))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            self._record(request)
            sampler_id = request.match_info["sampler_id"]
            self.requests_by_id[sampler_id] += 1
            if self.latency:
                await asyncio.sleep(self.latency)
            if request.headers.get("Authorization") not in self._accepted:
                return _json_error(401, "unauthorized", "Invalid or missing API key")
            limited = self._rate_limited()
            if limited is not None:
                return limited
            reply = self._next_reply(sampler_id)
            if reply is not None:
                return await self._scripted_reply(request, sampler_id, reply)
            return self._sampler_reply(sampler_id)
        finally:
            self.in_flight -= 1

    def _rate_limited(self) -> web.Response | None:
        """The 429 for a request over the rate limit, or ``None`` to serve it."""
        limiter = self._limiter
        if limiter is None:
            return None
        wait = limiter.take(asyncio.get_running_loop().time())
        if wait == 0.0:
            return None
        self.rate_limited += 1
        response = _json_error(429, "rate_limited", "Too many requests; slow down")
        response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return response

    def _next_reply(self, sampler_id: str) -> Reply | None:
        for key in (sampler_id, None):
            queue = self._scripted.get(key)
            if queue:
                return queue.popleft()
        faults = self.faults
        if self.requests_by_id[sampler_id] > faults.faulty_attempts:
            return None
        dice = self._rng.random()
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
                self.faults_injected[kind] += 1
                return reply
            dice -= probability
        return None

    async def _scripted_reply(
        self, request: web.Request, sampler_id: str, reply: Reply
    ) -> web.StreamResponse:
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.drop or reply.raw is not None:
            transport = request.transport
            assert transport is not None
            if reply.raw is not None:
                transport.write(reply.raw)
                transport.close()  # flushes what was written, then closes
            else:
                transport.abort()
            raise asyncio.CancelledError  # aiohttp treats this as "client went away"
        if reply.body is None:
            if reply.status == 200:
                response = self._sampler_reply(sampler_id)
            else:
                response = _json_error(reply.status, "scripted", f"scripted {reply.status}")
        else:
            body = reply.body
            if isinstance(body, str):
                body = body.encode()
            elif not isinstance(body, bytes | bytearray):
                body = json.dumps(body).encode()
            content_type = "text/html" if body.lstrip().startswith(b"<") else "application/json"
            response = web.Response(status=reply.status, body=body, content_type=content_type)
        response.headers.update(reply.headers)
        return response

    def _sampler_reply(self, sampler_id: str) -> web.Response:
        script = self._status_scripts.get(sampler_id)
        if script:
            self.set_status(sampler_id, script[0])
            if len(script) > 1:
                script.popleft()
        body = self._bodies.get(sampler_id)
        if body is None:
            payload = self._payloads.get(sampler_id)
            if payload is None:
                return _json_error(404, "not_found", f"Sampler {sampler_id} not found")
            body = self._bodies[sampler_id] = json.dumps({"sampler": payload}).encode()
        return web.Response(body=body, content_type="application/json")


class _TokenBucket:
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


def _json_error(status: int, code: str, message: str) -> web.Response:
    body = json.dumps({"error": code, "message": message}).encode()
    return web.Response(status=status, body=body, content_type="application/json")
