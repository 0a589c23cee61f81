"""Loops deployments: ``/v1/loops/deployments``, their debug archive, logs and metrics (private)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ._checks import SCOPE, Call, Field, bad_request
from ._routing import Answer, Route, deactivated, paged
from ._state import CALLER, FakeState, FileSpec, file_entries, now, now_ms, rfc3339

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_MAX_LOG_WINDOW_MS = 7 * 24 * 3600 * 1000
_DEFAULT_LOG_WINDOW_MS = 30 * 60 * 1000
_INSTANCE_TYPE = {
    "id": "H100x8",
    "name": "H100:8x80GiB",
    "memory_limit_mib": 1_900_000,
    "millicpu_limit": 190_000,
    "gpu_count": 8,
    "gpu_type": "H100",
    "gpu_memory_limit_mib": 81_920,
}


# -- seeding (what FakeLoopsServer.add_* and the run routes call) -----------------------------


def add_deployment(
    state: FakeState,
    deployment_id: str | None,
    *,
    base_model: str,
    fields: Mapping[str, Any],
    run_id: str | None = None,
    team_id: str | None = None,
) -> dict[str, Any]:
    """Serve a Loops deployment that comes up through ``state.deployment_statuses``.

    ``run_id`` is the run it runs (``None``: none); ``team_id`` the team it belongs to.
    """
    deployment_id = deployment_id or state.new_id()
    deployment: dict[str, Any] = {
        "id": deployment_id,
        "active_run_id": run_id,
        "latest_run_id": run_id,
        "base_model": base_model,
        "base_url": f"https://loops-{deployment_id}.api.baseten.co",
        "status": {"name": state.deployment_statuses[0]},
        "user": dict(CALLER),
        "created_at": rfc3339(now()),
        "availability_model": "dedicated",
        "instance_type": dict(_INSTANCE_TYPE),
        "node_count": 1,
    }
    deployment.update(fields)
    state.deployments[deployment_id] = deployment
    state.script(deployment_id, state.deployment_statuses, state.polls_per_status)
    state.file_under_team(deployment_id, team_id)
    return deployment


def set_debug_files(state: FakeState, deployment_id: str, files: FileSpec) -> None:
    """Serve these debug-archive files for a deployment."""
    state.debug_files[deployment_id] = file_entries(f"debug/{deployment_id}", files)


def add_logs(state: FakeState, deployment_id: str, logs: Iterable[str | Mapping[str, Any]]) -> None:
    """Append log lines of a deployment (strings, or ``LogV1`` objects)."""
    lines = state.logs.setdefault(deployment_id, [])
    after_ns = max((int(line["timestamp"]) for line in lines), default=0)
    lines.extend(_log_entries(logs, after_ns))


def _log_entries(logs: Iterable[str | Mapping[str, Any]], after_ns: int) -> list[dict[str, Any]]:
    items = list(logs)
    # Unstamped lines are a millisecond apart, ending now and after the lines already there,
    # so the default window (the last 30 minutes) holds them in the order they were added.
    next_ns = max(now_ms() * 1_000_000 - len(items) * 1_000_000, after_ns + 1_000_000)
    entries = []
    for index, log in enumerate(items):
        entry: dict[str, Any] = {"message": log} if isinstance(log, str) else dict(log)
        entry.setdefault("timestamp", str(next_ns + index * 1_000_000))
        entry.setdefault("replica", "replica-0")
        entry.setdefault("request_id", None)
        entry.setdefault("level", "INFO")
        entries.append(entry)
    return entries


def deployment_json(state: FakeState, deployment_id: str) -> dict[str, Any]:
    """The ``LoopsDeploymentV1`` object of a deployment, with its sampler as it is now."""
    sampler_id = state.deployment_sampler.get(deployment_id)
    return {**state.deployments[deployment_id], "sampler": state.samplers.get(sampler_id or "")}


# -- handlers ----------------------------------------------------------------------------------


def list_deployments(state: FakeState, call: Call) -> Answer:
    deployments = state.visible(
        state.deployments, call, lambda deployment_id: deployment_json(state, deployment_id)
    )
    return {"deployments": deployments}


def get_deployment(state: FakeState, call: Call) -> Answer:
    deployment_id = call.path["deployment_id"]
    deployment = state.poll(state.deployments, "Deployment", deployment_id, deployment_json)
    return {"deployment": deployment}


def deactivate_deployment(state: FakeState, call: Call) -> Answer:
    deployment = state.lookup(state.deployments, "Deployment", call.path["deployment_id"])
    run_id = deployment.get("active_run_id")
    state.deactivate(
        deployment["id"],
        "STOPPED",
        run_id if run_id in state.runs else None,
        state.deployment_sampler.get(deployment["id"]),
    )
    deployment["active_run_id"] = None
    return deactivated(deployment)


def debug_files_page(state: FakeState, call: Call) -> Answer:
    deployment_id = call.path["deployment_id"]
    state.lookup(state.deployments, "Deployment", deployment_id)
    files = state.debug_files.get(deployment_id, [])
    token = call.query["page_token"]
    offset = 0 if token is None else _decode_token(token)
    page, next_offset = paged(files, offset, call.query["page_size"] or 1000)
    next_token = None if next_offset is None else _encode_token(next_offset)
    return {"presigned_urls": page, "next_page_token": next_token}


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        prefix, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if prefix == "offset" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise bad_request("page_token is not a token this server issued")


def deployment_logs(state: FakeState, call: Call) -> Answer:
    deployment_id = call.path["deployment_id"]
    state.lookup(state.deployments, "Deployment", deployment_id)
    start, end = _window(
        call.query["start_epoch_millis"], call.query["end_epoch_millis"], _DEFAULT_LOG_WINDOW_MS
    )
    if end - start > _MAX_LOG_WINDOW_MS:
        raise bad_request("the window from start to end must not exceed 7 days")
    min_level = call.query["min_level"]
    levels = _LOG_LEVELS[_LOG_LEVELS.index(min_level) :] if min_level else None
    lines = [
        line
        for line in state.logs.get(deployment_id, [])
        if start <= int(line["timestamp"]) // 1_000_000 <= end
        and (levels is None or line.get("level") in levels)
    ]
    newest_first = (call.query["direction"] or "desc") == "desc"
    lines.sort(key=lambda line: int(line["timestamp"]), reverse=newest_first)
    limit = call.query["limit"]
    return {"logs": lines[: 500 if limit is None else limit]}


def deployment_metrics(state: FakeState, call: Call) -> Answer:
    deployment_id = call.path["deployment_id"]
    state.lookup(state.deployments, "Deployment", deployment_id)
    body = call.body
    start, end = _window(body.get("start_epoch_millis"), body.get("end_epoch_millis"), 3600_000)
    step = body.get("step_seconds") or max(60, (end - start) // 1000 // 60)
    count = min(60, (end - start) // 1000 // step + 1)
    compute = {
        "gpu_memory_usage_bytes": {"0": _series(start, step, count, 6.0e10)},
        "gpu_utilization": {"0": _series(start, step, count, 0.8)},
        "cpu_usage": _series(start, step, count, 3.5),
        "cpu_memory_usage_bytes": _series(start, step, count, 2.0e10),
        "ephemeral_storage": {
            "usage_bytes": _series(start, step, count, 1.0e9),
            "utilization": _series(start, step, count, 0.1),
        },
    }
    stamps = [point["timestamp"] for point in _series(start, step, count, 0.0)]
    metrics = {
        "inference_volume": _series(start, step, count, 2.0),
        "concurrent_requests": _series(start, step, count, 1.0),
        "response_time_stats": [
            {"timestamp": stamp, "p50": 120.0, "p95": 300.0, "p99": 450.0} for stamp in stamps
        ],
        "inference_volume_by_status": [
            {"timestamp": stamp, "status_2xx": 2.0, "status_4xx": 0.0, "status_5xx": 0.0}
            for stamp in stamps
        ],
        **compute,
        "per_node_metrics": [{"node_id": "node-0", **compute}],
    }
    return {"deployment_id": deployment_id, "metrics": metrics}


def _window(start_ms: int | None, end_ms: int | None, default_ms: int) -> tuple[int, int]:
    """A time window in epoch milliseconds: ``end`` defaults to now, ``start`` to before it."""
    end = now_ms() if end_ms is None else end_ms
    start = end - default_ms if start_ms is None else start_ms
    if start > end:
        raise bad_request("start_epoch_millis must not be after end_epoch_millis")
    return start, end


def _series(start_ms: int, step_s: int, count: int, value: float) -> list[dict[str, Any]]:
    start = datetime.fromtimestamp(start_ms / 1000, timezone.utc)
    return [
        {"value": value, "timestamp": rfc3339(start + timedelta(seconds=step_s * index))}
        for index in range(count)
    ]


ROUTES = (
    Route(
        "GET",
        "/v1/loops/deployments",
        "get_loops_deployments",
        list_deployments,
        query=(SCOPE,),
    ),
    Route(
        "POST",
        "/v1/loops/deployments/{deployment_id}/deactivate",
        "post_loops_deployments_deactivate",
        deactivate_deployment,
    ),
    Route(
        "GET",
        "/v1/loops/deployments/{deployment_id}",
        "get_loops_deployments_deployment_id",
        get_deployment,
    ),
    Route(
        "GET",
        "/v1/loops/deployments/{deployment_id}/debug_archive/files",
        "get_loops_deployments_debug_archive_files",
        debug_files_page,
        query=(Field("page_size", int, minimum=1, maximum=1000), Field("page_token")),
    ),
    Route(
        "POST",
        "/v1/loops/deployments/{deployment_id}/metrics",
        "post_loops_deployments_metrics",
        deployment_metrics,
        body=(
            Field("end_epoch_millis", int),
            Field("start_epoch_millis", int),
            Field("step_seconds", int, minimum=1),
            Field("time_divisor_seconds", int, minimum=1),
        ),
    ),
    Route(
        "GET",
        "/v1/loops/deployments/{deployment_id}/logs",
        "get_loops_deployments_logs",
        deployment_logs,
        query=(
            Field("start_epoch_millis", int),
            Field("end_epoch_millis", int),
            Field("direction", choices=("asc", "desc")),
            Field("limit", int, minimum=1, maximum=1000),
            Field("min_level", choices=_LOG_LEVELS),
        ),
    ),
)
