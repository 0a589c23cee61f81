"""What a type checker sees of SyncLoopsClient: checked by ``mypy --strict`` in CI (.ci/run).

Never run, never collected by pytest: every line is a claim about a type. ``assert_type``
fails the mypy run if a sync method's type is not exactly the awaited type of its async twin
(``SyncIterator`` for an async iterator); an unneeded ``type: ignore`` is an error too
(``warn_unused_ignores``), so the lines that carry one prove a mistake is flagged, not typed
``Any``. ``tests/test_sync.py`` checks that every method of every group has a line here, and
every method of every group of ``client.with_raw_response`` (``RawResponse[...]`` of the same
type; a raw listing's ``parse()`` is a ``SyncIterator``). The async groups' ``get_many`` and
``iter_many`` are written once for every group (``LookupsById[T]``): the last function here
checks that each group's still names its model.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from typing_extensions import assert_type

from baseten_loops import (
    Checkpoint,
    CheckpointDeployment,
    CheckpointFile,
    CheckpointSource,
    ClientStats,
    DeactivatedDeployment,
    DeactivatedRun,
    DeactivatedSampler,
    Deployment,
    DeploymentMetrics,
    FlowControl,
    Log,
    LoopsClient,
    LoopsError,
    RawResponse,
    RetryPolicy,
    Run,
    Sampler,
    Session,
    SupportedModel,
    SyncIterator,
    SyncLoopsClient,
    SyncLoopsClientWithRawResponse,
    SyncSamplersResource,
    SyncSamplersResourceWithRawResponse,
    UserConfig,
)


def every_method_keeps_its_type(client: SyncLoopsClient) -> None:
    """One ``assert_type`` per method of every resource group, and the client's own."""
    assert_type(client.samplers, SyncSamplersResource)
    assert_type(client.samplers.get("abc123", timeout=1.0), Sampler)
    assert_type(client.samplers.get_many(["abc123"]), list[Sampler])
    assert_type(
        client.samplers.get_many(["abc123"], return_exceptions=True), list[Sampler | LoopsError]
    )
    assert_type(
        client.samplers.iter_many(["abc123"], concurrency=4),
        SyncIterator[tuple[str, Sampler | LoopsError]],
    )
    assert_type(client.samplers.wait_until_active("abc123", poll_interval=1.0), Sampler)
    assert_type(client.samplers.list(scope="org"), list[Sampler])
    assert_type(client.samplers.create(session_id="s1", base_model="m"), Sampler)
    assert_type(client.samplers.deactivate("abc123"), DeactivatedSampler)

    assert_type(client.runs.list(base_model="m"), list[Run])
    assert_type(client.runs.create(session_id="s1", base_model="m", lora_rank=16), Run)
    assert_type(client.runs.get("r1"), Run)
    assert_type(client.runs.get_many(["r1"], timeout=5.0), list[Run])
    assert_type(client.runs.iter_many(["r1"]), SyncIterator[tuple[str, Run | LoopsError]])
    assert_type(client.runs.deactivate("r1"), DeactivatedRun)
    assert_type(client.runs.wait_until_inactive("r1", timeout=60.0), Run)

    assert_type(client.trainers.create(session_id="s1", base_model="m"), Run)

    assert_type(client.sessions.create(team_id="t1"), Session)
    assert_type(client.sessions.get("s1"), Session)
    assert_type(client.sessions.get_many([], return_exceptions=True), list[Session | LoopsError])
    assert_type(client.sessions.iter_many(["s1"]), SyncIterator[tuple[str, Session | LoopsError]])

    assert_type(client.checkpoints.list(run_id="r1"), list[Checkpoint])
    assert_type(client.checkpoints.validate("bt://loops:r1/sampler_weights/x"), None)
    assert_type(
        client.checkpoints.deploy(
            checkpoint_ids=["c1"], model_name="m", instance_type_id="i", hf_secret_name="h"
        ),
        CheckpointDeployment,
    )
    assert_type(client.checkpoints.iter_files("c1", page_size=10), SyncIterator[CheckpointFile])
    assert_type(client.checkpoints.source("c1"), CheckpointSource)

    assert_type(client.deployments.list(), list[Deployment])
    assert_type(client.deployments.get("d1"), Deployment)
    assert_type(client.deployments.get_many(["d1"], on_progress=print), list[Deployment])
    assert_type(
        client.deployments.iter_many(["d1"]), SyncIterator[tuple[str, Deployment | LoopsError]]
    )
    assert_type(client.deployments.deactivate("d1"), DeactivatedDeployment)
    assert_type(client.deployments.iter_debug_archive_files("d1"), SyncIterator[CheckpointFile])
    assert_type(client.deployments.metrics("d1", step_seconds=60), DeploymentMetrics)
    assert_type(client.deployments.logs("d1", limit=10), list[Log])
    assert_type(client.deployments.wait_until_running("d1"), Deployment)

    assert_type(client.capabilities.list(use_case="rl"), list[SupportedModel])

    assert_type(client.user_config.get(), UserConfig)
    assert_type(client.user_config.update(trainer_accelerator_priority=["H100"]), UserConfig)

    assert_type(client.with_options(timeout=60), SyncLoopsClient)
    assert_type(client.base_url, str)
    assert_type(client.retry, RetryPolicy)
    assert_type(client.flow_control, FlowControl)
    assert_type(client.stats, ClientStats)
    assert_type(client.timeout, float | None)
    assert_type(client.attempt_timeout, float)
    assert_type(client.default_headers, dict[str, str])
    with SyncLoopsClient("key", timeout=5.0) as opened:
        assert_type(opened, SyncLoopsClient)


