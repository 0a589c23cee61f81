"""OpenTelemetry's aiohttp instrumentation traces the client with no code in the library.

Both ways of turning it on work: ``create_trace_config()`` passed as ``trace_configs=``, and
``AioHttpClientInstrumentor().instrument()``, which patches ``aiohttp.ClientSession`` so the
sessions the client creates (lazily, one per event loop) carry its trace config. Either way each
attempt is one span, since the client sends each attempt as one aiohttp request.
"""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import yarl
from multidict import CIMultiDict, CIMultiDictProxy
from opentelemetry.instrumentation.aiohttp_client import (
    AioHttpClientInstrumentor,
    create_trace_config,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from baseten_loops import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    LoopsClient,
    NotFoundError,
    RetryPolicy,
)
from baseten_loops._sansio import Secrets
from baseten_loops._tracing import _scrub, scrub_traced_errors
from baseten_loops.testing import FakeLoopsServer, Reply

KEY = "sk-live-TRACING-CANARY-0123456789"
RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_retry_after=0.05)
PATH = "/v1/loops/samplers/abc"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture(params=["trace_configs", "instrumentor"])
def client_options(request: pytest.FixtureRequest, provider: TracerProvider) -> Iterator[Any]:
    """The client's keywords for one way of turning the instrumentation on."""
    if request.param == "trace_configs":
        yield {"trace_configs": [create_trace_config(tracer_provider=provider)]}
        return
    instrumentor = AioHttpClientInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield {}  # nothing to pass: every aiohttp.ClientSession created from now on is traced
    finally:
        instrumentor.uninstrument()


@pytest.fixture
async def server() -> AsyncIterator[FakeLoopsServer]:
    async with FakeLoopsServer(KEY) as fake:
        fake.add_sampler("abc")
        yield fake


def client_of(server: FakeLoopsServer, options: dict[str, Any], **more: Any) -> LoopsClient:
    return LoopsClient(KEY, base_url=server.base_url, retry=RETRY, **options, **more)


def attribute(span: ReadableSpan, new: str, old: str) -> Any:
    """An attribute under the stable HTTP semantic conventions' name, or the older one.

    Which one the instrumentation writes depends on ``OTEL_SEMCONV_STABILITY_OPT_IN``.
    """
    attributes = span.attributes or {}
    return attributes.get(new, attributes.get(old))


def spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return sorted(exporter.get_finished_spans(), key=lambda span: span.start_time or 0)


async def test_each_attempt_is_one_client_span_with_method_url_and_status(
    server: FakeLoopsServer, client_options: dict[str, Any], exporter: InMemorySpanExporter
) -> None:
    server.enqueue(Reply(status=503), sampler_id="abc")
    async with client_of(server, client_options) as client:
        await client.samplers.get("abc")
        assert client.stats.requests == 2
    found = spans(exporter)
    assert [attribute(s, "http.response.status_code", "http.status_code") for s in found] == [
        503,
        200,
    ]
    for span in found:
        assert span.kind is SpanKind.CLIENT
        assert span.name == "GET"
        assert attribute(span, "http.request.method", "http.method") == "GET"
        assert attribute(span, "url.full", "http.url") == server.base_url + PATH
    assert [span.status.status_code for span in found] == [StatusCode.ERROR, StatusCode.UNSET]


