"""Where a request is sent and retried: the one place that touches aiohttp.

:class:`HTTPSession` owns (or borrows) an ``aiohttp.ClientSession``, sends a request with the
client's headers and timeouts, reads the body with a size bound, maps failures to the error
tree, and retries under the :class:`RetryPolicy` and the client-wide retry budget. It knows
nothing about resources; the resource layer hands it a method, a path, a query and a body, and
says whether the request may be repeated.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import attrs
from yarl import URL

from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    LoopsError,
    ResponseTooLargeError,
)
from ._flow import FlowControl, RateLimiter
from ._retry import RETRYABLE_STATUSES, RetryPolicy, TokenBucket, backoff_delay
from ._sansio import build_headers, error_for_response

__all__ = ["ClientStats", "HTTPSession"]

logger = logging.getLogger("baseten_loops")

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
        throttled: Throttled answers met (429, or 503 with ``Retry-After``).
        rate_limit: Requests per second the client allows itself now (``None``: no limit;
            there is none until the server first throttles, or a ``FlowControl.max_rate``).
        throttle_wait: Seconds requests have waited for the client's rate limit, summed.

    """

    requests: int
    retries: int
    retries_denied: int
    budget_tokens: int | None
    throttled: int = 0
    rate_limit: float | None = None
    throttle_wait: float = 0.0


