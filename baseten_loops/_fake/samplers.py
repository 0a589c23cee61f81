"""Samplers: ``/v1/loops/samplers`` and the team variants of its list and create (private)."""

from __future__ import annotations

import json
from typing import Any

from ._checks import AVAILABILITY_MODELS, SCOPE, ApiError, Call, Field, bad_request
from ._routing import Answer, Route, deactivated
from ._state import CALLER, FakeState, now, rfc3339


def sampler_payload(
    sampler_id: str,
    *,
    status: str = "ACTIVE",
    base_model: str = "Qwen/Qwen3-8B",
    created_at: str | None = None,
    model_id: str | None = None,
    deployment_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A sampler object as the live API sends it (``LoopsSamplerV1`` plus live fields)."""
    payload: dict[str, Any] = {
        "id": sampler_id,
        "base_url": f"https://model-{sampler_id}.api.baseten.co/environments/production/sync/v1",
        "base_model": base_model,
        "created_at": created_at or "2026-01-02T03:04:05.123456Z",
        "model_id": model_id,
        "deployment_id": deployment_id,
        "status": {"name": status},
        "user": dict(CALLER),
        "instance_type": None,
        "node_count": 1,
        # A field this client does not know (the live API adds some over time).
        "autoscaling_settings": {"min_replica": 0, "max_replica": 1},
    }
    payload.update(extra)
    return payload


# -- seeding (what FakeLoopsServer.add_* and the create routes call) --------------------------


def add_sampler(state: FakeState, payload: dict[str, Any], *, run_id: str | None = None) -> None:
    """Serve a sampler (paired to ``run_id`` if given)."""
    sampler_id = payload["id"]
    state.samplers[sampler_id] = payload
    state.sampler_bodies.pop(sampler_id, None)
    if run_id is not None:
        state.sampler_run[sampler_id] = run_id
        state.run_sampler[run_id] = sampler_id


def create_sampler(
    state: FakeState, base_model: str, *, run_id: str | None, team_id: str | None
) -> dict[str, Any]:
    """A new sampler that comes up through ``state.sampler_statuses``."""
    sampler_id = state.new_id()
    payload = sampler_payload(
        sampler_id,
        status=state.sampler_statuses[0],
        base_model=base_model,
        created_at=rfc3339(now()),
        model_id=state.new_id(),
        deployment_id=state.new_id(),
    )
    add_sampler(state, payload, run_id=run_id)
    state.script(sampler_id, state.sampler_statuses, state.polls_per_status)
    state.file_under_team(sampler_id, team_id)
    if run_id is not None:
        deployment_id = state.runs[run_id].get("deployment_id")
        if deployment_id in state.deployments:
            state.deployment_sampler[deployment_id] = sampler_id
    return payload


def remove_sampler(state: FakeState, sampler_id: str) -> None:
    """Stop serving a sampler, and forget its script and cached bytes."""
    state.samplers.pop(sampler_id, None)
    state.sampler_bodies.pop(sampler_id, None)
    state.status_scripts.pop(sampler_id, None)


# -- handlers ----------------------------------------------------------------------------------


def list_samplers(state: FakeState, call: Call) -> Answer:
    state.check_team(call)
    return {"samplers": state.visible(state.samplers, call, state.samplers.__getitem__)}


def create_sampler_route(state: FakeState, call: Call) -> Answer:
    state.check_team(call)
    state.lookup(state.sessions, "Session", call.body["session_id"])
    run_id, base_model = call.body.get("run_id"), call.body.get("base_model")
    model_path = call.body.get("model_path")
    if run_id is not None:
        run = state.lookup(state.runs, "Run", run_id)
        if run_id in state.run_sampler:  # a run that already has a sampler keeps it
            return {"sampler": state.samplers[state.run_sampler[run_id]]}
        base_model = run["base_model"]
    elif model_path is not None:
        checkpoint_id = state.checkpoint_uris.get(model_path)
        if checkpoint_id is None:
            raise bad_request(f"model_path {model_path} is not an accessible checkpoint")
        base_model = state.checkpoints[checkpoint_id]["base_model"]
    if base_model is None:
        raise bad_request("a standalone sampler needs base_model, run_id or model_path")
    sampler = create_sampler(state, base_model, run_id=run_id, team_id=call.team_id)
    return {"sampler": sampler}


def get_sampler(state: FakeState, call: Call) -> Answer:
    sampler_id = call.path["sampler_id"]
    state.advance(sampler_id)
    body = state.sampler_bodies.get(sampler_id)
    if body is None:
        payload = state.lookup(state.samplers, "Sampler", sampler_id)
        body = state.sampler_bodies[sampler_id] = json.dumps({"sampler": payload}).encode()
    return body


def deactivate_sampler(state: FakeState, call: Call) -> Answer:
    sampler = state.lookup(state.samplers, "Sampler", call.path["sampler_id"])
    run_id = state.sampler_run.get(sampler["id"])
    if run_id is not None:
        raise ApiError(
            409,
            "conflict",
            f"Sampler {sampler['id']} is paired to run {run_id}; deactivate the run instead",
            run_id=run_id,
        )
    state.deactivate(sampler["id"], "INACTIVE")
    return deactivated(sampler)


_SAMPLER_FIELDS = (
    Field("availability_model", choices=AVAILABILITY_MODELS),
    Field("session_id", required=True, nullable=False),
    Field("base_model"),
    Field("run_id"),
    Field("max_seq_length", int),
    Field("model_path"),
    Field("reuse_from_session_id"),
    Field("num_replicas", int, minimum=1),
)

ROUTES = (
    Route(
        "GET",
        "/v1/loops/samplers",
        "get_loops_samplers",
        list_samplers,
        query=(SCOPE,),
        team_scoped=True,
    ),
    Route(
        "POST",
        "/v1/loops/samplers",
        "post_loops_samplers",
        create_sampler_route,
        body=_SAMPLER_FIELDS,
        team_scoped=True,
    ),
    Route(
        "POST",
        "/v1/loops/samplers/{sampler_id}/deactivate",
        "post_loops_samplers_deactivate",
        deactivate_sampler,
    ),
    Route(
        "GET",
        "/v1/loops/samplers/{sampler_id}",
        "get_loops_samplers_sampler_id",
        get_sampler,
    ),
)
