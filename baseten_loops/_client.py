"""The entry point: :class:`LoopsClient` wires configuration, the session and the resources."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from types import TracebackType

import aiohttp

from ._exceptions import ConfigurationError
from ._flow import FlowControl
from ._resources import (
    CapabilitiesResource,
    CapabilitiesResourceWithRawResponse,
    CheckpointsResource,
    CheckpointsResourceWithRawResponse,
    DeploymentsResource,
    DeploymentsResourceWithRawResponse,
    RunsResource,
    RunsResourceWithRawResponse,
    SamplersResource,
    SamplersResourceWithRawResponse,
    SessionsResource,
    SessionsResourceWithRawResponse,
    TrainersResource,
    TrainersResourceWithRawResponse,
    UserConfigResource,
    UserConfigResourceWithRawResponse,
)
from ._retry import RetryPolicy
from ._sansio import check_base_url, check_headers, check_timeout, resolve_proxy
from ._session import ClientStats, HTTPSession

__all__ = ["DEFAULT_BASE_URL", "LoopsClient", "LoopsClientWithRawResponse"]

DEFAULT_BASE_URL = "https://api.baseten.co"
_AUTH_SCHEMES = ("Bearer", "Api-Key")


class LoopsClient:
    """Async client for Baseten's Loops management API.

    Use it as an async context manager (or call :meth:`close`)::

        async with LoopsClient() as client:  # key from BASETEN_API_KEY
            sampler = await client.samplers.get("abc123")

    Args:
        api_key: The Baseten API key. Default: the ``BASETEN_API_KEY`` environment variable;
            with neither, :class:`ConfigurationError` is raised before any request.
        base_url: The API's root. Default: ``BASETEN_BASE_URL`` if set, else
            ``https://api.baseten.co``. Plain ``http://`` is refused except for loopback hosts.
        auth_scheme: ``"Bearer"`` (default) or ``"Api-Key"``; both are accepted by Baseten.
        timeout: Seconds one call may take in all, retries and the waits between them
            included (default 60), for every method that does not say otherwise: each method's
            own ``timeout=`` replaces it for that call. ``None``: no limit beyond the retry
            policy's attempts. A wait or backoff that would end past it is not started: the
            call fails at once with the error it has.
        attempt_timeout: Seconds one request attempt may take, connect to last byte (default
            30), shortened to what is left of the call's ``timeout``. Finite: a hung connection
            never hangs your service.
        retry: The :class:`RetryPolicy` (attempts, backoff, Retry-After cap, retry budget).
        flow_control: The client-wide :class:`FlowControl`: how fast the client sends once
            the server throttles it (429), learnt from the server's answers by default, or a
            fixed ``max_rate``. Shared by every call of this client.
        session: An ``aiohttp.ClientSession`` to use. It is never closed by this client, and
            its ``raise_for_status`` is overridden (statuses are mapped to this library's
            errors). Without one, the client creates its own inside the running loop on first
            use, one per event loop, reuses it for every request (keep-alive), and closes it on
            :meth:`close` or when that loop's ``asyncio.run`` ends.
        proxy: An ``http://`` or ``https://`` proxy URL (credentials may be given as
            ``http://user:password@host:port``) every request goes through, or ``None``.
            With a plain ``http://`` (loopback) base URL, the proxy must be a loopback host.
        trust_env: Whether, when ``proxy`` is ``None``, to take the proxy from the
            environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``NO_PROXY``; read once, here).
            Default ``True``, as in ``requests``, ``httpx`` and ``curl``: where a proxy is
            required, a client that ignores it cannot work, and the key stays inside a TLS
            tunnel the proxy cannot read. Environment proxies are never used for a loopback
            base URL, and ``~/.netrc`` is never read. Applies to a borrowed session too.
        max_connections: Size of the connection pool of the client's own session (default
            100). Bulk calls never exceed their ``concurrency``; keep this at least as large.
        max_response_bytes: Largest response body read (default 1 MiB); a larger one fails
            with :class:`ResponseTooLargeError` instead of being buffered.
        trace_configs: ``aiohttp.TraceConfig`` objects for the client's own session, to
            observe every request (see the aiohttp client tracing docs).
        default_headers: Extra headers sent with every request, over the client's own
            (``Accept``, ``User-Agent``, which they may replace); names compare ignoring case.
            ``Authorization`` (the key's), ``Proxy-Authorization``, ``Host``,
            ``Content-Length`` and ``Transfer-Encoding`` cannot be set, in any case:
            :class:`ConfigurationError`, as for a name that is not an HTTP token or a value
            with control characters (CR, LF ...).

    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        auth_scheme: str = "Bearer",
        timeout: float | None = 60.0,
        attempt_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        flow_control: FlowControl | None = None,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        max_response_bytes: int = 1024 * 1024,
        trace_configs: Sequence[aiohttp.TraceConfig] | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        if api_key is None:
            api_key = os.environ.get("BASETEN_API_KEY")
        if not isinstance(api_key, str) or not api_key.strip():
            raise ConfigurationError(
                "no Baseten API key: set the BASETEN_API_KEY environment variable "
                "or pass api_key=... to LoopsClient"
            )
        api_key = api_key.strip()
        if not api_key.isprintable() or " " in api_key:
            # Never echo the key itself, not even in this message.
            raise ConfigurationError(
                "the API key contains spaces or control characters; check BASETEN_API_KEY"
            )
        if auth_scheme not in _AUTH_SCHEMES:
            raise ConfigurationError(
                f"auth_scheme must be one of {_AUTH_SCHEMES}, got {auth_scheme!r}"
            )
        if timeout is not None:
            check_timeout(timeout)
        check_timeout(attempt_timeout, "attempt_timeout")
        _check_count("max_connections", max_connections)
        _check_count("max_response_bytes", max_response_bytes)
        if retry is None:
            retry = RetryPolicy()
        _check_retry(retry)
        headers = (
            None if default_headers is None else check_headers(default_headers, "default_headers")
        )
        if flow_control is None:
            flow_control = FlowControl()
        elif not isinstance(flow_control, FlowControl):
            raise ConfigurationError(
                f"flow_control must be a FlowControl, got {type(flow_control).__name__}"
            )
        if base_url is None:
            base_url = os.environ.get("BASETEN_BASE_URL") or DEFAULT_BASE_URL
        base_url = check_base_url(base_url)
        if type(trust_env) is not bool:
            raise ConfigurationError(f"trust_env must be True or False, got {trust_env!r}")
        proxy_url = resolve_proxy(proxy, trust_env=trust_env, base_url=base_url)
        http = HTTPSession(
            api_key=api_key,
            auth_scheme=auth_scheme,
            base_url=base_url,
            timeout=None if timeout is None else float(timeout),
            attempt_timeout=float(attempt_timeout),
            retry=retry,
            flow_control=flow_control,
            session=session,
            max_connections=max_connections,
            max_response_bytes=max_response_bytes,
            trace_configs=trace_configs,
            proxy=proxy_url,
            default_headers=headers,
        )
        self._auth_scheme = auth_scheme
        self._attach(http)

    def _attach(self, http: HTTPSession) -> None:
        """Use ``http`` for every call: give each resource group the session."""
        self._http = http
        #: Samplers: ``get``, ``get_many``, ``iter_many``, ``wait_until_active``, ``list``,
        #: ``create``, ``deactivate``.
        self.samplers = SamplersResource(self._http)
        #: Runs: ``list``, ``create``, ``get``, ``deactivate``, ``wait_until_inactive``.
        self.runs = RunsResource(self._http)
        #: Trainer-only runs: ``create``.
        self.trainers = TrainersResource(self._http)
        #: Sessions: ``create``, ``get``.
        self.sessions = SessionsResource(self._http)
        #: Checkpoints: ``list``, ``validate``, ``deploy``, ``iter_files``, ``source``.
        self.checkpoints = CheckpointsResource(self._http)
        #: Deployments: ``list``, ``get``, ``deactivate``, ``iter_debug_archive_files``,
        #: ``metrics``, ``logs``, ``wait_until_running``.
        self.deployments = DeploymentsResource(self._http)
        #: The supported models: ``list``.
        self.capabilities = CapabilitiesResource(self._http)
        #: Your accelerator priorities: ``get``, ``update``.
        self.user_config = UserConfigResource(self._http)

    def with_options(
        self,
        *,
        timeout: float | None = None,
        attempt_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int | None = None,
    ) -> LoopsClient:
        """A client with other options that shares this one's connections and limits.

        Cheap (no new connection pool): make one per call site, or per call::

            patient = client.with_options(timeout=300, retry=RetryPolicy(max_attempts=8))
            await patient.samplers.get(sampler_id)

        Shared with this client (and with every other copy): the aiohttp sessions (the
        connection pool), the :class:`FlowControl` state (a 429 seen by one slows all), the
        retry budget and the :attr:`stats` counters. Closing a copy only makes that copy
        refuse calls; the connections stay open until the client that built them is closed,
        and then every copy refuses calls too. Options left ``None`` keep this client's.

        Args:
            timeout: Seconds one call may take in all, retries and waits included.
            attempt_timeout: Seconds one request attempt may take.
            retry: The :class:`RetryPolicy`. Its ``budget`` must equal this client's (the
                budget is shared, not per copy): use ``attrs.evolve(client.retry, ...)``.
            default_headers: Headers merged over this client's default headers (the same
                rules as ``LoopsClient(default_headers=...)``).
            max_response_bytes: Largest response body read.

        Raises:
            ConfigurationError: An option that ``LoopsClient(...)`` would refuse, or a retry
                budget other than this client's.

        """
        if timeout is not None:
            check_timeout(timeout)
        if attempt_timeout is not None:
            check_timeout(attempt_timeout, "attempt_timeout")
        if max_response_bytes is not None:
            _check_count("max_response_bytes", max_response_bytes)
        if retry is not None:
            _check_retry(retry)
            if retry.budget != self.retry.budget:
                raise ConfigurationError(
                    "with_options(retry=...) cannot change the retry budget: it is shared with "
                    "the original client; pass attrs.evolve(client.retry, ...) to keep it"
                )
        headers = (
            None if default_headers is None else check_headers(default_headers, "default_headers")
        )
        copy = object.__new__(LoopsClient)
        copy._auth_scheme = self._auth_scheme
        copy._attach(
            self._http.copy_with(
                timeout=None if timeout is None else float(timeout),
                attempt_timeout=None if attempt_timeout is None else float(attempt_timeout),
                retry=retry,
                more_headers=headers,
                max_response_bytes=max_response_bytes,
            )
        )
        return copy

    @property
    def base_url(self) -> str:
        """The API root requests go to, without a trailing slash."""
        return self._http.base_url

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._http.retry

    @property
    def flow_control(self) -> FlowControl:
        """The flow control in force."""
        return self._http.flow_control

    @property
    def stats(self) -> ClientStats:
        """Counters so far: requests, retries, retry budget left, throttling and the rate."""
        return self._http.stats

    @property
    def timeout(self) -> float | None:
        """Seconds one call may take in all, retries and waits included (``None``: no limit)."""
        return self._http.timeout

    @property
    def attempt_timeout(self) -> float:
        """Seconds one request attempt may take."""
        return self._http.attempt_timeout

    @functools.cached_property
    def with_raw_response(self) -> LoopsClientWithRawResponse:
        """The same resources, each method answering a :class:`RawResponse` around its result.

        As openai's and anthropic's ``client.with_raw_response``::

            raw = await client.with_raw_response.samplers.get("abc123")
            print(raw.status, raw.request_id, raw.attempts, raw.elapsed)
            sampler = raw.parse()  # what client.samplers.get returns

        Same arguments, same errors. ``get_many`` and ``iter_many`` give a
        :class:`RawResponse` per id; ``iter_files`` and ``iter_debug_archive_files`` the first
        page's, whose :meth:`~RawResponse.parse` gives the iterator of every item.
        """
        return LoopsClientWithRawResponse(self._http)

    @property
    def default_headers(self) -> dict[str, str]:
        """The headers sent with every request except ``Authorization`` (a copy)."""
        return {k: v for k, v in self._http.headers.items() if k.lower() != "authorization"}

    async def close(self) -> None:
        """Close the client's own HTTP session (a session you passed in stays open).

        On a copy made by :meth:`with_options`, only the copy stops taking calls: the
        connections belong to the original client and stay open for it and its other copies.
        """
        await self._http.close()

    async def __aenter__(self) -> LoopsClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        # The key is never shown, not even in part.
        return (
            f"LoopsClient(base_url={self.base_url!r}, auth_scheme={self._auth_scheme!r}, "
            f"api_key='***', timeout={self._http.timeout!r}, "
            f"attempt_timeout={self._http.attempt_timeout!r})"
        )


class LoopsClientWithRawResponse:
    """``client.with_raw_response``: every resource group, each method answering a RawResponse.

    Each group has the plain group's methods with the same arguments and errors (see
    :class:`RawResponse` for what each kind of method gives).
    """

    def __init__(self, http: HTTPSession) -> None:
        self.samplers = SamplersResourceWithRawResponse(http)
        self.runs = RunsResourceWithRawResponse(http)
        self.trainers = TrainersResourceWithRawResponse(http)
        self.sessions = SessionsResourceWithRawResponse(http)
        self.checkpoints = CheckpointsResourceWithRawResponse(http)
        self.deployments = DeploymentsResourceWithRawResponse(http)
        self.capabilities = CapabilitiesResourceWithRawResponse(http)
        self.user_config = UserConfigResourceWithRawResponse(http)


def _check_count(option: str, value: object) -> None:
    if type(value) is not int or value < 1:
        raise ConfigurationError(f"{option} must be an int >= 1, got {value!r}")


def _check_retry(retry: object) -> None:
    if not isinstance(retry, RetryPolicy):
        raise ConfigurationError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
