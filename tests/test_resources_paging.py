"""File listings page lazily, follow next_page_token until null, and never loop forever."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest

from baseten_loops import CheckpointFile, LoopsClient, ResponseValidationError, _paging
from baseten_loops._paging import MAX_EMPTY_PAGES, PageGuard
from baseten_loops.testing import FakeLoopsServer, Reply

from .conftest import FAST_RETRY
from .recording import Answer, RecordingServer
from .spec_payloads import payload

FILES = "/v1/loops/checkpoints/c1/files"
ARCHIVE = "/v1/loops/deployments/d1/debug_archive/files"


def file(name: str) -> dict[str, Any]:
    return {**payload("CheckpointFile"), "relative_file_name": name}


def checkpoint_page(names: list[str], token: int | None) -> Answer:
    return Answer(body={"presigned_urls": [file(n) for n in names], "total_count": 3,
                        "next_page_token": token})  # fmt: skip


def archive_page(names: list[str], token: str | None) -> Answer:
    return Answer(body={"presigned_urls": [file(n) for n in names], "next_page_token": token})


async def names_of(files: Any) -> list[str]:
    return [f.relative_file_name async for f in files]


async def test_offset_tokens_are_followed_until_null(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script("GET", FILES, checkpoint_page(["a", "b"], 2), checkpoint_page(["c"], None))
    files = [f async for f in rclient.checkpoints.iter_files("c1", page_size=2)]
    assert [f.relative_file_name for f in files] == ["a", "b", "c"]
    assert all(isinstance(f, CheckpointFile) for f in files)
    assert [r.query for r in recorder.received] == [
        {"page_size": "2"},
        {"page_size": "2", "page_token": "2"},
    ]


async def test_opaque_tokens_are_handed_back_as_they_came(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script(
        "GET",
        ARCHIVE,
        archive_page(["a"], "tok/1=="),
        archive_page([], "tok 2"),
        archive_page(["b"], None),
    )
    assert await names_of(rclient.deployments.iter_debug_archive_files("d1")) == ["a", "b"]
    assert [r.query for r in recorder.received] == [
        {},
        {"page_token": "tok/1=="},
        {"page_token": "tok 2"},
    ]


async def test_the_next_page_is_fetched_only_when_needed(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script("GET", FILES, checkpoint_page(["a", "b"], 2), checkpoint_page(["c"], None))
    files = rclient.checkpoints.iter_files("c1")
    assert (await anext(files)).relative_file_name == "a"
    assert (await anext(files)).relative_file_name == "b"
    assert len(recorder.received) == 1
    assert (await anext(files)).relative_file_name == "c"
    assert len(recorder.received) == 2
    with pytest.raises(StopAsyncIteration):
        await anext(files)


@pytest.mark.parametrize(
    ("pages", "repeated"),
    [
        ([checkpoint_page(["a"], 1), checkpoint_page(["b"], 1)], 1),
        ([checkpoint_page(["a"], 1), checkpoint_page(["b"], 2), checkpoint_page(["c"], 1)], 1),
        ([checkpoint_page(["a"], 0)], 0),  # 0 is where the first page starts
    ],
)
async def test_a_repeated_offset_token_stops_the_listing(
    pages: list[Answer], repeated: int, recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script("GET", FILES, *pages)
    seen: list[str] = []

    async def read_all() -> None:
        async for f in rclient.checkpoints.iter_files("c1"):
            seen.append(f.relative_file_name)

    with pytest.raises(ResponseValidationError, match="already followed") as info:
        await read_all()
    assert info.value.errors == (f"next_page_token: {repeated!r} repeats an earlier token",)
    assert len(seen) == len(pages)  # every page read was handed over before stopping
    assert len(recorder.received) == len(pages)


async def test_a_cycle_of_opaque_tokens_stops_the_listing(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script(
        "GET", ARCHIVE, archive_page(["a"], "A"), archive_page(["b"], "B"), archive_page([], "A")
    )
    with pytest.raises(ResponseValidationError, match="'A' was already followed"):
        await names_of(rclient.deployments.iter_debug_archive_files("d1"))
    assert len(recorder.received) == 3


async def test_a_token_of_the_wrong_kind_is_a_validation_error(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script("GET", FILES, Answer(body={"presigned_urls": [], "total_count": 0,
                                               "next_page_token": "2"}))  # fmt: skip
    with pytest.raises(ResponseValidationError, match="next_page_token"):
        await names_of(rclient.checkpoints.iter_files("c1"))


# -- listings that cannot run away (issue 15, item 8) ------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeLoopsServer]:
    async with FakeLoopsServer() as server:
        yield server


def fake_client(server: FakeLoopsServer) -> LoopsClient:
    return LoopsClient(server.api_key, base_url=server.base_url, retry=FAST_RETRY)


def empty_archive_pages(count: int) -> list[Reply]:
    return [Reply(body={"presigned_urls": [], "next_page_token": f"t{n}"}) for n in range(count)]


def empty_file_pages(count: int) -> list[Reply]:
    page = {"presigned_urls": [], "total_count": 0}
    return [Reply(body={**page, "next_page_token": 1000 + n}) for n in range(count)]


@pytest.mark.parametrize(
    ("route", "listing", "pages"),
    [
        (ARCHIVE, lambda c: c.deployments.iter_debug_archive_files("d1"), empty_archive_pages),
        (FILES, lambda c: c.checkpoints.iter_files("c1"), empty_file_pages),
    ],
)
async def test_empty_pages_with_fresh_tokens_stop_after_a_bounded_run(
    fake: FakeLoopsServer, route: str, listing: Any, pages: Any
) -> None:
    # Such a server once had the client follow 18,000 pages in 8 s, yielding nothing.
    fake.enqueue(*pages(1000), route=f"GET {route}")
    async with fake_client(fake) as client:
        with pytest.raises(ResponseValidationError, match="makes no progress") as info:
            await names_of(listing(client))
    assert fake.requests == MAX_EMPTY_PAGES
    assert info.value.errors == (str(info.value).partition(" response: ")[2],)
    assert f"follows {MAX_EMPTY_PAGES} empty pages in a row" in str(info.value)


async def test_a_page_with_items_resets_the_run_of_empty_pages(fake: FakeLoopsServer) -> None:
    one_file = Reply(body={"presigned_urls": [file("x")], "next_page_token": "full"})
    last = Reply(body={"presigned_urls": [file("y")], "next_page_token": None})
    almost = MAX_EMPTY_PAGES - 1
    pages = [*empty_archive_pages(almost), one_file]
    pages += [Reply(body={"presigned_urls": [], "next_page_token": f"u{n}"}) for n in range(almost)]
    fake.enqueue(*pages, last, route=f"GET {ARCHIVE}")
    async with fake_client(fake) as client:
        assert await names_of(client.deployments.iter_debug_archive_files("d1")) == ["x", "y"]
    assert fake.requests == 2 * almost + 2


@pytest.mark.parametrize(
    ("route", "listing", "page", "complaint"),
    [
        (
            FILES,
            lambda c: c.checkpoints.iter_files("c1"),
            {"presigned_urls": [], "total_count": 0, "next_page_token": -1},
            "next_page_token: -1 is not an offset (the spec's offsets are integers >= 0)",
        ),
        (
            ARCHIVE,
            lambda c: c.deployments.iter_debug_archive_files("d1"),
            {"presigned_urls": [], "next_page_token": ""},
            "next_page_token: '' is empty (a null token is what ends a listing)",
        ),
    ],
)
async def test_tokens_outside_the_spec_are_refused_not_sent_back(
    fake: FakeLoopsServer, route: str, listing: Any, page: dict[str, Any], complaint: str
) -> None:
    fake.enqueue(Reply(body=page), route=f"GET {route}")
    async with fake_client(fake) as client:
        with pytest.raises(ResponseValidationError) as info:
            await names_of(listing(client))
    assert info.value.errors == (complaint,)
    assert fake.requests == 1


def follow(guard: PageGuard, tokens: Iterable[str]) -> int:
    """Hand ``guard`` one non-empty page per token; return how many it took before stopping."""
    for taken, token in enumerate(tokens):
        try:
            guard.next_page(token, 1)
        except ResponseValidationError:
            return taken
    raise AssertionError("the guard never stopped the listing")


def test_the_guard_remembers_a_bounded_number_of_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_paging, "REMEMBERED_TOKENS", 16)
    guard = PageGuard("files", "opaque", ())
    for n in range(1000):
        guard.next_page(f"fresh{n}", 1)
    assert len(guard._recent) == 16  # the memory of a long listing stays bounded


def test_a_short_cycle_is_caught_at_its_first_repeat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_paging, "REMEMBERED_TOKENS", 16)
    cycle = [f"t{n}" for n in range(16)]
    assert follow(PageGuard("files", "opaque", ()), itertools.cycle(cycle)) == len(cycle)


@pytest.mark.parametrize("length", [17, 40, 333])
def test_a_cycle_longer_than_the_memory_is_caught_within_a_few_laps(
    monkeypatch: pytest.MonkeyPatch, length: int
) -> None:
    monkeypatch.setattr(_paging, "REMEMBERED_TOKENS", 16)
    lead_in = [f"lead{n}" for n in range(50)]
    cycle = [f"t{n}" for n in range(length)]
    taken = follow(
        PageGuard("files", "opaque", ()), itertools.chain(lead_in, itertools.cycle(cycle))
    )
    assert taken <= len(lead_in) + 3 * length
