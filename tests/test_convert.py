from __future__ import annotations

import gc
import json
import string
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baseten_loops import (
    DeploymentMetrics,
    DeploymentStatus,
    InstanceType,
    ResponseValidationError,
    Run,
    Sampler,
    SamplerStatus,
    User,
)
from baseten_loops._convert import MAX_ERRORS, parse_datetime, parse_response, structure
from baseten_loops.testing import sampler_payload

from .spec_payloads import payload as spec_payload


def parse_sampler_response(raw: bytes) -> Sampler:
    """What ``samplers.get`` does with a 2xx body."""
    return parse_response(raw, "sampler", Sampler)  # type: ignore[no-any-return]


REQUIRED = ("id", "base_url", "base_model", "created_at", "status")


def body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def parse(**overrides: Any) -> Sampler:
    payload = sampler_payload("abc123")
    payload.update(overrides)
    return parse_sampler_response(body({"sampler": payload}))


def error_of(raw: bytes) -> ResponseValidationError:
    with pytest.raises(ResponseValidationError) as info:
        parse_sampler_response(raw)
    return info.value


def error_for(**overrides: Any) -> str:
    payload = sampler_payload("abc123")
    payload.update(overrides)
    return str(error_of(body({"sampler": payload})))


def test_live_payload_structures_field_for_field() -> None:
    sampler = parse(
        model_id="m1",
        deployment_id="d1",
        instance_type={"id": "H100", "name": "H100:1", "gpu_count": 1, "gpu_type": "H100"},
        node_count=2,
    )
    assert sampler == Sampler(
        id="abc123",
        base_url="https://model-abc123.api.baseten.co/environments/production/sync/v1",
        base_model="Qwen/Qwen3-8B",
        created_at=datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc),
        model_id="m1",
        deployment_id="d1",
        status=SamplerStatus(DeploymentStatus.ACTIVE),
        user=User(email="trainer@example.com"),
        instance_type=InstanceType(id="H100", name="H100:1", gpu_count=1, gpu_type="H100"),
        node_count=2,
    )


def test_sampler_is_frozen_slotted_and_hashable() -> None:
    sampler = parse()
    assert {sampler: 1}[parse()] == 1
    assert not hasattr(sampler, "__dict__")
    with pytest.raises(AttributeError):
        sampler.id = "other"  # type: ignore[misc]


def test_serverless_sampler_has_null_model_and_deployment() -> None:
    sampler = parse(model_id=None, deployment_id=None)
    assert sampler.model_id is None
    assert sampler.deployment_id is None


def test_absent_optional_fields_get_their_defaults_and_unknown_fields_are_ignored() -> None:
    payload = {k: v for k, v in sampler_payload("abc123").items() if k in REQUIRED}
    payload["brand_new_field"] = {"nested": [1, 2]}
    sampler = parse_sampler_response(body({"sampler": payload, "also_new": True}))
    assert (sampler.model_id, sampler.deployment_id) == (None, None)
    assert (sampler.user, sampler.instance_type, sampler.node_count) == (None, None, 1)


@pytest.mark.parametrize("status", list(DeploymentStatus))
def test_known_status_is_the_enum_member(status: DeploymentStatus) -> None:
    sampler = parse(status={"name": status.value})
    assert sampler.status.name is status
    assert sampler.status.is_known


def test_unknown_status_is_kept_as_its_string() -> None:
    sampler = parse(status={"name": "QUANTUM_SUPERPOSITION"})
    assert sampler.status.name == "QUANTUM_SUPERPOSITION"
    assert not sampler.status.is_known
    assert not (sampler.status.is_ready)
    assert not (sampler.status.is_failed)
    assert not (sampler.status.is_pending)


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("ACTIVE", "is_ready"),
        ("BUILDING", "is_pending"),
        ("WAKING_UP", "is_pending"),
        ("SCALED_TO_ZERO", "is_scaled_to_zero"),
        ("BUILD_FAILED", "is_failed"),
        ("DEACTIVATING", "is_failed"),
    ],
)
def test_status_families(name: str, family: str) -> None:
    status = SamplerStatus(DeploymentStatus(name))
    families = ("is_ready", "is_pending", "is_scaled_to_zero", "is_failed")
    assert [f for f in families if getattr(status, f)] == [family]


