"""The machinery under :class:`SyncLoopsClient`: a private event loop in a thread, and views.

The blocking classes themselves (``SyncLoopsClient``, ``SyncSamplersResource``, ...) are
generated from the async ones into ``_sync_generated.py`` by ``python -m
baseten_loops._generate_sync``: real, typed source that checkers and ``help()`` read. Each
generated method has its async twin's signature and docstring, and one line of body that hands
the async method and its arguments to this module, which runs it on the facade's loop.

How it works: each facade owns one private event loop running in a daemon thread, started on
first use. A blocking call creates the async call on that loop, waits for it, and hands back its
result or raises its exception (the very same object, so the same class). The async client and
its connection pool live on that loop for the facade's whole life, so keep-alive works across
calls, and a caller whose own thread runs an event loop (a Jupyter cell, an ``async def`` test)
is not in the way: its loop only waits, as for any blocking call.

Lifetimes: a view (``client.samplers``, ``client.with_raw_response`` and its groups), a bound
method taken from it, an iterator it returned (a raw listing's ``parse()`` included) and a
``with_options`` copy each hold the facade they came from, as the async client's views do, so
``SyncLoopsClient(...).samplers.get(id)`` works; the facade is closed once nothing holds it.
After ``os.fork()`` the child gets a loop thread and connections of its own (see
:meth:`_LoopThread._after_fork_in_child`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar

from ._client import LoopsClient
from ._exceptions import ClientClosedError, LoopsError
from ._fork import abandon_loop, call_in_forked_child
from ._response import RawResponse

__all__ = ["SyncIterator", "SyncResource", "SyncView"]

_T = TypeVar("_T")
_R = TypeVar("_R")
_C = TypeVar("_C", bound="SyncClientBase")
_P = ParamSpec("_P")

_CLOSED_MESSAGE = "this SyncLoopsClient is closed; create a new one"


class _LoopThread:
    """One private event loop in a daemon thread, running coroutines for blocking callers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.closed = False
        #: How many times this process was forked from the one that made the loop: a
        #: :class:`SyncIterator` opened before a fork belongs to the parent's loop.
        self.generation = 0
        #: The parent's loop, after a fork: kept, never run or closed (see below).
        self._parents_loop: asyncio.AbstractEventLoop | None = None
        #: The async iterators :class:`SyncIterator` opened on this loop, to close at the end.
        self.open_iterators: weakref.WeakSet[AsyncIterator[Any]] = weakref.WeakSet()
        call_in_forked_child(self._after_fork_in_child)

    def is_own_thread(self) -> bool:
        """Whether the caller runs on this loop's thread (a callback such as ``on_status``)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def call(
        self, function: Callable[_P, Awaitable[_T]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """Call ``function`` on the loop, await what it returns, and return (or raise) that.

        The function is called on the loop's thread, so that code which looks for the running
        loop when called (not only when awaited) finds this one. If the wait is interrupted
        (Ctrl-C's ``KeyboardInterrupt``, an exception raised by a signal handler), the task is
        cancelled and its cleanup awaited before the interruption propagates, so nothing of the
        call keeps running behind the caller's back. A call cancelled because the facade was
        closed meanwhile (from another thread) raises :class:`ClientClosedError`.
        """
        if self.is_own_thread():
            raise LoopsError(
                "a SyncLoopsClient was called from a callback running on its own event loop "
                "(e.g. on_status); it would wait for itself forever. Do not call the sync "
                "client from its callbacks."
            )
        finished = threading.Event()
        tasks: list[asyncio.Task[_T]] = []

        def start() -> None:
            task = asyncio.get_running_loop().create_task(_called(function, args, kwargs))
            task.add_done_callback(lambda _: finished.set())
            tasks.append(task)

        def cancel() -> None:
            # Callbacks run in order: if `start` was scheduled at all, it has run by now.
            if tasks:
                tasks[0].cancel()
            else:
                finished.set()

        loop: asyncio.AbstractEventLoop | None = None
        try:
            with self._lock:
                # Scheduled under the lock that `shut_down` takes to mark the loop closed, so a
                # call is either refused here or started before the loop cancels what runs.
                loop = self._running_loop()
                loop.call_soon_threadsafe(start)
            _wait(finished)
        except BaseException:
            # Interrupted (or refused): cancel the call, if it was started, and wait for its
            # cleanup. A closed loop has already cancelled and finished it.
            if loop is not None:
                try:
                    loop.call_soon_threadsafe(cancel)
                except RuntimeError:
                    pass
                else:
                    _wait(finished)
            raise
        task = tasks[0]
        if task.cancelled() and self.closed:
            raise ClientClosedError("this SyncLoopsClient was closed while the call was running")
        return task.result()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        # The caller holds self._lock.
        if self.closed:
            raise ClientClosedError(_CLOSED_MESSAGE)
        if self._loop is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=_run_until_stopped, args=(loop,), name="baseten_loops-sync", daemon=True
            )
            thread.start()
            self._loop, self._thread = loop, thread
        return self._loop

    def shut_down(self, close_client: Callable[[], Awaitable[None]]) -> None:
        """Close the client with ``close_client`` on the loop, then stop the loop and its thread.

        Refuses every later call. From the loop's own thread (the last reference to a facade
        dropped by one of its callbacks) it cannot wait for the loop: it winds the loop down
        from inside instead, and the thread ends by itself.
        """
        if self.is_own_thread():
            with self._lock:
                if self.closed:
                    return
                self.closed = True
            wind_down = _wind_down(close_client, self.open_iterators)
            asyncio.get_running_loop().create_task(wind_down)
            return
        with self._lock:
            if self.closed:
                return
            self.closed = True
            loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return  # never started (in this process)
        asyncio.run_coroutine_threadsafe(_wind_down(close_client, self.open_iterators), loop)
        thread.join()

    def _after_fork_in_child(self) -> None:
        """In the child of ``os.fork()``: forget the parent's loop, start afresh on first use.

        The loop's thread does not exist in the child, so the parent's loop never runs here
        and a call waiting on it would wait forever; closing its copy would act on the
        parent's (see ``_fork.py``). It is kept as it is, silenced, and a new loop (with new
        connections) starts on the next call. The lock is new too: another thread of the
        parent may have held it.
        """
        self._lock = threading.Lock()
        if self._loop is not None:
            abandon_loop(self._loop)
            self._parents_loop = self._loop
        self._loop = self._thread = None
        self.generation += 1


def _run_until_stopped(loop: asyncio.AbstractEventLoop) -> None:
    try:
        loop.run_forever()
    finally:
        loop.close()


#: How long a waiting caller blocks at a time. Python runs signal handlers (Ctrl-C) between
#: bytecodes; a signal landing just before the thread blocks in C would otherwise be handled
#: only when the call ends. Waking up this often bounds that delay at a negligible cost.
_SIGNAL_CHECK_SECONDS = 0.1


def _wait(event: threading.Event) -> None:
    while not event.wait(_SIGNAL_CHECK_SECONDS):
        pass


async def _called(
    function: Callable[..., Awaitable[_T]], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> _T:
    return await function(*args, **kwargs)


async def _wind_down(
    close_client: Callable[[], Awaitable[None]], open_iterators: Iterable[AsyncIterator[Any]]
) -> None:
    """Close the client, cancel what still runs, close async generators; then stop the loop."""
    loop = asyncio.get_running_loop()
    try:
        await close_client()
    finally:
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        # The iterators handed out first, one at a time: each closes the generators it drives
        # (iter_many, the bulk engine's). `shutdown_asyncgens` alone would close all of them
        # at once, and an inner one being closed by both fails ("already running").
        for iterator in list(open_iterators):
            with contextlib.suppress(Exception):
                await _aclose(iterator)
        await loop.shutdown_asyncgens()
        await loop.shutdown_default_executor()
        loop.stop()


async def _aclose(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class SyncClientBase:
    """What every blocking client shares: its loop thread, closing, and derived copies.

    The generated :class:`SyncLoopsClient` adds the constructor, the resource groups and the
    options; this class holds the async client they wrap and runs its calls.
    """

    _client: LoopsClient
    _loop_thread: _LoopThread
    #: The facade this one was derived from (``with_options``), kept alive by it.
    _parent: SyncClientBase | None
    _closed: bool
    _finalizer: Callable[[], object] | None

    def _open(self, client: LoopsClient) -> None:
        """Wrap ``client``, made by the constructor, on a loop thread of its own."""
        self._client = client
        self._loop_thread = _LoopThread()
        self._parent = None
        self._closed = False
        # Also runs at interpreter exit, so a script that never closes still ends cleanly.
        self._finalizer = weakref.finalize(self, _shut_down, self._loop_thread, client)

    def _derive(self: _C, client: LoopsClient) -> _C:
        """A facade over ``client`` (derived from this one's): this loop, this pool."""
        facade = type(self).__new__(type(self))
        facade._client = client
        facade._loop_thread = self._loop_thread
        facade._parent = self
        facade._closed = False
        facade._finalizer = None
        return facade

    def _call(
        self, function: Callable[_P, Awaitable[_T]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        if self._closed:
            raise ClientClosedError(
                "this SyncLoopsClient (made by with_options) is closed; the client it was made "
                "from, and its other copies, still work"
            )
        return self._loop_thread.call(function, *args, **kwargs)

    def close(self) -> None:
        """Close the connection pool and stop the background thread. Safe to call twice.

        Every later call, and every iterator not yet finished, raises
        :class:`ClientClosedError`; so does a call still running in another thread. On a copy
        made by ``with_options``, only the copy stops taking calls: the loop and the pool
        belong to the client it was made from, which alone closes them.
        """
        if self._finalizer is None:
            self._closed = True
        else:
            self._finalizer()

    def __enter__(self: _C) -> _C:
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


def _shut_down(loop_thread: _LoopThread, client: LoopsClient) -> None:
    """Close the async client on its loop, then stop the loop (close, ``with``, GC, exit)."""
    loop_thread.shut_down(client.close)


class SyncView(Generic[_R]):
    """A blocking view of an object of the async client, holding the facade it came from.

    The base of the resource groups (:class:`SyncResource`) and of
    ``sync_client.with_raw_response``, whose groups are resources too. Holding the facade keeps
    it alive: ``SyncLoopsClient(...).with_raw_response.samplers.get(id)`` works.
    """

    __slots__ = ("_owner", "_resource")

    def __init__(self, resource: _R, owner: SyncClientBase) -> None:
        self._resource = resource
        self._owner = owner

    def __repr__(self) -> str:
        return f"<sync view of {type(self._resource).__name__}>"


class SyncResource(SyncView[_R]):
    """Base of the blocking resource groups (``sync_client.samplers``, ...).

    Each one is generated from its async class (``SamplersResource`` for
    :class:`SyncSamplersResource`): every method has the same arguments, returns what awaiting
    the async method returns and raises the same exceptions; an async iterator comes back as a
    :class:`SyncIterator`. A view keeps its client alive, so a bound method or an iterator
    taken from ``SyncLoopsClient(...).samplers`` works on its own. The raw views
    (``sync_client.with_raw_response.samplers``) are resources too: each method returns the
    :class:`RawResponse` its async twin does.
    """

    __slots__ = ()

    def _run(
        self, method: Callable[_P, Awaitable[_T]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """Run the async ``method`` on the facade's loop and return its result."""
        return self._owner._call(method, *args, **kwargs)

    def _iterate(
        self,
        method: Callable[_P, AsyncIterator[_T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> SyncIterator[_T]:
        """A :class:`SyncIterator` over what the async ``method`` yields; nothing runs yet.

        Ids passed as :class:`PacedIds` are paced by the iterator's ``next()`` calls.
        """
        paced = [value for value in (*args, *kwargs.values()) if isinstance(value, PacedIds)]
        return SyncIterator(
            self._owner,
            functools.partial(method, *args, **kwargs),
            demand=paced[0].demand if paced else None,
        )

    def _run_raw_listing(
        self,
        method: Callable[_P, Awaitable[RawResponse[AsyncIterator[_T]]]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> RawResponse[SyncIterator[_T]]:
        """Run the async raw listing ``method``: its answer, whose ``parse()`` is blocking.

        The first page is fetched now, as by the async method; its answer comes back with a
        :class:`SyncIterator` over the async iterator its ``parse()`` gave, so the first page's
        items come first and each later page is fetched by a ``next()``, on the facade's loop.
        """
        raw = self._run(method, *args, **kwargs)
        items = raw.parse()
        return raw._replace_value(SyncIterator(self._owner, lambda: items))


class _Demand:
    """Whether the consumer of a :class:`SyncIterator` is waiting in ``next()``.

    Lives on the facade's loop. :class:`PacedIds` hands out an id only while the consumer
    waits, so a bulk lookup's workers start nothing between ``next()`` calls.
    """

    def __init__(self) -> None:
        self.asking = False
        self._asked: asyncio.Event | None = None

    def ask(self, asking: bool) -> None:
        self.asking = asking
        if self._asked is not None:
            if asking:
                self._asked.set()
            else:
                self._asked.clear()

    async def wait(self) -> None:
        while not self.asking:
            if self._asked is None:
                self._asked = asyncio.Event()
            await self._asked.wait()


class PacedIds(AsyncIterator[str]):
    """The ids of a blocking ``iter_many``, handed out only while its consumer asks.

    The generated twin of every bulk iterator passes its ids through this. The bulk engine's
    workers take the next id from it, so they look ids up while the caller waits in ``next()``
    and pause between calls: a ``break`` leaves only the lookups already in flight, and none
    is sent after them, even while the iterator is still referenced. Closing the iterator
    cancels those in flight.
    """

    def __init__(self, ids: Iterable[str] | AsyncIterable[str]) -> None:
        self._ids = ids
        self._iterator: Iterator[str] | AsyncIterator[str] | None = None
        self.demand = _Demand()

    def __aiter__(self) -> PacedIds:
        return self

    async def __anext__(self) -> str:
        await self.demand.wait()
        iterator = self._iterator
        if iterator is None:
            ids = self._ids
            iterator = self._iterator = aiter(ids) if isinstance(ids, AsyncIterable) else iter(ids)
        if isinstance(iterator, AsyncIterator):
            return await anext(iterator)
        try:
            return next(iterator)
        except StopIteration:
            raise StopAsyncIteration from None


_EXHAUSTED: Any = object()


class SyncIterator(Iterator[_T]):
    """A blocking, lazy iterator over an async iterator that runs on the facade's loop.

    Nothing runs before the first ``next()``; each ``next()`` advances the async iterator by one
    step. The lookups of ``iter_many`` are started only while you wait in ``next()``: between
    two calls, and after a ``break``, no new one is sent (those in flight finish). Closing it
    (``close()``, ``with``, running to the end, or dropping the last reference, as a ``for``
    over ``client.samplers.iter_many(ids)`` does when it ends or breaks) closes the async
    generator on its loop, which for ``iter_many`` cancels the lookups still in flight.

    After the client is closed, ``next()`` raises :class:`ClientClosedError`.
    """

    def __init__(
        self,
        owner: SyncClientBase,
        open_iterator: Callable[[], AsyncIterator[_T]],
        *,
        demand: _Demand | None = None,
    ) -> None:
        self._owner = owner
        self._open_iterator: Callable[[], AsyncIterator[_T]] | None = open_iterator
        self._iterator: AsyncIterator[_T] | None = None
        self._demand = demand
        #: The loop thread's generation when the async iterator was opened (see os.fork()).
        self._generation = -1

    def __iter__(self) -> SyncIterator[_T]:
        return self

    def __next__(self) -> _T:
        generation = self._owner._loop_thread.generation
        if self._iterator is None:
            if self._open_iterator is None:
                raise StopIteration
            self._generation = generation
        elif self._generation != generation:
            raise LoopsError(
                "this iterator was started before os.fork(): it belongs to the parent "
                "process; start a new one in the child"
            )
        item = self._owner._call(self._step)
        if item is _EXHAUSTED:
            self._iterator = None
            raise StopIteration
        return item

    async def _step(self) -> _T:
        # StopAsyncIteration is not carried across threads as an exception: a sentinel says
        # "no more".
        if self._iterator is None:
            assert self._open_iterator is not None
            self._iterator = aiter(self._open_iterator())
            self._open_iterator = None
            with contextlib.suppress(TypeError):  # an iterator that takes no weak reference
                self._owner._loop_thread.open_iterators.add(self._iterator)
        demand = self._demand
        if demand is not None:
            demand.ask(True)
        try:
            return await anext(self._iterator)
        except StopAsyncIteration:
            return _EXHAUSTED  # type: ignore[no-any-return]
        finally:
            if demand is not None:
                demand.ask(False)

    def close(self) -> None:
        """Stop early: close the async generator (its ``finally`` blocks run) and wait for it."""
        iterator, self._iterator, self._open_iterator = self._iterator, None, None
        loop_thread = self._owner._loop_thread
        if (
            iterator is None
            or loop_thread.closed
            or loop_thread.is_own_thread()
            or self._generation != loop_thread.generation
        ):
            # A closed facade already closed every async generator of its loop; on the loop's
            # own thread, the loop finalizes the generator itself once it is unreachable; one
            # from before a fork belongs to the parent's loop, which does not run here.
            return
        loop_thread.call(_aclose, iterator)

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
