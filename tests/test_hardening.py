"""Issue 9, library half: hostile servers and misuse, each met with a typed error and no leak.

Every test here failed before the fix it names: decoded-size bound (1), deep JSON (2), the key
through exception chains (3) and encoded echoes (4), closing mid-call (5), event loops (6),
non-ASCII digits (7), proxies (8) and a borrowed ``raise_for_status=True`` session (9).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import gzip
import json
import threading
import traceback
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest

from baseten_loops import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    InternalServerError,
    LoopsClient,
    LoopsError,
    NotFoundError,
    ResponseTooLargeError,
    ResponseValidationError,
    RetryPolicy,
    Sampler,
    WaitTimeoutError,
)
from baseten_loops._convert import parse_response
from baseten_loops._paging import MAX_EMPTY_PAGES
from baseten_loops._retry import parse_retry_after
from baseten_loops._sansio import Secrets, error_for_response, redact, resolve_proxy
from baseten_loops.testing import FakeLoopsServer, Reply, sampler_payload

from .spec_payloads import payload as spec_payload

#: The key every server here accepts, and that must never be reachable from what we raise.
KEY = "sk-live-0123456789abcdefSECRET"
ONE_TRY = RetryPolicy(max_attempts=1)


def sampler_body(sampler_id: str = "abc", **overrides: Any) -> bytes:
    payload = sampler_payload(sampler_id)
    payload.update(overrides)
    return json.dumps({"sampler": payload}).encode()


@pytest.fixture
async def keyed_server() -> AsyncIterator[FakeLoopsServer]:
    async with FakeLoopsServer(api_key=KEY) as server:
        server.add_sampler("abc")
        yield server


def client_for(server: FakeLoopsServer, **options: Any) -> LoopsClient:
    options.setdefault("retry", ONE_TRY)
    return LoopsClient(server.api_key, base_url=server.base_url, **options)


# -- 1. the size bound counts decoded bytes ------------------------------------------------


def deflate(data: bytes) -> bytes:
    return zlib.compress(data)


@pytest.mark.parametrize(("encoding", "compress"), [("gzip", gzip.compress), ("deflate", deflate)])
async def test_compressed_body_that_inflates_past_the_limit_is_refused(
    keyed_server: FakeLoopsServer, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    # 50 MB of JSON whitespace then a valid sampler: ~50 KB on the wire, a valid body once
    # inflated. Counting wire bytes, it passed the 1 MiB limit and was read whole.
    bomb = compress(b" " * 50_000_000 + sampler_body())
    assert len(bomb) < 1024 * 1024
    keyed_server.enqueue(Reply(body=bomb, headers={"Content-Encoding": encoding}), sampler_id="abc")
    async with client_for(keyed_server) as client:
        with pytest.raises(ResponseTooLargeError, match="max_response_bytes=1048576"):
            await client.samplers.get("abc")
        assert (await client.samplers.get("abc")).id == "abc"  # the client stays usable


async def test_compressed_body_within_the_limit_is_read(keyed_server: FakeLoopsServer) -> None:
    body = gzip.compress(b" " * 500_000 + sampler_body())
    keyed_server.enqueue(Reply(body=body, headers={"Content-Encoding": "gzip"}), sampler_id="abc")
    async with client_for(keyed_server) as client:
        assert (await client.samplers.get("abc")).id == "abc"


async def test_compressed_error_body_is_cut_at_the_excerpt_limit(
    keyed_server: FakeLoopsServer,
) -> None:
    bomb = gzip.compress(b"upstream exploded " + b"x" * 50_000_000)
    keyed_server.enqueue(
        Reply(status=500, body=bomb, headers={"Content-Encoding": "gzip"}), sampler_id="abc"
    )
    async with client_for(keyed_server) as client:
        with pytest.raises(InternalServerError) as info:
            await client.samplers.get("abc")
    assert info.value.body_excerpt.startswith("upstream exploded xxx")
    assert len(info.value.body_excerpt) <= 300


# -- 2. deeply nested JSON -----------------------------------------------------------------

DEEP = b'{"sampler": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def test_deeply_nested_json_is_a_validation_error() -> None:
    with pytest.raises(ResponseValidationError, match="nested too deeply"):
        parse_response(DEEP, "sampler", Sampler)


def test_deeply_nested_error_body_has_no_server_message() -> None:
    error = error_for_response(500, {}, DEEP, method="GET", url="/p")
    assert isinstance(error, InternalServerError)
    assert error.server_message is None


async def test_deep_json_fails_only_its_own_slot_in_bulk_calls(
    keyed_server: FakeLoopsServer,
) -> None:
    keyed_server.add_sampler("deep")
    keyed_server.add_sampler("deeperror")
    async with client_for(keyed_server) as client:
        keyed_server.enqueue(Reply(body=DEEP), sampler_id="deep")
        keyed_server.enqueue(Reply(status=500, body=DEEP), sampler_id="deeperror")
        results = await client.samplers.get_many(
            ["deep", "abc", "deeperror"], return_exceptions=True
        )
        assert isinstance(results[0], ResponseValidationError)
        assert isinstance(results[1], Sampler)
        assert isinstance(results[2], InternalServerError)
        assert results[2].server_message is None

        keyed_server.enqueue(Reply(body=DEEP), sampler_id="deep")
        pairs = dict([pair async for pair in client.samplers.iter_many(["deep", "abc"])])
        assert isinstance(pairs["deep"], ResponseValidationError)
        assert isinstance(pairs["abc"], Sampler)


# -- 3 and 4. the key is reachable from no exception -------------------------------------


def reachable_strings(root: BaseException) -> Iterator[str]:
    """``repr`` and ``str`` of every object reachable from ``root``, without the gc.

    Follows exception links (``__cause__``, ``__context__``, ``args``, ``__notes__``),
    instance ``__dict__`` and ``__slots__``, mappings and sequences. Does not follow
    ``__traceback__``: its frames are checked with ``capture_locals`` instead.
    """
    seen: set[int] = set()
    stack: list[Any] = [root]
    skipped = (type, type(reachable_strings), type(traceback), type(len))
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, skipped):
            continue
        seen.add(id(obj))
        yield repr(obj)
        if isinstance(obj, bytes | bytearray):
            yield bytes(obj).decode("latin-1")
            continue
        if isinstance(obj, str):
            yield obj
            continue
        if isinstance(obj, BaseException):
            yield str(obj)
            stack += [obj.__cause__, obj.__context__, *obj.args]
            stack += getattr(obj, "__notes__", [])
        if hasattr(obj, "items") and callable(obj.items):
            try:
                for key, value in list(obj.items()):
                    stack += [key, value]
            except Exception:  # not a mapping after all
                pass
        elif isinstance(obj, list | tuple | set | frozenset):
            stack += list(obj)
        stack += list(getattr(obj, "__dict__", {}).values())
        for cls in type(obj).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if isinstance(name, str) and hasattr(obj, name):
                    stack.append(getattr(obj, name))


def assert_key_unreachable(error: BaseException) -> None:
    for text in reachable_strings(error):
        assert KEY not in text
    formatted = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    assert KEY not in formatted


async def error_of(client: LoopsClient) -> LoopsError:
    # A helper, so that no frame of the traceback holds the test's own hostile data.
    try:
        await client.samplers.get("abc")
    except LoopsError as exc:
        return exc
    raise AssertionError("expected a LoopsError")


def test_the_walker_finds_a_key_held_by_a_chained_error() -> None:
    class Holder:
        def __init__(self) -> None:
            self.headers = {"Authorization": f"Bearer {KEY}"}

    error = APIConnectionError("failed")
    error.__cause__ = ValueError(Holder())
    with pytest.raises(AssertionError):
        assert_key_unreachable(error)


ECHO = f"HTTP/1.1 200 OK sk {KEY}\r\n".encode()
MALFORMED = {
    "bad status line": f"HTTP/1.1 2OO {KEY}\r\n\r\n".encode(),
    "not http": f"{KEY} NOT HTTP AT ALL\r\n\r\n".encode(),
    "header over 8 KiB": b"HTTP/1.1 200 OK\r\nX-Echo: " + KEY.encode() * 400 + b"\r\n\r\n{}",
    "undecodable gzip": (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 40\r\n\r\n"
        + KEY.encode().ljust(40, b"!")
    ),
    "truncated": b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Echo: "
    + KEY.encode()
    + b"\r\n\r\n{",
}


async def test_a_key_quoted_cut_short_by_aiohttp_is_blanked_too(
    keyed_server: FakeLoopsServer,
) -> None:
    # aiohttp quotes the first 100 bytes of an oversized header: here 90 filler bytes and the
    # key's first 10 characters.
    raw = b"HTTP/1.1 200 OK\r\nX-Echo: " + b"a" * 90 + KEY.encode() * 400 + b"\r\n\r\n{}"
    keyed_server.enqueue(Reply(raw=raw), sampler_id="abc")
    async with client_for(keyed_server) as client:
        error = await error_of(client)
    assert "aaaa***" in str(error)
    assert KEY[:10] not in str(error)


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_answers_chain_no_aiohttp_error_and_no_key(
    keyed_server: FakeLoopsServer, case: str
) -> None:
    keyed_server.enqueue(Reply(raw=MALFORMED[case]), sampler_id="abc")
    async with client_for(keyed_server) as client:
        error = await error_of(client)
    assert isinstance(error, APIConnectionError)
    assert error.__cause__ is None and error.__suppress_context__ in (False, True)
    assert error.__context__ is None
    assert_key_unreachable(error)


async def test_timeout_error_holds_no_key(keyed_server: FakeLoopsServer) -> None:
    keyed_server.enqueue(Reply(delay=5), sampler_id="abc")
    async with client_for(keyed_server, attempt_timeout=0.05) as client:
        error = await error_of(client)
    assert isinstance(error, APITimeoutError)
    assert_key_unreachable(error)


async def test_refused_connection_error_holds_no_key() -> None:
    async with FakeLoopsServer(api_key=KEY) as server:
        base_url = server.base_url  # a port nothing listens on once the server stops
    async with LoopsClient(KEY, base_url=base_url, retry=ONE_TRY) as client:
        error = await error_of(client)
    assert isinstance(error, APIConnectionError)
    assert error.__cause__ is None
    assert_key_unreachable(error)


PERCENT_KEY = "".join(f"%{byte:02X}" for byte in KEY.encode())
JSON_ESCAPED_KEY = "".join(f"\\u{ord(char):04x}" for char in KEY)
ECHOING_ANSWERS = {
    "json-escaped message": Reply(
        status=400, body=f'{{"message": "bad header Bearer {JSON_ESCAPED_KEY}"}}'.encode()
    ),
    "percent-encoded body": Reply(status=500, body=f"echo: Bearer%20{PERCENT_KEY}".encode()),
    "literal body, lower case": Reply(status=502, body=f"echo: bearer {KEY.lower()}".encode()),
    "html entities": Reply(
        status=503, body="".join(f"&#{ord(char)};" for char in KEY).encode(), headers={}
    ),
    "request id header": Reply(status=404, headers={"x-request-id": f"req-{KEY}"}),
    "percent-encoded request id": Reply(status=404, headers={"x-request-id": PERCENT_KEY}),
    "location header": Reply(status=302, headers={"Location": f"https://evil.test/?k={KEY}"}),
}


@pytest.mark.parametrize("case", list(ECHOING_ANSWERS))
async def test_status_errors_never_hold_an_echoed_key(
    keyed_server: FakeLoopsServer, case: str
) -> None:
    keyed_server.enqueue(ECHOING_ANSWERS[case], sampler_id="abc")
    async with client_for(keyed_server) as client:
        error = await error_of(client)
    assert isinstance(error, APIStatusError)
    assert_key_unreachable(error)
    assert "***" in str(error) + error.body_excerpt + (error.request_id or "")
    assert PERCENT_KEY.lower() not in repr(vars(error)).lower()


def test_redact_blanks_every_encoding_of_each_secret_and_nothing_else() -> None:
    secrets = (KEY, "pw/x")
    text = f"a {KEY} b {PERCENT_KEY} c {JSON_ESCAPED_KEY} d pw%2Fx e pw\\/x f keep%20me"
    assert redact(text, secrets) == "a *** b *** c *** d *** e *** f keep%20me"
    assert redact("nothing here", ()) == "nothing here"
    assert redact(f"cut: {KEY[:12]}... and {KEY[-9:]}", secrets) == "cut: ***... and ***"
    assert redact(f"short: {KEY[:7]}", secrets) == f"short: {KEY[:7]}"  # 7 chars say nothing


# -- 5. closing the client while calls run ---------------------------------------------------


def signal_on(hook: str) -> tuple[aiohttp.TraceConfig, asyncio.Event]:
    """A trace config that sets the event when aiohttp fires ``hook`` (e.g. on_request_end)."""
    event = asyncio.Event()

    async def fire(*_: object) -> None:
        event.set()

    trace = aiohttp.TraceConfig()
    getattr(trace, hook).append(fire)
    return trace, event


async def test_closing_during_a_retry_wait_raises_client_closed(
    keyed_server: FakeLoopsServer,
) -> None:
    keyed_server.enqueue(Reply(status=503, headers={"Retry-After": "600"}), sampler_id="abc")
    trace, answered = signal_on("on_request_end")
    policy = RetryPolicy(max_retry_after=600)
    client = client_for(keyed_server, retry=policy, timeout=None, trace_configs=[trace])
    call = asyncio.create_task(client.samplers.get("abc"))
    await answered.wait()
    await asyncio.sleep(0.05)  # the 503 is read; the call sleeps 600 s before its retry
    await client.close()
    # close() ends the wait: the call fails now, not in ten minutes (the guard never fires).
    with pytest.raises(ClientClosedError, match="closed while the call was running"):
        await asyncio.wait_for(call, timeout=60)
    assert keyed_server.requests == 1


async def test_closing_during_a_request_raises_client_closed(
    keyed_server: FakeLoopsServer,
) -> None:
    keyed_server.enqueue(Reply(delay=5), sampler_id="abc")
    trace, sent = signal_on("on_request_headers_sent")
    client = client_for(keyed_server, trace_configs=[trace])
    call = asyncio.create_task(client.samplers.get("abc"))
    await sent.wait()  # the call now waits for an answer that comes in 5 s
    await client.close()
    with pytest.raises(ClientClosedError):
        await call


async def test_closing_inside_iter_many_fails_the_rest_with_client_closed(
    keyed_server: FakeLoopsServer,
) -> None:
    ids = [keyed_server.add_sampler()["id"] for _ in range(20)]
    client = client_for(keyed_server)
    results = []
    async for _, result in client.samplers.iter_many(ids, concurrency=2):
        results.append(result)
        if len(results) == 1:
            await client.close()
    assert len(results) == len(ids)
    assert isinstance(results[0], Sampler)
    assert any(isinstance(result, ClientClosedError) for result in results)
    assert all(isinstance(result, Sampler | ClientClosedError) for result in results)


async def test_a_closed_borrowed_session_is_client_closed(keyed_server: FakeLoopsServer) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    client = client_for(keyed_server, session=session)
    with pytest.raises(ClientClosedError, match="passed as LoopsClient"):
        await client.samplers.get("abc")


# -- 6. one client, several event loops ------------------------------------------------------


@pytest.fixture
def threaded_server() -> Iterator[FakeLoopsServer]:
    """A FakeLoopsServer running in a thread of its own, for tests that run their own loops."""
    loop = asyncio.new_event_loop()
    server = FakeLoopsServer(api_key=KEY)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.close())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(10)
    server.add_sampler("abc")
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_one_client_serves_asyncio_run_after_asyncio_run(
    threaded_server: FakeLoopsServer,
) -> None:
    client = LoopsClient(KEY, base_url=threaded_server.base_url)
    # Not closed between the runs: each run's session is closed as its loop shuts down, so
    # nothing is left open on a closed loop (any ResourceWarning fails the test).
    for _ in range(3):
        assert asyncio.run(client.samplers.get("abc")).id == "abc"
    asyncio.run(client.close())
    gc.collect()


def test_threads_with_their_own_loops_share_one_client(
    threaded_server: FakeLoopsServer,
) -> None:
    ids = [threaded_server.add_sampler()["id"] for _ in range(40)]
    client = LoopsClient(KEY, base_url=threaded_server.base_url)
    results: dict[int, list[str]] = {}
    failures: list[BaseException] = []

    def run(thread_number: int) -> None:
        async def fetch() -> list[str]:
            samplers = await client.samplers.get_many(ids, concurrency=8)
            return [sampler.id for sampler in samplers]

        try:
            results[thread_number] = asyncio.run(fetch())
        except BaseException as exc:  # reported below, with the thread's error
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert results == {n: ids for n in range(4)}
    asyncio.run(client.close())
    gc.collect()


# -- 7. ASCII digits only ------------------------------------------------------------------


ARABIC_INDIC_12 = "\u0661\u0662"
FULLWIDTH_12 = "\uff11\uff12"


@pytest.mark.parametrize(
    "value", [ARABIC_INDIC_12, FULLWIDTH_12, "\u0660.\u0665", "1_0", "1e3", "+5", "inf", "nan"]
)
def test_retry_after_accepts_ascii_digits_only(value: str) -> None:
    assert parse_retry_after(value) is None


def test_retry_after_date_in_other_digits_is_refused() -> None:
    assert parse_retry_after("Wed, \u0662\u0661 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after("12") == 12.0 and parse_retry_after("1.5") == 1.5


@pytest.mark.parametrize(
    "created_at",
    [
        "\u0662\u0660\u0662\u0666-01-02T03:04:05Z",
        "2026-01-02T03:04:0\uff15Z",
        "2026-01-02T03:04:05+0\u0662:00",
    ],
)
def test_created_at_in_other_digits_is_a_validation_error(created_at: str) -> None:
    with pytest.raises(ResponseValidationError, match=r"sampler\.created_at"):
        parse_response(sampler_body(created_at=created_at), "sampler", Sampler)


# -- 8. proxies ------------------------------------------------------------------------------


class FakeProxy:
    """A proxy on 127.0.0.1 that records each request head and answers it itself."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.heads: list[list[str]] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> FakeProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head.decode("latin-1").split("\r\n"))
        writer.write(self.answer)
        await writer.drain()
        writer.close()


