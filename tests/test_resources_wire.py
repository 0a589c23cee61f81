"""Every operation on the wire: method, path, query and JSON body as the server receives them.

The answer each route gets is generated from its response schema in the spec; what the call
returns must be that answer, structured and unwrapped.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest

from baseten_loops import (
    AvailabilityModel,
    ConflictError,
    IdTypeError,
    InvalidIdError,
    LogLevel,
    LoopsClient,
    ResponseValidationError,
    SortOrder,
    UseCase,
)
from baseten_loops._convert import parse_response
from baseten_loops._routes import ROUTES

from .recording import Answer, Received, RecordingServer
from .spec_payloads import operations, payload, response_schema

Call = Callable[[LoopsClient], Awaitable[Any]]


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


@attrs.frozen
class Case:
    route: str
    call: Call
    method: str
    path: str
    query: dict[str, str] = attrs.field(factory=dict)
    json: Any = None
    last_page: bool = False  # answer with next_page_token null, so the listing ends


RUN_FIELDS: dict[str, Any] = {
    "name": "my run",
    "max_seq_len": 8192,
    "lora_rank": 16,
    "seed": 0,
    "scale_down_delay_seconds": 600,
    "availability_model": AvailabilityModel.SPOT,
    "replicas": 2,
    "path": "bt://loops:r0/weights/step-1",
    "reuse_from_run_id": "r0",
    "reuse_from_session_id": "s0",
}
RUN_JSON = {**RUN_FIELDS, "availability_model": "spot", "session_id": "s1", "base_model": "Q/8B"}
SAMPLER_FIELDS: dict[str, Any] = {
    "base_model": "Q/8B",
    "run_id": "r1",
    "availability_model": "dedicated",
    "max_seq_length": 4096,
    "model_path": "bt://loops:r1/sampler_weights/step-1",
    "reuse_from_session_id": "s0",
    "num_replicas": 2,
}
L = "/v1/loops"
T = "/v1/teams/team-1/loops"

CASES = [
    Case("samplers.get", lambda c: c.samplers.get("text"), "GET", f"{L}/samplers/text"),
    Case("samplers.list", lambda c: c.samplers.list(scope="org"), "GET", f"{L}/samplers",
         {"scope": "org"}),
    Case("samplers.list", lambda c: c.samplers.list(team_id="team-1"), "GET", f"{T}/samplers"),
    Case("samplers.create", lambda c: c.samplers.create(session_id="s1", **SAMPLER_FIELDS),
         "POST", f"{L}/samplers", json={"session_id": "s1", **SAMPLER_FIELDS}),
    Case("samplers.create", lambda c: c.samplers.create(session_id="s1", team_id="team-1"),
         "POST", f"{T}/samplers", json={"session_id": "s1"}),
    Case("samplers.deactivate", lambda c: c.samplers.deactivate("sp 1"), "POST",
         f"{L}/samplers/sp%201/deactivate"),
    Case("runs.list", lambda c: c.runs.list(run_id="r1", base_model="Q/8B", scope="org"),
         "GET", f"{L}/runs", {"run_id": "r1", "base_model": "Q/8B", "scope": "org"}),
    Case("runs.list", lambda c: c.runs.list(team_id="team-1"), "GET", f"{T}/runs"),
    Case("runs.create",
         lambda c: c.runs.create(session_id="s1", base_model="Q/8B", sampler_num_replicas=3,
                                 **RUN_FIELDS),
         "POST", f"{L}/runs", json={**RUN_JSON, "sampler_num_replicas": 3}),
    Case("runs.create",
         lambda c: c.runs.create(session_id="s1", base_model="Q/8B", team_id="team-1"),
         "POST", f"{T}/runs", json={"session_id": "s1", "base_model": "Q/8B"}),
    Case("runs.get", lambda c: c.runs.get("text"), "GET", f"{L}/runs/text"),
    Case("runs.deactivate", lambda c: c.runs.deactivate("r1"), "POST",
         f"{L}/runs/r1/deactivate"),
    Case("trainers.create",
         lambda c: c.trainers.create(session_id="s1", base_model="Q/8B", **RUN_FIELDS),
         "POST", f"{L}/trainers", json=RUN_JSON),
    Case("trainers.create",
         lambda c: c.trainers.create(session_id="s1", base_model="Q/8B", team_id="team-1"),
         "POST", f"{T}/trainers", json={"session_id": "s1", "base_model": "Q/8B"}),
    Case("sessions.create", lambda c: c.sessions.create(), "POST", f"{L}/sessions"),
    Case("sessions.create", lambda c: c.sessions.create(team_id="team-1"), "POST",
         f"{T}/sessions"),
    Case("sessions.get", lambda c: c.sessions.get("text"), "GET", f"{L}/sessions/text"),
    Case("checkpoints.list",
         lambda c: c.checkpoints.list(run_id="r1", base_model="Q/8B", checkpoint_path="bt://x"),
         "GET", f"{L}/checkpoints",
         {"run_id": "r1", "base_model": "Q/8B", "checkpoint_path": "bt://x"}),
    Case("checkpoints.list", lambda c: c.checkpoints.list(), "GET", f"{L}/checkpoints"),
    Case("checkpoints.validate", lambda c: c.checkpoints.validate("bt://x", run_id="r1"),
         "POST", f"{L}/checkpoints/validate", json={"checkpoint_path": "bt://x", "run_id": "r1"}),
    Case("checkpoints.validate", lambda c: c.checkpoints.validate("bt://x"), "POST",
         f"{L}/checkpoints/validate", json={"checkpoint_path": "bt://x"}),
    Case("checkpoints.deploy",
         lambda c: c.checkpoints.deploy(checkpoint_ids=("c1", "c2"), model_name="m",
                                        instance_type_id="H100:1", hf_secret_name="hf"),
         "POST", f"{L}/checkpoints/deploy",
         json={"checkpoint_ids": ["c1", "c2"], "model_name": "m", "instance_type_id": "H100:1",
               "hf_secret_name": "hf"}),
    Case("checkpoints.files", lambda c: collect(c.checkpoints.iter_files("c1", page_size=2)),
         "GET", f"{L}/checkpoints/c1/files", {"page_size": "2"}, last_page=True),
    Case("checkpoints.files", lambda c: collect(c.checkpoints.iter_files("c1")),
         "GET", f"{L}/checkpoints/c1/files", last_page=True),
    Case("checkpoints.source", lambda c: c.checkpoints.source("c1"), "GET",
         f"{L}/checkpoints/c1/source"),
    Case("deployments.list", lambda c: c.deployments.list(scope="org"), "GET",
         f"{L}/deployments", {"scope": "org"}),
    Case("deployments.get", lambda c: c.deployments.get("text"), "GET",
         f"{L}/deployments/text"),
    Case("deployments.deactivate", lambda c: c.deployments.deactivate("d1"), "POST",
         f"{L}/deployments/d1/deactivate"),
    Case("deployments.debug_archive_files",
         lambda c: collect(c.deployments.iter_debug_archive_files("d1", page_size=5)),
         "GET", f"{L}/deployments/d1/debug_archive/files", {"page_size": "5"}, last_page=True),
    Case("deployments.metrics",
         lambda c: c.deployments.metrics("d1", start_epoch_millis=1, end_epoch_millis=2,
                                         step_seconds=60, time_divisor_seconds=1),
         "POST", f"{L}/deployments/d1/metrics",
         json={"start_epoch_millis": 1, "end_epoch_millis": 2, "step_seconds": 60,
               "time_divisor_seconds": 1}),
    Case("deployments.metrics", lambda c: c.deployments.metrics("d1"), "POST",
         f"{L}/deployments/d1/metrics", json={}),
    Case("deployments.logs",
         lambda c: c.deployments.logs("d1", start_epoch_millis=1, end_epoch_millis=2,
                                      direction=SortOrder.DESC, limit=10,
                                      min_level=LogLevel.WARNING),
         "GET", f"{L}/deployments/d1/logs",
         {"start_epoch_millis": "1", "end_epoch_millis": "2", "direction": "desc",
          "limit": "10", "min_level": "WARNING"}),
    Case("deployments.logs", lambda c: c.deployments.logs("d1"), "GET",
         f"{L}/deployments/d1/logs"),
    Case("capabilities.list",
         lambda c: c.capabilities.list(model="Q/8B", use_case=UseCase.SFT, max_seq_len=4096),
         "GET", f"{L}/capabilities", {"model": "Q/8B", "use_case": "sft", "max_seq_len": "4096"}),
    Case("capabilities.list", lambda c: c.capabilities.list(), "GET", f"{L}/capabilities"),
    Case("user_config.get", lambda c: c.user_config.get(), "GET", f"{L}/user_config"),
    Case("user_config.update",
         lambda c: c.user_config.update(trainer_accelerator_priority=("H100", "H200"),
                                        sampler_accelerator_priority=None),
         "PATCH", f"{L}/user_config",
         json={"trainer_accelerator_priority": ["H100", "H200"],
               "sampler_accelerator_priority": None}),
    Case("user_config.update", lambda c: c.user_config.update(), "PATCH", f"{L}/user_config",
         json={}),
]  # fmt: skip


def answer_for(case: Case) -> dict[str, Any]:
    route = ROUTES[case.route]
    body = payload(response_schema(operations()[route.operation_id][2]))
    if case.last_page:
        body["next_page_token"] = None
    return body


def expected_result(case: Case, body: dict[str, Any]) -> Any:
    route = ROUTES[case.route]
    result = parse_response(json.dumps(body).encode(), route.response_key, route.response_type)
    if route.paging is not None:
        return list(getattr(result, route.paging.items))
    return list(result) if isinstance(result, tuple) else result


@pytest.mark.parametrize("case", CASES, ids=[f"{c.route}-{i}" for i, c in enumerate(CASES)])
async def test_operation_on_the_wire(
    case: Case, recorder: RecordingServer, rclient: LoopsClient
) -> None:
    body = answer_for(case)
    recorder.script(case.method, case.path, Answer(body=body))
    result = await case.call(rclient)
    assert recorder.received == [Received(case.method, case.path, case.query, case.json)]
    assert result == expected_result(case, body)


def test_every_route_and_every_team_variant_has_a_wire_case() -> None:
    assert {case.route for case in CASES} == set(ROUTES)
    team_routes = {case.route for case in CASES if case.path.startswith(T)}
    assert team_routes == {name for name, route in ROUTES.items() if route.team_capable}


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.runs.get(".."),
        lambda c: c.runs.deactivate("a/b"),
        lambda c: c.sessions.get(""),
        lambda c: c.checkpoints.source("x\n"),
        lambda c: c.deployments.get(" "),
        lambda c: c.deployments.logs("."),
        lambda c: c.samplers.deactivate("a/b"),
        lambda c: c.runs.list(team_id="../x"),
        lambda c: collect(c.checkpoints.iter_files("..")),
    ],
)
async def test_bad_ids_fail_before_any_request(
    call: Call, recorder: RecordingServer, rclient: LoopsClient
) -> None:
    with pytest.raises(InvalidIdError):
        await call(rclient)
    assert recorder.received == []


async def test_deploy_refuses_a_single_str_of_ids(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    with pytest.raises(IdTypeError, match="checkpoint_ids"):
        await rclient.checkpoints.deploy(
            checkpoint_ids="c1", model_name="m", instance_type_id="i", hf_secret_name="h"
        )
    assert recorder.received == []


async def test_paired_sampler_deactivation_conflict_is_a_conflict_error(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script(
        "POST",
        f"{L}/samplers/sp1/deactivate",
        Answer(status=409, body={"error": "paired", "message": "sampler belongs to run r1"}),
    )
    with pytest.raises(ConflictError, match="sampler belongs to run r1"):
        await rclient.samplers.deactivate("sp1")
    assert recorder.count("POST", f"{L}/samplers/sp1/deactivate") == 1


async def test_the_client_has_every_resource_group(rclient: LoopsClient) -> None:
    groups = {name.split(".")[0] for name in ROUTES}
    assert all(hasattr(rclient, group) for group in groups)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.runs.create(session_id="s"),
        lambda c: c.trainers.create(base_model="m"),
        lambda c: c.runs.create(session_id="s", base_model="m", sampler_replicas=2),
        lambda c: c.trainers.create(session_id="s", base_model="m", sampler_num_replicas=2),
    ],
)
async def test_run_fields_are_checked_like_keywords_before_any_request(
    call: Call, recorder: RecordingServer, rclient: LoopsClient
) -> None:
    with pytest.raises(TypeError):
        await call(rclient)
    assert recorder.received == []


async def test_a_bad_answer_names_the_operation_and_the_field(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    run = {**payload("LoopsRunV1"), "created_at": "2026-01-02"}
    recorder.script("GET", f"{L}/runs", Answer(body={"runs": [payload("LoopsRunV1"), run]}))
    with pytest.raises(ResponseValidationError) as info:
        await rclient.runs.list()
    assert str(info.value).startswith("invalid runs.list response: runs[1].created_at: ")


async def test_an_empty_answer_must_still_be_a_json_object(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script("POST", f"{L}/checkpoints/validate", Answer(body=["ok"]))
    with pytest.raises(ResponseValidationError) as info:
        await rclient.checkpoints.validate("bt://x")
    assert str(info.value) == (
        "invalid checkpoints.validate response: (body): expected a JSON object, got list"
    )