def test_unhealthy_is_neither_ready_nor_failed() -> None:
    status = SamplerStatus(DeploymentStatus.UNHEALTHY)
    assert not status.is_ready
    assert not status.is_failed


def test_status_member_equals_its_string() -> None:
    assert DeploymentStatus.ACTIVE == "ACTIVE"
    assert str(DeploymentStatus.ACTIVE) == "ACTIVE"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
        ("2026-01-02T03:04:05z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
        ("2026-01-02 03:04:05+00:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
        ("2026-01-02T03:04:05.1Z", datetime(2026, 1, 2, 3, 4, 5, 100000, tzinfo=timezone.utc)),
        (
            "2026-01-02T03:04:05.123456789Z",
            datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc),
        ),
        (
            "2026-01-02T03:04:05.5-07:30",
            datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=timezone(-timedelta(hours=7, minutes=30))),
        ),
        (
            "2026-01-02T03:04:05+0530",
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
    ],
)
def test_datetimes_with_offsets_and_any_fraction_parse(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("2026-01-02T03:04:05", "no timezone offset"),
        ("2026-01-02T03:04:05.123", "no timezone offset"),
        ("2026-02-30T03:04:05Z", "day is out of range"),
        ("2026-01-02T03:04:05.1234567890Z", "not an ISO 8601"),
        ("2026-01-02T03:04:05+24:00", "impossible offset"),
        ("yesterday", "not an ISO 8601"),
        ("", "not an ISO 8601"),
    ],
)
def test_naive_or_malformed_datetimes_are_errors(text: str, complaint: str) -> None:
    message = error_for(created_at=text)
    assert message.startswith("invalid sampler response: sampler.created_at:")
    assert complaint in message


@pytest.mark.parametrize(
    ("overrides", "path", "complaint"),
    [
        ({"id": 12345}, "sampler.id", "expected a string, got int"),
        ({"base_url": None}, "sampler.base_url", "expected a string, got null"),
        ({"base_model": ["x"]}, "sampler.base_model", "expected a string, got list"),
        ({"model_id": 7}, "sampler.model_id", "expected a string, got int"),
        ({"created_at": 1700000000}, "sampler.created_at", "expected a string, got int"),
        ({"status": "ACTIVE"}, "sampler.status", "expected an object, got str"),
        ({"status": {}}, "sampler.status.name", "required field missing"),
        ({"status": {"name": None}}, "sampler.status.name", "expected a string, got null"),
        ({"user": "bob"}, "sampler.user", "expected an object, got str"),
        ({"user": {"email": 5}}, "sampler.user.email", "expected a string, got int"),
        ({"instance_type": [1]}, "sampler.instance_type", "expected an object, got list"),
        ({"instance_type": {"gpu_count": "1"}}, "sampler.instance_type.gpu_count", "got str"),
        ({"node_count": True}, "sampler.node_count", "expected an integer, got bool"),
        ({"node_count": 1.0}, "sampler.node_count", "expected an integer, got float"),
        # Absent means the spec's default (1); null is not an integer (the spec does not allow it).
        ({"node_count": None}, "sampler.node_count", "expected an integer, got null"),
    ],
)
def test_wrong_types_are_not_coerced(overrides: dict[str, Any], path: str, complaint: str) -> None:
    message = error_for(**overrides)
    assert f"{path}: " in message
    assert complaint in message


@pytest.mark.parametrize("field", REQUIRED)
def test_missing_required_field_names_its_path(field: str) -> None:
    payload = sampler_payload("abc123")
    del payload[field]
    error = error_of(body({"sampler": payload}))
    assert error.errors == (f"sampler.{field}: required field missing",)