def http_answer(body: bytes, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
    return head.encode() + b"\r\nConnection: close\r\n\r\n" + body


async def test_requests_go_through_the_given_proxy_with_its_credentials() -> None:
    async with FakeProxy(http_answer(sampler_body())) as proxy:
        proxy_url = proxy.url.replace("http://", "http://user:pa55@")
        async with LoopsClient(
            KEY, base_url="http://127.0.0.1:9", proxy=proxy_url, retry=ONE_TRY
        ) as client:
            assert (await client.samplers.get("abc")).id == "abc"
            assert "pa55" not in repr(client)
    request_line, *headers = proxy.heads[0]
    assert request_line == "GET http://127.0.0.1:9/v1/loops/samplers/abc HTTP/1.1"
    credentials = base64.b64encode(b"user:pa55").decode()
    assert f"Proxy-Authorization: Basic {credentials}" in headers
    assert not any(KEY in header for header in headers if header.startswith("Proxy-"))


async def test_https_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeProxy(http_answer(b"", "403 Forbidden")) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.delenv("https_proxy", raising=False)  # lower case would win
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with LoopsClient(KEY, base_url="https://api.example.test", retry=ONE_TRY) as client:
            with pytest.raises(APIConnectionError, match="ClientHttpProxyError"):
                await client.samplers.get("abc")
    # The key went nowhere: only a CONNECT for the tunnel reached the proxy.
    assert proxy.heads[0][0] == "CONNECT api.example.test:443 HTTP/1.1"
    assert KEY not in "".join(proxy.heads[0])


async def test_environment_proxy_is_never_used_for_a_loopback_base_url(
    keyed_server: FakeLoopsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.test:3128")
    monkeypatch.setenv("http_proxy", "http://proxy.example.test:3128")
    async with client_for(keyed_server) as client:
        assert (await client.samplers.get("abc")).id == "abc"


def test_environment_proxy_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    base = "https://api.baseten.co"
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert resolve_proxy(None, trust_env=True, base_url=base) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    assert str(resolve_proxy(None, trust_env=True, base_url=base)) == "http://proxy.corp:3128"
    assert resolve_proxy(None, trust_env=False, base_url=base) is None
    explicit = resolve_proxy("http://other:8080", trust_env=True, base_url=base)
    assert str(explicit) == "http://other:8080"
    monkeypatch.setenv("HTTPS_PROXY", "proxy.corp:3128")  # no scheme, as curl accepts it
    assert str(resolve_proxy(None, trust_env=True, base_url=base)) == "http://proxy.corp:3128"
    monkeypatch.setenv("NO_PROXY", "baseten.co")
    assert resolve_proxy(None, trust_env=True, base_url=base) is None


@pytest.mark.parametrize(
    ("proxy", "base_url", "message"),
    [
        ("socks5://u:hunter2@proxy:1080", "https://api.baseten.co", "http:// or https://"),
        ("http://u:hunter2@proxy:3128/path", "https://api.baseten.co", "path, query"),
        ("http://u:hunter2@proxy.corp:3128", "http://127.0.0.1:9", "travel unencrypted"),
        ("http://u:hunter2@[::1", "https://api.baseten.co", "not a valid URL"),
    ],
)
def test_bad_proxies_are_configuration_errors_without_credentials(
    proxy: str, base_url: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message) as info:
        LoopsClient(KEY, base_url=base_url, proxy=proxy)
    assert "hunter2" not in str(info.value)


def test_proxy_and_trust_env_types_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="proxy must be a str"):
        LoopsClient(KEY, proxy=3128)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="trust_env must be True or False"):
        LoopsClient(KEY, trust_env="yes")  # type: ignore[arg-type]


