"""Where JSON becomes a :class:`Sampler`: strict cattrs converters owned by this library.

cattrs coerces primitives by default (``str(12345)`` would pass as an id, ``str(None)`` as a
URL); every primitive hook here checks the type instead. All hooks are registered in this one
module, and every failure becomes a :class:`ResponseValidationError` naming the field path.

Two converters come from one recipe: a fast one (no detailed validation) structures every valid
body; only when it fails is the body structured again by the detailed one, whose errors name
every failing field path. Valid bodies, the common case, never pay for error bookkeeping.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from ._exceptions import ResponseValidationError
from ._models import DeploymentStatus, InstanceType, Sampler, SamplerStatus, User
from ._sansio import redact

__all__ = ["parse_datetime", "parse_sampler_response", "structure_sampler"]

# RFC 3339 date-time with a mandatory offset; 0-9 fractional digits (Python 3.10's
# fromisoformat takes only 3 or 6 and no "Z", so the parsing is done here). ASCII digits only:
# re's \d, int() and fromisoformat would all accept other scripts' digits ("٢٠٢٦").
_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))",
    re.ASCII,
)
_UTC = timezone.utc
# From 3.11, fromisoformat reads RFC 3339 (Z, any fraction digits, truncating to microseconds).
_FROMISOFORMAT_IS_RFC3339 = sys.version_info >= (3, 11)
T = TypeVar("T")
_STATUS_BY_VALUE: dict[str, DeploymentStatus] = {s.value: s for s in DeploymentStatus}


def parse_datetime(value: str) -> datetime:
    """Parse an ISO 8601 / RFC 3339 timestamp that carries a timezone.

    Accepts ``Z`` or ``±HH:MM`` (or ``±HHMM``) offsets and 0 to 9 fractional digits (truncated
    to microseconds). Raises ``ValueError`` for naive or malformed timestamps.
    """
    match = _DATETIME_RE.fullmatch(value)
    if match is None:
        if _DATETIME_RE.fullmatch(value + "Z"):
            raise ValueError(f"timestamp {value!r} has no timezone offset")
        raise ValueError(f"{value!r} is not an ISO 8601 timestamp with a timezone")
    if _FROMISOFORMAT_IS_RFC3339:
        try:
            return datetime.fromisoformat(value)  # C speed; the regex above vetted the format
        except ValueError:
            pass  # "t"/"z" in lower case, ",", impossible dates: the portable path says why
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        tz = _UTC
    else:
        hours, minutes = int(off_h), int(off_m)
        if hours > 23 or minutes > 59:
            raise ValueError(f"timestamp {value!r} has an impossible offset")
        delta = timedelta(hours=hours, minutes=minutes)
        tz = _UTC if not delta else timezone(-delta if sign == "-" else delta)
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz
        )
    except ValueError as exc:  # day 31 of February and the like
        raise ValueError(f"timestamp {value!r}: {exc}") from None


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _strict_str(value: Any, _: object) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {_type_name(value)}")
    return value


def _optional_str(value: Any, _: object) -> str | None:
    if value is None or type(value) is str:
        return value
    raise TypeError(f"expected a string, got {_type_name(value)}")


def _optional_int(value: Any, _: object) -> int | None:
    if value is None or type(value) is int:  # bool is an int subclass; refuse it too
        return value
    raise TypeError(f"expected an integer, got {_type_name(value)}")


def _datetime_hook(value: Any, _: object) -> datetime:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {_type_name(value)}")
    return parse_datetime(value)


def _status_name_hook(value: Any, _: object) -> DeploymentStatus | str:
    name = _strict_str(value, None)
    # An unknown status stays a plain string: new statuses must never fail a lookup.
    return _STATUS_BY_VALUE.get(name, name)


def _make_converter(*, detailed: bool) -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(str | None, _optional_str)
    converter.register_structure_hook(int | None, _optional_int)
    converter.register_structure_hook(datetime, _datetime_hook)
    converter.register_structure_hook(DeploymentStatus | str, _status_name_hook)
    # Generate the class hooks once, here, so structuring never falls back to introspection;
    # nested classes first, since a class's generated code binds the hooks of its fields.
    status_hook = _objects_only(converter.gen_structure_attrs_fromdict(SamplerStatus))
    if not detailed:
        status_hook = _shared_known_statuses(status_hook)
    converter.register_structure_hook(SamplerStatus, status_hook)
    for cls in (User, InstanceType, Sampler):
        hook = _objects_only(converter.gen_structure_attrs_fromdict(cls))
        converter.register_structure_hook(cls, hook)
        converter.register_structure_hook(cls | None, _or_none(hook))
    return converter


def _shared_known_statuses(
    structure: Callable[[Any, Any], SamplerStatus],
) -> Callable[[Any, Any], SamplerStatus]:
    """Hand out one shared, immutable SamplerStatus per documented status.

    Thousands of samplers share a handful of statuses; reusing the frozen instances saves an
    allocation and a structuring call per sampler. Anything else takes the generated path.
    """
    known = {s.value: SamplerStatus(s) for s in DeploymentStatus}

    def structure_status(value: Any, cls: Any) -> SamplerStatus:
        if type(value) is dict and len(value) == 1:
            status = known.get(value.get("name"))  # type: ignore[arg-type]
            if status is not None:
                return status
        return structure(value, cls)

    return structure_status


def _or_none(structure: Callable[[Any, Any], T]) -> Callable[[Any, Any], T | None]:
    def structure_optional(value: Any, cls: Any) -> T | None:
        return None if value is None else structure(value, cls)

    return structure_optional


def _objects_only(structure: Callable[[Any, Any], T]) -> Callable[[Any, Any], T]:
    """Refuse non-objects before cattrs' generated code sees them.

    Without this, ``"user": "bob"`` would structure as ``User()`` (``"email" in "bob"`` is
    merely False) and a list would fail with a confusing subscript error.
    """

    def structure_object(value: Any, cls: Any) -> T:
        if type(value) is not dict:
            raise TypeError(f"expected an object, got {_type_name(value)}")
        return structure(value, cls)

    return structure_object


_structure_fast = _make_converter(detailed=False).get_structure_hook(Sampler)
_structure_detailed = _make_converter(detailed=True).get_structure_hook(Sampler)


def _describe(exc: BaseException) -> tuple[str, ...]:
    """Turn a cattrs error tree into ``path: description`` lines."""
    if not isinstance(exc, ClassValidationError | IterableValidationError):  # pragma: no cover
        return (f"{exc}",)  # detailed validation always raises a ClassValidationError
    lines = []
    for line in cattrs.transform_error(exc, path="", format_exception=_format_leaf):
        description, _, path = line.rpartition(" @ ")
        lines.append(f"{path.lstrip('.') or '(body)'}: {description}")
    return tuple(lines)


def _format_leaf(exc: BaseException, _type: type | None) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, ForbiddenExtraKeysError):  # pragma: no cover - extra keys are allowed
        return f"unexpected fields {sorted(exc.extra_fields)}"
    if isinstance(exc, TypeError | ValueError) and str(exc):
        return str(exc)
    return f"invalid value ({type(exc).__name__})"


def _fail(errors: tuple[str, ...], secret: tuple[str, ...] = ()) -> ResponseValidationError:
    # Field values are quoted in the lines; a server echoing the key into one must not leak it.
    errors = tuple(redact(line, secret) for line in errors)
    summary = errors[0] if len(errors) == 1 else f"{errors[0]} (and {len(errors) - 1} more)"
    return ResponseValidationError(f"invalid sampler response: {summary}", errors=errors)


def structure_sampler(data: Any, *, path: str = "sampler", secret: tuple[str, ...] = ()) -> Sampler:
    """Structure one sampler object (already decoded JSON) into a :class:`Sampler`.

    Raises :class:`ResponseValidationError` naming each failing field as ``path.field``, with
    each of ``secret`` (the client's key) blanked out of the values it quotes.
    """
    if type(data) is not dict:
        error = _fail((f"{path}: expected an object, got {_type_name(data)}",))
        del data  # out of this frame's locals, which capture_locals would print
        raise error
    try:
        return _structure_fast(data, Sampler)  # type: ignore[no-any-return]
    except Exception:
        pass  # structure it again, slowly, to say exactly what is wrong
    # Raised outside the except block: the cattrs error quotes the body's values, and would
    # otherwise stay reachable as the new error's __context__.
    problems: tuple[str, ...] = ()
    try:
        _structure_detailed(data, Sampler)
    except Exception as exc:
        problems = tuple(f"{path}.{line}" for line in _describe(exc))
    if problems:
        del data  # out of this frame's locals, which capture_locals would print
        raise _fail(problems, secret)
    raise AssertionError("the fast and detailed converters disagree")  # pragma: no cover


def parse_sampler_response(body: bytes, *, secret: tuple[str, ...] = ()) -> Sampler:
    """Parse the body of ``GET /v1/loops/samplers/{id}`` (``{"sampler": {...}}``).

    Raises :class:`ResponseValidationError` for a body that is not UTF-8 JSON (or is nested too
    deeply to decode), is not an object, or does not match the schema; the message names the
    failing field path, with each of ``secret`` (pass ``HTTPSession.secrets``) blanked out.
    """
    result = _parse_sampler_body(body, secret)
    # The error is raised from this frame, and a traceback printed with capture_locals shows
    # its locals: keep the body (which a server may have stuffed with an echoed key) out.
    del body
    if isinstance(result, ResponseValidationError):
        raise result
    return result


def _parse_sampler_body(body: bytes, secret: tuple[str, ...]) -> Sampler | ResponseValidationError:
    """The sampler, or the error saying why the body is not one (returned, not raised).

    Errors are built outside any except block, so that a decoding error (which holds the
    whole body) is not reachable as their ``__context__``.
    """
    problem = None
    try:
        text = body.decode()  # JSON on the wire is UTF-8 (RFC 8259)
    except UnicodeDecodeError as exc:
        problem = f"(body): not valid UTF-8 ({exc.reason} at byte {exc.start})"
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:  # JSONDecodeError is a ValueError
            problem = f"(body): not valid JSON ({exc})"
        except RecursionError:  # arrays or objects nested thousands of levels deep
            problem = "(body): JSON nested too deeply to decode"
    if problem is not None:
        return _fail((problem,))
    if type(data) is not dict:
        return _fail((f"(body): expected a JSON object, got {_type_name(data)}",))
    if "sampler" not in data:
        return _fail(("sampler: required field missing",))
    try:
        return structure_sampler(data["sampler"], secret=secret)
    except ResponseValidationError as exc:
        return exc.with_traceback(None)
