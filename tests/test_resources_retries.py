"""Retries stay safe: a create is sent once unless the failure proves it was not acted on."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from baseten_loops import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    LoopsClient,
)
from baseten_loops._routes import ROUTES

from .conftest import FAST_RETRY
from .recording import Answer, RecordingServer
from .spec_payloads import operations, payload, response_schema

Call = Callable[[LoopsClient], Awaitable[Any]]

#: Every route that must not be sent twice, with a call and where it lands.
NOT_IDEMPOTENT: list[tuple[str, Call, str, str]] = [
    ("sessions.create", lambda c: c.sessions.create(), "POST", "/v1/loops/sessions"),
    ("runs.create", lambda c: c.runs.create(session_id="s", base_model="m"), "POST",
     "/v1/loops/runs"),
    ("trainers.create", lambda c: c.trainers.create(session_id="s", base_model="m"), "POST",
     "/v1/loops/trainers"),
    ("samplers.create", lambda c: c.samplers.create(session_id="s", team_id="t"), "POST",
     "/v1/teams/t/loops/samplers"),
    ("checkpoints.deploy",
     lambda c: c.checkpoints.deploy(checkpoint_ids=["c"], model_name="m", instance_type_id="i",
                                    hf_secret_name="h"),
     "POST", "/v1/loops/checkpoints/deploy"),
    ("deployments.deactivate", lambda c: c.deployments.deactivate("d1"), "POST",
     "/v1/loops/deployments/d1/deactivate"),
]  # fmt: skip
IDS = [name for name, *_ in NOT_IDEMPOTENT]

#: Failures after which the server may have acted: never resent.
AMBIGUOUS: dict[str, tuple[Answer, type[Exception]]] = {
    "500": (Answer(status=500), InternalServerError),
    "502": (Answer(status=502), InternalServerError),
    "503 without Retry-After": (Answer(status=503), InternalServerError),
    "timeout": (Answer(hang=True), APITimeoutError),
    "connection dropped after the request was read": (Answer(drop=True), APIConnectionError),
}
#: Answers that prove the server did not act: resent.
REFUSED = {
    "429": Answer(status=429, headers={"Retry-After": "0"}),
    "429 without Retry-After": Answer(status=429),
    "503 with Retry-After": Answer(status=503, headers={"Retry-After": "0"}),
}


def hurried(client: LoopsClient, answer: Answer) -> LoopsClient:
    """The client to face ``answer`` with: one whose attempts give up soon if the server hangs.

    Only then: on a loaded machine a short attempt timeout would turn a dropped connection or
    a 500 into a timeout before the server even read the request.
    """
    return client.with_options(attempt_timeout=0.25) if answer.hang else client


def success_for(route_name: str) -> Answer:
    route = ROUTES[route_name]
    return Answer(body=payload(response_schema(operations()[route.operation_id][2])))


def test_the_table_lists_every_route_that_is_not_idempotent() -> None:
    assert set(IDS) == {name for name, route in ROUTES.items() if not route.idempotent}


@pytest.mark.parametrize(("name", "call", "method", "path"), NOT_IDEMPOTENT, ids=IDS)
@pytest.mark.parametrize("failure", list(AMBIGUOUS))
async def test_a_create_is_sent_once_when_the_server_may_have_acted(
    name: str,
    call: Call,
    method: str,
    path: str,
    failure: str,
    recorder: RecordingServer,
    rclient: LoopsClient,
) -> None:
    answer, error = AMBIGUOUS[failure]
    recorder.script(method, path, answer, success_for(name))
    with pytest.raises(error):
        await call(hurried(rclient, answer))
    assert recorder.count(method, path) == 1
    assert rclient.stats.retries == 0


@pytest.mark.parametrize(("name", "call", "method", "path"), NOT_IDEMPOTENT, ids=IDS)
@pytest.mark.parametrize("refusal", list(REFUSED))
async def test_a_create_is_resent_when_the_server_refused_it_unprocessed(
    name: str,
    call: Call,
    method: str,
    path: str,
    refusal: str,
    recorder: RecordingServer,
    rclient: LoopsClient,
) -> None:
    recorder.script(method, path, REFUSED[refusal], success_for(name))
    await call(rclient)
    assert recorder.count(method, path) == 2


async def test_a_create_is_resent_when_the_connection_was_refused() -> None:
    # A port nobody listens on: the connect fails, so nothing was written.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with LoopsClient("k", base_url=f"http://127.0.0.1:{port}", retry=FAST_RETRY) as client:
        with pytest.raises(APIConnectionError):
            await client.sessions.create()
        assert client.stats.retries == FAST_RETRY.max_attempts - 1


@pytest.mark.parametrize("failure", list(AMBIGUOUS))
@pytest.mark.parametrize(
    ("name", "call", "method", "path"),
    [
        ("runs.get", lambda c: c.runs.get("text"), "GET", "/v1/loops/runs/text"),
        ("runs.deactivate", lambda c: c.runs.deactivate("r1"), "POST",
         "/v1/loops/runs/r1/deactivate"),
        ("deployments.metrics", lambda c: c.deployments.metrics("d1"), "POST",
         "/v1/loops/deployments/d1/metrics"),
        ("user_config.update", lambda c: c.user_config.update(sampler_accelerator_priority=None),
         "PATCH", "/v1/loops/user_config"),
    ],
)  # fmt: skip
async def test_idempotent_routes_are_retried_after_any_retryable_failure(
    name: str,
    call: Call,
    method: str,
    path: str,
    failure: str,
    recorder: RecordingServer,
    rclient: LoopsClient,
) -> None:
    answer = AMBIGUOUS[failure][0]
    recorder.script(method, path, answer, success_for(name))
    await call(hurried(rclient, answer))
    assert recorder.count(method, path) == 2
