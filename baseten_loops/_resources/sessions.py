"""``client.sessions``: the sessions runs and samplers are created in."""

from __future__ import annotations

from .._models import Session
from .._routes import SESSIONS_CREATE, SESSIONS_GET
from ._base import ExtraHeaders, Resource

__all__ = ["SessionsResource"]


class SessionsResource(Resource):
    """``client.sessions``: create and read Loops sessions."""

    async def create(
        self, *, team_id: str | None = None, extra_headers: ExtraHeaders = None
    ) -> Session:
        """Create a session (``POST /v1/loops/sessions``).

        Sent once: after a failure that leaves open whether the server acted (a timeout, a
        dropped connection, a 5xx) the error is raised; an extra empty session costs nothing,
        so simply create another.

        Args:
            team_id: Create it for this team (``/v1/teams/{team_id}/loops/sessions``).
            extra_headers: Headers for this call only, never ``Authorization`` (``ExtraHeaders``).

        """
        return await self._call(SESSIONS_CREATE, team_id=team_id, extra_headers=extra_headers)

    async def get(self, session_id: str, *, extra_headers: ExtraHeaders = None) -> Session:
        """Fetch one session (``GET /v1/loops/sessions/{session_id}``).

        Raises:
            InvalidIdError: ``session_id`` cannot be one path segment (before any I/O).
            NotFoundError: No such session.

        """
        return await self._call(SESSIONS_GET, session_id=session_id, extra_headers=extra_headers)
