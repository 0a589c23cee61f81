"""``client.runs`` and ``client.trainers``: create, list, read, shut down and await runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypedDict

from .._models import AvailabilityModel, DeactivatedRun, Run
from .._routes import RUNS_CREATE, RUNS_DEACTIVATE, RUNS_GET, RUNS_LIST, TRAINERS_CREATE
from .._waiting import check_wait_arguments, poll_until
from ._base import ExtraHeaders, LookupsById, RawLookups, RawResource, Resource, call_arguments

if TYPE_CHECKING:  # only type checkers read these: no runtime dependency on typing_extensions
    from typing_extensions import Required, Unpack

    from ._base import raw_type

__all__ = [
    "RunFields",
    "RunsResource",
    "RunsResourceWithRawResponse",
    "TrainerFields",
    "TrainersResource",
    "TrainersResourceWithRawResponse",
]


class TrainerFields(TypedDict, total=False):
    """The settings of a new trainer (``trainers.create``), passed as keywords.

    Attributes:
        session_id: The session it belongs to (``sessions.create``). Required.
        base_model: The HuggingFace base model to train (``"Qwen/Qwen3-8B"``). Required.
        name: A display name (server default: the base model's name).
        max_seq_len: The longest example, in tokens (server default: the model's maximum).
        lora_rank: The LoRA rank (server default 64).
        seed: A random seed for reproducibility.
        scale_down_delay_seconds: Idle seconds before scaling to zero, 1 to 3600 (server
            default 900).
        availability_model: ``"dedicated"`` (server default) or ``"spot"``.
        replicas: Data-parallel trainer replicas (server default 1).
        path: A ``bt://loops:<run_id>/weights/<name>`` checkpoint to start from.
        reuse_from_run_id: A prior run of the same base model whose trainer and sampler to
            reuse.
        reuse_from_session_id: Deprecated form of ``reuse_from_run_id``.

    """

    session_id: Required[str]
    base_model: Required[str]
    name: str | None
    max_seq_len: int | None
    lora_rank: int | None
    seed: int | None
    scale_down_delay_seconds: int | None
    availability_model: AvailabilityModel | str | None
    replicas: int | None
    path: str | None
    reuse_from_run_id: str | None
    reuse_from_session_id: str | None


class RunFields(TrainerFields, total=False):
    """The settings of a new run (``runs.create``): a trainer's, and its sampler's replicas.

    Attributes:
        sampler_num_replicas: Replicas of the paired sampler (minimum and maximum).

    """

    sampler_num_replicas: int | None


class RunsResource(LookupsById[Run]):
    """``client.runs``: Loops runs, a trainer paired with a sampler."""

    _lookup_route = RUNS_GET

    async def create(
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
        return await self._call(
            RUNS_CREATE, team_id=team_id, timeout=timeout, extra_headers=extra_headers, **fields
        )

    async def get(
        self, run_id: str, *, timeout: float | None = None, extra_headers: ExtraHeaders = None
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
        return await self._get_by_id(RUNS_GET, run_id, timeout=timeout, extra_headers=extra_headers)

    async def list(
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
        return [
            *await self._call(
                RUNS_LIST,
                team_id=team_id,
                timeout=timeout,
                extra_headers=extra_headers,
                **call_arguments(locals()),
            )
        ]

    async def deactivate(
        self, run_id: str, *, timeout: float | None = None, extra_headers: ExtraHeaders = None
    ) -> DeactivatedRun:
        """Shut a run down with its paired sampler (``POST /v1/loops/runs/{run_id}/deactivate``).

        Succeeds for a run that is already inactive, so it is safely retried. Checkpoints
        stay readable. Use :meth:`wait_until_inactive` to wait for the teardown.

        Args:
            run_id: The run.
            timeout: Seconds for this call in all (default: the client's ``timeout``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return await self._call(
            RUNS_DEACTIVATE, run_id=run_id, timeout=timeout, extra_headers=extra_headers
        )

    async def wait_until_inactive(
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
        check_wait_arguments(timeout, poll_interval)
        return await poll_until(
            self._poller(RUNS_GET, run_id, extra_headers),
            what="run",
            object_id=run_id,
            goal="INACTIVE",
            reached=lambda run: run.status.is_inactive,
            failure=lambda run: None,
            timeout=timeout,
            poll_interval=poll_interval,
            on_status=on_status,
            secrets=self._http.secrets,
        )


class TrainersResource(Resource):
    """``client.trainers``: trainer-only runs, without a sampler."""

    async def create(
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
        return await self._call(
            TRAINERS_CREATE, team_id=team_id, timeout=timeout, extra_headers=extra_headers, **fields
        )


class RunsResourceWithRawResponse(RawLookups[Run], plain=RunsResource):
    """``client.with_raw_response.runs``: :class:`RunsResource`, answers in RawResponse."""

    if TYPE_CHECKING:
        list = raw_type(RunsResource.list)
        create = raw_type(RunsResource.create)
        get = raw_type(RunsResource.get)
        deactivate = raw_type(RunsResource.deactivate)
        wait_until_inactive = raw_type(RunsResource.wait_until_inactive)


class TrainersResourceWithRawResponse(RawResource, plain=TrainersResource):
    """``client.with_raw_response.trainers``: :class:`TrainersResource`, answers in RawResponse."""

    if TYPE_CHECKING:
        create = raw_type(TrainersResource.create)
