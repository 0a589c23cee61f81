"""get_many / iter_many of runs, sessions and deployments, and the progress hook of get_many.

Also the one definition of both that every group shares (``LookupsById``).
"""

from __future__ import annotations

import inspect
import json
import threading
import typing
from typing import Any

import aiohttp
import pytest

from baseten_loops import (
    AuthenticationError,
    Deployment,
    InvalidIdError,
    LoopsClient,
    NotFoundError,
    ResponseValidationError,
    RetryPolicy,
    Run,
    Sampler,
    Session,
)
from baseten_loops._resources._base import LookupsById, RawLookups
from baseten_loops.testing import FakeLoopsServer, Reply

GROUPS = {"runs": Run, "sessions": Session, "deployments": Deployment}


def add(server: FakeLoopsServer, group: str, count: int) -> list[str]:
    adders = {
        "runs": server.add_run,
        "sessions": server.add_session,
        "deployments": server.add_deployment,
    }
    return [str(adders[group]()["id"]) for _ in range(count)]


def path(group: str, object_id: str) -> str:
    return f"/v1/loops/{group}/{object_id}"


@pytest.fixture(params=list(GROUPS))
def group(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_get_many_is_in_input_order_with_duplicates_sharing_one_request(
    server: FakeLoopsServer, client: LoopsClient, group: str
) -> None:
    ids = add(server, group, 6)
    asked = [*ids[::-1], ids[0], ids[3]]
    found = await getattr(client, group).get_many(asked, concurrency=3)
    assert [item.id for item in found] == asked
    assert all(isinstance(item, GROUPS[group]) for item in found)
    assert found[-2] is found[5]  # the duplicate of ids[0] is the same object
    assert sorted(server.requests_by_id[i] for i in ids) == [1] * 6
    assert server.peak_in_flight <= 3


async def test_get_many_fails_only_its_own_slots_with_return_exceptions(
    server: FakeLoopsServer, client: LoopsClient, group: str
) -> None:
    (known,) = add(server, group, 1)
    results = await getattr(client, group).get_many(
        [known, "missing", "a/b", 7], return_exceptions=True
    )
    assert isinstance(results[0], GROUPS[group])
    assert isinstance(results[1], NotFoundError)
    assert isinstance(results[2], InvalidIdError) and isinstance(results[3], InvalidIdError)
    assert server.requests == 2  # invalid ids never reach the server


async def test_get_many_raises_the_first_failure_and_refuses_bad_ids_before_any_request(
    server: FakeLoopsServer, client: LoopsClient, group: str
) -> None:
    (known,) = add(server, group, 1)
    with pytest.raises(InvalidIdError):
        await getattr(client, group).get_many([known, ".."])
    assert server.requests == 0
    with pytest.raises(NotFoundError):
        await getattr(client, group).get_many([known, "missing"])


async def test_iter_many_yields_each_id_once_and_failures_as_results(
    server: FakeLoopsServer, client: LoopsClient, group: str
) -> None:
    ids = add(server, group, 5)

    def lazily() -> Any:
        yield from [*ids, "missing", ids[0]]

    pairs = [pair async for pair in getattr(client, group).iter_many(lazily(), concurrency=2)]
    assert sorted(object_id for object_id, _ in pairs) == sorted([*ids, "missing", ids[0]])
    results = dict(pairs)
    assert isinstance(results["missing"], NotFoundError)
    assert all(isinstance(results[i], GROUPS[group]) for i in ids)
    assert server.requests_by_id[ids[0]] == 2  # iter_many looks duplicates up again
    assert server.peak_in_flight <= 2


@pytest.mark.parametrize("bulk_call", ["get_many", "iter_many"])
async def test_a_refused_key_ends_the_batch(
    server: FakeLoopsServer, group: str, bulk_call: str
) -> None:
    ids = add(server, group, 100)
    async with LoopsClient("wrong-key", base_url=server.base_url) as client:
        resource = getattr(client, group)
        if bulk_call == "get_many":
            results = await resource.get_many(ids, concurrency=4, return_exceptions=True)
        else:
            results = [result async for _, result in resource.iter_many(ids, concurrency=4)]
    assert len(results) == 100
    assert all(isinstance(result, AuthenticationError) for result in results)
    assert server.requests <= 4


async def test_a_throttled_id_is_set_aside_while_the_others_go_on(
    server: FakeLoopsServer, group: str
) -> None:
    first, second = add(server, group, 2)
    server.enqueue(
        Reply(status=429, headers={"Retry-After": "0.2"}), route=f"GET {path(group, first)}"
    )
    policy = RetryPolicy(initial_backoff=0.001, max_retry_after=1)
    async with LoopsClient(server.api_key, base_url=server.base_url, retry=policy) as client:
        found = await getattr(client, group).get_many([first, second], concurrency=1)
    assert [item.id for item in found] == [first, second]
    # One worker: the second id went out while the first waited out its Retry-After.
    assert [request.path for request in server.recorded] == [
        path(group, first),
        path(group, second),
        path(group, first),
    ]


async def test_get_refuses_an_answer_about_another_object(
    server: FakeLoopsServer, client: LoopsClient, group: str
) -> None:
    asked, other = add(server, group, 2)
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            server.base_url + path(group, other),
            headers={"Authorization": f"Bearer {server.api_key}"},
        ) as response,
    ):
        about_other = json.loads(await response.read())
    server.enqueue(Reply(body=about_other), route=f"GET {path(group, asked)}")
    with pytest.raises(ResponseValidationError, match=f"asked for '{asked}'"):
        await getattr(client, group).get(asked)