async def test_the_attempts_of_one_call_share_the_callers_span(
    server: FakeLoopsServer,
    client_options: dict[str, Any],
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    server.enqueue(Reply(status=503), Reply(status=429, headers={"Retry-After": "0"}))
    tracer = provider.get_tracer("tests")
    async with client_of(server, client_options) as client:
        with tracer.start_as_current_span("lookup") as parent:
            await client.samplers.get("abc")
    attempts = [span for span in spans(exporter) if span.name == "GET"]
    assert len(attempts) == 3
    assert {span.parent.span_id for span in attempts if span.parent} == {
        parent.get_span_context().span_id
    }
    assert all(span.context.trace_id == parent.get_span_context().trace_id for span in attempts)


async def test_no_span_holds_the_key_when_the_server_echoes_it(
    server: FakeLoopsServer, client_options: dict[str, Any], exporter: InMemorySpanExporter
) -> None:
    echo = {"X-Echo": KEY, "WWW-Authenticate": f"Bearer {KEY}"}
    body = json.dumps({"error": "bad key", "message": f"you sent Bearer {KEY}"})
    server.enqueue(
        Reply(status=503, body=body, headers=echo),
        Reply(status=404, body=body, headers=echo),  # call 1 ends here
        # Call 2, out of attempts: answers so malformed that aiohttp's errors quote them (the
        # instrumentation records those errors on the span), and a dropped connection.
        Reply(raw=b"HTTP/1.1 2" + KEY.encode() + b"\r\n\r\n"),
        Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: x" + KEY.encode() + b"\r\n\r\n"),
        Reply(drop=True),
        Reply(delay=1.0),  # call 3: times out, with a one-attempt policy
        # Throttled last: the client then paces itself, which would slow what follows.
        Reply(status=429, body=body, headers={**echo, "Retry-After": "0"}),
        sampler_id="abc",
    )
    async with client_of(server, client_options) as client:
        with pytest.raises(NotFoundError):
            await client.samplers.get("abc")
        with pytest.raises(APIConnectionError):
            await client.samplers.get("abc")
        hasty = client.with_options(attempt_timeout=0.05, retry=RetryPolicy(max_attempts=1))
        with pytest.raises(APITimeoutError):
            await hasty.samplers.get("abc")
        await client.samplers.get("abc")  # call 4: a 429, then the sampler
    async with client_of(server, client_options, auth_scheme="Api-Key") as client:
        server.enqueue(Reply(status=401, body=body, headers=echo), sampler_id="abc")
        with pytest.raises(AuthenticationError):
            await client.samplers.get("abc")
    found = spans(exporter)
    assert len(found) == 9
    # The malformed answers, the drop and the timeout: each an exception event on its span.
    assert sum(bool(span.events) for span in found) == 4
    # Attributes, events (exception messages and stack traces), status: all of it.
    assert KEY not in "".join(span.to_json() for span in found)


async def test_captured_request_headers_hold_the_key_unless_authorization_is_sanitized(
    server: FakeLoopsServer, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    capture_all = create_trace_config(
        tracer_provider=provider,
        captured_request_headers=[".*"],
        sensitive_headers=["authorization"],
    )
    async with client_of(server, {"trace_configs": [capture_all]}) as client:
        await client.samplers.get("abc")
    (span,) = spans(exporter)
    assert (span.attributes or {})["http.request.header.authorization"] == ("[REDACTED]",)
    assert KEY not in span.to_json()


def test_the_session_of_every_event_loop_is_traced(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    config = create_trace_config(tracer_provider=provider)
    with FakeLoopsServer(KEY).serve_in_thread() as server:
        server.add_sampler("abc")
        client = LoopsClient(KEY, base_url=server.base_url, trace_configs=[config])
        # Each asyncio.run is another loop, hence another aiohttp session of the client's.
        asyncio.run(client.samplers.get("abc"))
        first = client._http._pool.session
        asyncio.run(client.samplers.get("abc"))
        second = client._http._pool.session
    assert [span.name for span in exporter.get_finished_spans()] == ["GET", "GET"]
    # Each session has the key scrubber first, once, and the client's configs are untouched.
    assert first is not second and first is not None and second is not None
    assert len(first.trace_configs) == len(second.trace_configs) == 2
    assert first.trace_configs[1] is second.trace_configs[1] is config
    assert client._http._pool.trace_configs == [config]


async def test_a_session_without_trace_configs_is_left_as_it_is() -> None:
    # Nothing traces it, so nothing is added to its every request.
    async with aiohttp.ClientSession() as session:
        scrub_traced_errors(session, Secrets([KEY]))
        assert session.trace_configs == []


def test_the_key_is_blanked_in_the_error_its_attributes_and_its_chain() -> None:
    cause = aiohttp.http_exceptions.BadStatusLine(f"HTTP/1.1 2{KEY}")
    try:
        try:
            raise cause
        except aiohttp.http_exceptions.BadStatusLine as exc:
            url = yarl.URL("http://127.0.0.1/v1/loops/samplers/abc")
            request = aiohttp.RequestInfo(url, "GET", CIMultiDictProxy(CIMultiDict()), url)
            raise aiohttp.ClientResponseError(request, (), message=f"bad line {KEY}") from exc
    except aiohttp.ClientResponseError as exc:
        error = exc
    error.args = (f"quoted {KEY}", 3)
    _scrub(error, Secrets([KEY]))
    assert error.args == ("quoted ***", 3)
    assert error.message == "bad line ***"
    assert KEY not in str(cause)
    formatted = "".join(traceback.format_exception(error))
    assert "bad line ***" in formatted
    assert "HTTP/1.1 2***" in formatted
    assert KEY not in formatted
