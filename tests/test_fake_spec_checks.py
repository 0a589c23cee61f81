"""The fake checks requests as the spec does: every enum, required field, type and bound.

The fake's checks are declared by hand, next to each route (``Field`` in ``_fake/*.py``); this
walk keeps them honest. For every operation of the spec (tests/data/loops-openapi.yaml), it
reads the query parameters and the request body's schema and derives from each constraint the
values just outside it, which must be refused (422, naming the field), and the values at its
edges, which must be accepted (200): an enum's every value and a value that is none of them,
a required field left out, the wrong JSON type, ``null`` where it is not allowed, and
``minimum``/``maximum``/``exclusiveMinimum``, ``minLength``/``maxLength`` and ``minItems`` at
the bound and one past it. A schema keyword the walk does not know fails the test, so a
constraint added to the spec cannot go unchecked.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import aiohttp
import attrs
import pytest

from baseten_loops.testing import FakeLoopsServer

from .spec_payloads import operations, ref_name, request_schema, schemas, spec

#: Keywords that do not constrain a value (``x-`` annotations are left out as well).
DESCRIPTIVE = {"title", "description", "examples", "default"}
#: The constraining keywords this walk turns into probes.
CONSTRAINING = {
    "type",
    "anyOf",
    "$ref",
    "enum",
    "items",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
}


class _Omitted:
    def __repr__(self) -> str:
        return "<left out>"


OMITTED = _Omitted()  # the value of a probe that leaves the field out
NOT_AN_ENUM_VALUE = "not-a-value-of-the-enum"


@attrs.frozen
class Probe:
    """One request: the baseline with ``field`` set to ``value`` (or left out)."""

    where: str  # "query" or "body"
    field: str
    value: Any
    accepted: bool
    why: str


@attrs.frozen
class FieldSchema:
    """A query parameter's or body property's schema, its ``null`` variant set apart."""

    name: str
    node: Mapping[str, Any]  # the one non-null variant, a ``$ref`` resolved
    nullable: bool
    required: bool


def field_schema(name: str, node: Mapping[str, Any], *, required: bool) -> FieldSchema:
    unknown = {k for k in node if not k.startswith("x-")} - DESCRIPTIVE - CONSTRAINING
    assert not unknown, f"{name}: teach this walk the keywords {sorted(unknown)}"
    variants = node.get("anyOf", [node])
    others = [v for v in variants if v.get("type") != "null"]
    assert len(others) == 1, f"{name}: a union of {others} is not walked yet"
    value_schema = dict(others[0])
    if "$ref" in value_schema:
        target = schemas()[ref_name(value_schema)]
        assert set(target) - {"title", "description", "type", "enum"} <= {
            k for k in target if k.startswith("x-")
        }, f"{name}: a $ref to {ref_name(value_schema)} that is not a plain enum"
        value_schema = {"type": target["type"], "enum": target["enum"]}
    unknown = {k for k in value_schema if not k.startswith("x-")} - DESCRIPTIVE - CONSTRAINING
    assert not unknown, f"{name}: teach this walk the keywords {sorted(unknown)}"
    nullable = len(variants) > len(others)
    return FieldSchema(name, value_schema, nullable, required)


def in_range_integer(node: Mapping[str, Any]) -> int:
    """An integer the bounds of ``node`` allow (its lowest, or 7 when it has none)."""
    if "minimum" in node:
        return int(node["minimum"])
    if "exclusiveMinimum" in node:
        return int(node["exclusiveMinimum"]) + 1
    return 7


def bound_probes(where: str, field: FieldSchema, good: Any) -> Iterator[Probe]:
    """The values at the edges of ``field``'s bounds (accepted) and one past them (refused)."""
    node, name = field.node, field.name
    edges = {
        "minimum": (0, -1),
        "maximum": (0, +1),
        "exclusiveMinimum": (+1, 0),
        "exclusiveMaximum": (-1, 0),
    }
    for keyword, (inside, outside) in edges.items():
        if keyword in node:
            bound = int(node[keyword])
            yield Probe(where, name, bound + inside, True, f"{keyword} {bound}: the edge")
            yield Probe(where, name, bound + outside, False, f"{keyword} {bound}: past it")
    for keyword, sign in (("minLength", -1), ("maxLength", +1)):
        if keyword in node:
            length = int(node[keyword])
            yield Probe(where, name, "x" * length, True, f"{keyword} {length}: the edge")
            if length + sign >= 0:
                past = "x" * (length + sign)
                yield Probe(where, name, past, False, f"{keyword} {length}: past it")
    for keyword, sign in (("minItems", -1), ("maxItems", +1)):
        if keyword in node:
            count = int(node[keyword])
            item = good[0]
            yield Probe(where, name, [item] * count, True, f"{keyword} {count}: the edge")
            if count + sign >= 0:
                past = [item] * (count + sign)
                yield Probe(where, name, past, False, f"{keyword} {count}: past it")


