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
        async with LoopsClient(server.api_key, base_url=server.base_url, timeout=0.1) as client:
            sampler = await client.samplers.get("abc")
    assert sampler.id == "abc"
    assert server.faults_injected[kind] == 3
