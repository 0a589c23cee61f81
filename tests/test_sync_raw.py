"""SyncLoopsClient.with_raw_response: the blocking twin of client.with_raw_response."""

from __future__ import annotations

import gc
import inspect
import re
import threading
import typing
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import baseten_loops
from baseten_loops import (
    CheckpointFile,
    ClientClosedError,
    LoopsClient,
    LoopsError,
    NotFoundError,
    RawResponse,
    Sampler,
    SyncIterator,
    SyncLoopsClient,
    SyncLoopsClientWithRawResponse,
    SyncResource,
)
from baseten_loops._sync import PacedIds
from baseten_loops.testing import FakeLoopsServer, Reply

from .conftest import FAST_RETRY
from .test_client_options import seed_one_of_each
from .test_raw_response import CREDENTIALS, ECHOES, KEY
from .test_sync import (
    SYNC_THREAD_NAME,
    _arguments_for,
    _call_to_the_first_step,
    _client_of,
    _loop_threads,
    sync_client,
    threaded_server,
    typed_calls,
)

__all__ = ["sync_client", "threaded_server"]  # the fixtures, used by name


def _raw_groups() -> dict[str, type[SyncResource[Any]]]:
    """``name -> twin class`` of every group of ``SyncLoopsClient.with_raw_response``."""
    groups = {}
    for name, member in vars(SyncLoopsClientWithRawResponse).items():
        if isinstance(member, property):
            returns = inspect.signature(member.fget).return_annotation  # type: ignore[arg-type]
            groups[name] = getattr(baseten_loops, returns)
    return groups


def _public_methods(view: object) -> dict[str, Callable[..., Any]]:
    """The public methods of a view, its bases' and those made at run time included."""
    return {
        name: getattr(view, name)
        for name in dir(view)
        if not name.startswith("_") and inspect.ismethod(getattr(view, name))
    }


def _expected_return(async_method: Any, view: object) -> str:
    """What the blocking twin of a raw view's ``async_method`` says it returns."""
    returns = str(inspect.signature(async_method).return_annotation)
    # RawLookups[Sampler] is a LookupsById[RawResponse[Sampler]]: in the bulk lookups it
    # inherits, T is the view's model in a RawResponse.
    for base in getattr(type(view), "__orig_bases__", ()):
        for argument in typing.get_args(base):
            model = argument.__name__
            if async_method.__qualname__.startswith("LookupsById."):
                model = f"RawResponse[{model}]"
            returns = re.sub(r"\bT\b", model, returns)
    returns = re.sub(r"AsyncIterator\[(.*)\]", r"SyncIterator[\1]", returns)
    return re.sub(r"^AsyncGenerator\[(.*), None\]$", r"SyncIterator[\1]", returns)


def _kind(twin: Callable[..., Any]) -> str:
    """``listing`` (a raw listing), ``iterator`` (iter_many) or ``call``, by the return type."""
    returns = str(inspect.signature(twin).return_annotation)
    if returns.startswith("RawResponse[SyncIterator["):
        return "listing"
    return "iterator" if returns.startswith("SyncIterator[") else "call"


# -- generated from the async raw views ---------------------------------------------------------


def test_the_raw_view_has_every_async_group() -> None:
    async_view = LoopsClient("test-key").with_raw_response
    assert set(_raw_groups()) == set(vars(async_view))
    for name, twin in _raw_groups().items():
        assert twin.__name__ == f"Sync{type(getattr(async_view, name)).__name__}"
        assert twin.__name__ in baseten_loops.__all__
    assert "SyncLoopsClientWithRawResponse" in baseten_loops.__all__


def test_every_raw_twin_has_its_async_methods_signature_and_docstring() -> None:
    checked = []
    with SyncLoopsClient("test-key") as client:
        for group in _raw_groups():
            view = getattr(client.with_raw_response, group)
            methods = _public_methods(view._resource)
            twins = _public_methods(view)
            assert set(twins) == set(methods), group
            for name, method in methods.items():
                twin = inspect.signature(twins[name])
                assert twin.parameters == inspect.signature(method).parameters, f"{group}.{name}"
                assert twin.return_annotation == _expected_return(method, view._resource), name
                assert twins[name].__doc__ == method.__doc__
                checked.append(f"{group}.{name}")
    assert {
        "samplers.get",
        "samplers.get_many",
        "runs.iter_many",
        "checkpoints.iter_files",
        "deployments.iter_debug_archive_files",
        "user_config.update",
    } <= set(checked)
    assert len(checked) == len(_every_call(FakeLoopsServer()))


