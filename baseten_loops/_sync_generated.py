"""The blocking twin of the async client. Generated: do not edit.

Written by ``python -m baseten_loops._generate_sync`` from ``_client.py`` and
``_resources/*.py``; run it again after changing them (a test fails while this file is stale).
How it works: ``_generate_sync.py``; the machinery it calls: ``_sync.py``.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, cast, overload

import aiohttp

from . import _bulk
from ._client import LoopsClient, LoopsClientWithRawResponse
from ._exceptions import LoopsError
from ._flow import FlowControl
from ._models import (
    AvailabilityModel,
    Checkpoint,
    CheckpointDeployment,
    CheckpointFile,
    CheckpointSource,
    DeactivatedDeployment,
    DeactivatedRun,
    DeactivatedSampler,
    Deployment,
    DeploymentMetrics,
    Log,
    LogLevel,
    Run,
    Sampler,
    Session,
    SortOrder,
    SupportedModel,
    UseCase,
    UserConfig,
)
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
from ._resources._base import ExtraHeaders
from ._resources.runs import RunFields, TrainerFields
from ._resources.user_config import Priority
from ._response import RawResponse
from ._retry import RetryPolicy
from ._routes import UNSET
from ._session import ClientStats
from ._sync import PacedIds, SyncClientBase, SyncIterator, SyncResource, SyncView

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "SyncCapabilitiesResource",
    "SyncCapabilitiesResourceWithRawResponse",
    "SyncCheckpointsResource",
    "SyncCheckpointsResourceWithRawResponse",
    "SyncDeploymentsResource",
    "SyncDeploymentsResourceWithRawResponse",
    "SyncLoopsClient",
    "SyncLoopsClientWithRawResponse",
    "SyncRunsResource",
    "SyncRunsResourceWithRawResponse",
    "SyncSamplersResource",
    "SyncSamplersResourceWithRawResponse",
    "SyncSessionsResource",
    "SyncSessionsResourceWithRawResponse",
    "SyncTrainersResource",
    "SyncTrainersResourceWithRawResponse",
    "SyncUserConfigResource",
    "SyncUserConfigResourceWithRawResponse",
]


class SyncSamplersResource(SyncResource[SamplersResource]):
    """``client.samplers``: create, list, deactivate, look up (one, many) and await samplers.

    The blocking twin of :class:`SamplersResource`, generated from it: each method takes
    the same arguments, returns what awaiting the async method returns and raises the
    same exceptions; an async iterator comes back as a :class:`SyncIterator`.
    """

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[Sampler]: ...

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[Sampler | LoopsError]: ...

    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[Sampler] | list[Sampler | LoopsError]:
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
        method = cast(
            "Callable[..., Awaitable[list[Sampler] | list[Sampler | LoopsError]]]",
            self._resource.get_many,
        )
        return self._run(
            method,
            ids,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            timeout=timeout,
            extra_headers=extra_headers,
            on_progress=on_progress,
        )

    def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> SyncIterator[tuple[str, Sampler | LoopsError]]:
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
        return self._iterate(
            self._resource.iter_many,
            PacedIds(ids),
            concurrency=concurrency,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def get(
        self,
        sampler_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> Sampler:
        """Fetch one sampler by id (``GET /v1/loops/samplers/{sampler_id}``).

        Args:
            sampler_id: The sampler's id. Validated before any I/O.
            timeout: Seconds for this call in all, retries and waits included (default: the
                client's ``timeout``).
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
        return self._run(
            self._resource.get,
            sampler_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def wait_until_active(
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
        return self._run(
            self._resource.wait_until_active,
            sampler_id,
            timeout=timeout,
            poll_interval=poll_interval,
            on_status=on_status,
            extra_headers=extra_headers,
        )

    def list(
        self,
        *,
        scope: str | None = None,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> list[Sampler]:
        """List the samplers visible to you, paired and standalone (``GET /v1/loops/samplers``).

        Args:
            scope: ``"org"`` to include other users' samplers; by default your own.
            team_id: List a team's samplers (``/v1/teams/{team_id}/loops/samplers``).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.list,
            scope=scope,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def create(
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
        timeout: float | None = None,
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
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.create,
            session_id=session_id,
            base_model=base_model,
            run_id=run_id,
            availability_model=availability_model,
            max_seq_length=max_seq_length,
            model_path=model_path,
            reuse_from_session_id=reuse_from_session_id,
            num_replicas=num_replicas,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def deactivate(
        self,
        sampler_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> DeactivatedSampler:
        """Shut a standalone sampler down (``POST /v1/loops/samplers/{sampler_id}/deactivate``).

        Args:
            sampler_id: The sampler.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            ConflictError: The sampler is paired with a run (409, even when inactive):
                deactivate the run instead (``runs.deactivate``).

        """
        return self._run(
            self._resource.deactivate,
            sampler_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class SyncRunsResource(SyncResource[RunsResource]):
    """``client.runs``: Loops runs, a trainer paired with a sampler.

    The blocking twin of :class:`RunsResource`, generated from it: each method takes
    the same arguments, returns what awaiting the async method returns and raises the
    same exceptions; an async iterator comes back as a :class:`SyncIterator`.
    """

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[Run]: ...

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[Run | LoopsError]: ...

    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[Run] | list[Run | LoopsError]:
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
        method = cast(
            "Callable[..., Awaitable[list[Run] | list[Run | LoopsError]]]",
            self._resource.get_many,
        )
        return self._run(
            method,
            ids,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            timeout=timeout,
            extra_headers=extra_headers,
            on_progress=on_progress,
        )

    def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> SyncIterator[tuple[str, Run | LoopsError]]:
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
        return self._iterate(
            self._resource.iter_many,
            PacedIds(ids),
            concurrency=concurrency,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def create(
        self,
        *,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        **fields: Unpack[RunFields],
    ) -> Run:
        """Create a run and its paired sampler (``POST /v1/loops/runs``).

        ``session_id`` and ``base_model`` are required; the other :class:`RunFields` are
        optional keywords, and one left out (or ``None``) is not sent, so the server's default
        applies::

            run = await client.runs.create(session_id=session.id, base_model="Qwen/Qwen3-8B",
                                           lora_rank=16)

        Sent once: after a failure that leaves open whether the server created the run (a
        timeout, a dropped connection, a 5xx), the error is raised rather than the request
        sent again; list your runs (``runs.list(base_model=...)``) to see whether it exists.

        Args:
            team_id: Create the run in this team (``/v1/teams/{team_id}/loops/runs``).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).
            **fields: The run's settings (:class:`RunFields`).

        """
        return self._run(
            self._resource.create,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
            **fields,
        )

    def get(
        self,
        run_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> Run:
        """Fetch one run (``GET /v1/loops/runs/{run_id}``).

        Like every lookup by id, refuses an answer about another run
        (``ResponseValidationError``).

        Args:
            run_id: The run's id. Validated before any I/O.
            timeout: Seconds for this call in all, retries and waits included (default: the
                client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            IdTypeError: ``run_id`` is not a ``str``.
            InvalidIdError: ``run_id`` is empty, ``..``, has ``/`` ... (before any I/O).
            NotFoundError: No such run.

        """
        return self._run(
            self._resource.get,
            run_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def list(
        self,
        *,
        run_id: str | None = None,
        base_model: str | None = None,
        scope: str | None = None,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> list[Run]:
        """List the runs visible to you (``GET /v1/loops/runs``).

        Args:
            run_id: Only the run with this id.
            base_model: Only runs of this base model (``"Qwen/Qwen3-8B"``).
            scope: ``"org"`` for every run of your organization; by default your own.
            team_id: List a team's runs (``/v1/teams/{team_id}/loops/runs``).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.list,
            run_id=run_id,
            base_model=base_model,
            scope=scope,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def deactivate(
        self,
        run_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> DeactivatedRun:
        """Shut a run down with its paired sampler (``POST /v1/loops/runs/{run_id}/deactivate``).

        Succeeds for a run that is already inactive, so it is safely retried. Checkpoints
        stay readable. Use :meth:`wait_until_inactive` to wait for the teardown.

        Args:
            run_id: The run.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.deactivate,
            run_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def wait_until_inactive(
        self,
        run_id: str,
        *,
        timeout: float = 900.0,
        poll_interval: float = 5.0,
        on_status: Callable[[Run], object] | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> Run:
        """Poll a run until it is ``INACTIVE`` (after :meth:`deactivate`) and return it.

        A run's status is only ``ACTIVE`` or ``INACTIVE``; whether it serves is its sampler's
        status (``samplers.wait_until_active``), so this waits for the other direction.

        Args:
            run_id: The run to wait for.
            timeout: Seconds to wait in all (default 900). Every lookup is bounded by it too.
            poll_interval: Seconds between lookups (default 5).
            on_status: Called with the run each time its status changes (and first).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            WaitTimeoutError: Time ran out first (``resource_id``, ``last_seen``).
            LoopsError: A lookup failed for another reason (after its own retries).

        """
        return self._run(
            self._resource.wait_until_inactive,
            run_id,
            timeout=timeout,
            poll_interval=poll_interval,
            on_status=on_status,
            extra_headers=extra_headers,
        )


class SyncTrainersResource(SyncResource[TrainersResource]):
    """``client.trainers``: trainer-only runs, without a sampler.

    The blocking twin of :class:`TrainersResource`, generated from it: each method takes
    the same arguments, returns what awaiting the async method returns and raises the
    same exceptions; an async iterator comes back as a :class:`SyncIterator`.
    """

    def create(
        self,
        *,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        **fields: Unpack[TrainerFields],
    ) -> Run:
        """Create a trainer-only run (``POST /v1/loops/trainers``) and return the run.

        To sample from it, create a sampler with ``samplers.create(run_id=run.id, ...)``; read
        and list it through ``client.runs``. Takes the :class:`TrainerFields` as keywords
        (``session_id`` and ``base_model`` required); one left out (or ``None``) is not sent.
        Sent once, like ``runs.create``.

        Args:
            team_id: Create it in this team (``/v1/teams/{team_id}/loops/trainers``).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).
            **fields: The trainer's settings (:class:`TrainerFields`).

        """
        return self._run(
            self._resource.create,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
            **fields,
        )


class SyncSessionsResource(SyncResource[SessionsResource]):
    """``client.sessions``: create and read Loops sessions.

    The blocking twin of :class:`SessionsResource`, generated from it: each method takes
    the same arguments, returns what awaiting the async method returns and raises the
    same exceptions; an async iterator comes back as a :class:`SyncIterator`.
    """

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[Session]: ...

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[Session | LoopsError]: ...

    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[Session] | list[Session | LoopsError]:
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
        method = cast(
            "Callable[..., Awaitable[list[Session] | list[Session | LoopsError]]]",
            self._resource.get_many,
        )
        return self._run(
            method,
            ids,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            timeout=timeout,
            extra_headers=extra_headers,
            on_progress=on_progress,
        )

    def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> SyncIterator[tuple[str, Session | LoopsError]]:
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
        return self._iterate(
            self._resource.iter_many,
            PacedIds(ids),
            concurrency=concurrency,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def create(
        self,
        *,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> Session:
        """Create a session (``POST /v1/loops/sessions``).

        Sent once: after a failure that leaves open whether the server acted (a timeout, a
        dropped connection, a 5xx) the error is raised; an extra empty session costs nothing,
        so simply create another.

        Args:
            team_id: Create it for this team (``/v1/teams/{team_id}/loops/sessions``).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.create,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def get(
        self,
        session_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> Session:
        """Fetch one session (``GET /v1/loops/sessions/{session_id}``).

        Like every lookup by id, refuses an answer about another session
        (``ResponseValidationError``).

        Args:
            session_id: The session's id. Validated before any I/O.
            timeout: Seconds for this call in all, retries and waits included (default: the
                client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            InvalidIdError: ``session_id`` cannot be one path segment (before any I/O).
            NotFoundError: No such session.

        """
        return self._run(
            self._resource.get,
            session_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class SyncCheckpointsResource(SyncResource[CheckpointsResource]):
    """``client.checkpoints``: the checkpoints runs save.

    The blocking twin of :class:`CheckpointsResource`, generated from it: each method takes
    the same arguments, returns what awaiting the async method returns and raises the
    same exceptions; an async iterator comes back as a :class:`SyncIterator`.
    """

    def list(
        self,
        *,
        run_id: str | None = None,
        base_model: str | None = None,
        checkpoint_path: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> list[Checkpoint]:
        """List checkpoints (``GET /v1/loops/checkpoints``), optionally filtered.

        Args:
            run_id: Only this run's checkpoints.
            base_model: Only checkpoints of this base model.
            checkpoint_path: Only the checkpoint at this ``bt://`` URI.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.list,
            run_id=run_id,
            base_model=base_model,
            checkpoint_path=checkpoint_path,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def validate(
        self,
        checkpoint_path: str,
        *,
        run_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> None:
        """Check that a sampler checkpoint can be loaded (``POST .../checkpoints/validate``).

        Returns ``None`` when it can.

        Args:
            checkpoint_path: ``bt://loops:<run_id>/sampler_weights/<name>``.
            run_id: The run whose sampler would load it; the checkpoint must use its LoRA
                config.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            BadRequestError: The path is malformed or inaccessible, or the LoRA config does
                not match ``run_id``'s.

        """
        return self._run(
            self._resource.validate,
            checkpoint_path,
            run_id=run_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def deploy(
        self,
        *,
        checkpoint_ids: Sequence[str],
        model_name: str,
        instance_type_id: str,
        hf_secret_name: str,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> CheckpointDeployment:
        """Deploy checkpoints as a Baseten model (``POST /v1/loops/checkpoints/deploy``).

        Billable, and sent once: after a failure that leaves open whether the server acted
        (a timeout, a dropped connection, a 5xx) the error is raised, never the request sent
        again; look for a model named ``model_name`` in your Baseten workspace before
        deploying again. ``timeout``: seconds for this call in all (default: the client's).

        Returns:
            The new model's and deployment's ids.

        Raises:
            IdTypeError: ``checkpoint_ids`` is a single ``str`` instead of a sequence of ids.

        """
        return self._run(
            self._resource.deploy,
            checkpoint_ids=checkpoint_ids,
            model_name=model_name,
            instance_type_id=instance_type_id,
            hf_secret_name=hf_secret_name,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def iter_files(
        self,
        checkpoint_id: str,
        *,
        page_size: int | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> SyncIterator[CheckpointFile]:
        """Every file of a checkpoint, with presigned download URLs, page after page.

        ``GET /v1/loops/checkpoints/{checkpoint_id}/files``, fetched lazily: the next page is
        asked for only when you have read the current one, so memory stays one page::

            async for file in client.checkpoints.iter_files(checkpoint_id):
                print(file.relative_file_name, file.size_bytes)

        Args:
            checkpoint_id: The checkpoint.
            page_size: Files per page (server default 1000).
            timeout: Seconds each page's request may take in all (default: the client's
                ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            ResponseValidationError: The server handed back a page token already followed
                (the listing would never end).

        """
        return self._iterate(
            self._resource.iter_files,
            checkpoint_id,
            page_size=page_size,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def source(
        self,
        checkpoint_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> CheckpointSource:
        """Where a checkpoint is stored (``GET .../checkpoints/{checkpoint_id}/source``).

        Returns a :class:`CheckpointS3Source` or :class:`CheckpointVolumeSource` by the answer's
        ``kind``, or an :class:`UnknownCheckpointSource` for a kind this version does not know.
        ``timeout``: seconds for this call in all (default: the client's).
        """
        return self._run(
            self._resource.source,
            checkpoint_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class SyncDeploymentsResource(SyncResource[DeploymentsResource]):
    """``client.deployments``: Loops deployments (a run's trainer and sampler infrastructure).

    The blocking twin of :class:`DeploymentsResource`, generated from it: each method takes
    the same arguments, returns what awaiting the async method returns and raises the
    same exceptions; an async iterator comes back as a :class:`SyncIterator`.
    """

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[Deployment]: ...

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[Deployment | LoopsError]: ...

    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[Deployment] | list[Deployment | LoopsError]:
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
        method = cast(
            "Callable[..., Awaitable[list[Deployment] | list[Deployment | LoopsError]]]",
            self._resource.get_many,
        )
        return self._run(
            method,
            ids,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            timeout=timeout,
            extra_headers=extra_headers,
            on_progress=on_progress,
        )

    def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> SyncIterator[tuple[str, Deployment | LoopsError]]:
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
        return self._iterate(
            self._resource.iter_many,
            PacedIds(ids),
            concurrency=concurrency,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def get(
        self,
        deployment_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> Deployment:
        """Fetch one deployment with its latest status (``GET .../deployments/{deployment_id}``).

        Like every lookup by id, refuses an answer about another deployment
        (``ResponseValidationError``).

        Args:
            deployment_id: The deployment's id. Validated before any I/O.
            timeout: Seconds for this call in all, retries and waits included (default: the
                client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            InvalidIdError: ``deployment_id`` cannot be one path segment (before any I/O).
            NotFoundError: No such deployment.

        """
        return self._run(
            self._resource.get,
            deployment_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def list(
        self,
        *,
        scope: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> list[Deployment]:
        """List deployments (``GET /v1/loops/deployments``).

        Args:
            scope: ``"org"`` for every deployment of your organization; by default your own.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.list,
            scope=scope,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def deactivate(
        self,
        deployment_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> DeactivatedDeployment:
        """Shut a deployment down (``POST .../deployments/{deployment_id}/deactivate``).

        The spec does not say that deactivating twice is harmless, so this is sent once:
        after an ambiguous failure the error is raised; :meth:`get` tells you where it stands.

        Args:
            deployment_id: The deployment.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.deactivate,
            deployment_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def iter_debug_archive_files(
        self,
        deployment_id: str,
        *,
        page_size: int | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> SyncIterator[CheckpointFile]:
        """Every file of a deployment's debug archive, with presigned URLs, page after page.

        ``GET .../deployments/{deployment_id}/debug_archive/files``, fetched lazily, one page
        in memory at a time.

        Args:
            deployment_id: The deployment.
            page_size: Files per page, 1 to 1000 (server default 1000).
            timeout: Seconds each page's request may take in all (default: the client's
                ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            ResponseValidationError: The server handed back a page token already followed.

        """
        return self._iterate(
            self._resource.iter_debug_archive_files,
            deployment_id,
            page_size=page_size,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def metrics(
        self,
        deployment_id: str,
        *,
        start_epoch_millis: int | None = None,
        end_epoch_millis: int | None = None,
        step_seconds: int | None = None,
        time_divisor_seconds: int | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> DeploymentMetrics:
        """The trainer's utilization and traffic over a window (``POST .../metrics``).

        A read sent as POST, so it is retried like a GET. Keywords left ``None`` are not
        sent (the server picks the window and step); ``timeout`` is the seconds for this call
        in all (default: the client's).
        """
        return self._run(
            self._resource.metrics,
            deployment_id,
            start_epoch_millis=start_epoch_millis,
            end_epoch_millis=end_epoch_millis,
            step_seconds=step_seconds,
            time_divisor_seconds=time_divisor_seconds,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def logs(
        self,
        deployment_id: str,
        *,
        start_epoch_millis: int | None = None,
        end_epoch_millis: int | None = None,
        direction: SortOrder | str | None = None,
        limit: int | None = None,
        min_level: LogLevel | str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> builtins.list[Log]:
        """The trainer's log lines in a time window (``GET .../deployments/{id}/logs``).

        Args:
            deployment_id: The deployment.
            start_epoch_millis: Window start (server default: 30 minutes before the end);
                the window may span at most 7 days.
            end_epoch_millis: Window end (server default: now).
            direction: ``"asc"`` or ``"desc"``.
            limit: At most this many lines, 1 to 1000 (server default 500).
            min_level: Only lines at or above this level (drops lines without a level).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.logs,
            deployment_id,
            start_epoch_millis=start_epoch_millis,
            end_epoch_millis=end_epoch_millis,
            direction=direction,
            limit=limit,
            min_level=min_level,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def wait_until_running(
        self,
        deployment_id: str,
        *,
        timeout: float = 900.0,
        poll_interval: float = 5.0,
        on_status: Callable[[Deployment], object] | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> Deployment:
        """Poll a deployment until it is ``RUNNING`` and return it.

        ``CREATED`` and ``DEPLOYING`` are waited out, and so is ``SCALED_TO_ZERO`` (it wakes
        up on demand, so it may run again without outside action).

        Args:
            deployment_id: The deployment to wait for.
            timeout: Seconds to wait in all (default 900). Every lookup is bounded by it too.
            poll_interval: Seconds between lookups (default 5).
            on_status: Called with the deployment each time its status changes (and first).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            DeploymentFailedError: ``FAILED``, ``STOPPED`` or ``PREEMPTED``; raised at once.
            WaitTimeoutError: Time ran out first (``resource_id``, ``last_seen``).
            LoopsError: A lookup failed for another reason (after its own retries).

        """
        return self._run(
            self._resource.wait_until_running,
            deployment_id,
            timeout=timeout,
            poll_interval=poll_interval,
            on_status=on_status,
            extra_headers=extra_headers,
        )


class SyncCapabilitiesResource(SyncResource[CapabilitiesResource]):
    """``client.capabilities``: the models the Loops server supports.

    The blocking twin of :class:`CapabilitiesResource`, generated from it: each method takes
    the same arguments, returns what awaiting the async method returns and raises the
    same exceptions; an async iterator comes back as a :class:`SyncIterator`.
    """

    def list(
        self,
        *,
        model: str | None = None,
        use_case: UseCase | str | None = None,
        max_seq_len: int | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> list[SupportedModel]:
        """List the supported models (``GET /v1/loops/capabilities``).

        Each has ``enabled`` (whether this workspace can start a run with it now) and, when it
        cannot, ``enablement_details``; filter on ``enabled`` for the usable set.

        Args:
            model: Ask about one HuggingFace repo id; an empty list means it is not supported.
            use_case: ``"rl"`` (server default: trainer and sampler) or ``"sft"``.
            max_seq_len: The sequence length you mean to train at; models that cannot serve
                it come back not enabled.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.list,
            model=model,
            use_case=use_case,
            max_seq_len=max_seq_len,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class SyncUserConfigResource(SyncResource[UserConfigResource]):
    """``client.user_config``: read and change your Loops accelerator priorities.

    The blocking twin of :class:`UserConfigResource`, generated from it: each method takes
    the same arguments, returns what awaiting the async method returns and raises the
    same exceptions; an async iterator comes back as a :class:`SyncIterator`.
    """

    def get(
        self,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> UserConfig:
        """Your Loops user config (``GET /v1/loops/user_config``).

        A priority of ``None`` means "inherit the organization's allowlist". ``timeout``:
        seconds for this call in all (default: the client's).
        """
        return self._run(
            self._resource.get,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def update(
        self,
        *,
        trainer_accelerator_priority: Priority = UNSET,
        sampler_accelerator_priority: Priority = UNSET,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> UserConfig:
        """Change your accelerator priorities (``PATCH /v1/loops/user_config``).

        Only the keywords you pass are sent (JSON Merge Patch): a list of GPU types, highest
        priority first, sets a priority; ``None`` clears it (inherit the organization's
        allowlist); leaving a keyword out leaves that priority as it is. The server refuses
        empty lists. Repeating the same update gives the same state, so it is retried.
        ``timeout``: seconds for this call in all (default: the client's).

        Returns:
            The config after the change.

        """
        return self._run(
            self._resource.update,
            trainer_accelerator_priority=trainer_accelerator_priority,
            sampler_accelerator_priority=sampler_accelerator_priority,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class SyncLoopsClient(SyncClientBase):
    """Blocking client for scripts and notebooks: the resources and methods of LoopsClient.

    ::

        with SyncLoopsClient() as client:  # key from BASETEN_API_KEY
            sampler = client.samplers.get("abc123")
            for sampler_id, result in client.samplers.iter_many(ids):
                ...

    Generated from :class:`LoopsClient`: it takes the same arguments except ``session=`` (an
    aiohttp session belongs to the loop it was made in, and this client runs its own), and each
    method has the same arguments, returns the same models and raises the same exceptions as its
    async twin; async iterators (``iter_many``) become :class:`SyncIterator`. The same holds
    for ``with_raw_response``: each of its methods returns the :class:`RawResponse` its async
    twin does (a raw listing's ``parse()`` is a :class:`SyncIterator`). Calls run on the
    client's private event loop, in a daemon thread started on first use that holds its one
    connection pool, so it also works from a thread that runs an event loop (a Jupyter cell).
    Safe to share between threads.

    Close it (``close()`` or ``with``) to close the pool and stop the thread; afterwards every
    call raises :class:`ClientClosedError`. A resource (``with_raw_response`` and its groups
    too), a method or an iterator taken from it, and a ``with_options`` copy, keep it alive;
    once nothing does, it is closed when garbage-collected, or at interpreter exit. After
    ``os.fork()``, a call in the child starts a loop and a pool of its own; the parent's are
    left as they are. Ctrl-C during a call cancels that call before ``KeyboardInterrupt``
    reaches you. Do not call it from its own callbacks (``on_status``): that raises
    :class:`LoopsError`.

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
        max_connections: int = 100,
        max_response_bytes: int = 1024 * 1024,
        trace_configs: Sequence[aiohttp.TraceConfig] | None = None,
        proxy: str | None = None,
        trust_env: bool = True,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._open(
            LoopsClient(
                api_key,
                base_url=base_url,
                auth_scheme=auth_scheme,
                timeout=timeout,
                attempt_timeout=attempt_timeout,
                retry=retry,
                flow_control=flow_control,
                max_connections=max_connections,
                max_response_bytes=max_response_bytes,
                trace_configs=trace_configs,
                proxy=proxy,
                trust_env=trust_env,
                default_headers=default_headers,
            )
        )

    @property
    def samplers(self) -> SyncSamplersResource:
        """Create, list, deactivate, look up (one, many) and await samplers."""
        return SyncSamplersResource(self._client.samplers, self)

    @property
    def runs(self) -> SyncRunsResource:
        """Loops runs, a trainer paired with a sampler."""
        return SyncRunsResource(self._client.runs, self)

    @property
    def trainers(self) -> SyncTrainersResource:
        """Trainer-only runs, without a sampler."""
        return SyncTrainersResource(self._client.trainers, self)

    @property
    def sessions(self) -> SyncSessionsResource:
        """Create and read Loops sessions."""
        return SyncSessionsResource(self._client.sessions, self)

    @property
    def checkpoints(self) -> SyncCheckpointsResource:
        """The checkpoints runs save."""
        return SyncCheckpointsResource(self._client.checkpoints, self)

    @property
    def deployments(self) -> SyncDeploymentsResource:
        """Loops deployments (a run's trainer and sampler infrastructure)."""
        return SyncDeploymentsResource(self._client.deployments, self)

    @property
    def capabilities(self) -> SyncCapabilitiesResource:
        """The models the Loops server supports."""
        return SyncCapabilitiesResource(self._client.capabilities, self)

    @property
    def user_config(self) -> SyncUserConfigResource:
        """Read and change your Loops accelerator priorities."""
        return SyncUserConfigResource(self._client.user_config, self)

    def with_options(
        self,
        *,
        timeout: float | None = None,
        attempt_timeout: float | None = None,
        retry: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int | None = None,
    ) -> SyncLoopsClient:
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
        return self._derive(
            self._client.with_options(
                timeout=timeout,
                attempt_timeout=attempt_timeout,
                retry=retry,
                default_headers=default_headers,
                max_response_bytes=max_response_bytes,
            )
        )

    @property
    def base_url(self) -> str:
        """The API root requests go to, without a trailing slash."""
        return self._client.base_url

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy in force."""
        return self._client.retry

    @property
    def flow_control(self) -> FlowControl:
        """The flow control in force."""
        return self._client.flow_control

    @property
    def stats(self) -> ClientStats:
        """Counters so far: requests, retries, retry budget left, throttling and the rate."""
        return self._client.stats

    @property
    def timeout(self) -> float | None:
        """Seconds one call may take in all, retries and waits included (``None``: no limit)."""
        return self._client.timeout

    @property
    def attempt_timeout(self) -> float:
        """Seconds one request attempt may take."""
        return self._client.attempt_timeout

    @property
    def with_raw_response(self) -> SyncLoopsClientWithRawResponse:
        """The same resources, each method answering a :class:`RawResponse` around its result.

        As openai's and anthropic's ``client.with_raw_response``::

            raw = await client.with_raw_response.samplers.get("abc123")
            print(raw.status, raw.request_id, raw.attempts, raw.elapsed)
            sampler = raw.parse()  # what client.samplers.get returns

        Same arguments, same errors. ``get_many`` and ``iter_many`` give a
        :class:`RawResponse` per id; ``iter_files`` and ``iter_debug_archive_files`` the first
        page's, whose :meth:`~RawResponse.parse` gives the iterator of every item.
        """
        return SyncLoopsClientWithRawResponse(self._client.with_raw_response, self)

    @property
    def default_headers(self) -> dict[str, str]:
        """The headers sent with every request except ``Authorization`` (a copy)."""
        return self._client.default_headers


class SyncSamplersResourceWithRawResponse(SyncResource[SamplersResourceWithRawResponse]):
    """``client.with_raw_response.samplers``: :class:`SamplersResource`, answers in RawResponse.

    The blocking twin of :class:`SamplersResourceWithRawResponse`, generated from it: each
    method takes the same arguments, returns the :class:`RawResponse` that awaiting the async
    method returns and raises the same exceptions; an async iterator comes back as a
    :class:`SyncIterator`, and so does the iterator a listing's :meth:`~RawResponse.parse` gives.
    """

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[RawResponse[Sampler]]: ...

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[RawResponse[Sampler] | LoopsError]: ...

    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[RawResponse[Sampler]] | list[RawResponse[Sampler] | LoopsError]:
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
        method = cast(
            "Callable[..., Awaitable[list[RawResponse[Sampler]] | list[RawResponse[Sampler] | LoopsError]]]",  # noqa: E501
            self._resource.get_many,
        )
        return self._run(
            method,
            ids,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            timeout=timeout,
            extra_headers=extra_headers,
            on_progress=on_progress,
        )

    def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> SyncIterator[tuple[str, RawResponse[Sampler] | LoopsError]]:
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
        return self._iterate(
            self._resource.iter_many,
            PacedIds(ids),
            concurrency=concurrency,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def get(
        self,
        sampler_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[Sampler]:
        """Fetch one sampler by id (``GET /v1/loops/samplers/{sampler_id}``).

        Args:
            sampler_id: The sampler's id. Validated before any I/O.
            timeout: Seconds for this call in all, retries and waits included (default: the
                client's ``timeout``).
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
        return self._run(
            self._resource.get,
            sampler_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def wait_until_active(
        self,
        sampler_id: str,
        *,
        timeout: float = 900.0,
        poll_interval: float = 5.0,
        on_status: Callable[[Sampler], object] | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[Sampler]:
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
        return self._run(
            self._resource.wait_until_active,
            sampler_id,
            timeout=timeout,
            poll_interval=poll_interval,
            on_status=on_status,
            extra_headers=extra_headers,
        )

    def list(
        self,
        *,
        scope: str | None = None,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[list[Sampler]]:
        """List the samplers visible to you, paired and standalone (``GET /v1/loops/samplers``).

        Args:
            scope: ``"org"`` to include other users' samplers; by default your own.
            team_id: List a team's samplers (``/v1/teams/{team_id}/loops/samplers``).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.list,
            scope=scope,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def create(
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
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[Sampler]:
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
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.create,
            session_id=session_id,
            base_model=base_model,
            run_id=run_id,
            availability_model=availability_model,
            max_seq_length=max_seq_length,
            model_path=model_path,
            reuse_from_session_id=reuse_from_session_id,
            num_replicas=num_replicas,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def deactivate(
        self,
        sampler_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[DeactivatedSampler]:
        """Shut a standalone sampler down (``POST /v1/loops/samplers/{sampler_id}/deactivate``).

        Args:
            sampler_id: The sampler.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            ConflictError: The sampler is paired with a run (409, even when inactive):
                deactivate the run instead (``runs.deactivate``).

        """
        return self._run(
            self._resource.deactivate,
            sampler_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class SyncRunsResourceWithRawResponse(SyncResource[RunsResourceWithRawResponse]):
    """``client.with_raw_response.runs``: :class:`RunsResource`, answers in RawResponse.

    The blocking twin of :class:`RunsResourceWithRawResponse`, generated from it: each
    method takes the same arguments, returns the :class:`RawResponse` that awaiting the async
    method returns and raises the same exceptions; an async iterator comes back as a
    :class:`SyncIterator`, and so does the iterator a listing's :meth:`~RawResponse.parse` gives.
    """

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[RawResponse[Run]]: ...

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[RawResponse[Run] | LoopsError]: ...

    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[RawResponse[Run]] | list[RawResponse[Run] | LoopsError]:
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
        method = cast(
            "Callable[..., Awaitable[list[RawResponse[Run]] | list[RawResponse[Run] | LoopsError]]]",  # noqa: E501
            self._resource.get_many,
        )
        return self._run(
            method,
            ids,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            timeout=timeout,
            extra_headers=extra_headers,
            on_progress=on_progress,
        )

    def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> SyncIterator[tuple[str, RawResponse[Run] | LoopsError]]:
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
        return self._iterate(
            self._resource.iter_many,
            PacedIds(ids),
            concurrency=concurrency,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def create(
        self,
        *,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        **fields: Unpack[RunFields],
    ) -> RawResponse[Run]:
        """Create a run and its paired sampler (``POST /v1/loops/runs``).

        ``session_id`` and ``base_model`` are required; the other :class:`RunFields` are
        optional keywords, and one left out (or ``None``) is not sent, so the server's default
        applies::

            run = await client.runs.create(session_id=session.id, base_model="Qwen/Qwen3-8B",
                                           lora_rank=16)

        Sent once: after a failure that leaves open whether the server created the run (a
        timeout, a dropped connection, a 5xx), the error is raised rather than the request
        sent again; list your runs (``runs.list(base_model=...)``) to see whether it exists.

        Args:
            team_id: Create the run in this team (``/v1/teams/{team_id}/loops/runs``).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).
            **fields: The run's settings (:class:`RunFields`).

        """
        return self._run(
            self._resource.create,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
            **fields,
        )

    def get(
        self,
        run_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[Run]:
        """Fetch one run (``GET /v1/loops/runs/{run_id}``).

        Like every lookup by id, refuses an answer about another run
        (``ResponseValidationError``).

        Args:
            run_id: The run's id. Validated before any I/O.
            timeout: Seconds for this call in all, retries and waits included (default: the
                client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            IdTypeError: ``run_id`` is not a ``str``.
            InvalidIdError: ``run_id`` is empty, ``..``, has ``/`` ... (before any I/O).
            NotFoundError: No such run.

        """
        return self._run(
            self._resource.get,
            run_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def list(
        self,
        *,
        run_id: str | None = None,
        base_model: str | None = None,
        scope: str | None = None,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[list[Run]]:
        """List the runs visible to you (``GET /v1/loops/runs``).

        Args:
            run_id: Only the run with this id.
            base_model: Only runs of this base model (``"Qwen/Qwen3-8B"``).
            scope: ``"org"`` for every run of your organization; by default your own.
            team_id: List a team's runs (``/v1/teams/{team_id}/loops/runs``).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.list,
            run_id=run_id,
            base_model=base_model,
            scope=scope,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def deactivate(
        self,
        run_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[DeactivatedRun]:
        """Shut a run down with its paired sampler (``POST /v1/loops/runs/{run_id}/deactivate``).

        Succeeds for a run that is already inactive, so it is safely retried. Checkpoints
        stay readable. Use :meth:`wait_until_inactive` to wait for the teardown.

        Args:
            run_id: The run.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.deactivate,
            run_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def wait_until_inactive(
        self,
        run_id: str,
        *,
        timeout: float = 900.0,
        poll_interval: float = 5.0,
        on_status: Callable[[Run], object] | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[Run]:
        """Poll a run until it is ``INACTIVE`` (after :meth:`deactivate`) and return it.

        A run's status is only ``ACTIVE`` or ``INACTIVE``; whether it serves is its sampler's
        status (``samplers.wait_until_active``), so this waits for the other direction.

        Args:
            run_id: The run to wait for.
            timeout: Seconds to wait in all (default 900). Every lookup is bounded by it too.
            poll_interval: Seconds between lookups (default 5).
            on_status: Called with the run each time its status changes (and first).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            WaitTimeoutError: Time ran out first (``resource_id``, ``last_seen``).
            LoopsError: A lookup failed for another reason (after its own retries).

        """
        return self._run(
            self._resource.wait_until_inactive,
            run_id,
            timeout=timeout,
            poll_interval=poll_interval,
            on_status=on_status,
            extra_headers=extra_headers,
        )


class SyncTrainersResourceWithRawResponse(SyncResource[TrainersResourceWithRawResponse]):
    """``client.with_raw_response.trainers``: :class:`TrainersResource`, answers in RawResponse.

    The blocking twin of :class:`TrainersResourceWithRawResponse`, generated from it: each
    method takes the same arguments, returns the :class:`RawResponse` that awaiting the async
    method returns and raises the same exceptions; an async iterator comes back as a
    :class:`SyncIterator`, and so does the iterator a listing's :meth:`~RawResponse.parse` gives.
    """

    def create(
        self,
        *,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        **fields: Unpack[TrainerFields],
    ) -> RawResponse[Run]:
        """Create a trainer-only run (``POST /v1/loops/trainers``) and return the run.

        To sample from it, create a sampler with ``samplers.create(run_id=run.id, ...)``; read
        and list it through ``client.runs``. Takes the :class:`TrainerFields` as keywords
        (``session_id`` and ``base_model`` required); one left out (or ``None``) is not sent.
        Sent once, like ``runs.create``.

        Args:
            team_id: Create it in this team (``/v1/teams/{team_id}/loops/trainers``).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).
            **fields: The trainer's settings (:class:`TrainerFields`).

        """
        return self._run(
            self._resource.create,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
            **fields,
        )


class SyncSessionsResourceWithRawResponse(SyncResource[SessionsResourceWithRawResponse]):
    """``client.with_raw_response.sessions``: :class:`SessionsResource`, answers in RawResponse.

    The blocking twin of :class:`SessionsResourceWithRawResponse`, generated from it: each
    method takes the same arguments, returns the :class:`RawResponse` that awaiting the async
    method returns and raises the same exceptions; an async iterator comes back as a
    :class:`SyncIterator`, and so does the iterator a listing's :meth:`~RawResponse.parse` gives.
    """

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[RawResponse[Session]]: ...

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[RawResponse[Session] | LoopsError]: ...

    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[RawResponse[Session]] | list[RawResponse[Session] | LoopsError]:
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
        method = cast(
            "Callable[..., Awaitable[list[RawResponse[Session]] | list[RawResponse[Session] | LoopsError]]]",  # noqa: E501
            self._resource.get_many,
        )
        return self._run(
            method,
            ids,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            timeout=timeout,
            extra_headers=extra_headers,
            on_progress=on_progress,
        )

    def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> SyncIterator[tuple[str, RawResponse[Session] | LoopsError]]:
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
        return self._iterate(
            self._resource.iter_many,
            PacedIds(ids),
            concurrency=concurrency,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def create(
        self,
        *,
        team_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[Session]:
        """Create a session (``POST /v1/loops/sessions``).

        Sent once: after a failure that leaves open whether the server acted (a timeout, a
        dropped connection, a 5xx) the error is raised; an extra empty session costs nothing,
        so simply create another.

        Args:
            team_id: Create it for this team (``/v1/teams/{team_id}/loops/sessions``).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.create,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def get(
        self,
        session_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[Session]:
        """Fetch one session (``GET /v1/loops/sessions/{session_id}``).

        Like every lookup by id, refuses an answer about another session
        (``ResponseValidationError``).

        Args:
            session_id: The session's id. Validated before any I/O.
            timeout: Seconds for this call in all, retries and waits included (default: the
                client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            InvalidIdError: ``session_id`` cannot be one path segment (before any I/O).
            NotFoundError: No such session.

        """
        return self._run(
            self._resource.get,
            session_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class SyncCheckpointsResourceWithRawResponse(SyncResource[CheckpointsResourceWithRawResponse]):
    """``client.with_raw_response.checkpoints``: :class:`CheckpointsResource`, in RawResponse.

    The blocking twin of :class:`CheckpointsResourceWithRawResponse`, generated from it: each
    method takes the same arguments, returns the :class:`RawResponse` that awaiting the async
    method returns and raises the same exceptions; an async iterator comes back as a
    :class:`SyncIterator`, and so does the iterator a listing's :meth:`~RawResponse.parse` gives.
    """

    def list(
        self,
        *,
        run_id: str | None = None,
        base_model: str | None = None,
        checkpoint_path: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[list[Checkpoint]]:
        """List checkpoints (``GET /v1/loops/checkpoints``), optionally filtered.

        Args:
            run_id: Only this run's checkpoints.
            base_model: Only checkpoints of this base model.
            checkpoint_path: Only the checkpoint at this ``bt://`` URI.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.list,
            run_id=run_id,
            base_model=base_model,
            checkpoint_path=checkpoint_path,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def validate(
        self,
        checkpoint_path: str,
        *,
        run_id: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[None]:
        """Check that a sampler checkpoint can be loaded (``POST .../checkpoints/validate``).

        Returns ``None`` when it can.

        Args:
            checkpoint_path: ``bt://loops:<run_id>/sampler_weights/<name>``.
            run_id: The run whose sampler would load it; the checkpoint must use its LoRA
                config.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            BadRequestError: The path is malformed or inaccessible, or the LoRA config does
                not match ``run_id``'s.

        """
        return self._run(
            self._resource.validate,
            checkpoint_path,
            run_id=run_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def deploy(
        self,
        *,
        checkpoint_ids: Sequence[str],
        model_name: str,
        instance_type_id: str,
        hf_secret_name: str,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[CheckpointDeployment]:
        """Deploy checkpoints as a Baseten model (``POST /v1/loops/checkpoints/deploy``).

        Billable, and sent once: after a failure that leaves open whether the server acted
        (a timeout, a dropped connection, a 5xx) the error is raised, never the request sent
        again; look for a model named ``model_name`` in your Baseten workspace before
        deploying again. ``timeout``: seconds for this call in all (default: the client's).

        Returns:
            The new model's and deployment's ids.

        Raises:
            IdTypeError: ``checkpoint_ids`` is a single ``str`` instead of a sequence of ids.

        """
        return self._run(
            self._resource.deploy,
            checkpoint_ids=checkpoint_ids,
            model_name=model_name,
            instance_type_id=instance_type_id,
            hf_secret_name=hf_secret_name,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def iter_files(
        self,
        checkpoint_id: str,
        *,
        page_size: int | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[SyncIterator[CheckpointFile]]:
        """The first page's answer; :meth:`RawResponse.parse` gives every file, page after page.

        As openai's raw listings: the first page is fetched now (its errors raised here); its
        files are not fetched again, and the next pages are fetched lazily, as with the plain
        method.
        """
        return self._run_raw_listing(
            self._resource.iter_files,
            checkpoint_id,
            page_size=page_size,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def source(
        self,
        checkpoint_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[CheckpointSource]:
        """Where a checkpoint is stored (``GET .../checkpoints/{checkpoint_id}/source``).

        Returns a :class:`CheckpointS3Source` or :class:`CheckpointVolumeSource` by the answer's
        ``kind``, or an :class:`UnknownCheckpointSource` for a kind this version does not know.
        ``timeout``: seconds for this call in all (default: the client's).
        """
        return self._run(
            self._resource.source,
            checkpoint_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class SyncDeploymentsResourceWithRawResponse(SyncResource[DeploymentsResourceWithRawResponse]):
    """``client.with_raw_response.deployments``: :class:`DeploymentsResource`, in RawResponse.

    The blocking twin of :class:`DeploymentsResourceWithRawResponse`, generated from it: each
    method takes the same arguments, returns the :class:`RawResponse` that awaiting the async
    method returns and raises the same exceptions; an async iterator comes back as a
    :class:`SyncIterator`, and so does the iterator a listing's :meth:`~RawResponse.parse` gives.
    """

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[False] = ...,
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[RawResponse[Deployment]]: ...

    @overload
    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[RawResponse[Deployment] | LoopsError]: ...

    def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[RawResponse[Deployment]] | list[RawResponse[Deployment] | LoopsError]:
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
        method = cast(
            "Callable[..., Awaitable[list[RawResponse[Deployment]] | list[RawResponse[Deployment] | LoopsError]]]",  # noqa: E501
            self._resource.get_many,
        )
        return self._run(
            method,
            ids,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            timeout=timeout,
            extra_headers=extra_headers,
            on_progress=on_progress,
        )

    def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> SyncIterator[tuple[str, RawResponse[Deployment] | LoopsError]]:
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
        return self._iterate(
            self._resource.iter_many,
            PacedIds(ids),
            concurrency=concurrency,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def get(
        self,
        deployment_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[Deployment]:
        """Fetch one deployment with its latest status (``GET .../deployments/{deployment_id}``).

        Like every lookup by id, refuses an answer about another deployment
        (``ResponseValidationError``).

        Args:
            deployment_id: The deployment's id. Validated before any I/O.
            timeout: Seconds for this call in all, retries and waits included (default: the
                client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            InvalidIdError: ``deployment_id`` cannot be one path segment (before any I/O).
            NotFoundError: No such deployment.

        """
        return self._run(
            self._resource.get,
            deployment_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def list(
        self,
        *,
        scope: str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[list[Deployment]]:
        """List deployments (``GET /v1/loops/deployments``).

        Args:
            scope: ``"org"`` for every deployment of your organization; by default your own.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.list,
            scope=scope,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def deactivate(
        self,
        deployment_id: str,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[DeactivatedDeployment]:
        """Shut a deployment down (``POST .../deployments/{deployment_id}/deactivate``).

        The spec does not say that deactivating twice is harmless, so this is sent once:
        after an ambiguous failure the error is raised; :meth:`get` tells you where it stands.

        Args:
            deployment_id: The deployment.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.deactivate,
            deployment_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def iter_debug_archive_files(
        self,
        deployment_id: str,
        *,
        page_size: int | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[SyncIterator[CheckpointFile]]:
        """The first page's answer; :meth:`RawResponse.parse` gives every file, page after page.

        The first page is fetched now (its errors raised here); its files are not fetched
        again, and the next pages are fetched lazily, as with the plain method.
        """
        return self._run_raw_listing(
            self._resource.iter_debug_archive_files,
            deployment_id,
            page_size=page_size,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def metrics(
        self,
        deployment_id: str,
        *,
        start_epoch_millis: int | None = None,
        end_epoch_millis: int | None = None,
        step_seconds: int | None = None,
        time_divisor_seconds: int | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[DeploymentMetrics]:
        """The trainer's utilization and traffic over a window (``POST .../metrics``).

        A read sent as POST, so it is retried like a GET. Keywords left ``None`` are not
        sent (the server picks the window and step); ``timeout`` is the seconds for this call
        in all (default: the client's).
        """
        return self._run(
            self._resource.metrics,
            deployment_id,
            start_epoch_millis=start_epoch_millis,
            end_epoch_millis=end_epoch_millis,
            step_seconds=step_seconds,
            time_divisor_seconds=time_divisor_seconds,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def logs(
        self,
        deployment_id: str,
        *,
        start_epoch_millis: int | None = None,
        end_epoch_millis: int | None = None,
        direction: SortOrder | str | None = None,
        limit: int | None = None,
        min_level: LogLevel | str | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[builtins.list[Log]]:
        """The trainer's log lines in a time window (``GET .../deployments/{id}/logs``).

        Args:
            deployment_id: The deployment.
            start_epoch_millis: Window start (server default: 30 minutes before the end);
                the window may span at most 7 days.
            end_epoch_millis: Window end (server default: now).
            direction: ``"asc"`` or ``"desc"``.
            limit: At most this many lines, 1 to 1000 (server default 500).
            min_level: Only lines at or above this level (drops lines without a level).
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.logs,
            deployment_id,
            start_epoch_millis=start_epoch_millis,
            end_epoch_millis=end_epoch_millis,
            direction=direction,
            limit=limit,
            min_level=min_level,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def wait_until_running(
        self,
        deployment_id: str,
        *,
        timeout: float = 900.0,
        poll_interval: float = 5.0,
        on_status: Callable[[Deployment], object] | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[Deployment]:
        """Poll a deployment until it is ``RUNNING`` and return it.

        ``CREATED`` and ``DEPLOYING`` are waited out, and so is ``SCALED_TO_ZERO`` (it wakes
        up on demand, so it may run again without outside action).

        Args:
            deployment_id: The deployment to wait for.
            timeout: Seconds to wait in all (default 900). Every lookup is bounded by it too.
            poll_interval: Seconds between lookups (default 5).
            on_status: Called with the deployment each time its status changes (and first).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        Raises:
            DeploymentFailedError: ``FAILED``, ``STOPPED`` or ``PREEMPTED``; raised at once.
            WaitTimeoutError: Time ran out first (``resource_id``, ``last_seen``).
            LoopsError: A lookup failed for another reason (after its own retries).

        """
        return self._run(
            self._resource.wait_until_running,
            deployment_id,
            timeout=timeout,
            poll_interval=poll_interval,
            on_status=on_status,
            extra_headers=extra_headers,
        )


class SyncCapabilitiesResourceWithRawResponse(SyncResource[CapabilitiesResourceWithRawResponse]):
    """``client.with_raw_response.capabilities``: :class:`CapabilitiesResource`, in RawResponse.

    The blocking twin of :class:`CapabilitiesResourceWithRawResponse`, generated from it: each
    method takes the same arguments, returns the :class:`RawResponse` that awaiting the async
    method returns and raises the same exceptions; an async iterator comes back as a
    :class:`SyncIterator`, and so does the iterator a listing's :meth:`~RawResponse.parse` gives.
    """

    def list(
        self,
        *,
        model: str | None = None,
        use_case: UseCase | str | None = None,
        max_seq_len: int | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[list[SupportedModel]]:
        """List the supported models (``GET /v1/loops/capabilities``).

        Each has ``enabled`` (whether this workspace can start a run with it now) and, when it
        cannot, ``enablement_details``; filter on ``enabled`` for the usable set.

        Args:
            model: Ask about one HuggingFace repo id; an empty list means it is not supported.
            use_case: ``"rl"`` (server default: trainer and sampler) or ``"sft"``.
            max_seq_len: The sequence length you mean to train at; models that cannot serve
                it come back not enabled.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return self._run(
            self._resource.list,
            model=model,
            use_case=use_case,
            max_seq_len=max_seq_len,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class SyncUserConfigResourceWithRawResponse(SyncResource[UserConfigResourceWithRawResponse]):
    """``client.with_raw_response.user_config``: :class:`UserConfigResource`, in RawResponse.

    The blocking twin of :class:`UserConfigResourceWithRawResponse`, generated from it: each
    method takes the same arguments, returns the :class:`RawResponse` that awaiting the async
    method returns and raises the same exceptions; an async iterator comes back as a
    :class:`SyncIterator`, and so does the iterator a listing's :meth:`~RawResponse.parse` gives.
    """

    def get(
        self,
        *,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[UserConfig]:
        """Your Loops user config (``GET /v1/loops/user_config``).

        A priority of ``None`` means "inherit the organization's allowlist". ``timeout``:
        seconds for this call in all (default: the client's).
        """
        return self._run(
            self._resource.get,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    def update(
        self,
        *,
        trainer_accelerator_priority: Priority = UNSET,
        sampler_accelerator_priority: Priority = UNSET,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[UserConfig]:
        """Change your accelerator priorities (``PATCH /v1/loops/user_config``).

        Only the keywords you pass are sent (JSON Merge Patch): a list of GPU types, highest
        priority first, sets a priority; ``None`` clears it (inherit the organization's
        allowlist); leaving a keyword out leaves that priority as it is. The server refuses
        empty lists. Repeating the same update gives the same state, so it is retried.
        ``timeout``: seconds for this call in all (default: the client's).

        Returns:
            The config after the change.

        """
        return self._run(
            self._resource.update,
            trainer_accelerator_priority=trainer_accelerator_priority,
            sampler_accelerator_priority=sampler_accelerator_priority,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class SyncLoopsClientWithRawResponse(SyncView[LoopsClientWithRawResponse]):
    """``client.with_raw_response``: every resource group, each method answering a RawResponse.

    The blocking twin of :class:`LoopsClientWithRawResponse`, generated from it: each group
    is the blocking twin of the async one. It keeps its client alive, as
    ``client.with_raw_response`` and everything taken from it do.
    """

    @property
    def samplers(self) -> SyncSamplersResourceWithRawResponse:
        """The ``samplers`` group: :class:`SyncSamplersResourceWithRawResponse`."""
        return SyncSamplersResourceWithRawResponse(self._resource.samplers, self._owner)

    @property
    def runs(self) -> SyncRunsResourceWithRawResponse:
        """The ``runs`` group: :class:`SyncRunsResourceWithRawResponse`."""
        return SyncRunsResourceWithRawResponse(self._resource.runs, self._owner)

    @property
    def trainers(self) -> SyncTrainersResourceWithRawResponse:
        """The ``trainers`` group: :class:`SyncTrainersResourceWithRawResponse`."""
        return SyncTrainersResourceWithRawResponse(self._resource.trainers, self._owner)

    @property
    def sessions(self) -> SyncSessionsResourceWithRawResponse:
        """The ``sessions`` group: :class:`SyncSessionsResourceWithRawResponse`."""
        return SyncSessionsResourceWithRawResponse(self._resource.sessions, self._owner)

    @property
    def checkpoints(self) -> SyncCheckpointsResourceWithRawResponse:
        """The ``checkpoints`` group: :class:`SyncCheckpointsResourceWithRawResponse`."""
        return SyncCheckpointsResourceWithRawResponse(self._resource.checkpoints, self._owner)

    @property
    def deployments(self) -> SyncDeploymentsResourceWithRawResponse:
        """The ``deployments`` group: :class:`SyncDeploymentsResourceWithRawResponse`."""
        return SyncDeploymentsResourceWithRawResponse(self._resource.deployments, self._owner)

    @property
    def capabilities(self) -> SyncCapabilitiesResourceWithRawResponse:
        """The ``capabilities`` group: :class:`SyncCapabilitiesResourceWithRawResponse`."""
        return SyncCapabilitiesResourceWithRawResponse(self._resource.capabilities, self._owner)

    @property
    def user_config(self) -> SyncUserConfigResourceWithRawResponse:
        """The ``user_config`` group: :class:`SyncUserConfigResourceWithRawResponse`."""
        return SyncUserConfigResourceWithRawResponse(self._resource.user_config, self._owner)
