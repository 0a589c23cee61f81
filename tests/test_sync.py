"""SyncLoopsClient: the blocking facade derived from LoopsClient's async resources."""

from __future__ import annotations

import ast
import asyncio
import copy
import gc
import inspect
import os
import signal
import subprocess
import sys
import textwrap
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import baseten_loops
from baseten_loops import (
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
    SyncSamplersResource,
)
from baseten_loops.testing import FakeLoopsServer

from .conftest import FAST_RETRY

SYNC_THREAD_NAME = "baseten_loops-sync"


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


def _public_async_methods(resource: object) -> dict[str, Any]:
    return {
        name: member
        for name, member in inspect.getmembers(type(resource))
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member))
    }


def _resources_of(client: LoopsClient) -> dict[str, object]:
    """Every public attribute of a LoopsClient that has public async methods."""
    return {
        name: value
        for name, value in vars(client).items()
        if not name.startswith("_") and _public_async_methods(value)
    }


# -- derived from the async client ----------------------------------------------------------


def test_every_public_async_method_of_every_resource_has_a_working_sync_twin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resources = _resources_of(LoopsClient("test-key"))
    assert "samplers" in resources  # the discovery itself works
    with SyncLoopsClient("test-key") as client:
        checked = []
        for resource_name, resource in resources.items():
            view = getattr(client, resource_name)
            for method_name, method in _public_async_methods(resource).items():
                twin = getattr(view, method_name)
                assert inspect.signature(twin) == inspect.signature(
                    getattr(resource, method_name)
                ), f"{resource_name}.{method_name}"
                assert twin.__doc__ == method.__doc__
                if inspect.isasyncgenfunction(method):

                    async def agen_double(
                        self: object, *args: Any, **kwargs: Any
                    ) -> AsyncIterator[Any]:
                        yield threading.current_thread().name
                        yield (args, kwargs)

                    monkeypatch.setattr(type(resource), method_name, agen_double)
                    results = getattr(view, method_name)(1, key=2)
                    assert isinstance(results, SyncIterator)
                    assert list(results) == [SYNC_THREAD_NAME, ((1,), {"key": 2})]
                else:

                    async def coroutine_double(self: object, *args: Any, **kwargs: Any) -> Any:
                        return threading.current_thread().name, args, kwargs

                    monkeypatch.setattr(type(resource), method_name, coroutine_double)
                    result = getattr(view, method_name)(1, key=2)
                    assert result == (SYNC_THREAD_NAME, (1,), {"key": 2})
                checked.append(f"{resource_name}.{method_name}")
    assert "samplers.get" in checked
    assert "samplers.iter_many" in checked


def _typed_view_lines(class_name: str) -> dict[str, str]:
    """``name -> "helper(Resource.method)"`` for each typed method line of a class in _sync.py."""
    tree = ast.parse(Path(inspect.getfile(baseten_loops._sync)).read_text())
    (cls,) = (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == class_name)
    return {
        target.id: ast.unparse(node.value)
        for node in ast.walk(cls)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def test_typed_samplers_view_lists_every_async_method_typed_from_itself() -> None:
    lines = _typed_view_lines("SyncSamplersResource")
    methods = _public_async_methods(SamplersResource.__new__(SamplersResource))
    assert set(lines) == set(methods)
    for name, method in methods.items():
        helper = "_iterator_type" if inspect.isasyncgenfunction(method) else "_blocking_type"
        assert lines[name] == f"{helper}(SamplersResource.{name})"


def test_samplers_view_is_the_typed_view_and_is_reused(sync_client: SyncLoopsClient) -> None:
    assert isinstance(sync_client.samplers, SyncSamplersResource)
    assert sync_client.samplers is sync_client.samplers
    assert "get_many" in dir(sync_client.samplers)
    assert "samplers" in dir(sync_client)
    assert repr(sync_client.samplers) == "<sync view of SamplersResource>"


def test_plain_attributes_pass_through(sync_client: SyncLoopsClient) -> None:
    assert sync_client.base_url.startswith("http://127.0.0.1:")
    assert sync_client.stats.requests == 0
    assert sync_client.retry == FAST_RETRY


def test_constructor_takes_loops_client_arguments_and_validates_them_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BASETEN_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="no Baseten API key"):
        SyncLoopsClient()
    with pytest.raises(ConfigurationError, match="timeout"):
        SyncLoopsClient("test-key", timeout=-1)


async def test_a_session_is_refused_since_it_belongs_to_another_loop() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ConfigurationError, match="session= cannot be used"):
            SyncLoopsClient("test-key", session=session)


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


@pytest.mark.parametrize("how", ["close", "with", "garbage collection"])
def test_stopping_early_closes_the_async_generator_on_its_loop(
    monkeypatch: pytest.MonkeyPatch, sync_client: SyncLoopsClient, how: str
) -> None:
    tracker = _TrackedGenerator()
    monkeypatch.setattr(SamplersResource, "iter_many", tracker.method())
    results = sync_client.samplers.iter_many([])
    if how == "with":
        with results:
            assert next(results) == 0
    else:
        assert next(results) == 0
        if how == "close":
            results.close()
        else:
            del results
            gc.collect()
    assert tracker.closed.is_set()
    assert tracker.closed_on == SYNC_THREAD_NAME