# -- 9. a borrowed session that raises for status -------------------------------------------


async def test_borrowed_session_with_raise_for_status_still_maps_statuses(
    keyed_server: FakeLoopsServer,
) -> None:
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        client = LoopsClient(
            KEY, base_url=keyed_server.base_url, session=session, retry=RetryPolicy()
        )
        with pytest.raises(NotFoundError):
            await client.samplers.get("missing")
        assert keyed_server.requests == 1  # a 404, not a retried connection error
        assert (await client.samplers.get("abc")).id == "abc"


def test_a_borrowed_session_from_another_loop_is_a_clear_error(
    threaded_server: FakeLoopsServer,
) -> None:
    async def make_session() -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    loop = asyncio.new_event_loop()
    session = loop.run_until_complete(make_session())
    client = LoopsClient(KEY, base_url=threaded_server.base_url, session=session)
    try:
        with pytest.raises(LoopsError, match="belongs to another event loop"):
            asyncio.run(client.samplers.get("abc"))
    finally:
        loop.run_until_complete(session.close())
        loop.close()


def test_closing_the_client_closes_the_session_of_a_loop_in_another_thread(
    threaded_server: FakeLoopsServer,
) -> None:
    client = LoopsClient(KEY, base_url=threaded_server.base_url)
    other_loop = asyncio.new_event_loop()
    thread = threading.Thread(target=other_loop.run_forever, daemon=True)
    thread.start()
    try:
        fetched = asyncio.run_coroutine_threadsafe(client.samplers.get("abc"), other_loop)
        assert fetched.result(10).id == "abc"
        session, closer = client._http._pool.sessions[other_loop]
        assert not session.closed
        asyncio.run(client.close())  # from this thread's loop; the other loop closes its own
        asyncio.run_coroutine_threadsafe(asyncio.wait([closer]), other_loop).result(10)
        assert session.closed
    finally:
        other_loop.call_soon_threadsafe(other_loop.stop)
        thread.join(10)
        other_loop.close()


