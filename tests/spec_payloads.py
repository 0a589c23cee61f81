"""JSON payloads generated from the API spec's own schemas (tests/data/loops-openapi.yaml).

The spec is a copy of ``../shared/spec/loops-openapi.yaml``, so the tests run from a clone
alone. ``payload(schema)`` builds a valid object of a schema with every property set;
``minimal_payload(schema)`` only the required ones.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).parent / "data" / "loops-openapi.yaml"
# "+00:00" rather than "Z", so that to_dict() gives back the very string sent.
TIMESTAMP = "2026-01-02T03:04:05.123456+00:00"


@functools.cache
def spec() -> dict[str, Any]:
    with SPEC_PATH.open(encoding="utf-8") as file:
        return yaml.safe_load(file)  # type: ignore[no-any-return]


def schemas() -> dict[str, Any]:
    return spec()["components"]["schemas"]  # type: ignore[no-any-return]


def ref_name(node: dict[str, Any]) -> str:
    return str(node["$ref"]).rsplit("/", 1)[-1]


def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """``operationId -> (METHOD, path, operation)`` for every operation in the spec."""
    found = {}
    for path, item in spec()["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                found[operation["operationId"]] = (method.upper(), path, operation)
    return found


def response_schema(operation: dict[str, Any]) -> str:
    return ref_name(operation["responses"]["200"]["content"]["application/json"]["schema"])


def request_schema(operation: dict[str, Any]) -> str | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    return ref_name(body["content"]["application/json"]["schema"])


def properties_of(name: str) -> dict[str, Any]:
    return schemas()[name].get("properties", {})  # type: ignore[no-any-return]


def non_null(node: dict[str, Any]) -> dict[str, Any]:
    """The first variant of an ``anyOf`` that is not ``null``; the node itself otherwise."""
    for variant in node.get("anyOf", [node]):
        if variant.get("type") != "null":
            return variant  # type: ignore[no-any-return]
    raise AssertionError(f"only null in {node}")  # pragma: no cover


def value_for(node: dict[str, Any], *, full: bool = True) -> Any:
    node = non_null(node)
    if "$ref" in node:
        return payload(ref_name(node), full=full)
    if "const" in node:
        return node["const"]
    if "oneOf" in node:
        return value_for(node["oneOf"][-1], full=full)
    if "enum" in node:
        return node["enum"][-1]
    kind = node.get("type")
    if kind == "string":
        return TIMESTAMP if node.get("format") == "date-time" else "text"
    if kind == "integer":
        return 7
    if kind == "number":
        return 2.5
    if kind == "boolean":
        return False
    if kind == "array":
        return [value_for(node["items"], full=full)]
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return {"gpu0": value_for(extra, full=full)}
        return {"free": ["form", 1]}
    raise AssertionError(f"no value for {node}")  # pragma: no cover


def payload(name: str, *, full: bool = True) -> dict[str, Any]:
    schema = schemas()[name]
    if "enum" in schema:
        return schema["enum"][-1]  # type: ignore[no-any-return]
    required = set(schema.get("required", ()))
    return {
        prop: value_for(node, full=full)
        for prop, node in schema.get("properties", {}).items()
        if full or prop in required
    }


def minimal_payload(name: str) -> dict[str, Any]:
    return payload(name, full=False)


def defaulted_properties() -> list[tuple[str, str, Any]]:
    """``(schema, property, default)`` for every property of every schema that has a ``default``.

    The API may leave such a property out of an answer altogether; it then has that value.
    """
    return [
        (name, prop, node["default"])
        for name, schema in schemas().items()
        for prop, node in schema.get("properties", {}).items()
        if "default" in node
    ]


def wrong_value(node: dict[str, Any]) -> Any:
    """A value of the wrong JSON type for ``node`` (never null: null may be allowed)."""
    node = non_null(node)
    if "$ref" in node:
        target = schemas()[ref_name(node)]
        return 12345 if "enum" in target else "not an object"
    if "oneOf" in node:
        return "not an object"
    kind = node.get("type")
    if kind == "string":
        return 12345
    if kind in ("integer", "number"):
        return "7"
    if kind == "boolean":
        return 1
    if kind == "array":
        return "not an array"
    return ["not", "an", "object"]
