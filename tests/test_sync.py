"""SyncLoopsClient: the blocking twin generated from LoopsClient and its resource groups."""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import typing
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

import baseten_loops
from baseten_loops import (
    ClientClosedError,
    ConfigurationError,
    DeploymentStatus,
    InvalidSamplerIdError,
    LoopsClient,
    LoopsError,
    NotFoundError,
    Sampler,
    SamplerFailedError,
    SamplersResource,
    SyncIterator,
    SyncLoopsClient,
    SyncResource,
    SyncSamplersResource,
)
from baseten_loops._resources._base import LookupsById
from baseten_loops._sync import PacedIds
from baseten_loops.testing import FakeLoopsServer

from .conftest import FAST_RETRY

SYNC_THREAD_NAME = "baseten_loops-sync"
TYPING_FILE = Path(__file__).parent / "sync_typing.py"


@pytest.fixture
def threaded_server() -> Iterator[FakeLoopsServer]:
    with FakeLoopsServer().serve_in_thread() as fake:
        yield fake


@pytest.fixture
def sync_client(threaded_server: FakeLoopsServer) -> Iterator[SyncLoopsClient]:
    with SyncLoopsClient(
        threaded_server.api_key, base_url=threaded_server.base_url, retry=FAST_RETRY
    ) as client:
        yield client


def _client_of(server: FakeLoopsServer) -> SyncLoopsClient:
    return SyncLoopsClient(server.api_key, base_url=server.base_url, retry=FAST_RETRY)


def _groups() -> dict[str, type[SyncResource[Any]]]:
    """``name -> twin class`` of every resource group property of SyncLoopsClient."""
    groups = {}
    for name, member in vars(SyncLoopsClient).items():
        if isinstance(member, property):
            returns = inspect.signature(member.fget).return_annotation  # type: ignore[arg-type]
            twin = getattr(baseten_loops, returns, None)
            if isinstance(twin, type) and issubclass(twin, SyncResource):
                groups[name] = twin
    return groups


def _twins(view: object) -> dict[str, Callable[..., Any]]:
    return {
        name: getattr(view, name)
        for name, member in vars(type(view)).items()
        if not name.startswith("_") and inspect.isfunction(member)
    }


def _async_methods(resource: object) -> dict[str, Any]:
    """The public methods of an async resource group, inherited ones included."""
    return {
        name: member
        for name, member in inspect.getmembers(type(resource), inspect.isfunction)
        if not name.startswith("_")
    }


def _model_of(resource: object) -> str | None:
    """The model a group's ``LookupsById[Model]`` base names (``T`` in its bulk lookups)."""
    for base in getattr(type(resource), "__orig_bases__", ()):
        if typing.get_origin(base) is LookupsById:
            return str(typing.get_args(base)[0].__name__)
    return None


def _with_model(annotation: Any, model: str | None) -> Any:
    """An inherited method's annotation as the group reads it: ``T`` is its model."""
    if model is None or not isinstance(annotation, str):
        return annotation
    return re.sub(r"\bT\b", model, annotation)


