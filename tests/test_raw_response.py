"""client.with_raw_response: every method, its answer's metadata, never a credential."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from multidict import CIMultiDict

from baseten_loops import (
    APIStatusError,
    InternalServerError,
    LoopsClient,
    LoopsError,
    NotFoundError,
    RawResponse,
    RetryPolicy,
    Run,
    Sampler,
)
from baseten_loops._resources import RawResource, Resource
from baseten_loops._response import ResponseRecord
from baseten_loops._sansio import safe_headers
from baseten_loops.testing import FakeLoopsServer, Reply

from .conftest import FAST_RETRY
from .test_client_options import calls, resource_methods

KEY = "sk-raw-response-key-5678"
ECHOES = {
    "X-Echo": f"Bearer {KEY}",  # the key as sent
    "X-Echo-Encoded": "Bearer%20" + "".join(f"%{ord(c):02x}" for c in KEY),
    "X-Echo-Cut": KEY[3:14],  # a run of 8+ of its characters
}
CREDENTIALS = {
    "Authorization": "Bearer someone",
    "proxy-authorization": "Basic x",
    "Set-Cookie": "session=1",
    "COOKIE": "a=b",
}


@pytest.fixture
async def server() -> AsyncIterator[FakeLoopsServer]:
    async with FakeLoopsServer(KEY) as fake:
        yield fake


@pytest.fixture
async def client(server: FakeLoopsServer) -> AsyncIterator[LoopsClient]:
    async with LoopsClient(KEY, base_url=server.base_url, retry=FAST_RETRY) as c:
        yield c


# -- the raw views mirror the groups -----------------------------------------------------


def raw_group(name: str) -> Any:
    return getattr(LoopsClient(KEY).with_raw_response, name)


@pytest.mark.parametrize(("name", "method"), resource_methods(), ids=lambda x: str(x))
def test_every_method_has_a_raw_twin_with_the_same_parameters(
    name: str, method: Callable[..., Any]
) -> None:
    group, method_name = name.split(".")
    twin = getattr(raw_group(group), method_name)
    assert inspect.signature(twin).parameters == inspect.signature(method).parameters
    assert twin.__doc__


def test_a_view_refuses_a_method_it_cannot_wrap() -> None:
    class Plain(Resource):
        def listing(self) -> None:
            """Not a coroutine function: its raw answer must be written by hand."""

    with pytest.raises(TypeError, match=r"Plain\.listing .* define what its raw answer is"):

        class PlainWithRawResponse(RawResource, plain=Plain):
            pass


def test_a_raw_response_built_by_hand() -> None:
    raw = RawResponse(["x"], status=201, headers={"X-Request-Id": "r1"}, url="https://h/p")
    assert (raw.parse(), raw.status, raw.request_id, raw.attempts) == (["x"], 201, "r1", 1)
    assert raw.headers["x-request-id"] == "r1"
    assert repr(raw) == "<RawResponse [201] GET https://h/p>"


def test_a_raw_twin_says_it_answers_a_raw_response() -> None:
    signature = inspect.signature(raw_group("samplers").get)
    assert signature.return_annotation == "RawResponse[Sampler]"
    assert raw_group("runs").list.__name__ == "list"


async def test_every_call_answers_a_raw_response_around_the_plain_result(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    paged = {"checkpoints.iter_files", "deployments.iter_debug_archive_files"}
    for name, call in calls(server).items():
        if name in paged or name.endswith("_many"):
            continue  # their raw answers differ: tested below
        plain = await call(client, {})
        before = len(server.recorded)
        raw = await call(client.with_raw_response, {})
        assert isinstance(raw, RawResponse), name
        assert type(raw.parse()) is type(plain), name
        sent = list(server.recorded)[before:]
        assert raw.status == 200
        assert raw.attempts == len(sent), name  # a wait's every lookup
        assert raw.method == sent[-1].method
        assert raw.url == server.base_url + sent[-1].path, name
        assert raw.headers["Content-Type"].startswith("application/json")


async def test_parse_gives_the_very_result(server: FakeLoopsServer, client: LoopsClient) -> None:
    server.add_sampler("abc")
    raw = await client.with_raw_response.samplers.get("abc")
    sampler = raw.parse()
    assert isinstance(sampler, Sampler)
    assert sampler == await client.samplers.get("abc")
    assert raw.parse() is sampler


# -- what an answer said ------------------------------------------------------------------


async def test_status_headers_and_request_id_of_the_answer(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    server.add_sampler("abc")
    server.enqueue(
        Reply(headers={"x-request-id": "req-42", "X-Custom": "1", **ECHOES, **CREDENTIALS}),
        sampler_id="abc",
    )
    raw = await client.with_raw_response.samplers.get("abc")
    assert (raw.status, raw.request_id, raw.attempts) == (200, "req-42", 1)
    assert raw.headers["x-custom"] == "1"  # names ignoring case
    for name in [*ECHOES, *CREDENTIALS]:
        assert name not in raw.headers
    assert KEY not in repr(raw) and KEY not in str(dict(raw.headers))
    with pytest.raises(TypeError):
        raw.headers["X-Custom"] = "2"  # type: ignore[index]  # read-only


async def test_attempts_and_elapsed_cover_the_whole_call(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    server.add_sampler("abc")
    server.enqueue(
        Reply(status=503, headers={"Retry-After": "0.2"}),
        Reply(status=500),
        sampler_id="abc",
    )
    async with patient_client(server) as patient:
        raw = await patient.with_raw_response.samplers.get("abc")
    assert raw.attempts == 3 == server.requests_by_id["abc"]
    assert raw.elapsed >= 0.2  # the Retry-After wait is part of the call (a sleep never ends early)


async def test_the_url_has_no_query_string(server: FakeLoopsServer, client: LoopsClient) -> None:
    server.add_run("r1", base_model="Q/8B")
    raw = await client.with_raw_response.runs.list(base_model="Q/8B", scope="org")
    assert raw.url == f"{server.base_url}/v1/loops/runs"
    assert [run.id for run in raw.parse()] == ["r1"]
    assert server.recorded[-1].query == {"base_model": "Q/8B", "scope": "org"}


async def test_a_raw_call_raises_what_the_plain_call_raises(client: LoopsClient) -> None:
    with pytest.raises(NotFoundError):
        await client.with_raw_response.samplers.get("no-such-sampler")
    with pytest.raises(NotFoundError):
        await client.with_raw_response.runs.get("no-such-run")


async def test_concurrent_raw_calls_keep_their_own_answers(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    server.add_sampler("slow")
    server.add_sampler("quick")
    server.enqueue(Reply(delay=0.2, headers={"x-request-id": "slow-1"}), sampler_id="slow")
    server.enqueue(
        Reply(status=502), Reply(headers={"x-request-id": "quick-2"}), sampler_id="quick"
    )
    slow, quick = await asyncio.gather(
        client.with_raw_response.samplers.get("slow"),
        client.with_raw_response.samplers.get("quick"),
    )
    assert (slow.request_id, slow.attempts, slow.parse().id) == ("slow-1", 1, "slow")
    assert (quick.request_id, quick.attempts, quick.parse().id) == ("quick-2", 2, "quick")


async def test_a_wait_answers_its_last_lookup_and_counts_only_its_own_requests(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    server.add_sampler("abc", status="BUILDING")
    server.script_statuses("abc", ["BUILDING", "BUILDING", "ACTIVE"])
    server.enqueue(Reply(status=502), sampler_id="abc")  # a lookup retried once
    seen: list[str] = []
    raw = await client.with_raw_response.samplers.wait_until_active(
        "abc", poll_interval=0.01, on_status=lambda sampler: seen.append(sampler.status.name)
    )
    assert raw.parse().status.is_ready
    assert seen == ["BUILDING", "ACTIVE"]
    assert raw.attempts == server.requests_by_id["abc"] == 4


async def test_plain_calls_made_during_a_raw_call_are_not_recorded(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    server.add_sampler("abc")
    server.add_run("r1")
    server.enqueue(Reply(delay=0.1), sampler_id="abc")
    raw_call = asyncio.ensure_future(client.with_raw_response.samplers.get("abc"))
    await asyncio.sleep(0.02)
    for _ in range(3):
        await client.runs.get("r1")
    raw = await raw_call
    assert raw.attempts == 1
    assert raw.url.endswith("/samplers/abc")


async def test_the_plain_path_never_records(
    server: FakeLoopsServer, client: LoopsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("a plain call recorded its answer")

    monkeypatch.setattr(ResponseRecord, "answered", refuse)
    ids = server.add_samplers(5)
    assert len(await client.samplers.get_many(ids)) == 5
    assert (await client.samplers.get(ids[0])).id == ids[0]
    assert [item async for item in client.samplers.iter_many(ids)]
    with pytest.raises(AssertionError, match="recorded"):
        await client.with_raw_response.samplers.get(ids[0])


# -- status errors carry the headers too --------------------------------------------------


async def test_a_status_error_has_the_answers_headers_without_credentials(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    server.enqueue(
        Reply(
            status=404, headers={"x-request-id": "r-9", "X-Custom": "a", **ECHOES, **CREDENTIALS}
        ),
        sampler_id="abc",
    )
    with pytest.raises(APIStatusError) as info:
        await client.samplers.get("abc")
    headers = info.value.headers
    assert headers["X-CUSTOM"] == "a"
    assert headers["x-request-id"] == info.value.request_id == "r-9"
    for name in [*ECHOES, *CREDENTIALS]:
        assert name not in headers
    with pytest.raises(TypeError):
        headers["X-Custom"] = "b"  # type: ignore[index]


def test_an_error_built_by_hand_has_empty_headers() -> None:
    error = InternalServerError("boom", status_code=500)
    assert dict(error.headers) == {}
    assert dict(APIStatusError("x", status_code=418, headers={"A": "1"}).headers) == {"A": "1"}


def test_safe_headers_keeps_repeats_and_drops_every_credential() -> None:
    headers: CIMultiDict[str] = CIMultiDict([("Link", "a"), ("link", "b"), ("X-Ok", "fine")])
    for name, value in {**ECHOES, **CREDENTIALS, KEY: "named after the key"}.items():
        headers.add(name, value)
    safe = safe_headers(headers, (KEY,))
    assert safe.getall("LINK") == ["a", "b"]
    assert list(safe.items()) == [("Link", "a"), ("link", "b"), ("X-Ok", "fine")]
    assert safe_headers(headers, ()).get("X-Echo") == f"Bearer {KEY}"  # no secret: kept


# -- bulk: one RawResponse per id ----------------------------------------------------------


@pytest.mark.parametrize("group", ["samplers", "runs", "sessions", "deployments"])
async def test_get_many_answers_one_raw_response_per_id(
    server: FakeLoopsServer, client: LoopsClient, group: str
) -> None:
    ids = [add_object(server, group) for _ in range(3)]
    server.enqueue(Reply(status=503), route=f"GET {server_path(group, ids[1])}")
    asked = [ids[0], ids[1], "missing", ids[0], ids[2]]
    raw = await getattr(client.with_raw_response, group).get_many(
        asked, return_exceptions=True, timeout=5
    )
    assert isinstance(raw[2], NotFoundError)
    assert raw[0] is raw[3]  # duplicates share one lookup
    found = [r for r in raw if isinstance(r, RawResponse)]
    assert [r.parse().id for r in found] == [ids[0], ids[1], ids[0], ids[2]]
    assert [r.attempts for r in found] == [1, 2, 1, 1]
    assert all(r.url == server.base_url + server_path(group, r.parse().id) for r in found)


async def test_iter_many_yields_a_raw_response_or_the_error(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    ids = [add_object(server, "runs") for _ in range(2)]
    pairs = dict(
        [pair async for pair in client.with_raw_response.runs.iter_many([*ids, "a/b", "gone"])]
    )
    assert set(pairs) == {*ids, "a/b", "gone"}
    assert isinstance(pairs["a/b"], LoopsError) and isinstance(pairs["gone"], NotFoundError)
    for run_id in ids:
        raw = pairs[run_id]
        assert isinstance(raw, RawResponse) and isinstance(raw.parse(), Run)
        assert raw.parse().id == run_id


async def test_a_throttled_bulk_lookup_keeps_its_record_across_the_deferral(
    server: FakeLoopsServer,
) -> None:
    ids = server.add_samplers(2)
    server.enqueue(
        Reply(status=429, headers={"Retry-After": "0.1"}),
        Reply(status=429, headers={"Retry-After": "0.1"}),
        sampler_id=ids[0],
    )
    async with patient_client(server) as client:
        raw = await client.with_raw_response.samplers.get_many(ids, concurrency=1)
    assert [r.attempts for r in raw] == [3, 1]
    assert raw[0].elapsed >= 0.2  # both waits, though its worker looked up the other meanwhile
    # Set aside while throttled: the second id was looked up before the first's retries.
    assert [r.path.rsplit("/", 1)[1] for r in server.recorded] == [ids[0], ids[1], ids[0], ids[0]]


async def test_raw_get_many_reports_progress(server: FakeLoopsServer, client: LoopsClient) -> None:
    ids = server.add_samplers(3)
    seen: list[tuple[int, int]] = []
    await client.with_raw_response.samplers.get_many(
        ids, on_progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]


# -- listings that page: the first page's answer -------------------------------------------


async def test_iter_files_answers_the_first_page_and_iterates_every_file(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    run = server.add_run("r1")
    checkpoint = server.add_checkpoint("ck1", run_id=run["id"], files=5)
    server.enqueue(
        Reply(headers={"x-request-id": "page-1"}), route="GET /v1/loops/checkpoints/ck1/files"
    )
    raw = await client.with_raw_response.checkpoints.iter_files(checkpoint["id"], page_size=2)
    assert server.requests == 1  # the first page, now
    assert (raw.status, raw.request_id, raw.attempts) == (200, "page-1", 1)
    assert raw.url == f"{server.base_url}/v1/loops/checkpoints/ck1/files"
    files = [file async for file in raw.parse()]
    plain = [file async for file in client.checkpoints.iter_files("ck1", page_size=2)]
    assert files == plain and len(files) == 5
    assert server.requests == 3 + 3  # 3 pages each: the first page was not asked for again
    assert raw.attempts == 1  # the later pages are not this answer's


async def test_a_raw_listing_raises_its_first_pages_error_at_once(client: LoopsClient) -> None:
    with pytest.raises(NotFoundError):
        await client.with_raw_response.deployments.iter_debug_archive_files("missing")


async def test_iter_debug_archive_files_answers_the_first_page(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    server.add_deployment("d1", debug_files=3)
    raw = await client.with_raw_response.deployments.iter_debug_archive_files("d1", page_size=2)
    assert raw.status == 200
    assert len([file async for file in raw.parse()]) == 3


# -- helpers -------------------------------------------------------------------------------


def patient_client(server: FakeLoopsServer) -> LoopsClient:
    """A client that honours a Retry-After of up to 1 s (FAST_RETRY caps it at 0.05 s)."""
    policy = RetryPolicy(initial_backoff=0.001, max_backoff=0.01, max_retry_after=1)
    return LoopsClient(KEY, base_url=server.base_url, retry=policy)


def add_object(server: FakeLoopsServer, group: str) -> str:
    if group == "samplers":
        return str(server.add_sampler()["id"])
    if group == "runs":
        return str(server.add_run()["id"])
    if group == "sessions":
        return str(server.add_session()["id"])
    return str(server.add_deployment()["id"])


def server_path(group: str, object_id: str) -> str:
    return f"/v1/loops/{group}/{object_id}"