def test_every_problem_is_listed() -> None:
    payload = sampler_payload("abc123", id=1, base_url=2)
    error = error_of(body({"sampler": payload}))
    assert set(error.errors) == {
        "sampler.id: expected a string, got int",
        "sampler.base_url: expected a string, got int",
    }
    assert "(and 1 more)" in str(error)


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        (b"", "(body): not valid JSON"),
        (b"<html><body>oops</body></html>", "(body): not valid JSON"),
        (b'{"sampler": {"id": "ab', "(body): not valid JSON"),
        (b"[1, 2]", "(body): expected a JSON object, got list"),
        (b'"sampler"', "(body): expected a JSON object, got str"),
        (b"{}", "sampler: required field missing"),
        (b'{"sampler": null}', "sampler: expected an object, got null"),
        (b'{"sampler": "abc"}', "sampler: expected an object, got str"),
        (b'{"sampler": [1]}', "sampler: expected an object, got list"),
        (b'{"sampler": {"id": "\xff"}}', "(body): not valid UTF-8"),
    ],
)
def test_bodies_of_the_wrong_shape_raise_validation_error(raw: bytes, complaint: str) -> None:
    assert complaint in str(error_of(raw))


def test_users_structure_field_for_field() -> None:
    first = parse(user={"email": "a@example.com"})
    second = parse(user={"email": "a@example.com"})
    other = parse(user={"email": "b@example.com"})
    assert first.user == second.user == User(email="a@example.com")
    assert other.user == User(email="b@example.com")
    assert parse(user={"email": None}).user == User()
    assert parse(user={"email": "c@example.com", "name": "C"}).user == User("c@example.com")


def test_structure_sampler_accepts_a_decoded_object() -> None:
    sampler = structure(sampler_payload("xyz"), Sampler, path="sampler")
    assert sampler.id == "xyz"


# -- property tests: every payload the schema allows structures, field for field ------------

text = st.text(alphabet=string.printable, max_size=30)
aware_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9998, 12, 30),
    timezones=st.sampled_from(
        [timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
    ),
)
statuses = st.one_of(
    st.sampled_from([s.value for s in DeploymentStatus]), st.text(min_size=1, max_size=20)
)
optional_live_fields = st.fixed_dictionaries(
    {},
    optional={
        "model_id": st.none() | text,
        "deployment_id": st.none() | text,
        "user": st.one_of(st.none(), st.fixed_dictionaries({"email": st.none() | text})),
        "instance_type": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "id": text,
                "name": text,
                "memory_limit_mib": st.integers(0, 2**40),
                "gpu_count": st.integers(0, 16),
                "gpu_type": st.none() | text,
            },
        ),
        "node_count": st.integers(1, 64),
        "unlisted_field": st.integers() | text,
    },
)


@st.composite
def sampler_objects(draw: st.DrawFn) -> tuple[dict[str, Any], datetime]:
    created = draw(aware_datetimes)
    fraction_digits = draw(st.integers(0, 9))
    stamp = created.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction_digits:
        stamp += "." + f"{created.microsecond:06d}{'0' * 3}"[:fraction_digits]
    offset = created.strftime("%z")
    stamp += "Z" if offset == "+0000" and draw(st.booleans()) else offset[:3] + ":" + offset[3:]
    payload = {
        "id": draw(text),
        "base_url": draw(text),
        "base_model": draw(text),
        "created_at": stamp,
        "status": {"name": draw(statuses)},
        **draw(optional_live_fields),
    }
    truncated = created.replace(
        microsecond=int(f"{created.microsecond:06d}"[:fraction_digits].ljust(6, "0") or 0)
    )
    return payload, truncated


@given(sampler_objects())
def test_every_schema_valid_payload_structures_field_for_field(
    case: tuple[dict[str, Any], datetime],
) -> None:
    payload, created = case
    sampler = parse_sampler_response(body({"sampler": payload}))
    assert sampler.id == payload["id"]
    assert sampler.base_url == payload["base_url"]
    assert sampler.base_model == payload["base_model"]
    assert sampler.created_at == created
    assert sampler.created_at.utcoffset() == created.utcoffset()
    assert sampler.model_id == payload.get("model_id")
    assert sampler.deployment_id == payload.get("deployment_id")
    assert sampler.status.name == payload["status"]["name"]
    user = payload.get("user")
    assert sampler.user == (None if user is None else User(**user))
    instance = payload.get("instance_type")
    assert sampler.instance_type == (None if instance is None else InstanceType(**instance))
    assert sampler.node_count == payload.get("node_count", 1)


