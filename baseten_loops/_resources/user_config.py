"""``client.user_config``: your own accelerator priorities for Loops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._models import UserConfig
from .._routes import UNSET, USER_CONFIG_GET, USER_CONFIG_UPDATE, Unset
from ._base import ExtraHeaders, RawResource, Resource

if TYPE_CHECKING:
    from ._base import raw_type

__all__ = ["UserConfigResource", "UserConfigResourceWithRawResponse"]

Priority = Sequence[str] | None | Unset


class UserConfigResource(Resource):
    """``client.user_config``: read and change your Loops accelerator priorities."""

    async def get(
        self, *, timeout: float | None = None, extra_headers: ExtraHeaders = None
    ) -> UserConfig:
        """Your Loops user config (``GET /v1/loops/user_config``).

        A priority of ``None`` means "inherit the organization's allowlist". ``timeout``:
        seconds for this call in all (default: the client's).
        """
        return await self._call(USER_CONFIG_GET, timeout=timeout, extra_headers=extra_headers)

    async def update(
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
        return await self._call(
            USER_CONFIG_UPDATE,
            trainer_accelerator_priority=_as_list(trainer_accelerator_priority),
            sampler_accelerator_priority=_as_list(sampler_accelerator_priority),
            timeout=timeout,
            extra_headers=extra_headers,
        )


class UserConfigResourceWithRawResponse(RawResource, plain=UserConfigResource):
    """``client.with_raw_response.user_config``: :class:`UserConfigResource`, in RawResponse."""

    if TYPE_CHECKING:
        get = raw_type(UserConfigResource.get)
        update = raw_type(UserConfigResource.update)


def _as_list(priority: object) -> object:
    if isinstance(priority, Sequence) and not isinstance(priority, str):
        return list(priority)
    return priority  # None, UNSET, or a str the server will refuse
