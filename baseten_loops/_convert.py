"""Where JSON becomes a :class:`Sampler` or any other model: strict cattrs converters.

cattrs coerces primitives by default (``str(12345)`` would pass as an id, ``str(None)`` as a
URL); every primitive hook here checks the type instead. All hooks are registered in this one
module, and every failure becomes a :class:`ResponseValidationError` naming the field path.

Two converters come from one recipe: a fast one (no detailed validation) structures every valid
body; only when it fails is the body structured again by the detailed one, whose errors name
the failing field paths. Valid bodies, the common case, never pay for error bookkeeping. The
detailed pass stops looking once it has found :data:`MAX_ERRORS` problems and counts what it
left out, so a hostile body (a megabyte of ``{}`` items) costs about what decoding it does.

:func:`parse_response` reads the answer of any route in ``_routes.py``, sampler lookups (bulk
calls make thousands) included.
"""

from __future__ import annotations

import contextvars
import enum
import functools
import json
import operator
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import cattrs
from cattrs.errors import (
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)

from ._exceptions import ResponseValidationError
from ._models import (
    Checkpoint,
    CheckpointDeployment,
    CheckpointFile,
    CheckpointFilesPage,
    CheckpointS3Source,
    CheckpointSource,
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
    InferenceVolumeByStatusDatapoint,
    InstanceType,
    Log,
    LoopsDeploymentStatus,
    LoRAConfig,
    ResponseTimeDatapoint,
    Run,
    RunStatus,
    Sampler,
    SamplerStatus,
    Session,
    StorageMetrics,
    SupportedModel,
    TrainingJobMetric,
    UnknownCheckpointSource,
    User,
    UserConfig,
)
from ._sansio import scrub

__all__ = ["MAX_ERRORS", "parse_datetime", "parse_response", "structure"]

#: Most problems a :class:`ResponseValidationError` describes. The detailed pass stops looking
#: once it has found this many; a last line of ``errors`` says how many more it found and how
#: many array items or object entries it never looked at.
MAX_ERRORS = 30
#: Longest line of ``errors`` (a field path and what is wrong, quoting the value).
_LINE_CHARS = 300

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
# Every model, nested classes before the classes that hold them: a class's generated hook
# binds the hooks of its fields when it is generated.
_MODELS: tuple[type, ...] = (
    User,
    InstanceType,
    Sampler,
    Session,
    RunStatus,
    Run,
    DeactivatedRun,
    DeactivatedSampler,
    DeactivatedDeployment,
    LoRAConfig,
    Checkpoint,
    CheckpointFile,
    CheckpointFilesPage,
    DebugArchiveFilesPage,
    CheckpointS3Source,
    CheckpointVolumeSource,
    CheckpointDeployment,
    LoopsDeploymentStatus,
    Deployment,
    TrainingJobMetric,
    StorageMetrics,
    ResponseTimeDatapoint,
    InferenceVolumeByStatusDatapoint,
    DeploymentNodeMetrics,
    DeploymentMetrics,
    Log,
    EnablementDetails,
    SupportedModel,
    UserConfig,
)
_SOURCE_KINDS: dict[str, type] = {"s3": CheckpointS3Source, "volume": CheckpointVolumeSource}


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


def _strict_int(value: Any, _: object) -> int:
    if type(value) is not int:  # bool is an int subclass; refuse it too
        raise TypeError(f"expected an integer, got {_type_name(value)}")
    return value


def _strict_float(value: Any, _: object) -> float:
    # JSON has one number type: 3 and 3.0 are both a "number". Booleans are not.
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    raise TypeError(f"expected a number, got {_type_name(value)}")


def _strict_bool(value: Any, _: object) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected a boolean, got {_type_name(value)}")
    return value


def _union_members(type_: Any) -> tuple[Any, ...]:
    return typing.get_args(type_) if isinstance(type_, types.UnionType) else ()


def _is_open_enum(type_: Any) -> bool:
    """``SomeEnum | str``: an enum whose unknown values are kept as plain strings."""
    members = _union_members(type_)
    return (
        len(members) == 2
        and members[1] is str
        and isinstance(members[0], type)
        and issubclass(members[0], enum.Enum)
    )


def _open_enum_hook(type_: Any) -> Callable[[Any, Any], Any]:
    by_value = {member.value: member for member in _union_members(type_)[0]}

    def structure_open_enum(value: Any, _: object) -> Any:
        name = _strict_str(value, None)
        return by_value.get(name, name)

    return structure_open_enum


def _is_optional(type_: Any) -> bool:
    members = _union_members(type_)
    return len(members) >= 2 and members[-1] is type(None)


