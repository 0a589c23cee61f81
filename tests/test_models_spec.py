"""Every schema of the spec against its model: payloads generated from the spec's own schemas."""

from __future__ import annotations

import copy
import enum
import json
from typing import Any

import attrs
import pytest

from baseten_loops import (
    AvailabilityModel,
    Checkpoint,
    CheckpointDeployment,
    CheckpointFile,
    CheckpointFilesPage,
    CheckpointS3Source,
    CheckpointVolumeSource,
    DeactivatedDeployment,
    DeactivatedRun,
    DeactivatedSampler,
    DebugArchiveFilesPage,
    Deployment,
    DeploymentMetrics,
    DeploymentNodeMetrics,
    DeploymentStatus,
    EnablementDetails,
    ExpertLayout,
    InferenceVolumeByStatusDatapoint,
    InstanceType,
    LogLevel,
    LoopsDeploymentStatus,
    LoopsDeploymentStatusName,
    LoRAConfig,
    ResponseTimeDatapoint,
    ResponseValidationError,
    Run,
    RunStatus,
    RunStatusName,
    Sampler,
    SamplerStatus,
    Session,
    SortOrder,
    StorageMetrics,
    SupportedModel,
    TrainerCheckpointTarget,
    TrainingJobMetric,
    UnknownCheckpointSource,
    UseCase,
    User,
    UserConfig,
)
from baseten_loops._convert import parse_response, structure
from baseten_loops._models import Log
from baseten_loops._routes import ROUTES

from .spec_payloads import (
    TIMESTAMP,
    defaulted_properties,
    minimal_payload,
    non_null,
    operations,
    payload,
    request_schema,
    response_schema,
    schemas,
    wrong_value,
)

#: Schemas that are objects the library hands out, and their model.
MODELS: dict[str, type] = {
    "CheckpointFile": CheckpointFile,
    "DeactivateLoopsDeploymentResponseV1": DeactivatedDeployment,
    "DeactivateLoopsRunResponseV1": DeactivatedRun,
    "DeactivateLoopsSamplerResponseV1": DeactivatedSampler,
    "DeployLoopsCheckpointResponseV1": CheckpointDeployment,
    "EnablementDetailsV1": EnablementDetails,
    "InferenceVolumeByStatusDatapointV1": InferenceVolumeByStatusDatapoint,
    "InstanceTypeV1": InstanceType,
    "LogV1": Log,
    "LoopsCheckpointFilesResponseV1": CheckpointFilesPage,
    "LoopsCheckpointS3SourceV1": CheckpointS3Source,
    "LoopsCheckpointV1": Checkpoint,
    "LoopsCheckpointVolumeSourceV1": CheckpointVolumeSource,
    "LoopsDebugArchiveFilesResponseV1": DebugArchiveFilesPage,
    "LoopsDeploymentMetricsV1": DeploymentMetrics,
    "LoopsDeploymentNodeMetricsV1": DeploymentNodeMetrics,
    "LoopsDeploymentStatusV1": LoopsDeploymentStatus,
    "LoopsDeploymentV1": Deployment,
    "LoopsLoRAConfigV1": LoRAConfig,
    "LoopsRunStatusV1": RunStatus,
    "LoopsRunV1": Run,
    "LoopsSamplerStatusV1": SamplerStatus,
    "LoopsSamplerV1": Sampler,
    "LoopsSessionV1": Session,
    "LoopsUserConfigV1": UserConfig,
    "ResponseTimeDatapointV1": ResponseTimeDatapoint,
    "StorageMetricsV1": StorageMetrics,
    "SupportedModelV1": SupportedModel,
    "TrainingJobMetricV1": TrainingJobMetric,
    "UserV1": User,
}
ENUMS: dict[str, type[enum.Enum]] = {
    "DeploymentStatusV1": DeploymentStatus,
    "LogLevelV1": LogLevel,
    "LoopsRunStatusNameV1": RunStatusName,
    "LoopsUseCaseV1": UseCase,
    "Name": LoopsDeploymentStatusName,
    "SortOrderV1": SortOrder,
    "TrainerCheckpointTarget": TrainerCheckpointTarget,
    "V1AvailabilityModel": AvailabilityModel,
}
#: Where a model departs from the schema, and why: the live API was seen to leave the instance
#: type's fields and a sampler's user out (see the spec's README), so they may be absent too.
LENIENT: dict[str, set[str]] = {
    "LoopsSamplerV1": {"user"},
    "InstanceTypeV1": {
        "id",
        "name",
        "memory_limit_mib",
        "millicpu_limit",
        "gpu_count",
        "gpu_type",
        "gpu_memory_limit_mib",
    },
}


def request_schemas() -> set[str]:
    return {name for _, _, op in operations().values() if (name := request_schema(op))}


