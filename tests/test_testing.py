"""The bundled fake server behaves like the API, and its knobs do what they say."""

from __future__ import annotations

import aiohttp
import pytest

from baseten_loops import LoopsClient
from baseten_loops.testing import FakeLoopsServer, Faults, Reply


async def test_unknown_sampler_is_a_json_404(server: FakeLoopsServer) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        async with session.get(f"{server.base_url}/v1/loops/samplers/nope", headers=headers) as r:
            assert r.status == 404
            assert await r.json() == {"error": "not_found", "message": "Sampler nope not found"}


async def test_missing_key_is_a_json_401(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    url = f"{server.base_url}/v1/loops/samplers/abc"
    async with aiohttp.ClientSession() as session, session.get(url) as r:
        assert r.status == 401
        assert (await r.json())["error"] == "unauthorized"


async def test_other_paths_are_404(server: FakeLoopsServer) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{server.base_url}/v2/x") as r:
        assert r.status == 404
    assert server.recorded[-1].raw_path == "/v2/x"


async def test_base_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = FakeLoopsServer().base_url


async def test_generated_samplers_are_valid_and_deterministic(client: LoopsClient) -> None:
    first = FakeLoopsServer().add_samplers(20, seed=3)
    assert first == FakeLoopsServer().add_samplers(20, seed=3)
    assert len(set(first)) == 20


async def test_generated_samplers_parse(client: LoopsClient, server: FakeLoopsServer) -> None:
    ids = server.add_samplers(30)
    samplers = await client.samplers.get_many(ids)
    assert {s.status.name for s in samplers} <= {
        "ACTIVE",
        "SCALED_TO_ZERO",
        "BUILDING",
        "LOADING_MODEL",
        "FAILED",
    }


async def test_set_status_and_remove(client: LoopsClient, server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    server.set_status("abc", "SCALED_TO_ZERO")
    assert (await client.samplers.get("abc")).status.is_scaled_to_zero
    server.remove_sampler("abc")
    assert server.requests_by_id["abc"] == 1


async def test_a_removed_sampler_with_a_script_is_a_404(server: FakeLoopsServer) -> None:
    server.script_statuses("abc", ["BUILDING", "ACTIVE"])
    server.remove_sampler("abc")
    assert await _get(server, "/v1/loops/samplers/abc") == 404


async def test_script_statuses_needs_at_least_one() -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        FakeLoopsServer().script_statuses("abc", [])


async def test_scripted_bodies_of_every_kind(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    server.enqueue(
        Reply(status=500, body="plain text"),
        Reply(status=500, body=["json", "list"]),
        Reply(status=418),
        sampler_id="abc",
    )
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {server.api_key}"}
        url = f"{server.base_url}/v1/loops/samplers/abc"
        bodies = []
        for _ in range(3):
            async with session.get(url, headers=headers) as r:
                bodies.append((r.status, await r.text()))
    assert bodies == [
        (500, "plain text"),
        (500, '["json", "list"]'),
        (418, '{"error": "scripted", "message": "scripted 418"}'),
    ]


async def test_faults_hit_only_the_first_attempts() -> None:
    faults = Faults(error_503=1.0, faulty_attempts=2, seed=1)
    async with FakeLoopsServer(faults=faults) as server:
        server.add_sampler("abc")
        async with aiohttp.ClientSession() as session:
            headers = {"Authorization": f"Bearer {server.api_key}"}
            url = f"{server.base_url}/v1/loops/samplers/abc"
            statuses = []
            for _ in range(3):
                async with session.get(url, headers=headers) as r:
                    statuses.append(r.status)
    assert statuses == [503, 503, 200]
    assert server.faults_injected["503"] == 2


@pytest.mark.parametrize(
    ("faults", "kind"),
    [
        (Faults(rate_limit_429=1.0, retry_after=0.01), "429"),
        (Faults(drop_connection=1.0), "drop"),
        (Faults(bad_gateway_502=1.0), "502"),
        (Faults(slow=1.0, slow_seconds=0.3), "slow"),
    ],
)
async def test_each_fault_kind_is_survived_by_the_client(faults: Faults, kind: str) -> None:
    async with FakeLoopsServer(faults=faults) as server:
        server.add_sampler("abc")
        async with LoopsClient(
            server.api_key, base_url=server.base_url, attempt_timeout=0.1
        ) as client:
            sampler = await client.samplers.get("abc")
    assert sampler.id == "abc"
    assert server.faults_injected[kind] == 3


# -- scripted replies and faults on every route ------------------------------------------------


async def _post(server: FakeLoopsServer, path: str, body: object) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.base_url}{path}", json=body, headers=headers) as r,
    ):
        return r.status, await r.text()


async def _get(server: FakeLoopsServer, path: str) -> int:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.base_url}{path}", headers=headers) as r,
    ):
        return r.status


