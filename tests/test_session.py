"""Behaviour that needs real sockets: retries, timeouts, drops, redirects, Retry-After, limits."""

from __future__ import annotations

import asyncio
import logging
import re
import socket

import pytest

from baseten_loops import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    InternalServerError,
    LoopsClient,
    NotFoundError,
    ResponseTooLargeError,
    ResponseValidationError,
    RetryBudget,
    RetryPolicy,
)
from baseten_loops.testing import FakeLoopsServer, Reply

from .conftest import FAST_RETRY


def make_client(server: FakeLoopsServer, **kwargs: object) -> LoopsClient:
    kwargs.setdefault("retry", FAST_RETRY)
    return LoopsClient(server.api_key, base_url=server.base_url, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses_are_retried(server: FakeLoopsServer, status: int) -> None:
    server.add_sampler("abc")
    server.enqueue(Reply(status=status), Reply(status=status), sampler_id="abc")
    async with make_client(server) as client:
        sampler = await client.samplers.get("abc")
        assert sampler.id == "abc"
        assert client.stats.requests == 3
        assert client.stats.retries == 2
    assert server.requests_by_id["abc"] == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, APIStatusError),
        (401, AuthenticationError),
        (403, APIStatusError),
        (404, NotFoundError),
        (409, APIStatusError),
        (422, APIStatusError),
        (501, InternalServerError),
    ],
)
async def test_other_statuses_are_not_retried(
    server: FakeLoopsServer, status: int, error: type[Exception]
) -> None:
    server.enqueue(Reply(status=status), sampler_id="abc")
    async with make_client(server) as client:
        with pytest.raises(error) as info:
            await client.samplers.get("abc")
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert server.requests_by_id["abc"] == 1


async def test_attempts_are_capped_by_max_attempts(server: FakeLoopsServer) -> None:
    server.enqueue(*[Reply(status=503)] * 10, sampler_id="abc")
    async with make_client(
        server, retry=RetryPolicy(max_attempts=3, initial_backoff=0.001)
    ) as client:
        with pytest.raises(InternalServerError, match="503"):
            await client.samplers.get("abc")
    assert server.requests_by_id["abc"] == 3


async def test_max_attempts_one_means_no_retry(server: FakeLoopsServer) -> None:
    server.enqueue(Reply(status=503), sampler_id="abc")
    async with make_client(server, retry=RetryPolicy(max_attempts=1)) as client:
        with pytest.raises(InternalServerError):
            await client.samplers.get("abc")
    assert server.requests_by_id["abc"] == 1


async def test_wrong_key_is_an_authentication_error(server: FakeLoopsServer) -> None:
    async with LoopsClient("wrong", base_url=server.base_url) as client:
        with pytest.raises(AuthenticationError, match="Invalid or missing API key"):
            await client.samplers.get("abc")