def _arguments_for(function: Callable[..., Any]) -> tuple[list[Any], dict[str, Any]]:
    """A value for every parameter (each a one-item list naming it), and one extra keyword."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            args.append([parameter.name])
        elif parameter.kind is parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = [parameter.name]
        elif parameter.kind is parameter.VAR_KEYWORD:
            kwargs["an_extra_field"] = ["an_extra_field"]
        else:
            args.append(["*args"])
    return args, kwargs


def _returns_an_iterator(method: Any) -> bool:
    returns = str(inspect.signature(method).return_annotation)
    return re.match(r"Async(Iterator|Generator|Iterable)\[", returns) is not None


# -- generated from the async client -----------------------------------------------------------


def test_the_generated_file_is_current() -> None:
    from baseten_loops import _sync_generated
    from baseten_loops._generate_sync import COMMAND, generate

    on_disk = Path(inspect.getfile(_sync_generated)).read_text()
    assert generate() == on_disk, f"_sync_generated.py is stale: run {COMMAND}"


def test_every_resource_group_has_its_twin() -> None:
    groups = _groups()
    async_client = LoopsClient("test-key")
    async_groups = {
        name: value
        for name, value in vars(async_client).items()
        if not name.startswith("_") and _async_methods(value)
    }
    assert set(groups) == set(async_groups)
    assert "samplers" in groups
    for name, twin in groups.items():
        assert twin.__name__ == f"Sync{type(async_groups[name]).__name__}"
        assert twin.__name__ in baseten_loops.__all__


def test_every_twin_has_its_async_methods_signature_and_docstring() -> None:
    with SyncLoopsClient("test-key") as client:
        checked = []
        for group in _groups():
            view = getattr(client, group)
            twins = _twins(view)
            methods = _async_methods(view._resource)
            model = _model_of(view._resource)
            assert set(twins) == set(methods), group
            for name, method in methods.items():
                twin, async_signature = inspect.signature(twins[name]), inspect.signature(method)
                parameters = [
                    parameter.replace(annotation=_with_model(parameter.annotation, model))
                    for parameter in list(async_signature.parameters.values())[1:]
                ]
                assert list(twin.parameters.values()) == parameters, f"{group}.{name}"
                returns = _with_model(async_signature.return_annotation, model)
                if _returns_an_iterator(method):
                    element = re.sub(r"^Async\w+\[(.*?)(, None)?\]$", r"\1", returns)
                    returns = f"SyncIterator[{element}]"
                assert twin.return_annotation == returns, f"{group}.{name}"
                assert twins[name].__doc__ == method.__doc__
                checked.append(f"{group}.{name}")
    assert {"samplers.get_many", "samplers.iter_many", "checkpoints.iter_files"} <= set(checked)


def test_the_constructor_takes_loops_clients_arguments_except_session() -> None:
    expected = [
        parameter
        for parameter in inspect.signature(LoopsClient).parameters.values()
        if parameter.name != "session"
    ]
    assert list(inspect.signature(SyncLoopsClient).parameters.values()) == expected
    with_options = inspect.signature(SyncLoopsClient.with_options)
    assert with_options.parameters == inspect.signature(LoopsClient.with_options).parameters
    assert with_options.return_annotation == "SyncLoopsClient"
    arguments = (SyncLoopsClient.__doc__ or "").split("Args:")[1]
    assert "\n        session:" not in arguments
    assert "\n        max_connections:" in arguments


@pytest.mark.parametrize("group", sorted(_groups()))
def test_every_twin_runs_its_async_method_on_the_loop_with_every_argument(
    monkeypatch: pytest.MonkeyPatch, group: str
) -> None:
    with SyncLoopsClient("test-key") as client:
        view = getattr(client, group)
        async_class = type(view._resource)
        for name, method in _async_methods(view._resource).items():
            if _returns_an_iterator(method):

                async def iterator_double(
                    self: object, *args: Any, **kwargs: Any
                ) -> AsyncIterator[Any]:
                    yield threading.current_thread().name
                    # Bulk ids come paced by the iterator: read them (this step is a next()).
                    received = []
                    for value in args:
                        received.append(
                            [i async for i in value] if isinstance(value, PacedIds) else value
                        )
                    yield tuple(received), kwargs

                monkeypatch.setattr(async_class, name, iterator_double)
            else:

                async def coroutine_double(self: object, *args: Any, **kwargs: Any) -> Any:
                    return threading.current_thread().name, args, kwargs

                monkeypatch.setattr(async_class, name, coroutine_double)
            args, kwargs = _arguments_for(getattr(view, name))
            result = getattr(view, name)(*args, **kwargs)
            if _returns_an_iterator(method):
                assert isinstance(result, SyncIterator)
                assert list(result) == [SYNC_THREAD_NAME, (tuple(args), kwargs)], name
            else:
                assert result == (SYNC_THREAD_NAME, tuple(args), kwargs), name


def test_only_bulk_ids_are_paced(monkeypatch: pytest.MonkeyPatch) -> None:
    received = []

    async def iter_many(self: object, ids: Any, **kwargs: Any) -> AsyncIterator[None]:
        received.append(ids)
        yield None

    monkeypatch.setattr(SamplersResource, "iter_many", iter_many)
    with SyncLoopsClient("test-key") as client:
        list(client.samplers.iter_many(["a"]))
        source = cast(Any, client.checkpoints.iter_files)
        assert "PacedIds" not in inspect.getsource(source)
    assert isinstance(received[0], PacedIds)


def typed_calls() -> set[str]:
    """The calls of ``client`` whose type tests/sync_typing.py asserts (``samplers.get`` ...)."""
    tree = ast.parse(TYPING_FILE.read_text())
    typed = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "assert_type":
            call = node.args[0]
            if isinstance(call, ast.Call):
                target = ast.unparse(call.func)
                if target.startswith("client."):
                    typed.add(target.removeprefix("client."))
    return typed


def test_the_typing_file_has_a_line_for_every_method_of_every_group() -> None:
    typed = typed_calls()
    with SyncLoopsClient("test-key") as client:
        expected = {
            f"{group}.{name}" for group in _groups() for name in _twins(getattr(client, group))
        }
    expected.add("with_options")
    assert expected <= typed, sorted(expected - typed)


def test_views_are_the_typed_classes(sync_client: SyncLoopsClient) -> None:
    assert isinstance(sync_client.samplers, SyncSamplersResource)
    assert repr(sync_client.samplers) == "<sync view of SamplersResource>"
    assert "get_many" in dir(sync_client.samplers)
    assert "runs" in dir(sync_client)


def test_plain_attributes_pass_through(sync_client: SyncLoopsClient) -> None:
    assert sync_client.base_url.startswith("http://127.0.0.1:")
    assert sync_client.stats.requests == 0
    assert sync_client.retry == FAST_RETRY
    assert sync_client.timeout == 60.0
    assert sync_client.attempt_timeout == 30.0
    assert "Authorization" not in sync_client.default_headers
    assert sync_client.flow_control is not None


def test_constructor_validates_arguments_as_loops_client_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BASETEN_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="no Baseten API key"):
        SyncLoopsClient()
    with pytest.raises(ConfigurationError, match="timeout"):
        SyncLoopsClient("test-key", timeout=-1)


def test_there_is_no_session_parameter() -> None:
    with pytest.raises(TypeError, match="session"):
        SyncLoopsClient("test-key", session=None)  # type: ignore[call-arg]


def test_repr_never_shows_the_key() -> None:
    client = SyncLoopsClient("secret-key-123")
    assert "secret-key-123" not in repr(client)
    assert repr(client).startswith("SyncLoopsClient(base_url=")
    client.close()


# -- real calls -------------------------------------------------------------------------------


def test_get_returns_the_same_model(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    threaded_server.add_sampler("abc123", status="BUILDING")
    sampler = sync_client.samplers.get("abc123")
    assert isinstance(sampler, Sampler)
    assert sampler.id == "abc123"
    assert sampler.status.is_pending


def test_every_group_reaches_the_server(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    session = sync_client.sessions.create()
    run = sync_client.runs.create(session_id=session.id, base_model="Qwen/Qwen3-8B")
    assert sync_client.runs.get(run.id).id == run.id
    assert [r.id for r in sync_client.runs.list()] == [run.id]
    assert sync_client.capabilities.list()
    assert sync_client.user_config.get() is not None
    checkpoint = threaded_server.add_checkpoint(run_id=run.id, files=["a.bin", "b.bin"])
    files = sync_client.checkpoints.iter_files(checkpoint["id"])
    assert [f.relative_file_name for f in files] == ["a.bin", "b.bin"]


def test_errors_are_the_async_clients_classes(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    with pytest.raises(NotFoundError) as not_found:
        sync_client.samplers.get("missing")
    assert not_found.value.status_code == 404
    with pytest.raises(InvalidSamplerIdError):
        sync_client.samplers.get("a/b")
    threaded_server.add_sampler("broken", status="BUILD_FAILED")
    with pytest.raises(SamplerFailedError):
        sync_client.samplers.wait_until_active("broken", poll_interval=0.01)


def test_connection_pool_is_reused_across_calls(threaded_server: FakeLoopsServer) -> None:
    threaded_server.add_sampler("abc123")
    connections_made = []

    async def on_connection_create_end(*args: Any) -> None:
        connections_made.append(args)

    tracing = aiohttp.TraceConfig()
    tracing.on_connection_create_end.append(on_connection_create_end)
    with SyncLoopsClient(
        threaded_server.api_key, base_url=threaded_server.base_url, trace_configs=[tracing]
    ) as client:
        for _ in range(3):
            client.samplers.get("abc123")
    assert threaded_server.requests == 3
    # One keep-alive connection serves all three sequential calls: one pool, one loop.
    assert len(connections_made) == 1


def test_get_many_and_wait_until_active(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    ids = threaded_server.add_samplers(5)
    assert [s.id for s in sync_client.samplers.get_many(ids)] == ids
    results = sync_client.samplers.get_many([*ids, "missing"], return_exceptions=True)
    assert isinstance(results[-1], NotFoundError)
    threaded_server.script_statuses("slow", ["BUILDING", "ACTIVE"])
    seen = []
    sampler = sync_client.samplers.wait_until_active(
        "slow", poll_interval=0.01, on_status=lambda s: seen.append(s.status.name)
    )
    assert sampler.status.is_ready
    assert seen == [DeploymentStatus.BUILDING, DeploymentStatus.ACTIVE]


async def test_usable_from_inside_a_running_event_loop(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    asyncio.get_running_loop()  # as in a Jupyter cell: this thread runs a loop
    threaded_server.add_sampler("abc123")
    assert sync_client.samplers.get("abc123").id == "abc123"
    assert [sid for sid, _ in sync_client.samplers.iter_many(["abc123"])] == ["abc123"]


def test_usable_from_several_threads(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    ids = threaded_server.add_samplers(8)
    results: dict[str, str] = {}

    def look_up(sampler_id: str) -> None:
        results[sampler_id] = sync_client.samplers.get(sampler_id).id

    threads = [threading.Thread(target=look_up, args=(sid,)) for sid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {sid: sid for sid in ids}


def test_calling_the_facade_from_its_own_callback_is_refused(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    threaded_server.add_sampler("abc123", status="BUILDING")
    with pytest.raises(LoopsError, match="from a callback running on its own event loop"):
        sync_client.samplers.wait_until_active(
            "abc123", on_status=lambda s: sync_client.samplers.get("abc123")
        )


# -- views keep their client ------------------------------------------------------------------


def _loop_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == SYNC_THREAD_NAME}


@pytest.mark.parametrize("temporary", ["view", "with_options", "bound method", "iterator"])
def test_a_temporary_client_lives_as_long_as_what_was_taken_from_it(
    threaded_server: FakeLoopsServer, temporary: str
) -> None:
    threaded_server.add_sampler("abc123")
    before = _loop_threads()
    # No call below is inside an `assert`: pytest keeps an assert's intermediate values
    # alive (for its message), which would keep the temporary client alive too.
    if temporary == "view":
        found = _client_of(threaded_server).samplers.get("abc123").id
    elif temporary == "with_options":
        found = _client_of(threaded_server).with_options(timeout=60).samplers.get("abc123").id
    elif temporary == "bound method":
        get = _client_of(threaded_server).samplers.get
        gc.collect()
        found = get("abc123").id
        del get
    else:
        results = list(_client_of(threaded_server).samplers.iter_many(["abc123"]))
        found = results[0][0]
    assert found == "abc123"
    gc.collect()
    assert _loop_threads() == before  # closed once nothing held it: no thread left behind


def test_an_iterator_keeps_its_client_until_it_is_dropped(
    threaded_server: FakeLoopsServer,
) -> None:
    ids = threaded_server.add_samplers(3)
    results = _client_of(threaded_server).samplers.iter_many(ids, concurrency=1)
    gc.collect()
    first = next(results)
    gc.collect()
    assert sorted([first[0], *(sid for sid, _ in results)]) == sorted(ids)
    client = weakref.ref(results._owner)
    del results
    gc.collect()
    assert client() is None


# -- iterators --------------------------------------------------------------------------------


def test_iter_many_is_a_lazy_plain_iterator(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    ids = threaded_server.add_samplers(3)
    results = sync_client.samplers.iter_many(iter(ids), concurrency=1)
    assert isinstance(results, Iterator)
    assert threaded_server.requests == 0  # nothing runs before the first next()
    first_id, first = next(results)
    assert isinstance(first, Sampler)
    assert first.id == first_id
    assert sorted([first_id, *(sid for sid, _ in results)]) == sorted(ids)
    with pytest.raises(StopIteration):
        next(results)


def test_iter_many_takes_an_async_iterable_of_ids(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    ids = threaded_server.add_samplers(3)

    async def async_ids() -> AsyncIterator[str]:
        for sampler_id in ids:
            yield sampler_id

    found = sorted(sid for sid, _ in sync_client.samplers.iter_many(async_ids(), concurrency=2))
    assert found == sorted(ids)


def test_iter_many_yields_errors_as_values(
    threaded_server: FakeLoopsServer, sync_client: SyncLoopsClient
) -> None:
    results = dict(sync_client.samplers.iter_many(["missing"]))
    assert isinstance(results["missing"], NotFoundError)


class _TrackedGenerator:
    """An async generator method double that records where and whether it was closed."""

    def __init__(self) -> None:
        self.closed = threading.Event()
        self.closed_on: str | None = None

    def method(self) -> Any:
        tracker = self

        async def iter_many(resource: object, *args: Any, **kwargs: Any) -> AsyncIterator[int]:
            try:
                for number in range(100):
                    yield number
            finally:
                tracker.closed_on = threading.current_thread().name
                tracker.closed.set()

        return iter_many


@pytest.mark.parametrize("how", ["close", "with", "garbage collection", "break from a for"])
def test_stopping_early_closes_the_async_generator_on_its_loop(
    monkeypatch: pytest.MonkeyPatch, sync_client: SyncLoopsClient, how: str
) -> None:
    tracker = _TrackedGenerator()
    monkeypatch.setattr(SamplersResource, "iter_many", tracker.method())
    if how == "break from a for":
        for number in sync_client.samplers.iter_many([]):
            assert number == (0, 0) or number == 0
            break
    else:
        results = sync_client.samplers.iter_many([])
        if how == "with":
            with results:
                assert next(results) == 0
        else:
            assert next(results) == 0
            if how == "close":
                results.close()
                with pytest.raises(StopIteration):
                    next(results)
            else:
                del results
                gc.collect()
    assert tracker.closed.is_set()
    assert tracker.closed_on == SYNC_THREAD_NAME


def test_an_iterator_never_started_starts_nothing(
    monkeypatch: pytest.MonkeyPatch, sync_client: SyncLoopsClient
) -> None:
    tracker = _TrackedGenerator()
    monkeypatch.setattr(SamplersResource, "iter_many", tracker.method())
    sync_client.samplers.iter_many([]).close()
    assert not tracker.closed.is_set()  # never opened, so never closed either


def _wait_for(condition: Callable[[], bool]) -> None:
    """Wait (at most 10 s, so a regression fails instead of hanging) until ``condition``."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in 10 s"
        time.sleep(0.005)


