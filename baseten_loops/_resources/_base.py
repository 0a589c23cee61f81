"""The shared machinery every resource method calls: build, send, structure, page, look up.

Also the ``with_raw_response`` views (:class:`RawResource`): each plain method, wrapped once
here, runs the same code over a session that records what the answer said.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Concatenate,
    Generic,
    Literal,
    ParamSpec,
    Protocol,
    TypeVar,
    cast,
    overload,
)

from .. import _bulk
from .._bulk import Fetch
from .._convert import parse_response
from .._exceptions import LoopsError, ResponseValidationError
from .._paging import PageGuard
from .._response import RawResponse, ResponseRecord
from .._retry import RetryState
from .._routes import Route, build_request
from .._sansio import check_headers, check_timeout, path_segment, scrub
from .._session import HTTPSession

__all__ = ["ExtraHeaders", "RawLookups", "RawResource", "Resource", "call_arguments"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
P = ParamSpec("P")

#: The ``extra_headers`` every public resource method takes: headers for that call only,
#: merged over the client's (``default_headers``, ``User-Agent`` ...), names ignoring case.
#: They cannot set ``Authorization`` or the other reserved headers: see
#: :func:`baseten_loops._sansio.check_headers`. ``None`` (the default) adds none.
ExtraHeaders = Mapping[str, str] | None


def call_arguments(values: Mapping[str, Any]) -> dict[str, Any]:
    """A method's arguments (its ``locals()``) for the route: not ``self``, ``team_id``, options.

    Lets a method with many keyword parameters hand them all to its route without repeating
    each name; the route table decides which are sent and how.
    """
    return {name: value for name, value in values.items() if name not in _NOT_ROUTE_ARGUMENTS}


_NOT_ROUTE_ARGUMENTS = frozenset({"self", "team_id", "timeout", "extra_headers"})


class _Lookup(Protocol[T_co]):
    """``await lookup(object_id, segment, resume, deadline, record)``: one GET by id."""

    def __call__(
        self,
        object_id: str,
        segment: str,
        resume: RetryState | None = None,
        deadline: float | None = None,
        record: ResponseRecord | None = None,
    ) -> Awaitable[T_co]: ...


class Resource:
    """Base of the resource groups: holds the session, and the one way to call a route.

    Every public method of every group takes ``extra_headers`` (:data:`ExtraHeaders`):
    headers sent with that call only, as ``extra_headers=`` does in the openai and anthropic
    SDKs. ``Authorization`` is never one of them (``ConfigurationError``, in any case). And
    ``timeout``: the seconds the whole call may take, retries and waits included (``None``:
    the client's ``timeout``); per lookup in the bulk calls, per page in the listings that
    page, and the whole wait in a ``wait_until_...``.
    """

    def __init__(self, http: HTTPSession) -> None:
        self._http = http
        self._plain_fetchers: dict[tuple[str, bool], Fetch[Any]] = {}

    async def _call(
        self,
        route: Route[T],
        *,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        **arguments: Any,
    ) -> T:
        """Call ``route`` with ``arguments``: validate and build, send, structure the answer.

        Path ids and ``timeout`` are validated before any I/O; ``None`` query parameters and
        body fields are not sent; ``team_id`` moves the call under ``/v1/teams/{team_id}/loops``.
        """
        if timeout is not None:
            check_timeout(timeout)
        request = build_request(route, arguments, team_id=team_id)
        # Parsed without a local for the body (see _lookup).
        answer = parse_response(
            await self._http.request(
                request.method,
                request.path,
                params=request.params,
                json=request.json,
                idempotent=request.idempotent,
                timeout=timeout,
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
        """Look one object up by its id on ``route`` (``samplers.get``, ...): see :meth:`_lookup`.

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
        fetch = self._lookup(route, extra_headers, timeout, defer=bulk)
        if plain:
            self._plain_fetchers[(route.name, bulk)] = fetch
        return fetch

    def _raw_fetcher(
        self, route: Route[T], *, timeout: float | None, extra_headers: ExtraHeaders
    ) -> Fetch[RawResponse[T]]:
        """As :meth:`_fetcher` (bulk), each lookup answering a :class:`RawResponse` of its own."""
        if timeout is not None:
            check_timeout(timeout)
        lookup = self._lookup(route, extra_headers, timeout, defer=True)

        async def fetch(
            object_id: str, segment: str, resume: RetryState | None = None
        ) -> RawResponse[T]:
            loop = asyncio.get_running_loop()
            # A deferred lookup resumes with its record: its elapsed and attempts go on.
            record = resume.record if resume is not None else None
            if record is None:
                record = ResponseRecord(loop.time())
            found = await lookup(object_id, segment, resume, None, record)
            return record.response(found, loop.time())

        return fetch

    def _poller(
        self, route: Route[T], object_id: str, extra_headers: ExtraHeaders
    ) -> Callable[[float], Awaitable[T]]:
        """The lookup a ``wait_until_...`` repeats: ``object_id`` on ``route``, by a deadline.

        The id and headers are validated now, before any I/O; each lookup, like every lookup
        by id, refuses an answer about another object, and is bounded by the client's
        ``timeout`` as well as by the wait's deadline.
        """
        segment = path_segment(object_id, route.path_params[0])
        lookup = self._lookup(route, extra_headers, None)
        return lambda deadline: lookup(object_id, segment, None, deadline)

    def _lookup(
        self,
        route: Route[T],
        extra_headers: ExtraHeaders,
        timeout: float | None,
        *,
        defer: bool = False,
    ) -> _Lookup[T]:
        """``lookup(object_id, segment, resume, deadline, record)``: one GET by id, about it.

        Does per id only what must be done per id (the bulk calls make thousands): one
        concatenation for the path, the request, the parse. An answer about another object
        than the one asked for is refused: a confused cache or proxy must never mix results up
        between ids. ``timeout``, ``deadline``, ``defer``, ``resume``, ``record``: see
        ``HTTPSession.request``.
        """
        headers = None if extra_headers is None else check_headers(extra_headers, "extra_headers")
        head, tail = route.split_path()
        request = self._http.request
        secrets = self._http.secrets
        key, type_, name = route.response_key, route.response_type, route.name

        async def lookup(
            object_id: str,
            segment: str,
            resume: RetryState | None = None,
            deadline: float | None = None,
            record: ResponseRecord | None = None,
        ) -> T:
            # Parsed without a local for the body: a traceback printed with its frames'
            # locals must not show a body that echoes the key.
            found = parse_response(
                await request(
                    "GET",
                    head + segment + tail,
                    timeout=timeout,
                    deadline=deadline,
                    extra_headers=headers,
                    route=name,
                    defer=defer,
                    resume=resume,
                    record=record,
                ),
                key,
                type_,
                secret=secrets,
            )
            if found.id != object_id:
                raise _not_the_one_asked_for(key, object_id, found.id, secrets)
            return cast(T, found)

        return lookup

    async def _get_many(
        self,
        route: Route[Any],
        ids: Iterable[str],
        *,
        concurrency: int,
        return_exceptions: bool,
        timeout: float | None,
        extra_headers: ExtraHeaders,
        on_progress: _bulk.Progress | None,
        raw: bool = False,
    ) -> list[Any]:
        """``get_many`` of a group: every id of ``ids`` on ``route``, by the bulk engine."""
        fetch: Fetch[Any]
        if raw:
            fetch = self._raw_fetcher(route, timeout=timeout, extra_headers=extra_headers)
        else:
            fetch = self._fetcher(route, timeout=timeout, extra_headers=extra_headers)
        return await _bulk.get_many(
            fetch,
            ids,
            parameter=route.path_params[0],
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            on_progress=on_progress,
        )

    def _iter_many(
        self,
        route: Route[Any],
        ids: _bulk.Ids,
        *,
        concurrency: int,
        timeout: float | None,
        extra_headers: ExtraHeaders,
        raw: bool = False,
    ) -> AsyncGenerator[tuple[str, Any], None]:
        """The bulk engine's ``iter_many`` over ``route``; a group's ``iter_many`` yields it.

        Called from the body of that async generator, so the options are checked when the
        caller starts iterating, as every failure of ``iter_many`` is met.
        """
        fetch: Fetch[Any]
        if raw:
            fetch = self._raw_fetcher(route, timeout=timeout, extra_headers=extra_headers)
        else:
            fetch = self._fetcher(route, timeout=timeout, extra_headers=extra_headers)
        return _bulk.iter_many(fetch, ids, parameter=route.path_params[0], concurrency=concurrency)

    async def _iter_items(
        self,
        route: Route[Any],
        *,
        page_size: int | None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        first_page: Any = None,
        **arguments: Any,
    ) -> AsyncIterator[Any]:
        """Every item of every page of ``route``, fetched lazily, one page at a time.

        Follows ``next_page_token`` until it is null; starts from ``first_page`` when it was
        fetched already (:meth:`_raw_items`). ``timeout`` bounds each page's request. A
        listing that cannot end well (a token outside the spec or already followed, a run of
        empty pages) is stopped with a :class:`ResponseValidationError`: see
        :class:`~baseten_loops._paging.PageGuard`.
        """
        paging = route.paging
        assert paging is not None, f"{route.name} does not page"
        guard = PageGuard(route.name, paging.token, self._http.secrets)
        page = first_page
        token: int | str | None = None  # the first page is asked for without a token
        while True:
            if page is None:
                page = await self._call(
                    route,
                    page_size=page_size,
                    page_token=token,
                    timeout=timeout,
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
            page = None

    async def _raw_items(
        self,
        route: Route[Any],
        *,
        page_size: int | None,
        timeout: float | None,
        extra_headers: ExtraHeaders,
        **arguments: Any,
    ) -> RawResponse[AsyncIterator[Any]]:
        """The first page of ``route`` now, as a :class:`RawResponse` of the items' iterator.

        As openai's raw listing: the answer is the first page's; the iterator yields its items
        (not fetched again), then fetches the next pages lazily, as the plain call does.
        """
        loop = asyncio.get_running_loop()
        record = ResponseRecord(loop.time())
        first = await Resource(self._http.recording(record))._call(
            route,
            page_size=page_size,
            page_token=None,
            timeout=timeout,
            extra_headers=extra_headers,
            **arguments,
        )
        items = self._iter_items(
            route,
            page_size=page_size,
            timeout=timeout,
            extra_headers=extra_headers,
            first_page=first,
            **arguments,
        )
        return record.response(items, loop.time())


class RawResource(Resource):
    """Base of the ``with_raw_response`` views (``client.with_raw_response.samplers`` ...).

    A view names its plain group: ``class X(RawResource, plain=SamplersResource)``. Each public
    async method of that group which the view does not define is made here
    (:func:`_raw_method`): the very same method, over a session that records what its answer
    said, its result handed back in a :class:`RawResponse`. The methods whose result is not one
    answer (``get_many``, ``iter_many``, the listings that page) are defined by the views.
    """

    def __init_subclass__(cls, *, plain: type[Resource] | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if plain is None:
            return  # an intermediate base (RawLookups)
        for name, method in vars(plain).items():
            if name.startswith("_") or hasattr(cls, name):
                continue
            if not inspect.iscoroutinefunction(method):
                raise TypeError(
                    f"{plain.__name__}.{name} is not a coroutine function: define what its raw "
                    f"answer is on {cls.__name__}"
                )
            setattr(cls, name, _raw_method(plain, method))


def _raw_method(
    plain: type[Resource], method: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[RawResponse[Any]]]:
    """``method`` of ``plain`` as a raw view's method: its result in a :class:`RawResponse`.

    Each call runs ``method`` on a resource of its own over a recording session, so that what
    concurrent calls (and the plain calls an ``on_status`` callback makes) see is never mixed.
    Keeps the method's name, docstring and signature (the result annotated ``RawResponse[...]``).
    """

    @functools.wraps(method)
    async def raw(self: Resource, /, *args: Any, **kwargs: Any) -> RawResponse[Any]:
        loop = asyncio.get_running_loop()
        record = ResponseRecord(loop.time())
        value = await method(plain(self._http.recording(record)), *args, **kwargs)
        return record.response(value, loop.time())

    returns = f"RawResponse[{method.__annotations__.get('return', 'Any')}]"
    raw.__annotations__ = {**method.__annotations__, "return": returns}
    raw.__signature__ = inspect.signature(method).replace(  # type: ignore[attr-defined]
        return_annotation=returns
    )
    return raw


class RawLookups(RawResource, Generic[T]):
    """The raw view of a group with lookups by id (``T``): one :class:`RawResponse` per id.

    A view names its lookup route too: ``class X(RawLookups[Run], plain=..., lookup=RUNS_GET)``.
    """

    _lookup_route: ClassVar[Route[Any]]

    def __init_subclass__(cls, *, lookup: Route[Any], **kwargs: Any) -> None:
        cls._lookup_route = lookup
        super().__init_subclass__(**kwargs)

    @overload
    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[RawResponse[T]]: ...

    @overload
    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[RawResponse[T] | LoopsError]: ...

    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[RawResponse[T]] | list[RawResponse[T] | LoopsError]:
        """The group's ``get_many``, each object in a :class:`RawResponse` of its own lookup.

        Same arguments and rules (input order, duplicates sharing one lookup and so one
        :class:`RawResponse`, ``return_exceptions``); a failure is the same error as without
        ``with_raw_response`` (an :class:`APIStatusError` has ``headers`` too). ``elapsed`` and
        ``attempts`` are each lookup's own, a throttled one's wait included.
        """
        return await self._get_many(
            self._lookup_route,
            ids,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            timeout=timeout,
            extra_headers=extra_headers,
            on_progress=on_progress,
            raw=True,
        )

    async def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> AsyncGenerator[tuple[str, RawResponse[T] | LoopsError], None]:
        """The group's ``iter_many``, each object in a :class:`RawResponse` of its own lookup.

        Yields ``(id, RawResponse | LoopsError)`` in completion order, with the same rules.
        """
        lookups = self._iter_many(
            self._lookup_route,
            ids,
            concurrency=concurrency,
            timeout=timeout,
            extra_headers=extra_headers,
            raw=True,
        )
        async with contextlib.aclosing(lookups):  # closing this generator closes the engine's
            async for item in lookups:
                yield item


if TYPE_CHECKING:

    def raw_type(
        method: Callable[Concatenate[Any, P], Awaitable[T]],
    ) -> Callable[Concatenate[Any, P], Awaitable[RawResponse[T]]]:
        """Type only: a raw view's method has the plain one's parameters, its result wrapped."""
        raise NotImplementedError


def _not_the_one_asked_for(
    key: str, asked: str, answered: str, secrets: tuple[str, ...]
) -> ResponseValidationError:
    answered = scrub(repr(answered), secrets)
    return ResponseValidationError(
        f"invalid {key} response: {key}.id: asked for {asked!r}, the server answered with "
        f"{answered}",
        errors=(f"{key}.id: expected {asked!r}, got {answered}",),
    )
