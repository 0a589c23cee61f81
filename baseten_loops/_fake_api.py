"""The state and the routes behind :class:`baseten_loops.testing.FakeLoopsServer` (private).

Every ``/loops`` operation of the spec is one :class:`Route` in :data:`ROUTES`: its method, path
template, declared query parameters and body fields (validated like the live service does, 422
naming the field), and a handler on :class:`FakeApi`, which holds the served objects. The server
in ``testing.py`` owns the sockets, auth, recording and scripted faults; it calls
:meth:`FakeApi.dispatch` last.
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import random
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

_ID_ALPHABET = string.ascii_lowercase + string.digits
#: Who the fake's API key belongs to: lists without ``scope=org`` show only this user's objects.
CALLER = {"email": "trainer@example.com"}
BASE_MODELS = ("Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B-Instruct", "mistralai/Mistral-7B-v0.3")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_MAX_LOG_WINDOW_MS = 7 * 24 * 3600 * 1000
_DEFAULT_LOG_WINDOW_MS = 30 * 60 * 1000
_BT_URI = re.compile(r"^bt://loops:(?P<run_id>[^/]+)/(?P<kind>weights|sampler_weights)/[^/]+$")
_INSTANCE_TYPE = {
    "id": "H100x8",
    "name": "H100:8x80GiB",
    "memory_limit_mib": 1_900_000,
    "millicpu_limit": 190_000,
    "gpu_count": 8,
    "gpu_type": "H100",
    "gpu_memory_limit_mib": 81_920,
}


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


def _not_found(kind: str, object_id: str) -> ApiError:
    return ApiError(404, "not_found", f"{kind} {object_id} not found")


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "bad_request", message)


def rfc3339(moment: datetime) -> str:
    """``moment`` (UTC) as RFC 3339 with a ``Z``, as the live service writes date-times."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _now_ms() -> int:
    return int(_now().timestamp() * 1000)