def _taking(ids: list[str], taken: list[str]) -> Iterator[str]:
    """``ids``, noting in ``taken`` each one the bulk engine takes."""
    for sampler_id in ids:
        taken.append(sampler_id)
        yield sampler_id


def test_a_break_sends_no_more_lookups_even_while_the_iterator_is_held() -> None:
    # Latency, so that lookups are still in flight at the break.
    with FakeLoopsServer(latency=0.05).serve_in_thread() as server:
        ids = server.add_samplers(40)
        taken: list[str] = []
        with _client_of(server) as client:
            results = client.samplers.iter_many(_taking(ids, taken), concurrency=4)
            for _ in results:
                break
            at_break = len(taken)
            assert at_break <= 2 * 4  # one wave, and at most one more lookup per worker
            _wait_for(lambda: server.requests == at_break)  # those in flight are answered
            for _ in range(5):  # time passes, on the client's loop and on the server
                client.samplers.get(ids[0])
            assert len(taken) == at_break  # no id taken after the break
            assert server.requests == at_break + 5  # and no lookup sent
            rest = list(results)  # asking again goes on where it stopped
            assert len(rest) == len(ids) - 1
            assert len(taken) == len(ids)


def test_a_break_from_a_for_over_the_call_cancels_the_lookups_in_flight() -> None:
    with FakeLoopsServer(latency=0.05).serve_in_thread() as server:
        ids = server.add_samplers(200)
        taken: list[str] = []
        with _client_of(server) as client:
            for _ in client.samplers.iter_many(_taking(ids, taken), concurrency=4):
                break
            at_break = len(taken)
            for _ in range(5):
                client.samplers.get(ids[0])
            assert len(taken) == at_break
            assert server.requests <= at_break + 5