@given(sampler_objects(), st.sampled_from(REQUIRED))
def test_every_payload_missing_a_required_field_is_refused(
    case: tuple[dict[str, Any], datetime], field: str
) -> None:
    payload, _ = case
    del payload[field]
    error = error_of(body({"sampler": payload}))
    assert error.errors == (f"sampler.{field}: required field missing",)


@given(sampler_objects(), st.sampled_from(("id", "base_url", "base_model")), st.integers())
def test_every_payload_with_an_int_for_a_string_is_refused(
    case: tuple[dict[str, Any], datetime], field: str, number: int
) -> None:
    payload, _ = case
    payload[field] = number
    error = error_of(body({"sampler": payload}))
    assert error.errors == (f"sampler.{field}: expected a string, got int",)


# -- the cost of a refusal is bounded (issue 15, item 6) ---------------------------------
#
# A hostile 2xx body once made the detailed pass describe every problem: a megabyte of `{}`
# runs gave 2,800,000 error lines and blocked the event loop for most of a minute. These
# tests measure work by counting function calls (deterministic, unlike a clock) and pin the
# errors down exactly. `python benchmarks/validation.py` prints the time against json.loads.

MAX_RESPONSE_BYTES = 1 << 20  # the client's default max_response_bytes


def megabyte_of(item: bytes, *, key: str = "runs", size: int = MAX_RESPONSE_BYTES) -> bytes:
    """``{"<key>": [item, item, ...]}``, as many items as fit in ``size`` bytes."""
    head, tail = b'{"' + key.encode() + b'": [', b"]}"
    count = (size - len(head) - len(tail) + 1) // (len(item) + 1)
    raw = head + b",".join([item] * count) + tail
    assert len(raw) <= size
    return raw


def refusal(raw: bytes, key: str = "runs", type_: Any = tuple[Run, ...]) -> ResponseValidationError:
    with pytest.raises(ResponseValidationError) as info:
        parse_response(raw, key, type_)
    return info.value


def calls_made(action: Callable[[], object]) -> int:
    """How many function calls (Python and C) ``action`` makes: work, counted, not timed.

    Counted on a second run (the first may build and cache hooks) with the garbage collector
    off (its callbacks, hypothesis's among them, would count calls that depend on memory).
    """
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    for profiler in (None, count):
        gc.disable()
        sys.setprofile(profiler)
        try:
            action()
        except ResponseValidationError:
            pass
        finally:
            sys.setprofile(None)
            gc.enable()
    return calls


def run_payload(**overrides: Any) -> dict[str, Any]:
    return {**spec_payload("LoopsRunV1"), **overrides}


def test_a_megabyte_of_non_objects_lists_the_first_errors_and_counts_the_rest() -> None:
    raw = megabyte_of(b"1")
    items = len(json.loads(raw)["runs"])
    error = refusal(raw)
    listed = tuple(f"runs[{index}]: expected an object, got int" for index in range(MAX_ERRORS))
    left_out = f"left out: {items - MAX_ERRORS:,} items not checked"
    assert error.errors == (*listed, f"({left_out})")
    assert str(error) == (
        f"invalid runs response: runs[0]: expected an object, got int "
        f"(and {MAX_ERRORS - 1} more; {left_out})"
    )