async def test_tls_failure_is_not_retried_and_holds_no_key(keyed_server: FakeLoopsServer) -> None:
    # https:// to a plain-http server: the TLS handshake fails, which no retry would fix.
    tls_url = keyed_server.base_url.replace("http://", "https://")
    async with LoopsClient(KEY, base_url=tls_url, retry=RetryPolicy()) as client:
        error = await error_of(client)
        assert client.stats.requests == 1
    assert isinstance(error, APIConnectionError)
    assert "TLS failure talking to 127.0.0.1" in str(error)
    assert_key_unreachable(error)


ECHOING_2XX_BODY = sampler_body(created_at=f"echo {KEY}", base_url=["Bearer", KEY])


def test_validation_errors_blank_a_key_echoed_into_a_field() -> None:
    with pytest.raises(ResponseValidationError) as info:
        parse_response(ECHOING_2XX_BODY, "sampler", Sampler, secret=Secrets((KEY,)))
    assert any(line.startswith("sampler.created_at: 'echo ***'") for line in info.value.errors)
    assert_key_unreachable(info.value)


def test_a_non_object_sampler_echoing_the_key_is_refused_without_it() -> None:
    with pytest.raises(ResponseValidationError, match="expected an object, got str") as info:
        parse_response(
            json.dumps({"sampler": KEY}).encode(), "sampler", Sampler, secret=Secrets((KEY,))
        )
    assert info.value.__context__ is None
    assert KEY not in str(info.value)