# -- interruption and closing -----------------------------------------------------------------


class WatchdogTimeout(Exception):
    """A deadline enforced with a signal, as a watchdog or a `timeout` decorator does.

    Not a TimeoutError: that is an OSError, which asyncio's own socket calls swallow if the
    handler happens to run inside one.
    """


def _raise_watchdog_timeout(signum: int, frame: object) -> None:
    raise WatchdogTimeout


@pytest.mark.parametrize(
    ("signal_number", "handler", "raised"),
    [
        (signal.SIGINT, signal.default_int_handler, KeyboardInterrupt),
        (signal.SIGUSR1, _raise_watchdog_timeout, WatchdogTimeout),
    ],
    ids=["ctrl-c", "signal-timeout"],
)
def test_an_interrupted_wait_cancels_the_call_on_the_background_loop(
    monkeypatch: pytest.MonkeyPatch,
    sync_client: SyncLoopsClient,
    signal_number: int,
    handler: Any,
    raised: type[BaseException],
) -> None:
    cancelled = threading.Event()
    main_thread = threading.main_thread().ident
    assert main_thread == threading.get_ident()

    async def hang(self: object, sampler_id: str, **kwargs: Any) -> Sampler:
        signal.pthread_kill(main_thread, signal_number)  # arrives mid-call
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        raise AssertionError("not reached")

    monkeypatch.setattr(SamplersResource, "get", hang)
    previous = signal.signal(signal_number, handler)
    try:
        with pytest.raises(raised):
            sync_client.samplers.get("abc123")
    finally:
        signal.signal(signal_number, previous)
    assert cancelled.is_set()  # cancelled, and its cleanup ran, before the caller got control
    sync_client.samplers.get_many([])  # and the client goes on working


