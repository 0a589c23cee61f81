"""Testing code that reads Loops samplers, with the baseten_loops pytest plugin."""

import pytest

from baseten_loops import LoopsClient, NotFoundError
from baseten_loops.testing import FakeLoopsServer, Reply

pytestmark = pytest.mark.asyncio  # with anyio's pytest plugin: pytest.mark.anyio


async def ready_ids(client: LoopsClient, ids: list[str]) -> list[str]:
    """The code under test: which of these samplers can take traffic now."""
    results = await client.samplers.get_many(ids, return_exceptions=True)
    return [
        sampler_id
        for sampler_id, result in zip(ids, results, strict=True)
        if not isinstance(result, Exception) and result.status.is_ready
    ]


async def test_only_active_samplers_are_ready(
    loops_server: FakeLoopsServer, loops_client: LoopsClient
) -> None:
    """ACTIVE counts; BUILDING and unknown samplers do not."""
    loops_server.add_sampler("abc123", status="ACTIVE")
    loops_server.add_sampler("def456", status="BUILDING")
    assert await ready_ids(loops_client, ["abc123", "def456", "missing"]) == ["abc123"]


async def test_a_503_is_retried(loops_server: FakeLoopsServer, loops_client: LoopsClient) -> None:
    """The fake server can script failures; the client retries them."""
    loops_server.add_sampler("abc123")
    loops_server.enqueue(Reply(status=503), sampler_id="abc123")
    sampler = await loops_client.samplers.get("abc123")
    assert sampler.id == "abc123"
    assert loops_server.requests_by_id["abc123"] == 2


async def test_an_unknown_sampler_is_not_found(loops_client: LoopsClient) -> None:
    """No sampler was added, so the server answers 404."""
    with pytest.raises(NotFoundError):
        await loops_client.samplers.get("missing")