class HTTPSession:
    """Sends authenticated requests with timeouts, bounded reads and retries. Internal."""

    def __init__(
        self,
        *,
        api_key: str,
        auth_scheme: str,
        base_url: str,
        timeout: float,
        retry: RetryPolicy,
        flow_control: FlowControl,
        session: aiohttp.ClientSession | None,
        max_connections: int,
        max_response_bytes: int,
        trace_configs: Sequence[aiohttp.TraceConfig] | None,
    ) -> None:
        self._secret = api_key
        self._headers = build_headers(api_key, auth_scheme)
        # Sent with each request, unless they are the defaults of the session we create.
        self._request_headers: dict[str, str] | None = self._headers
        self.base_url = base_url
        self.timeout = timeout
        self._client_timeout = aiohttp.ClientTimeout(total=timeout)
        self.retry = retry
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._max_response_bytes = max_response_bytes
        self._trace_configs = list(trace_configs) if trace_configs else None
        self._bucket = TokenBucket(retry.budget) if retry.budget is not None else None
        self.flow_control = flow_control
        self._flow = RateLimiter(flow_control)
        self._closed = False
        self._requests = 0
        self._retries = 0
        self._retries_denied = 0

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters."""
        flow = self._flow
        return ClientStats(
            requests=self._requests,
            retries=self._retries,
            retries_denied=self._retries_denied,
            budget_tokens=self._bucket.tokens if self._bucket is not None else None,
            throttled=flow.throttled,
            rate_limit=flow.rate(time.monotonic()),  # asyncio's loop.time() is this clock
            throttle_wait=flow.waited,
        )

    def _get_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None:
            if self._closed:
                raise LoopsError("this LoopsClient is closed; create a new one")
            # Created lazily so that it belongs to the running loop, then kept for keep-alive.
            # One host: the total limit is the per-host limit, without per-host bookkeeping.
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0)
            # Our headers become the session's defaults, merged by aiohttp in C per request.
            session = aiohttp.ClientSession(
                connector=connector, headers=self._headers, trace_configs=self._trace_configs
            )
            self._request_headers = None
            # aiohttp silently resends an idempotent request once when a reused keep-alive
            # connection turns out dead. That retry is invisible to our loop, uncounted and
            # unbudgeted; turn it off so every request sent is one we count (aiohttp's own
            # test client does the same). A dead connection then surfaces as a connection
            # error and our loop retries it, once, within the budget. (A private attribute;
            # tests/test_session.py checks the server sees exactly the requests we count.)
            if hasattr(session, "_retry_connection"):
                session._retry_connection = False
            self._session = session
        elif session.closed:  # only a borrowed one: ours is dropped when closed
            raise LoopsError(
                "the aiohttp.ClientSession is closed (the one passed as LoopsClient(session=...))"
            )
        return session

    async def close(self) -> None:
        """Close the session if this object created it; a borrowed session is left open."""
        self._closed = True
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool = True,
        deadline: float | None = None,
    ) -> bytes:
        """Send ``method base_url + path`` and return the body of a 2xx answer.

        ``path`` is already percent-encoded; ``params`` become the query string and ``json``
        (unless ``None``) the body. Retries under the policy; a request that is not
        ``idempotent`` (a create) is repeated only when the failure proves the server did not
        act on it. ``deadline`` (event-loop time) tightens the policy's own. Raises the
        :class:`LoopsError` subclass of the last failure.
        """
        session = self._get_session()
        url = URL(self.base_url + path, encoded=True)
        if params:
            url = url.with_query(params)
        what = f"{method} {path}"
        policy = self.retry
        loop = asyncio.get_running_loop()
        if policy.deadline is not None:
            policy_deadline = loop.time() + policy.deadline
            deadline = policy_deadline if deadline is None else min(deadline, policy_deadline)
        attempt = 0
        throttled_attempts = 0  # 429s: the server pacing us, not failing; see _retry_decision
        last_retry_cost: int | None = None
        flow = self._flow
        while True:
            attempt += 1
            # When the slot was taken tells which congestion event a 429 belongs to: requests
            # holding slots from before the last slow-down report the same event again.
            reserved_at = loop.time()
            wait = flow.reserve(reserved_at)
            if wait:  # the client is being paced: wait for this request's slot
                if deadline is not None and loop.time() + wait >= deadline:
                    raise APITimeoutError(
                        f"{what}: the call's deadline would pass while waiting "
                        f"{wait:.2f}s for the client's rate limit"
                    )
                await asyncio.sleep(wait)
            timeout = self._client_timeout
            cut_by_deadline = False
            if deadline is not None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise APITimeoutError(f"deadline exceeded before {what} could be sent")
                if remaining < self.timeout:
                    timeout = aiohttp.ClientTimeout(total=remaining)
                    cut_by_deadline = True
            self._requests += 1
            error: LoopsError
            timed_out = False
            not_sent = False
            try:
                async with session.request(
                    method,
                    url,
                    headers=self._request_headers,
                    json=json,
                    timeout=timeout,
                    allow_redirects=False,
                ) as response:
                    status = response.status
                    if 200 <= status < 300:
                        body = await self._read_body(response, what)
                        if self._bucket is not None:
                            self._bucket.refund(last_retry_cost)
                        logger.debug("%s -> %d (attempt %d)", what, status, attempt)
                        return body
                    error_body = await self._read_error_body(response)
                    error = error_for_response(
                        status,
                        response.headers,
                        error_body,
                        method=method,
                        path=path,
                        secret=self._secret,
                    )
                    if _is_throttle(error):
                        flow.on_throttled(reserved_at, loop.time())
                        if status == 429:
                            throttled_attempts += 1
            except asyncio.TimeoutError:
                timed_out = True
                if cut_by_deadline:
                    error = APITimeoutError(f"{what} ran past the call's deadline")
                else:
                    error = APITimeoutError(
                        f"{what} timed out after {self.timeout:g}s (attempt {attempt})"
                    )
            except (aiohttp.ClientSSLError, aiohttp.ServerFingerprintMismatch) as exc:
                # A certificate problem will not fix itself on retry; fail at once.
                raise APIConnectionError(
                    f"TLS failure talking to {url.host} for {what}: {exc}"
                ) from exc
            except aiohttp.ClientError as exc:
                error = APIConnectionError(
                    f"{what} failed: {type(exc).__name__}: {exc or 'connection lost'}"
                )
                error.__cause__ = exc
                # Only a failed connect proves the request was never written.
                not_sent = isinstance(exc, aiohttp.ClientConnectorError)
            logger.debug("%s failed (attempt %d): %s", what, attempt, type(error).__name__)
            if not idempotent and not (not_sent or _server_did_not_act(error)):
                raise error
            decision = self._retry_decision(
                error, attempt, throttled_attempts, timed_out, deadline, loop.time()
            )
            if decision is None:
                raise error
            wait, last_retry_cost = decision
            self._retries += 1
            logger.debug(
                "retrying %s: attempt %d after %s, waiting %.3fs",
                what,
                attempt + 1,
                _reason_of(error),
                wait,
            )
            await asyncio.sleep(wait)

    def _retry_decision(
        self,
        error: LoopsError,
        attempt: int,
        throttled_attempts: int,
        timed_out: bool,
        deadline: float | None,
        now: float,
    ) -> tuple[float, int | None] | None:
        """``(seconds to wait, budget tokens spent)`` for the next attempt, or ``None`` to give up.

        The order matters: a retry is paid for from the budget only once it is certain to
        happen (retryable, attempts left, the wait fits before the deadline).

        A 429 is the server setting the pace, not failing: while the call has a deadline, 429s
        neither use up ``max_attempts`` nor spend the retry budget (which exists for outages),
        so a rate limit never turns into lost results; the deadline bounds them instead.
        """
        policy = self.retry
        if isinstance(error, APIStatusError):
            if error.status_code not in RETRYABLE_STATUSES:
                return None
            retry_after = error.retry_after
        elif isinstance(error, APIConnectionError):
            retry_after = None
        else:  # pragma: no cover - only the two kinds above reach here
            return None
        pacing_exempt = deadline is not None and policy.max_attempts > 1
        paced = pacing_exempt and isinstance(error, APIStatusError) and error.status_code == 429
        counted_attempts = attempt - throttled_attempts if pacing_exempt else attempt
        if not paced and counted_attempts >= policy.max_attempts:
            return None
        if retry_after is not None:
            capped = min(retry_after, policy.max_retry_after)
            # Never earlier than asked; a little later, at random, so clients spread out.
            wait = capped * (1.0 + 0.1 * policy.jitter * random.random())
        else:
            wait = backoff_delay(policy, attempt)
        if deadline is not None and now + wait >= deadline:
            # Fail now with the answer we have rather than sleep past the deadline in vain.
            logger.debug("not retrying: a wait of %.3fs would pass the deadline", wait)
            return None
        if self._bucket is None or paced:
            return wait, None
        cost = self._bucket.try_spend(after_timeout=timed_out)
        if cost is None:
            self._retries_denied += 1
            logger.debug("not retrying: retry budget empty")
            return None
        return wait, cost

    async def _read_body(self, response: aiohttp.ClientResponse, what: str) -> bytes:
        limit = self._max_response_bytes
        length = response.content_length
        if length is None:  # chunked: read, but never more than the limit
            body = await _read_up_to(response, limit)
            if len(body) <= limit:
                return body
        elif length <= limit:
            return await response.read()  # the common case: a small body of known length
        raise ResponseTooLargeError(
            f"{what}: response body exceeds max_response_bytes={limit}; refusing to read it"
        )

    @staticmethod
    async def _read_error_body(response: aiohttp.ClientResponse) -> bytes:
        # Error bodies are read only for the message; a huge one is cut short, not buffered.
        return await _read_up_to(response, _ERROR_BODY_LIMIT)


async def _read_up_to(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Read the body until EOF or until more than ``limit`` bytes have arrived."""
    chunks = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


def _is_throttle(error: APIStatusError) -> bool:
    """A 429, or a 503 with ``Retry-After``: the server asking the client to slow down."""
    return error.status_code == 429 or (error.status_code == 503 and error.retry_after is not None)


def _server_did_not_act(error: LoopsError) -> bool:
    """Whether an answer proves a request was refused unprocessed, so a create may be resent.

    429 is a refusal by definition; a 503 that carries ``Retry-After`` is the server saying it
    is unavailable and to come back, not a failure half-way through the work.
    """
    return isinstance(error, APIStatusError) and _is_throttle(error)


def _reason_of(error: LoopsError) -> str:
    if isinstance(error, APIStatusError):
        return f"status {error.status_code}"
    return type(error).__name__
