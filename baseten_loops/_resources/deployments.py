"""``client.deployments``: the infrastructure behind runs, its logs, metrics and archives."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from .._exceptions import DeploymentFailedError
from .._models import (
    CheckpointFile,
    DeactivatedDeployment,
    Deployment,
    DeploymentMetrics,
    Log,
    LogLevel,
    SortOrder,
)
from .._response import RawResponse
from .._routes import (
    DEPLOYMENTS_DEACTIVATE,
    DEPLOYMENTS_DEBUG_ARCHIVE_FILES,
    DEPLOYMENTS_GET,
    DEPLOYMENTS_LIST,
    DEPLOYMENTS_LOGS,
    DEPLOYMENTS_METRICS,
)
from .._waiting import check_wait_arguments, poll_until
from ._base import ExtraHeaders, LookupsById, RawLookups, call_arguments

if TYPE_CHECKING:
    from ._base import raw_type

__all__ = ["DeploymentsResource", "DeploymentsResourceWithRawResponse"]


class DeploymentsResource(LookupsById[Deployment]):
    """``client.deployments``: Loops deployments (a run's trainer and sampler infrastructure)."""

    _lookup_route = DEPLOYMENTS_GET

    async def get(
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
        return await self._get_by_id(
            DEPLOYMENTS_GET, deployment_id, timeout=timeout, extra_headers=extra_headers
        )

    async def list(
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
        return [
            *await self._call(
                DEPLOYMENTS_LIST, scope=scope, timeout=timeout, extra_headers=extra_headers
            )
        ]

    async def deactivate(
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
        return await self._call(
            DEPLOYMENTS_DEACTIVATE,
            deployment_id=deployment_id,
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
    ) -> AsyncIterator[CheckpointFile]:
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
        return self._iter_items(
            DEPLOYMENTS_DEBUG_ARCHIVE_FILES,
            page_size=page_size,
            timeout=timeout,
            extra_headers=extra_headers,
            deployment_id=deployment_id,
        )

    async def metrics(
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
        return await self._call(
            DEPLOYMENTS_METRICS,
            timeout=timeout,
            extra_headers=extra_headers,
            **call_arguments(locals()),
        )

    async def logs(
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
        return [
            *await self._call(
                DEPLOYMENTS_LOGS,
                timeout=timeout,
                extra_headers=extra_headers,
                **call_arguments(locals()),
            )
        ]

    async def wait_until_running(
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
        check_wait_arguments(timeout, poll_interval)
        return await poll_until(
            self._poller(DEPLOYMENTS_GET, deployment_id, extra_headers),
            what="deployment",
            object_id=deployment_id,
            goal="RUNNING",
            reached=lambda deployment: deployment.status.is_ready,
            failure=_deployment_failure,
            timeout=timeout,
            poll_interval=poll_interval,
            on_status=on_status,
            secrets=self._http.secrets,
        )


class DeploymentsResourceWithRawResponse(RawLookups[Deployment], plain=DeploymentsResource):
    """``client.with_raw_response.deployments``: :class:`DeploymentsResource`, in RawResponse."""

    if TYPE_CHECKING:
        list = raw_type(DeploymentsResource.list)
        get = raw_type(DeploymentsResource.get)
        deactivate = raw_type(DeploymentsResource.deactivate)
        metrics = raw_type(DeploymentsResource.metrics)
        logs = raw_type(DeploymentsResource.logs)
        wait_until_running = raw_type(DeploymentsResource.wait_until_running)

    async def iter_debug_archive_files(
        self,
        deployment_id: str,
        *,
        page_size: int | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[AsyncIterator[CheckpointFile]]:
        """The first page's answer; :meth:`RawResponse.parse` gives every file, page after page.

        The first page is fetched now (its errors raised here); its files are not fetched
        again, and the next pages are fetched lazily, as with the plain method.
        """
        return await self._raw_items(
            DEPLOYMENTS_DEBUG_ARCHIVE_FILES,
            page_size=page_size,
            timeout=timeout,
            extra_headers=extra_headers,
            deployment_id=deployment_id,
        )


def _deployment_failure(deployment: Deployment) -> DeploymentFailedError | None:
    if not deployment.status.is_failed:
        return None
    return DeploymentFailedError(
        f"deployment {deployment.id!r} is {deployment.status.name}; it will not be RUNNING",
        last_seen=deployment,
    )
