"""``client.sessions``: the sessions runs and samplers are created in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Iterable
from typing import TYPE_CHECKING, Literal, overload

from .. import _bulk
from .._exceptions import LoopsError
from .._models import Session
from .._routes import SESSIONS_CREATE, SESSIONS_GET
from ._base import ExtraHeaders, RawLookups, Resource

if TYPE_CHECKING:
    from ._base import raw_type

__all__ = ["SessionsResource", "SessionsResourceWithRawResponse"]


class SessionsResource(Resource):
    """``client.sessions``: create and read Loops sessions."""

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

    @overload
    async def get_many(
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
    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = ...,
        return_exceptions: Literal[True],
        timeout: float | None = ...,
        extra_headers: ExtraHeaders = ...,
        on_progress: _bulk.Progress | None = ...,
    ) -> list[Session | LoopsError]: ...

    async def get_many(
        self,
        ids: Iterable[str],
        *,
        concurrency: int = 16,
        return_exceptions: bool = False,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
        on_progress: _bulk.Progress | None = None,
    ) -> list[Session] | list[Session | LoopsError]:
        """Look up many sessions concurrently; results come back in input order.

        As ``samplers.get_many``: one request per distinct id (duplicates share it), at most
        ``concurrency`` in flight, throttled lookups set aside while others go on, and a 401
        failing the ids left without a request each.

        Args:
            ids: The session ids (any iterable; it is read in full first).
            concurrency: Most requests in flight at once (default 16).
            return_exceptions: ``False`` (default): the first failure is raised and the
                remaining lookups are cancelled; invalid ids are refused before any request.
                ``True``: each slot holds the :class:`Session` or the :class:`LoopsError` for
                that id; an invalid id fails only its own slot (``InvalidIdError``).
            timeout: Seconds each lookup may take in all (default: the client's ``timeout``).
            extra_headers: Headers for every lookup, never ``Authorization`` (``ExtraHeaders``).
            on_progress: Called with ``(done, total)`` at the start and as lookups complete.

        """
        return await self._get_many(
            SESSIONS_GET,
            ids,
            concurrency=concurrency,
            return_exceptions=return_exceptions,
            timeout=timeout,
            extra_headers=extra_headers,
            on_progress=on_progress,
        )

    async def iter_many(
        self,
        ids: _bulk.Ids,
        *,
        concurrency: int = 16,
        timeout: float | None = None,
        extra_headers: ExtraHeaders = None,
    ) -> AsyncGenerator[tuple[str, Session | LoopsError], None]:
        """Look up many sessions, yielding ``(session_id, Session | LoopsError)`` as each completes.

        As ``samplers.iter_many``: ``ids`` (any iterable or async iterable) read lazily,
        memory bounded by ``concurrency``, one pair per input id in completion order, failures
        yielded and never raised.

        Args:
            ids: The session ids.
            concurrency: Most lookups in flight at once (default 16).
            timeout: Seconds each lookup may take in all (default: the client's ``timeout``).
            extra_headers: Headers for every lookup, never ``Authorization`` (``ExtraHeaders``).

        """
        lookups = self._iter_many(
            SESSIONS_GET, ids, concurrency=concurrency, timeout=timeout, extra_headers=extra_headers
        )
        async with contextlib.aclosing(lookups):  # closing this generator closes the engine's
            async for item in lookups:
                yield item


class SessionsResourceWithRawResponse(
    RawLookups[Session], plain=SessionsResource, lookup=SESSIONS_GET
):
    """``client.with_raw_response.sessions``: :class:`SessionsResource`, answers in RawResponse."""

    if TYPE_CHECKING:
        create = raw_type(SessionsResource.create)
        get = raw_type(SessionsResource.get)