def _optional_hook_factory(converter: cattrs.Converter) -> Callable[[Any], Any]:
    def factory(type_: Any) -> Callable[[Any, Any], Any]:
        inner_type = functools.reduce(operator.or_, _union_members(type_)[:-1])
        inner = converter.get_structure_hook(inner_type)

        def structure_optional(value: Any, _: object) -> Any:
            return None if value is None else inner(value, inner_type)

        return structure_optional

    return factory


def _is_tuple(type_: Any) -> bool:
    args = typing.get_args(type_)
    return typing.get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis


def _tuple_hook_factory(converter: cattrs.Converter) -> Callable[[Any], Any]:
    """JSON arrays become tuples (immutable, like the models); anything else is refused.

    cattrs alone would turn the string ``"ab"`` into ``("a", "b")``.
    """

    def factory(type_: Any) -> Callable[[Any, Any], Any]:
        list_type = types.GenericAlias(list, typing.get_args(type_)[:1])
        as_list = converter.get_structure_hook(list_type)

        def structure_tuple(value: Any, _: object) -> tuple[Any, ...]:
            if type(value) is not list:
                raise TypeError(f"expected an array, got {_type_name(value)}")
            return tuple(as_list(value, list_type))

        return structure_tuple

    return factory


def _is_dict(type_: Any) -> bool:
    return typing.get_origin(type_) is dict


def _dict_hook_factory(converter: cattrs.Converter) -> Callable[[Any], Any]:
    def factory(type_: Any) -> Callable[[Any, Any], Any]:
        structure_items = converter.gen_structure_mapping(type_)

        def structure_dict(value: Any, _: object) -> dict[Any, Any]:
            if type(value) is not dict:
                raise TypeError(f"expected an object, got {_type_name(value)}")
            return structure_items(value, type_)  # type: ignore[no-any-return]

        return structure_dict

    return factory


def _any_hook(value: Any, _: object) -> Any:
    return value  # free-form JSON (``additionalProperties: true``), kept as sent


def _checkpoint_source_hook(converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """Pick the checkpoint source class by its ``kind``; keep an unknown kind as it came.

    The API adds source kinds over time (the spec marks the union open), so a new kind becomes
    an :class:`UnknownCheckpointSource` instead of failing the call.
    """
    hooks = {kind: converter.get_structure_hook(cls) for kind, cls in _SOURCE_KINDS.items()}

    def structure_source(value: Any, _: object) -> CheckpointSource:
        if type(value) is not dict:
            raise TypeError(f"expected an object, got {_type_name(value)}")
        if "kind" not in value:
            raise ValueError("the 'kind' that tells the source type apart is missing")
        kind = _strict_str(value["kind"], None)
        hook = hooks.get(kind)
        if hook is None:
            return UnknownCheckpointSource(kind=kind, data=value)
        return hook(value, _SOURCE_KINDS[kind])  # type: ignore[no-any-return]

    return structure_source


def _register_exact(converter: cattrs.Converter, type_: Any, hook: Any) -> None:
    """Register a hook for exactly this type (a union, ``Any``), ahead of the generic factories.

    ``register_structure_hook`` files unions where only cattrs' own union handling looks, and
    the factories above come first; these hand-written hooks are the fast paths, so they win.
    (It also refuses ``Any`` before Python 3.11, where ``Any`` is not a class.)
    """
    converter.register_structure_hook_func(lambda candidate: candidate == type_, hook)


def _make_converter(*, detailed: bool) -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)
    # Generic shapes (optionals, arrays, maps, open enums) as factories; the exact unions
    # registered after them take precedence, and plain classes never match these predicates.
    converter.register_structure_hook_factory(_is_optional, _optional_hook_factory(converter))
    if detailed:  # the pass that collects errors: it stops once it has found enough of them
        converter.register_structure_hook_factory(_is_tuple, _bounded_tuple_hook(converter))
        converter.register_structure_hook_factory(_is_dict, _bounded_dict_hook(converter))
    else:
        converter.register_structure_hook_factory(_is_tuple, _tuple_hook_factory(converter))
        converter.register_structure_hook_factory(_is_dict, _dict_hook_factory(converter))
    converter.register_structure_hook_factory(_is_open_enum, _open_enum_hook)
    _register_exact(converter, Any, _any_hook)
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(bool, _strict_bool)
    _register_exact(converter, str | None, _optional_str)
    _register_exact(converter, int | None, _optional_int)
    converter.register_structure_hook(datetime, _datetime_hook)
    _register_exact(converter, DeploymentStatus | str, _status_name_hook)
    # Generate the class hooks once, here, so structuring never falls back to introspection;
    # nested classes first, since a class's generated code binds the hooks of its fields.
    status_hook = _objects_only(converter.gen_structure_attrs_fromdict(SamplerStatus))
    if not detailed:
        status_hook = _shared_known_statuses(status_hook)
    converter.register_structure_hook(SamplerStatus, status_hook)
    for cls in _MODELS:
        hook: Callable[[Any, Any], Any] = _objects_only(converter.gen_structure_attrs_fromdict(cls))
        converter.register_structure_hook(cls, hook)
        _register_exact(converter, cls | None, _or_none(hook))
    converter.register_structure_hook(CheckpointSource, _checkpoint_source_hook(converter))
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


