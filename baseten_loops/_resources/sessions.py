"""``client.sessions``: the sessions runs and samplers are created in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._models import Session
from .._routes import SESSIONS_CREATE, SESSIONS_GET
from ._base import ExtraHeaders, LookupsById, RawLookups

if TYPE_CHECKING:
    from ._base import raw_type

__all__ = ["SessionsResource", "SessionsResourceWithRawResponse"]


class SessionsResource(LookupsById[Session]):
    """``client.sessions``: create and read Loops sessions."""

    _lookup_route = SESSIONS_GET

    async def create(
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
        return await self._call(
            SESSIONS_CREATE, team_id=team_id, timeout=timeout, extra_headers=extra_headers
        )

    async def get(
        self, session_id: str, *, timeout: float | None = None, extra_headers: ExtraHeaders = None
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
        return await self._get_by_id(
            SESSIONS_GET, session_id, timeout=timeout, extra_headers=extra_headers
        )


class SessionsResourceWithRawResponse(RawLookups[Session], plain=SessionsResource):
    """``client.with_raw_response.sessions``: :class:`SessionsResource`, answers in RawResponse."""

    if TYPE_CHECKING:
        create = raw_type(SessionsResource.create)
        get = raw_type(SessionsResource.get)