def test_methods_returning_async_iterables_give_iterators(
    monkeypatch: pytest.MonkeyPatch, sync_client: SyncLoopsClient
) -> None:
    async def numbers() -> AsyncIterator[int]:
        for number in (1, 2):
            yield number

    def paginator(self: object) -> AsyncIterator[int]:  # a plain method, as a paginator is
        return numbers()

    async def awaited_paginator(self: object) -> AsyncIterator[int]:
        return numbers()

    def plain(self: object) -> str:
        return threading.current_thread().name

    monkeypatch.setattr(SamplersResource, "paginator", paginator, raising=False)
    monkeypatch.setattr(SamplersResource, "awaited_paginator", awaited_paginator, raising=False)
    monkeypatch.setattr(SamplersResource, "plain", plain, raising=False)
    view: Any = sync_client.samplers
    assert list(view.paginator()) == [1, 2]
    assert list(view.awaited_paginator()) == [1, 2]
    assert view.plain() == SYNC_THREAD_NAME  # run on the loop's thread, like the others


def test_resources_added_later_and_sub_resources_are_found(
    monkeypatch: pytest.MonkeyPatch, sync_client: SyncLoopsClient
) -> None:
    class CheckpointsResource:
        limit = 10

        async def list(self) -> list[str]:
            return ["ckpt-1"]

    class ExperimentsResource:  # a resource group this version does not have
        checkpoints = CheckpointsResource()

        async def get(self, experiment_id: str) -> str:
            return f"experiment {experiment_id}"

    monkeypatch.setattr(LoopsClient, "experiments", ExperimentsResource(), raising=False)
    client: Any = sync_client
    assert client.experiments.get("e1") == "experiment e1"
    assert client.experiments.checkpoints.list() == ["ckpt-1"]
    assert client.experiments.checkpoints.limit == 10
    assert client.experiments is client.experiments
    with pytest.raises(AttributeError):
        client.experiments._private  # noqa: B018
    with pytest.raises(AttributeError):
        client._missing  # noqa: B018


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


def _loop_thread_of(client: SyncLoopsClient, monkeypatch: pytest.MonkeyPatch) -> threading.Thread:
    async def current_thread(self: object) -> threading.Thread:
        return threading.current_thread()

    monkeypatch.setattr(SamplersResource, "current_thread", current_thread, raising=False)
    thread: threading.Thread = client.samplers.current_thread()  # type: ignore[attr-defined]
    return thread


def test_close_stops_the_thread_and_later_calls_fail(
    monkeypatch: pytest.MonkeyPatch, threaded_server: FakeLoopsServer
) -> None:
    threaded_server.add_sampler("abc123")
    client = SyncLoopsClient(threaded_server.api_key, base_url=threaded_server.base_url)
    client.samplers.get("abc123")
    thread = _loop_thread_of(client, monkeypatch)
    assert thread.name == SYNC_THREAD_NAME
    assert thread.daemon
    client.close()
    assert not thread.is_alive()
    client.close()  # twice is fine
    with pytest.raises(LoopsError, match="closed"):
        client.samplers.get("abc123")


def test_close_cancels_calls_still_running_in_other_threads(
    monkeypatch: pytest.MonkeyPatch, sync_client: SyncLoopsClient
) -> None:
    started = threading.Event()

    async def hang(self: object, sampler_id: str, **kwargs: Any) -> Sampler:
        started.set()
        await asyncio.Event().wait()
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
    assert isinstance(outcome[0], asyncio.CancelledError)


def test_a_client_never_used_starts_no_thread() -> None:
    before = {t for t in threading.enumerate() if t.name == SYNC_THREAD_NAME}
    with SyncLoopsClient("test-key") as client:
        assert client.base_url == "https://api.baseten.co"
    assert {t for t in threading.enumerate() if t.name == SYNC_THREAD_NAME} == before


def test_a_forgotten_client_is_closed_when_garbage_collected(
    monkeypatch: pytest.MonkeyPatch, threaded_server: FakeLoopsServer
) -> None:
    threaded_server.add_sampler("abc123")
    client = SyncLoopsClient(threaded_server.api_key, base_url=threaded_server.base_url)
    client.samplers.get("abc123")
    thread = _loop_thread_of(client, monkeypatch)
    collected = weakref.ref(client)
    del client
    gc.collect()
    assert collected() is None
    assert not thread.is_alive()


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


def test_a_method_returning_a_client_returns_a_facade_on_the_same_loop_and_pool(
    monkeypatch: pytest.MonkeyPatch,
    threaded_server: FakeLoopsServer,
    sync_client: SyncLoopsClient,
) -> None:
    def with_options(self: LoopsClient, **options: Any) -> LoopsClient:
        return copy.copy(self)  # shares the HTTP session, as `with_options` does

    monkeypatch.setattr(LoopsClient, "with_options", with_options, raising=False)
    threaded_server.add_sampler("abc123")
    derived: Any = sync_client.with_options(timeout=5)
    assert isinstance(derived, SyncLoopsClient)
    assert derived.samplers.get("abc123").id == "abc123"
    assert _loop_thread_of(derived, monkeypatch) is _loop_thread_of(sync_client, monkeypatch)
    derived.close()  # the loop and pool are the parent's: still open
    assert sync_client.samplers.get("abc123").id == "abc123"
    assert sync_client.stats.requests == 2
