"""Hostile answers and input: each gets its documented error, and the client stays usable."""

from __future__ import annotations

import json
from typing import Any

import pytest

from baseten_loops import (
    APIConnectionError,
    APIStatusError,
    InternalServerError,
    InvalidSamplerIdError,
    LoopsClient,
    LoopsError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    RetryPolicy,
    Sampler,
)
from baseten_loops._convert import MAX_ERRORS
from baseten_loops.testing import FakeLoopsServer, Reply, sampler_payload

ONE_TRY = RetryPolicy(max_attempts=1)


def sampler_body(**overrides: Any) -> bytes:
    payload = sampler_payload("abc")
    payload.update(overrides)
    return json.dumps({"sampler": payload}).encode()


def without(field: str) -> bytes:
    payload = sampler_payload("abc")
    del payload[field]
    return json.dumps({"sampler": payload}).encode()


HOSTILE_BODIES = {
    "not json": (b"this is not json", "(body): not valid JSON"),
    "html on 200": (b"<html><body>Welcome to nginx</body></html>", "(body): not valid JSON"),
    "json array": (b"[]", "(body): expected a JSON object, got list"),
    "sampler null": (b'{"sampler": null}', "sampler: expected an object, got null"),
    "sampler string": (b'{"sampler": "abc"}', "sampler: expected an object, got str"),
    "status string": (sampler_body(status="ACTIVE"), "sampler.status: expected an object"),
    "missing id": (without("id"), "sampler.id: required field missing"),
    "missing status": (without("status"), "sampler.status: required field missing"),
    "null base_url": (sampler_body(base_url=None), "sampler.base_url: expected a string, got null"),
    "int id": (sampler_body(id=12345), "sampler.id: expected a string, got int"),
    "naive datetime": (
        sampler_body(created_at="2026-01-02T03:04:05"),
        "sampler.created_at: timestamp '2026-01-02T03:04:05' has no timezone offset",
    ),
    "bad datetime": (sampler_body(created_at="tuesday"), "sampler.created_at: 'tuesday' is not"),
    "truncated json": (sampler_body()[:40], "(body): not valid JSON"),
    "empty body": (b"", "(body): not valid JSON"),
    "invalid utf-8": (b'{"sampler": {"id": "\xc3\x28"}}', "(body): not valid UTF-8"),
}


@pytest.fixture
async def abc_server() -> Any:
    async with FakeLoopsServer() as server:
        server.add_sampler("abc")
        yield server


async def expect_usable(client: LoopsClient) -> None:
    sampler = await client.samplers.get("abc")
    assert isinstance(sampler, Sampler) and sampler.id == "abc"


@pytest.mark.parametrize("case", list(HOSTILE_BODIES))
async def test_hostile_2xx_bodies_are_validation_errors(
    abc_server: FakeLoopsServer, case: str
) -> None:
    body, message = HOSTILE_BODIES[case]
    abc_server.enqueue(Reply(body=body), sampler_id="abc")
    async with LoopsClient(abc_server.api_key, base_url=abc_server.base_url) as client:
        with pytest.raises(ResponseValidationError) as info:
            await client.samplers.get("abc")
        assert message in str(info.value)
        assert abc_server.requests_by_id["abc"] == 1  # a bad 2xx body is never retried
        await expect_usable(client)


async def test_ten_megabyte_body_is_refused_with_a_clear_error(abc_server: FakeLoopsServer) -> None:
    abc_server.enqueue(Reply(body=b" " * 10_000_000 + sampler_body()), sampler_id="abc")
    async with LoopsClient(abc_server.api_key, base_url=abc_server.base_url) as client:
        with pytest.raises(ResponseTooLargeError, match="exceeds max_response_bytes"):
            await client.samplers.get("abc")
        await expect_usable(client)


async def test_a_megabyte_of_empty_runs_is_refused_with_a_short_error(
    abc_server: FakeLoopsServer,
) -> None:
    # Issue 15, item 6: 350,000 `{}` runs once gave 2,800,000 error lines after 44 s.
    count = ((1 << 20) - 12) // 3
    abc_server.enqueue(Reply(body=b'{"runs": [' + b",".join([b"{}"] * count) + b"]}"))
    async with LoopsClient(abc_server.api_key, base_url=abc_server.base_url) as client:
        with pytest.raises(ResponseValidationError) as info:
            await client.runs.list()
        assert len(info.value.errors) == MAX_ERRORS + 1
        assert info.value.errors[0] == "runs[0].id: required field missing"
        assert str(info.value).startswith("invalid runs.list response: runs[0].id: required")
        assert info.value.errors[-1].endswith(" items not checked)")
        assert info.value.errors[-1][1:-1] in str(info.value)
        await expect_usable(client)


