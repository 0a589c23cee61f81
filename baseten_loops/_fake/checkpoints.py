"""Checkpoints: ``/v1/loops/checkpoints``, their files and source, validate and deploy (private)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._checks import Call, Field, bad_request
from ._routing import Answer, Route, paged
from ._state import BASE_MODELS, FakeState, FileSpec, file_entries, now, rfc3339

_BT_URI = re.compile(r"^bt://loops:(?P<run_id>[^/]+)/(?P<kind>weights|sampler_weights)/[^/]+$")


def add_checkpoint(
    state: FakeState,
    checkpoint_id: str | None,
    *,
    run_id: str,
    name: str,
    target: str,
    files: FileSpec,
    source: Mapping[str, Any] | None,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """Serve a checkpoint of ``run_id`` with its files and source."""
    checkpoint_id = checkpoint_id or state.new_id()
    entries = file_entries(f"checkpoints/{checkpoint_id}", files)
    run = state.runs.get(run_id, {})
    checkpoint: dict[str, Any] = {
        "checkpoint_id": checkpoint_id,
        "id": checkpoint_id,
        "created_at": rfc3339(now()),
        "checkpoint_type": "lora",
        "base_model": run.get("base_model", BASE_MODELS[0]),
        "lora_adapter_config": {"r": 64, "lora_alpha": 32},
        "size_bytes": sum(entry.get("size_bytes", 0) for entry in entries),
        "sync_status": "COMPLETE",
        "lora_config": {
            "config_version": run.get("lora_config_version") or "v1",
            "targets": ["q_proj", "k_proj", "v_proj", "o_proj"],
            "expert_layout": None,
        },
        "run_id": run_id,
        "target": target,
    }
    checkpoint.update(fields)
    state.checkpoints[checkpoint_id] = checkpoint
    state.checkpoint_files[checkpoint_id] = entries
    state.checkpoint_sources[checkpoint_id] = dict(source or {"kind": "s3"})
    folder = "sampler_weights" if target == "sampler" else "weights"
    uri = f"bt://loops:{run_id}/{folder}/{name}"
    state.checkpoint_uris[uri] = checkpoint_id
    state.uri_of_checkpoint[checkpoint_id] = uri
    return checkpoint


# -- handlers ----------------------------------------------------------------------------------


def list_checkpoints(state: FakeState, call: Call) -> Answer:
    filters = {name: value for name, value in call.query.items() if value is not None}
    if len(filters) != 1:
        raise bad_request("provide exactly one of run_id, base_model, checkpoint_path")
    (name, value), checkpoints = next(iter(filters.items())), state.checkpoints
    if name == "checkpoint_path":
        if not _BT_URI.match(value):
            raise bad_request(f"checkpoint_path {value} is not a bt://loops: URI")
        wanted = state.checkpoint_uris.get(value)
        return {"checkpoints": [checkpoints[wanted]] if wanted else []}
    return {"checkpoints": [c for c in checkpoints.values() if c.get(name) == value]}


def validate_checkpoint(state: FakeState, call: Call) -> Answer:
    path = call.body["checkpoint_path"]
    match = _BT_URI.match(path)
    if match is None or match["kind"] != "sampler_weights":
        raise bad_request(f"{path} is not a bt://loops:<run_id>/sampler_weights/<name> URI")
    if path not in state.checkpoint_uris:
        raise bad_request(f"checkpoint {path} does not exist or is not accessible")
    run_id = call.body.get("run_id")
    if run_id is not None:
        if run_id not in state.runs:
            raise bad_request(f"run {run_id} does not exist or is not accessible")
        checkpoint = state.checkpoints[state.checkpoint_uris[path]]
        version = (checkpoint.get("lora_config") or {}).get("config_version")
        if version != state.runs[run_id].get("lora_config_version"):
            raise bad_request(f"checkpoint {path} has another LoRA config than run {run_id}")
    return {}


def deploy_checkpoints(state: FakeState, call: Call) -> Answer:
    for checkpoint_id in call.body["checkpoint_ids"]:
        checkpoint = state.lookup(state.checkpoints, "Checkpoint", checkpoint_id)
        if checkpoint.get("target") != "sampler":
            raise bad_request(f"checkpoint {checkpoint_id} is not a sampler checkpoint")
    answer = {"model_id": state.new_id(), "deployment_id": state.new_id()}
    state.model_deployments.append({**answer, "request": dict(call.body)})
    return answer


def checkpoint_files_page(state: FakeState, call: Call) -> Answer:
    checkpoint_id = call.path["checkpoint_id"]
    files = state.lookup(state.checkpoint_files, "Checkpoint", checkpoint_id)
    offset, size = call.query["page_token"] or 0, call.query["page_size"] or 1000
    page, next_token = paged(files, offset, size)
    return {"presigned_urls": page, "next_page_token": next_token, "total_count": len(files)}


def checkpoint_source(state: FakeState, call: Call) -> Answer:
    checkpoint_id = call.path["checkpoint_id"]
    return {"source": state.lookup(state.checkpoint_sources, "Checkpoint", checkpoint_id)}


ROUTES = (
    Route(
        "GET",
        "/v1/loops/checkpoints",
        "get_loops_checkpoints",
        list_checkpoints,
        query=(Field("run_id"), Field("base_model"), Field("checkpoint_path")),
    ),
    Route(
        "POST",
        "/v1/loops/checkpoints/validate",
        "post_loops_checkpoints_validate",
        validate_checkpoint,
        body=(Field("checkpoint_path", required=True, nullable=False), Field("run_id")),
    ),
    Route(
        "POST",
        "/v1/loops/checkpoints/deploy",
        "post_loops_checkpoints_deploy",
        deploy_checkpoints,
        body=(
            Field("checkpoint_ids", list, required=True, nullable=False, min_length=1),
            Field("model_name", required=True, nullable=False, min_length=1),
            Field("instance_type_id", required=True, nullable=False),
            Field("hf_secret_name", required=True, nullable=False, min_length=1),
        ),
    ),
    Route(
        "GET",
        "/v1/loops/checkpoints/{checkpoint_id}/files",
        "get_loops_checkpoints_files",
        checkpoint_files_page,
        query=(
            Field("page_size", int, nullable=True, minimum=1),
            Field("page_token", int, nullable=True, minimum=0),
        ),
    ),
    Route(
        "GET",
        "/v1/loops/checkpoints/{checkpoint_id}/source",
        "get_loops_checkpoints_source",
        checkpoint_source,
    ),
)