async def test_api_key_scheme_is_accepted(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    async with make_client(server, auth_scheme="Api-Key") as client:
        assert (await client.samplers.get("abc")).id == "abc"
    assert server.recorded[-1].headers["Authorization"] == f"Api-Key {server.api_key}"


async def test_user_agent_names_the_library(client: LoopsClient, server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    await client.samplers.get("abc")
    assert server.recorded[-1].headers["User-Agent"].startswith("baseten_loops/")


async def test_invalid_2xx_body_is_not_retried(server: FakeLoopsServer) -> None:
    server.enqueue(Reply(body={"sampler": None}), sampler_id="abc")
    async with make_client(server) as client:
        with pytest.raises(ResponseValidationError, match="sampler: expected an object"):
            await client.samplers.get("abc")
    assert server.requests_by_id["abc"] == 1


async def test_a_different_sampler_in_the_answer_is_refused(server: FakeLoopsServer) -> None:
    other = server.add_sampler("other")
    server.enqueue(Reply(body={"sampler": other}), sampler_id="abc")
    async with make_client(server) as client:
        with pytest.raises(ResponseValidationError, match="asked for 'abc'"):
            await client.samplers.get("abc")


async def test_timeouts_are_retried_then_raised(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    server.enqueue(Reply(delay=1.0), sampler_id="abc")
    async with make_client(server, attempt_timeout=0.1) as client:
        assert (await client.samplers.get("abc")).id == "abc"
        assert client.stats.retries == 1
    server.enqueue(*[Reply(delay=1.0)] * 2, sampler_id="abc")
    policy = RetryPolicy(max_attempts=2, initial_backoff=0.001)
    async with make_client(server, attempt_timeout=0.1, retry=policy) as client:
        with pytest.raises(APITimeoutError, match=r"timed out after 0\.1s") as info:
            await client.samplers.get("abc")
    assert isinstance(info.value, TimeoutError)


async def test_dropped_connections_are_retried(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    server.enqueue(Reply(drop=True), Reply(drop=True), sampler_id="abc")
    async with make_client(server) as client:
        assert (await client.samplers.get("abc")).id == "abc"
        assert client.stats.requests == 3


async def test_drop_on_a_reused_connection_is_retried_once_and_counted(
    server: FakeLoopsServer,
) -> None:
    # aiohttp would silently resend on a dead keep-alive connection; the client turns that
    # off, so the server sees exactly the requests the client counts.
    server.add_sampler("abc")
    async with make_client(server) as client:
        await client.samplers.get("abc")  # opens the keep-alive connection
        server.enqueue(Reply(drop=True), sampler_id="abc")
        await client.samplers.get("abc")
        assert client.stats.requests == 3
        assert client.stats.retries == 1
    assert server.requests_by_id["abc"] == 3


async def test_connection_refused_is_retried_then_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.001)
    async with LoopsClient("k", base_url=f"http://127.0.0.1:{port}", retry=policy) as client:
        with pytest.raises(APIConnectionError, match="ClientConnectorError"):
            await client.samplers.get("abc")
        assert client.stats.requests == 3


async def test_tls_failure_is_not_retried(server: FakeLoopsServer) -> None:
    https_url = server.base_url.replace("http://", "https://")
    async with LoopsClient(server.api_key, base_url=https_url, retry=FAST_RETRY) as client:
        with pytest.raises(APIConnectionError, match="TLS failure"):
            await client.samplers.get("abc")
        assert client.stats.requests == 1


async def test_redirects_are_not_followed(server: FakeLoopsServer) -> None:
    server.enqueue(
        Reply(status=302, headers={"Location": "https://evil.example/steal"}), sampler_id="abc"
    )
    async with make_client(server) as client:
        with pytest.raises(APIStatusError, match="not followed") as info:
            await client.samplers.get("abc")
    assert info.value.status_code == 302
    assert server.requests == 1


async def test_retry_after_is_honoured(
    server: FakeLoopsServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.add_sampler("abc")
    server.enqueue(Reply(status=429, headers={"Retry-After": "0.3"}), sampler_id="abc")
    policy = RetryPolicy(initial_backoff=0.001, max_retry_after=5)
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.DEBUG, logger="baseten_loops"):
        async with make_client(server, retry=policy) as client:
            started = loop.time()
            await client.samplers.get("abc")
            elapsed = loop.time() - started
    waits = [float(w) for w in re.findall(r"waiting ([\d.]+)s", caplog.text)]
    assert len(waits) == 1
    assert 0.3 <= waits[0] <= 0.33
    assert elapsed >= 0.3  # a sleep never ends early: the retry came after Retry-After


async def test_retry_after_is_capped_by_max_retry_after(
    server: FakeLoopsServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.add_sampler("abc")
    server.enqueue(Reply(status=503, headers={"Retry-After": "99999999"}), sampler_id="abc")
    policy = RetryPolicy(max_retry_after=0.05)
    with caplog.at_level(logging.DEBUG, logger="baseten_loops"):
        async with make_client(server, retry=policy, timeout=None) as client:
            await client.samplers.get("abc")
    waits = [float(w) for w in re.findall(r"waiting ([\d.]+)s", caplog.text)]
    assert len(waits) == 1
    assert 0.05 <= waits[0] <= 0.06


@pytest.mark.parametrize("header", ["-1", "abc", "Wed, 21 Oct 2015 07:28:00 GMT"])
async def test_unusable_or_past_retry_after_falls_back_quickly(
    server: FakeLoopsServer, header: str
) -> None:
    server.add_sampler("abc")
    server.enqueue(Reply(status=429, headers={"Retry-After": header}), sampler_id="abc")
    async with make_client(server) as client:
        assert (await client.samplers.get("abc")).id == "abc"
        assert client.stats.retries == 1


async def test_a_throttled_call_tries_once_more_just_before_its_deadline(
    server: FakeLoopsServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Retry-After 30 with 2 s left: waiting it out would lose the result; asking again 1 s
    # before the deadline may still get it.
    server.add_sampler("abc")
    server.enqueue(Reply(status=429, headers={"Retry-After": "30"}), sampler_id="abc")
    policy = RetryPolicy(max_retry_after=60)
    with caplog.at_level(logging.DEBUG, logger="baseten_loops"):
        async with make_client(server, retry=policy, timeout=2.0) as client:
            assert (await client.samplers.get("abc")).id == "abc"
            assert client.stats.retries == 1
    assert server.requests_by_id["abc"] == 2
    waits = [float(m) for m in re.findall(r"waiting ([0-9.]+)s", caplog.text)]
    assert len(waits) == 1
    assert 0.5 < waits[0] < 1.0  # the last try leaves a second for the answer


async def test_a_backoff_past_the_deadline_fails_at_once(
    server: FakeLoopsServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.enqueue(Reply(status=503), sampler_id="abc")
    policy = RetryPolicy(initial_backoff=30, max_backoff=30, jitter=0)
    with caplog.at_level(logging.DEBUG, logger="baseten_loops"):
        async with make_client(server, retry=policy, timeout=2.0) as client:
            with pytest.raises(InternalServerError):
                await client.samplers.get("abc")
            assert client.stats.retries == 0
    assert "retrying GET" not in caplog.text  # it did not sleep: failing now is the point
    assert server.requests_by_id["abc"] == 1


async def test_the_client_timeout_bounds_the_whole_call(server: FakeLoopsServer) -> None:
    server.enqueue(*[Reply(delay=0.3)] * 10, sampler_id="abc")
    policy = RetryPolicy(max_attempts=10, initial_backoff=0.001)
    async with make_client(server, timeout=0.5, attempt_timeout=0.2, retry=policy) as client:
        with pytest.raises(APITimeoutError):
            await client.samplers.get("abc")
    assert 2 <= server.requests_by_id["abc"] <= 3


async def test_a_call_timeout_shorter_than_the_clients_ends_the_call(
    server: FakeLoopsServer,
) -> None:
    server.enqueue(Reply(delay=1.0), sampler_id="abc")
    async with make_client(server, timeout=5.0) as client:
        with pytest.raises(APITimeoutError, match="deadline"):
            await client.samplers.get("abc", timeout=0.1)
    assert server.requests_by_id["abc"] == 1


async def test_a_call_timeout_longer_than_the_clients_replaces_it(
    server: FakeLoopsServer,
) -> None:
    # As openai's per-request timeout= replaces the client's: the call gets its own time.
    server.add_sampler("abc")
    server.enqueue(Reply(delay=0.4), Reply(delay=0.4), sampler_id="abc")
    async with make_client(server, timeout=0.1) as client:
        with pytest.raises(APITimeoutError, match="deadline"):
            await client.samplers.get("abc")  # the client's 0.1 s
        assert (await client.samplers.get("abc", timeout=5)).id == "abc"
    assert server.requests_by_id["abc"] == 2


async def test_retry_budget_stops_retrying_when_empty(server: FakeLoopsServer) -> None:
    server.enqueue(*[Reply(status=503)] * 10, sampler_id="abc")
    policy = RetryPolicy(
        max_attempts=6, initial_backoff=0.001, budget=RetryBudget(capacity=10, retry_cost=5)
    )
    async with make_client(server, retry=policy) as client:
        with pytest.raises(InternalServerError):
            await client.samplers.get("abc")
        assert client.stats.requests == 3
        assert client.stats.retries_denied == 1
        assert client.stats.budget_tokens == 0


async def test_no_budget_means_retries_are_only_bounded_by_attempts(
    server: FakeLoopsServer,
) -> None:
    server.enqueue(*[Reply(status=503)] * 10, sampler_id="abc")
    policy = RetryPolicy(max_attempts=6, initial_backoff=0.001, budget=None)
    async with make_client(server, retry=policy) as client:
        with pytest.raises(InternalServerError):
            await client.samplers.get("abc")
        assert client.stats.requests == 6
        assert client.stats.budget_tokens is None


async def test_large_bodies_are_refused_not_buffered(server: FakeLoopsServer) -> None:
    server.enqueue(Reply(body=b'{"sampler": "' + b"x" * 10_000_000 + b'"}'), sampler_id="abc")
    async with make_client(server) as client:
        with pytest.raises(ResponseTooLargeError, match="max_response_bytes=1048576"):
            await client.samplers.get("abc")
        server.add_sampler("abc")
        assert (await client.samplers.get("abc")).id == "abc"  # still usable


async def test_large_error_bodies_are_cut_short(server: FakeLoopsServer) -> None:
    server.enqueue(Reply(status=404, body=b"<html>" + b"x" * 5_000_000), sampler_id="abc")
    async with make_client(server) as client:
        with pytest.raises(NotFoundError) as info:
            await client.samplers.get("abc")
    assert len(info.value.body_excerpt) <= 300


async def test_debug_log_shows_path_status_attempt_and_wait_but_never_the_key(
    server: FakeLoopsServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.add_sampler("abc")
    server.enqueue(Reply(status=503), sampler_id="abc")
    with caplog.at_level(logging.DEBUG, logger="baseten_loops"):
        async with make_client(server) as client:
            await client.samplers.get("abc")
    text = caplog.text
    url = f"{server.base_url}/v1/loops/samplers/abc"
    assert f"GET {url} failed (attempt 1): InternalServerError" in text
    assert f"retrying GET {url}: attempt 2 after status 503, waiting" in text
    assert f"GET {url} -> 200 (attempt 2)" in text
    assert server.api_key not in text
    assert all(r.name.startswith("baseten_loops") for r in caplog.records)