def wrapper_schemas() -> set[str]:
    """Response envelopes the route table unwraps (``{"run": {...}}`` -> the ``Run``)."""
    unwrapped = {response_schema(op) for _, _, op in operations().values()}
    return unwrapped - set(MODELS)


def required(name: str) -> set[str]:
    return set(schemas()[name].get("required", ()))


def properties(name: str) -> dict[str, Any]:
    return schemas()[name].get("properties", {})  # type: ignore[no-any-return]


def strict_cases(kind: str) -> list[tuple[str, str]]:
    cases = []
    for name in MODELS:
        for prop in properties(name):
            if kind == "required" and (prop not in required(name)):
                continue
            if prop in LENIENT.get(name, ()):
                continue
            cases.append((name, prop))
    return cases


def errors_of(data: Any, cls: type) -> tuple[str, ...]:
    with pytest.raises(ResponseValidationError) as info:
        structure(data, cls, path="x")
    assert str(info.value).startswith("invalid x response: ")
    return info.value.errors


def test_every_schema_is_a_model_an_enum_a_request_or_an_unwrapped_envelope() -> None:
    kinds = [set(MODELS), set(ENUMS), request_schemas(), wrapper_schemas()]
    assert set().union(*kinds) == set(schemas())
    assert sum(len(kind) for kind in kinds) == len(schemas()) == 63


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_fields_are_the_schema_properties(name: str) -> None:
    assert {field.name for field in attrs.fields(MODELS[name])} == set(properties(name))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_only_optional_properties_have_defaults(name: str) -> None:
    for field in attrs.fields(MODELS[name]):
        if field.name in LENIENT.get(name, ()):
            continue
        has_default = field.default is not attrs.NOTHING
        assert has_default == (field.name not in required(name)), field.name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_full_payload_structures_and_round_trips(name: str) -> None:
    data = payload(name)
    model = structure(data, MODELS[name], path="x")
    assert isinstance(model, MODELS[name])
    assert model.to_dict() == data


@pytest.mark.parametrize("name", sorted(MODELS))
def test_minimal_payload_gets_the_defaults(name: str) -> None:
    data = minimal_payload(name)
    for prop in LENIENT.get(name, ()):  # these keep the value they are sent
        data[prop] = payload(name)[prop]
    model = structure(data, MODELS[name], path="x")
    for field in attrs.fields(MODELS[name]):
        if field.name not in required(name) | LENIENT.get(name, set()):
            assert getattr(model, field.name) == field.default, field.name


#: Every property the spec gives a default, in the schemas of answers: each may be absent.
DEFAULTED = [case for case in defaulted_properties() if case[0] not in request_schemas()]


def test_every_defaulted_property_of_an_answer_belongs_to_a_model() -> None:
    # Request schemas' defaults are the server's business; every other one is an answer's.
    assert {name for name, _, _ in DEFAULTED} <= set(MODELS)
    assert ("LoopsSamplerV1", "model_id", None) in DEFAULTED  # the newer spec's change
    assert len(DEFAULTED) == 28


@pytest.mark.parametrize(
    ("name", "prop", "default"), DEFAULTED, ids=[f"{n}.{p}" for n, p, _ in DEFAULTED]
)
def test_absent_property_gets_the_spec_default(name: str, prop: str, default: Any) -> None:
    data = payload(name)
    del data[prop]
    model = structure(data, MODELS[name], path="x")
    assert getattr(model, prop) == default
    assert model.to_dict()[prop] == default  # the JSON value itself, enums as their string
    assert attrs.fields_dict(MODELS[name])[prop].default == default


@pytest.mark.parametrize("name", sorted({name for name, _, _ in DEFAULTED}))
def test_answer_without_any_defaulted_property_gets_every_default(name: str) -> None:
    defaults = {prop: default for schema, prop, default in DEFAULTED if schema == name}
    data = {prop: value for prop, value in payload(name).items() if prop not in defaults}
    model = structure(data, MODELS[name], path="x").to_dict()
    assert {prop: model[prop] for prop in defaults} == defaults


def test_sampler_without_model_and_deployment_ids_is_accepted() -> None:
    data = payload("LoopsSamplerV1")
    for prop in ("model_id", "deployment_id", "instance_type", "node_count"):
        del data[prop]
    sampler = structure(data, Sampler, path="sampler")
    assert (sampler.model_id, sampler.deployment_id) == (None, None)
    assert (sampler.instance_type, sampler.node_count) == (None, 1)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_unknown_fields_are_ignored(name: str) -> None:
    data = {**payload(name), "added_next_year": {"x": 1}}
    assert structure(data, MODELS[name], path="x") == structure(
        payload(name), MODELS[name], path="x"
    )


