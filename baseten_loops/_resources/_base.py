"""The shared machinery every resource method calls: build, send, structure, page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

from .._bulk import Fetch
from .._convert import parse_response
from .._exceptions import ResponseValidationError
from .._paging import PageGuard
from .._retry import RetryState
from .._routes import Route, build_request
from .._sansio import check_headers, check_timeout, path_segment, scrub
from .._session import HTTPSession

__all__ = ["ExtraHeaders", "Resource", "call_arguments"]

T = TypeVar("T")

#: The ``extra_headers`` every public resource method takes: headers for that call only,
#: merged over the client's (``default_headers``, ``User-Agent`` ...), names ignoring case.
#: They cannot set ``Authorization`` or the other reserved headers: see
#: :func:`baseten_loops._sansio.check_headers`. ``None`` (the default) adds none.
ExtraHeaders = Mapping[str, str] | None


def call_arguments(values: Mapping[str, Any]) -> dict[str, Any]:
    """A method's arguments (its ``locals()``) for the route: not ``self``, ``team_id``, headers.

    Lets a method with many keyword parameters hand them all to its route without repeating
    each name; the route table decides which are sent and how.
    """
    return {name: value for name, value in values.items() if name not in _NOT_ROUTE_ARGUMENTS}


_NOT_ROUTE_ARGUMENTS = frozenset({"self", "team_id", "extra_headers"})


class Resource:
    """Base of the resource groups: holds the session, and the one way to call a route.

    Every public method of every group takes ``extra_headers`` (:data:`ExtraHeaders`):
    headers sent with that call only, as ``extra_headers=`` does in the openai and anthropic
    SDKs. ``Authorization`` is never one of them (``ConfigurationError``, in any case).
    """

    def __init__(self, http: HTTPSession) -> None:
        self._http = http
        self._plain_fetchers: dict[tuple[str, bool], Fetch[Any]] = {}

    async def _call(
        self,
        route: Route[T],
        *,
        team_id: str | None = None,
        deadline: float | None = None,
        extra_headers: ExtraHeaders = None,
        **arguments: Any,
    ) -> T:
        """Call ``route`` with ``arguments``: validate and build, send, structure the answer.

        Path ids are validated before any I/O; ``None`` query parameters and body fields are
        not sent; ``team_id`` moves the call under ``/v1/teams/{team_id}/loops``.
        """
        request = build_request(route, arguments, team_id=team_id)
        # Parsed without a local for the body (see SamplersResource.get).
        answer = parse_response(
            await self._http.request(
                request.method,
                request.path,
                params=request.params,
                json=request.json,
                idempotent=request.idempotent,
                deadline=deadline,
                extra_headers=extra_headers,
                route=route.name,
            ),
            route.response_key,
            route.response_type,
            what=route.name,
            secret=self._http.secrets,
        )
        return cast(T, answer)

    async def _get_by_id(
        self,
        route: Route[T],
        object_id: str,
        *,
        timeout: float | None,
        extra_headers: ExtraHeaders,
    ) -> T:
        """Look one object up by its id on ``route`` (``samplers.get``, ...): see :meth:`_fetcher`.

        ``timeout`` is the whole call's, across its retries. The id is validated before any I/O.
        """
        segment = path_segment(object_id, route.path_params[0])
        fetch = self._fetcher(route, timeout=timeout, extra_headers=extra_headers, bulk=False)
        return await fetch(object_id, segment)

    def _fetcher(
        self,
        route: Route[T],
        *,
        timeout: float | None,
        extra_headers: ExtraHeaders,
        bulk: bool = True,
    ) -> Fetch[T]:
        """One lookup by id on ``route`` (:meth:`_lookup`), with the call's options checked now.

        What comes back takes an id and its path segment (already validated) and fetches the
        object, within ``timeout`` seconds from when it is called. The bulk calls
        (``_bulk.py``) call it once per id. For a ``bulk`` call, a throttled lookup is handed
        back to the engine (``Deferred``) instead of holding its worker while it waits, and is
        resumed later with its retry state (deadline included).
        """
        plain = timeout is None and extra_headers is None
        if plain:  # the common case, made once per route (a single get must stay cheap)
            cached = self._plain_fetchers.get((route.name, bulk))
            if cached is not None:
                return cast(Fetch[T], cached)
        if timeout is not None:
            check_timeout(timeout)
        lookup = self._lookup(route, extra_headers, defer=bulk)
        fetch: Fetch[T]
        if timeout is None:

            def fetch(
                object_id: str, segment: str, resume: RetryState | None = None
            ) -> Awaitable[T]:
                return lookup(object_id, segment, None, resume)

        else:

            def fetch(
                object_id: str, segment: str, resume: RetryState | None = None
            ) -> Awaitable[T]:
                # A resumed lookup keeps the deadline it started with (in its retry state).
                deadline = None if resume else asyncio.get_running_loop().time() + timeout
                return lookup(object_id, segment, deadline, resume)

        if plain:
            self._plain_fetchers[(route.name, bulk)] = fetch
        return fetch

    def _poller(
        self, route: Route[T], object_id: str, extra_headers: ExtraHeaders
    ) -> Callable[[float], Awaitable[T]]:
        """The lookup a ``wait_until_...`` repeats: ``object_id`` on ``route``, by a deadline.

        The id and headers are validated now, before any I/O; each lookup, like every lookup
        by id, refuses an answer about another object.
        """
        segment = path_segment(object_id, route.path_params[0])
        lookup = self._lookup(route, extra_headers)
        return lambda deadline: lookup(object_id, segment, deadline, None)

    def _lookup(
        self, route: Route[T], extra_headers: ExtraHeaders, *, defer: bool = False
    ) -> Callable[[str, str, float | None, RetryState | None], Awaitable[T]]:
        """``lookup(object_id, segment, deadline, resume)``: one GET by id, checked to be about it.

        Does per id only what must be done per id (the bulk calls make thousands): one
        concatenation for the path, the request, the parse. An answer about another object
        than the one asked for is refused: a confused cache or proxy must never mix results up
        between ids. ``defer``: see ``HTTPSession.request``.
        """
        headers = None if extra_headers is None else check_headers(extra_headers, "extra_headers")
        head, tail = route.split_path()
        request = self._http.request
        secrets = self._http.secrets
        key, type_, name = route.response_key, route.response_type, route.name

        async def lookup(
            object_id: str, segment: str, deadline: float | None, resume: RetryState | None
        ) -> T:
            # Parsed without a local for the body: a traceback printed with its frames'
            # locals must not show a body that echoes the key.
            found = parse_response(
                await request(
                    "GET",
                    head + segment + tail,
                    deadline=deadline,
                    extra_headers=headers,
                    route=name,
                    defer=defer,
                    resume=resume,
                ),
                key,
                type_,
                secret=secrets,
            )
            if found.id != object_id:
                raise _not_the_one_asked_for(key, object_id, found.id, secrets)
            return cast(T, found)

        return lookup

    async def _iter_items(
        self,
        route: Route[Any],
        *,
        page_size: int | None,
        extra_headers: ExtraHeaders = None,
        **arguments: Any,
    ) -> AsyncIterator[Any]:
        """Every item of every page of ``route``, fetched lazily, one page at a time.

        Follows ``next_page_token`` until it is null. A listing that cannot end well (a token
        outside the spec or already followed, a run of empty pages) is stopped with a
        :class:`ResponseValidationError`: see :class:`~baseten_loops._paging.PageGuard`.
        """
        paging = route.paging
        assert paging is not None, f"{route.name} does not page"
        guard = PageGuard(route.name, paging.token, self._http.secrets)
        token: int | str | None = None  # the first page is asked for without a token
        while True:
            page = await self._call(
                route,
                page_size=page_size,
                page_token=token,
                extra_headers=extra_headers,
                **arguments,
            )
            items = getattr(page, paging.items)
            for item in items:
                yield item
            token = page.next_page_token
            if token is None:
                return
            guard.next_page(token, len(items))


def _not_the_one_asked_for(
    key: str, asked: str, answered: str, secrets: tuple[str, ...]
) -> ResponseValidationError:
    answered = scrub(repr(answered), secrets)
    return ResponseValidationError(
        f"invalid {key} response: {key}.id: asked for {asked!r}, the server answered with "
        f"{answered}",
        errors=(f"{key}.id: expected {asked!r}, got {answered}",),
    )
