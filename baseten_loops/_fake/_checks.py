"""What a request to the fake must hold, and the error bodies it answers when it does not.

Every route declares its query parameters and body fields as :class:`Field` objects; the server
checks them with :func:`parse_query` and :func:`parse_body` before any handler runs (422 naming
the field, as the live service does), and hands the handler the validated :class:`Call`. A
handler refuses a request by raising :class:`ApiError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs


class ApiError(Exception):
    """An error answer: ``{"error": code, "message": message, **extra}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON error body."""
        return {"error": self.code, "message": self.message, **self.extra}


def not_found(kind: str, object_id: str) -> ApiError:
    """The 404 for an unknown ``kind`` (``"Run"``, ``"Team"`` ...) with this id."""
    return ApiError(404, "not_found", f"{kind} {object_id} not found")


def bad_request(message: str) -> ApiError:
    """A 400 saying ``message``."""
    return ApiError(400, "bad_request", message)


@attrs.frozen
class Field:
    """A query parameter or body field: its JSON type and the constraints the spec gives."""

    name: str
    kind: type = str  # str, int or list (a list of strings)
    required: bool = False
    nullable: bool = True
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None
    min_length: int | None = None
    max_length: int | None = None

    def check(self, value: Any) -> str | None:
        """The complaint about ``value`` (already typed), or ``None`` when it is valid."""
        if value is None:
            return None if self.nullable else "must not be null"
        if self.kind is int and (type(value) is not int):
            return "must be an integer"
        if self.kind is str and not isinstance(value, str):
            return "must be a string"
        if self.kind is list and not (
            isinstance(value, list) and all(isinstance(item, str) for item in value)
        ):
            return "must be a list of strings"
        if self.minimum is not None and value < self.minimum:
            return f"must be >= {self.minimum}"
        if self.maximum is not None and value > self.maximum:
            return f"must be <= {self.maximum}"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}"
        if self.min_length is not None and len(value) < self.min_length:
            return f"must have at least {self.min_length} item(s) or character(s)"
        if self.max_length is not None and len(value) > self.max_length:
            return f"must have at most {self.max_length} characters"
        return None


#: The ``scope`` query parameter of the lists that show only the caller's objects unless
#: ``scope=org`` (see :meth:`baseten_loops._fake._state.FakeState.visible`).
SCOPE = Field("scope")
#: The values of the spec's ``V1AvailabilityModel`` (a closed enum in requests).
AVAILABILITY_MODELS = ("dedicated", "spot")


def _validation_error(complaints: list[str]) -> ApiError:
    return ApiError(422, "validation_error", "; ".join(complaints))


def parse_query(fields: Sequence[Field], query: Mapping[str, str]) -> dict[str, Any]:
    """Typed values of the declared query parameters (absent ones are ``None``); 422 if bad."""
    values: dict[str, Any] = {}
    complaints = []
    for field in fields:
        raw = query.get(field.name)
        value: Any = raw
        if raw is not None and field.kind is int:
            try:
                value = int(raw)
            except ValueError:
                complaints.append(f"query.{field.name}: must be an integer")
                continue
        complaint = field.check(value)
        if complaint:
            complaints.append(f"query.{field.name}: {complaint}")
        values[field.name] = value
    if complaints:
        raise _validation_error(complaints)
    return values


def parse_body(fields: Sequence[Field], raw: bytes) -> dict[str, Any]:
    """The JSON object sent, checked against ``fields`` (extra keys are ignored, as upstream)."""
    if not raw.strip():
        raise _validation_error(["body: a JSON object is required"])
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _validation_error(["body: must be a JSON object"])
    complaints = []
    for field in fields:
        if field.name not in body:
            if field.required:
                complaints.append(f"body.{field.name}: field required")
            continue
        complaint = field.check(body[field.name])
        if complaint:
            complaints.append(f"body.{field.name}: {complaint}")
    if complaints:
        raise _validation_error(complaints)
    return body


@attrs.frozen
class Call:
    """One validated request, as a handler sees it."""

    path: Mapping[str, str]
    query: Mapping[str, Any]
    body: Mapping[str, Any]

    @property
    def team_id(self) -> str | None:
        """The team of a ``/v1/teams/{team_id}/loops/...`` route, else ``None``."""
        return self.path.get("team_id")
