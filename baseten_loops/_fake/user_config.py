"""The caller's Loops user config: ``/v1/loops/user_config`` (private)."""

from __future__ import annotations

from ._checks import Call, Field
from ._routing import Answer, Route
from ._state import FakeState


def get_user_config(state: FakeState, call: Call) -> Answer:
    return {"user_config": dict(state.user_config)}


def patch_user_config(state: FakeState, call: Call) -> Answer:
    for name in state.user_config:
        if name in call.body:
            state.user_config[name] = call.body[name]
    return {"user_config": dict(state.user_config)}


ROUTES = (
    Route("GET", "/v1/loops/user_config", "get_loops_user_config", get_user_config),
    Route(
        "PATCH",
        "/v1/loops/user_config",
        "patch_loops_user_config",
        patch_user_config,
        body=tuple(
            Field(name, list, min_length=1)
            for name in ("trainer_accelerator_priority", "sampler_accelerator_priority")
        ),
    ),
)
