"""Every Loops route as data, and the one pure function that turns a call into a request.

A route says how to build its request (method, path template, query and body fields), how to
read its answer (the key the object is wrapped in and the type it becomes), whether it may be
resent after an ambiguous failure, whether it can run on a team's behalf, and how it pages.
Resources (``_resources/``) name a route and pass their arguments; :func:`build_request` does
the rest, with no I/O. Adding a route is adding an entry here.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Mapping
from typing import Any, Generic, Literal, TypeVar

import attrs

from ._models import (
    Checkpoint,
    CheckpointDeployment,
    CheckpointFilesPage,
    CheckpointSource,
    DeactivatedDeployment,
    DeactivatedRun,
    DeactivatedSampler,
    DebugArchiveFilesPage,
    Deployment,
    DeploymentMetrics,
    Log,
    Run,
    Sampler,
    Session,
    SupportedModel,
    UserConfig,
)
from ._sansio import path_segment

__all__ = ["ROUTES", "UNSET", "Paging", "Request", "Route", "Unset", "build_request"]

T = TypeVar("T")
LOOPS_PREFIX = "/v1/loops"
TEAM_PREFIX = "/v1/teams/{team_id}/loops"


class Unset(enum.Enum):
    """The type of :data:`UNSET`."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


#: "Leave this field out of the request", for bodies where ``None`` is a value to send
#: (JSON Merge Patch: ``null`` clears a field, leaving it out keeps it).
UNSET = Unset.UNSET


@attrs.frozen
class Paging:
    """How a route pages: the page field holding the items and the kind of continuation token.

    ``offset`` tokens are integers (a position), ``opaque`` tokens strings to hand back as they
    came. Either way the next page is asked for with ``page_token`` until the answer's
    ``next_page_token`` is null.
    """

    items: str
    token: Literal["offset", "opaque"]


@attrs.frozen
class Route(Generic[T]):
    """One operation of the API; ``T`` is what a call returns.

    Attributes:
        name: ``group.method``, as the resource method is called (``runs.create``).
        method: The HTTP method.
        path: The path under ``/v1/loops``; ``{name}`` placeholders are path ids.
        response_key: The key of the answer's JSON object holding the result, or ``""``
            when the whole object is the result.
        response_type: What that value becomes (a model, ``tuple[Model, ...]``, a union), or
            ``None`` for an answer with nothing in it.
        query: The query parameters, in the order they are sent.
        body: The JSON body's fields; empty for a route without a body.
        required_body: The body fields a call must give (the schema's ``required``).
        null_body_fields: Body fields for which ``None`` is sent as ``null`` (left out only
            when ``UNSET``); every other field is left out when ``None``.
        idempotent: Whether sending it twice is harmless, so it may be resent after any
            retryable failure. A route that is not is resent only when the failure proves the
            server did not act on it (see ``HTTPSession.request``).
        team_capable: Whether it also exists under ``/v1/teams/{team_id}/loops``.
        paging: How it pages, or ``None``.
        operation_id: The spec's ``operationId``, to trace a route back to the spec.

    """

    name: str
    method: Literal["GET", "POST", "PATCH"]
    path: str
    response_key: str
    response_type: Any
    operation_id: str
    query: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    required_body: tuple[str, ...] = ()
    null_body_fields: frozenset[str] = frozenset()
    idempotent: bool = True
    team_capable: bool = False
    paging: Paging | None = None

    #: The names of the ids in the path, in order (read from ``path``).
    path_params: tuple[str, ...] = attrs.field(init=False)

    @path_params.default
    def _path_params(self) -> tuple[str, ...]:
        return tuple(
            name for _, name, _, _ in string.Formatter().parse(self.path) if name is not None
        )

    def split_path(self) -> tuple[str, str]:
        """The whole path before and after the one id of a lookup route (``samplers.get``).

        A lookup by id then costs one concatenation per id: ``head + segment + tail``.
        """
        if len(self.path_params) != 1:
            raise TypeError(f"{self.name} has {len(self.path_params)} path ids, not one")
        head, _, tail = self.path.partition("{" + self.path_params[0] + "}")
        return LOOPS_PREFIX + head, tail


@attrs.frozen
class Request:
    """A request ready to send: what ``HTTPSession.request`` takes."""

    method: str
    path: str
    params: dict[str, str] | None
    json: dict[str, Any] | None
    idempotent: bool


_RUN_FIELDS = (
    "session_id",
    "base_model",
    "name",
    "max_seq_len",
    "lora_rank",
    "seed",
    "scale_down_delay_seconds",
    "availability_model",
    "replicas",
    "path",
    "reuse_from_run_id",
    "reuse_from_session_id",
)
_FILE_PAGING_QUERY = ("page_size", "page_token")


# fmt: off
# Samplers
SAMPLERS_GET: Route[Sampler] = Route(
    "samplers.get", "GET", "/samplers/{sampler_id}", "sampler", Sampler,
    "get_loops_samplers_sampler_id")
