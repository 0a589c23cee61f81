"""The bulk engine: many lookups by id, in bounded concurrency, for any resource group.

A group hands it a *fetch* (``Resource._fetcher``: one lookup of one id whose path segment is
already validated, with the call's options bound) and the ids; this module owns the rest, once
for every group: the worker pool, input order or completion order, duplicates, memory bounds,
invalid ids failing only their own slot, and the 401 short-circuit.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
)
from typing import Any, Protocol, TypeVar

from ._exceptions import AuthenticationError, LoopsError
from ._retry import Deferred, RetryState
from ._sansio import path_segment

__all__ = ["Fetch", "Ids", "Progress", "check_concurrency", "get_many", "iter_many"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Fetch(Protocol[T_co]):
    """One lookup: ``await fetch(object_id, path_segment)`` -> the object.

    Raises a :class:`LoopsError`, or :class:`Deferred` for a throttled lookup to resume later
    with ``fetch(object_id, path_segment, resume=deferred.state)``.
    """

    def __call__(
        self, object_id: str, segment: str, resume: RetryState | None = None
    ) -> Awaitable[T_co]: ...


#: What the bulk calls take: any iterable of ids, or an async iterable (``iter_many`` only).
Ids = Iterable[str] | AsyncIterable[str]

#: ``get_many(on_progress=...)``: called with ``(done, total)``, ids of the input that have
#: their result and ids in all, from the event loop's thread (see :func:`get_many`).
Progress = Callable[[int, int], object]


def check_concurrency(concurrency: int) -> None:
    """Refuse a ``concurrency`` that is not an ``int`` >= 1 (before any I/O)."""
    if type(concurrency) is not int or concurrency < 1:
        raise ValueError(f"concurrency must be an int >= 1, got {concurrency!r}")


class _Bulk:
    """What the lookups of one bulk call share: a key the server refused ends them all.

    A 401 means no lookup of this client can succeed, so once one is met the remaining ids get
    that same error without a request each (10,000 ids with a wrong key send one request per
    worker in flight, not 10,000).
    """

    __slots__ = ("rejected",)

    def __init__(self) -> None:
        self.rejected: AuthenticationError | None = None

    def failed(self, error: LoopsError) -> LoopsError:
        """Note a lookup's error (a 401 ends the call for every id left) and return it."""
        if isinstance(error, AuthenticationError):
            self.rejected = error
        return error


async def get_many(
    fetch: Fetch[T],
    ids: Iterable[str],
    *,
    parameter: str,
    concurrency: int,
    return_exceptions: bool,
    on_progress: Progress | None = None,
) -> list[T | LoopsError]:
    """Look every id up; results in input order, one request per distinct id.

    Each id is validated once, here, as the path id ``parameter``: with ``return_exceptions``
    an invalid one fails only its own slot, without it the whole call is refused before any
    request. Without ``return_exceptions`` the first failure is raised and the lookups still in
    flight are cancelled.

    ``on_progress(done, total)`` is called once before the first request (``done``: the
    invalid ids, already failed) and again each time a lookup fills its slots (all of a
    duplicated id's at once), so ``done`` reaches ``total`` (``len(ids)``) at the end of a call
    that does not raise. An exception it raises ends the call like a failed lookup would
    without ``return_exceptions``.
    """
    check_concurrency(concurrency)
    bulk = _Bulk()
    slots: list[T | LoopsError | None] = []
    # Each distinct id: its path segment and the slots it fills (duplicates share a request).
    positions: dict[str, tuple[str, list[int]]] = {}
    for index, object_id in enumerate(ids):
        slots.append(None)
        try:
            segment = path_segment(object_id, parameter)
        except LoopsError as exc:
            if not return_exceptions:
                raise  # refuse bad input before any request is made
            slots[index] = exc
            continue
        entry = positions.get(object_id)
        if entry is None:
            positions[object_id] = (segment, [index])
        else:
            entry[1].append(index)
    pending = iter(positions.items())  # the distinct ids, shared by the workers
    later = _Later()
    progress = None
    if on_progress is not None:
        progress = _Progress(on_progress, sum(slot is not None for slot in slots), len(slots))

    async def worker() -> None:
        # Results go straight into their slots: no queue, no hand-off per lookup.
        while True:
            resume = None
            due = later.due()
            if due is not None:
                object_id, segment, resume = due
            else:
                item = next(pending, None)
                if item is None:
                    if not later:
                        return
                    await later.wait()
                    continue
                object_id, (segment, _) = item
            result: T | LoopsError | None = bulk.rejected
            if result is None:
                try:
                    result = await fetch(object_id, segment, resume)
                except Deferred as deferred:
                    later.add(deferred, object_id, segment)
                    continue
                except LoopsError as exc:
                    if not return_exceptions:
                        raise  # _run_workers cancels the lookups still in flight
                    result = bulk.failed(exc)
            indexes = positions[object_id][1]
            for index in indexes:
                slots[index] = result
            if progress is not None:
                progress.advance(len(indexes))

    await _run_workers(worker, min(concurrency, len(positions)))
    return slots  # type: ignore[return-value]  # every slot is filled by now


