"""The samplers resource: the API's paths and shapes, single and bulk lookups, and waiting.

Requests go through the session (``_session.py``); bodies become models in ``_convert.py``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Coroutine, Iterable
from typing import Any, Literal, overload

from ._convert import parse_sampler_response
from ._exceptions import (
    AuthenticationError,
    LoopsError,
    ResponseValidationError,
    SamplerFailedError,
    WaitTimeoutError,
)
from ._models import AvailabilityModel, DeactivatedSampler, Sampler
from ._resources._base import ExtraHeaders, Resource, call_arguments
from ._routes import SAMPLERS_CREATE, SAMPLERS_DEACTIVATE, SAMPLERS_LIST
from ._sansio import check_headers, check_timeout, sampler_path
from ._waiting import check_wait_arguments, poll_until

__all__ = ["SamplersResource"]

SamplerIds = Iterable[str] | AsyncIterable[str]


class SamplersResource(Resource):
    """``client.samplers``: create, list, deactivate, look up (one, many) and await samplers."""

    async def get(
        self,
        sampler_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> Sampler:
        """Fetch one sampler by id (``GET /v1/loops/samplers/{sampler_id}``).

        Args:
            sampler_id: The sampler's id. Validated before any I/O.
            timeout: Total seconds for this call across all attempts and waits; tightens
                ``RetryPolicy.deadline`` for this call only.
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            SamplerIdTypeError: ``sampler_id`` is not a ``str`` (also a ``TypeError``).
            InvalidSamplerIdError: ``sampler_id`` is empty, ``..``, has ``/`` ... (also a
                ``ValueError``).
            NotFoundError: No such sampler.
            APIStatusError: Any other non-2xx answer (after retries where retryable).
            APIConnectionError: No answer (after retries); ``APITimeoutError`` for timeouts.
            ResponseValidationError: A 2xx body that is not a valid sampler.

        """
        path = sampler_path(sampler_id)
        deadline = None
        if timeout is not None:
            deadline = asyncio.get_running_loop().time() + timeout
        # Parsed without a local for the body: a traceback printed with its frames' locals
        # must not show a body that echoes the key.
        sampler = parse_sampler_response(
            await self._http.request("GET", path, deadline=deadline, extra_headers=extra_headers),
            secret=self._http.secrets,
        )
        if sampler.id != sampler_id:
            # Never hand back another sampler than the one asked for (a confused cache or
            # proxy): in bulk lookups that would silently mix results up between ids.
            raise ResponseValidationError(
                f"invalid sampler response: sampler.id: asked for {sampler_id!r}, "
                f"the server answered with {sampler.id!r}",
                errors=(f"sampler.id: expected {sampler_id!r}, got {sampler.id!r}",),
            )
        return sampler

    async def iter_many(
        self,
        ids: SamplerIds,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> AsyncGenerator[tuple[str, Sampler | LoopsError], None]:
        """Look up many samplers, yielding ``(sampler_id, Sampler | LoopsError)`` as each completes.

        ``ids`` may be any iterable or async iterable and is consumed lazily: at most
        ``concurrency`` lookups are in flight and at most ``concurrency`` results wait for
        you, so memory stays proportional to ``concurrency``, not to the number of ids (a
        generator of a million ids works). Each input id yields exactly one pair, in
        completion order; duplicates are looked up again (use :meth:`get_many` to share one
        request between duplicates). A failed or invalid id yields its :class:`LoopsError`
        (``InvalidSamplerIdError`` for a bad id) and never stops the others.

        Stopping early (``break``, cancellation, a timeout) cancels the lookups in flight.
        Cleanup runs when the generator is closed; use ``contextlib.aclosing`` to close it
        at a point of your choosing::

            async with contextlib.aclosing(client.samplers.iter_many(ids)) as results:
                async for sampler_id, result in results:
                    ...

        Args:
            ids: The sampler ids.
            concurrency: Most lookups in flight at once (default 16).
            timeout: Seconds each lookup may take in all, as ``get(..., timeout=)``: a lookup
                that runs out yields its ``APITimeoutError``; the others go on.
            extra_headers: Headers for every lookup, never ``Authorization`` (``ExtraHeaders``).

        """
        _check_concurrency(concurrency)
        # `concurrency` workers each take the next id, look it up, put the result in `ready`
        # and take another. The consumer takes everything ready at once, so it is woken once
        # per batch rather than once per result; `ready` never holds more than `concurrency`
        # results (workers wait for room), which bounds memory.
        ready: list[tuple[str, Sampler | LoopsError]] = []
        wake_consumer = asyncio.Event()
        room = asyncio.Event()
        next_id = _id_source(ids)
        bulk = _Bulk()
        get = self._lookup(timeout, extra_headers)
        running = concurrency
        failure: list[Exception] = []

        async def worker() -> None:
            nonlocal running
            try:
                while True:
                    try:
                        sampler_id = await next_id()
                    except StopAsyncIteration:
                        break
                    # Inlined rather than a shared coroutine: one frame less per lookup
                    # is about 2% of its CPU (benchmarks/bulk.py).
                    result: Sampler | LoopsError | None = bulk.rejected
                    if result is None:
                        try:
                            result = await get(sampler_id)
                        except LoopsError as exc:
                            result = bulk.failed(exc)
                    while len(ready) >= concurrency:
                        room.clear()
                        await room.wait()
                    ready.append((sampler_id, result))
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

    @overload
    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
    ) -> list[Sampler]: ...

    @overload
    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
    ) -> list[Sampler | LoopsError]: ...

    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> list[Sampler] | list[Sampler | LoopsError]:
        """Look up many samplers concurrently; results come back in input order.

        One request per distinct id: duplicates share it. At most ``concurrency`` requests
        are in flight.

        Args:
            ids: The sampler ids (any iterable; it is read in full first).
            concurrency: Most requests in flight at once (default 16).
            return_exceptions: ``False`` (default): the first failure is raised and the
                remaining lookups are cancelled; invalid ids are refused before any request.
                ``True``: each slot holds the :class:`Sampler` or the :class:`LoopsError` for
                that id, as with ``asyncio.gather``; an invalid id fails only its own slot,
                with ``InvalidSamplerIdError`` (a ``LoopsError`` and a ``ValueError``).
            timeout: Seconds each lookup may take in all (from when it starts, across its
                retries), as ``get(..., timeout=)``; default ``None``: the retry policy's
                deadline only. One that runs out fails with ``APITimeoutError``: raised, or in
                its own slot with ``return_exceptions=True``.
            extra_headers: Headers for every lookup, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            ConfigurationError: A ``timeout`` that is not a finite number > 0, or bad
                ``extra_headers``; before any request.

        """
        _check_concurrency(concurrency)
        get = self._lookup(timeout, extra_headers)  # options checked before any I/O
        bulk = _Bulk()
        slots: list[Sampler | LoopsError | None] = []
        positions: dict[str, list[int]] = {}
        for index, sampler_id in enumerate(ids):
            slots.append(None)
            try:
                sampler_path(sampler_id)
            except LoopsError as exc:
                if not return_exceptions:
                    raise  # refuse bad input before any request is made
                slots[index] = exc
            else:
                positions.setdefault(sampler_id, []).append(index)
        pending = iter(positions)  # the distinct ids, shared by the workers

        async def worker() -> None:
            # Results go straight into their slots: no queue, no hand-off per lookup.
            for sampler_id in pending:
                result: Sampler | LoopsError | None = bulk.rejected
                if result is None:  # inlined, as in iter_many
                    try:
                        result = await get(sampler_id)
                    except LoopsError as exc:
                        if not return_exceptions:
                            raise  # _run_workers cancels the lookups still in flight
                        result = bulk.failed(exc)
                for index in positions[sampler_id]:
                    slots[index] = result

        await _run_workers(worker, min(concurrency, len(positions)))
        return slots  # type: ignore[return-value]  # every slot is filled by now

    async def wait_until_active(
        self,
        sampler_id: str,
        *,
        timeout: float = 900.0,
        poll_interval: float = 5.0,
        on_status: Callable[[Sampler], object] | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> Sampler:
        """Poll a sampler until it is ``ACTIVE`` and return it.

        Args:
            sampler_id: The sampler to wait for.
            timeout: Seconds to wait in all (default 900). Every lookup is bounded by it too.
            poll_interval: Seconds between lookups (default 5).
            on_status: Called with the sampler each time its status changes (and on the
                first lookup), e.g. to print progress.
            extra_headers: Headers for every lookup, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            SamplerFailedError: The status is failed or going away (``DEPLOY_FAILED``,
                ``BUILD_FAILED``, ``BUILD_STOPPED``, ``FAILED``, ``INACTIVE``,
                ``DEACTIVATING``); raised at once, without waiting out the timeout.
            WaitTimeoutError: Time ran out first (a ``LoopsError`` and a ``TimeoutError``).
            LoopsError: A lookup failed for another reason (after its own retries).

        """
        check_wait_arguments(timeout, poll_interval)
        sampler_path(sampler_id)
        loop = asyncio.get_running_loop()
        return await poll_until(
            lambda deadline: self.get(
                sampler_id, timeout=deadline - loop.time(), extra_headers=extra_headers
            ),
            what="sampler",
            object_id=sampler_id,
            goal="ACTIVE",
            reached=lambda sampler: sampler.status.is_ready,
            failure=_sampler_failure,
            timeout=timeout,
            poll_interval=poll_interval,
            on_status=on_status,
            timeout_error=lambda message, last: WaitTimeoutError(
                message, sampler_id=sampler_id, last_sampler=last
            ),
        )

    async def list(
        self,
        *,
        scope: str | None = None,
        team_id: str | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> list[Sampler]:
        """List the samplers visible to you, paired and standalone (``GET /v1/loops/samplers``).

        Args:
            scope: ``"org"`` to include other users' samplers; by default your own.
            team_id: List a team's samplers (``/v1/teams/{team_id}/loops/samplers``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return [
            *await self._call(
                SAMPLERS_LIST, team_id=team_id, scope=scope, extra_headers=extra_headers
            )
        ]

    async def create(
        self,
        *,
        session_id: str,
        base_model: str | None = None,
        run_id: str | None = None,
        availability_model: AvailabilityModel | str | None = None,
        max_seq_length: int | None = None,
        model_path: str | None = None,
        reuse_from_session_id: str | None = None,
        num_replicas: int | None = None,
        team_id: str | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> Sampler:
        """Create a sampler (``POST /v1/loops/samplers``); follow with :meth:`wait_until_active`.

        Standalone with ``base_model``, or paired with a run (``run_id``), whose trainer it
        then syncs weights from. Sent once: after a failure that leaves open whether the
        server created it (a timeout, a dropped connection, a 5xx) the error is raised rather
        than the request sent again; :meth:`list` shows whether it exists. Keywords left
        ``None`` are not sent, so the server's defaults apply.

        Args:
            session_id: The session it belongs to (``sessions.create``).
            base_model: The base model of a standalone sampler.
            run_id: The run to pair it with (its base model is the run's).
            availability_model: ``"dedicated"`` (default for standalone samplers) or
                ``"spot"``; a paired sampler's must match its run's.
            max_seq_length: The longest prompt it must handle, in tokens.
            model_path: A ``bt://loops:<run_id>/sampler_weights/<name>`` checkpoint to serve.
            reuse_from_session_id: Deprecated: a prior session to reuse a sampler from.
            num_replicas: Replicas (minimum and maximum).
            team_id: Create it in this team (``/v1/teams/{team_id}/loops/samplers``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return await self._call(
            SAMPLERS_CREATE,
            team_id=team_id,
            extra_headers=extra_headers,
            **call_arguments(locals()),
        )

    async def deactivate(
        self, sampler_id: str, *, extra_headers: ExtraHeaders = None
    ) -> DeactivatedSampler:
        """Shut a standalone sampler down (``POST /v1/loops/samplers/{sampler_id}/deactivate``).

        Raises:
            ConflictError: The sampler is paired with a run (409, even when inactive):
                deactivate the run instead (``runs.deactivate``).

        """
        return await self._call(
            SAMPLERS_DEACTIVATE, sampler_id=sampler_id, extra_headers=extra_headers
        )

    def _lookup(
        self, timeout: float | None, extra_headers: ExtraHeaders
    ) -> Callable[[str], Awaitable[Sampler]]:
        """What a bulk call's workers call per id: :meth:`get`, with the call's options bound.

        Checked once here, before any request. Without options, ``get`` itself: the cheapest
        call per lookup (``benchmarks/bulk.py`` measures it).
        """
        if timeout is None and extra_headers is None:
            return self.get
        if timeout is not None:
            check_timeout(timeout)
        headers = None if extra_headers is None else check_headers(extra_headers, "extra_headers")
        return functools.partial(self.get, timeout=timeout, extra_headers=headers)


def _sampler_failure(sampler: Sampler) -> SamplerFailedError | None:
    if not sampler.status.is_failed:
        return None
    return SamplerFailedError(
        f"sampler {sampler.id!r} is {sampler.status.name}; it will not become ACTIVE",
        sampler=sampler,
    )


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


def _check_concurrency(concurrency: int) -> None:
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


def _id_source(ids: SamplerIds) -> Callable[[], Awaitable[str]]:
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
