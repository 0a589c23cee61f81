"""``client.samplers``: create, list, deactivate, look up (one, many) and await samplers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .._exceptions import SamplerFailedError, WaitTimeoutError
from .._models import AvailabilityModel, DeactivatedSampler, Sampler
from .._routes import SAMPLERS_CREATE, SAMPLERS_DEACTIVATE, SAMPLERS_GET, SAMPLERS_LIST
from .._waiting import check_wait_arguments, poll_until
from ._base import ExtraHeaders, LookupsById, RawLookups, call_arguments

if TYPE_CHECKING:
    from ._base import raw_type

__all__ = ["SamplersResource", "SamplersResourceWithRawResponse"]


class SamplersResource(LookupsById[Sampler]):
    """``client.samplers``: create, list, deactivate, look up (one, many) and await samplers."""

    _lookup_route = SAMPLERS_GET

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
        return await self._get_by_id(
            SAMPLERS_GET, sampler_id, timeout=timeout, extra_headers=extra_headers
        )

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
        return await poll_until(
            self._poller(SAMPLERS_GET, sampler_id, extra_headers),
            what="sampler",
            object_id=sampler_id,
            goal="ACTIVE",
            reached=lambda sampler: sampler.status.is_ready,
            failure=_sampler_failure,
            timeout=timeout,
            poll_interval=poll_interval,
            on_status=on_status,
            secrets=self._http.secrets,
            timeout_error=lambda message, last: WaitTimeoutError(
                message, sampler_id=sampler_id, last_sampler=last
            ),
        )

    async def list(
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
        return [
            *await self._call(
                SAMPLERS_LIST,
                team_id=team_id,
                scope=scope,
                timeout=timeout,
                extra_headers=extra_headers,
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
        return await self._call(
            SAMPLERS_CREATE,
            team_id=team_id,
            timeout=timeout,
            extra_headers=extra_headers,
            **call_arguments(locals()),
        )

    async def deactivate(
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
        return await self._call(
            SAMPLERS_DEACTIVATE, sampler_id=sampler_id, timeout=timeout, extra_headers=extra_headers
        )


class SamplersResourceWithRawResponse(RawLookups[Sampler], plain=SamplersResource):
    """``client.with_raw_response.samplers``: :class:`SamplersResource`, answers in RawResponse."""

    if TYPE_CHECKING:
        get = raw_type(SamplersResource.get)
        wait_until_active = raw_type(SamplersResource.wait_until_active)
        list = raw_type(SamplersResource.list)
        create = raw_type(SamplersResource.create)
        deactivate = raw_type(SamplersResource.deactivate)


def _sampler_failure(sampler: Sampler) -> SamplerFailedError | None:
    if not sampler.status.is_failed:
        return None
    return SamplerFailedError(
        f"sampler {sampler.id!r} is {sampler.status.name}; it will not become ACTIVE",
        sampler=sampler,
    )
