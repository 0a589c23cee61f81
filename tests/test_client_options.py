"""Client options: default_headers, per-call extra_headers, bulk timeouts and with_options."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import attrs
import pytest

from baseten_loops import (
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    InternalServerError,
    LoopsClient,
    ResponseTooLargeError,
    RetryBudget,
    RetryPolicy,
    Sampler,
    WaitTimeoutError,
)
from baseten_loops._resources import Resource
from baseten_loops._sansio import USER_AGENT, check_headers, merge_headers
from baseten_loops.testing import FakeLoopsServer, RecordedRequest, Reply

from .conftest import FAST_RETRY
from .test_hardening import signal_on

KEY = "sk-options-test-key-1234"
RESERVED = [
    "Authorization",
    "authorization",
    "AUTHORIZATION",
    "aUtHoRiZaTiOn",
    "Proxy-Authorization",
    "host",
    "Content-Length",
    "transfer-encoding",
]


def values(request: RecordedRequest, name: str) -> list[str]:
    """Every value the server received for header ``name`` (several if it was sent twice)."""
    return request.headers.getall(name, [])  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
async def server() -> AsyncIterator[FakeLoopsServer]:
    async with FakeLoopsServer(KEY) as fake:
        yield fake


def make_client(server: FakeLoopsServer, **options: Any) -> LoopsClient:
    options.setdefault("retry", FAST_RETRY)
    return LoopsClient(KEY, base_url=server.base_url, **options)


# -- header validation (pure) ---------------------------------------------------------------


@pytest.mark.parametrize("name", RESERVED)
def test_reserved_headers_are_refused_in_any_case(name: str) -> None:
    with pytest.raises(ConfigurationError, match="cannot set"):
        check_headers({name: "x"}, "default_headers")


@pytest.mark.parametrize(
    "value", ["a\r\nX-Injected: 1", "a\nb", "a\rb", "nul\x00", "bell\x07", "del\x7f", "\u2603"]
)
def test_values_with_control_characters_are_refused_without_being_quoted(value: str) -> None:
    with pytest.raises(ConfigurationError, match="X-Tag") as info:
        check_headers({"X-Tag": value}, "extra_headers")
    assert value not in str(info.value)  # a value may be a secret: never echoed


@pytest.mark.parametrize("name", ["", "Two Words", "X:Y", "X-\n", "X-\r\nY", "caf\u00e9", 7])
def test_names_that_are_not_http_tokens_are_refused(name: object) -> None:
    with pytest.raises(ConfigurationError, match="not a valid header name"):
        check_headers({name: "x"}, "extra_headers")


@pytest.mark.parametrize("headers", [["X-A", "1"], "X-A: 1", {"X-A": 1}, {"X-A": b"1"}])
def test_anything_but_a_mapping_of_str_to_str_is_refused(headers: object) -> None:
    with pytest.raises(ConfigurationError, match="extra_headers"):
        check_headers(headers, "extra_headers")


def test_a_name_given_twice_in_different_cases_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="twice"):
        check_headers({"X-Tag": "a", "x-tag": "b"}, "default_headers")


def test_valid_headers_come_back_as_a_new_dict() -> None:
    given = {"X-Team": "ml", "User-Agent": "my-app/1.0", "X-Empty": "", "X-Tab": "a\tb"}
    checked = check_headers(given, "default_headers")
    assert checked == given
    assert checked is not given


def test_merging_replaces_a_header_whatever_its_case() -> None:
    merged = merge_headers({"User-Agent": "lib", "Accept": "json"}, {"user-agent": "app"})
    assert merged == {"Accept": "json", "user-agent": "app"}


# -- default_headers --------------------------------------------------------------------------


async def test_default_headers_are_sent_with_every_request(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    async with make_client(server, default_headers={"X-Team": "ml", "X-Trace": "t1"}) as client:
        await client.samplers.get("abc")
        await client.runs.list()
    assert len(server.recorded) == 2
    for request in server.recorded:
        assert values(request, "X-Team") == ["ml"]
        assert values(request, "X-Trace") == ["t1"]
        assert values(request, "Authorization") == [f"Bearer {KEY}"]


@pytest.mark.parametrize("name", RESERVED)
def test_default_headers_cannot_set_authorization_or_framing(name: str) -> None:
    with pytest.raises(ConfigurationError, match="default_headers cannot set") as info:
        LoopsClient(KEY, default_headers={name: "Bearer someone-else"})
    assert KEY not in str(info.value)


async def test_default_headers_may_replace_the_user_agent_sent_once(
    server: FakeLoopsServer,
) -> None:
    server.add_sampler("abc")
    async with make_client(server, default_headers={"user-agent": "my-app/2.0"}) as client:
        assert client.default_headers["user-agent"] == "my-app/2.0"
        await client.samplers.get("abc")
    assert values(server.recorded[0], "User-Agent") == ["my-app/2.0"]


def test_default_headers_never_show_the_key() -> None:
    client = LoopsClient(KEY, default_headers={"X-Team": "ml"})
    assert client.default_headers == {
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
        "X-Team": "ml",
    }
    assert KEY not in repr(client)


# -- extra_headers ------------------------------------------------------------------------


async def test_extra_headers_go_with_that_call_only(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    async with make_client(server) as client:
        await client.samplers.get("abc", extra_headers={"X-Request-Tag": "first"})
        await client.samplers.get("abc")
    first, second = server.recorded
    assert values(first, "X-Request-Tag") == ["first"]
    assert values(second, "X-Request-Tag") == []
    assert values(first, "Authorization") == values(second, "Authorization") == [f"Bearer {KEY}"]


async def test_extra_headers_replace_default_headers_whatever_the_case(
    server: FakeLoopsServer,
) -> None:
    server.add_sampler("abc")
    async with make_client(server, default_headers={"X-Tag": "default"}) as client:
        await client.samplers.get("abc", extra_headers={"x-tag": "call", "user-agent": "u/1"})
    assert values(server.recorded[0], "X-Tag") == ["call"]
    assert values(server.recorded[0], "User-Agent") == ["u/1"]


@pytest.mark.parametrize("name", RESERVED)
async def test_extra_headers_cannot_replace_authorization(
    server: FakeLoopsServer, name: str
) -> None:
    server.add_sampler("abc")
    async with make_client(server) as client:
        with pytest.raises(ConfigurationError, match="extra_headers cannot set"):
            await client.samplers.get("abc", extra_headers={name: "Bearer someone-else"})
        with pytest.raises(ConfigurationError, match="extra_headers cannot set"):
            await client.runs.list(extra_headers={name: "Bearer someone-else"})
    assert not server.recorded  # refused before any request


async def test_a_header_injection_is_refused_before_any_request(server: FakeLoopsServer) -> None:
    async with make_client(server) as client:
        with pytest.raises(ConfigurationError, match="control characters"):
            await client.sessions.create(extra_headers={"X-Tag": "a\r\nAuthorization: x"})
    assert not server.recorded


@pytest.mark.parametrize("headers", [[], "", ()])
async def test_empty_headers_that_are_not_a_mapping_are_refused_too(
    server: FakeLoopsServer, headers: Any
) -> None:
    async with make_client(server) as client:
        with pytest.raises(ConfigurationError, match="mapping"):
            await client.sessions.create(extra_headers=headers)
        with pytest.raises(ConfigurationError, match="mapping"):
            await client.samplers.get_many(["abc"], extra_headers=headers)
    assert not server.recorded


async def test_headers_with_a_borrowed_session_are_sent_per_request(
    server: FakeLoopsServer,
) -> None:
    # A borrowed session has its own default headers; ours all go with each request.
    server.add_sampler("abc")
    async with aiohttp.ClientSession(headers={"X-Session": "theirs"}) as session:
        client = make_client(server, session=session, default_headers={"X-Team": "ml"})
        copy = client.with_options(default_headers={"X-Copy": "1"})
        await client.samplers.get("abc", extra_headers={"X-Call": "c"})
        await copy.samplers.get("abc")
        await client.close()
    first, second = server.recorded
    assert values(first, "X-Team") == ["ml"]
    assert values(first, "X-Call") == ["c"]
    assert values(first, "X-Session") == ["theirs"]
    assert values(second, "X-Copy") == ["1"]
    assert values(second, "X-Team") == ["ml"]
    assert values(second, "Authorization") == [f"Bearer {KEY}"]


# -- every public method takes extra_headers --------------------------------------------


def resource_methods() -> list[tuple[str, Callable[..., Any]]]:
    client = LoopsClient(KEY)
    methods = []
    for group_name, group in vars(client).items():
        if not isinstance(group, Resource):
            continue
        for name, method in inspect.getmembers(group, inspect.ismethod):
            if not name.startswith("_"):
                methods.append((f"{group_name}.{name}", method))
    return methods


def test_every_resource_group_is_introspected() -> None:
    groups = {name.split(".")[0] for name, _ in resource_methods()}
    assert groups == {
        "samplers",
        "runs",
        "trainers",
        "sessions",
        "checkpoints",
        "deployments",
        "capabilities",
        "user_config",
    }
    assert len(resource_methods()) >= 30


@pytest.mark.parametrize(("name", "method"), resource_methods(), ids=lambda x: str(x))
def test_every_public_method_takes_extra_headers(name: str, method: Callable[..., Any]) -> None:
    parameter = inspect.signature(method).parameters.get("extra_headers")
    assert parameter is not None, f"{name} takes no extra_headers"
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    assert parameter.default is None


@pytest.mark.parametrize(("name", "method"), resource_methods(), ids=lambda x: str(x))
def test_every_public_method_takes_a_timeout_for_the_whole_call(
    name: str, method: Callable[..., Any]
) -> None:
    parameter = inspect.signature(method).parameters.get("timeout")
    assert parameter is not None, f"{name} takes no timeout"
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
    # None: the client's; a wait's is the whole wait, with its own default.
    assert parameter.default == (900.0 if ".wait_until_" in name else None)


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


def seed_one_of_each(server: FakeLoopsServer) -> tuple[dict[str, Any], ...]:
    """Serve what :func:`calls` reads: an active sampler ``smp``, and the run, an inactive run,
    the session, the deployment and the checkpoint it returns (in that order)."""
    server.add_sampler("smp", status="ACTIVE")
    run = server.add_run("run1")
    inactive = server.add_run("run2", status={"name": "INACTIVE"})
    session = server.add_session("ses1")
    deployment = server.add_deployment("dep1", debug_files=3, logs=["hello"])
    checkpoint = server.add_checkpoint("ck1", run_id=run["id"], files=3)
    return run, inactive, session, deployment, checkpoint


def calls(server: FakeLoopsServer) -> dict[str, Callable[[LoopsClient, Any], Awaitable[Any]]]:
    """One real call of (nearly) every method, each given the options ``o`` (``extra_headers``,
    ``timeout``)."""
    run, inactive, session, deployment, checkpoint = seed_one_of_each(server)
    fields = {"session_id": session["id"], "base_model": run["base_model"]}
    return {
        "samplers.get": lambda c, o: c.samplers.get("smp", **o),
        "samplers.list": lambda c, o: c.samplers.list(**o),
        "samplers.create": lambda c, o: c.samplers.create(
            session_id=session["id"], base_model=run["base_model"], **o
        ),
        "samplers.get_many": lambda c, o: c.samplers.get_many(["smp"], **o),
        "samplers.iter_many": lambda c, o: collect(c.samplers.iter_many(["smp"], **o)),
        "samplers.wait_until_active": lambda c, o: c.samplers.wait_until_active("smp", **o),
        "samplers.deactivate": lambda c, o: c.samplers.deactivate("smp", **o),
        "runs.get_many": lambda c, o: c.runs.get_many([run["id"], inactive["id"]], **o),
        "runs.iter_many": lambda c, o: collect(c.runs.iter_many([run["id"]], **o)),
        "sessions.get_many": lambda c, o: c.sessions.get_many([session["id"]], **o),
        "sessions.iter_many": lambda c, o: collect(c.sessions.iter_many([session["id"]], **o)),
        "deployments.get_many": lambda c, o: c.deployments.get_many([deployment["id"]], **o),
        "deployments.iter_many": lambda c, o: collect(
            c.deployments.iter_many([deployment["id"]], **o)
        ),
        "runs.list": lambda c, o: c.runs.list(**o),
        "runs.get": lambda c, o: c.runs.get(run["id"], **o),
        "runs.create": lambda c, o: c.runs.create(**o, **fields),
        "runs.deactivate": lambda c, o: c.runs.deactivate(run["id"], **o),
        "runs.wait_until_inactive": lambda c, o: c.runs.wait_until_inactive(inactive["id"], **o),
        "trainers.create": lambda c, o: c.trainers.create(**o, **fields),
        "sessions.create": lambda c, o: c.sessions.create(**o),
        "sessions.get": lambda c, o: c.sessions.get(session["id"], **o),
        "checkpoints.list": lambda c, o: c.checkpoints.list(run_id=run["id"], **o),
        "checkpoints.iter_files": lambda c, o: collect(
            c.checkpoints.iter_files(checkpoint["id"], page_size=2, **o)
        ),
        "checkpoints.source": lambda c, o: c.checkpoints.source(checkpoint["id"], **o),
        "deployments.list": lambda c, o: c.deployments.list(**o),
        "deployments.get": lambda c, o: c.deployments.get(deployment["id"], **o),
        "deployments.iter_debug_archive_files": lambda c, o: collect(
            c.deployments.iter_debug_archive_files(deployment["id"], page_size=2, **o)
        ),
        "deployments.logs": lambda c, o: c.deployments.logs(deployment["id"], **o),
        "deployments.metrics": lambda c, o: c.deployments.metrics(deployment["id"], **o),
        "deployments.wait_until_running": lambda c, o: c.deployments.wait_until_running(
            deployment["id"], **o
        ),
        "deployments.deactivate": lambda c, o: c.deployments.deactivate(deployment["id"], **o),
        "capabilities.list": lambda c, o: c.capabilities.list(**o),
        "user_config.get": lambda c, o: c.user_config.get(**o),
        "user_config.update": lambda c, o: c.user_config.update(
            trainer_accelerator_priority=["H100"], **o
        ),
    }


async def test_each_call_sends_its_extra_headers(server: FakeLoopsServer) -> None:
    async with make_client(server) as client:
        for name, call in calls(server).items():
            before = len(server.recorded)
            await call(client, {"extra_headers": {"X-Call": name}})
            sent = list(server.recorded)[before:]
            assert sent, name
            for request in sent:  # every page of a listing, every poll of a wait
                assert values(request, "X-Call") == [name], request.raw_path
                assert values(request, "Authorization") == [f"Bearer {KEY}"]


def test_the_real_calls_cover_every_method_but_validate(server: FakeLoopsServer) -> None:
    covered = set(calls(server)) | {"checkpoints.validate", "checkpoints.deploy"}
    assert covered == {name for name, _ in resource_methods()}


async def test_validate_and_deploy_send_extra_headers(server: FakeLoopsServer) -> None:
    # Their success needs a valid checkpoint; the headers go out whatever the answer.
    server.enqueue(Reply(status=400), Reply(status=400))
    async with make_client(server) as client:
        with contextlib.suppress(Exception):
            await client.checkpoints.validate("bt://x", extra_headers={"X-Call": "validate"})
        with contextlib.suppress(Exception):
            await client.checkpoints.deploy(
                checkpoint_ids=["ck"],
                model_name="m",
                instance_type_id="i",
                hf_secret_name="s",
                extra_headers={"X-Call": "deploy"},
            )
    assert [values(r, "X-Call") for r in server.recorded] == [["validate"], ["deploy"]]


# -- timeout= on every method: the whole call -------------------------------------------


async def test_each_call_ends_at_its_timeout_though_attempts_may_take_longer(
    server: FakeLoopsServer,
) -> None:
    # Each call's first request is answered after 5 s; attempts may take 30 s and are retried:
    # only the call's own timeout (0.1 s) can end it this soon, without sending it again.
    async with make_client(server, attempt_timeout=30) as client:
        for name, call in calls(server).items():
            server.enqueue(Reply(delay=5))
            before = len(server.recorded)
            if ".wait_until_" in name:  # a wait's timeout is the whole wait
                with pytest.raises(WaitTimeoutError):
                    await call(client, {"timeout": 0.1})
            elif name.endswith("get_many"):  # per lookup: the slow one fails alone
                results = await call(client, {"timeout": 0.1, "return_exceptions": True})
                assert any(isinstance(result, APITimeoutError) for result in results), name
            elif name.endswith("iter_many"):
                pairs = await call(client, {"timeout": 0.1})
                assert any(isinstance(result, APITimeoutError) for _, result in pairs), name
            else:
                with pytest.raises(APITimeoutError, match="deadline"):
                    await call(client, {"timeout": 0.1})
            paths = [request.raw_path for request in list(server.recorded)[before:]]
            assert paths, name
            assert len(paths) == len(set(paths)), name  # the slow request was not sent again


# -- timeout on get_many / iter_many ----------------------------------------------------


async def test_get_many_timeout_fails_only_the_slow_lookup(server: FakeLoopsServer) -> None:
    server.add_sampler("fast")
    server.add_sampler("slow")
    server.enqueue(*[Reply(delay=5)] * 3, sampler_id="slow")
    # Attempts may take 30 s: only the per-lookup timeout can end the slow one this soon.
    async with make_client(server, attempt_timeout=30) as client:
        results = await client.samplers.get_many(
            ["fast", "slow", "fast"], timeout=0.3, return_exceptions=True
        )
    fast, slow, fast_again = results
    assert isinstance(fast, Sampler)
    assert fast_again is fast
    assert isinstance(slow, APITimeoutError)
    assert "deadline" in str(slow)


async def test_get_many_timeout_raises_without_return_exceptions(
    server: FakeLoopsServer,
) -> None:
    server.add_sampler("slow")
    server.enqueue(*[Reply(delay=5)] * 3, sampler_id="slow")
    async with make_client(server, attempt_timeout=30) as client:
        with pytest.raises(APITimeoutError):
            await client.samplers.get_many(["slow"], timeout=0.3)


async def test_iter_many_timeout_fails_only_the_slow_lookup(server: FakeLoopsServer) -> None:
    server.add_sampler("fast")
    server.add_sampler("slow")
    server.enqueue(*[Reply(delay=5)] * 3, sampler_id="slow")
    async with make_client(server, attempt_timeout=30) as client:
        results = dict(
            await collect(client.samplers.iter_many(["slow", "fast"], timeout=0.3, concurrency=2))
        )
    assert isinstance(results["fast"], Sampler)
    assert isinstance(results["slow"], APITimeoutError)


async def test_the_timeout_is_per_lookup_not_for_the_whole_call(server: FakeLoopsServer) -> None:
    # One worker, three lookups each slower than a third of the timeout: all succeed.
    ids = [server.add_sampler()["id"] for _ in range(3)]
    for sampler_id in ids:
        server.enqueue(Reply(delay=0.15), sampler_id=sampler_id)
    async with make_client(server) as client:
        results = await client.samplers.get_many(ids, timeout=0.4, concurrency=1)
    assert [sampler.id for sampler in results] == ids


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), True, "1"])
async def test_a_bad_bulk_timeout_is_refused_before_any_request(
    server: FakeLoopsServer, timeout: Any
) -> None:
    server.add_sampler("abc")
    async with make_client(server) as client:
        with pytest.raises(ConfigurationError, match="timeout"):
            await client.samplers.get_many(["abc"], timeout=timeout, return_exceptions=True)
        with pytest.raises(ConfigurationError, match="timeout"):
            await collect(client.samplers.iter_many(["abc"], timeout=timeout))
    assert not server.recorded


# -- every timeout= and poll_interval= is checked alike (issue 15, item 10) --------------

DURATIONS = ("timeout", "attempt_timeout", "poll_interval")
BAD_DURATIONS = [0, -1, -0.5, float("nan"), float("inf"), float("-inf"), True, False, "1", [1]]


def duration_methods() -> list[tuple[str, str, Callable[..., Any]]]:
    """``(name, parameter, callable)`` for every public method taking a duration, found by
    introspection: the client's constructor and methods and every resource group's."""
    client = LoopsClient(KEY)
    found = [("LoopsClient", LoopsClient)]
    found += [
        (f"LoopsClient.{name}", method)
        for name, method in inspect.getmembers(client, inspect.ismethod)
        if not name.startswith("_")
    ]
    found += resource_methods()
    return [
        (name, parameter, method)
        for name, method in found
        for parameter in DURATIONS
        if parameter in inspect.signature(method).parameters
    ]


def test_the_duration_methods_are_found() -> None:
    names = {(name, parameter) for name, parameter, _ in duration_methods()}
    assert names >= {
        ("LoopsClient", "timeout"),
        ("LoopsClient", "attempt_timeout"),
        ("LoopsClient.with_options", "timeout"),
        ("LoopsClient.with_options", "attempt_timeout"),
        ("samplers.get", "timeout"),
        ("samplers.get_many", "timeout"),
        ("samplers.iter_many", "timeout"),
        ("samplers.wait_until_active", "timeout"),
        ("samplers.wait_until_active", "poll_interval"),
        ("runs.wait_until_inactive", "timeout"),
        ("runs.wait_until_inactive", "poll_interval"),
        ("deployments.wait_until_running", "timeout"),
        ("deployments.wait_until_running", "poll_interval"),
    }


def call_with(method: Callable[..., Any], **keywords: Any) -> Any:
    """Call ``method`` with ``keywords`` and "abc" for each required positional (ids)."""
    arguments = [
        ["abc"] if parameter.name == "ids" else "abc"
        for parameter in inspect.signature(method).parameters.values()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    required = {
        parameter.name: ["abc"] if parameter.name.endswith("_ids") else "abc"
        for parameter in inspect.signature(method).parameters.values()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    return method(*arguments, **required, **keywords)


async def call_by_name(client: LoopsClient, name: str, **keywords: Any) -> None:
    """Call the method ``name`` (as :func:`duration_methods` names it) of ``client``; run it."""
    if name == "LoopsClient":
        target: Any = functools.partial(LoopsClient, KEY, base_url=client.base_url)
    else:
        target = client
        for part in name.removeprefix("LoopsClient.").split("."):
            target = getattr(target, part)
    result = call_with(target, **keywords)
    if inspect.isawaitable(result):
        await result
    elif isinstance(result, AsyncIterator):
        await anext(result)


@pytest.mark.parametrize("bad", BAD_DURATIONS, ids=repr)
async def test_every_duration_is_refused_alike_before_any_io(
    server: FakeLoopsServer, bad: Any
) -> None:
    server.add_sampler("abc")
    async with make_client(server) as client:
        for name, parameter in sorted({(n, p) for n, p, _ in duration_methods()}):
            with pytest.raises(ConfigurationError, match=f"^{parameter} must be") as info:
                await call_by_name(client, name, **{parameter: bad})
            assert isinstance(info.value, ValueError), name
    assert not server.recorded


async def test_bad_bulk_extra_headers_are_raised_not_put_in_every_slot(
    server: FakeLoopsServer,
) -> None:
    server.add_sampler("abc")
    async with make_client(server) as client:
        with pytest.raises(ConfigurationError, match="Authorization"):
            await client.samplers.get_many(
                ["abc", "abc"], return_exceptions=True, extra_headers={"Authorization": "x"}
            )
    assert not server.recorded


async def test_bulk_extra_headers_go_with_every_lookup(server: FakeLoopsServer) -> None:
    ids = [server.add_sampler()["id"] for _ in range(5)]
    async with make_client(server) as client:
        await client.samplers.get_many(ids, extra_headers={"X-Batch": "b1"}, timeout=10)
        await collect(client.samplers.iter_many(ids, extra_headers={"X-Batch": "b2"}))
    batches = [values(request, "X-Batch") for request in server.recorded]
    assert batches == [["b1"]] * 5 + [["b2"]] * 5


# -- with_options -------------------------------------------------------------------------


def connection_counter() -> tuple[aiohttp.TraceConfig, list[object]]:
    created: list[object] = []
    trace = aiohttp.TraceConfig()

    async def on_create(*_: object) -> None:
        created.append(object())

    trace.on_connection_create_end.append(on_create)
    return trace, created


async def test_a_copy_shares_the_connection_pool(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    trace, created = connection_counter()
    async with make_client(server, trace_configs=[trace]) as client:
        copy = client.with_options(timeout=10, default_headers={"X-Copy": "1"})
        for _ in range(3):
            await client.samplers.get("abc")
            await copy.samplers.get("abc")
        assert copy._http._pool.get_session() is client._http._pool.get_session()
    assert len(server.recorded) == 6
    assert len(created) == 1  # one keep-alive connection served both clients


async def test_a_copy_shares_the_retry_budget_and_the_counters(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    budget = RetryBudget(capacity=100, retry_cost=10)
    retry = attrs.evolve(FAST_RETRY, max_attempts=3, budget=budget)
    server.enqueue(*[Reply(status=503)] * 3, sampler_id="abc")
    async with make_client(server, retry=retry) as client:
        copy = client.with_options(retry=attrs.evolve(retry, max_attempts=3))
        with pytest.raises(InternalServerError):
            await copy.samplers.get("abc")
        assert client.stats.budget_tokens == 80  # the copy's two retries, paid by both
        assert client.stats.retries == 2
        assert client.stats.requests == 3
        assert copy.stats == client.stats


async def test_a_copy_shares_the_flow_control(server: FakeLoopsServer) -> None:
    ids = server.add_samplers(60)
    server.set_rate_limit(100, burst=5)
    async with make_client(server) as client:
        copy = client.with_options(timeout=5)
        assert len(await copy.samplers.get_many(ids, concurrency=16)) == 60
        assert client.flow_control is copy.flow_control
        assert client.stats.throttled == copy.stats.throttled > 0
        # The copy's 429s paced the original too.
        assert "samplers.get" in client.stats.rate_limits


async def test_a_copy_has_its_own_timeouts_and_retry(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    server.enqueue(Reply(delay=2), Reply(delay=2), sampler_id="abc")
    async with make_client(server, attempt_timeout=30) as client:
        hasty = client.with_options(
            attempt_timeout=0.2, retry=attrs.evolve(FAST_RETRY, max_attempts=1)
        )
        assert (hasty.attempt_timeout, hasty.timeout, hasty.retry.max_attempts) == (0.2, 60, 1)
        assert (client.attempt_timeout, client.timeout, client.retry) == (30, 60, FAST_RETRY)
        with pytest.raises(APITimeoutError, match=r"timed out after 0\.2s"):
            await hasty.samplers.get("abc")
        brief = client.with_options(timeout=0.3)  # the whole call, retries included
        assert (brief.attempt_timeout, brief.timeout) == (30, 0.3)
        with pytest.raises(APITimeoutError, match="deadline"):
            await brief.samplers.get("abc")
        assert (await client.samplers.get("abc")).id == "abc"
    assert len(server.recorded) == 3  # neither copy retried


async def test_a_copy_has_its_own_body_limit(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    async with make_client(server) as client:
        with pytest.raises(ResponseTooLargeError):
            await client.with_options(max_response_bytes=10).samplers.get("abc")
        assert (await client.samplers.get("abc")).id == "abc"


async def test_a_copy_merges_its_default_headers_over_the_original(
    server: FakeLoopsServer,
) -> None:
    server.add_sampler("abc")
    async with make_client(server, default_headers={"X-Team": "ml", "X-Env": "prod"}) as client:
        copy = client.with_options(default_headers={"x-env": "staging"})
        copy_of_copy = copy.with_options(default_headers={"X-Deep": "1"})
        await client.samplers.get("abc")
        await copy.samplers.get("abc")
        await copy_of_copy.samplers.get("abc", extra_headers={"X-Team": "other"})
    original, first, second = server.recorded
    assert (values(original, "X-Env"), values(original, "X-Deep")) == (["prod"], [])
    assert (values(first, "X-Team"), values(first, "X-Env")) == (["ml"], ["staging"])
    assert values(second, "X-Team") == ["other"]
    assert values(second, "X-Env") == ["staging"]
    assert values(second, "X-Deep") == ["1"]
    for request in server.recorded:
        assert values(request, "Authorization") == [f"Bearer {KEY}"]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"attempt_timeout": 0}, "attempt_timeout"),
        ({"attempt_timeout": float("inf")}, "attempt_timeout"),
        ({"max_response_bytes": 0}, "max_response_bytes"),
        ({"retry": 3}, "RetryPolicy"),
        ({"retry": RetryPolicy(budget=None)}, "budget"),
        ({"default_headers": {"authorization": "Bearer x"}}, "Authorization|authorization"),
        ({"default_headers": {"X-A": "1\n2"}}, "control characters"),
    ],
)
def test_with_options_refuses_what_the_constructor_would(
    options: dict[str, Any], match: str
) -> None:
    client = LoopsClient(KEY)
    with pytest.raises(ConfigurationError, match=match):
        client.with_options(**options)


def test_with_options_keeps_what_it_is_not_given() -> None:
    client = LoopsClient(KEY, timeout=12, attempt_timeout=3, default_headers={"X-Team": "ml"})
    copy = client.with_options()
    assert isinstance(copy, LoopsClient)
    assert copy is not client
    assert (copy.timeout, copy.attempt_timeout) == (12, 3)
    assert (copy.retry, copy.base_url) == (client.retry, client.base_url)
    assert copy.default_headers == client.default_headers
    assert KEY not in repr(copy)


async def test_closing_a_copy_leaves_the_pool_open(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    async with make_client(server) as client:
        async with client.with_options(timeout=5) as copy:
            await copy.samplers.get("abc")
        session = client._http._pool.get_session()
        with pytest.raises(ClientClosedError, match="with_options"):
            await copy.samplers.get("abc")
        assert not session.closed
        assert (await client.samplers.get("abc")).id == "abc"
        other = client.with_options(timeout=6)
        assert (await other.samplers.get("abc")).id == "abc"
    assert len(server.recorded) == 3


async def test_closing_the_original_closes_every_copy(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    client = make_client(server)
    copy = client.with_options(timeout=5)
    await copy.samplers.get("abc")
    session = copy._http._pool.get_session()
    await client.close()
    assert session.closed
    with pytest.raises(ClientClosedError):
        await copy.samplers.get("abc")


async def test_closing_the_original_ends_a_copy_waiting_to_retry(server: FakeLoopsServer) -> None:
    server.add_sampler("abc")
    server.enqueue(Reply(status=503, headers={"Retry-After": "600"}), sampler_id="abc")
    trace, answered = signal_on("on_request_end")
    retry = RetryPolicy(max_retry_after=600)
    client = make_client(server, retry=retry, timeout=None, trace_configs=[trace])
    copy = client.with_options(attempt_timeout=5)
    call = asyncio.create_task(copy.samplers.get("abc"))
    await answered.wait()
    await asyncio.sleep(0.05)  # the 503 is read; the copy sleeps 600 s before its retry
    await client.close()
    with pytest.raises(ClientClosedError, match="closed while the call was running"):
        await asyncio.wait_for(call, timeout=60)
