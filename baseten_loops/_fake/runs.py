"""Runs and trainers: ``/v1/loops/runs``, ``/v1/loops/trainers`` and their team variants (private).

A run is served with the Loops deployment it runs on and, unless it is a trainer, its paired
sampler; those objects live in ``deployments.py`` and ``samplers.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._checks import AVAILABILITY_MODELS, SCOPE, Call, Field
from ._routing import Answer, Route, deactivated
from ._state import CALLER, FakeState, now, rfc3339
from .deployments import add_deployment
from .samplers import create_sampler


def add_run(
    state: FakeState,
    run_id: str | None,
    *,
    session_id: str,
    base_model: str,
    with_sampler: bool,
    team_id: str | None,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """Serve a run on a new deployment, with a paired sampler unless ``with_sampler`` is off."""
    run_id = run_id or state.new_id()
    deployment_id = state.new_id()
    run: dict[str, Any] = {
        "id": run_id,
        "session_id": session_id,
        "deployment_id": deployment_id,
        "name": base_model,
        "base_model": base_model,
        "lora_config_version": "v1",
        "base_url": f"https://loops-{run_id}.api.baseten.co",
        "created_at": rfc3339(now()),
        "status": {"name": "ACTIVE"},
        "user": dict(CALLER),
    }
    run.update(fields)
    state.runs[run_id] = run
    add_deployment(
        state, deployment_id, base_model=base_model, run_id=run_id, team_id=team_id, fields={}
    )
    state.file_under_team(run_id, team_id)
    if with_sampler:
        create_sampler(state, base_model, run_id=run_id, team_id=team_id)
    return run


def run_json(state: FakeState, run_id: str) -> dict[str, Any]:
    """The ``LoopsRunV1`` object of a run, with its sampler as it is now."""
    sampler_id = state.run_sampler.get(run_id)
    return {**state.runs[run_id], "sampler": state.samplers.get(sampler_id or "")}


# -- handlers ----------------------------------------------------------------------------------


def list_runs(state: FakeState, call: Call) -> Answer:
    state.check_team(call)
    runs = state.visible(state.runs, call, lambda run_id: run_json(state, run_id))
    run_id, base_model = call.query["run_id"], call.query["base_model"]
    if run_id is not None:
        runs = [run for run in runs if run["id"] == run_id]
    if base_model is not None:
        runs = [run for run in runs if run["base_model"] == base_model]
    return {"runs": runs}


def _create_run(state: FakeState, call: Call, *, with_sampler: bool) -> Answer:
    state.check_team(call)
    body = call.body
    state.lookup(state.sessions, "Session", body["session_id"])
    run = add_run(
        state,
        None,
        session_id=body["session_id"],
        base_model=body["base_model"],
        with_sampler=with_sampler,
        team_id=call.team_id,
        fields={"name": body.get("name") or body["base_model"]},
    )
    if body.get("availability_model"):
        deployment = state.deployments[run["deployment_id"]]
        deployment["availability_model"] = body["availability_model"]
    return {"run": run_json(state, run["id"])}


def create_run(state: FakeState, call: Call) -> Answer:
    return _create_run(state, call, with_sampler=True)


def create_trainer(state: FakeState, call: Call) -> Answer:
    return _create_run(state, call, with_sampler=False)


def get_run(state: FakeState, call: Call) -> Answer:
    return {"run": state.poll(state.runs, "Run", call.path["run_id"], run_json)}


def deactivate_run(state: FakeState, call: Call) -> Answer:
    run = state.lookup(state.runs, "Run", call.path["run_id"])
    state.deactivate(run["id"], "INACTIVE", state.run_sampler.get(run["id"]))
    for deployment in state.deployments.values():
        if deployment.get("active_run_id") == run["id"]:
            deployment["active_run_id"] = None
    return deactivated(run)


_RUN_FIELDS = (
    Field("session_id", required=True, nullable=False),
    Field("base_model", required=True, nullable=False),
    Field("name", min_length=1, max_length=255),
    Field("max_seq_len", int),
    Field("lora_rank", int, nullable=False, minimum=1),
    Field("seed", int),
    Field("scale_down_delay_seconds", int, nullable=False, minimum=1, maximum=3600),
    Field("availability_model", nullable=False, choices=AVAILABILITY_MODELS),
    Field("replicas", int, nullable=False, minimum=1),
    Field("path"),
    Field("reuse_from_run_id"),
    Field("reuse_from_session_id"),
)

ROUTES = (
    Route(
        "GET",
        "/v1/loops/runs",
        "get_loops_runs",
        list_runs,
        query=(Field("run_id"), Field("base_model"), SCOPE),
        team_scoped=True,
    ),
    Route(
        "POST",
        "/v1/loops/runs",
        "post_loops_runs",
        create_run,
        body=(*_RUN_FIELDS, Field("sampler_num_replicas", int, minimum=1)),
        team_scoped=True,
    ),
    Route(
        "POST",
        "/v1/loops/runs/{run_id}/deactivate",
        "post_loops_runs_deactivate",
        deactivate_run,
    ),
    Route("GET", "/v1/loops/runs/{run_id}", "get_loops_runs_run_id", get_run),
    Route(
        "POST",
        "/v1/loops/trainers",
        "post_loops_trainers",
        create_trainer,
        body=_RUN_FIELDS,
        team_scoped=True,
    ),
)