class _Collected:
    """What one detailed pass has found so far: problems counted, elements never looked at."""

    __slots__ = ("problems", "unchecked")

    def __init__(self) -> None:
        self.problems = 0
        self.unchecked = 0


# The detailed pass under way in this thread or task (structuring never awaits, so one at a time).
_COLLECTED: contextvars.ContextVar[_Collected] = contextvars.ContextVar("_COLLECTED")


def _bounded_tuple_hook(converter: cattrs.Converter) -> Callable[[Any], Any]:
    """The detailed pass's JSON arrays: each item checked until enough problems are found."""

    def factory(type_: Any) -> Callable[[Any, Any], Any]:
        item_type = typing.get_args(type_)[0]
        structure_item = converter.get_structure_hook(item_type)

        def structure_tuple(value: Any, _: object) -> tuple[Any, ...]:
            if type(value) is not list:
                raise TypeError(f"expected an array, got {_type_name(value)}")
            items = _structure_elements(enumerate(value), len(value), structure_item, item_type)
            return tuple(items.values())

        return structure_tuple

    return factory


def _bounded_dict_hook(converter: cattrs.Converter) -> Callable[[Any], Any]:
    """The detailed pass's JSON objects used as maps, bounded like its arrays."""

    def factory(type_: Any) -> Callable[[Any, Any], Any]:
        value_type = typing.get_args(type_)[1]
        structure_value = converter.get_structure_hook(value_type)

        def structure_dict(value: Any, _: object) -> dict[Any, Any]:
            if type(value) is not dict:
                raise TypeError(f"expected an object, got {_type_name(value)}")
            # JSON object keys are always strings: only the values can be wrong.
            return _structure_elements(value.items(), len(value), structure_value, value_type)

        return structure_dict

    return factory


def _structure_elements(
    elements: Iterable[tuple[Any, Any]],
    count: int,
    structure_element: Callable[[Any, Any], Any],
    element_type: Any,
) -> dict[Any, Any]:
    """Structure ``(index or key, value)`` pairs; stop once :data:`MAX_ERRORS` problems are in.

    Failures are gathered as cattrs' detailed mode does (an :class:`IterableValidationError`
    whose members carry their index or key), so :func:`_describe` reads them alike. What is
    left unchecked is counted in the pass's :class:`_Collected`.
    """
    collected = _COLLECTED.get()
    done: dict[Any, Any] = {}
    failures: list[Exception] = []
    for position, (where, element) in enumerate(elements):
        if collected.problems >= MAX_ERRORS:
            collected.unchecked += count - position
            break
        counted_before = collected.problems  # problems found inside it count as they are met
        try:
            done[where] = structure_element(element, element_type)
        except Exception as exc:
            note = IterableValidationNote(f"Structuring @ {where!r}", where, element_type)
            exc.__notes__ = [*getattr(exc, "__notes__", ()), note]  # type: ignore[attr-defined]
            failures.append(exc)
            collected.problems = counted_before + _problem_count(exc)
    if failures:
        raise IterableValidationError("invalid elements", failures, element_type)
    return done


def _problem_count(exc: BaseException) -> int:
    """How many lines :func:`_describe` makes of ``exc``: its leaf errors."""
    if isinstance(exc, BaseValidationError):
        return sum(_problem_count(member) for member in exc.exceptions)
    return 1


_FAST = _make_converter(detailed=False)
_DETAILED = _make_converter(detailed=True)


def _describe(exc: BaseException, path: str) -> tuple[str, ...]:
    """Turn a cattrs error tree into ``path.to.field: description`` lines under ``path``."""
    if not isinstance(exc, ClassValidationError | IterableValidationError):
        # A hook refused the value outright.
        return (f"{path or '(body)'}: {_format_leaf(exc, None)}",)
    lines = []
    for line in cattrs.transform_error(exc, path="", format_exception=_format_leaf):
        description, _, where = line.rpartition(" @ ")
        where = where if where.startswith("[") else "." + where.lstrip(".")
        lines.append(f"{(path + where.rstrip('.')).lstrip('.') or '(body)'}: {description}")
    return tuple(lines)


def _format_leaf(exc: BaseException, _type: type | None) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, ForbiddenExtraKeysError):  # pragma: no cover - extra keys are allowed
        return f"unexpected fields {sorted(exc.extra_fields)}"
    if isinstance(exc, TypeError | ValueError) and str(exc):
        return str(exc)
    return f"invalid value ({type(exc).__name__})"


