"""Where a request is sent and retried: the one place that touches aiohttp.

:class:`HTTPSession` sends a request with the client's headers and timeouts, reads the body
with a size bound, maps failures to the error tree, and retries under the
:class:`RetryPolicy` and the client-wide retry budget. It knows nothing about resources; the
resource layer hands it a method, a path, a query and a body, and says whether the request may
be repeated.

What a client shares with its ``with_options`` copies lives in a :class:`_Pool`: the
``aiohttp.ClientSession`` it owns (or borrows), the flow control, the retry budget and the
counters. Its own sessions are one per event loop: a client may serve several ``asyncio.run``
calls in a row, or threads that each run their own loop. Each session is closed when its loop
shuts down its tasks (as ``asyncio.run`` does), so no socket outlives its loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import aiohttp
import attrs
from yarl import URL

from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    ClientThrottledError,
    LoopsError,
    ResponseTooLargeError,
)
from ._flow import FlowControl, RouteFlow, policy_name
from ._fork import abandon_loop, call_in_forked_child
from ._response import ResponseRecord
from ._retry import Deferred, RetryBudget, RetryPolicy, RetryState, TokenBucket, retry_delay
from ._sansio import (
    Secrets,
    build_headers,
    check_headers,
    error_for_response,
    merge_headers,
    scrub,
)
from ._tracing import scrub_traced_errors

__all__ = ["ClientStats", "HTTPSession"]

logger = logging.getLogger("baseten_loops")

_CLOSED_DURING_CALL = "this LoopsClient was closed while the call was running"
#: Most of an error body read for the error message; the rest is discarded.
_ERROR_BODY_LIMIT = 64 * 1024


@attrs.frozen
class ClientStats:
    """Counters of one client, as a snapshot (read ``client.stats`` again for fresh numbers).

    Attributes:
        requests: HTTP requests sent (every attempt counts).
        retries: Retries made (requests after the first of a call).
        retries_denied: Retries not made because the retry budget was empty.
        budget_tokens: Tokens left in the retry budget (``None`` without a budget).
        throttled: Throttled answers met (429, or 503 with ``Retry-After``), all routes.
        rate_limit: The lowest pacing rate in force on any route, in requests per second
            (``None``: no route is paced; none is until the server throttles it, or a
            ``FlowControl.max_rate``).
        throttle_wait: Seconds requests have waited for a sending slot, summed.
        rate_limits: The pacing rate of each paced route (``{"samplers.get": 98.7}``).

    """

    requests: int
    retries: int
    retries_denied: int
    budget_tokens: int | None
    throttled: int = 0
    rate_limit: float | None = None
    throttle_wait: float = 0.0
    rate_limits: Mapping[str, float] = attrs.field(factory=dict)


class _Pool:
    """What a client shares with its ``with_options`` copies (:meth:`HTTPSession.copy_with`).

    The aiohttp sessions (one per event loop, or the borrowed one), the flow control, the
    retry budget and the counters. Created by the original client, which alone closes it.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None,
        session_headers: dict[str, str] | None,
        max_connections: int,
        trace_configs: Sequence[aiohttp.TraceConfig] | None,
        proxy: URL | None,
        flow_control: FlowControl,
        budget: RetryBudget | None,
        secrets: Secrets,
    ) -> None:
        self.session = session  # the borrowed session, or our session of the latest loop
        self.owns_session = session is None
        #: The default headers of the sessions we create (``None``: all sent per request).
        self.session_headers = session_headers
        # Our own sessions, one per event loop, each with the task that closes it when its loop
        # shuts down. Guarded by a lock: threads running their own loops share this client.
        self.sessions: dict[
            asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, asyncio.Task[None]]
        ] = {}
        self.sessions_lock = threading.Lock()
        # Retry waits in progress, so that close() can end them at once.
        self.retry_waiters: set[asyncio.Future[None]] = set()
        self.max_connections = max_connections
        self.trace_configs = list(trace_configs) if trace_configs else None
        self.secrets = secrets  # kept out of what the sessions' tracers record
        # aiohttp sends the proxy's credentials (from its URL) as Proxy-Authorization.
        self.proxy = proxy
        self.flow_control = flow_control
        # One pacing state per route (or per limit policy the server names), made on first use.
        self.flows: dict[str, RouteFlow] = {}
        # Routes the server said share a limit policy: route -> the key of that policy's flow.
        self.policies: dict[str, str] = {}
        # Requests waiting for a sending slot, so that close() can wake them at once.
        self.slot_waiters: set[_SlotWaiter] = set()
        self.budget = budget
        self.bucket = TokenBucket(budget) if budget is not None else None
        self.closed = False
        self.requests = 0
        self.retries = 0
        self.retries_denied = 0
        #: After os.fork(), in the child: the parent's sessions, kept but never used or closed.
        self.parents_sessions: list[aiohttp.ClientSession] = []
        call_in_forked_child(self.after_fork_in_child)

    def after_fork_in_child(self) -> None:
        """In the child of ``os.fork()``: let go of the parent's sessions, never closing them.

        Their connections are the parent's (see ``_fork.py``). So each is marked closed without
        doing anything (its connector's own flag, which makes aiohttp close nothing when it is
        collected, where it would otherwise close the connections), its loop is silenced, and
        it is kept: the child opens sessions of its own on first use. Its copies of the sockets
        close when it exits. The pacing of each route starts afresh too, as for another client:
        the parent's requests waiting for a slot, or in flight, are not the child's.
        """
        self.sessions_lock = threading.Lock()  # a thread that no longer exists may hold it
        self.retry_waiters = set()
        self.slot_waiters = set()
        self.flows = {}
        self.policies = {}
        if not self.owns_session:
            return  # a borrowed session is its owner's business
        for session, closer in self.sessions.values():
            connector = session.connector
            if connector is not None:
                connector._closed = True
            abandon_loop(closer.get_loop())
            self.parents_sessions.append(session)
        self.sessions = {}
        self.session = None

    def stats(self) -> ClientStats:
        """A snapshot of the counters."""
        flows = list(self.flows.values())
        rates = {flow.name: flow.rate for flow in flows if flow.rate is not None}
        return ClientStats(
            requests=self.requests,
            retries=self.retries,
            retries_denied=self.retries_denied,
            budget_tokens=self.bucket.tokens if self.bucket is not None else None,
            throttled=sum(flow.throttled for flow in flows),
            rate_limit=min(rates.values()) if rates else None,
            throttle_wait=sum(flow.waited for flow in flows),
            rate_limits=rates,
        )

    def flow(self, route: str) -> RouteFlow:
        """The pacing state of ``route`` (or of the limit policy it is under), made on first use."""
        key = self.policies.get(route, route)
        flow = self.flows.get(key)
        if flow is None:
            flow = self.flows[key] = RouteFlow(self.flow_control, key)
        return flow

    def follow_policy(self, route: str, header: str | None) -> None:
        """Put ``route`` under the limit policy a throttled answer named, if it named one.

        Routes are paced apart by default; a server that names the policy that throttled them
        (``RateLimit-Policy: "name";q=...;w=...``, the IETF draft) says which share one limit,
        and those share one pacing from then on. A header that names none changes nothing.
        """
        name = policy_name(header)
        if name is None or self.policies.get(route) == "policy " + name:
            return
        logger.debug("%s: throttled under the limit policy %r: paced with its routes", route, name)
        self.policies[route] = "policy " + name

    def get_session(self) -> aiohttp.ClientSession:
        if not self.owns_session:
            session = self.session
            assert session is not None
            self.check_open(session)
            # aiohttp binds a session to the loop it was created in; used from another, it
            # fails deep inside with "attached to a different loop" or hangs. Say so instead.
            if getattr(session, "_loop", None) not in (None, asyncio.get_running_loop()):
                raise LoopsError(
                    "the aiohttp.ClientSession passed as LoopsClient(session=...) belongs to "
                    "another event loop; create the session (or let the client create its "
                    "own) in the loop that uses it"
                )
            return session
        if self.closed:
            raise ClientClosedError("this LoopsClient is closed; create a new one")
        loop = asyncio.get_running_loop()
        entry = self.sessions.get(loop)
        if entry is None or entry[0].closed:
            entry = self._open_session(loop)
        self.session = entry[0]
        return entry[0]

    def _open_session(
        self, loop: asyncio.AbstractEventLoop
    ) -> tuple[aiohttp.ClientSession, asyncio.Task[None]]:
        """Create our session for ``loop``, and the task that closes it when the loop ends."""
        # One host: the total limit is the per-host limit, without per-host bookkeeping.
        connector = aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0)
        # trust_env stays False: proxies from the environment are resolved by the client
        # (without reading ~/.netrc, whose Basic credentials would replace our key).
        # The client's headers become the session's defaults, merged by aiohttp in C per
        # request; never with a proxy: aiohttp copies a session's default headers into the
        # request to the proxy, and would send the key to it as Proxy-Authorization.
        session = aiohttp.ClientSession(
            connector=connector,
            headers=self.session_headers,
            # A list of its own: scrub_traced_errors (below) puts a config first in it.
            trace_configs=list(self.trace_configs) if self.trace_configs else None,
        )
        # aiohttp silently resends an idempotent request once when a reused keep-alive
        # connection turns out dead. That retry is invisible to our loop, uncounted and
        # unbudgeted; turn it off so every request sent is one we count (aiohttp's own
        # test client does the same). A dead connection then surfaces as a connection
        # error and our loop retries it, once, within the budget. (A private attribute;
        # tests/test_session.py checks the server sees exactly the requests we count.)
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        scrub_traced_errors(session, self.secrets)
        closer = loop.create_task(
            _close_at_loop_shutdown(session), name="baseten_loops: close session at loop end"
        )
        entry = (session, closer)
        with self.sessions_lock:
            # Forget the sessions of loops that have ended (closed with their loop's tasks).
            for old_loop in [old for old in self.sessions if old.is_closed()]:
                del self.sessions[old_loop]
            self.sessions[loop] = entry
        return entry

    def check_open(self, session: aiohttp.ClientSession) -> None:
        """Raise :class:`ClientClosedError` if the client or ``session`` was closed."""
        if session.closed:
            if self.owns_session:
                raise ClientClosedError(_CLOSED_DURING_CALL)
            raise ClientClosedError(
                "the aiohttp.ClientSession is closed (the one passed as LoopsClient(session=...))"
            )
        if self.closed and self.owns_session:
            raise ClientClosedError(_CLOSED_DURING_CALL)

    async def close(self) -> None:
        """Close the sessions this pool created; a borrowed session is left open.

        The session of the running loop is closed before this returns; those of other loops
        still running (in other threads) are closed by their own loop, soon after.
        """
        self.closed = True
        if not self.owns_session:
            return  # calls go on with the borrowed session, which stays open
        for waiter in list(self.retry_waiters):
            _wake_threadsafe(waiter)  # the call then raises ClientClosedError
        for slot_waiter in list(self.slot_waiters):
            slot_waiter.poke()  # likewise
        self.session = None
        with self.sessions_lock:
            sessions, self.sessions = self.sessions, {}
        current = asyncio.get_running_loop()
        for loop, (session, closer) in sessions.items():
            if loop is current:
                closer.cancel()
                await session.close()
                await asyncio.wait([closer])  # let it finish, so no task is left pending
            elif not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    loop.call_soon_threadsafe(closer.cancel)  # it closes the session there