def test_secrets_never_show_in_their_repr() -> None:
    secrets = Secrets((KEY, "pa55"))
    assert KEY not in repr(secrets) and "pa55" not in repr(secrets)
    assert redact(f"x{KEY}y", secrets) == "x***y"


def test_the_session_scrubs_the_key_and_the_proxy_password() -> None:
    client = LoopsClient(KEY, proxy="http://user:pa55@proxy.corp:3128", trust_env=False)
    secrets = client._http.secrets
    assert set(secrets) == {KEY, "pa55"}
    assert KEY not in repr(secrets) and "pa55" not in repr(secrets)


async def test_closing_a_client_with_a_borrowed_session_lets_its_calls_finish(
    keyed_server: FakeLoopsServer,
) -> None:
    keyed_server.enqueue(Reply(status=503, headers={"Retry-After": "0.2"}), sampler_id="abc")
    trace, answered = signal_on("on_request_end")
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        client = client_for(keyed_server, session=session, retry=RetryPolicy())
        call = asyncio.create_task(client.samplers.get("abc"))
        await answered.wait()
        await client.close()  # the borrowed session stays open, so the call retries as asked
        assert (await call).id == "abc"
        assert keyed_server.requests == 2


# -- 10. every message that quotes the server goes through scrub() (issue 15, item 7) ------