def every_raw_method_keeps_its_type(client: SyncLoopsClient) -> None:
    """One ``assert_type`` per method of every group of ``client.with_raw_response``."""
    raw = client.with_raw_response
    assert_type(raw, SyncLoopsClientWithRawResponse)
    assert_type(client.with_options(timeout=1).with_raw_response, SyncLoopsClientWithRawResponse)
    assert_type(raw.samplers, SyncSamplersResourceWithRawResponse)
    assert_type(client.with_raw_response.samplers.get("abc123"), RawResponse[Sampler])
    assert_type(client.with_raw_response.samplers.get("abc123").parse(), Sampler)
    assert_type(client.with_raw_response.samplers.get_many(["abc123"]), list[RawResponse[Sampler]])
    assert_type(
        client.with_raw_response.samplers.get_many(["abc123"], return_exceptions=True),
        list[RawResponse[Sampler] | LoopsError],
    )
    assert_type(
        client.with_raw_response.samplers.iter_many(["abc123"], concurrency=4),
        SyncIterator[tuple[str, RawResponse[Sampler] | LoopsError]],
    )
    assert_type(
        client.with_raw_response.samplers.wait_until_active("abc123", poll_interval=1.0),
        RawResponse[Sampler],
    )
    assert_type(client.with_raw_response.samplers.list(scope="org"), RawResponse[list[Sampler]])
    assert_type(
        client.with_raw_response.samplers.create(session_id="s1", base_model="m"),
        RawResponse[Sampler],
    )
    assert_type(
        client.with_raw_response.samplers.deactivate("abc123"), RawResponse[DeactivatedSampler]
    )

    assert_type(client.with_raw_response.runs.list(base_model="m"), RawResponse[list[Run]])
    assert_type(
        client.with_raw_response.runs.create(session_id="s1", base_model="m", lora_rank=16),
        RawResponse[Run],
    )
    assert_type(client.with_raw_response.runs.get("r1"), RawResponse[Run])
    assert_type(client.with_raw_response.runs.get_many(["r1"], timeout=5.0), list[RawResponse[Run]])
    assert_type(
        client.with_raw_response.runs.iter_many(["r1"]),
        SyncIterator[tuple[str, RawResponse[Run] | LoopsError]],
    )
    assert_type(client.with_raw_response.runs.deactivate("r1"), RawResponse[DeactivatedRun])
    assert_type(
        client.with_raw_response.runs.wait_until_inactive("r1", timeout=60.0), RawResponse[Run]
    )

    assert_type(
        client.with_raw_response.trainers.create(session_id="s1", base_model="m"),
        RawResponse[Run],
    )

    assert_type(client.with_raw_response.sessions.create(team_id="t1"), RawResponse[Session])
    assert_type(client.with_raw_response.sessions.get("s1"), RawResponse[Session])
    assert_type(
        client.with_raw_response.sessions.get_many([], return_exceptions=True),
        list[RawResponse[Session] | LoopsError],
    )
    assert_type(
        client.with_raw_response.sessions.iter_many(["s1"]),
        SyncIterator[tuple[str, RawResponse[Session] | LoopsError]],
    )

    assert_type(
        client.with_raw_response.checkpoints.list(run_id="r1"), RawResponse[list[Checkpoint]]
    )
    assert_type(
        client.with_raw_response.checkpoints.validate("bt://loops:r1/sampler_weights/x"),
        RawResponse[None],
    )
    assert_type(
        client.with_raw_response.checkpoints.deploy(
            checkpoint_ids=["c1"], model_name="m", instance_type_id="i", hf_secret_name="h"
        ),
        RawResponse[CheckpointDeployment],
    )
    assert_type(
        client.with_raw_response.checkpoints.iter_files("c1", page_size=10),
        RawResponse[SyncIterator[CheckpointFile]],
    )
    assert_type(
        client.with_raw_response.checkpoints.iter_files("c1").parse(), SyncIterator[CheckpointFile]
    )
    assert_type(client.with_raw_response.checkpoints.source("c1"), RawResponse[CheckpointSource])

    assert_type(client.with_raw_response.deployments.list(), RawResponse[list[Deployment]])
    assert_type(client.with_raw_response.deployments.get("d1"), RawResponse[Deployment])
    assert_type(
        client.with_raw_response.deployments.get_many(["d1"], on_progress=print),
        list[RawResponse[Deployment]],
    )
    assert_type(
        client.with_raw_response.deployments.iter_many(["d1"]),
        SyncIterator[tuple[str, RawResponse[Deployment] | LoopsError]],
    )
    assert_type(
        client.with_raw_response.deployments.deactivate("d1"), RawResponse[DeactivatedDeployment]
    )
    assert_type(
        client.with_raw_response.deployments.iter_debug_archive_files("d1"),
        RawResponse[SyncIterator[CheckpointFile]],
    )
    assert_type(
        client.with_raw_response.deployments.metrics("d1", step_seconds=60),
        RawResponse[DeploymentMetrics],
    )
    assert_type(client.with_raw_response.deployments.logs("d1", limit=10), RawResponse[list[Log]])
    assert_type(
        client.with_raw_response.deployments.wait_until_running("d1"), RawResponse[Deployment]
    )

    assert_type(
        client.with_raw_response.capabilities.list(use_case="rl"),
        RawResponse[list[SupportedModel]],
    )

    assert_type(client.with_raw_response.user_config.get(), RawResponse[UserConfig])
    assert_type(
        client.with_raw_response.user_config.update(trainer_accelerator_priority=["H100"]),
        RawResponse[UserConfig],
    )