def query_probes(field: FieldSchema, baseline: Mapping[str, Any]) -> Iterator[Probe]:
    node, name = field.node, field.name
    if name not in baseline:  # a baseline's own parameter may be needed by a stated rule
        yield Probe("query", name, OMITTED, True, "left out (query parameters are optional)")
    if "enum" in node:
        for value in node["enum"]:
            yield Probe("query", name, value, True, f"enum value {value!r}")
        yield Probe("query", name, NOT_AN_ENUM_VALUE, False, "not an enum value")
    if node.get("type") == "integer":
        for value in ("abc", "1.5"):
            yield Probe("query", name, value, False, f"not an integer: {value!r}")
        yield from (
            attrs.evolve(probe, value=str(probe.value)) for probe in bound_probes("query", field, 0)
        )
    else:
        assert node.get("type") == "string", f"query.{name}: {node} is not walked yet"
        yield from bound_probes("query", field, "")


def wrong_types(node: Mapping[str, Any]) -> list[Any]:
    """JSON values of another type than ``node``'s (no coercion: ``"7"`` is no integer)."""
    kind = node["type"]
    if kind == "string":
        return [12345, ["text"]]
    if kind == "integer":
        return ["7", 7.5, True]
    if kind == "array":
        assert node["items"] == {"type": "string"}, f"items {node['items']} not walked yet"
        return ["text", [12345]]
    raise AssertionError(f"type {kind} is not walked yet")  # pragma: no cover


def body_probes(field: FieldSchema, baseline: Mapping[str, Any]) -> Iterator[Probe]:
    node, name = field.node, field.name
    # A baseline's own optional field may be needed by a rule the spec states in words (a
    # standalone sampler needs a base model): it is not left out, nor set to null.
    if field.required:
        yield Probe("body", name, OMITTED, False, "a required field left out")
    elif name not in baseline:
        yield Probe("body", name, OMITTED, True, "an optional field left out")
    if not field.nullable:
        yield Probe("body", name, None, False, "null where the schema has no null")
    elif name not in baseline:
        yield Probe("body", name, None, True, "null, which the schema allows")
    for value in wrong_types(node):
        yield Probe("body", name, value, False, f"the wrong type: {value!r}")
    if "enum" in node:
        for value in node["enum"]:
            yield Probe("body", name, value, True, f"enum value {value!r}")
        yield Probe("body", name, NOT_AN_ENUM_VALUE, False, "not an enum value")
    yield from bound_probes("body", field, baseline.get(name))


def query_fields(path: str, operation: Mapping[str, Any]) -> list[FieldSchema]:
    parameters = [*spec()["paths"][path].get("parameters", []), *operation.get("parameters", [])]
    fields = []
    for parameter in parameters:
        if "$ref" in parameter:
            parameter = spec()["components"]["parameters"][ref_name(parameter)]
        assert parameter["in"] in ("path", "query"), f"{parameter['in']} parameters: not walked"
        if parameter["in"] == "query":
            assert not parameter.get("required"), "a required query parameter: not walked yet"
            fields.append(field_schema(parameter["name"], parameter["schema"], required=False))
    return fields


def body_fields(operation: Mapping[str, Any]) -> list[FieldSchema]:
    name = request_schema(operation)
    if name is None:
        return []
    schema = schemas()[name]
    assert schema.get("type") == "object", f"{name}: only object bodies are walked"
    required = set(schema.get("required", ()))
    return [
        field_schema(prop, node, required=prop in required)
        for prop, node in schema.get("properties", {}).items()
    ]


