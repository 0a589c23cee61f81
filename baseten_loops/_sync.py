"""A blocking facade: :class:`SyncLoopsClient`, derived from :class:`LoopsClient` at run time.

How it works: each facade owns one private event loop running in a daemon thread, started on
first use. A blocking call builds the async call on that loop, waits for it, and hands back its
result or raises its exception (the very same object, so the same class). The async client and
its one connection pool live on that loop for the facade's whole life, so keep-alive works
across calls, and a caller whose own thread runs an event loop (a Jupyter cell, an ``async def``
test) is not in the way: its loop only waits, as for any blocking call.

No blocking method is written by hand. ``sync_client.<name>`` looks ``<name>`` up on the async
client when asked: a resource object (one with public async methods, e.g. ``samplers``) comes
back as a :class:`SyncResource` view, whose methods are blocking versions of the async ones;
anything async-iterable a call returns (``iter_many``'s async generator) comes back as a lazy
:class:`SyncIterator`. A method or resource added to :class:`LoopsClient` is therefore in the
facade the moment it exists.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar

from ._client import LoopsClient
from ._exceptions import ConfigurationError, LoopsError
from ._resources import SamplersResource

__all__ = ["SyncIterator", "SyncLoopsClient", "SyncResource", "SyncSamplersResource"]

_T = TypeVar("_T")
_R = TypeVar("_R")
_S = TypeVar("_S")
_P = ParamSpec("_P")

_CLOSED_MESSAGE = "this SyncLoopsClient is closed; create a new one"


class _LoopThread:
    """One private event loop in a daemon thread, running coroutines for blocking callers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.closed = False

    @property
    def started(self) -> bool:
        return self._loop is not None

    def is_own_thread(self) -> bool:
        """Whether the caller runs on this loop's thread (a callback such as ``on_status``)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self.closed:
                raise LoopsError(_CLOSED_MESSAGE)
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="baseten_loops-sync", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, awaitable: Awaitable[_T]) -> _T:
        """Run ``awaitable`` on the loop and wait for its result (or its exception).

        If the wait is interrupted (Ctrl-C's ``KeyboardInterrupt``, an exception raised by a
        signal handler), the task is cancelled and its cleanup awaited before the interruption
        propagates, so nothing of the call keeps running behind the caller's back.
        """
        if self.is_own_thread():
            _discard(awaitable)
            raise LoopsError(
                "a SyncLoopsClient was called from a callback running on its own event loop "
                "(e.g. on_status); it would wait for itself forever. Do not call the sync "
                "client from its callbacks."
            )
        try:
            loop = self._running_loop()
        except LoopsError:
            _discard(awaitable)
            raise
        finished = threading.Event()
        tasks: list[asyncio.Task[_T]] = []

        def start() -> None:
            task = loop.create_task(_awaited(awaitable))
            task.add_done_callback(lambda _: finished.set())
            tasks.append(task)

        def cancel() -> None:
            # Callbacks run in order: if `start` was scheduled at all, it has run by now.
            if tasks:
                tasks[0].cancel()
            else:
                _discard(awaitable)
                finished.set()

        try:
            loop.call_soon_threadsafe(start)
            _wait(finished)
        except BaseException:
            loop.call_soon_threadsafe(cancel)
            _wait(finished)
            raise
        return tasks[0].result()

    def stop(self) -> None:
        """Cancel what still runs, close async generators, stop the loop and join its thread."""
        with self._lock:
            self.closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(_wind_down(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


#: How long a waiting caller blocks at a time. Python runs signal handlers (Ctrl-C) between
#: bytecodes; a signal landing just before the thread blocks in C would otherwise be handled
#: only when the call ends. Waking up this often bounds that delay at a negligible cost.
_SIGNAL_CHECK_SECONDS = 0.1


def _wait(event: threading.Event) -> None:
    while not event.wait(_SIGNAL_CHECK_SECONDS):
        pass


async def _awaited(awaitable: Awaitable[_T]) -> _T:
    # `create_task` takes coroutines only; `anext()` and friends return other awaitables.
    return await awaitable


def _discard(awaitable: Awaitable[Any]) -> None:
    """Close a coroutine that will never run, so Python does not warn it was never awaited."""
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()


async def _wind_down() -> None:
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    loop = asyncio.get_running_loop()
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()


_EXHAUSTED: Any = object()


async def _next_or_exhausted(iterator: AsyncIterator[_T]) -> _T:
    # StopAsyncIteration is not carried across as an exception: a sentinel says "no more".
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return _EXHAUSTED  # type: ignore[no-any-return]


class SyncIterator(Iterator[_T]):
    """A blocking, lazy iterator over an async iterator that runs on the facade's loop.

    Each ``next()`` advances the async iterator by one step; nothing is fetched ahead. Closing
    it (``close()``, ``with``, running to the end, or dropping the last reference) closes the
    async generator on its loop, which for ``iter_many`` cancels the lookups still in flight.
    """

    def __init__(self, iterator: AsyncIterator[_T], portal: _LoopThread) -> None:
        self._iterator: AsyncIterator[_T] | None = iterator
        self._portal = portal

    def __iter__(self) -> SyncIterator[_T]:
        return self

    def __next__(self) -> _T:
        if self._iterator is None:
            raise StopIteration
        item = self._portal.run(_next_or_exhausted(self._iterator))
        if item is _EXHAUSTED:
            self._iterator = None
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop early: close the async generator (its ``finally`` blocks run) and wait for it."""
        iterator, self._iterator = self._iterator, None
        aclose = getattr(iterator, "aclose", None)
        if aclose is None or self._portal.closed or self._portal.is_own_thread():
            # A closed facade already closed every async generator of its loop; on the loop's
            # own thread, the loop finalizes the generator itself once it is unreachable.
            return
        self._portal.run(aclose())

    def __enter__(self) -> SyncIterator[_T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


def _is_resource(value: object) -> bool:
    """A resource object: an instance (not a class or function) with public async methods."""
    if isinstance(value, type) or callable(value):
        return False
    cls = type(value)
    found = _RESOURCE_CLASSES.get(cls)
    if found is None:
        found = _RESOURCE_CLASSES[cls] = any(
            not name.startswith("_")
            and (inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member))
            for name, member in inspect.getmembers(cls)
        )
    return found