SAMPLERS_LIST: Route[tuple[Sampler, ...]] = Route(
    "samplers.list", "GET", "/samplers", "samplers", tuple[Sampler, ...],
    "get_loops_samplers", query=("scope",), team_capable=True)
SAMPLERS_CREATE: Route[Sampler] = Route(
    "samplers.create", "POST", "/samplers", "sampler", Sampler, "post_loops_samplers",
    body=("session_id", "base_model", "run_id", "availability_model", "max_seq_length",
          "model_path", "reuse_from_session_id", "num_replicas"), required_body=("session_id",),
    idempotent=False, team_capable=True)
SAMPLERS_DEACTIVATE: Route[DeactivatedSampler] = Route(
    "samplers.deactivate", "POST", "/samplers/{sampler_id}/deactivate", "",
    DeactivatedSampler, "post_loops_samplers_deactivate")
# Runs and trainers
RUNS_LIST: Route[tuple[Run, ...]] = Route(
    "runs.list", "GET", "/runs", "runs", tuple[Run, ...], "get_loops_runs",
    query=("run_id", "base_model", "scope"), team_capable=True)
RUNS_CREATE: Route[Run] = Route(
    "runs.create", "POST", "/runs", "run", Run, "post_loops_runs",
    body=(*_RUN_FIELDS, "sampler_num_replicas"), required_body=_RUN_FIELDS[:2],
    idempotent=False, team_capable=True)
RUNS_GET: Route[Run] = Route(
    "runs.get", "GET", "/runs/{run_id}", "run", Run, "get_loops_runs_run_id")
RUNS_DEACTIVATE: Route[DeactivatedRun] = Route(
    "runs.deactivate", "POST", "/runs/{run_id}/deactivate", "", DeactivatedRun,
    "post_loops_runs_deactivate")
TRAINERS_CREATE: Route[Run] = Route(
    "trainers.create", "POST", "/trainers", "run", Run, "post_loops_trainers",
    body=_RUN_FIELDS, required_body=_RUN_FIELDS[:2], idempotent=False, team_capable=True)
# Sessions
SESSIONS_CREATE: Route[Session] = Route(
    "sessions.create", "POST", "/sessions", "session", Session, "post_loops_sessions",
    idempotent=False, team_capable=True)
SESSIONS_GET: Route[Session] = Route(
    "sessions.get", "GET", "/sessions/{session_id}", "session", Session,
    "get_loops_sessions")
# Checkpoints
CHECKPOINTS_LIST: Route[tuple[Checkpoint, ...]] = Route(
    "checkpoints.list", "GET", "/checkpoints", "checkpoints", tuple[Checkpoint, ...],
    "get_loops_checkpoints", query=("run_id", "base_model", "checkpoint_path"))
# An empty answer on success ({}); a checkpoint that does not fit answers 400.
CHECKPOINTS_VALIDATE: Route[None] = Route(
    "checkpoints.validate", "POST", "/checkpoints/validate", "", None,
    "post_loops_checkpoints_validate", body=("checkpoint_path", "run_id"),
    required_body=("checkpoint_path",))
# Billable and not idempotent: a second send would deploy twice.
CHECKPOINTS_DEPLOY: Route[CheckpointDeployment] = Route(
    "checkpoints.deploy", "POST", "/checkpoints/deploy", "", CheckpointDeployment,
    "post_loops_checkpoints_deploy",
    body=("checkpoint_ids", "model_name", "instance_type_id", "hf_secret_name"),
    required_body=("checkpoint_ids", "model_name", "instance_type_id", "hf_secret_name"),
    idempotent=False)
CHECKPOINTS_FILES: Route[CheckpointFilesPage] = Route(
    "checkpoints.files", "GET", "/checkpoints/{checkpoint_id}/files", "",
    CheckpointFilesPage, "get_loops_checkpoints_files", query=_FILE_PAGING_QUERY,
    paging=Paging(items="presigned_urls", token="offset"))
CHECKPOINTS_SOURCE: Route[CheckpointSource] = Route(
    "checkpoints.source", "GET", "/checkpoints/{checkpoint_id}/source", "source",
    CheckpointSource, "get_loops_checkpoints_source")
# Deployments
DEPLOYMENTS_LIST: Route[tuple[Deployment, ...]] = Route(
    "deployments.list", "GET", "/deployments", "deployments", tuple[Deployment, ...],
    "get_loops_deployments", query=("scope",))
DEPLOYMENTS_GET: Route[Deployment] = Route(
    "deployments.get", "GET", "/deployments/{deployment_id}", "deployment", Deployment,
    "get_loops_deployments_deployment_id")
# The spec does not say whether deactivating twice is harmless: treat it as not.
DEPLOYMENTS_DEACTIVATE: Route[DeactivatedDeployment] = Route(
    "deployments.deactivate", "POST", "/deployments/{deployment_id}/deactivate",
    "", DeactivatedDeployment, "post_loops_deployments_deactivate",
    idempotent=False)