# The forms a server or proxy echoes a key back in, once decoded from JSON.
ECHOED_KEYS = {"literal": KEY, "percent-encoded": PERCENT_KEY, "lower case": KEY.lower()}


def assert_message_scrubbed(error: LoopsError) -> None:
    """The message, args and ``errors`` lines hold no form of the key, and show ``***``."""
    texts = [str(error), repr(error), *map(str, error.args), *getattr(error, "errors", ())]
    for text in texts:
        assert KEY.lower() not in text.lower()
        assert PERCENT_KEY.lower() not in text.lower()
    assert "***" in str(error)


def archive_page(token: str) -> Reply:
    page = {"presigned_urls": [{**spec_payload("CheckpointFile")}], "next_page_token": token}
    return Reply(body=page)


@pytest.mark.parametrize("form", list(ECHOED_KEYS))
async def test_a_repeated_page_token_echoing_the_key_is_quoted_scrubbed(
    keyed_server: FakeLoopsServer, form: str
) -> None:
    token = f"page-2-{ECHOED_KEYS[form]}"
    keyed_server.enqueue(archive_page(token), archive_page(token))
    async with client_for(keyed_server) as client:
        with pytest.raises(ResponseValidationError, match="already followed") as info:
            async for _ in client.deployments.iter_debug_archive_files("d1"):
                pass
    assert_message_scrubbed(info.value)
    assert info.value.errors == ("next_page_token: 'page-2-***' repeats an earlier token",)


