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

It serves every ``/loops`` operation of the API with state, like the live service: sessions,
runs, trainers and samplers can be created and appear in lists; a created sampler comes up
through statuses; checkpoints and deployments are listed, paged and deactivated. Requests are
validated (401 without the right key, 404 for an unknown id, 400/422 JSON error bodies for bad
input). It can script replies for any route, script status transitions and inject random faults
(:class:`Faults`), and it records what it saw: :attr:`FakeLoopsServer.recorded`,
:attr:`~FakeLoopsServer.requests_by_id`, :attr:`~FakeLoopsServer.peak_in_flight`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.utils
import itertools
import json
import math
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web

from ._fake import ROUTES, ROUTES_BY_OPERATION, checkpoints, deployments, runs, samplers, sessions
from ._fake._checks import ApiError, Call, parse_body, parse_query
from ._fake._faults import Faults, Reply, ScriptedReplies, TokenBucket, roll_fault, route_key
from ._fake._routing import Route
from ._fake._state import BASE_MODELS, ID_ALPHABET, FakeState, FileSpec
from ._fake._thread import ServingThread
from ._fake.samplers import sampler_payload

__all__ = ["FakeLoopsServer", "Faults", "RecordedRequest", "Reply", "sampler_payload"]

_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)


@attrs.frozen
class RecordedRequest:
    """A request the server received.

    Attributes:
        method: The HTTP method.
        raw_path: The request target as sent: still percent-encoded, with the query string.
        headers: The request headers (left out of the repr: they hold the API key).
        path: The decoded path, without the query string.
        query: The query parameters (the first value of each name).
        body: The raw request body (``b""`` when there was none).
        route: The operation it matched, as ``"METHOD /template"`` (e.g.
            ``"POST /v1/loops/runs"``), or ``None`` for an unknown path.

    """

    method: str
    raw_path: str
    headers: Mapping[str, str] = attrs.field(repr=False)  # the key is in there
    path: str = ""
    query: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""
    route: str | None = None

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when there was no body."""
        return json.loads(self.body) if self.body else None


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
            answered ``429`` with the ``Retry-After`` that ``retry_after`` says. Change it
            while serving, or limit one route only, with :meth:`set_rate_limit`.
        rate_limit_burst: Size of that bucket (default: ``rate_limit``, one second's worth).
        retry_after: What a rate-limited 429 says in ``Retry-After``: ``"ceil"`` (default:
            whole seconds until a token is back, at least 1), ``"exact"`` (those seconds with
            a fraction), ``"date"`` (an HTTP date), ``"none"`` (no header), or a number of
            seconds to always say (``30``, ``0``).
        sampler_statuses: The statuses a sampler created through the API goes through, one
            per ``polls_per_status`` lookups (``GET /v1/loops/samplers/{id}``); the last stays.
        deployment_statuses: The same for the Loops deployment a created run or trainer gets.
        polls_per_status: How many lookups see each status before the next one.

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
        retry_after: str | float = "ceil",
        sampler_statuses: Sequence[str] = ("BUILDING", "DEPLOYING", "ACTIVE"),
        deployment_statuses: Sequence[str] = ("CREATED", "DEPLOYING", "RUNNING"),
        polls_per_status: int = 1,
    ) -> None:
        self.api_key = api_key
        self.latency = latency
        self.faults = faults or Faults()
        self._port = port
        self._state = FakeState(
            seed=self.faults.seed,
            sampler_statuses=sampler_statuses,
            deployment_statuses=deployment_statuses,
            polls_per_status=polls_per_status,
        )
        self._scripted = ScriptedReplies()
        self._accepted = {f"Bearer {api_key}", f"Api-Key {api_key}"}
        self._rng = random.Random(self.faults.seed)
        self._runner: web.AppRunner | None = None
        #: The tasks answering requests now, to end at close (see :meth:`close`).
        self._answering: set[asyncio.Task[Any]] = set()
        self._base_url: str | None = None
        #: Requests received in all.
        self.requests = 0
        #: Requests received per object id in the path (sampler, run, checkpoint...).
        self.requests_by_id: collections.Counter[str] = collections.Counter()
        #: Requests received per operation, as ``"METHOD /template"``.
        self.requests_by_route: collections.Counter[str] = collections.Counter()
        #: Requests being handled right now, and the most there ever were at once.
        self.in_flight = 0
        self.peak_in_flight = 0
        #: Faults injected so far, by kind.
        self.faults_injected: collections.Counter[str] = collections.Counter()
        # The rate limits: the whole API's (key None) and single routes' (key: route.key).
        self._limiters: dict[str | None, TokenBucket] = {}
        self.set_rate_limit(rate_limit, burst=rate_limit_burst)
        self.retry_after = retry_after
        #: Requests answered 429 by the rate limits (``rate_limit``, :meth:`set_rate_limit`).
        self.rate_limited = 0
        #: Those 429s per operation, as ``"METHOD /template"``.
        self.rate_limited_by_route: collections.Counter[str] = collections.Counter()
        #: The most recent requests, newest last (see :class:`RecordedRequest`).
        self.recorded: collections.deque[RecordedRequest] = collections.deque(maxlen=1000)

    # -- samplers ----------------------------------------------------------------------------

    def add_sampler(self, sampler_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """Serve a standalone sampler; ``fields`` override those of :func:`sampler_payload`.

        Returns the JSON object served (change it through this method or
        :meth:`set_status`, which keep the served bytes in step).
        """
        payload = sampler_payload(sampler_id or self._state.new_id(), **fields)
        samplers.add_sampler(self._state, payload)
        return payload

    def add_samplers(self, count: int, *, seed: int = 0) -> list[str]:
        """Serve ``count`` generated samplers with a spread of statuses; return their ids."""
        rng = random.Random(seed)
        statuses = ["ACTIVE"] * 6 + ["SCALED_TO_ZERO", "BUILDING", "LOADING_MODEL", "FAILED"]
        ids = []
        for index in range(count):
            sampler_id = "".join(rng.choices(ID_ALPHABET, k=8)) + f"{index:x}"
            # Fractional seconds, as the live API sends them.
            created = _EPOCH + timedelta(minutes=index, microseconds=rng.randrange(1_000_000))
            self.add_sampler(
                sampler_id,
                status=rng.choice(statuses),
                base_model=rng.choice(BASE_MODELS),
                created_at=created.isoformat().replace("+00:00", "Z"),
                model_id="".join(rng.choices(ID_ALPHABET, k=7)),
                deployment_id="".join(rng.choices(ID_ALPHABET, k=7)),
            )
            ids.append(sampler_id)
        return ids

    def payload(self, sampler_id: str) -> dict[str, Any]:
        """The JSON object served for ``sampler_id`` (``KeyError`` if none is)."""
        return self._state.samplers[sampler_id]

    def remove_sampler(self, sampler_id: str) -> None:
        """Stop serving a sampler: it answers 404 from now on."""
        samplers.remove_sampler(self._state, sampler_id)

    def set_status(self, object_id: str, status: str) -> None:
        """Change the status of a served sampler, run or deployment."""
        self._state.set_status(object_id, status)

    def script_statuses(self, object_id: str, statuses: Iterable[str]) -> None:
        """Make each lookup of a sampler, run or deployment see the next status; the last stays.

        E.g. ``["BUILDING", "LOADING_MODEL", "ACTIVE"]``. An unknown id is served as a new
        sampler. Deactivating the object ends its script.
        """
        script = list(statuses)
        if not script:
            raise ValueError("statuses must not be empty")
        if self._state.status_holder(object_id) is None:
            self.add_sampler(object_id, status=script[0])
        self._state.script(object_id, script)

    def set_rate_limit(
        self, rate: float | None, *, burst: float | None = None, route: str | None = None
    ) -> None:
        """Admit ``rate`` requests per second from now on (``None``: no limit).

        ``route`` limits one operation only (as ``enqueue(route=...)`` names it:
        ``"GET /v1/loops/deployments/{deployment_id}/logs"`` or an operation id), on top of
        the limit of the whole API, if any. The bucket keeps the tokens it has (up to its new
        size), so a lowered limit bites at once, the way a quota change does on a live API.
        """
        key = None if route is None else route_key(route)
        if rate is None:
            self._limiters.pop(key, None)
            return
        if not rate > 0:
            raise ValueError(f"rate must be > 0, got {rate!r}")
        size = rate if burst is None else burst
        if not size >= 1:
            raise ValueError(f"burst must be >= 1, got {size!r}")
        old = self._limiters.get(key)
        tokens = size if old is None else min(old.tokens, size)
        self._limiters[key] = TokenBucket(rate, size, tokens)

    @property
    def retry_after(self) -> str | float:
        """What a rate-limited 429 says in ``Retry-After`` (see the class's arguments)."""
        return self._retry_after

    @retry_after.setter
    def retry_after(self, value: str | float) -> None:
        if isinstance(value, bool) or not (
            value in ("ceil", "exact", "date", "none")
            or (isinstance(value, int | float) and value >= 0 and math.isfinite(value))
        ):
            raise ValueError(
                "retry_after must be 'ceil', 'exact', 'date', 'none' or seconds >= 0, "
                f"got {value!r}"
            )
        self._retry_after = value

    # -- sessions, runs, deployments, checkpoints ------------------------------------------

    def add_team(self, team_id: str) -> None:
        """Make ``/v1/teams/{team_id}/loops/...`` routes answer for this team (else 404)."""
        self._state.teams.add(team_id)

    def add_session(
        self, session_id: str | None = None, *, team_id: str | None = None
    ) -> dict[str, Any]:
        """Serve a session (in ``team_id``, which is added, if given); return its object."""
        return sessions.add_session(self._state, session_id, team_id)

    def add_run(
        self,
        run_id: str | None = None,
        *,
        session_id: str | None = None,
        base_model: str = BASE_MODELS[0],
        with_sampler: bool = True,
        sampler_status: str = "ACTIVE",
        deployment_status: str = "RUNNING",
        team_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Serve a run that is up, with its deployment and (unless ``with_sampler=False``) sampler.

        ``session_id`` defaults to a new session; ``fields`` override the run's JSON fields
        (e.g. ``status={"name": "INACTIVE"}`` or ``user={"email": "someone@else"}`` for a run
        only ``scope=org`` lists). Returns the run as served: ``run["sampler"]["id"]`` and
        ``run["deployment_id"]`` name the others.
        """
        if session_id is None:
            session_id = sessions.add_session(self._state, None, team_id)["id"]
        run = runs.add_run(
            self._state,
            run_id,
            session_id=session_id,
            base_model=base_model,
            with_sampler=with_sampler,
            team_id=team_id,
            fields=fields,
        )
        self._state.end_script(run["deployment_id"], deployment_status)
        if run["id"] in self._state.run_sampler:
            self._state.end_script(self._state.run_sampler[run["id"]], sampler_status)
        return runs.run_json(self._state, run["id"])

    def add_deployment(
        self,
        deployment_id: str | None = None,
        *,
        base_model: str = BASE_MODELS[0],
        status: str = "RUNNING",
        debug_files: FileSpec = (),
        logs: Iterable[str | Mapping[str, Any]] = (),
        **fields: Any,
    ) -> dict[str, Any]:
        """Serve a Loops deployment with no run, its debug-archive files and its logs.

        ``debug_files`` (and ``files`` of :meth:`add_checkpoint`) are file names, full
        ``CheckpointFile`` objects, or a count of files to generate. ``logs`` are messages (at
        level INFO, stamped over the last seconds) or ``LogV1`` objects; see :meth:`add_logs`.
        Returns the deployment's JSON object (live: changes to it are served).
        """
        deployment = deployments.add_deployment(
            self._state, deployment_id, base_model=base_model, fields=fields
        )
        self._state.end_script(deployment["id"], status)
        deployments.set_debug_files(self._state, deployment["id"], debug_files)
        deployments.add_logs(self._state, deployment["id"], logs)
        return deployment

    def add_logs(self, deployment_id: str, logs: Iterable[str | Mapping[str, Any]]) -> None:
        """Append log lines to a deployment: messages, or ``LogV1`` objects.

        A ``LogV1`` object has ``timestamp`` (epoch nanoseconds, as a string), ``message``,
        ``replica`` and optionally ``level`` and ``request_id``.
        """
        deployments.add_logs(self._state, deployment_id, logs)

    def add_checkpoint(
        self,
        checkpoint_id: str | None = None,
        *,
        run_id: str,
        name: str | None = None,
        target: str = "sampler",
        files: FileSpec = (),
        source: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Serve a checkpoint of ``run_id`` with its files and source.

        Args:
            checkpoint_id: Its id in paths and lists (default: a new one).
            run_id: The run that saved it (need not be served).
            name: Its name in its ``bt://`` URI (default ``step-<n>``); see
                :meth:`checkpoint_uri`.
            target: ``"sampler"`` (deployable, in ``sampler_weights``) or ``"trainer"``.
            files: Its files, served in pages (see :meth:`add_deployment`).
            source: Its ``source`` object (default ``{"kind": "s3"}``).
            **fields: Overrides of the checkpoint's JSON fields.

        Returns:
            The checkpoint's JSON object.

        """
        return checkpoints.add_checkpoint(
            self._state,
            checkpoint_id,
            run_id=run_id,
            name=name or f"step-{len(self._state.checkpoints) + 1}",
            target=target,
            files=files,
            source=source,
            fields=fields,
        )

    def checkpoint_uri(self, checkpoint_id: str) -> str:
        """The ``bt://loops:...`` URI of a served checkpoint."""
        return self._state.uri_of_checkpoint[checkpoint_id]

    @property
    def capabilities(self) -> list[dict[str, Any]]:
        """The ``SupportedModelV1`` objects served by ``GET /v1/loops/capabilities`` (mutable)."""
        return self._state.capabilities

    @property
    def user_config(self) -> dict[str, Any]:
        """The caller's Loops user config, as ``PATCH /v1/loops/user_config`` leaves it."""
        return self._state.user_config

    @property
    def model_deployments(self) -> list[dict[str, Any]]:
        """What ``POST /v1/loops/checkpoints/deploy`` created: ids and the request, oldest first."""
        return self._state.model_deployments

    # -- scripted replies ------------------------------------------------------------------

    def enqueue(
        self, *replies: Reply, sampler_id: str | None = None, route: str | None = None
    ) -> None:
        """Answer the next matching requests with ``replies``, one each, in order.

        Args:
            *replies: The answers.
            sampler_id: Only requests whose path names this id (any route of that sampler).
            route: Only requests of one operation: ``"POST /v1/loops/runs"``, a template
                (``"GET /v1/loops/runs/{run_id}"``), an operation id (``"post_loops_runs"``),
                or a concrete path (``"GET /v1/loops/runs/abc"``) for one object.

        With neither, the replies answer the next requests of any route. A request takes the
        most specific reply waiting: by id, then by concrete path, then by route, then any.

        """
        self._scripted.add(replies, sampler_id=sampler_id, route=route)

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
        for route in ROUTES:
            app.router.add_route(
                route.method, route.template, self._handle, name=route.operation_id
            )
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._port)
        await site.start()
        port = runner.addresses[0][1]
        self._runner = runner
        self._base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        """Stop serving and close every connection.

        Answers still being prepared (a :class:`Reply` ``delay`` that outlived the client's
        timeout) are cancelled and awaited here, so none is left pending on the event loop.
        """
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        late = [task for task in self._answering if not task.done()]
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def serve_in_thread(self) -> contextlib.AbstractContextManager[FakeLoopsServer]:
        """Serve from a background thread with its own event loop, for synchronous code.

        For testing a CLI or other blocking code::

            with FakeLoopsServer().serve_in_thread() as server:
                subprocess.run(["my-tool", "--base-url", server.base_url], check=True)

        Configure samplers and replies before the code under test runs. Leaving the ``with``
        block stops the server and its thread. Entered and never exited (in a REPL or a
        notebook: ``server = FakeLoopsServer().serve_in_thread().__enter__()``), it serves until
        the interpreter exits, which it never holds up: the thread is a daemon, stopped at exit.
        """
        return ServingThread(self)

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

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """The one entry point of every request, whatever its route.

        Counts and records it, checks the key, then answers with a scripted reply or fault if
        one is due, else with the route's own answer.
        """
        self.requests += 1
        self.in_flight += 1
        task = asyncio.current_task()  # aiohttp answers each request in a task of its own
        if task is not None:
            self._answering.add(task)
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            route = ROUTES_BY_OPERATION.get(request.match_info.route.name or "")
            body = await request.read() if request.body_exists else b""
            self._record(request, route, body)
            object_id = _object_id(request.match_info)
            if object_id is not None:
                self.requests_by_id[object_id] += 1
            if route is not None:
                self.requests_by_route[route.key] += 1
            if self.latency:
                await asyncio.sleep(self.latency)
            if route is None:
                message = f"no route for {request.method} {request.path}"
                return _json_response(404, {"error": "not_found", "message": message})
            if request.headers.get("Authorization") not in self._accepted:
                body_401 = {"error": "unauthorized", "message": "Invalid or missing API key"}
                return _json_response(401, body_401)
            limited = self._rate_limited(route)
            if limited is not None:
                return limited
            reply = self._next_reply(request, route, object_id)
            if reply is not None:
                return await self._scripted_reply(request, route, body, reply)
            return self._answer(request, route, body)
        finally:
            self.in_flight -= 1
            self._answering.discard(task)

    def _rate_limited(self, route: Route) -> web.Response | None:
        """The 429 for a request over a rate limit (its route's, or the API's), else ``None``."""
        if not self._limiters:
            return None
        now = asyncio.get_running_loop().time()
        wait = 0.0
        for key in (route.key, None):
            limiter = self._limiters.get(key)
            if limiter is not None:
                wait = limiter.take(now)
                if wait:
                    break
        if not wait:
            return None
        self.rate_limited += 1
        self.rate_limited_by_route[route.key] += 1
        response = _json_response(
            429, {"error": "rate_limited", "message": "Too many requests; slow down"}
        )
        policy = self._retry_after
        if policy == "ceil":
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        elif policy == "exact":
            response.headers["Retry-After"] = f"{wait:.3f}"
        elif policy == "date":
            response.headers["Retry-After"] = email.utils.formatdate(
                time.time() + wait, usegmt=True
            )
        elif policy != "none":
            response.headers["Retry-After"] = f"{policy:g}"
        return response

    def _record(self, request: web.Request, route: Route | None, body: bytes) -> None:
        self.recorded.append(
            RecordedRequest(
                request.method,
                request.raw_path,
                request.headers,
                path=request.path,
                query={name: request.query[name] for name in request.query},
                body=body,
                route=None if route is None else route.key,
            )
        )

    def _next_reply(
        self, request: web.Request, route: Route, object_id: str | None
    ) -> Reply | None:
        reply = self._scripted.take(request.method, request.path, route, object_id)
        if reply is not None:
            return reply
        if object_id is not None:
            attempts = self.requests_by_id[object_id]
        else:
            attempts = self.requests_by_route[route.key]
        fault = roll_fault(self.faults, self._rng, attempts)
        if fault is None:
            return None
        kind, reply = fault
        self.faults_injected[kind] += 1
        return reply

    async def _scripted_reply(
        self, request: web.Request, route: Route, body: bytes, reply: Reply
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
                response = self._answer(request, route, body)
            else:
                message = f"scripted {reply.status}"
                response = _json_response(reply.status, {"error": "scripted", "message": message})
        else:
            raw = reply.body
            if isinstance(raw, str):
                raw = raw.encode()
            elif not isinstance(raw, bytes | bytearray):
                raw = json.dumps(raw).encode()
            if raw.lstrip().startswith(b"<"):
                response = web.Response(status=reply.status, body=raw, content_type="text/html")
            else:
                response = _answer_of(reply.status, bytes(raw))
        response.headers.update(reply.headers)
        return response

    def _answer(self, request: web.Request, route: Route, body: bytes) -> web.Response:
        """The route's own answer: validate the query and body, then run its handler."""
        try:
            call = Call(
                path=request.match_info,
                query=parse_query(route.query, request.query),
                body={} if route.body is None else parse_body(route.body, body),
            )
            answer = route.handler(self._state, call)
        except ApiError as error:
            return _json_response(error.status, error.body())
        if isinstance(answer, bytes):
            return _answer_of(200, answer)
        return _json_response(200, answer)


def _object_id(match_info: Mapping[str, str]) -> str | None:
    """The id of the object a path names (the team of a team route is not one)."""
    for name, value in match_info.items():
        if name not in ("team_id", "tail"):
            return value
    return None


def _json_response(status: int, body: Any) -> web.Response:
    return _answer_of(status, json.dumps(body).encode())


_request_ids = itertools.count(1)


def _answer_of(status: int, body: bytes) -> web.Response:
    """An answer as the live API sends one: JSON in UTF-8, said so, with a request id."""
    response = web.Response(
        status=status, body=body, content_type="application/json", charset="utf-8"
    )
    response.headers["X-Request-Id"] = f"req_{next(_request_ids):012x}"
    return response