#: Whether a class has public async methods, remembered: `client.samplers` is looked up often.
_RESOURCE_CLASSES: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


async def _invoke(
    function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    # Called on the loop's thread, so that code which looks for the running loop when called
    # (not only when awaited) finds the facade's loop.
    result = function(*args, **kwargs)
    if isinstance(result, AsyncIterable):
        return aiter(result)  # iterated step by step by a SyncIterator: lazy
    if inspect.isawaitable(result):
        result = await result
        if isinstance(result, AsyncIterable):
            return aiter(result)
    return result


def _blocking(function: Callable[..., Any], portal: _LoopThread) -> Callable[..., Any]:
    """The blocking twin of an async callable; keeps its name, docstring and signature."""

    @functools.wraps(function)
    def blocking(*args: Any, **kwargs: Any) -> Any:
        result = portal.run(_invoke(function, args, kwargs))
        if isinstance(result, AsyncIterator):
            return SyncIterator(result, portal)
        if isinstance(result, LoopsClient):  # a derived client, e.g. from `with_options`
            return SyncLoopsClient._sharing(result, portal)
        return result

    return blocking


def _sync_view(value: Any, portal: _LoopThread) -> Any:
    """What the facade shows for an attribute of the async client or of a resource."""
    if _is_resource(value):
        view_class = _TYPED_VIEWS.get(type(value), SyncResource)
        return view_class(value, portal)
    if callable(value):
        return _blocking(value, portal)
    return value


class SyncResource(Generic[_R]):
    """A blocking view of one async resource (``client.samplers``, ...), made at run time.

    Every public attribute of the async resource is here: async methods become blocking
    methods with the same arguments, results and exceptions; async iterators they return
    become :class:`SyncIterator`; other attributes are passed through.
    """

    def __init__(self, resource: _R, portal: _LoopThread) -> None:
        self._resource = resource
        self._portal = portal

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return _sync_view(getattr(self._resource, name), self._portal)

    def __dir__(self) -> Iterable[str]:
        return sorted({*super().__dir__(), *_public_names(self._resource)})

    def __repr__(self) -> str:
        return f"<sync view of {type(self._resource).__name__}>"


def _public_names(value: object) -> list[str]:
    return [name for name in dir(value) if not name.startswith("_")]


if TYPE_CHECKING:
    # Type-level only: turn an async method's type into its blocking twin's, keeping every
    # parameter (ParamSpec) and every overload. Never called at run time.

    def _blocking_type(
        method: Callable[Concatenate[Any, _P], Awaitable[_T]],
    ) -> Callable[Concatenate[Any, _P], _T]:
        raise NotImplementedError

    def _iterator_type(
        method: Callable[Concatenate[Any, _P], AsyncIterator[_T]],
    ) -> Callable[Concatenate[Any, _P], SyncIterator[_T]]:
        raise NotImplementedError


class SyncSamplersResource(SyncResource[SamplersResource]):
    """``sync_client.samplers``: the blocking view of :class:`SamplersResource`.

    At run time this is the generic :class:`SyncResource`. For type checkers, each method's
    type is computed from the async method's own (same parameters and overloads, result not
    awaited, async iterator made a :class:`SyncIterator`), so it cannot drift from it; a test
    checks every async method is listed. Each method is documented on
    :class:`SamplersResource`.
    """

    if TYPE_CHECKING:
        get = _blocking_type(SamplersResource.get)
        get_many = _blocking_type(SamplersResource.get_many)
        iter_many = _iterator_type(SamplersResource.iter_many)
        wait_until_active = _blocking_type(SamplersResource.wait_until_active)
        list = _blocking_type(SamplersResource.list)
        create = _blocking_type(SamplersResource.create)
        deactivate = _blocking_type(SamplersResource.deactivate)


#: Typed views for resources that have one; every other resource gets the plain SyncResource.
_TYPED_VIEWS: dict[type, type[SyncResource[Any]]] = {SamplersResource: SyncSamplersResource}


def _same_arguments_as(
    _source: Callable[_P, object],
) -> Callable[[Callable[Concatenate[_S, ...], None]], Callable[Concatenate[_S, _P], None]]:
    """Give a forwarding ``__init__(*args, **kwargs)`` the exact signature of ``_source``."""

    def decorate(init: Callable[Concatenate[_S, ...], None]) -> Callable[Concatenate[_S, _P], None]:
        return init

    return decorate


def _shut_down(portal: _LoopThread, client: LoopsClient) -> None:
    """Close the async client on its loop, then stop the loop (close, ``with``, GC, exit)."""
    if portal.is_own_thread():
        return  # cannot wait for the loop from inside it; the daemon thread ends at exit
    if portal.started and not portal.closed:
        portal.run(client.close())
    portal.stop()


class SyncLoopsClient:
    """Blocking client for scripts and notebooks, with the resources and methods of LoopsClient.

    ::

        with SyncLoopsClient() as client:  # key from BASETEN_API_KEY
            sampler = client.samplers.get("abc123")
            for sampler_id, result in client.samplers.iter_many(ids):
                ...

    Takes exactly :class:`LoopsClient`'s arguments (except ``session=``: an aiohttp session
    belongs to the loop it was made in, and this client runs its own). Every method returns
    the same models and raises the same exceptions as its async twin. It works from plain
    code and from a thread that runs an event loop (a Jupyter cell, an ``async def``): calls
    run on the facade's private loop in a daemon thread, started on first use, which holds
    the one connection pool of this client. Safe to share between threads.

    Close it (``close()`` or ``with``) to close the pool and stop the thread; one that is
    garbage-collected or still open at interpreter exit is closed then. A method of the async
    client that returns another client (``with_options``) returns a facade sharing this one's
    loop and pool. Ctrl-C during a call
    cancels that call on the background loop before ``KeyboardInterrupt`` reaches you. Do not
    call the facade from its own callbacks (``on_status``): that raises :class:`LoopsError`.

    Typing: Python's type system cannot map "every async method of a class" to "a blocking
    method" in one go, but it can map one method's type, parameters and overloads included
    (``ParamSpec``). So :attr:`samplers` is a :class:`SyncSamplersResource`, which lists each
    method in one line whose type is computed from the async method's: signatures are never
    written twice and cannot drift. Any other attribute is found at run time through
    ``__getattr__`` and typed ``Any``: a resource or method added to :class:`LoopsClient`
    works at once, and gains precise types when its one line is added to a typed view.
    """

    if TYPE_CHECKING:
        samplers: SyncSamplersResource

    @_same_arguments_as(LoopsClient)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("session") is not None:
            raise ConfigurationError(
                "SyncLoopsClient runs its own event loop and connection pool; session= "
                "cannot be used (an aiohttp session belongs to the loop it was made in)"
            )
        self._client = LoopsClient(*args, **kwargs)
        self._portal = _LoopThread()
        self._views: dict[str, SyncResource[Any]] = {}
        # Also runs at interpreter exit, so a script that never closes still ends cleanly.
        self._finalizer: Callable[[], object] = weakref.finalize(
            self, _shut_down, self._portal, self._client
        )

    @classmethod
    def _sharing(cls, client: LoopsClient, portal: _LoopThread) -> SyncLoopsClient:
        """A facade over a client derived from another's: the parent's loop and pool."""
        facade = cls.__new__(cls)
        facade._client = client
        facade._portal = portal
        facade._views = {}
        facade._finalizer = lambda: None
        return facade

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = getattr(self._client, name)
        view = self._views.get(name)
        if view is not None and view._resource is value:
            return view
        result = _sync_view(value, self._portal)
        if isinstance(result, SyncResource):
            self._views[name] = result  # one view per resource: `client.samplers` is cheap
        return result

    def __dir__(self) -> Iterable[str]:
        return sorted({*super().__dir__(), *_public_names(self._client)})

    def close(self) -> None:
        """Close the connection pool and stop the background thread. Safe to call twice.

        A facade returned by a method of this one (such as ``with_options``) shares its loop
        and pool: closing it does nothing; close the facade you created.
        """
        self._finalizer()

    def __enter__(self) -> SyncLoopsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Sync{self._client!r}"


if TYPE_CHECKING:
    from typing_extensions import assert_type

    from ._models import Sampler

    def _types_are_kept(client: SyncLoopsClient) -> None:
        # Never runs: `mypy --strict baseten_loops` (a CI gate) checks the typed view against
        # the async methods. An unneeded `type: ignore` is an error too (warn_unused_ignores),
        # so the last line proves arguments are checked, not typed Any.
        samplers = client.samplers
        assert_type(samplers.get("abc123", timeout=1.0), Sampler)
        assert_type(samplers.get_many(["abc123"]), list[Sampler])
        assert_type(samplers.get_many([], return_exceptions=True), list[Sampler | LoopsError])
        assert_type(samplers.iter_many(["abc123"]), SyncIterator[tuple[str, Sampler | LoopsError]])
        assert_type(samplers.wait_until_active("abc123", poll_interval=1.0), Sampler)
        samplers.get(123)  # type: ignore[arg-type]