async def test_a_run_of_empty_pages_with_tokens_echoing_the_key_is_quoted_scrubbed(
    keyed_server: FakeLoopsServer,
) -> None:
    empty = [
        Reply(body={"presigned_urls": [], "next_page_token": f"{n}-{KEY}"})
        for n in range(MAX_EMPTY_PAGES)
    ]
    keyed_server.enqueue(*empty)
    async with client_for(keyed_server) as client:
        with pytest.raises(ResponseValidationError, match="no progress") as info:
            async for _ in client.deployments.iter_debug_archive_files("d1"):
                pass
    assert_message_scrubbed(info.value)


@pytest.mark.parametrize("form", list(ECHOED_KEYS))
async def test_an_answer_about_another_id_echoing_the_key_is_quoted_scrubbed(
    keyed_server: FakeLoopsServer, form: str
) -> None:
    other = json.dumps({"sampler": sampler_payload(f"id-{ECHOED_KEYS[form]}")})
    keyed_server.enqueue(Reply(body=other), Reply(body=other), sampler_id="abc")
    async with client_for(keyed_server) as client:
        with pytest.raises(ResponseValidationError, match="asked for 'abc'") as info:
            await client.samplers.get("abc")
        assert_message_scrubbed(info.value)
        (bulk,) = await client.samplers.get_many(["abc"], return_exceptions=True)
    assert isinstance(bulk, ResponseValidationError)
    assert_message_scrubbed(bulk)
    assert bulk.errors == ("sampler.id: expected 'abc', got 'id-***'",)