async def test_get_takes_a_timeout_and_validates_the_id_first(
    server: FakeLoopsServer, client: LoopsClient, group: str
) -> None:
    (known,) = add(server, group, 1)
    assert (await getattr(client, group).get(known, timeout=5)).id == known
    with pytest.raises(InvalidIdError):
        await getattr(client, group).get("a/b")
    assert server.requests == 1


# -- on_progress ---------------------------------------------------------------------------


async def test_on_progress_counts_input_ids_from_the_loop_thread(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    ids = add(server, "runs", 3)
    seen: list[tuple[int, int]] = []
    threads: set[str] = set()

    def on_progress(done: int, total: int) -> None:
        seen.append((done, total))
        threads.add(threading.current_thread().name)

    results = await client.runs.get_many(
        [ids[0], "a/b", ids[1], ids[0], ids[2]],
        concurrency=1,
        return_exceptions=True,
        on_progress=on_progress,
    )
    assert len(results) == 5
    # Once at the start (the invalid id is done already), then per lookup: a duplicated id
    # fills both its slots at once.
    assert seen == [(1, 5), (3, 5), (4, 5), (5, 5)]
    assert threads == {threading.current_thread().name}


async def test_on_progress_of_nothing_is_called_once(client: LoopsClient) -> None:
    seen: list[tuple[int, int]] = []
    assert await client.sessions.get_many([], on_progress=lambda *a: seen.append(a)) == []
    assert seen == [(0, 0)]


async def test_an_exception_in_on_progress_ends_the_call(
    server: FakeLoopsServer, client: LoopsClient
) -> None:
    ids = add(server, "deployments", 10)

    def broken(done: int, _: int) -> None:
        if done == 2:
            raise RuntimeError("the bar broke")

    with pytest.raises(RuntimeError, match="the bar broke"):
        await client.deployments.get_many(
            ids, concurrency=1, return_exceptions=True, on_progress=broken
        )
    assert server.requests == 2  # the call stopped there


# -- one definition (LookupsById), each group's model in its signature --------------------------


@pytest.mark.parametrize("name", ["samplers", *GROUPS])
def test_each_groups_bulk_lookups_are_written_once_and_typed_with_its_model(name: str) -> None:
    # One definition for every group and raw view (LookupsById), its T the group's model as a
    # type checker reads it (tests/sync_typing.py checks what mypy infers).
    client = LoopsClient("test-key")
    model: Any = {"samplers": Sampler, **GROUPS}[name]
    for resource, generic in [
        (getattr(client, name), LookupsById),
        (getattr(client.with_raw_response, name), RawLookups),  # LookupsById[RawResponse[T]]
    ]:
        base = type(resource).__orig_bases__[0]  # type: ignore[attr-defined]
        assert (typing.get_origin(base), typing.get_args(base)) == (generic, (model,))
        for method in ("get_many", "iter_many"):
            assert getattr(type(resource), method) is getattr(LookupsById, method)
        assert list(inspect.signature(resource.get_many).parameters) == [
            "ids",
            "concurrency",
            "return_exceptions",
            "timeout",
            "extra_headers",
            "on_progress",
        ]
        assert inspect.isasyncgenfunction(resource.iter_many)


def test_a_group_with_lookups_by_id_must_name_its_route() -> None:
    with pytest.raises(TypeError, match=r"Nameless looks its objects up by id: .*_lookup_route"):

        class Nameless(LookupsById[Run]):
            """A group that forgot its lookup route."""