@pytest.mark.parametrize(
    "route",
    ["POST /v1/loops/sessions", "post_loops_sessions", "post /v1/loops/sessions"],
)
async def test_replies_can_be_scripted_for_one_route(server: FakeLoopsServer, route: str) -> None:
    server.enqueue(Reply(status=503), Reply(status=200), route=route)
    assert await _get(server, "/v1/loops/runs") == 200  # another route: not consumed
    first, second, third = [await _post(server, "/v1/loops/sessions", None) for _ in range(3)]
    assert first == (503, '{"error": "scripted", "message": "scripted 503"}')
    assert second[0] == third[0] == 200
    assert second[1] != third[1]  # the scripted 200 was a real create: two sessions
    assert server.requests_by_route["POST /v1/loops/sessions"] == 3


async def test_replies_can_be_scripted_for_a_template_or_one_object(
    server: FakeLoopsServer,
) -> None:
    first, second = server.add_run(), server.add_run()
    server.enqueue(Reply(status=500), route="GET /v1/loops/runs/{run_id}")
    server.enqueue(Reply(status=404), route=f"GET /v1/loops/runs/{second['id']}")
    assert await _get(server, f"/v1/loops/runs/{second['id']}") == 404  # concrete path first
    assert await _get(server, f"/v1/loops/runs/{first['id']}") == 500
    assert await _get(server, f"/v1/loops/runs/{first['id']}") == 200


async def test_sampler_id_replies_cover_every_route_of_that_sampler(
    server: FakeLoopsServer,
) -> None:
    server.add_sampler("abc")
    server.enqueue(Reply(status=503), sampler_id="abc")
    assert (await _post(server, "/v1/loops/samplers/abc/deactivate", None))[0] == 503
    assert (await _post(server, "/v1/loops/samplers/abc/deactivate", None))[0] == 200


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"route": "GET /v1/loops/nothing"}, "no operation serves GET /v1/loops/nothing"),
        ({"route": "DELETE /v1/loops/runs"}, "no operation serves DELETE"),
        ({"route": "get_everything"}, "no operation 'get_everything'"),
        ({"route": "post_loops_runs", "sampler_id": "a"}, "not both"),
    ],
)
def test_replies_for_no_operation_are_refused(kwargs: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        FakeLoopsServer().enqueue(Reply(), **kwargs)


async def test_faults_hit_routes_without_an_id_per_route() -> None:
    async with FakeLoopsServer(faults=Faults(error_503=1.0, faulty_attempts=1)) as server:
        statuses = [await _get(server, "/v1/loops/runs") for _ in range(2)]
        status, _ = await _post(server, "/v1/loops/sessions", None)
    assert statuses == [503, 200]
    assert status == 503
    assert server.faults_injected["503"] == 2


async def test_recorded_requests_carry_query_body_and_route(server: FakeLoopsServer) -> None:
    headers = {"Authorization": f"Bearer {server.api_key}"}
    async with aiohttp.ClientSession() as session:
        url = f"{server.base_url}/v1/loops/runs"
        params = [("scope", "org"), ("scope", "mine")]
        async with session.get(url, params=params, headers=headers) as r:
            assert r.status == 200
        async with session.post(url, json={"session_id": "s"}, headers=headers) as r:
            assert r.status == 422
    listed, created = list(server.recorded)[-2:]
    assert (listed.method, listed.route, listed.path) == (
        "GET",
        "GET /v1/loops/runs",
        "/v1/loops/runs",
    )
    assert listed.raw_path == "/v1/loops/runs?scope=org&scope=mine"
    assert (listed.query, listed.body, listed.json) == ({"scope": "org"}, b"", None)
    assert (created.route, created.json) == ("POST /v1/loops/runs", {"session_id": "s"})
    assert created.headers["Content-Type"] == "application/json"
    assert server.api_key not in repr(created)


async def test_statuses_of_runs_and_deployments_can_be_scripted(server: FakeLoopsServer) -> None:
    run = server.add_run()
    server.script_statuses(run["id"], ["ACTIVE", "INACTIVE"])
    server.script_statuses(run["deployment_id"], ["DEPLOYING", "RUNNING"])
    headers = {"Authorization": f"Bearer {server.api_key}"}
    seen = []
    async with aiohttp.ClientSession() as session:
        for path in [f"runs/{run['id']}"] * 3 + [f"deployments/{run['deployment_id']}"] * 2:
            async with session.get(f"{server.base_url}/v1/loops/{path}", headers=headers) as r:
                body = await r.json()
                seen.append(next(iter(body.values()))["status"]["name"])
    assert seen == ["ACTIVE", "INACTIVE", "INACTIVE", "DEPLOYING", "RUNNING"]
    server.set_status(run["id"], "ACTIVE")
    with pytest.raises(KeyError):
        server.set_status("nope", "ACTIVE")


async def test_seeded_runs_are_up_unless_told_otherwise(server: FakeLoopsServer) -> None:
    run = server.add_run(sampler_status="SCALED_TO_ZERO", deployment_status="SCALED_TO_ZERO")
    trainer = server.add_run(with_sampler=False, team_id="t1")
    assert run["sampler"]["status"]["name"] == "SCALED_TO_ZERO"
    assert trainer["sampler"] is None
    assert await _get(server, f"/v1/loops/sessions/{trainer['session_id']}") == 200
    assert await _get(server, "/v1/teams/t1/loops/runs") == 200
