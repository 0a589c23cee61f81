"""The fake server serves every /loops operation of the spec with state, like the live API.

Requests are plain aiohttp calls, so these tests pin the HTTP contract (status codes, wrapper
keys, required fields, RFC 3339 date-times) independently of the library's client methods.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import attrs
import pytest

from baseten_loops._fake import ROUTES
from baseten_loops.testing import FakeLoopsServer

# The operations of loops-openapi.yaml (operationId), and the required fields of its schemas.
SPEC_OPERATIONS = {
    "get_loops_user_config",
    "patch_loops_user_config",
    "get_loops_capabilities",
    "post_loops_sessions",
    "get_loops_sessions",
    "get_loops_runs",
    "post_loops_runs",
    "post_loops_runs_deactivate",
    "get_loops_runs_run_id",
    "post_loops_trainers",
    "get_loops_samplers",
    "post_loops_samplers",
    "post_loops_samplers_deactivate",
    "get_loops_samplers_sampler_id",
    "get_loops_checkpoints",
    "post_loops_checkpoints_validate",
    "post_loops_checkpoints_deploy",
    "get_loops_checkpoints_files",
    "get_loops_checkpoints_source",
    "get_loops_deployments",
    "post_loops_deployments_deactivate",
    "get_loops_deployments_deployment_id",
    "get_loops_deployments_debug_archive_files",
    "post_loops_deployments_metrics",
    "get_loops_deployments_logs",
    "post_teams_loops_sessions",
    "get_teams_loops_runs",
    "post_teams_loops_runs",
    "post_teams_loops_trainers",
    "get_teams_loops_samplers",
    "post_teams_loops_samplers",
}
SAMPLER = {"id", "base_url", "base_model", "created_at", "status", "user"}
RUN = {"id", "session_id", "name", "base_model", "base_url", "created_at", "status", "user"}
DEPLOYMENT = {"id", "base_model", "base_url", "status", "user", "created_at", "instance_type"}
INSTANCE_TYPE = {"id", "name", "memory_limit_mib", "millicpu_limit", "gpu_count", "gpu_type"}
CHECKPOINT = {"checkpoint_id", "created_at", "checkpoint_type", "base_model", "run_id", "target"}
CHECKPOINT |= {"lora_adapter_config", "size_bytes", "id", "lora_config"}
FILE = {"url", "relative_file_name", "node_rank", "size_bytes", "last_modified"}
DEACTIVATED = {"id", "base_model", "user"}
LOG = {"timestamp", "message", "replica"}
SUPPORTED_MODEL = {"model_name", "max_seq_len", "max_context_length", "supports_vision_language"}
METRIC = {"value", "timestamp"}
NODE_METRICS = {"gpu_memory_usage_bytes", "gpu_utilization", "cpu_usage"}
NODE_METRICS |= {"cpu_memory_usage_bytes", "ephemeral_storage"}
METRICS = NODE_METRICS | {"inference_volume", "concurrent_requests", "response_time_stats"}
METRICS |= {"inference_volume_by_status", "per_node_metrics"}
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def has_fields(obj: Mapping[str, Any], required: set[str]) -> bool:
    missing = required - obj.keys()
    assert not missing, f"missing {missing} in {obj}"
    return True


@attrs.define
class Api:
    """Plain HTTP calls to the fake, answering (status, parsed JSON body)."""

    server: FakeLoopsServer
    session: aiohttp.ClientSession

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        auth: str | None = "Bearer",
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"{auth} {self.server.api_key}"} if auth else {}
        url = self.server.base_url + path
        async with self.session.request(
            method, url, params=params, json=json, data=data, headers=headers
        ) as response:
            return response.status, await response.json()

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        status, body = await self.call(method, path, **kwargs)
        assert status == 200, body
        return body

    async def session_id(self) -> str:
        return str((await self.ok("POST", "/v1/loops/sessions"))["session"]["id"])


@pytest.fixture
async def api(server: FakeLoopsServer) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(server, session)


def concrete(template: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "unknown", template)


# -- the whole surface ------------------------------------------------------------------------


def test_the_route_table_is_the_spec() -> None:
    assert {route.operation_id for route in ROUTES} == SPEC_OPERATIONS
    assert len(ROUTES) == 31


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.operation_id)
async def test_every_operation_is_served_and_checks_the_key(api: Api, route: Any) -> None:
    path = concrete(route.template)
    status, body = await api.call(route.method, path, auth=None)
    assert (status, body["error"]) == (401, "unauthorized")
    status, body = await api.call(route.method, path, auth="Api-Key", json={})
    assert "no route" not in str(body)
    assert api.server.recorded[-1].route == route.key


async def test_unknown_ids_are_json_404s(api: Api) -> None:
    for path in (
        "/v1/loops/sessions/nope",
        "/v1/loops/runs/nope",
        "/v1/loops/samplers/nope",
        "/v1/loops/deployments/nope",
        "/v1/loops/checkpoints/nope/files",
        "/v1/loops/checkpoints/nope/source",
        "/v1/loops/deployments/nope/logs",
        "/v1/loops/deployments/nope/debug_archive/files",
    ):
        status, body = await api.call("GET", path)
        assert status == 404
        assert body["error"] == "not_found"
        assert "nope" in body["message"]


async def test_a_known_path_with_another_method_is_a_404(api: Api) -> None:
    status, body = await api.call("DELETE", "/v1/loops/runs")
    assert status == 404
    assert body["message"] == "no route for DELETE /v1/loops/runs"


# -- sessions ---------------------------------------------------------------------------------


async def test_a_created_session_can_be_fetched(api: Api) -> None:
    session_id = await api.session_id()
    assert await api.ok("GET", f"/v1/loops/sessions/{session_id}") == {
        "session": {"id": session_id}
    }


async def test_team_routes_need_a_known_team(api: Api) -> None:
    status, body = await api.call("POST", "/v1/teams/t1/loops/sessions")
    assert (status, body["message"]) == (404, "Team t1 not found")
    api.server.add_team("t1")
    body = await api.ok("POST", "/v1/teams/t1/loops/sessions")
    assert has_fields(body["session"], {"id"})


# -- runs and trainers ------------------------------------------------------------------------


async def test_a_created_run_has_a_sampler_and_is_listed(api: Api) -> None:
    session_id = await api.session_id()
    body = {"session_id": session_id, "base_model": "Qwen/Qwen3-8B", "lora_rank": 16}
    run = (await api.ok("POST", "/v1/loops/runs", json=body))["run"]
    assert has_fields(run, RUN)
    assert has_fields(run["sampler"], SAMPLER)
    assert RFC3339_Z.match(run["created_at"])
    assert (run["status"]["name"], run["name"]) == ("ACTIVE", "Qwen/Qwen3-8B")
    assert run["sampler"]["status"]["name"] == "BUILDING"
    assert (await api.ok("GET", f"/v1/loops/runs/{run['id']}"))["run"]["id"] == run["id"]
    listed = (await api.ok("GET", "/v1/loops/runs"))["runs"]
    assert [r["id"] for r in listed] == [run["id"]]


async def test_run_lists_honour_run_id_base_model_and_scope(api: Api) -> None:
    mine = api.server.add_run(base_model="Qwen/Qwen3-8B")
    other_model = api.server.add_run(base_model="mistralai/Mistral-7B-v0.3")
    theirs = api.server.add_run(user={"email": "colleague@example.com"})

    async def ids(**params: str) -> list[str]:
        return [run["id"] for run in (await api.ok("GET", "/v1/loops/runs", params=params))["runs"]]

    assert await ids() == [other_model["id"], mine["id"]]  # newest first, own runs
    assert await ids(scope="org") == [theirs["id"], other_model["id"], mine["id"]]
    assert await ids(run_id=mine["id"]) == [mine["id"]]
    assert await ids(base_model="mistralai/Mistral-7B-v0.3") == [other_model["id"]]
    assert await ids(run_id="nope") == []


async def test_team_run_lists_show_only_that_teams_runs(api: Api) -> None:
    api.server.add_run()
    api.server.add_team("t1")
    session_id = (await api.ok("POST", "/v1/teams/t1/loops/sessions"))["session"]["id"]
    body = {"session_id": session_id, "base_model": "Qwen/Qwen3-8B"}
    in_team = (await api.ok("POST", "/v1/teams/t1/loops/trainers", json=body))["run"]
    team_runs = (await api.ok("GET", "/v1/teams/t1/loops/runs"))["runs"]
    assert [run["id"] for run in team_runs] == [in_team["id"]]
    assert len((await api.ok("GET", "/v1/loops/runs"))["runs"]) == 2


async def test_run_creation_validates_its_body(api: Api) -> None:
    status, body = await api.call("POST", "/v1/loops/runs", json={"base_model": 3})
    assert status == 422
    assert body == {
        "error": "validation_error",
        "message": "body.session_id: field required; body.base_model: must be a string",
    }
    status, body = await api.call("POST", "/v1/loops/runs", data=b"{not json")
    assert (status, body["error"]) == (400, "bad_request")
    status, body = await api.call("POST", "/v1/loops/runs", data=b"")
    assert (status, body["message"]) == (422, "body: a JSON object is required")
    status, body = await api.call("POST", "/v1/loops/runs", json=[1])
    assert (status, body["message"]) == (422, "body: must be a JSON object")
    bad = {"session_id": "s", "base_model": "m", "scale_down_delay_seconds": 0, "lora_rank": True}
    status, body = await api.call("POST", "/v1/loops/runs", json=bad)
    assert status == 422
    assert "body.lora_rank: must be an integer" in body["message"]
    assert "body.scale_down_delay_seconds: must be >= 1" in body["message"]
    status, body = await api.call("POST", "/v1/loops/runs", json={**bad, "lora_rank": None})
    assert "body.lora_rank: must not be null" in body["message"]
    status, body = await api.call("POST", "/v1/loops/runs", json={"session_id": "s", "name": ""})
    assert "body.name: must have at least 1" in body["message"]
    name = "x" * 256
    status, body = await api.call("POST", "/v1/loops/runs", json={"session_id": "s", "name": name})
    assert "body.name: must have at most 255 characters" in body["message"]


async def test_a_run_needs_an_existing_session(api: Api) -> None:
    body = {"session_id": "nope", "base_model": "Qwen/Qwen3-8B"}
    status, answer = await api.call("POST", "/v1/loops/runs", json=body)
    assert (status, answer["message"]) == (404, "Session nope not found")


async def test_deactivating_a_run_stops_it_and_its_sampler_and_is_idempotent(api: Api) -> None:
    run = api.server.add_run()
    for _ in range(2):
        answer = await api.ok("POST", f"/v1/loops/runs/{run['id']}/deactivate")
        assert answer == {"id": run["id"], "base_model": run["base_model"], "user": run["user"]}
    after = (await api.ok("GET", f"/v1/loops/runs/{run['id']}"))["run"]
    assert after["status"]["name"] == "INACTIVE"
    assert after["sampler"]["status"]["name"] == "INACTIVE"
    deployment = await api.ok("GET", f"/v1/loops/deployments/{run['deployment_id']}")
    assert deployment["deployment"]["active_run_id"] is None


async def test_a_trainer_has_no_sampler_until_one_is_paired(api: Api) -> None:
    session_id = await api.session_id()
    body = {"session_id": session_id, "base_model": "Qwen/Qwen3-8B", "availability_model": "spot"}
    trainer = (await api.ok("POST", "/v1/loops/trainers", json=body))["run"]
    assert trainer["sampler"] is None
    pair = {"session_id": session_id, "run_id": trainer["id"]}
    sampler = (await api.ok("POST", "/v1/loops/samplers", json=pair))["sampler"]
    assert sampler["base_model"] == "Qwen/Qwen3-8B"
    again = (await api.ok("POST", "/v1/loops/samplers", json=pair))["sampler"]
    assert again["id"] == sampler["id"]  # a run that has a sampler keeps it
    run = (await api.ok("GET", f"/v1/loops/runs/{trainer['id']}"))["run"]
    assert run["sampler"]["id"] == sampler["id"]
    deployment = await api.ok("GET", f"/v1/loops/deployments/{trainer['deployment_id']}")
    assert deployment["deployment"]["availability_model"] == "spot"
    assert deployment["deployment"]["sampler"]["id"] == sampler["id"]
    status, conflict = await api.call("POST", f"/v1/loops/samplers/{sampler['id']}/deactivate")
    assert (status, conflict["error"], conflict["run_id"]) == (409, "conflict", trainer["id"])
    assert trainer["id"] in conflict["message"]


# -- samplers ---------------------------------------------------------------------------------


async def test_a_created_sampler_comes_up_and_can_be_deactivated(api: Api) -> None:
    body = {"session_id": await api.session_id(), "base_model": "Qwen/Qwen3-8B"}
    sampler = (await api.ok("POST", "/v1/loops/samplers", json=body))["sampler"]
    assert has_fields(sampler, SAMPLER)
    assert RFC3339_Z.match(sampler["created_at"])
    path = f"/v1/loops/samplers/{sampler['id']}"
    seen = [(await api.ok("GET", path))["sampler"]["status"]["name"] for _ in range(4)]
    assert seen == ["BUILDING", "DEPLOYING", "ACTIVE", "ACTIVE"]
    listed = (await api.ok("GET", "/v1/loops/samplers"))["samplers"]
    assert [s["id"] for s in listed] == [sampler["id"]]
    answer = await api.ok("POST", f"{path}/deactivate")
    assert has_fields(answer, DEACTIVATED)
    assert (await api.ok("GET", path))["sampler"]["status"]["name"] == "INACTIVE"
    assert await api.ok("POST", f"{path}/deactivate") == answer  # already inactive: fine


async def test_status_progression_is_configurable() -> None:
    async with (
        FakeLoopsServer(sampler_statuses=("BUILDING", "ACTIVE"), polls_per_status=2) as server,
        aiohttp.ClientSession() as session,
    ):
        api = Api(server, session)
        body = {"session_id": await api.session_id(), "base_model": "Qwen/Qwen3-8B"}
        sampler = (await api.ok("POST", "/v1/loops/samplers", json=body))["sampler"]
        path = f"/v1/loops/samplers/{sampler['id']}"
        seen = [(await api.ok("GET", path))["sampler"]["status"]["name"] for _ in range(4)]
    assert seen == ["BUILDING", "BUILDING", "ACTIVE", "ACTIVE"]


@pytest.mark.parametrize(
    "kwargs",
    [{"sampler_statuses": ()}, {"deployment_statuses": ()}, {"polls_per_status": 0}],
)
def test_status_progressions_must_make_sense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        FakeLoopsServer(**kwargs)


async def test_a_standalone_sampler_needs_a_model(api: Api) -> None:
    body = {"session_id": await api.session_id()}
    status, answer = await api.call("POST", "/v1/loops/samplers", json=body)
    assert status == 400
    assert "base_model" in answer["message"]
    status, answer = await api.call("POST", "/v1/loops/samplers", json={**body, "run_id": "x"})
    assert (status, answer["message"]) == (404, "Run x not found")


async def test_a_sampler_can_serve_a_checkpoint(api: Api) -> None:
    run = api.server.add_run(base_model="mistralai/Mistral-7B-v0.3")
    checkpoint = api.server.add_checkpoint(run_id=run["id"])
    body = {"session_id": run["session_id"], "model_path": "bt://loops:x/sampler_weights/y"}
    status, answer = await api.call("POST", "/v1/loops/samplers", json=body)
    assert (status, answer["error"]) == (400, "bad_request")
    body["model_path"] = api.server.checkpoint_uri(checkpoint["id"])
    sampler = (await api.ok("POST", "/v1/loops/samplers", json=body))["sampler"]
    assert sampler["base_model"] == "mistralai/Mistral-7B-v0.3"


async def test_team_sampler_lists_and_scope(api: Api) -> None:
    api.server.add_sampler("mine")
    api.server.add_sampler("theirs", user={"email": "colleague@example.com"})
    api.server.add_team("t1")
    body = {"session_id": await api.session_id(), "base_model": "Qwen/Qwen3-8B"}
    in_team = (await api.ok("POST", "/v1/teams/t1/loops/samplers", json=body))["sampler"]

    async def ids(path: str, **params: str) -> list[str]:
        return [s["id"] for s in (await api.ok("GET", path, params=params))["samplers"]]

    assert await ids("/v1/teams/t1/loops/samplers") == [in_team["id"]]
    assert await ids("/v1/loops/samplers") == [in_team["id"], "mine"]
    assert await ids("/v1/loops/samplers", scope="org") == [in_team["id"], "theirs", "mine"]


# -- checkpoints ------------------------------------------------------------------------------


async def test_checkpoints_are_listed_by_exactly_one_filter(api: Api) -> None:
    run = api.server.add_run(base_model="mistralai/Mistral-7B-v0.3")
    first = api.server.add_checkpoint(run_id=run["id"], name="step-100")
    second = api.server.add_checkpoint(run_id=run["id"], target="trainer")
    api.server.add_checkpoint(run_id="elsewhere", base_model="Qwen/Qwen3-8B")

    async def ids(**params: str) -> list[str]:
        answer = await api.ok("GET", "/v1/loops/checkpoints", params=params)
        assert all(has_fields(c, CHECKPOINT) for c in answer["checkpoints"])
        return [c["id"] for c in answer["checkpoints"]]

    assert await ids(run_id=run["id"]) == [first["id"], second["id"]]
    assert await ids(base_model="mistralai/Mistral-7B-v0.3") == [first["id"], second["id"]]
    uri = f"bt://loops:{run['id']}/sampler_weights/step-100"
    assert api.server.checkpoint_uri(first["id"]) == uri
    assert await ids(checkpoint_path=uri) == [first["id"]]
    assert await ids(checkpoint_path="bt://loops:x/weights/y") == []
    assert RFC3339_Z.match(first["created_at"])
    for params in ({}, {"run_id": "a", "base_model": "b"}, {"checkpoint_path": "s3://x"}):
        status, body = await api.call("GET", "/v1/loops/checkpoints", params=params)
        assert (status, body["error"]) == (400, "bad_request")


async def test_checkpoint_validation(api: Api) -> None:
    run = api.server.add_run()
    checkpoint = api.server.add_checkpoint(run_id=run["id"])
    uri = api.server.checkpoint_uri(checkpoint["id"])
    validate = "/v1/loops/checkpoints/validate"
    assert await api.ok("POST", validate, json={"checkpoint_path": uri}) == {}
    assert await api.ok("POST", validate, json={"checkpoint_path": uri, "run_id": run["id"]}) == {}
    other_lora = api.server.add_run(lora_config_version="v2")
    for body in (
        {"checkpoint_path": "not-a-uri"},
        {"checkpoint_path": uri.replace("sampler_weights", "weights")},
        {"checkpoint_path": uri + "-missing"},
        {"checkpoint_path": uri, "run_id": "nope"},
        {"checkpoint_path": uri, "run_id": other_lora["id"]},
    ):
        status, answer = await api.call("POST", validate, json=body)
        assert (status, answer["error"]) == (400, "bad_request"), body
    status, answer = await api.call("POST", validate, json={"run_id": run["id"]})
    assert (status, answer["message"]) == (422, "body.checkpoint_path: field required")


async def test_deploying_checkpoints_creates_a_model_deployment(api: Api) -> None:
    run = api.server.add_run()
    checkpoint = api.server.add_checkpoint(run_id=run["id"])
    trainer_checkpoint = api.server.add_checkpoint(run_id=run["id"], target="trainer")
    body = {
        "checkpoint_ids": [checkpoint["id"]],
        "model_name": "my-model",
        "instance_type_id": "H100",
        "hf_secret_name": "hf",
    }
    answer = await api.ok("POST", "/v1/loops/checkpoints/deploy", json=body)
    assert has_fields(answer, {"model_id", "deployment_id"})
    assert api.server.model_deployments == [{**answer, "request": body}]
    status, error = await api.call(
        "POST", "/v1/loops/checkpoints/deploy", json={**body, "checkpoint_ids": ["nope"]}
    )
    assert status == 404
    bad = {**body, "checkpoint_ids": [trainer_checkpoint["id"]]}
    status, error = await api.call("POST", "/v1/loops/checkpoints/deploy", json=bad)
    assert status == 400
    status, error = await api.call("POST", "/v1/loops/checkpoints/deploy", json={})
    assert status == 422
    assert error["message"].count("field required") == 4
    empty = {**body, "checkpoint_ids": []}
    status, error = await api.call("POST", "/v1/loops/checkpoints/deploy", json=empty)
    assert (status, "checkpoint_ids" in error["message"]) == (422, True)
    assert len(api.server.model_deployments) == 1


async def test_checkpoint_files_page_by_integer_offset(api: Api) -> None:
    checkpoint = api.server.add_checkpoint(run_id="r", files=2500)
    path = f"/v1/loops/checkpoints/{checkpoint['id']}/files"
    first = await api.ok("GET", path)
    assert (len(first["presigned_urls"]), first["next_page_token"]) == (1000, 1000)
    assert first["total_count"] == 2500
    assert has_fields(first["presigned_urls"][0], FILE)
    names, token = [], 0
    while token is not None:
        page = await api.ok("GET", path, params={"page_size": 700, "page_token": token})
        names += [entry["relative_file_name"] for entry in page["presigned_urls"]]
        token = page["next_page_token"]
    assert len(names) == len(set(names)) == 2500
    past_the_end = await api.ok("GET", path, params={"page_token": 5000})
    assert (past_the_end["presigned_urls"], past_the_end["next_page_token"]) == ([], None)
    for params in ({"page_size": 0}, {"page_token": -1}, {"page_token": "abc"}):
        status, body = await api.call("GET", path, params=params)
        assert (status, body["error"]) == (422, "validation_error"), params


async def test_checkpoint_files_can_be_given_by_name_or_whole(api: Api) -> None:
    whole = {"relative_file_name": "a.bin", "url": "https://x/a", "node_rank": 1}
    checkpoint = api.server.add_checkpoint(run_id="r", files=["config.json", whole])
    files = await api.ok("GET", f"/v1/loops/checkpoints/{checkpoint['id']}/files")
    assert [f["relative_file_name"] for f in files["presigned_urls"]] == ["config.json", "a.bin"]
    assert files["presigned_urls"][1]["url"] == "https://x/a"
    assert files["next_page_token"] is None


async def test_checkpoint_sources(api: Api) -> None:
    s3 = api.server.add_checkpoint(run_id="r")
    volume = {"kind": "volume", "volume_ref": "bdn:ns/vol:v1", "path": "ckpt/step-1"}
    on_volume = api.server.add_checkpoint(run_id="r", source=volume)
    answer = await api.ok("GET", f"/v1/loops/checkpoints/{s3['id']}/source")
    assert answer == {"source": {"kind": "s3"}}
    answer = await api.ok("GET", f"/v1/loops/checkpoints/{on_volume['id']}/source")
    assert answer == {"source": volume}


# -- deployments ------------------------------------------------------------------------------


async def test_a_runs_deployment_comes_up_and_can_be_deactivated(api: Api) -> None:
    session_id = await api.session_id()
    body = {"session_id": session_id, "base_model": "Qwen/Qwen3-8B"}
    run = (await api.ok("POST", "/v1/loops/runs", json=body))["run"]
    path = f"/v1/loops/deployments/{run['deployment_id']}"
    seen = []
    for _ in range(4):
        deployment = (await api.ok("GET", path))["deployment"]
        seen.append(deployment["status"]["name"])
    assert seen == ["CREATED", "DEPLOYING", "RUNNING", "RUNNING"]
    assert has_fields(deployment, DEPLOYMENT)
    assert has_fields(deployment["instance_type"], INSTANCE_TYPE)
    assert RFC3339_Z.match(deployment["created_at"])
    assert (deployment["active_run_id"], deployment["latest_run_id"]) == (run["id"], run["id"])
    assert deployment["sampler"]["id"] == run["sampler"]["id"]
    listed = (await api.ok("GET", "/v1/loops/deployments"))["deployments"]
    assert [d["id"] for d in listed] == [run["deployment_id"]]
    answer = await api.ok("POST", f"{path}/deactivate")
    assert has_fields(answer, DEACTIVATED)
    after = (await api.ok("GET", path))["deployment"]
    assert (after["status"]["name"], after["active_run_id"]) == ("STOPPED", None)
    assert after["sampler"]["status"]["name"] == "INACTIVE"
    run_after = (await api.ok("GET", f"/v1/loops/runs/{run['id']}"))["run"]
    assert run_after["status"]["name"] == "INACTIVE"


async def test_deployment_lists_honour_scope(api: Api) -> None:
    mine = api.server.add_deployment()
    theirs = api.server.add_deployment(user={"email": "colleague@example.com"})
    own = (await api.ok("GET", "/v1/loops/deployments"))["deployments"]
    org = (await api.ok("GET", "/v1/loops/deployments", params={"scope": "org"}))["deployments"]
    assert [d["id"] for d in own] == [mine["id"]]
    assert [d["id"] for d in org] == [theirs["id"], mine["id"]]
    assert org[1]["sampler"] is None


async def test_debug_archive_files_page_by_opaque_token(api: Api) -> None:
    deployment = api.server.add_deployment(debug_files=5)
    path = f"/v1/loops/deployments/{deployment['id']}/debug_archive/files"
    names, token, tokens = [], None, []
    while True:
        params = {"page_size": 2} if token is None else {"page_size": 2, "page_token": token}
        page = await api.ok("GET", path, params=params)
        assert all(has_fields(entry, FILE) for entry in page["presigned_urls"])
        names += [entry["relative_file_name"] for entry in page["presigned_urls"]]
        token = page["next_page_token"]
        if token is None:
            break
        tokens.append(token)
    assert len(names) == len(set(names)) == 5
    assert all(isinstance(t, str) and not t.isdigit() for t in tokens)
    assert len((await api.ok("GET", path))["presigned_urls"]) == 5
    status, body = await api.call("GET", path, params={"page_token": "garbage"})
    assert (status, body["error"]) == (400, "bad_request")
    status, body = await api.call("GET", path, params={"page_size": 1001})
    assert (status, body["message"]) == (422, "query.page_size: must be <= 1000")
    bare = api.server.add_deployment()
    empty = await api.ok("GET", f"/v1/loops/deployments/{bare['id']}/debug_archive/files")
    assert empty == {"presigned_urls": [], "next_page_token": None}


async def test_deployment_logs_window_limit_direction_and_level(api: Api) -> None:
    base_ns = 1_700_000_000_000 * 1_000_000
    lines = [
        {"timestamp": str(base_ns + i * 1_000_000_000), "message": f"m{i}", "replica": "r0"}
        for i in range(10)
    ]
    for line, level in zip(lines, ["DEBUG", "INFO", "WARNING", "ERROR", None] * 2, strict=True):
        line["level"] = level
    deployment = api.server.add_deployment(logs=lines)
    path = f"/v1/loops/deployments/{deployment['id']}/logs"
    window = {"start_epoch_millis": 1_700_000_000_000, "end_epoch_millis": 1_700_000_009_000}

    async def messages(**params: Any) -> list[str]:
        answer = await api.ok("GET", path, params={**window, **params})
        assert all(has_fields(line, LOG) for line in answer["logs"])
        return [line["message"] for line in answer["logs"]]

    assert await messages() == [f"m{i}" for i in reversed(range(10))]  # newest first
    assert await messages(direction="asc", limit=3) == ["m0", "m1", "m2"]
    assert await messages(direction="asc", min_level="WARNING") == ["m2", "m3", "m7", "m8"]
    assert await messages(direction="asc", end_epoch_millis=1_700_000_001_000) == ["m0", "m1"]
    assert await api.ok("GET", path) == {"logs": []}  # default: the last 30 minutes
    for params in (
        {"limit": 0},
        {"limit": 1001},
        {"direction": "sideways"},
        {"min_level": "LOUD"},
        {"start_epoch_millis": "soon"},
    ):
        status, body = await api.call("GET", path, params=params)
        assert (status, body["error"]) == (422, "validation_error"), params
    week_and_a_bit = {"start_epoch_millis": 0, "end_epoch_millis": 8 * 24 * 3600 * 1000}
    backwards = {"start_epoch_millis": 10, "end_epoch_millis": 5}
    for params in (week_and_a_bit, backwards):
        status, body = await api.call("GET", path, params=params)
        assert (status, body["error"]) == (400, "bad_request")


async def test_logs_given_as_messages_fall_in_the_default_window(api: Api) -> None:
    deployment = api.server.add_deployment(logs=["starting", "ready"])
    api.server.add_logs(deployment["id"], ["serving"])
    answer = await api.ok("GET", f"/v1/loops/deployments/{deployment['id']}/logs")
    assert [line["message"] for line in answer["logs"]] == ["serving", "ready", "starting"]
    assert {line["level"] for line in answer["logs"]} == {"INFO"}


async def test_deployment_metrics(api: Api) -> None:
    deployment = api.server.add_deployment()
    path = f"/v1/loops/deployments/{deployment['id']}/metrics"
    body = {"start_epoch_millis": 1_700_000_000_000, "end_epoch_millis": 1_700_000_600_000}
    answer = await api.ok("POST", path, json={**body, "step_seconds": 60})
    assert answer["deployment_id"] == deployment["id"]
    metrics = answer["metrics"]
    assert has_fields(metrics, METRICS)
    assert len(metrics["cpu_usage"]) == 11
    assert all(has_fields(point, METRIC) for point in metrics["inference_volume"])
    assert all(RFC3339_Z.match(point["timestamp"]) for point in metrics["response_time_stats"])
    assert has_fields(metrics["per_node_metrics"][0], NODE_METRICS | {"node_id"})
    assert has_fields(metrics["ephemeral_storage"], {"usage_bytes", "utilization"})
    assert (await api.ok("POST", path, json={}))["metrics"]["cpu_usage"]  # defaults: last hour
    status, error = await api.call(
        "POST", path, json={"start_epoch_millis": 5, "end_epoch_millis": 1}
    )
    assert status == 400
    status, error = await api.call("POST", path, json={"step_seconds": "60"})
    assert (status, error["message"]) == (422, "body.step_seconds: must be an integer")
    status, error = await api.call("POST", path, json={"step_seconds": 0})
    assert (status, error["message"]) == (422, "body.step_seconds: must be >= 1")


# -- capabilities and user config -------------------------------------------------------------


async def test_capabilities_filter_by_model_and_sequence_length(api: Api) -> None:
    every = (await api.ok("GET", "/v1/loops/capabilities"))["supported_models"]
    assert len(every) == 3
    assert all(has_fields(model, SUPPORTED_MODEL) and model["enabled"] for model in every)
    one = await api.ok("GET", "/v1/loops/capabilities", params={"model": "Qwen/Qwen3-8B"})
    assert [model["model_name"] for model in one["supported_models"]] == ["Qwen/Qwen3-8B"]
    none = await api.ok("GET", "/v1/loops/capabilities", params={"model": "acme/unknown"})
    assert none == {"supported_models": []}
    params = {"model": "Qwen/Qwen3-8B", "max_seq_len": 65536, "use_case": "sft"}
    too_long = (await api.ok("GET", "/v1/loops/capabilities", params=params))["supported_models"]
    assert too_long[0]["enabled"] is False
    assert too_long[0]["enablement_details"]["reason"] == "sequence_length_unsupported"
    api.server.capabilities.append({**every[0], "model_name": "acme/new"})
    assert len((await api.ok("GET", "/v1/loops/capabilities"))["supported_models"]) == 4
    for params in ({"use_case": "pretraining"}, {"max_seq_len": 0}):
        status, body = await api.call("GET", "/v1/loops/capabilities", params=params)
        assert (status, body["error"]) == (422, "validation_error")


async def test_user_config_is_merged_field_by_field(api: Api) -> None:
    path = "/v1/loops/user_config"
    nulls = {"trainer_accelerator_priority": None, "sampler_accelerator_priority": None}
    assert await api.ok("GET", path) == {"user_config": nulls}
    patched = await api.ok("PATCH", path, json={"trainer_accelerator_priority": ["H100", "H200"]})
    assert patched["user_config"] == {**nulls, "trainer_accelerator_priority": ["H100", "H200"]}
    patched = await api.ok("PATCH", path, json={"sampler_accelerator_priority": ["B200"]})
    assert patched["user_config"] == {
        "trainer_accelerator_priority": ["H100", "H200"],
        "sampler_accelerator_priority": ["B200"],
    }
    cleared = await api.ok("PATCH", path, json={"trainer_accelerator_priority": None})
    assert cleared["user_config"]["trainer_accelerator_priority"] is None
    assert (await api.ok("GET", path))["user_config"] == api.server.user_config
    for body in ({"sampler_accelerator_priority": []}, {"sampler_accelerator_priority": [1]}):
        status, error = await api.call("PATCH", path, json=body)
        assert (status, error["error"]) == (422, "validation_error")
    assert api.server.user_config["sampler_accelerator_priority"] == ["B200"]


async def test_seeded_sessions_are_served_and_bring_their_team(api: Api) -> None:
    api.server.add_session("s1", team_id="t9")
    assert await api.ok("GET", "/v1/loops/sessions/s1") == {"session": {"id": "s1"}}
    body = {"session_id": "s1", "base_model": "Qwen/Qwen3-8B"}
    run = (await api.ok("POST", "/v1/teams/t9/loops/runs", json=body))["run"]
    assert run["session_id"] == "s1"
    assert [r["id"] for r in (await api.ok("GET", "/v1/teams/t9/loops/runs"))["runs"]] == [
        run["id"]
    ]
