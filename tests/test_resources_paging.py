"""File listings page lazily, follow next_page_token until null, and never loop forever."""

from __future__ import annotations

from typing import Any

import pytest

from baseten_loops import CheckpointFile, LoopsClient, ResponseValidationError

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
