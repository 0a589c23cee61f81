"""``client.checkpoints``: list, validate, deploy and download the checkpoints of runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from .._exceptions import IdTypeError
from .._models import Checkpoint, CheckpointDeployment, CheckpointFile, CheckpointSource
from .._response import RawResponse
from .._routes import (
    CHECKPOINTS_DEPLOY,
    CHECKPOINTS_FILES,
    CHECKPOINTS_LIST,
    CHECKPOINTS_SOURCE,
    CHECKPOINTS_VALIDATE,
)
from ._base import ExtraHeaders, RawResource, Resource, call_arguments

if TYPE_CHECKING:
    from ._base import raw_type

__all__ = ["CheckpointsResource", "CheckpointsResourceWithRawResponse"]


class CheckpointsResource(Resource):
    """``client.checkpoints``: the checkpoints runs save."""

    async def list(
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
        return [
            *await self._call(
                CHECKPOINTS_LIST,
                timeout=timeout,
                extra_headers=extra_headers,
                **call_arguments(locals()),
            )
        ]

    async def validate(
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
        await self._call(
            CHECKPOINTS_VALIDATE,
            checkpoint_path=checkpoint_path,
            run_id=run_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    async def deploy(
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
        if isinstance(checkpoint_ids, str):
            raise IdTypeError("checkpoint_ids must be a sequence of ids, not one str")
        return await self._call(
            CHECKPOINTS_DEPLOY,
            checkpoint_ids=list(checkpoint_ids),
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
    ) -> AsyncIterator[CheckpointFile]:
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
        return self._iter_items(
            CHECKPOINTS_FILES,
            page_size=page_size,
            timeout=timeout,
            extra_headers=extra_headers,
            checkpoint_id=checkpoint_id,
        )

    async def source(
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
        return await self._call(
            CHECKPOINTS_SOURCE,
            checkpoint_id=checkpoint_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )


class CheckpointsResourceWithRawResponse(RawResource, plain=CheckpointsResource):
    """``client.with_raw_response.checkpoints``: :class:`CheckpointsResource`, in RawResponse."""

    if TYPE_CHECKING:
        list = raw_type(CheckpointsResource.list)
        validate = raw_type(CheckpointsResource.validate)
        deploy = raw_type(CheckpointsResource.deploy)
        source = raw_type(CheckpointsResource.source)

    async def iter_files(
        self,
        checkpoint_id: str,
        *,
        page_size: int | None = None,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> RawResponse[AsyncIterator[CheckpointFile]]:
        """The first page's answer; :meth:`RawResponse.parse` gives every file, page after page.

        As openai's raw listings: the first page is fetched now (its errors raised here); its
        files are not fetched again, and the next pages are fetched lazily, as with the plain
        method.
        """
        return await self._raw_items(
            CHECKPOINTS_FILES,
            page_size=page_size,
            timeout=timeout,
            extra_headers=extra_headers,
            checkpoint_id=checkpoint_id,
        )