def _loop_thread_of(client: SyncLoopsClient, monkeypatch: pytest.MonkeyPatch) -> threading.Thread:
    async def current_thread(self: object, *args: Any, **kwargs: Any) -> threading.Thread:
        return threading.current_thread()

    monkeypatch.setattr(SamplersResource, "deactivate", current_thread)
    return cast(threading.Thread, client.samplers.deactivate("any"))


def _call_to_the_first_step(
    twin: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]
) -> object:
    """Call ``twin``; if it gives an iterator (which runs nothing yet), take its first step."""
    result = twin(*args, **kwargs)
    return next(result) if isinstance(result, SyncIterator) else result


def test_close_stops_the_thread_and_every_later_call_raises_client_closed_error(
    monkeypatch: pytest.MonkeyPatch, threaded_server: FakeLoopsServer
) -> None:
    threaded_server.add_sampler("abc123")
    client = _client_of(threaded_server)
    client.samplers.get("abc123")
    thread = _loop_thread_of(client, monkeypatch)
    assert thread.name == SYNC_THREAD_NAME
    assert thread.daemon
    pending = client.samplers.iter_many(["abc123"])
    client.close()
    assert not thread.is_alive()
    client.close()  # twice is fine
    refused = []
    for group in _groups():
        for name, twin in _twins(getattr(client, group)).items():
            args, kwargs = _arguments_for(twin)
            with pytest.raises(ClientClosedError, match="closed"):
                _call_to_the_first_step(twin, args, kwargs)
            refused.append(f"{group}.{name}")
    assert "runs.get" in refused
    with pytest.raises(ClientClosedError):
        next(pending)
    with pytest.raises(ClientClosedError):
        client.with_options(timeout=5).samplers.get("abc123")


