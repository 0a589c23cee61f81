"""``client.capabilities``: which models Loops supports, and which this workspace can run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._models import SupportedModel, UseCase
from .._routes import CAPABILITIES_LIST
from ._base import ExtraHeaders, RawResource, Resource, call_arguments

if TYPE_CHECKING:
    from ._base import raw_type

__all__ = ["CapabilitiesResource", "CapabilitiesResourceWithRawResponse"]


class CapabilitiesResource(Resource):
    """``client.capabilities``: the models the Loops server supports."""

    async def list(
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
        return [
            *await self._call(
                CAPABILITIES_LIST,
                timeout=timeout,
                extra_headers=extra_headers,
                **call_arguments(locals()),
            )
        ]


class CapabilitiesResourceWithRawResponse(RawResource, plain=CapabilitiesResource):
    """``client.with_raw_response.capabilities``: :class:`CapabilitiesResource`, in RawResponse."""

    if TYPE_CHECKING:
        list = raw_type(CapabilitiesResource.list)