@pytest.mark.parametrize(("name", "prop"), strict_cases("required"))
def test_missing_required_field_is_named(name: str, prop: str) -> None:
    data = payload(name)
    del data[prop]
    assert f"x.{prop}: required field missing" in errors_of(data, MODELS[name])


@pytest.mark.parametrize(("name", "prop"), strict_cases("all"))
def test_wrong_type_is_named_without_coercion(name: str, prop: str) -> None:
    data = payload(name)
    data[prop] = wrong_value(properties(name)[prop])
    errors = errors_of(data, MODELS[name])
    assert any(line.startswith(f"x.{prop}") for line in errors), errors


DATE_TIME_FIELDS = [
    (name, prop)
    for name in MODELS
    for prop, node in properties(name).items()
    if non_null(node).get("format") == "date-time"
]


def test_every_date_time_field_is_covered() -> None:
    assert len(DATE_TIME_FIELDS) == 7


@pytest.mark.parametrize(("name", "prop"), DATE_TIME_FIELDS)
@pytest.mark.parametrize("bad", ["2026-01-02", "2026-01-02T03:04:05", "yesterday"])
def test_bad_or_naive_datetimes_are_refused(name: str, prop: str, bad: str) -> None:
    data = payload(name)
    data[prop] = bad
    assert any(line.startswith(f"x.{prop}: ") for line in errors_of(data, MODELS[name]))


@pytest.mark.parametrize(("name", "prop"), DATE_TIME_FIELDS)
def test_datetimes_are_timezone_aware(name: str, prop: str) -> None:
    data = payload(name)
    data[prop] = "2026-01-02T03:04:05Z"
    value = getattr(structure(data, MODELS[name], path="x"), prop)
    assert value.tzinfo is not None
    assert value.isoformat() == "2026-01-02T03:04:05+00:00"


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_enum_members_are_the_spec_values(name: str) -> None:
    assert [member.value for member in ENUMS[name]] == schemas()[name]["enum"]
    assert all(member == member.value == str(member) for member in ENUMS[name])


def test_inline_expert_layout_enum_matches_the_spec() -> None:
    node = non_null(properties("LoopsLoRAConfigV1")["expert_layout"])
    assert [member.value for member in ExpertLayout] == node["enum"]


@pytest.mark.parametrize(
    ("name", "prop", "known"),
    [
        ("LoopsRunStatusV1", "name", RunStatusName.ACTIVE),
        ("LoopsDeploymentStatusV1", "name", LoopsDeploymentStatusName.RUNNING),
        ("LoopsDeploymentV1", "availability_model", AvailabilityModel.SPOT),
        ("LoopsCheckpointV1", "target", TrainerCheckpointTarget.TRAINER),
        ("LogV1", "level", LogLevel.ERROR),
        ("LoopsLoRAConfigV1", "expert_layout", ExpertLayout.PER_EXPERT),
    ],
)
def test_enums_are_open_known_values_members_new_ones_strings(
    name: str, prop: str, known: enum.Enum
) -> None:
    data = payload(name)
    data[prop] = known.value
    assert getattr(structure(data, MODELS[name], path="x"), prop) is known
    data[prop] = "ADDED_LATER"
    value = getattr(structure(data, MODELS[name], path="x"), prop)
    assert type(value) is str
    assert value == "ADDED_LATER"


def test_nested_errors_name_the_whole_path() -> None:
    run = payload("LoopsRunV1")
    run["sampler"]["status"]["name"] = 3
    run["sampler"]["created_at"] = "2026-01-02"
    errors = errors_of(run, Run)
    assert "x.sampler.status.name: expected a string, got int" in errors
    assert any(line.startswith("x.sampler.created_at: ") for line in errors)


def test_list_items_are_named_by_index() -> None:
    metrics = payload("LoopsDeploymentMetricsV1")
    metrics["per_node_metrics"][0]["cpu_usage"][0]["value"] = True
    metrics["gpu_utilization"]["gpu0"][0]["timestamp"] = None
    errors = errors_of(metrics, DeploymentMetrics)
    assert "x.per_node_metrics[0].cpu_usage[0].value: expected a number, got bool" in errors
    assert any(line.startswith("x.gpu_utilization") for line in errors)


def test_integers_are_numbers_but_booleans_are_not() -> None:
    data = {"value": 3, "timestamp": TIMESTAMP}
    metric = structure(data, TrainingJobMetric, path="x")
    assert metric.value == 3.0
    assert type(metric.value) is float


def test_a_string_is_not_taken_for_an_array() -> None:
    data = {"config_version": "v1", "targets": "qkv"}
    assert errors_of(data, LoRAConfig) == ("x.targets: expected an array, got str",)


