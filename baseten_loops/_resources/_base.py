"""The shared machinery every resource method calls: build, send, structure, page, look up.

Also the bulk lookups by id of every group that has them (:class:`LookupsById`: ``get_many``,
``iter_many``), written once, and the ``with_raw_response`` views (:class:`RawResource`): each
plain method, wrapped once here, runs the same code over a session that records what the answer
said.
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

__all__ = [
    "ExtraHeaders",
    "LookupsById",
    "RawLookups",
    "RawResource",
    "Resource",
    "call_arguments",
]

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
    answer are defined by the views: the bulk lookups by :class:`RawLookups`, the listings that
    page by each view.
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


class LookupsById(Resource, Generic[T]):
    """A group whose objects (``T``, its model) are looked up by id: one, or many at a time.

    Its bulk lookups, ``get_many`` and ``iter_many``, are written here once, on the engine of
    ``_bulk.py``. A group names its model and the route of its lookup by id, whose path
    parameter names the ids, and writes its own ``get``::

        class RunsResource(LookupsById[Run]):
            _lookup_route = RUNS_GET

    A type checker reads ``client.runs.get_many(...)`` as ``list[Run]``; ``help()`` shows the
    methods with ``T``, which is the group's model. The generated sync twin writes each group's
    methods out with the model in place of ``T``.
    """

    #: The lookup of one object by id (``RUNS_GET``); its path parameter names the ids.
    _lookup_route: ClassVar[Route[Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not getattr(cls, "__parameters__", ()) and not hasattr(cls, "_lookup_route"):
            raise TypeError(
                f"{cls.__name__} looks its objects up by id: name the route (_lookup_route = ...)"
            )

    def _bulk_fetcher(self, timeout: float | None, extra_headers: ExtraHeaders) -> Fetch[T]:
        """The lookup a bulk call makes per id (see :meth:`_fetcher`), its options checked now."""
        return self._fetcher(self._lookup_route, timeout=timeout, extra_headers=extra_headers)

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
    ) -> list[T]: ...

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
    ) -> list[T | LoopsError]: ...

    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[T] | list[T | LoopsError]:
        """Look many objects up by id, concurrently; the results come back in input order.

        The objects are those :meth:`get` answers (``list[Run]`` from ``client.runs``). One
        request per distinct id: duplicates share it, and its object. At most ``concurrency``
        requests are in flight; a throttled lookup is set aside while the others go on, and a
        refused key (401) fails the ids left without a request each. Through
        ``with_raw_response``, each object comes in a :class:`RawResponse` of its own lookup
        (its ``elapsed`` and ``attempts``, a throttled one's wait included), and a failure is
        the same error (an :class:`APIStatusError` has ``headers`` too).

        Args:
            ids: The ids (any iterable; it is read in full first).
            concurrency: Most requests in flight at once (default 16).
            return_exceptions: ``False`` (default): the first failure is raised and the
                remaining lookups are cancelled; invalid ids are refused before any request.
                ``True``: each slot holds the object or the :class:`LoopsError` for that id,
                as with ``asyncio.gather``; an invalid id fails only its own slot, with
                ``InvalidIdError`` (a ``LoopsError`` and a ``ValueError``;
                ``InvalidSamplerIdError`` for a sampler id).
            timeout: Seconds each lookup may take in all (from when it starts, across its
                retries), as ``get(..., timeout=)``; default ``None``: the client's
                ``timeout``. One that runs out fails with ``APITimeoutError``: raised, or in
                its own slot with ``return_exceptions=True``.
            extra_headers: Headers for every lookup, never ``Authorization`` (``ExtraHeaders``).
            on_progress: Called with ``(done, total)``, ids with their result and ids in all,
                once at the start and each time a lookup completes, from the event loop's
                thread (a progress bar: ``bar.update(done - bar.n)``).

        Raises:
            ConfigurationError: A ``timeout`` that is not a finite number > 0, or bad
                ``extra_headers``; before any request.
            ValueError: A ``concurrency`` that is not an ``int`` >= 1; before any request.

        """
        return await _bulk.get_many(
            self._bulk_fetcher(timeout, extra_headers),
            ids,
            parameter=self._lookup_route.path_params[0],
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            on_progress=on_progress,
        )

    async def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> AsyncGenerator[tuple[str, T | LoopsError], None]:
        """Look many objects up by id, yielding ``(id, object | LoopsError)`` as each completes.

        The objects are those :meth:`get` answers. ``ids`` may be any iterable or async
        iterable and is consumed lazily: at most ``concurrency`` lookups are in flight and at
        most ``concurrency`` results wait for you, so memory stays proportional to
        ``concurrency``, not to the number of ids (a generator of a million ids works). Each
        input id yields exactly one pair, in completion order; duplicates are looked up again
        (use :meth:`get_many` to share one request between duplicates). A failed or invalid id
        yields its :class:`LoopsError` (``InvalidIdError`` for a bad id) and never stops the
        others. For a progress bar, advance it once per pair yielded. Through
        ``with_raw_response``, each object comes in a :class:`RawResponse` of its own lookup.

        Stopping early (``break``, cancellation, a timeout) cancels the lookups in flight.
        Cleanup runs when the generator is closed; use ``contextlib.aclosing`` to close it
        at a point of your choosing::

            async with contextlib.aclosing(client.samplers.iter_many(ids)) as results:
                async for sampler_id, result in results:
                    ...

        Args:
            ids: The ids.
            concurrency: Most lookups in flight at once (default 16).
            timeout: Seconds each lookup may take in all, as ``get(..., timeout=)``: a lookup
                that runs out yields its ``APITimeoutError``; the others go on.
            extra_headers: Headers for every lookup, never ``Authorization`` (``ExtraHeaders``).

        """
        # Made in this generator's body: its options are checked when iterating starts, where
        # every other failure of iter_many is met too.
        lookups = _bulk.iter_many(
            self._bulk_fetcher(timeout, extra_headers),
            ids,
            parameter=self._lookup_route.path_params[0],
            concurrency=concurrency,
        )
        async with contextlib.aclosing(lookups):  # closing this generator closes the engine's
            async for item in lookups:
                yield item


class RawLookups(RawResource, LookupsById[RawResponse[T]], Generic[T]):
    """The raw view of a group with lookups by id (``T``): one :class:`RawResponse` per id.

    ``class X(RawLookups[Run], plain=RunsResource)``: the bulk lookups of
    :class:`LookupsById`, on the lookup route of the plain group, each lookup answering a
    :class:`RawResponse` of its own; ``elapsed`` and ``attempts`` are that lookup's, a
    throttled one's wait included.
    """

    def __init_subclass__(cls, *, plain: type[Resource] | None = None, **kwargs: Any) -> None:
        if plain is not None:
            assert issubclass(plain, LookupsById), f"{plain.__name__} has no lookups by id"
            cls._lookup_route = plain._lookup_route
        super().__init_subclass__(plain=plain, **kwargs)

    def _bulk_fetcher(
        self, timeout: float | None, extra_headers: ExtraHeaders
    ) -> Fetch[RawResponse[T]]:
        """As the plain group's, each lookup answering a :class:`RawResponse` of its own."""
        if timeout is not None:
            check_timeout(timeout)
        lookup = self._lookup(self._lookup_route, extra_headers, timeout, defer=True)

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