class HTTPSession:
    """Sends authenticated requests with timeouts, bounded reads and retries. Internal.

    The per-client options (timeout, retry policy, headers, body limit) over a pool of
    connections and shared state (:class:`_Pool`); :meth:`copy_with` makes another set of
    options over the same pool.
    """

    def __init__(
        self,
        *,
        api_key: str,
        auth_scheme: str,
        base_url: str,
        timeout: float | None,
        attempt_timeout: float,
        retry: RetryPolicy,
        flow_control: FlowControl,
        session: aiohttp.ClientSession | None,
        max_connections: int,
        max_response_bytes: int,
        trace_configs: Sequence[aiohttp.TraceConfig] | None,
        proxy: URL | None = None,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        headers = merge_headers(build_headers(api_key, auth_scheme), default_headers or {})
        #: Everything scrubbed from text that may echo the request: the key, proxy password.
        secrets = Secrets(secret for secret in (api_key, proxy and proxy.password) if secret)
        pool = _Pool(
            session=session,
            # Our own sessions carry the headers (see _Pool._open_session), unless proxied.
            session_headers=headers if session is None and proxy is None else None,
            max_connections=max_connections,
            trace_configs=trace_configs,
            proxy=proxy,
            flow_control=flow_control,
            budget=retry.budget,
            secrets=secrets,
        )
        self._configure(
            pool, secrets, base_url, timeout, attempt_timeout, retry, headers, max_response_bytes
        )
        self._owner = True

    def _configure(
        self,
        pool: _Pool,
        secrets: Secrets,
        base_url: str,
        timeout: float | None,
        attempt_timeout: float,
        retry: RetryPolicy,
        headers: dict[str, str],
        max_response_bytes: int,
    ) -> None:
        self._pool = pool
        self._secrets = secrets
        self.base_url = base_url
        #: Seconds a whole call may take, retries and waits included (``None``: no limit).
        self.timeout = timeout
        #: Seconds one attempt may take, connect to last byte.
        self.attempt_timeout = attempt_timeout
        self._client_timeout = aiohttp.ClientTimeout(total=attempt_timeout)
        self.retry = retry
        self._headers = headers
        # Sent with each request: what the session's own defaults lack (None when nothing).
        session_headers = pool.session_headers
        if session_headers is None:
            self._request_headers: dict[str, str] | None = headers
        else:
            missing = {k: v for k, v in headers.items() if session_headers.get(k) != v}
            self._request_headers = missing or None
        self._max_response_bytes = max_response_bytes
        self.flow_control = pool.flow_control
        # The pool's, at hand for the hot path.
        self._flow = pool.flow
        self._bucket = pool.bucket
        self._proxy = pool.proxy
        self._owner = False
        self._closed = False

    def copy_with(
        self,
        *,
        timeout: float | None,
        attempt_timeout: float | None,
        retry: RetryPolicy | None,
        more_headers: Mapping[str, str] | None,
        max_response_bytes: int | None,
    ) -> HTTPSession:
        """Other options over the same pool: ``None`` keeps this one's; headers are merged.

        For ``LoopsClient.with_options``, which validates them. The retry policy's budget must
        be the pool's (the budget is shared): the caller checks.
        """
        copy = object.__new__(HTTPSession)
        copy._configure(
            self._pool,
            self._secrets,
            self.base_url,
            self.timeout if timeout is None else timeout,
            self.attempt_timeout if attempt_timeout is None else attempt_timeout,
            self.retry if retry is None else retry,
            merge_headers(self._headers, more_headers or {}),
            self._max_response_bytes if max_response_bytes is None else max_response_bytes,
        )
        return copy

    def recording(self, record: ResponseRecord) -> HTTPSession:
        """These options over the same pool, every request filling ``record`` (raw calls).

        Made per raw call: what the call's requests saw goes to that call's record only.
        """
        copy = object.__new__(_RecordingSession)
        copy.__dict__.update(self.__dict__)
        copy._owner = False  # never closes the pool
        copy._record = record
        return copy

    @property
    def headers(self) -> dict[str, str]:
        """The headers sent with every request (a copy; the key is in it: never show it)."""
        return dict(self._headers)

    @property
    def secrets(self) -> Secrets:
        """What must never appear in text shown to the user: the key, a proxy password.

        For :func:`redact` wherever text from the server is quoted outside this module (the
        resource layer's validation errors).
        """
        return self._secrets

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters of the pool (shared with the ``with_options`` copies)."""
        return self._pool.stats()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError(
                "this LoopsClient (made by with_options) is closed; the client it was made "
                "from, and its other copies, still work"
            )
        return self._pool.get_session()

    async def close(self) -> None:
        """Close the pool if this is the original client's; a copy only stops taking calls.

        The session of the running loop is closed before this returns; those of other loops
        still running (in other threads) are closed by their own loop, soon after.
        """
        if self._owner:
            await self._pool.close()
        else:
            self._closed = True

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool = True,
        timeout: float | None = None,
        deadline: float | None = None,
        extra_headers: Mapping[str, str] | None = None,
        route: str = "",
        defer: bool = False,
        resume: RetryState | None = None,
        record: ResponseRecord | None = None,
    ) -> bytes:
        """Send ``method base_url + path`` and return the body of a 2xx answer.

        ``path`` is already percent-encoded; ``params`` become the query string and ``json``
        (unless ``None``) the body. Retries under the policy; a request that is not
        ``idempotent`` (a create) is repeated only when the failure proves the server did not
        act on it. ``timeout`` is the seconds the whole call may take, retries and waits
        included (``None``: the client's own, which may be no limit); ``deadline`` (event-loop
        time, a wait's end) tightens it. ``extra_headers`` are merged over the client's for this
        call (validated: see :func:`check_headers`).
        ``route`` names the route (``samplers.get``) whose pacing the request follows.

        ``defer`` (the bulk calls): a throttled request is not waited out here; :class:`Deferred`
        is raised with the time to try again and the call's :class:`RetryState`, which the
        caller passes back as ``resume`` then, so that the worker looks up other ids meanwhile.
        ``record`` (``with_raw_response`` only; ``None`` costs the plain path nothing): counts the
        requests sent and keeps what the 2xx answer said (status, headers without credentials).
        It travels in the :class:`RetryState`, so a deferred call keeps it.
        Raises the :class:`LoopsError` subclass of the last failure.
        """
        headers = self._request_headers
        if extra_headers is not None:
            headers = merge_headers(headers or {}, check_headers(extra_headers, "extra_headers"))
        session = self._get_session()
        url = URL(self.base_url + path, encoded=True)
        if params:
            url = url.with_query(params)
        # Where the request went, for messages: scheme, host and path, never the query.
        what = f"{method} {self.base_url}{path}"
        loop = asyncio.get_running_loop()
        if resume is None:
            limit = self.timeout if timeout is None else timeout
            if limit is not None:
                limit += loop.time()
                deadline = limit if deadline is None else min(deadline, limit)
            state = RetryState(deadline, record)
        else:
            state = resume
            record = state.record
        flow = self._flow(route)
        while True:
            state.attempt += 1
            if not flow.try_send(loop.time()):
                await self._wait_for_slot(flow, state.deadline, what)
            sent_at = loop.time()
            self._pool.check_open(session)  # closed during a wait: say so, not "Session is closed"
            attempt_limit = self._client_timeout
            cut_by_deadline = False
            if state.deadline is not None:
                remaining = state.deadline - sent_at
                if remaining <= 0:
                    raise APITimeoutError(f"deadline exceeded before {what} could be sent")
                if remaining < self.attempt_timeout:
                    attempt_limit = aiohttp.ClientTimeout(total=remaining)
                    cut_by_deadline = True
            self._pool.requests += 1
            if record is not None:
                record.attempts += 1
            error: LoopsError
            timed_out = False
            not_sent = False
            fatal = False
            try:
                try:
                    outcome = await self._attempt(
                        session,
                        method,
                        url,
                        headers,
                        json,
                        attempt_limit,
                        what,
                        state.attempt,
                        record,
                    )
                except BaseException:
                    flow.on_lost()  # sent, but no answer will ever be counted for it
                    _poke_head(flow)  # its place in the slow-start window is free again
                    raise
                if isinstance(outcome, bytes):
                    if flow.on_answer(loop.time(), sent_at, throttled=False):
                        _poke_head(flow)
                    if self._bucket is not None:
                        self._bucket.refund(state.last_cost)
                    return outcome
                error = outcome
                throttled = isinstance(error, APIStatusError) and _is_throttle(error)
                retry_after = error.retry_after if isinstance(error, APIStatusError) else None
                if flow.on_answer(
                    loop.time(), sent_at, throttled=throttled, retry_after=retry_after
                ):
                    _poke_head(flow)  # a new rate applies to the waiting requests at once
                if throttled:
                    assert isinstance(error, APIStatusError)
                    if error.status_code == 429:
                        state.throttled += 1
                    self._pool.follow_policy(route, error.headers.get("RateLimit-Policy"))
            except asyncio.TimeoutError:
                timed_out = True
                if cut_by_deadline:
                    error = APITimeoutError(f"{what} ran past the call's deadline")
                else:
                    error = APITimeoutError(
                        f"{what} timed out after {self.attempt_timeout:g}s "
                        f"(attempt {state.attempt})"
                    )
            except (aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch) as exc:
                # A certificate problem will not fix itself on retry; fail at once (raised
                # below, outside this block, so that aiohttp's error is not its __context__).
                error = self._connection_error(exc, f"TLS failure talking to {url.host} for {what}")
                fatal = True
            except aiohttp.ClientError as exc:
                # Not chained: aiohttp's error holds the request's headers, key included.
                error = self._connection_error(exc, f"{what} failed")
                # Only a failed connect proves the request was never written.
                not_sent = isinstance(exc, aiohttp.ClientConnectorError)
            logger.info("%s failed (attempt %d): %s", what, state.attempt, type(error).__name__)
            if fatal:
                _raise_alone(error)
            if not idempotent and not (not_sent or _server_did_not_act(error)):
                _raise_alone(error)
            now = loop.time()
            decision = retry_delay(self.retry, state, error, paced=flow.rate is not None, now=now)
            if decision is None:
                _raise_alone(error)
            wait, pays = decision
            state.last_cost = None
            if pays and self._bucket is not None:
                state.last_cost = self._bucket.try_spend(after_timeout=timed_out)
                if state.last_cost is None:
                    self._pool.retries_denied += 1
                    logger.debug("not retrying %s: retry budget empty", what)
                    _raise_alone(error)
            self._pool.retries += 1
            logger.info(
                "retrying %s: attempt %d after %s, waiting %.3fs",
                what,
                state.attempt + 1,
                _reason_of(error),
                wait,
            )
            if defer and wait > 0 and _server_did_not_act(error):
                raise Deferred(now + wait, state)
            if wait > 0:
                await self._retry_wait(wait)

    async def _wait_for_slot(self, flow: RouteFlow, deadline: float | None, what: str) -> None:
        """Wait in ``flow``'s queue until this request's sending slot comes (its send recorded).

        Only the head of the queue sleeps until its slot; the others wait to become the head.
        Whoever leaves the queue (sent, gave up, cancelled) wakes the next head, and so does a
        change of rate: no slot is held by a request that is not there any more, and a new rate
        applies to every waiting request at once. A wait that cannot end before ``deadline``
        fails at once, and so does every wait with ``FlowControl(wait_for_slot=False)``.
        """
        loop = asyncio.get_running_loop()
        start = loop.time()
        wait = flow.expected_wait(start)
        if not self.flow_control.wait_for_slot:
            raise ClientThrottledError(
                f"{what}: not sent: {_pacing(flow)}, and FlowControl(wait_for_slot=False) "
                f"refuses to wait {wait:.2f}s for a slot",
                retry_after=wait,
            )
        if deadline is not None and start + wait >= deadline:
            raise _slot_after_deadline(what, flow, wait)
        waiter = _SlotWaiter(loop)
        flow.queue.append(waiter)
        waiters = self._pool.slot_waiters
        waiters.add(waiter)
        try:
            while not waiter.released:
                if self._pool.closed and self._pool.owns_session:
                    raise ClientClosedError(_CLOSED_DURING_CALL)
                now = loop.time()
                if flow.queue[0] is waiter:
                    _release_due(flow, now)  # itself first, and whoever else may go now
                    if waiter.released:
                        break
                    until = flow.next_slot()  # inf: until an answer opens the window
                    if deadline is not None and until >= deadline:
                        if until < math.inf:
                            raise _slot_after_deadline(what, flow, until - now)
                        if now >= deadline:
                            raise _slot_after_deadline(what, flow, until)
                        until = deadline
                elif deadline is not None:
                    if now >= deadline:
                        raise _slot_after_deadline(what, flow, flow.expected_wait(now))
                    until = deadline
                else:
                    until = math.inf
                await waiter.sleep(until - now)
        except BaseException:
            if waiter.released:
                flow.on_lost()  # its send was counted, and it will not be made
            else:
                flow.queue.remove(waiter)
            raise
        finally:
            waiters.discard(waiter)
            _poke_head(flow)  # the next request in line takes over (or re-checks its slot)
        flow.waited += loop.time() - start

    async def _retry_wait(self, seconds: float) -> None:
        """Sleep before a retry; :meth:`close` ends the sleep early."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        timer = loop.call_later(seconds, _wake, waiter)
        waiters = self._pool.retry_waiters
        waiters.add(waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            waiters.discard(waiter)

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        headers: Mapping[str, str] | None,
        json: Any,
        timeout: aiohttp.ClientTimeout,
        what: str,
        attempt: int,
        record: ResponseRecord | None,
    ) -> bytes | LoopsError:
        """Send one request: the body of a 2xx answer, or the error the answer maps to.

        Errors are returned, not raised, and the answer stays in this frame: a raised error's
        traceback then holds no frame whose locals include the answer (its headers or body
        may echo the key, and ``traceback`` with ``capture_locals`` would print them).
        """
        async with session.request(
            method,
            url,
            headers=headers,
            json=json,
            timeout=timeout,
            allow_redirects=False,
            # A borrowed session may raise on statuses itself; we map statuses ourselves.
            raise_for_status=False,
            proxy=self._proxy,
        ) as response:
            if 200 <= response.status < 300:
                logger.info("%s -> %d (attempt %d)", what, response.status, attempt)
                if record is not None:
                    record.answered(method, what, response.status, response.headers, self._secrets)
                return await self._read_body(response, what)
            return error_for_response(
                response.status,
                response.headers,
                await self._read_error_body(response),
                method=method,
                url=what.partition(" ")[2],
                secret=self._secrets,
            )

    def _connection_error(self, exc: BaseException, description: str) -> LoopsError:
        """The error for a request that got no usable answer, described without aiohttp's.

        aiohttp's exception is not chained (``__cause__``) because it holds the request's
        headers, key included; its class name and its message, scrubbed of the key, are kept.
        """
        if self._pool.closed and self._pool.owns_session:
            return ClientClosedError(_CLOSED_DURING_CALL)
        detail = scrub(str(exc), self._secrets) or "connection lost"
        return APIConnectionError(f"{description}: {type(exc).__name__}: {detail}")

    async def _read_body(
        self, response: aiohttp.ClientResponse, what: str
    ) -> bytes | ResponseTooLargeError:
        """The decoded body, or the error saying it is larger than ``max_response_bytes``.

        The limit bounds the bytes after decompression (gzip, deflate, and whatever else
        aiohttp decodes): a small compressed body that inflates past it is cut off there.
        """
        limit = self._max_response_bytes
        length = response.content_length
        if length is not None and length <= limit and "Content-Encoding" not in response.headers:
            # The common case, in one read: not compressed, so the decoded body is the
            # Content-Length it announced, and aiohttp reads no byte past that.
            return await response.read()
        # A Content-Length over the limit is refused unread (compressed or not).
        if length is None or length <= limit:
            body = await _read_up_to(response, limit)
            if len(body) <= limit:
                return body
        return ResponseTooLargeError(
            f"{what}: response body exceeds max_response_bytes={limit}; refusing to read it"
        )

    @staticmethod
    async def _read_error_body(response: aiohttp.ClientResponse) -> bytes:
        # Error bodies are read only for the message; a huge one is cut short, not buffered.
        return (await _read_up_to(response, _ERROR_BODY_LIMIT))[:_ERROR_BODY_LIMIT]


class _RecordingSession(HTTPSession):
    """An :class:`HTTPSession` whose every request fills one :class:`ResponseRecord`."""

    _record: ResponseRecord

    async def request(self, method: str, path: str, **options: Any) -> bytes:
        options["record"] = self._record  # over the lookups' own record=None
        return await super().request(method, path, **options)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _wake_threadsafe(waiter: asyncio.Future[None]) -> None:
    with contextlib.suppress(RuntimeError):  # its loop has closed meanwhile
        waiter.get_loop().call_soon_threadsafe(_wake, waiter)


async def _close_at_loop_shutdown(session: aiohttp.ClientSession) -> None:
    """Wait until cancelled, then close ``session``.

    ``asyncio.run`` (and ``asyncio.Runner``) cancel the tasks left when the main coroutine
    returns, and run them to their end before closing the loop: this closes a client's session
    of that loop in time, even if the client itself was never closed, so no socket is left
    open on a closed loop and a later ``asyncio.run`` can use the client again.
    """
    try:
        await asyncio.get_running_loop().create_future()
    finally:
        await session.close()


async def _read_up_to(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Read the decoded body until EOF or until more than ``limit`` bytes have arrived.

    ``iter_chunked`` yields bytes after decompression, and aiohttp decompresses as it is
    read, so no more than about ``limit`` plus one chunk is ever held.
    """
    chunks = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


def _raise_alone(error: LoopsError) -> NoReturn:
    """Raise ``error`` with no ``__context__``.

    On Python 3.10 an exception that aiohttp handled while parsing a malformed answer (its
    ``HttpProcessingError``, which quotes the raw bytes, an echoed key included) is still "being
    handled" when the retry loop raises, and would become the error's ``__context__``; 3.11+
    does not do this. Clearing it here keeps the guarantee that no object reachable from a
    raised error holds the key, on every supported version.
    """
    try:
        raise error
    finally:
        error.__context__ = None


def _is_throttle(error: APIStatusError) -> bool:
    """A 429, or a 503 with ``Retry-After``: the server asking the client to slow down."""
    return error.status_code == 429 or (error.status_code == 503 and error.retry_after is not None)


def _server_did_not_act(error: LoopsError) -> bool:
    """Whether an answer proves a request was refused unprocessed (so a create may be resent).

    429 is a refusal by definition; a 503 that carries ``Retry-After`` is the server saying it
    is unavailable and to come back, not a failure half-way through the work.
    """
    return isinstance(error, APIStatusError) and _is_throttle(error)


class _SlotWaiter:
    """A request in a route's queue for a sending slot: it sleeps until its time or a poke."""

    __slots__ = ("_future", "_loop", "released")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._future: asyncio.Future[None] | None = None
        #: Its slot has come (its send is counted): it goes as soon as it wakes.
        self.released = False

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` (``inf``: until poked), or less if poked."""
        loop = self._loop
        future = self._future = loop.create_future()
        timer = loop.call_later(seconds, _wake, future) if seconds < math.inf else None
        try:
            await future
        finally:
            if timer is not None:
                timer.cancel()
            self._future = None

    def poke(self) -> None:
        """Wake it to look again: it became the head, the rate changed, or the client closed."""
        future = self._future
        if future is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            _wake(future)
        else:
            _wake_threadsafe(future)


def _release_due(flow: RouteFlow, now: float) -> None:
    """Let every request at the head of the queue whose slot has come go, in order.

    All at once rather than each waking the next: when the pacing lets go (or a slow-start
    window opens wide) a queue of a hundred empties in one pass, not in a hundred turns of the
    event loop during which newcomers would keep joining it.
    """
    while True:
        waiter = flow.pop_due(now)
        if waiter is None:
            return
        assert isinstance(waiter, _SlotWaiter)
        waiter.released = True
        waiter.poke()


def _poke_head(flow: RouteFlow) -> None:
    if flow.queue:
        head = flow.queue[0]
        assert isinstance(head, _SlotWaiter)
        head.poke()


def _pacing(flow: RouteFlow) -> str:
    rate = flow.rate
    return f"{flow.name or 'the client'} is paced at {rate or 0:.1f} requests/s"


def _slot_after_deadline(what: str, flow: RouteFlow, wait: float) -> APITimeoutError:
    return APITimeoutError(
        f"{what}: not sent: {_pacing(flow)}, and the call's deadline would pass while waiting "
        f"{wait:.2f}s for a sending slot"
    )


def _reason_of(error: LoopsError) -> str:
    if isinstance(error, APIStatusError):
        return f"status {error.status_code}"
    return type(error).__name__
