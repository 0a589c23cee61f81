"""The state and the routes behind :class:`baseten_loops.testing.FakeLoopsServer` (private).

The fake is split by route group as the client is (``_resources/``): one module per group
(``sessions``, ``runs`` with trainers, ``samplers``, ``checkpoints``, ``deployments``,
``capabilities``, ``user_config``) holds the group's handlers, the seeding functions the
server's ``add_*`` methods call, and a ``ROUTES`` tuple declaring each operation (method, path
template, query parameters and body fields, validated like the live service does, 422 naming
the field). The groups share one store (``_state.FakeState``), the request checks and error
bodies (``_checks``) and the route type (``_routing``). This module joins the groups into the
one table the server serves. The server in ``testing.py`` owns the sockets, auth, recording and
scripted faults (``_faults``); it runs a route's handler last.

Adding an operation: a handler and a ``Route`` in its group's module, as a method and a route
in its client resource.
"""

from __future__ import annotations

from . import capabilities, checkpoints, deployments, runs, samplers, sessions, user_config
from ._routing import Route, with_team_variants

__all__ = ["ROUTES", "ROUTES_BY_OPERATION"]

#: Every operation of the spec: the ``/v1/loops`` ones, then their team variants.
ROUTES: tuple[Route, ...] = with_team_variants(
    (
        *user_config.ROUTES,
        *capabilities.ROUTES,
        *sessions.ROUTES,
        *runs.ROUTES,
        *samplers.ROUTES,
        *checkpoints.ROUTES,
        *deployments.ROUTES,
    )
)
ROUTES_BY_OPERATION = {route.operation_id: route for route in ROUTES}
