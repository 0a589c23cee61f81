"""How a route group declares its operations to the fake server (private).

Each group module (``runs.py``, ``samplers.py`` ...) ends with a ``ROUTES`` tuple of
:class:`Route` objects, one per operation, next to the handlers they name; the package
(``baseten_loops._fake``) joins them into the one table the server serves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._checks import Call, Field
from ._state import FakeState

#: What a handler answers: a JSON-able object, or ready-made JSON bytes.
Answer = dict[str, Any] | bytes
#: A route's handler: reads and changes the state, answers, or raises ``ApiError``.
Handler = Callable[[FakeState, Call], Answer]


@attrs.frozen
class Route:
    """One operation: ``method`` and path ``template``, its inputs, and its handler.

    ``team_scoped`` operations are also served under ``/v1/teams/{team_id}/loops/...`` (see
    :func:`with_team_variants`).
    """

    method: str
    template: str
    operation_id: str
    handler: Handler
    query: tuple[Field, ...] = ()
    body: tuple[Field, ...] | None = None
    team_scoped: bool = False

    @property
    def key(self) -> str:
        """``"METHOD /template"``, e.g. ``"GET /v1/loops/runs/{run_id}"``."""
        return f"{self.method} {self.template}"

    @property
    def pattern(self) -> re.Pattern[str]:
        """Matches a concrete path of this template."""
        return re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", self.template) + "$")


def with_team_variants(routes: Iterable[Route]) -> tuple[Route, ...]:
    """``routes``, then the team variant of each team-scoped one, in the same order."""
    loops_routes = tuple(routes)
    return loops_routes + tuple(
        attrs.evolve(
            route,
            template=route.template.replace("/v1/loops/", "/v1/teams/{team_id}/loops/"),
            operation_id=route.operation_id.replace("_loops_", "_teams_loops_"),
        )
        for route in loops_routes
        if route.team_scoped
    )


def paged(items: Sequence[Any], offset: int, page_size: int) -> tuple[list[Any], int | None]:
    """The page of ``items`` at ``offset``, and the offset of the next page (``None``: none)."""
    page = list(items[offset : offset + page_size])
    next_offset = offset + page_size
    return page, next_offset if next_offset < len(items) else None


def deactivated(served: Mapping[str, Any]) -> Answer:
    """What every ``.../deactivate`` route answers: the object's id, base model and owner."""
    return {"id": served["id"], "base_model": served["base_model"], "user": served["user"]}