def sampler_payload(
    sampler_id: str,
    *,
    status: str = "ACTIVE",
    base_model: str = "Qwen/Qwen3-8B",
    created_at: str | None = None,
    model_id: str | None = None,
    deployment_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A sampler object as the live API sends it (``LoopsSamplerV1`` plus live fields)."""
    payload: dict[str, Any] = {
        "id": sampler_id,
        "base_url": f"https://model-{sampler_id}.api.baseten.co/environments/production/sync/v1",
        "base_model": base_model,
        "created_at": created_at or "2026-01-02T03:04:05.123456Z",
        "model_id": model_id,
        "deployment_id": deployment_id,
        "status": {"name": status},
        "user": dict(CALLER),
        "instance_type": None,
        "node_count": 1,
    }
    payload.update(extra)
    return payload


# -- request validation ----------------------------------------------------------------------


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
        raise _bad_request(f"the body is not valid JSON: {exc}") from None
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


#: What a handler answers: a JSON-able object, or ready-made JSON bytes.
Answer = dict[str, Any] | bytes


@attrs.frozen
class Route:
    """One operation: ``method`` and path ``template``, its inputs, and its handler."""

    method: str
    template: str
    operation_id: str
    handler: Callable[[FakeApi, Call], Answer]
    query: tuple[Field, ...] = ()
    body: tuple[Field, ...] | None = None

    @property
    def key(self) -> str:
        """``"METHOD /template"``, e.g. ``"GET /v1/loops/runs/{run_id}"``."""
        return f"{self.method} {self.template}"

    @property
    def pattern(self) -> re.Pattern[str]:
        """Matches a concrete path of this template."""
        return re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", self.template) + "$")


def _paged(items: Sequence[Any], offset: int, page_size: int) -> tuple[list[Any], int | None]:
    page = list(items[offset : offset + page_size])
    next_offset = offset + page_size
    return page, next_offset if next_offset < len(items) else None


def _file_entries(prefix: str, files: Iterable[str | Mapping[str, Any]] | int) -> list[Any]:
    names: Iterable[str | Mapping[str, Any]] = (
        [f"file-{index:05d}.bin" for index in range(files)] if isinstance(files, int) else files
    )
    stamp = rfc3339(_now())
    entries = []
    for name in names:
        entry: dict[str, Any] = {} if isinstance(name, str) else dict(name)
        file_name = name if isinstance(name, str) else entry.get("relative_file_name", "file")
        entry.setdefault("relative_file_name", file_name)
        entry.setdefault("url", f"https://storage.example.com/{prefix}/{file_name}?X-Sig=fake")
        entry.setdefault("node_rank", 0)
        entry.setdefault("size_bytes", 1024)
        entry.setdefault("last_modified", stamp)
        entries.append(entry)
    return entries


def _log_entries(logs: Iterable[str | Mapping[str, Any]], after_ns: int) -> list[dict[str, Any]]:
    items = list(logs)
    # Unstamped lines are a millisecond apart, ending now and after the lines already there,
    # so the default window (the last 30 minutes) holds them in the order they were added.
    next_ns = max(_now_ms() * 1_000_000 - len(items) * 1_000_000, after_ns + 1_000_000)
    entries = []
    for index, log in enumerate(items):
        entry: dict[str, Any] = {"message": log} if isinstance(log, str) else dict(log)
        entry.setdefault("timestamp", str(next_ns + index * 1_000_000))
        entry.setdefault("replica", "replica-0")
        entry.setdefault("request_id", None)
        entry.setdefault("level", "INFO")
        entries.append(entry)
    return entries


def _series(start_ms: int, step_s: int, count: int, value: float) -> list[dict[str, Any]]:
    start = datetime.fromtimestamp(start_ms / 1000, timezone.utc)
    return [
        {"value": value, "timestamp": rfc3339(start + timedelta(seconds=step_s * index))}
        for index in range(count)
    ]


def _window(start_ms: int | None, end_ms: int | None, default_ms: int) -> tuple[int, int]:
    """A time window in epoch milliseconds: ``end`` defaults to now, ``start`` to before it."""
    end = _now_ms() if end_ms is None else end_ms
    start = end - default_ms if start_ms is None else start_ms
    if start > end:
        raise _bad_request("start_epoch_millis must not be after end_epoch_millis")
    return start, end


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        prefix, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if prefix == "offset" and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise _bad_request("page_token is not a token this server issued")


class FakeApi:
    """The objects a fake Loops API serves, and a handler per operation."""

    def __init__(
        self,
        *,
        seed: int | None,
        sampler_statuses: Sequence[str],
        deployment_statuses: Sequence[str],
        polls_per_status: int,
    ) -> None:
        if not sampler_statuses or not deployment_statuses:
            raise ValueError("status sequences must not be empty")
        if polls_per_status < 1:
            raise ValueError("polls_per_status must be >= 1")
        self.id_rng = random.Random(seed)
        self.sampler_statuses = tuple(sampler_statuses)
        self.deployment_statuses = tuple(deployment_statuses)
        self.polls_per_status = polls_per_status
        self.samplers: dict[str, dict[str, Any]] = {}
        self.sampler_bodies: dict[str, bytes] = {}  # served bytes, cached for bulk speed
        self.sampler_run: dict[str, str] = {}  # paired sampler -> its run
        self.sessions: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.run_sampler: dict[str, str] = {}
        self.deployments: dict[str, dict[str, Any]] = {}
        self.deployment_sampler: dict[str, str] = {}
        self.checkpoints: dict[str, dict[str, Any]] = {}
        self.checkpoint_files: dict[str, list[Any]] = {}
        self.checkpoint_sources: dict[str, dict[str, Any]] = {}
        self.checkpoint_uris: dict[str, str] = {}  # bt:// URI -> checkpoint id
        self.uri_of_checkpoint: dict[str, str] = {}
        self.debug_files: dict[str, list[Any]] = {}
        self.logs: dict[str, list[dict[str, Any]]] = {}
        self.teams: set[str] = set()
        self.team_of: dict[str, str] = {}
        self.status_scripts: dict[str, collections.deque[str]] = {}
        self.capabilities: list[dict[str, Any]] = [
            {
                "model_name": model,
                "max_seq_len": 32768,
                "max_enabled_seq_len": 32768,
                "max_context_length": 32768,
                "supports_vision_language": False,
                "enabled": True,
                "serverless": None,
                "enablement_details": None,
            }
            for model in BASE_MODELS
        ]
        self.user_config: dict[str, Any] = {
            "trainer_accelerator_priority": None,
            "sampler_accelerator_priority": None,
        }
        self.model_deployments: list[dict[str, Any]] = []

    # -- ids, statuses, serialising ------------------------------------------------------

    def new_id(self) -> str:
        """A fresh opaque id, unused by any object."""
        while True:
            new = "".join(self.id_rng.choices(_ID_ALPHABET, k=10))
            if new not in self.samplers and new not in self.runs and new not in self.deployments:
                return new

    def status_holder(self, object_id: str) -> dict[str, Any] | None:
        """The sampler, run or deployment with this id, if any."""
        for table in (self.samplers, self.runs, self.deployments):
            if object_id in table:
                return table[object_id]
        return None

    def set_status(self, object_id: str, status: str) -> None:
        """Set the status of a sampler, run or deployment (``KeyError`` if there is none)."""
        holder = self.status_holder(object_id)
        if holder is None:
            raise KeyError(object_id)
        holder["status"] = {"name": status}
        self.sampler_bodies.pop(object_id, None)

    def script(self, object_id: str, statuses: Iterable[str], polls: int = 1) -> None:
        """Each lookup of ``object_id`` sees the next status, ``polls`` times; the last stays."""
        steps = list(statuses)
        expanded = [status for status in steps[:-1] for _ in range(polls)] + steps[-1:]
        self.status_scripts[object_id] = collections.deque(expanded)

    def end_script(self, object_id: str, status: str) -> None:
        """Stop any scripted progression and set a final status (e.g. on deactivation)."""
        self.status_scripts.pop(object_id, None)
        if self.status_holder(object_id) is not None:
            self.set_status(object_id, status)

    def advance(self, object_id: str) -> None:
        """Apply the next scripted status of ``object_id``, if it has a script."""
        script = self.status_scripts.get(object_id)
        if script and self.status_holder(object_id) is not None:
            self.set_status(object_id, script[0])
            if len(script) > 1:
                script.popleft()

    def run_json(self, run_id: str) -> dict[str, Any]:
        """The ``LoopsRunV1`` object of a run, with its sampler as it is now."""
        sampler_id = self.run_sampler.get(run_id)
        return {**self.runs[run_id], "sampler": self.samplers.get(sampler_id or "")}

    def deployment_json(self, deployment_id: str) -> dict[str, Any]:
        """The ``LoopsDeploymentV1`` object of a deployment, with its sampler as it is now."""
        sampler_id = self.deployment_sampler.get(deployment_id)
        return {**self.deployments[deployment_id], "sampler": self.samplers.get(sampler_id or "")}

    def _get(self, table: Mapping[str, Any], kind: str, object_id: str) -> Any:
        if object_id not in table:
            raise _not_found(kind, object_id)
        return table[object_id]

    def _check_team(self, call: Call) -> None:
        if call.team_id is not None and call.team_id not in self.teams:
            raise _not_found("Team", call.team_id)

    def _visible(self, ids: Iterable[str], call: Call, get: Callable[[str], Any]) -> list[Any]:
        """Newest first; the caller's own unless ``scope=org``; only the team's on team routes."""
        objects = []
        for object_id in reversed(list(ids)):
            if call.team_id is not None and self.team_of.get(object_id) != call.team_id:
                continue
            payload = get(object_id)
            owner = payload.get("user") or {}
            if call.query.get("scope") != "org" and owner.get("email") != CALLER["email"]:
                continue
            objects.append(payload)
        return objects

    # -- seeding (what FakeLoopsServer.add_* call) ---------------------------------------

    def add_session(self, session_id: str | None, team_id: str | None) -> dict[str, Any]:
        """Serve a session."""
        session_id = session_id or self.new_id()
        self.sessions[session_id] = {"id": session_id}
        if team_id is not None:
            self.teams.add(team_id)
            self.team_of[session_id] = team_id
        return self.sessions[session_id]

    def add_sampler(self, payload: dict[str, Any], *, run_id: str | None = None) -> None:
        """Serve a sampler (paired to ``run_id`` if given)."""
        sampler_id = payload["id"]
        self.samplers[sampler_id] = payload
        self.sampler_bodies.pop(sampler_id, None)
        if run_id is not None:
            self.sampler_run[sampler_id] = run_id
            self.run_sampler[run_id] = sampler_id

    def add_run(
        self,
        run_id: str | None,
        *,
        session_id: str,
        base_model: str,
        with_sampler: bool,
        team_id: str | None,
        fields: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Serve a run on a new deployment, with a paired sampler unless ``with_sampler`` is off."""
        run_id = run_id or self.new_id()
        deployment_id = self.new_id()
        created = rfc3339(_now())
        run: dict[str, Any] = {
            "id": run_id,
            "session_id": session_id,
            "deployment_id": deployment_id,
            "name": base_model,
            "base_model": base_model,
            "lora_config_version": "v1",
            "base_url": f"https://loops-{run_id}.api.baseten.co",
            "created_at": created,
            "status": {"name": "ACTIVE"},
            "user": dict(CALLER),
        }
        run.update(fields)
        self.runs[run_id] = run
        self.add_deployment(
            deployment_id, base_model=base_model, run_id=run_id, team_id=team_id, fields={}
        )
        if team_id is not None:
            self.teams.add(team_id)
            self.team_of[run_id] = team_id
        if with_sampler:
            self.create_sampler(base_model, run_id=run_id, team_id=team_id)
        return run

    def create_sampler(
        self, base_model: str, *, run_id: str | None, team_id: str | None
    ) -> dict[str, Any]:
        """A new sampler that comes up through :attr:`sampler_statuses`."""
        sampler_id = self.new_id()
        payload = sampler_payload(
            sampler_id,
            status=self.sampler_statuses[0],
            base_model=base_model,
            created_at=rfc3339(_now()),
            model_id=self.new_id(),
            deployment_id=self.new_id(),
        )
        self.add_sampler(payload, run_id=run_id)
        self.script(sampler_id, self.sampler_statuses, self.polls_per_status)
        if team_id is not None:
            self.team_of[sampler_id] = team_id
        if run_id is not None:
            deployment_id = self.runs[run_id].get("deployment_id")
            if deployment_id in self.deployments:
                self.deployment_sampler[deployment_id] = sampler_id
        return payload

    def add_deployment(
        self,
        deployment_id: str | None,
        *,
        base_model: str,
        run_id: str | None,
        team_id: str | None,
        fields: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Serve a Loops deployment that comes up through :attr:`deployment_statuses`."""
        deployment_id = deployment_id or self.new_id()
        deployment: dict[str, Any] = {
            "id": deployment_id,
            "active_run_id": run_id,
            "latest_run_id": run_id,
            "base_model": base_model,
            "base_url": f"https://loops-{deployment_id}.api.baseten.co",
            "status": {"name": self.deployment_statuses[0]},
            "user": dict(CALLER),
            "created_at": rfc3339(_now()),
            "availability_model": "dedicated",
            "instance_type": dict(_INSTANCE_TYPE),
            "node_count": 1,
        }
        deployment.update(fields)
        self.deployments[deployment_id] = deployment
        self.script(deployment_id, self.deployment_statuses, self.polls_per_status)
        if team_id is not None:
            self.team_of[deployment_id] = team_id
        return deployment

    def add_checkpoint(
        self,
        checkpoint_id: str | None,
        *,
        run_id: str,
        name: str,
        target: str,
        files: Iterable[str | Mapping[str, Any]] | int,
        source: Mapping[str, Any] | None,
        fields: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Serve a checkpoint of ``run_id`` with its files and source."""
        checkpoint_id = checkpoint_id or self.new_id()
        entries = _file_entries(f"checkpoints/{checkpoint_id}", files)
        run = self.runs.get(run_id, {})
        checkpoint: dict[str, Any] = {
            "checkpoint_id": checkpoint_id,
            "id": checkpoint_id,
            "created_at": rfc3339(_now()),
            "checkpoint_type": "lora",
            "base_model": run.get("base_model", BASE_MODELS[0]),
            "lora_adapter_config": {"r": 64, "lora_alpha": 32},
            "size_bytes": sum(entry.get("size_bytes", 0) for entry in entries),
            "sync_status": "COMPLETE",
            "lora_config": {
                "config_version": run.get("lora_config_version") or "v1",
                "targets": ["q_proj", "k_proj", "v_proj", "o_proj"],
                "expert_layout": None,
            },
            "run_id": run_id,
            "target": target,
        }
        checkpoint.update(fields)
        self.checkpoints[checkpoint_id] = checkpoint
        self.checkpoint_files[checkpoint_id] = entries
        self.checkpoint_sources[checkpoint_id] = dict(source or {"kind": "s3"})
        folder = "sampler_weights" if target == "sampler" else "weights"
        uri = f"bt://loops:{run_id}/{folder}/{name}"
        self.checkpoint_uris[uri] = checkpoint_id
        self.uri_of_checkpoint[checkpoint_id] = uri
        return checkpoint

    def set_debug_files(
        self, deployment_id: str, files: Iterable[str | Mapping[str, Any]] | int
    ) -> None:
        """Serve these debug-archive files for a deployment."""
        self.debug_files[deployment_id] = _file_entries(f"debug/{deployment_id}", files)

    def add_logs(self, deployment_id: str, logs: Iterable[str | Mapping[str, Any]]) -> None:
        """Append log lines of a deployment (strings, or ``LogV1`` objects)."""
        lines = self.logs.setdefault(deployment_id, [])
        after_ns = max((int(line["timestamp"]) for line in lines), default=0)
        lines.extend(_log_entries(logs, after_ns))

    # -- handlers: sessions, runs, trainers ----------------------------------------------

    def create_session(self, call: Call) -> Answer:
        self._check_team(call)
        return {"session": self.add_session(None, call.team_id)}

    def get_session(self, call: Call) -> Answer:
        return {"session": self._get(self.sessions, "Session", call.path["session_id"])}

    def list_runs(self, call: Call) -> Answer:
        self._check_team(call)
        runs = self._visible(self.runs, call, self.run_json)
        run_id, base_model = call.query["run_id"], call.query["base_model"]
        if run_id is not None:
            runs = [run for run in runs if run["id"] == run_id]
        if base_model is not None:
            runs = [run for run in runs if run["base_model"] == base_model]
        return {"runs": runs}

    def _create_run(self, call: Call, *, with_sampler: bool) -> Answer:
        self._check_team(call)
        body = call.body
        self._get(self.sessions, "Session", body["session_id"])
        run = self.add_run(
            None,
            session_id=body["session_id"],
            base_model=body["base_model"],
            with_sampler=with_sampler,
            team_id=call.team_id,
            fields={"name": body.get("name") or body["base_model"]},
        )
        if body.get("availability_model"):
            deployment = self.deployments[run["deployment_id"]]
            deployment["availability_model"] = body["availability_model"]
        return {"run": self.run_json(run["id"])}

    def create_run(self, call: Call) -> Answer:
        return self._create_run(call, with_sampler=True)

    def create_trainer(self, call: Call) -> Answer:
        return self._create_run(call, with_sampler=False)

    def get_run(self, call: Call) -> Answer:
        run_id = call.path["run_id"]
        self._get(self.runs, "Run", run_id)
        self.advance(run_id)
        return {"run": self.run_json(run_id)}

    def deactivate_run(self, call: Call) -> Answer:
        run = self._get(self.runs, "Run", call.path["run_id"])
        self.end_script(run["id"], "INACTIVE")
        if run["id"] in self.run_sampler:
            self.end_script(self.run_sampler[run["id"]], "INACTIVE")
        for deployment in self.deployments.values():
            if deployment.get("active_run_id") == run["id"]:
                deployment["active_run_id"] = None
        return {"id": run["id"], "base_model": run["base_model"], "user": run["user"]}

    # -- handlers: samplers --------------------------------------------------------------

    def list_samplers(self, call: Call) -> Answer:
        self._check_team(call)
        return {"samplers": self._visible(self.samplers, call, self.samplers.__getitem__)}

    def create_sampler_route(self, call: Call) -> Answer:
        self._check_team(call)
        self._get(self.sessions, "Session", call.body["session_id"])
        run_id, base_model = call.body.get("run_id"), call.body.get("base_model")
        model_path = call.body.get("model_path")
        if run_id is not None:
            run = self._get(self.runs, "Run", run_id)
            if run_id in self.run_sampler:  # a run that already has a sampler keeps it
                return {"sampler": self.samplers[self.run_sampler[run_id]]}
            base_model = run["base_model"]
        elif model_path is not None:
            checkpoint_id = self.checkpoint_uris.get(model_path)
            if checkpoint_id is None:
                raise _bad_request(f"model_path {model_path} is not an accessible checkpoint")
            base_model = self.checkpoints[checkpoint_id]["base_model"]
        if base_model is None:
            raise _bad_request("a standalone sampler needs base_model, run_id or model_path")
        sampler = self.create_sampler(base_model, run_id=run_id, team_id=call.team_id)
        return {"sampler": sampler}

    def get_sampler(self, call: Call) -> Answer:
        sampler_id = call.path["sampler_id"]
        self.advance(sampler_id)
        body = self.sampler_bodies.get(sampler_id)
        if body is None:
            payload = self._get(self.samplers, "Sampler", sampler_id)
            body = self.sampler_bodies[sampler_id] = json.dumps({"sampler": payload}).encode()
        return body

    def deactivate_sampler(self, call: Call) -> Answer:
        sampler = self._get(self.samplers, "Sampler", call.path["sampler_id"])
        run_id = self.sampler_run.get(sampler["id"])
        if run_id is not None:
            raise ApiError(
                409,
                "conflict",
                f"Sampler {sampler['id']} is paired to run {run_id}; deactivate the run instead",
                run_id=run_id,
            )
        self.end_script(sampler["id"], "INACTIVE")
        return {"id": sampler["id"], "base_model": sampler["base_model"], "user": sampler["user"]}

    # -- handlers: checkpoints -----------------------------------------------------------

    def list_checkpoints(self, call: Call) -> Answer:
        filters = {name: value for name, value in call.query.items() if value is not None}
        if len(filters) != 1:
            raise _bad_request("provide exactly one of run_id, base_model, checkpoint_path")
        (name, value), checkpoints = next(iter(filters.items())), self.checkpoints
        if name == "checkpoint_path":
            if not _BT_URI.match(value):
                raise _bad_request(f"checkpoint_path {value} is not a bt://loops: URI")
            wanted = self.checkpoint_uris.get(value)
            return {"checkpoints": [checkpoints[wanted]] if wanted else []}
        return {"checkpoints": [c for c in checkpoints.values() if c.get(name) == value]}

    def validate_checkpoint(self, call: Call) -> Answer:
        path = call.body["checkpoint_path"]
        match = _BT_URI.match(path)
        if match is None or match["kind"] != "sampler_weights":
            raise _bad_request(f"{path} is not a bt://loops:<run_id>/sampler_weights/<name> URI")
        if path not in self.checkpoint_uris:
            raise _bad_request(f"checkpoint {path} does not exist or is not accessible")
        run_id = call.body.get("run_id")
        if run_id is not None:
            if run_id not in self.runs:
                raise _bad_request(f"run {run_id} does not exist or is not accessible")
            checkpoint = self.checkpoints[self.checkpoint_uris[path]]
            version = (checkpoint.get("lora_config") or {}).get("config_version")
            if version != self.runs[run_id].get("lora_config_version"):
                raise _bad_request(f"checkpoint {path} has another LoRA config than run {run_id}")
        return {}

    def deploy_checkpoints(self, call: Call) -> Answer:
        for checkpoint_id in call.body["checkpoint_ids"]:
            checkpoint = self._get(self.checkpoints, "Checkpoint", checkpoint_id)
            if checkpoint.get("target") != "sampler":
                raise _bad_request(f"checkpoint {checkpoint_id} is not a sampler checkpoint")
        answer = {"model_id": self.new_id(), "deployment_id": self.new_id()}
        self.model_deployments.append({**answer, "request": dict(call.body)})
        return answer

    def checkpoint_files_page(self, call: Call) -> Answer:
        checkpoint_id = call.path["checkpoint_id"]
        files = self._get(self.checkpoint_files, "Checkpoint", checkpoint_id)
        offset, size = call.query["page_token"] or 0, call.query["page_size"] or 1000
        page, next_token = _paged(files, offset, size)
        return {"presigned_urls": page, "next_page_token": next_token, "total_count": len(files)}

    def checkpoint_source(self, call: Call) -> Answer:
        checkpoint_id = call.path["checkpoint_id"]
        return {"source": self._get(self.checkpoint_sources, "Checkpoint", checkpoint_id)}

    # -- handlers: deployments -----------------------------------------------------------

    def list_deployments(self, call: Call) -> Answer:
        return {"deployments": self._visible(self.deployments, call, self.deployment_json)}

    def get_deployment(self, call: Call) -> Answer:
        deployment_id = call.path["deployment_id"]
        self._get(self.deployments, "Deployment", deployment_id)
        self.advance(deployment_id)
        return {"deployment": self.deployment_json(deployment_id)}

    def deactivate_deployment(self, call: Call) -> Answer:
        deployment = self._get(self.deployments, "Deployment", call.path["deployment_id"])
        self.end_script(deployment["id"], "STOPPED")
        if deployment.get("active_run_id") in self.runs:
            self.end_script(deployment["active_run_id"], "INACTIVE")
        if deployment["id"] in self.deployment_sampler:
            self.end_script(self.deployment_sampler[deployment["id"]], "INACTIVE")
        deployment["active_run_id"] = None
        user = deployment["user"]
        return {"id": deployment["id"], "base_model": deployment["base_model"], "user": user}

    def debug_files_page(self, call: Call) -> Answer:
        deployment_id = call.path["deployment_id"]
        self._get(self.deployments, "Deployment", deployment_id)
        files = self.debug_files.get(deployment_id, [])
        token = call.query["page_token"]
        offset = 0 if token is None else _decode_token(token)
        page, next_offset = _paged(files, offset, call.query["page_size"] or 1000)
        next_token = None if next_offset is None else _encode_token(next_offset)
        return {"presigned_urls": page, "next_page_token": next_token}

    def deployment_logs(self, call: Call) -> Answer:
        deployment_id = call.path["deployment_id"]
        self._get(self.deployments, "Deployment", deployment_id)
        start, end = _window(
            call.query["start_epoch_millis"], call.query["end_epoch_millis"], _DEFAULT_LOG_WINDOW_MS
        )
        if end - start > _MAX_LOG_WINDOW_MS:
            raise _bad_request("the window from start to end must not exceed 7 days")
        min_level = call.query["min_level"]
        levels = _LOG_LEVELS[_LOG_LEVELS.index(min_level) :] if min_level else None
        lines = [
            line
            for line in self.logs.get(deployment_id, [])
            if start <= int(line["timestamp"]) // 1_000_000 <= end
            and (levels is None or line.get("level") in levels)
        ]
        newest_first = (call.query["direction"] or "desc") == "desc"
        lines.sort(key=lambda line: int(line["timestamp"]), reverse=newest_first)
        limit = call.query["limit"]
        return {"logs": lines[: 500 if limit is None else limit]}

    def deployment_metrics(self, call: Call) -> Answer:
        deployment_id = call.path["deployment_id"]
        self._get(self.deployments, "Deployment", deployment_id)
        body = call.body
        start, end = _window(body.get("start_epoch_millis"), body.get("end_epoch_millis"), 3600_000)
        step = body.get("step_seconds") or max(60, (end - start) // 1000 // 60)
        count = min(60, (end - start) // 1000 // step + 1)
        compute = {
            "gpu_memory_usage_bytes": {"0": _series(start, step, count, 6.0e10)},
            "gpu_utilization": {"0": _series(start, step, count, 0.8)},
            "cpu_usage": _series(start, step, count, 3.5),
            "cpu_memory_usage_bytes": _series(start, step, count, 2.0e10),
            "ephemeral_storage": {
                "usage_bytes": _series(start, step, count, 1.0e9),
                "utilization": _series(start, step, count, 0.1),
            },
        }
        stamps = [point["timestamp"] for point in _series(start, step, count, 0.0)]
        metrics = {
            "inference_volume": _series(start, step, count, 2.0),
            "concurrent_requests": _series(start, step, count, 1.0),
            "response_time_stats": [
                {"timestamp": stamp, "p50": 120.0, "p95": 300.0, "p99": 450.0} for stamp in stamps
            ],
            "inference_volume_by_status": [
                {"timestamp": stamp, "status_2xx": 2.0, "status_4xx": 0.0, "status_5xx": 0.0}
                for stamp in stamps
            ],
            **compute,
            "per_node_metrics": [{"node_id": "node-0", **compute}],
        }
        return {"deployment_id": deployment_id, "metrics": metrics}

    # -- handlers: capabilities and user config ------------------------------------------

    def list_capabilities(self, call: Call) -> Answer:
        wanted, seq_len = call.query["model"], call.query["max_seq_len"]
        models = []
        for model in self.capabilities:
            if wanted is not None and model["model_name"] != wanted:
                continue
            if seq_len is not None and seq_len > model.get("max_enabled_seq_len", 0):
                model = {
                    **model,
                    "enabled": False,
                    "enablement_details": {
                        "reason": "sequence_length_unsupported",
                        "reason_detail": f"{model['model_name']} cannot train at {seq_len}",
                        "remediation": "Lower max_seq_len or contact Baseten support.",
                    },
                }
            models.append(model)
        return {"supported_models": models}

    def get_user_config(self, call: Call) -> Answer:
        return {"user_config": dict(self.user_config)}

    def patch_user_config(self, call: Call) -> Answer:
        for name in self.user_config:
            if name in call.body:
                self.user_config[name] = call.body[name]
        return {"user_config": dict(self.user_config)}


# -- the route table -------------------------------------------------------------------------

_SCOPE = Field("scope")
_RUN_FIELDS = (
    Field("session_id", required=True, nullable=False),
    Field("base_model", required=True, nullable=False),
    Field("name", min_length=1, max_length=255),
    Field("max_seq_len", int),
    Field("lora_rank", int, nullable=False, minimum=1),
    Field("seed", int),
    Field("scale_down_delay_seconds", int, nullable=False, minimum=1, maximum=3600),
    Field("availability_model", nullable=False),
    Field("replicas", int, nullable=False, minimum=1),
    Field("path"),
    Field("reuse_from_run_id"),
    Field("reuse_from_session_id"),
)
_SAMPLER_FIELDS = (
    Field("availability_model"),
    Field("session_id", required=True, nullable=False),
    Field("base_model"),
    Field("run_id"),
    Field("max_seq_length", int),
    Field("model_path"),
    Field("reuse_from_session_id"),
    Field("num_replicas", int, minimum=1),
)
_RUN_FILTERS = (Field("run_id"), Field("base_model"), _SCOPE)
_TEAM_SCOPED = {"post_loops_sessions", "get_loops_runs", "post_loops_runs", "post_loops_trainers"}
_TEAM_SCOPED |= {"get_loops_samplers", "post_loops_samplers"}

_LOOPS_ROUTES = (
    Route("GET", "/v1/loops/user_config", "get_loops_user_config", FakeApi.get_user_config),
    Route(
        "PATCH",
        "/v1/loops/user_config",
        "patch_loops_user_config",
        FakeApi.patch_user_config,
        body=tuple(
            Field(name, list, min_length=1)
            for name in ("trainer_accelerator_priority", "sampler_accelerator_priority")
        ),
    ),
    Route(
        "GET",
        "/v1/loops/capabilities",
        "get_loops_capabilities",
        FakeApi.list_capabilities,
        query=(
            Field("model"),
            Field("use_case", choices=("rl", "sft")),
            Field("max_seq_len", int, minimum=1),
        ),
    ),
    Route("POST", "/v1/loops/sessions", "post_loops_sessions", FakeApi.create_session),
    Route("GET", "/v1/loops/sessions/{session_id}", "get_loops_sessions", FakeApi.get_session),
    Route("GET", "/v1/loops/runs", "get_loops_runs", FakeApi.list_runs, query=_RUN_FILTERS),
    Route(
        "POST",
        "/v1/loops/runs",
        "post_loops_runs",
        FakeApi.create_run,
        body=(*_RUN_FIELDS, Field("sampler_num_replicas", int, minimum=1)),
    ),
    Route(
        "POST",
        "/v1/loops/runs/{run_id}/deactivate",
        "post_loops_runs_deactivate",
        FakeApi.deactivate_run,
    ),
    Route("GET", "/v1/loops/runs/{run_id}", "get_loops_runs_run_id", FakeApi.get_run),
    Route(
        "POST",
        "/v1/loops/trainers",
        "post_loops_trainers",
        FakeApi.create_trainer,
        body=_RUN_FIELDS,
    ),
    Route(
        "GET", "/v1/loops/samplers", "get_loops_samplers", FakeApi.list_samplers, query=(_SCOPE,)
    ),
    Route(
        "POST",
        "/v1/loops/samplers",
        "post_loops_samplers",
        FakeApi.create_sampler_route,
        body=_SAMPLER_FIELDS,
    ),
    Route(
        "POST",
        "/v1/loops/samplers/{sampler_id}/deactivate",
        "post_loops_samplers_deactivate",
        FakeApi.deactivate_sampler,
    ),
    Route(
        "GET",
        "/v1/loops/samplers/{sampler_id}",
        "get_loops_samplers_sampler_id",
        FakeApi.get_sampler,
    ),
    Route(
        "GET",
        "/v1/loops/checkpoints",
        "get_loops_checkpoints",
        FakeApi.list_checkpoints,
        query=(Field("run_id"), Field("base_model"), Field("checkpoint_path")),
    ),
    Route(
        "POST",
        "/v1/loops/checkpoints/validate",
        "post_loops_checkpoints_validate",
        FakeApi.validate_checkpoint,
        body=(Field("checkpoint_path", required=True, nullable=False), Field("run_id")),
    ),
    Route(
        "POST",
        "/v1/loops/checkpoints/deploy",
        "post_loops_checkpoints_deploy",
        FakeApi.deploy_checkpoints,
        body=(
            Field("checkpoint_ids", list, required=True, nullable=False, min_length=1),
            Field("model_name", required=True, nullable=False, min_length=1),
            Field("instance_type_id", required=True, nullable=False),
            Field("hf_secret_name", required=True, nullable=False, min_length=1),
        ),
    ),
    Route(
        "GET",
        "/v1/loops/checkpoints/{checkpoint_id}/files",
        "get_loops_checkpoints_files",
        FakeApi.checkpoint_files_page,
        query=(
            Field("page_size", int, nullable=True, minimum=1),
            Field("page_token", int, nullable=True, minimum=0),
        ),
    ),
    Route(
        "GET",
        "/v1/loops/checkpoints/{checkpoint_id}/source",
        "get_loops_checkpoints_source",
        FakeApi.checkpoint_source,
    ),
    Route(
        "GET",
        "/v1/loops/deployments",
        "get_loops_deployments",
        FakeApi.list_deployments,
        query=(_SCOPE,),
    ),
    Route(
        "POST",
        "/v1/loops/deployments/{deployment_id}/deactivate",
        "post_loops_deployments_deactivate",
        FakeApi.deactivate_deployment,
    ),
    Route(
        "GET",
        "/v1/loops/deployments/{deployment_id}",
        "get_loops_deployments_deployment_id",
        FakeApi.get_deployment,
    ),
    Route(
        "GET",
        "/v1/loops/deployments/{deployment_id}/debug_archive/files",
        "get_loops_deployments_debug_archive_files",
        FakeApi.debug_files_page,
        query=(Field("page_size", int, minimum=1, maximum=1000), Field("page_token")),
    ),
    Route(
        "POST",
        "/v1/loops/deployments/{deployment_id}/metrics",
        "post_loops_deployments_metrics",
        FakeApi.deployment_metrics,
        body=(
            Field("end_epoch_millis", int),
            Field("start_epoch_millis", int),
            Field("step_seconds", int, minimum=1),
            Field("time_divisor_seconds", int, minimum=1),
        ),
    ),
    Route(
        "GET",
        "/v1/loops/deployments/{deployment_id}/logs",
        "get_loops_deployments_logs",
        FakeApi.deployment_logs,
        query=(
            Field("start_epoch_millis", int),
            Field("end_epoch_millis", int),
            Field("direction", choices=("asc", "desc")),
            Field("limit", int, minimum=1, maximum=1000),
            Field("min_level", choices=_LOG_LEVELS),
        ),
    ),
)

#: Every operation of the spec: the ``/v1/loops`` ones, then their five team variants.
ROUTES: tuple[Route, ...] = _LOOPS_ROUTES + tuple(
    attrs.evolve(
        route,
        template=route.template.replace("/v1/loops/", "/v1/teams/{team_id}/loops/"),
        operation_id=route.operation_id.replace("_loops_", "_teams_loops_"),
    )
    for route in _LOOPS_ROUTES
    if route.operation_id in _TEAM_SCOPED
)
ROUTES_BY_OPERATION = {route.operation_id: route for route in ROUTES}