def test_closing_a_started_iterators_client_makes_it_raise_client_closed_error(
    threaded_server: FakeLoopsServer,
) -> None:
    ids = threaded_server.add_samplers(3)
    client = _client_of(threaded_server)
    results = client.samplers.iter_many(ids, concurrency=1)
    next(results)
    client.close()
    with pytest.raises(ClientClosedError):
        next(results)
    results.close()  # closing it afterwards is quiet


def test_close_from_another_thread_during_a_wait_raises_client_closed_error(
    threaded_server: FakeLoopsServer,
) -> None:
    threaded_server.add_sampler("slow", status="BUILDING")
    client = _client_of(threaded_server)
    polled = threading.Event()
    outcome: list[BaseException] = []

    def wait() -> None:
        try:
            client.samplers.wait_until_active(
                "slow", poll_interval=0.01, on_status=lambda s: polled.set()
            )
        except BaseException as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    assert polled.wait(10)
    client.close()
    waiter.join(10)
    assert not waiter.is_alive()
    assert isinstance(outcome[0], ClientClosedError), outcome


def test_close_cancels_calls_still_running_in_other_threads(
    monkeypatch: pytest.MonkeyPatch, sync_client: SyncLoopsClient
) -> None:
    started = threading.Event()
    cancelled = threading.Event()

    async def hang(self: object, sampler_id: str, **kwargs: Any) -> Sampler:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()
        raise AssertionError("not reached")

    monkeypatch.setattr(SamplersResource, "get", hang)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            sync_client.samplers.get("abc123")
        except BaseException as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    started.wait()
    sync_client.close()
    caller.join()
    assert cancelled.is_set()
    assert isinstance(outcome[0], ClientClosedError)
    assert "closed while the call was running" in str(outcome[0])


