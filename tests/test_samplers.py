"""The resource layer through aioresponses: paths built, JSON mapped, errors typed."""

from __future__ import annotations

import re
import traceback

import aioresponses
import pytest
from yarl import URL

from baseten_loops import (
    APIConnectionError,
    AuthenticationError,
    DeploymentStatus,
    InvalidSamplerIdError,
    LoopsClient,
    LoopsError,
    NotFoundError,
    PermissionDeniedError,
    ResponseValidationError,
    RetryPolicy,
    SamplerIdTypeError,
)
from baseten_loops.testing import FakeLoopsServer, Reply, sampler_payload

KEY = "sk-test-VERYSECRET-42"
BASE = "https://api.baseten.co"
ANY_URL = re.compile(r".*")


def requested_urls(mocked: aioresponses.aioresponses) -> list[URL]:
    return [url for (_method, url) in mocked.requests]


async def test_get_returns_a_typed_sampler(mocked: aioresponses.aioresponses) -> None:
    mocked.get(f"{BASE}/v1/loops/samplers/abc123", payload={"sampler": sampler_payload("abc123")})
    async with LoopsClient(KEY) as client:
        sampler = await client.samplers.get("abc123")
    assert sampler.id == "abc123"
    assert sampler.status.name is DeploymentStatus.ACTIVE
    assert sampler.created_at.tzinfo is not None


async def test_request_carries_auth_accept_and_user_agent(
    mocked: aioresponses.aioresponses,
) -> None:
    mocked.get(ANY_URL, payload={"sampler": sampler_payload("abc")})
    async with LoopsClient(KEY) as client:
        await client.samplers.get("abc")
    (call,) = next(iter(mocked.requests.values()))
    headers = call.kwargs["headers"]
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("baseten_loops/")
    assert call.kwargs["allow_redirects"] is False


@pytest.mark.parametrize(
    ("sampler_id", "raw_path"),
    [
        ("x?y", "/v1/loops/samplers/x%3Fy"),
        ("x#y", "/v1/loops/samplers/x%23y"),
        ("%2e%2e", "/v1/loops/samplers/%252e%252e"),
        ("a b", "/v1/loops/samplers/a%20b"),
    ],
)
async def test_odd_ids_stay_one_segment_on_the_wire(
    server: FakeLoopsServer, sampler_id: str, raw_path: str
) -> None:
    server.add_sampler(sampler_id)
    async with LoopsClient(server.api_key, base_url=server.base_url) as client:
        sampler = await client.samplers.get(sampler_id)
    assert sampler.id == sampler_id
    assert server.recorded[-1].raw_path == raw_path


@pytest.mark.parametrize(
    "sampler_id", ["a/b", "../x", "..", ".", "x\r\ny", "x\ny", "y" * 5000, "", "  "]
)
async def test_hostile_ids_never_reach_the_network(
    mocked: aioresponses.aioresponses, sampler_id: str
) -> None:
    mocked.get(ANY_URL, payload={}, repeat=True)
    async with LoopsClient(KEY) as client:
        with pytest.raises(InvalidSamplerIdError):
            await client.samplers.get(sampler_id)
    assert requested_urls(mocked) == []


@pytest.mark.parametrize("sampler_id", [None, 42, b"abc"])
async def test_non_str_ids_raise_type_error_before_io(
    mocked: aioresponses.aioresponses, sampler_id: object
) -> None:
    async with LoopsClient(KEY) as client:
        with pytest.raises(TypeError):
            await client.samplers.get(sampler_id)  # type: ignore[arg-type]
        with pytest.raises(SamplerIdTypeError):
            await client.samplers.get(sampler_id)  # type: ignore[arg-type]
    assert requested_urls(mocked) == []