def mistakes_are_flagged(client: SyncLoopsClient) -> None:
    """Each line is an error for mypy: a wrong argument, an unknown method, a removed option."""
    client.runs.get(123)  # type: ignore[arg-type]
    client.runs.gett("r1")  # type: ignore[attr-defined]
    client.samplers.get("abc123", timeout="soon")  # type: ignore[arg-type]
    client.runs.create(session_id="s1")  # type: ignore[call-arg]
    SyncLoopsClient("key", session=None)  # type: ignore[call-arg]
    SyncLoopsClient("key", timeout="30")  # type: ignore[arg-type]
    client.with_raw_response.runs.get(123)  # type: ignore[arg-type]
    client.with_raw_response.runs.gett("r1")  # type: ignore[attr-defined]
    client.with_raw_response.samplers.get_many(["a"], return_exceptions=None)  # type: ignore[call-overload]
    for _ in client.with_raw_response.checkpoints.iter_files("c1"):  # type: ignore[attr-defined]
        pass  # a RawResponse: iterate its parse()


async def the_async_bulk_lookups_name_each_groups_model(loops: LoopsClient) -> None:
    """``get_many`` and ``iter_many``, written once (``LookupsById[T]``), on each async group."""
    assert_type(await loops.samplers.get_many(["abc123"]), list[Sampler])
    assert_type(await loops.runs.get_many(["r1"], return_exceptions=True), list[Run | LoopsError])
    assert_type(await loops.sessions.get_many(["s1"], timeout=5.0), list[Session])
    assert_type(await loops.deployments.get_many(["d1"]), list[Deployment])
    assert_type(loops.runs.iter_many(["r1"]), AsyncGenerator[tuple[str, Run | LoopsError], None])
    assert_type(
        loops.deployments.iter_many(["d1"]),
        AsyncGenerator[tuple[str, Deployment | LoopsError], None],
    )
    raw = loops.with_raw_response
    assert_type(await raw.sessions.get_many(["s1"]), list[RawResponse[Session]])
    assert_type(
        await raw.runs.get_many(["r1"], return_exceptions=True),
        list[RawResponse[Run] | LoopsError],
    )
    assert_type(
        raw.samplers.iter_many(["abc123"]),
        AsyncGenerator[tuple[str, RawResponse[Sampler] | LoopsError], None],
    )
    await loops.runs.get_many(["r1"], return_exceptions=None)  # type: ignore[call-overload]
    await loops.sessions.get_many_by_id(["s1"])  # type: ignore[attr-defined]