def test_a_client_never_used_starts_no_thread() -> None:
    before = _loop_threads()
    with SyncLoopsClient("test-key") as client:
        assert client.base_url == "https://api.baseten.co"
    assert _loop_threads() == before


def test_a_forgotten_client_is_closed_when_garbage_collected(
    monkeypatch: pytest.MonkeyPatch, threaded_server: FakeLoopsServer
) -> None:
    threaded_server.add_sampler("abc123")
    client = _client_of(threaded_server)
    client.samplers.get("abc123")
    thread = _loop_thread_of(client, monkeypatch)
    collected = weakref.ref(client)
    del client
    gc.collect()
    assert collected() is None
    assert not thread.is_alive()


def test_a_client_collected_on_its_own_loop_thread_winds_down_from_there(
    monkeypatch: pytest.MonkeyPatch, threaded_server: FakeLoopsServer
) -> None:
    # A client in a reference cycle is freed by the cyclic garbage collector, which may run on
    # any thread, the client's own loop thread included: it cannot wait for itself there.
    client = _client_of(threaded_server)
    thread = _loop_thread_of(client, monkeypatch)
    loop = client._loop_thread._loop
    assert loop is not None
    cycle: list[object] = [client]
    cycle.append(cycle)
    collected = weakref.ref(client)
    gc.disable()  # collect on the loop's thread below, not here by chance
    try:
        del client, cycle
        loop.call_soon_threadsafe(gc.collect)
        thread.join(10)
    finally:
        gc.enable()
    assert collected() is None
    assert not thread.is_alive()  # wound down from inside its loop, and the thread ended