@pytest.mark.parametrize("form", list(ECHOED_KEYS))
async def test_a_wait_timing_out_on_a_status_echoing_the_key_quotes_it_scrubbed(
    keyed_server: FakeLoopsServer, form: str
) -> None:
    keyed_server.add_sampler("w1", status=f"PENDING {ECHOED_KEYS[form]}")
    async with client_for(keyed_server) as client:
        with pytest.raises(WaitTimeoutError) as info:
            await client.samplers.wait_until_active("w1", timeout=0.1, poll_interval=0.05)
    assert_message_scrubbed(info.value)
    assert str(info.value).endswith("(last status PENDING ***)")


async def test_a_deployment_wait_refuses_an_answer_about_another_id_scrubbed(
    keyed_server: FakeLoopsServer,
) -> None:
    # Waits look up by id like get does, so they too refuse another object's answer.
    deployment = keyed_server.add_deployment("d1", status="DEPLOYING")
    keyed_server.enqueue(
        Reply(body={"deployment": {**deployment, "id": KEY}}), route="GET /v1/loops/deployments/d1"
    )
    async with client_for(keyed_server) as client:
        with pytest.raises(ResponseValidationError, match="asked for 'd1'") as info:
            await client.deployments.wait_until_running("d1", timeout=1, poll_interval=0.05)
    assert_message_scrubbed(info.value)
