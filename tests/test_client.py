from __future__ import annotations

import gc
import warnings

import aiohttp
import pytest

from baseten_loops import (
    ConfigurationError,
    LoopsClient,
    LoopsError,
    RetryPolicy,
)
from baseten_loops.testing import FakeLoopsServer

KEY = "sk-live-SUPERSECRET-0123456789"


def test_key_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASETEN_API_KEY", KEY)
    client = LoopsClient()
    assert client._http._headers["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_key_is_a_loops_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("BASETEN_API_KEY", raising=False)
    else:
        monkeypatch.setenv("BASETEN_API_KEY", value)
    with pytest.raises(LoopsError, match="BASETEN_API_KEY"):
        LoopsClient()


def test_explicit_key_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASETEN_API_KEY", "from-env")
    client = LoopsClient("explicit", auth_scheme="Api-Key")
    assert client._http._headers["Authorization"] == "Api-Key explicit"


def test_key_with_control_characters_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        LoopsClient("abc\r\nX-Evil: 1")
    assert "abc" not in str(info.value)


def test_base_url_defaults_and_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASETEN_BASE_URL", raising=False)
    assert LoopsClient(KEY).base_url == "https://api.baseten.co"
    monkeypatch.setenv("BASETEN_BASE_URL", "https://staging.example.com/")
    assert LoopsClient(KEY).base_url == "https://staging.example.com"


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="unencrypted"):
        LoopsClient(KEY, base_url="http://api.baseten.co")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"auth_scheme": "Basic"},
        {"timeout": 0},
        {"timeout": float("inf")},
        {"timeout": "5"},
        {"timeout": True},
        {"max_connections": 0},
        {"max_response_bytes": 0},
        {"retry": {"max_attempts": 2}},
    ],
)
def test_bad_options_are_configuration_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        LoopsClient(KEY, **kwargs)  # type: ignore[arg-type]


def test_repr_never_shows_the_key() -> None:
    client = LoopsClient(KEY)
    assert KEY not in repr(client)
    assert KEY[:8] not in repr(client)
    assert "api_key='***'" in repr(client)
    assert client.retry == RetryPolicy()


async def test_session_is_created_lazily_reused_and_closed(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    client = LoopsClient(server.api_key, base_url=server.base_url)
    assert client._http._pool.session is None
    await client.samplers.get("abc")
    session = client._http._pool.session
    assert session is not None
    await client.samplers.get("abc")
    assert client._http._pool.session is session
    await client.close()
    assert session.closed


async def test_keep_alive_reuses_one_connection(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    opened = 0

    async def on_create(*_: object) -> None:
        nonlocal opened
        opened += 1

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_create)
    async with LoopsClient(
        server.api_key, base_url=server.base_url, trace_configs=[trace]
    ) as client:
        for _ in range(5):
            await client.samplers.get("abc")
    assert opened == 1


async def test_user_session_is_used_and_never_closed(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    async with aiohttp.ClientSession() as session:
        async with LoopsClient(server.api_key, base_url=server.base_url, session=session) as client:
            assert (await client.samplers.get("abc")).id == "abc"
        assert not session.closed
        # The client still works with the borrowed session after close().
        assert (await client.samplers.get("abc")).id == "abc"


async def test_closed_user_session_gives_a_clear_error(server: FakeLoopsServer) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    client = LoopsClient(server.api_key, base_url=server.base_url, session=session)
    with pytest.raises(LoopsError, match="ClientSession is closed"):
        await client.samplers.get("abc")


async def test_using_a_closed_client_is_a_clear_error(server: FakeLoopsServer) -> None:
    client = LoopsClient(server.api_key, base_url=server.base_url)
    await client.close()
    with pytest.raises(LoopsError, match="closed"):
        await client.samplers.get("abc")


async def test_closing_leaves_no_resource_warning(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        async with LoopsClient(server.api_key, base_url=server.base_url) as client:
            await client.samplers.get("abc")
        del client
        gc.collect()


def test_creating_a_client_outside_a_loop_makes_no_session() -> None:
    client = LoopsClient(KEY)
    assert client._http._pool.session is None