@pytest.mark.parametrize(
    ("status", "payload", "error", "text"),
    [
        (
            404,
            {"error": "not_found", "message": "Sampler abc not found"},
            NotFoundError,
            "404 Not Found for GET https://api.baseten.co/v1/loops/samplers/abc: "
            "Sampler abc not found",
        ),
        (401, {"error": "unauthorized"}, AuthenticationError, "401 Unauthorized"),
        (403, {"message": "key lacks scope"}, PermissionDeniedError, "key lacks scope"),
    ],
)
async def test_error_statuses_map_to_typed_errors(
    mocked: aioresponses.aioresponses,
    status: int,
    payload: dict[str, str],
    error: type[LoopsError],
    text: str,
) -> None:
    mocked.get(ANY_URL, status=status, payload=payload, headers={"x-request-id": "r-1"})
    async with LoopsClient(KEY) as client:
        with pytest.raises(error) as info:
            await client.samplers.get("abc")
    assert text in str(info.value)
    assert info.value.request_id == "r-1"  # type: ignore[attr-defined]


async def test_chunked_body_over_the_limit_is_refused(mocked: aioresponses.aioresponses) -> None:
    # aioresponses sends no Content-Length: this exercises the streamed, bounded read.
    mocked.get(ANY_URL, body=b"x" * 2000)
    async with LoopsClient(KEY, max_response_bytes=1000) as client:
        with pytest.raises(ResponseValidationError, match="exceeds max_response_bytes=1000"):
            await client.samplers.get("abc")


async def test_chunked_body_under_the_limit_is_read(mocked: aioresponses.aioresponses) -> None:
    mocked.get(ANY_URL, payload={"sampler": sampler_payload("abc")})
    async with LoopsClient(KEY, max_response_bytes=10_000) as client:
        assert (await client.samplers.get("abc")).id == "abc"


async def test_the_key_never_appears_in_any_error() -> None:
    key = "sk-live-NEVER-PRINT-ME"
    async with FakeLoopsServer(key) as server:
        errors = await _errors_from_every_failure(server, key)
    assert len(errors) == 5
    for error in errors:
        rendered = "".join(traceback.format_exception(error)) + repr(error)
        rendered += repr(vars(error)) if hasattr(error, "__dict__") else ""
        assert key not in rendered


async def _errors_from_every_failure(server: FakeLoopsServer, key: str) -> list[BaseException]:
    server.enqueue(
        Reply(status=400, body={"message": f"bad header: Bearer {key}"}),
        Reply(body=b"not json"),
        Reply(status=302, headers={"Location": "https://elsewhere.example/"}),
        sampler_id="abc",
    )
    errors: list[BaseException] = []
    policy = RetryPolicy(max_attempts=1)
    async with LoopsClient(
        key, base_url=server.base_url, retry=policy, attempt_timeout=0.2
    ) as client:
        for _ in range(3):
            with pytest.raises(LoopsError) as info:
                await client.samplers.get("abc")
            errors.append(info.value)
        server.enqueue(Reply(delay=1), sampler_id="abc")
        with pytest.raises(LoopsError) as info:
            await client.samplers.get("abc")
        errors.append(info.value)
    async with LoopsClient(key, base_url="http://127.0.0.1:9", retry=policy) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.samplers.get("abc")
        errors.append(info.value)
    return errors


async def test_errors_name_the_whole_url_requested(server: FakeLoopsServer) -> None:
    # Status and connection errors say where the request went: scheme, host and path.
    policy = RetryPolicy(max_attempts=1)
    async with LoopsClient(server.api_key, base_url=server.base_url, retry=policy) as client:
        with pytest.raises(NotFoundError) as status:
            await client.samplers.get("nope")
    async with LoopsClient("key", base_url="http://127.0.0.1:9", retry=policy) as client:
        with pytest.raises(APIConnectionError) as connection:
            await client.samplers.get("abc")
    assert f"GET {server.base_url}/v1/loops/samplers/nope" in str(status.value)
    assert "GET http://127.0.0.1:9/v1/loops/samplers/abc failed" in str(connection.value)
