"""Sessions: ``/v1/loops/sessions`` and its team variant (private)."""

from __future__ import annotations

from typing import Any

from ._checks import Call
from ._routing import Answer, Route
from ._state import FakeState


def add_session(state: FakeState, session_id: str | None, team_id: str | None) -> dict[str, Any]:
    """Serve a session."""
    session_id = session_id or state.new_id()
    state.sessions[session_id] = {"id": session_id}
    state.file_under_team(session_id, team_id)
    return state.sessions[session_id]


def create_session(state: FakeState, call: Call) -> Answer:
    state.check_team(call)
    return {"session": add_session(state, None, call.team_id)}


def get_session(state: FakeState, call: Call) -> Answer:
    return {"session": state.lookup(state.sessions, "Session", call.path["session_id"])}


ROUTES = (
    Route("POST", "/v1/loops/sessions", "post_loops_sessions", create_session, team_scoped=True),
    Route("GET", "/v1/loops/sessions/{session_id}", "get_loops_sessions", get_session),
)