DEPLOYMENTS_DEBUG_ARCHIVE_FILES: Route[DebugArchiveFilesPage] = Route(
    "deployments.debug_archive_files", "GET",
    "/deployments/{deployment_id}/debug_archive/files", "", DebugArchiveFilesPage,
    "get_loops_deployments_debug_archive_files", query=_FILE_PAGING_QUERY,
    paging=Paging(items="presigned_urls", token="opaque"))
# A read sent as POST: idempotent.
DEPLOYMENTS_METRICS: Route[DeploymentMetrics] = Route(
    "deployments.metrics", "POST", "/deployments/{deployment_id}/metrics", "metrics",
    DeploymentMetrics, "post_loops_deployments_metrics",
    body=("start_epoch_millis", "end_epoch_millis", "step_seconds", "time_divisor_seconds"))
DEPLOYMENTS_LOGS: Route[tuple[Log, ...]] = Route(
    "deployments.logs", "GET", "/deployments/{deployment_id}/logs", "logs",
    tuple[Log, ...], "get_loops_deployments_logs",
    query=("start_epoch_millis", "end_epoch_millis", "direction", "limit", "min_level"))
# Capabilities and the caller's config
CAPABILITIES_LIST: Route[tuple[SupportedModel, ...]] = Route(
    "capabilities.list", "GET", "/capabilities", "supported_models",
    tuple[SupportedModel, ...], "get_loops_capabilities",
    query=("model", "use_case", "max_seq_len"))
USER_CONFIG_GET: Route[UserConfig] = Route(
    "user_config.get", "GET", "/user_config", "user_config", UserConfig,
    "get_loops_user_config")
# JSON Merge Patch: the same body twice gives the same state.
USER_CONFIG_UPDATE: Route[UserConfig] = Route(
    "user_config.update", "PATCH", "/user_config", "user_config", UserConfig,
    "patch_loops_user_config",
    body=("trainer_accelerator_priority", "sampler_accelerator_priority"),
    null_body_fields=frozenset({"trainer_accelerator_priority", "sampler_accelerator_priority"}))
# fmt: on

#: Every operation of the Loops API, by ``group.method``.
ROUTES: dict[str, Route[Any]] = {
    route.name: route
    for route in (
        SAMPLERS_GET, SAMPLERS_LIST, SAMPLERS_CREATE, SAMPLERS_DEACTIVATE,
        RUNS_LIST, RUNS_CREATE, RUNS_GET, RUNS_DEACTIVATE, TRAINERS_CREATE,
        SESSIONS_CREATE, SESSIONS_GET,
        CHECKPOINTS_LIST, CHECKPOINTS_VALIDATE, CHECKPOINTS_DEPLOY, CHECKPOINTS_FILES,
        CHECKPOINTS_SOURCE,
        DEPLOYMENTS_LIST, DEPLOYMENTS_GET, DEPLOYMENTS_DEACTIVATE,
        DEPLOYMENTS_DEBUG_ARCHIVE_FILES, DEPLOYMENTS_METRICS, DEPLOYMENTS_LOGS,
        CAPABILITIES_LIST, USER_CONFIG_GET, USER_CONFIG_UPDATE,
    )
}  # fmt: skip


def build_request(
    route: Route[Any], arguments: Mapping[str, object], *, team_id: str | None = None
) -> Request:
    """The request for one call of ``route`` with these arguments.

    Every path id (and ``team_id``) is validated and encoded as one path segment, as sampler
    ids are; a query parameter that is ``None`` is not sent; a body field that is ``None`` is
    left out (unless the route sends ``None`` as ``null``), and one that is :data:`UNSET`
    always is.

    Raises:
        IdTypeError: A path id is not a ``str``.
        InvalidIdError: A path id cannot be one path segment.

    """
    # Python checks the explicit keywords of a method; these catch what **fields lets through.
    unknown = set(arguments).difference(route.path_params, route.query, route.body)
    if unknown:
        raise TypeError(f"{route.name} takes no {sorted(unknown)}")
    missing = [name for name in route.required_body if arguments.get(name) is None]
    if missing:
        raise TypeError(f"{route.name} needs {missing}")
    path = route.path.format_map(
        {name: path_segment(arguments[name], name) for name in route.path_params}
    )
    if team_id is None:
        prefix = LOOPS_PREFIX
    elif route.team_capable:
        prefix = TEAM_PREFIX.format(team_id=path_segment(team_id, "team_id"))
    else:
        raise TypeError(f"{route.name} cannot act for a team")
    params = {
        name: _query_value(arguments[name])
        for name in route.query
        if arguments.get(name) is not None
    }
    body = None
    if route.body:
        body = {
            name: arguments[name]
            for name in route.body
            if name in arguments
            and arguments[name] is not UNSET
            and (arguments[name] is not None or name in route.null_body_fields)
        }
    return Request(
        method=route.method,
        path=prefix + path,
        params=params or None,
        json=body,
        idempotent=route.idempotent,
    )


def _query_value(value: object) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)
