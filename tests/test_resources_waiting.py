"""Waiting for runs and deployments, through the polling loop samplers share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from baseten_loops import (
    APITimeoutError,
    ConfigurationError,
    Deployment,
    DeploymentFailedError,
    InvalidIdError,
    LoopsClient,
    LoopsDeploymentStatusName,
    RateLimitError,
    RetryPolicy,
    Run,
    Sampler,
    WaitFailedError,
    WaitTimeoutError,
)
from baseten_loops.testing import FakeLoopsServer, Reply

from .conftest import FAST_RETRY
from .recording import Answer, RecordingServer
from .spec_payloads import payload

DEPLOYMENT = "/v1/loops/deployments/d1"
RUN = "/v1/loops/runs/r1"


def deployment(status: str) -> Answer:
    body = {**payload("LoopsDeploymentV1"), "id": "d1", "status": {"name": status}}
    return Answer(body={"deployment": body})


def run(status: str) -> Answer:
    return Answer(body={"run": {**payload("LoopsRunV1"), "id": "r1", "status": {"name": status}}})


async def test_deployment_wait_returns_once_running_and_reports_each_change(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    statuses = ["CREATED", "DEPLOYING", "DEPLOYING", "SCALED_TO_ZERO", "RUNNING"]
    recorder.script("GET", DEPLOYMENT, *[deployment(s) for s in statuses])
    seen: list[Any] = []
    result = await rclient.deployments.wait_until_running(
        "d1", poll_interval=0.001, on_status=lambda d: seen.append(d.status.name)
    )
    assert isinstance(result, Deployment)
    assert result.status.name is LoopsDeploymentStatusName.RUNNING
    assert seen == ["CREATED", "DEPLOYING", "SCALED_TO_ZERO", "RUNNING"]
    assert recorder.count("GET", DEPLOYMENT) == 5


@pytest.mark.parametrize("failed", ["FAILED", "STOPPED", "PREEMPTED"])
async def test_deployment_wait_stops_at_once_on_a_failed_status(
    failed: str, recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script("GET", DEPLOYMENT, deployment("DEPLOYING"), deployment(failed))
    with pytest.raises(DeploymentFailedError, match=f"'d1' is {failed}") as info:
        await rclient.deployments.wait_until_running("d1", poll_interval=0.001)
    assert isinstance(info.value, WaitFailedError)
    assert info.value.deployment.status.name == failed
    assert info.value.last_seen is info.value.deployment
    assert recorder.count("GET", DEPLOYMENT) == 2


async def test_deployment_wait_times_out_with_the_last_status(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script("GET", DEPLOYMENT, deployment("DEPLOYING"))
    with pytest.raises(WaitTimeoutError) as info:
        await rclient.deployments.wait_until_running("d1", timeout=0.5, poll_interval=0.1)
    assert str(info.value) == (
        "deployment 'd1' did not become RUNNING within 0.5s (last status DEPLOYING)"
    )
    assert info.value.resource_id == "d1"
    assert isinstance(info.value.last_seen, Deployment)
    assert info.value.sampler_id is None


async def test_run_wait_returns_once_inactive(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script("GET", RUN, run("ACTIVE"), run("ACTIVE"), run("INACTIVE"))
    result = await rclient.runs.wait_until_inactive("r1", poll_interval=0.001)
    assert isinstance(result, Run)
    assert result.status.is_inactive
    assert recorder.count("GET", RUN) == 3


async def test_run_wait_keeps_an_unknown_status_and_times_out(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    recorder.script("GET", RUN, run("DRAINING"))
    with pytest.raises(WaitTimeoutError, match=r"last status DRAINING\)$"):
        await rclient.runs.wait_until_inactive("r1", timeout=0.5, poll_interval=0.1)


@pytest.mark.parametrize(
    "wait",
    [
        lambda c: c.runs.wait_until_inactive(".."),
        lambda c: c.deployments.wait_until_running("a/b"),
    ],
)
async def test_waits_refuse_bad_ids_before_any_request(
    wait: Any, recorder: RecordingServer, rclient: LoopsClient
) -> None:
    with pytest.raises(InvalidIdError):
        await wait(rclient)
    assert recorder.received == []


@pytest.mark.parametrize(("timeout", "poll_interval"), [(0, 1), (1, 0), (-1, 1)])
async def test_waits_refuse_a_timeout_or_interval_that_is_not_positive(
    timeout: float, poll_interval: float, rclient: LoopsClient
) -> None:
    with pytest.raises(ConfigurationError, match="must be finite and > 0") as info:
        await rclient.deployments.wait_until_running(
            "d1", timeout=timeout, poll_interval=poll_interval
        )
    assert isinstance(info.value, ValueError)  # what it raised before it was a LoopsError


async def test_create_a_sampler_then_wait_until_active(
    recorder: RecordingServer, rclient: LoopsClient
) -> None:
    sampler = {**payload("LoopsSamplerV1"), "id": "sp1"}
    recorder.script(
        "POST",
        "/v1/loops/samplers",
        Answer(body={"sampler": {**sampler, "status": {"name": "BUILDING"}}}),
    )
    recorder.script(
        "GET",
        "/v1/loops/samplers/sp1",
        Answer(body={"sampler": {**sampler, "status": {"name": "DEPLOYING"}}}),
        Answer(body={"sampler": {**sampler, "status": {"name": "ACTIVE"}}}),
    )
    created = await rclient.samplers.create(session_id="s1", base_model="Q/8B")
    ready = await rclient.samplers.wait_until_active(created.id, poll_interval=0.001)
    assert isinstance(ready, Sampler)
    assert ready.status.is_ready
    assert [r.method for r in recorder.received] == ["POST", "GET", "GET"]


# -- waiting is never blind (issue 15, item 9) -------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeLoopsServer]:
    async with FakeLoopsServer() as server:
        server.add_sampler("s1", status="BUILDING")
        server.add_run("r1")
        server.add_deployment("d1", status="DEPLOYING")
        yield server


def fake_client(server: FakeLoopsServer, **options: Any) -> LoopsClient:
    options.setdefault("retry", FAST_RETRY)
    return LoopsClient(server.api_key, base_url=server.base_url, **options)


# Each wait, the id it waits for, the statuses on the way and the one awaited.
WAITS = {
    "samplers": (
        lambda c, **kw: c.samplers.wait_until_active("s1", **kw),
        "s1",
        ("BUILDING", "DEPLOYING", "ACTIVE"),
    ),
    "runs": (
        lambda c, **kw: c.runs.wait_until_inactive("r1", **kw),
        "r1",
        ("ACTIVE", "ACTIVE", "INACTIVE"),
    ),
    "deployments": (
        lambda c, **kw: c.deployments.wait_until_running("d1", **kw),
        "d1",
        ("CREATED", "DEPLOYING", "RUNNING"),
    ),
}


@pytest.mark.parametrize("kind", list(WAITS))
async def test_the_last_lookup_is_made_at_the_deadline(fake: FakeLoopsServer, kind: str) -> None:
    # Lookups at 0 and 0.3 s; the object is there after that. The wait once slept out its
    # last 0.2 s and timed out after two lookups; now its last lookup sees the object.
    wait, object_id, statuses = WAITS[kind]
    fake.script_statuses(object_id, statuses)
    async with fake_client(fake) as client:
        found = await wait(client, timeout=0.5, poll_interval=0.3)
    assert found.status.name == statuses[-1]
    assert fake.requests_by_id[object_id] == 3


@pytest.mark.parametrize("kind", list(WAITS))
async def test_a_throttled_wait_times_out_with_the_rate_limit_as_its_cause(
    fake: FakeLoopsServer, kind: str
) -> None:
    # Every lookup is answered 429 "come back in 1 s": the wait used to end at once with the
    # RateLimitError; it is a wait, so it ends at its timeout, saying why.
    wait, object_id, _ = WAITS[kind]
    fake.enqueue(*[Reply(429, headers={"Retry-After": "1"})] * 50, sampler_id=object_id)
    # The default policy honours a Retry-After of 1 s, which would end past the deadline: the
    # lookup gives up at once with the RateLimitError.
    async with fake_client(fake, retry=RetryPolicy()) as client:
        with pytest.raises(WaitTimeoutError, match=r"within 0\.3s \(no status seen\)") as info:
            await wait(client, timeout=0.3, poll_interval=0.1)
    assert isinstance(info.value.__cause__, RateLimitError)
    assert info.value.last_seen is None
    # Retry-After (1 s) is honoured: no lookup is made again before the deadline.
    assert fake.requests_by_id[object_id] == 1


async def test_a_wait_keeps_polling_through_throttling_and_returns(fake: FakeLoopsServer) -> None:
    # Each lookup tries once: every 429 reaches the wait, which goes on polling.
    fake.script_statuses("s1", ["BUILDING", "ACTIVE"])
    fake.enqueue(Reply(200), *[Reply(429, headers={"Retry-After": "0"})] * 3, sampler_id="s1")
    seen: list[str] = []
    async with fake_client(fake, retry=RetryPolicy(max_attempts=1)) as client:
        sampler = await client.samplers.wait_until_active(
            "s1", timeout=5, poll_interval=0.01, on_status=lambda s: seen.append(s.status.name)
        )
    assert sampler.status.is_ready
    assert seen == ["BUILDING", "ACTIVE"]
    assert fake.requests_by_id["s1"] == 5


async def test_a_wait_against_a_rate_limited_server_times_out_at_its_deadline(
    fake: FakeLoopsServer,
) -> None:
    # One request a second admitted: the first lookup sees BUILDING, the others get 429s
    # (the session retries them until the next wait would cross the deadline).
    fake.set_rate_limit(1.0)
    async with fake_client(fake) as client:
        with pytest.raises(WaitTimeoutError, match=r"\(last status BUILDING\)") as info:
            await client.samplers.wait_until_active("s1", timeout=0.4, poll_interval=0.05)
    assert isinstance(info.value.__cause__, RateLimitError | APITimeoutError)
    assert isinstance(info.value.last_sampler, Sampler)
    assert fake.rate_limited >= 1
