"""Waiting for runs and deployments, through the polling loop samplers share."""

from __future__ import annotations

from typing import Any

import pytest

from baseten_loops import (
    Deployment,
    DeploymentFailedError,
    InvalidIdError,
    LoopsClient,
    LoopsDeploymentStatusName,
    Run,
    Sampler,
    WaitFailedError,
    WaitTimeoutError,
)

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
    with pytest.raises(ValueError, match="must be > 0"):
        await rclient.deployments.wait_until_running(
            "d1", timeout=timeout, poll_interval=poll_interval
        )


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