def test_the_typing_file_has_a_line_for_every_raw_method() -> None:
    with SyncLoopsClient("test-key") as client:
        expected = {
            f"with_raw_response.{group}.{name}"
            for group in _raw_groups()
            for name in _public_methods(getattr(client.with_raw_response, group))
        }
    assert len(expected) == len(_every_call(FakeLoopsServer()))
    assert expected <= typed_calls(), sorted(expected - typed_calls())


@pytest.mark.parametrize("group", sorted(_raw_groups()))
def test_every_raw_twin_runs_its_async_method_on_the_loop_with_every_argument(
    monkeypatch: pytest.MonkeyPatch, group: str
) -> None:
    async def answer(*args: Any, **kwargs: Any) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        return threading.current_thread().name, args, kwargs

    async def coroutine_double(self: object, *args: Any, **kwargs: Any) -> RawResponse[Any]:
        return RawResponse(await answer(*args, **kwargs), status=200)

    async def listing_double(self: object, *args: Any, **kwargs: Any) -> RawResponse[Any]:
        async def items() -> AsyncIterator[Any]:
            yield threading.current_thread().name
            yield args, kwargs

        return RawResponse(items(), status=200)

    async def iterator_double(self: object, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        yield threading.current_thread().name
        # Bulk ids come paced by the iterator: read them (this step is a next()).
        received = []
        for value in args:
            received.append([i async for i in value] if isinstance(value, PacedIds) else value)
        yield tuple(received), kwargs

    with SyncLoopsClient("test-key") as client:
        view = getattr(client.with_raw_response, group)
        for name, twin in _public_methods(view).items():
            double = {"call": coroutine_double, "listing": listing_double}.get(
                _kind(twin), iterator_double
            )
            monkeypatch.setattr(type(view._resource), name, double)
            args, kwargs = _arguments_for(twin)
            result = twin(*args, **kwargs)
            if _kind(twin) == "call":
                assert result.parse() == (SYNC_THREAD_NAME, tuple(args), kwargs), name
            else:
                items = result if _kind(twin) == "iterator" else result.parse()
                assert isinstance(items, SyncIterator), name
                assert list(items) == [SYNC_THREAD_NAME, (tuple(args), kwargs)], name


# -- real calls ---------------------------------------------------------------------------------


def _every_call(server: FakeLoopsServer) -> dict[str, tuple[list[Any], dict[str, Any]]]:
    """``group.method -> (args, kwargs)``: a real call of every raw method, seeded on ``server``."""
    run, inactive, session, deployment, checkpoint = seed_one_of_each(server)
    fields = {"session_id": session["id"], "base_model": run["base_model"]}
    return {
        "samplers.get": (["smp"], {}),
        "samplers.list": ([], {}),
        "samplers.create": ([], fields),
        "samplers.get_many": ([["smp", "smp"]], {}),
        "samplers.iter_many": ([["smp"]], {}),
        "samplers.wait_until_active": (["smp"], {}),
        "samplers.deactivate": (["smp"], {}),
        "runs.get": ([run["id"]], {}),
        "runs.list": ([], {}),
        "runs.create": ([], fields),
        "runs.get_many": ([[run["id"], inactive["id"]]], {}),
        "runs.iter_many": ([[run["id"]]], {}),
        "runs.deactivate": ([run["id"]], {}),
        "runs.wait_until_inactive": ([inactive["id"]], {}),
        "trainers.create": ([], fields),
        "sessions.create": ([], {}),
        "sessions.get": ([session["id"]], {}),
        "sessions.get_many": ([[session["id"]]], {}),
        "sessions.iter_many": ([[session["id"]]], {}),
        "checkpoints.list": ([], {"run_id": run["id"]}),
        "checkpoints.validate": ([server.checkpoint_uri(checkpoint["id"])], {}),
        "checkpoints.deploy": (
            [],
            {
                "checkpoint_ids": [checkpoint["id"]],
                "model_name": "m",
                "instance_type_id": "H100:1x8",
                "hf_secret_name": "hf",
            },
        ),
        "checkpoints.iter_files": ([checkpoint["id"]], {"page_size": 2}),
        "checkpoints.source": ([checkpoint["id"]], {}),
        "deployments.get": ([deployment["id"]], {}),
        "deployments.list": ([], {}),
        "deployments.get_many": ([[deployment["id"]]], {}),
        "deployments.iter_many": ([[deployment["id"]]], {}),
        "deployments.iter_debug_archive_files": ([deployment["id"]], {"page_size": 2}),
        "deployments.metrics": (  # a fixed window: the server's default ends now
            [deployment["id"]],
            {"start_epoch_millis": 1_700_000_000_000, "end_epoch_millis": 1_700_003_600_000},
        ),
        "deployments.logs": ([deployment["id"]], {}),
        "deployments.wait_until_running": ([deployment["id"]], {}),
        "deployments.deactivate": ([deployment["id"]], {}),  # after the wait
        "capabilities.list": ([], {}),
        "user_config.get": ([], {}),
        "user_config.update": ([], {"trainer_accelerator_priority": ["H100"]}),
    }


def _sent(server: FakeLoopsServer, start: int, end: int) -> list[tuple[str, str, bytes]]:
    """The requests ``start`` to ``end`` the server received, in a comparable order."""
    return sorted((r.method, r.raw_path, r.body) for r in list(server.recorded)[start:end])


def test_every_raw_call_sends_the_plain_call_and_answers_its_result(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    every = _every_call(threaded_server)
    assert set(every) == {
        f"{group}.{name}"
        for group in _raw_groups()
        for name in _public_methods(getattr(sync_client.with_raw_response, group))
    }
    for name, (args, kwargs) in every.items():
        group, method = name.split(".")
        twin = getattr(getattr(sync_client.with_raw_response, group), method)
        start = len(threaded_server.recorded)
        plain = getattr(getattr(sync_client, group), method)(*args, **kwargs)
        if isinstance(plain, SyncIterator):
            plain = list(plain)
        middle = len(threaded_server.recorded)
        raw = twin(*args, **kwargs)
        if _kind(twin) == "iterator":
            parsed: Any = [(key, found.parse()) for key, found in raw]
        elif name.endswith("get_many"):
            parsed = [found.parse() for found in raw]
        else:
            assert isinstance(raw, RawResponse), name
            answered = list(threaded_server.recorded)[middle:]
            assert raw.status == 200, name
            assert raw.attempts == len(answered), name
            assert raw.url == threaded_server.base_url + answered[-1].path, name
            parsed = raw.parse()
            if _kind(twin) == "listing":
                parsed = list(parsed)
        end = len(threaded_server.recorded)
        assert _sent(threaded_server, middle, end) == _sent(threaded_server, start, middle), name
        if name.endswith(("create", "deploy")):
            assert type(parsed) is type(plain), name  # a new object (id, URLs) each time
        else:
            assert parsed == plain, name


def test_a_raw_call_raises_what_the_plain_call_raises(sync_client: SyncLoopsClient) -> None:
    with pytest.raises(NotFoundError):
        sync_client.with_raw_response.samplers.get("missing")
    with pytest.raises(NotFoundError):
        sync_client.with_raw_response.checkpoints.iter_files("missing")
    found = sync_client.with_raw_response.runs.get_many(["missing"], return_exceptions=True)
    assert isinstance(found[0], NotFoundError)


def test_the_headers_never_hold_the_key() -> None:
    with FakeLoopsServer(KEY).serve_in_thread() as server:
        server.add_sampler("abc")
        echoing = Reply(headers={"x-request-id": "req-7", "X-Custom": "1", **ECHOES, **CREDENTIALS})
        server.enqueue(echoing, echoing, sampler_id="abc")
        with SyncLoopsClient(KEY, base_url=server.base_url, retry=FAST_RETRY) as client:
            one = client.with_raw_response.samplers.get("abc")
            (many,) = client.with_raw_response.samplers.get_many(["abc"])
    for raw in (one, many):
        assert (raw.request_id, raw.headers["x-custom"]) == ("req-7", "1")
        for name in [*ECHOES, *CREDENTIALS]:
            assert name not in raw.headers
        assert KEY not in repr(raw) and KEY not in str(list(raw.headers.items()))


def test_a_raw_listing_fetches_its_first_page_now_and_the_next_ones_as_you_iterate(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    run = threaded_server.add_run("r1")
    threaded_server.add_checkpoint("ck1", run_id=run["id"], files=5)
    threaded_server.enqueue(
        Reply(headers={"x-request-id": "page-1"}), route="GET /v1/loops/checkpoints/ck1/files"
    )
    raw = sync_client.with_raw_response.checkpoints.iter_files("ck1", page_size=2)
    assert threaded_server.requests == 1  # the first page, now
    assert (raw.status, raw.request_id, raw.attempts) == (200, "page-1", 1)
    files = raw.parse()
    assert isinstance(files, SyncIterator)
    assert raw.parse() is files
    first_two = [next(files), next(files)]
    assert threaded_server.requests == 1  # the first page's files: not asked for again
    assert all(isinstance(file, CheckpointFile) for file in first_two)
    rest = list(files)
    assert threaded_server.requests == 3  # the two next pages, as they were read
    assert [*first_two, *rest] == list(sync_client.checkpoints.iter_files("ck1", page_size=2))


def test_raw_bulk_calls_answer_one_raw_response_per_id(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    ids = threaded_server.add_samplers(2)
    threaded_server.enqueue(Reply(status=503), sampler_id=ids[1])
    asked = [ids[0], ids[1], "missing", ids[0]]
    found = sync_client.with_raw_response.samplers.get_many(asked, return_exceptions=True)
    assert isinstance(found[2], NotFoundError)
    assert found[0] is found[3]  # duplicates share one lookup
    assert [r.attempts for r in found if isinstance(r, RawResponse)] == [1, 2, 1]
    pairs = dict(sync_client.with_raw_response.samplers.iter_many([*ids, "a/b"]))
    assert isinstance(pairs.pop("a/b"), LoopsError)
    for sampler_id, raw in pairs.items():
        assert isinstance(raw, RawResponse)
        assert isinstance(raw.parse(), Sampler) and raw.parse().id == sampler_id
        assert raw.url.endswith(f"/samplers/{sampler_id}")


# -- closing and lifetimes ----------------------------------------------------------------------


def test_a_closed_client_refuses_every_raw_method(threaded_server: FakeLoopsServer) -> None:
    threaded_server.add_sampler("abc123")
    client = _client_of(threaded_server)
    copy = client.with_options(timeout=5)
    assert client.with_raw_response.samplers.get("abc123").parse().id == "abc123"
    raw_view = client.with_raw_response  # taken before the close
    client.close()
    refused = []
    for group in _raw_groups():
        for name, twin in _public_methods(getattr(raw_view, group)).items():
            args, kwargs = _arguments_for(twin)
            with pytest.raises(ClientClosedError, match="closed"):
                _call_to_the_first_step(twin, args, kwargs)
            refused.append(f"{group}.{name}")
    assert len(refused) == len(_every_call(FakeLoopsServer()))
    with pytest.raises(ClientClosedError):
        copy.with_raw_response.samplers.get("abc123")


def test_a_closed_copy_refuses_raw_calls_and_its_client_goes_on(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    threaded_server.add_sampler("abc123")
    copy = sync_client.with_options(timeout=5)
    copy.close()
    with pytest.raises(ClientClosedError, match="made by with_options"):
        copy.with_raw_response.samplers.get("abc123")
    assert sync_client.with_raw_response.samplers.get("abc123").status == 200


@pytest.mark.parametrize(
    "temporary",
    ["raw view", "raw group", "bound raw method", "raw iter_many", "raw listing's parse()"],
)
def test_a_temporary_client_lives_as_long_as_what_was_taken_from_its_raw_view(
    threaded_server: FakeLoopsServer, temporary: str
) -> None:
    threaded_server.add_sampler("abc123")
    run = threaded_server.add_run("r1")
    threaded_server.add_checkpoint("ck1", run_id=run["id"], files=3)
    before = _loop_threads()
    # No call below is inside an `assert`: pytest keeps an assert's intermediate values
    # alive (for its message), which would keep the temporary client alive too.
    found: object
    if temporary == "raw view":
        raw_view = _client_of(threaded_server).with_raw_response
        gc.collect()
        found = raw_view.samplers.get("abc123").parse().id
        del raw_view
    elif temporary == "raw group":
        samplers = _client_of(threaded_server).with_raw_response.samplers
        gc.collect()
        found = samplers.get("abc123").parse().id
        del samplers
    elif temporary == "bound raw method":
        get = _client_of(threaded_server).with_raw_response.samplers.get
        gc.collect()
        found = get("abc123").parse().id
        del get
    elif temporary == "raw iter_many":
        results = _client_of(threaded_server).with_raw_response.samplers.iter_many(["abc123"])
        gc.collect()
        found = next(results)[0]
        del results
    else:
        files = _client_of(threaded_server).with_raw_response.checkpoints.iter_files(
            "ck1", page_size=1
        )
        gc.collect()
        found = len(list(files.parse()))
        del files
    assert found in ("abc123", 3)
    gc.collect()
    assert _loop_threads() == before  # closed once nothing held it: no thread left behind


def test_the_raw_views_are_typed_and_show_what_they_wrap(sync_client: SyncLoopsClient) -> None:
    raw_view = sync_client.with_raw_response
    assert isinstance(raw_view, SyncLoopsClientWithRawResponse)
    assert repr(raw_view) == "<sync view of LoopsClientWithRawResponse>"
    assert repr(raw_view.samplers) == "<sync view of SamplersResourceWithRawResponse>"
    assert isinstance(raw_view.samplers, SyncResource)
    assert "get_many" in dir(raw_view.samplers)


def test_an_answer_around_another_value_keeps_everything_else() -> None:
    raw = RawResponse(
        [1], status=201, headers={"X-Request-Id": "r1"}, elapsed=0.5, attempts=2, method="POST"
    )
    twin = raw._replace_value("other")
    assert twin.parse() == "other" and raw.parse() == [1]
    for name in RawResponse.__slots__:
        if name != "_value":
            assert getattr(twin, name) == getattr(raw, name), name
    assert twin.request_id == "r1"