# -- the baseline: a request of each operation that the fake accepts ------------------------


@attrs.frozen
class Seeds:
    """What the baselines name: one object of each kind, served by the fake."""

    ids: Mapping[str, str]  # path parameter -> id
    checkpoint_uri: str


def seed(server: FakeLoopsServer) -> Seeds:
    server.add_team("t1")
    session = server.add_session()
    run = server.add_run(session_id=session["id"])
    checkpoint = server.add_checkpoint(run_id=run["id"], name="step-1", files=2)
    ids = {
        "team_id": "t1",
        "session_id": session["id"],
        "run_id": run["id"],
        "sampler_id": server.add_sampler()["id"],
        "checkpoint_id": checkpoint["id"],
        "deployment_id": run["deployment_id"],
    }
    return Seeds(ids, server.checkpoint_uri(checkpoint["id"]))


def baseline(operation_id: str, seeds: Seeds) -> tuple[dict[str, str], dict[str, Any] | None]:
    """The query and body of an accepted request of ``operation_id`` (``None``: no body)."""
    operation_id = operation_id.replace("_teams_loops_", "_loops_")
    model = {"session_id": seeds.ids["session_id"], "base_model": "Qwen/Qwen3-8B"}
    bodies: dict[str, dict[str, Any]] = {
        "post_loops_runs": model,
        "post_loops_trainers": model,
        "post_loops_samplers": model,
        "post_loops_checkpoints_validate": {"checkpoint_path": seeds.checkpoint_uri},
        "post_loops_checkpoints_deploy": {
            "checkpoint_ids": [seeds.ids["checkpoint_id"]],
            "model_name": "my-model",
            "instance_type_id": "H100x8",
            "hf_secret_name": "hf-token",
        },
        "post_loops_deployments_metrics": {},
        "patch_loops_user_config": {},
    }
    queries = {"get_loops_checkpoints": {"run_id": seeds.ids["run_id"]}}
    return queries.get(operation_id, {}), bodies.get(operation_id)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.mark.parametrize("operation_id", sorted(operations()))
async def test_the_fake_enforces_every_constraint_the_spec_declares(
    http: aiohttp.ClientSession, operation_id: str
) -> None:
    method, path, operation = operations()[operation_id]
    async with FakeLoopsServer() as server:
        seeds = seed(server)
        url = server.base_url + re.sub(r"\{(\w+)\}", lambda m: seeds.ids[m[1]], path)
        headers = {"Authorization": f"Bearer {server.api_key}"}
        query, body = baseline(operation_id, seeds)
        fields = body_fields(operation)
        assert (body is None) == (not fields and "requestBody" not in operation)

        async def send(probe: Probe | None) -> tuple[int, Any]:
            params, json_body = dict(query), None if body is None else dict(body)
            if probe is not None:
                target = params if probe.where == "query" else json_body
                assert target is not None  # body probes come from a request body's schema
                target.pop(probe.field, None)
                if probe.value is not OMITTED:
                    target[probe.field] = probe.value
            async with http.request(
                method, url, params=params, json=json_body, headers=headers
            ) as answer:
                return answer.status, await answer.json()

        status, answer = await send(None)
        assert status == 200, f"the baseline of {operation_id} was refused: {answer}"
        probes = [p for f in query_fields(path, operation) for p in query_probes(f, query)]
        probes += [p for f in fields for p in body_probes(f, body or {})]
        wrong = []
        for probe in probes:
            status, answer = await send(probe)
            if probe.accepted and status != 200:
                wrong.append(f"{probe.where}.{probe.field}={probe.value!r} ({probe.why}): {answer}")
            elif not probe.accepted and not (
                status == 422 and f"{probe.where}.{probe.field}:" in answer["message"]
            ):
                wrong.append(
                    f"{probe.where}.{probe.field}={probe.value!r} ({probe.why}) not refused"
                )
        if operation.get("requestBody", {}).get("required"):
            async with http.request(method, url, params=query, headers=headers) as answer:
                if answer.status != 422:
                    wrong.append("a request without its required body was not refused")
    assert not wrong, f"{operation_id}:\n" + "\n".join(wrong)
