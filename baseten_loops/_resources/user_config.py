"""``client.user_config``: your own accelerator priorities for Loops."""

from __future__ import annotations

from collections.abc import Sequence

from .._models import UserConfig
from .._routes import UNSET, USER_CONFIG_GET, USER_CONFIG_UPDATE, Unset
from ._base import ExtraHeaders, Resource

__all__ = ["UserConfigResource"]

Priority = Sequence[str] | None | Unset


class UserConfigResource(Resource):
    """``client.user_config``: read and change your Loops accelerator priorities."""

    async def get(self, *, extra_headers: ExtraHeaders = None) -> UserConfig:
        """Your Loops user config (``GET /v1/loops/user_config``).

        A priority of ``None`` means "inherit the organization's allowlist".
        """
        return await self._call(USER_CONFIG_GET, extra_headers=extra_headers)

    async def update(
        self,
        *,
        trainer_accelerator_priority: Priority = UNSET,
        sampler_accelerator_priority: Priority = UNSET,
        extra_headers: ExtraHeaders = None,
    ) -> UserConfig:
        """Change your accelerator priorities (``PATCH /v1/loops/user_config``).

        Only the keywords you pass are sent (JSON Merge Patch): a list of GPU types, highest
        priority first, sets a priority; ``None`` clears it (inherit the organization's
        allowlist); leaving a keyword out leaves that priority as it is. The server refuses
        empty lists. Repeating the same update gives the same state, so it is retried.

        Returns:
            The config after the change.

        """
        return await self._call(
            USER_CONFIG_UPDATE,
            trainer_accelerator_priority=_as_list(trainer_accelerator_priority),
            sampler_accelerator_priority=_as_list(sampler_accelerator_priority),
            extra_headers=extra_headers,
        )


def _as_list(priority: object) -> object:
    if isinstance(priority, Sequence) and not isinstance(priority, str):
        return list(priority)
    return priority  # None, UNSET, or a str the server will refuse