def test_a_script_that_never_closes_its_client_exits_cleanly(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            from baseten_loops import SyncLoopsClient
            from baseten_loops.testing import FakeLoopsServer

            with FakeLoopsServer().serve_in_thread() as server:
                server.add_sampler("abc123")
                client = SyncLoopsClient(server.api_key, base_url=server.base_url)
                print(client.samplers.get("abc123").id)
                for sampler_id, result in client.samplers.iter_many(["abc123"]):
                    print(sampler_id, type(result).__name__)
                # no close(): the client is closed at interpreter exit
            """
        )
    )
    env = {**os.environ, "PYTHONWARNINGS": "error", "PYTHONDEVMODE": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == ["abc123", "abc123 Sampler", ""]
    assert done.stderr == ""


def test_with_options_returns_a_client_on_the_same_loop_and_pool(
    monkeypatch: pytest.MonkeyPatch,
    threaded_server: FakeLoopsServer,
    sync_client: SyncLoopsClient,
) -> None:
    threaded_server.add_sampler("abc123")
    derived = sync_client.with_options(timeout=5)
    assert isinstance(derived, SyncLoopsClient)
    assert derived.timeout == 5
    assert derived.samplers.get("abc123").id == "abc123"
    assert _loop_thread_of(derived, monkeypatch) is _loop_thread_of(sync_client, monkeypatch)
    with derived as same:  # closing a copy closes only the copy
        assert same is derived
    with pytest.raises(ClientClosedError, match="made by with_options"):
        derived.samplers.get("abc123")
    assert sync_client.samplers.get("abc123").id == "abc123"
    assert sync_client.stats.requests == 2


# -- os.fork() ------------------------------------------------------------------------------

FORKING_SCRIPT = """
import gc, os, signal, sys, time, warnings

import aiohttp

# Python 3.12+ warns that the process has threads (the client's loop, here) when it forks.
warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
from baseten_loops import LoopsError, SyncLoopsClient

api_key, base_url, mode = sys.argv[1:]
connections = []


async def on_connection_create_end(*args):
    connections.append(args)


tracing = aiohttp.TraceConfig()
tracing.on_connection_create_end.append(on_connection_create_end)
client = SyncLoopsClient(api_key, base_url=base_url, timeout=2, trace_configs=[tracing])
print("parent", client.samplers.get("abc123").id)
started = client.samplers.iter_many(["abc123", "abc123"], concurrency=1)
next(started)
reader, writer = os.pipe()
pid = os.fork()
if pid == 0:  # the child reports on the pipe, then exits as a script does (atexit runs)
    os.close(reader)
    if mode == "call":
        report = client.samplers.get("abc123").id
    elif mode == "iterator":
        try:
            next(started)
        except LoopsError as exc:
            report = str(exc)
    else:  # never touches the client, and lets it go
        del client, started
        gc.collect()
        report = "idle"
    os.write(writer, report.encode())
    sys.exit(0)
os.close(writer)
for _ in range(400):  # 20 s at most: a hung child fails the test instead of hanging it
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.05)
else:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    print("the child hung")
    sys.exit(1)
print("child", os.waitstatus_to_exitcode(status), os.read(reader, 1000).decode())
again = client.samplers.get("abc123").id
print("parent", again, "retries", client.stats.retries, "connections", len(connections))
"""


@pytest.mark.parametrize(
    ("mode", "child_says"),
    [
        ("call", "abc123"),
        ("idle", "idle"),
        ("iterator", "this iterator was started before os.fork()"),
    ],
)
def test_after_fork_the_child_works_and_the_parent_is_unaffected(
    threaded_server: FakeLoopsServer, mode: str, child_says: str
) -> None:
    threaded_server.add_sampler("abc123")
    env = {**os.environ, "PYTHONWARNINGS": "error", "PYTHONDEVMODE": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            FORKING_SCRIPT,
            threaded_server.api_key,
            threaded_server.base_url,
            mode,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "parent abc123"
    assert lines[1].startswith(f"child 0 {child_says}")
    # The parent's keep-alive connection came through the child's life and exit untouched:
    # no retry, no new connection.
    assert lines[2] == "parent abc123 retries 0 connections 1"
    assert done.stderr == ""