def _fail(
    errors: tuple[str, ...],
    *,
    what: str = "sampler",
    secret: tuple[str, ...] = (),
    unchecked: int = 0,
) -> ResponseValidationError:
    """The error listing ``errors`` (at most :data:`MAX_ERRORS` of them), scrubbed.

    Field values are quoted in the lines; a server echoing the key into one must not leak it,
    and a megabyte-long value must not make a megabyte-long message (:func:`scrub`). When
    problems or unchecked elements were left out, a last line (and the message) says so.
    """
    listed = tuple(scrub(line, secret, limit=_LINE_CHARS) for line in errors[:MAX_ERRORS])
    left_out = _left_out(len(errors) - len(listed), unchecked)
    if len(errors) == 1 and not left_out:
        summary = listed[0]
    else:
        summary = f"{listed[0]} (and {len(listed) - 1} more{'; ' + left_out if left_out else ''})"
    if left_out:
        listed += (f"({left_out})",)
    return ResponseValidationError(f"invalid {what} response: {summary}", errors=listed)


def _left_out(problems: int, unchecked: int) -> str:
    parts = []
    if problems:
        parts.append(f"{problems:,} more problem{'s' if problems != 1 else ''}")
    if unchecked:
        parts.append(f"{unchecked:,} item{'s' if unchecked != 1 else ''} not checked")
    return "left out: " + ", ".join(parts) if parts else ""


def structure(
    data: Any, type_: Any, *, path: str, what: str = "", secret: tuple[str, ...] = ()
) -> Any:
    """Structure decoded JSON into ``type_`` (a model, ``tuple[Model, ...]``, a union ...).

    Raises :class:`ResponseValidationError` naming the failing fields under ``path``
    (``runs[0].created_at: ...``; at most :data:`MAX_ERRORS`, then how many were left out),
    with a message that starts ``invalid {what} response`` (``what`` defaults to ``path``, then
    to the type's name) and each of ``secret`` blanked out of the values it quotes.
    """
    try:
        return _FAST.structure(data, type_)
    except Exception:
        pass  # structure it again, slowly, to say exactly what is wrong
    # Raised outside the except block: the cattrs error quotes the body's values, and would
    # otherwise stay reachable as the new error's __context__.
    problems: tuple[str, ...] = ()
    collected = _Collected()
    pass_token = _COLLECTED.set(collected)
    try:
        _DETAILED.structure(data, type_)
    except Exception as exc:
        problems = _describe(exc, path)
    finally:
        _COLLECTED.reset(pass_token)
    if problems:
        del data  # out of this frame's locals, which capture_locals would print
        what = what or path or getattr(type_, "__name__", "")
        raise _fail(problems, what=what, secret=secret, unchecked=collected.unchecked)
    raise AssertionError("the fast and detailed converters disagree")  # pragma: no cover


def _decode_object(body: bytes, *, what: str) -> dict[str, Any] | ResponseValidationError:
    """The body's JSON object, or the error saying why it is not one (returned, not raised).

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
        return _fail((problem,), what=what)
    if type(data) is not dict:
        return _fail((f"(body): expected a JSON object, got {_type_name(data)}",), what=what)
    return data


def parse_response(
    body: bytes, key: str, type_: Any, *, what: str = "", secret: tuple[str, ...] = ()
) -> Any:
    """Parse a 2xx body: a JSON object whose ``key`` holds a ``type_``.

    With ``key=""`` the whole object is the ``type_``. With ``type_=None`` (an empty answer
    such as checkpoint validation's) only its being a JSON object is checked and ``None``
    comes back. Raises :class:`ResponseValidationError` naming the failing field path
    (``runs[0].created_at: ...``); its message starts ``invalid {what} response`` (``what``
    defaults to ``key``), with each of ``secret`` blanked out of the values it quotes.
    """
    what = what or key or getattr(type_, "__name__", "")
    result = _parse_body(body, key, type_, what, secret)
    # The error is raised from this frame, and a traceback printed with capture_locals shows
    # its locals: keep the body (which a server may have stuffed with an echoed key) out.
    del body
    if isinstance(result, ResponseValidationError):
        raise result
    return result


def _parse_body(
    body: bytes, key: str, type_: Any, what: str, secret: tuple[str, ...]
) -> Any | ResponseValidationError:
    """What :func:`parse_response` returns, or the error it raises (returned, not raised)."""
    data = _decode_object(body, what=what)
    if isinstance(data, ResponseValidationError) or type_ is None:
        return data if isinstance(data, ResponseValidationError) else None
    if key and key not in data:
        return _fail((f"{key}: required field missing",), what=what)
    try:
        return structure(data[key] if key else data, type_, path=key, what=what, secret=secret)
    except ResponseValidationError as exc:
        return exc.with_traceback(None)