async def iter_many(
    fetch: Fetch[T], ids: Ids, *, parameter: str, concurrency: int
) -> AsyncGenerator[tuple[str, T | LoopsError], None]:
    """Yield ``(id, object or LoopsError)`` for each id, in completion order.

    ``ids`` is read lazily and at most ``concurrency`` results wait for the consumer, so memory
    stays proportional to ``concurrency``, not to the number of ids. An invalid id yields its
    error and never stops the others. Closing the generator cancels the lookups in flight.
    """
    check_concurrency(concurrency)
    # `concurrency` workers each take the next id, look it up, put the result in `ready` and
    # take another. The consumer takes everything ready at once, so it is woken once per
    # batch rather than once per result; `ready` never holds more than `concurrency` results
    # (workers wait for room), which bounds memory.
    ready: list[tuple[str, T | LoopsError]] = []
    wake_consumer = asyncio.Event()
    room = asyncio.Event()
    next_id = _id_source(ids)
    bulk = _Bulk()
    later = _Later()
    running = concurrency
    failure: list[Exception] = []

    async def worker() -> None:
        nonlocal running
        try:
            while True:
                resume = None
                due = later.due()
                if due is not None:
                    object_id, segment, resume = due
                else:
                    try:
                        object_id = await next_id()
                    except StopAsyncIteration:
                        if not later:
                            break
                        await later.wait()
                        continue
                    segment = ""
                result: T | LoopsError | None = bulk.rejected
                if result is None:
                    try:
                        if resume is None:
                            segment = path_segment(object_id, parameter)
                        result = await fetch(object_id, segment, resume)
                    except Deferred as deferred:
                        later.add(deferred, object_id, segment)
                        continue
                    except LoopsError as exc:
                        result = bulk.failed(exc)
                while len(ready) >= concurrency:
                    room.clear()
                    await room.wait()
                ready.append((object_id, result))
                wake_consumer.set()
        except Exception as exc:  # a bug, or the ids iterable failed: surface it
            failure.append(exc)
        finally:
            running -= 1
            wake_consumer.set()

    loop = asyncio.get_running_loop()
    workers = [loop.create_task(worker()) for _ in range(concurrency)]
    try:
        while True:
            if failure:
                raise failure[0]
            if ready:
                batch = ready.copy()
                ready.clear()
                room.set()
                for item in batch:
                    yield item
            elif not running:
                return
            else:
                wake_consumer.clear()
                await wake_consumer.wait()
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


class _Progress:
    """The ``on_progress`` of one ``get_many``: counts ids done and reports each change."""

    __slots__ = ("_report", "done", "total")

    def __init__(self, report: Progress, done: int, total: int) -> None:
        self._report = report
        self.done = done
        self.total = total
        report(done, total)

    def advance(self, count: int) -> None:
        self.done += count
        self._report(self.done, self.total)


class _Later:
    """The throttled lookups of one bulk call, each to be resumed at its ``not_before``.

    A throttled lookup does not hold its worker while it waits out ``Retry-After``: the worker
    looks up other ids and comes back to it when it is due (due ones first).
    """

    __slots__ = ("_heap", "_order")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, str, RetryState]] = []
        self._order = itertools.count()  # ties in time keep their order, never compare states

    def __bool__(self) -> bool:
        return bool(self._heap)

    def add(self, deferred: Deferred, object_id: str, segment: str) -> None:
        entry = (deferred.not_before, next(self._order), object_id, segment, deferred.state)
        heapq.heappush(self._heap, entry)

    def due(self) -> tuple[str, str, RetryState] | None:
        """The earliest lookup whose time has come (taken off), or ``None``."""
        heap = self._heap
        if not heap or heap[0][0] > asyncio.get_running_loop().time():
            return None
        _, _, object_id, segment, state = heapq.heappop(heap)
        return object_id, segment, state

    async def wait(self) -> None:
        """Sleep until the earliest lookup is due."""
        await asyncio.sleep(self._heap[0][0] - asyncio.get_running_loop().time())


async def _run_workers(worker: Callable[[], Coroutine[Any, Any, None]], count: int) -> None:
    """Run ``count`` copies of ``worker``; if one fails (or we are cancelled), stop them all."""
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(worker()) for _ in range(count)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _id_source(ids: Ids) -> Callable[[], Awaitable[str]]:
    """One awaitable "next id" for sync and async iterables; raises StopAsyncIteration.

    Safe to share between workers: an async iterator is advanced under a lock, since an async
    generator refuses a second ``__anext__`` while one is pending.
    """
    if isinstance(ids, AsyncIterable):
        iterator_ = aiter(ids)
        lock = asyncio.Lock()

        async def next_async_id() -> str:
            async with lock:
                return await anext(iterator_)

        return next_async_id
    iterator = iter(ids)

    async def next_id() -> str:
        try:
            return next(iterator)
        except StopIteration:
            raise StopAsyncIteration from None

    return next_id