def test_a_megabyte_of_empty_objects_stops_after_the_first_items() -> None:
    per_item = len(refusal(b'{"runs": [{}]}').errors)  # Run's required fields, all missing
    raw = megabyte_of(b"{}")
    items = len(json.loads(raw)["runs"])
    error = refusal(raw)
    checked = -(-MAX_ERRORS // per_item)  # items until MAX_ERRORS problems are found
    assert error.errors[:per_item] == refusal(b'{"runs": [{}]}').errors
    assert len(error.errors) == MAX_ERRORS + 1
    more = checked * per_item - MAX_ERRORS
    more_part = f"{more:,} more problem{'s' if more != 1 else ''}, " if more else ""
    assert error.errors[-1] == f"(left out: {more_part}{items - checked:,} items not checked)"
    assert str(error).endswith(f"(and {MAX_ERRORS - 1} more; {error.errors[-1][1:-1]})")


def test_a_map_with_a_megabyte_of_bad_entries_is_bounded_too() -> None:
    entries_count = 70_000
    # Every other array empty, so that the entries are all there is to leave unchecked.
    metrics = {
        name: [] if isinstance(value, list) else value
        for name, value in spec_payload("LoopsDeploymentMetricsV1").items()
    }
    metrics["ephemeral_storage"] = {"usage_bytes": [], "utilization": []}
    entries = ",".join(f'"gpu{index}": 1' for index in range(entries_count))
    raw = json.dumps({"metrics": {**metrics, "gpu_utilization": "@"}}).encode()
    raw = raw.replace(b'"@"', b"{" + entries.encode() + b"}")
    assert len(raw) <= MAX_RESPONSE_BYTES
    error = refusal(raw, "metrics", DeploymentMetrics)
    assert error.errors[:2] == (
        "metrics.gpu_utilization['gpu0']: expected an array, got int",
        "metrics.gpu_utilization['gpu1']: expected an array, got int",
    )
    assert error.errors[-1] == f"(left out: {entries_count - MAX_ERRORS:,} items not checked)"


WORST_ITEMS = {
    "integers": b"1",
    "nulls": b"null",
    "empty objects": b"{}",
    "runs with every field wrong": json.dumps(
        {field: [] for field in spec_payload("LoopsRunV1")}
    ).encode(),
    "runs with a bad timestamp": json.dumps(run_payload(created_at="tuesday")).encode(),
}


@pytest.mark.parametrize("case", list(WORST_ITEMS))
def test_the_work_of_a_refusal_does_not_grow_with_the_body(case: str) -> None:
    # A body 8 times larger makes not one call more: the detailed pass stops after the first
    # MAX_ERRORS problems, and what it leaves out is counted with len().
    small = megabyte_of(WORST_ITEMS[case], size=MAX_RESPONSE_BYTES // 8)
    large = megabyte_of(WORST_ITEMS[case])
    assert len(refusal(large).errors) <= MAX_ERRORS + 1
    assert calls_made(lambda: parse_response(large, "runs", tuple[Run, ...])) == calls_made(
        lambda: parse_response(small, "runs", tuple[Run, ...])
    )


def test_a_bad_item_after_a_megabyte_of_good_ones_costs_at_most_three_parses() -> None:
    # The one body whose refusal must read every item: the detailed pass goes through the good
    # ones again, so refusing it costs about twice what accepting the good ones does.
    good = json.dumps(run_payload()).encode()
    valid = megabyte_of(good, size=MAX_RESPONSE_BYTES - len(good))
    bad = valid[:-2] + b"," + json.dumps(run_payload(created_at=1)).encode() + b"]}"
    error = refusal(bad)
    items = len(json.loads(valid)["runs"])
    assert error.errors == (f"runs[{items}].created_at: expected a string, got int",)
    accepted = calls_made(lambda: parse_response(valid, "runs", tuple[Run, ...]))
    assert calls_made(lambda: parse_response(bad, "runs", tuple[Run, ...])) < 3 * accepted


def test_a_megabyte_long_value_is_quoted_cut_short_and_scrubbed() -> None:
    key = "sk-live-0123456789abcdefSECRET"
    value = "x" * (MAX_RESPONSE_BYTES - 4096) + key
    raw = json.dumps({"runs": [run_payload(created_at=key + value)]}).encode()
    with pytest.raises(ResponseValidationError) as info:
        parse_response(raw, "runs", tuple[Run, ...], secret=(key,))
    (line,) = info.value.errors
    assert line.startswith("runs[0].created_at: '***xxxx")
    assert line.endswith("...")
    assert len(line) <= 300
    assert len(str(info.value)) < 400