def test_free_form_objects_must_be_objects() -> None:
    data = payload("LoopsCheckpointV1")
    data["lora_adapter_config"] = None
    assert structure(data, Checkpoint, path="x").lora_adapter_config is None
    data["lora_adapter_config"] = "r=8"
    assert errors_of(data, Checkpoint) == ("x.lora_adapter_config: expected an object, got str",)


# --- The checkpoint source union --------------------------------------------------------------

SOURCE = ROUTES["checkpoints.source"]


def parse_source(source: Any) -> Any:
    return parse_response(json.dumps({"source": source}).encode(), "source", SOURCE.response_type)


def test_source_kind_picks_the_class() -> None:
    assert parse_source({"kind": "s3"}) == CheckpointS3Source()
    assert parse_source({"kind": "volume", "volume_ref": "v1", "path": "/ckpt"}) == (
        CheckpointVolumeSource(volume_ref="v1", path="/ckpt")
    )


def test_unknown_source_kind_is_kept_with_its_data() -> None:
    raw = {"kind": "gcs", "bucket": "b"}
    assert parse_source(raw) == UnknownCheckpointSource(kind="gcs", data=raw)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ({"path": "/x"}, "source: the 'kind' that tells the source type apart is missing"),
        ({"kind": 3}, "source: expected a string, got int"),
        ("s3", "source: expected an object, got str"),
        ({"kind": "volume", "path": "/x"}, "source.volume_ref: required field missing"),
    ],
)
def test_bad_sources_are_named(source: Any, error: str) -> None:
    with pytest.raises(ResponseValidationError) as info:
        parse_source(source)
    assert info.value.errors == (error,)


# --- Every route's answer, from its response schema --------------------------------------


@pytest.mark.parametrize("route", ROUTES.values(), ids=list(ROUTES))
def test_every_route_answer_structures_from_its_schema(route: Any) -> None:
    _, _, operation = operations()[route.operation_id]
    data = payload(response_schema(operation))
    result = parse_response(json.dumps(data).encode(), route.response_key, route.response_type)
    if route.response_type is None:
        assert result is None
    elif route.response_key:
        expected = data[route.response_key]
        assert structure(copy.deepcopy(expected), route.response_type, path="x") == result
    else:
        assert result.to_dict() == data


def test_list_answers_name_the_item_index() -> None:
    route = ROUTES["runs.list"]
    runs = [payload("LoopsRunV1"), payload("LoopsRunV1")]
    runs[1]["created_at"] = "2026-01-02"
    with pytest.raises(ResponseValidationError) as info:
        parse_response(json.dumps({"runs": runs}).encode(), "runs", route.response_type)
    assert str(info.value).startswith("invalid runs response: runs[1].created_at: ")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[]", "(body): expected a JSON object, got list"),
        (b"{}", "run: required field missing"),
        (b"\xff", "(body): not valid UTF-8 (invalid start byte at byte 0)"),
    ],
)
def test_bodies_that_are_not_the_envelope_are_refused(body: bytes, error: str) -> None:
    with pytest.raises(ResponseValidationError) as info:
        parse_response(body, "run", Run)
    assert info.value.errors == (error,)


def test_whole_object_answers_name_fields_at_the_top() -> None:
    with pytest.raises(ResponseValidationError) as info:
        parse_response(b'{"model_id": 1, "deployment_id": "d"}', "", CheckpointDeployment)
    assert info.value.errors == ("model_id: expected a string, got int",)
    with pytest.raises(ResponseValidationError) as info:
        parse_response(b"[1]", "", CheckpointDeployment)
    assert str(info.value).startswith("invalid CheckpointDeployment response: (body)")


@pytest.mark.parametrize(
    ("status", "active", "inactive"),
    [("ACTIVE", True, False), ("INACTIVE", False, True), ("PAUSED", False, False)],
)
def test_run_status_families(status: str, active: bool, inactive: bool) -> None:
    run_status = structure({"name": status}, RunStatus, path="x")
    assert (run_status.is_active, run_status.is_inactive) == (active, inactive)


@pytest.mark.parametrize(
    ("status", "ready", "pending", "failed"),
    [
        ("CREATED", False, True, False),
        ("DEPLOYING", False, True, False),
        ("RUNNING", True, False, False),
        ("SCALED_TO_ZERO", False, False, False),
        ("FAILED", False, False, True),
        ("STOPPED", False, False, True),
        ("PREEMPTED", False, False, True),
        ("ADDED_LATER", False, False, False),
    ],
)
def test_deployment_status_families(status: str, ready: bool, pending: bool, failed: bool) -> None:
    deployment_status = structure({"name": status}, LoopsDeploymentStatus, path="x")
    assert (
        deployment_status.is_ready,
        deployment_status.is_pending,
        deployment_status.is_failed,
    ) == (ready, pending, failed)
