"""The typed results: frozen, slotted, hashable attrs classes mirroring the API's JSON.

No ``from __future__ import annotations`` here: cattrs reads these annotations at runtime.
"""

import enum
from datetime import datetime
from typing import Any

import attrs

__all__ = ["DeploymentStatus", "InstanceType", "Sampler", "SamplerStatus", "User"]


class DeploymentStatus(str, enum.Enum):
    """The deployment statuses the API documents (``DeploymentStatusV1``).

    Members compare equal to their string value: ``DeploymentStatus.ACTIVE == "ACTIVE"``.
    """

    BUILDING = "BUILDING"
    DEPLOYING = "DEPLOYING"
    DEPLOY_FAILED = "DEPLOY_FAILED"
    LOADING_MODEL = "LOADING_MODEL"
    ACTIVE = "ACTIVE"
    UNHEALTHY = "UNHEALTHY"
    BUILD_FAILED = "BUILD_FAILED"
    BUILD_STOPPED = "BUILD_STOPPED"
    DEACTIVATING = "DEACTIVATING"
    INACTIVE = "INACTIVE"
    FAILED = "FAILED"
    UPDATING = "UPDATING"
    SCALED_TO_ZERO = "SCALED_TO_ZERO"
    WAKING_UP = "WAKING_UP"

    def __str__(self) -> str:
        return self.value


# The families Baseten's own CLI uses. UNHEALTHY may recover, so it is neither ready nor failed.
_READY = frozenset({"ACTIVE"})
_PENDING = frozenset({"BUILDING", "DEPLOYING", "LOADING_MODEL", "UPDATING", "WAKING_UP"})
_PARKED = frozenset({"SCALED_TO_ZERO"})
_FAILED = frozenset(
    {"DEPLOY_FAILED", "BUILD_FAILED", "BUILD_STOPPED", "FAILED", "INACTIVE", "DEACTIVATING"}
)


@attrs.frozen
class SamplerStatus:
    """A sampler's current status (``LoopsSamplerStatusV1``).

    ``name`` is the :class:`DeploymentStatus` member for the documented values, and the raw
    string for a value this version does not know yet (the API adds statuses over time; an
    unknown one never fails a lookup). Either way ``status.name == "ACTIVE"`` works.
    """

    name: DeploymentStatus | str

    @property
    def is_known(self) -> bool:
        """Whether ``name`` is one of the documented :class:`DeploymentStatus` values."""
        return isinstance(self.name, DeploymentStatus)

    @property
    def is_ready(self) -> bool:
        """``ACTIVE``: the sampler serves requests."""
        return self.name in _READY

    @property
    def is_pending(self) -> bool:
        """Still coming up: ``BUILDING``, ``DEPLOYING``, ``LOADING_MODEL``, ``UPDATING``, ``WAKING_UP``."""  # noqa: E501
        return self.name in _PENDING

    @property
    def is_scaled_to_zero(self) -> bool:
        """``SCALED_TO_ZERO``: parked, wakes up on demand."""
        return self.name in _PARKED

    @property
    def is_failed(self) -> bool:
        """Failed or going away; will not become ACTIVE without outside action.

        ``DEPLOY_FAILED``, ``BUILD_FAILED``, ``BUILD_STOPPED``, ``FAILED``, ``INACTIVE``,
        ``DEACTIVATING``.
        """
        return self.name in _FAILED


@attrs.frozen
class User:
    """The user who created the sampler (a live-API field the contract does not list)."""

    email: str | None = None


@attrs.frozen
class InstanceType:
    """The hardware a sampler runs on (a live-API field the contract does not list)."""

    id: str | None = None
    name: str | None = None
    memory_limit_mib: int | None = None
    millicpu_limit: int | None = None
    gpu_count: int | None = None
    gpu_type: str | None = None
    gpu_memory_limit_mib: int | None = None


@attrs.frozen
class Sampler:
    """A Loops sampler: a base model served at ``base_url`` (``LoopsSamplerV1``).

    Attributes:
        id: The sampler's id.
        base_url: Where the sampler serves inference.
        base_model: The HuggingFace base model it serves.
        created_at: When it was created; always timezone-aware.
        model_id: Hashid of the underlying Baseten model; ``None`` for serverless samplers.
        deployment_id: Hashid of the model deployment; ``None`` for serverless samplers.
        status: The current status.
        user: Who created it, when the API says (``None`` when absent).
        instance_type: The hardware, when the API says (``None`` when absent or null).
        node_count: How many nodes, when the API says (``None`` when absent).

    """

    id: str
    base_url: str
    base_model: str
    created_at: datetime
    model_id: str | None
    deployment_id: str | None
    status: SamplerStatus
    user: User | None = None
    instance_type: InstanceType | None = None
    node_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The sampler as JSON-ready data, in the API's shape.

        ``created_at`` becomes an ISO 8601 string and the status name a plain string, so
        ``json.dumps(sampler.to_dict())`` works and parses back to an equal ``Sampler``.
        """
        return attrs.asdict(self, value_serializer=_json_value)


def _json_value(_instance: object, _field: object, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, DeploymentStatus):
        return value.value
    return value