@pytest.mark.parametrize(
    ("reply", "error", "message"),
    [
        (
            Reply(status=502, body=b"<html><h1>502 Bad Gateway</h1></html>"),
            InternalServerError,
            r"502 Bad Gateway for GET http://127\.0\.0\.1:\d+/v1/loops/samplers/abc",
        ),
        (
            Reply(status=500, body=b"<!DOCTYPE html><p>oops</p>"),
            InternalServerError,
            "500 Internal Server Error for GET",
        ),
        (Reply(status=503, body=b"\xff\xfe garbage"), InternalServerError, "503 Service"),
        (Reply(status=400, body=b""), APIStatusError, "400 Bad Request for GET"),
        (Reply(status=429, headers={"Retry-After": "abc"}), RateLimitError, "429 Too Many"),
    ],
)
async def test_hostile_error_answers_are_typed_and_readable(
    abc_server: FakeLoopsServer, reply: Reply, error: type[LoopsError], message: str
) -> None:
    abc_server.enqueue(reply, sampler_id="abc")
    async with LoopsClient(abc_server.api_key, base_url=abc_server.base_url, retry=ONE_TRY) as c:
        with pytest.raises(error, match=message) as info:
            await c.samplers.get("abc")
        assert "<" not in str(info.value)  # no HTML soup in the message
        await expect_usable(c)


@pytest.mark.parametrize(
    "raw",
    [
        b'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/json\r\n\r\n{"sam',
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: banana\r\n\r\n{}",
        b"",
    ],
)
async def test_broken_http_is_a_connection_error(abc_server: FakeLoopsServer, raw: bytes) -> None:
    abc_server.enqueue(Reply(raw=raw), sampler_id="abc")
    async with LoopsClient(abc_server.api_key, base_url=abc_server.base_url, retry=ONE_TRY) as c:
        with pytest.raises(APIConnectionError):
            await c.samplers.get("abc")
        await expect_usable(c)


@pytest.mark.parametrize("header", ["-1", "abc", "99999999", "Wed, 21 Oct 2015 07:28:00 GMT", ""])
async def test_absurd_retry_after_never_stalls_or_breaks(
    abc_server: FakeLoopsServer, header: str
) -> None:
    abc_server.enqueue(Reply(status=429, headers={"Retry-After": header}), sampler_id="abc")
    policy = RetryPolicy(initial_backoff=0.001, max_retry_after=0.01)
    async with LoopsClient(abc_server.api_key, base_url=abc_server.base_url, retry=policy) as c:
        await expect_usable(c)
        assert c.stats.retries == 1


HOSTILE_IDS: list[Any] = [
    "a/b",
    "../x",
    "..",
    ".",
    "x?y",
    "x#y",
    "%2e%2e",
    "x\r\ny",
    "z" * 5000,
    "",
    "  ",
    None,
    7,
]


async def test_hostile_ids_in_bulk_fail_only_their_own_slots(abc_server: FakeLoopsServer) -> None:
    async with LoopsClient(abc_server.api_key, base_url=abc_server.base_url) as client:
        results = await client.samplers.get_many(
            ["abc", *HOSTILE_IDS, "abc"], return_exceptions=True
        )
        assert isinstance(results[0], Sampler) and isinstance(results[-1], Sampler)
        middle = results[1:-1]
        assert all(isinstance(r, LoopsError) for r in middle)
        refused = [
            i
            for i, r in zip(HOSTILE_IDS, middle, strict=True)
            if isinstance(r, InvalidSamplerIdError)
        ]
        assert refused == [i for i in HOSTILE_IDS if i not in ("x?y", "x#y", "%2e%2e")]
        # The three that are legal ids were asked for, each as one encoded segment.
        paths = {r.raw_path for r in abc_server.recorded}
        assert paths == {
            "/v1/loops/samplers/abc",
            "/v1/loops/samplers/x%3Fy",
            "/v1/loops/samplers/x%23y",
            "/v1/loops/samplers/%252e%252e",
        }
        pairs = [p async for p in client.samplers.iter_many(HOSTILE_IDS)]
        assert len(pairs) == len(HOSTILE_IDS)
        assert all(isinstance(result, LoopsError) for _, result in pairs)
        await expect_usable(client)
