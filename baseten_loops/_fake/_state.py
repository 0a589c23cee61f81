"""The objects the fake serves, shared by every route group (private).

:class:`FakeState` is the one store: every group's objects by id, the fresh ids, the scripted
status progressions, and which team each object belongs to. The group modules
(``samplers.py``, ``runs.py`` ...) read and write it; the helpers here are what more than one
group needs: a lookup that 404s, the team check of team routes, the visibility rules of lists,
and the files and timestamps objects are served with.
"""

from __future__ import annotations

import collections
import random
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from ._checks import Call, not_found

#: The characters of generated ids.
ID_ALPHABET = string.ascii_lowercase + string.digits
#: Who the fake's API key belongs to: lists without ``scope=org`` show only this user's objects.
CALLER = {"email": "trainer@example.com"}
BASE_MODELS = ("Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B-Instruct", "mistralai/Mistral-7B-v0.3")

#: What seeding methods take for an object's files: names, ``CheckpointFile`` objects, or a count.
FileSpec = Iterable[str | Mapping[str, Any]] | int


def rfc3339(moment: datetime) -> str:
    """``moment`` (UTC) as RFC 3339 with a ``Z``, as the live service writes date-times."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(timezone.utc)


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return int(now().timestamp() * 1000)


def file_entries(prefix: str, files: FileSpec) -> list[Any]:
    """``CheckpointFile`` objects under ``prefix``: named, given whole, or ``files`` generated."""
    names: Iterable[str | Mapping[str, Any]] = (
        [f"file-{index:05d}.bin" for index in range(files)] if isinstance(files, int) else files
    )
    stamp = rfc3339(now())
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


class FakeState:
    """The objects a fake Loops API serves, and the bookkeeping every route group shares."""

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

    # -- ids and statuses ----------------------------------------------------------------

    def new_id(self) -> str:
        """A fresh opaque id, unused by any object."""
        while True:
            new = "".join(self.id_rng.choices(ID_ALPHABET, k=10))
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

    def deactivate(self, object_id: str, status: str, *paired: str | None) -> None:
        """End ``object_id`` at ``status``, and the ``paired`` objects it takes down as INACTIVE.

        ``None`` in ``paired`` stands for no object (a run without a sampler ...).
        """
        self.end_script(object_id, status)
        for paired_id in paired:
            if paired_id is not None:
                self.end_script(paired_id, "INACTIVE")

    def advance(self, object_id: str) -> None:
        """Apply the next scripted status of ``object_id``, if it has a script."""
        script = self.status_scripts.get(object_id)
        if script and self.status_holder(object_id) is not None:
            self.set_status(object_id, script[0])
            if len(script) > 1:
                script.popleft()

    # -- lookups and teams ---------------------------------------------------------------

    def lookup(self, table: Mapping[str, Any], kind: str, object_id: str) -> Any:
        """``table[object_id]``, or the 404 naming the ``kind`` of object that is not there."""
        if object_id not in table:
            raise not_found(kind, object_id)
        return table[object_id]

    def poll(
        self,
        table: Mapping[str, Any],
        kind: str,
        object_id: str,
        view: Callable[[FakeState, str], Any],
    ) -> Any:
        """A status poll (a GET of one run or deployment): ``view`` of it, a step further on.

        The object's scripted status moves on first; 404 as :meth:`lookup` if there is none.
        """
        self.lookup(table, kind, object_id)
        self.advance(object_id)
        return view(self, object_id)

    def file_under_team(self, object_id: str, team_id: str | None) -> None:
        """Make ``object_id`` one of ``team_id``'s objects (and the team known), if a team."""
        if team_id is not None:
            self.teams.add(team_id)
            self.team_of[object_id] = team_id

    def check_team(self, call: Call) -> None:
        """404 on a team route whose team is not known (see ``add_team``)."""
        if call.team_id is not None and call.team_id not in self.teams:
            raise not_found("Team", call.team_id)

    def visible(self, ids: Iterable[str], call: Call, get: Callable[[str], Any]) -> list[Any]:
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
