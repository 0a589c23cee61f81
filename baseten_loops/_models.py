"""The typed results: frozen, slotted, hashable attrs classes mirroring the API's JSON.

No ``from __future__ import annotations`` here: cattrs reads these annotations at runtime.
"""

import enum
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "AvailabilityModel",
    "Checkpoint",
    "CheckpointDeployment",
    "CheckpointFile",
    "CheckpointFilesPage",
    "CheckpointS3Source",
    "CheckpointSource",
    "CheckpointVolumeSource",
    "DeactivatedDeployment",
    "DeactivatedRun",
    "DeactivatedSampler",
    "DebugArchiveFilesPage",
    "Deployment",
    "DeploymentMetrics",
    "DeploymentNodeMetrics",
    "DeploymentStatus",
    "EnablementDetails",
    "ExpertLayout",
    "InferenceVolumeByStatusDatapoint",
    "InstanceType",
    "LoRAConfig",
    "Log",
    "LogLevel",
    "LoopsDeploymentStatus",
    "LoopsDeploymentStatusName",
    "ResponseTimeDatapoint",
    "Run",
    "RunStatus",
    "RunStatusName",
    "Sampler",
    "SamplerStatus",
    "Session",
    "SortOrder",
    "StorageMetrics",
    "SupportedModel",
    "TrainerCheckpointTarget",
    "TrainingJobMetric",
    "UnknownCheckpointSource",
    "UseCase",
    "User",
    "UserConfig",
]


class _OpenEnum(str, enum.Enum):
    """Base of the API's enums: members compare equal to their string value.

    The API adds values over time, so a field typed ``SomeEnum | str`` holds the member for a
    documented value and the raw string for one this version does not know yet.
    """

    def __str__(self) -> str:
        return str(self.value)


class _Model:
    """Shared behaviour of the models: JSON-ready ``to_dict``."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The object as JSON-ready data, in the API's shape.

        Timestamps become ISO 8601 strings and enum members their plain string values, so
        ``json.dumps(obj.to_dict())`` works.
        """
        return _lists_for_tuples(attrs.asdict(self, value_serializer=_json_value))  # type: ignore[arg-type, no-any-return]


class DeploymentStatus(_OpenEnum):
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


# The families Baseten's own CLI uses. UNHEALTHY may recover, so it is neither ready nor failed.
_READY = frozenset({"ACTIVE"})
_PENDING = frozenset({"BUILDING", "DEPLOYING", "LOADING_MODEL", "UPDATING", "WAKING_UP"})
_PARKED = frozenset({"SCALED_TO_ZERO"})
_FAILED = frozenset(
    {"DEPLOY_FAILED", "BUILD_FAILED", "BUILD_STOPPED", "FAILED", "INACTIVE", "DEACTIVATING"}
)


@attrs.frozen
class SamplerStatus(_Model):
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
class User(_Model):
    """The user who created the sampler (a live-API field the contract does not list)."""

    email: str | None = None


@attrs.frozen
class InstanceType(_Model):
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

    The fields with defaults are the ones an answer may leave out; they follow the required
    ones, so build a ``Sampler`` with keywords.

    Attributes:
        id: The sampler's id.
        base_url: Where the sampler serves inference.
        base_model: The HuggingFace base model it serves.
        created_at: When it was created; always timezone-aware.
        status: The current status.
        model_id: Hashid of the underlying Baseten model; ``None`` for serverless samplers,
            and when the API leaves it out.
        deployment_id: Hashid of the model deployment; ``None`` for serverless samplers, and
            when the API leaves it out.
        user: Who created it, when the API says (``None`` when absent).
        instance_type: The hardware, when the API says (``None`` when absent or null).
        node_count: How many nodes serve it (``1`` when the API leaves it out, the spec's
            default).

    """

    id: str
    base_url: str
    base_model: str
    created_at: datetime
    status: SamplerStatus
    model_id: str | None = None
    deployment_id: str | None = None
    user: User | None = None
    instance_type: InstanceType | None = None
    node_count: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The sampler as JSON-ready data, in the API's shape.

        ``created_at`` becomes an ISO 8601 string and the status name a plain string, so
        ``json.dumps(sampler.to_dict())`` works and parses back to an equal ``Sampler``.
        """
        return attrs.asdict(self, value_serializer=_json_value)


def _json_value(_instance: object, _field: object, value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, _OpenEnum):
        return value.value
    return value


def _lists_for_tuples(value: Any) -> Any:
    """JSON arrays are lists; ``attrs.asdict`` keeps tuples inside dict values as tuples."""
    if isinstance(value, dict):
        return {key: _lists_for_tuples(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_lists_for_tuples(item) for item in value]
    return value


# --- Enums (all open: unknown values stay plain strings) -------------------------------------


class RunStatusName(_OpenEnum):
    """The statuses of a run (``LoopsRunStatusNameV1``)."""

    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class LoopsDeploymentStatusName(_OpenEnum):
    """The statuses of a Loops deployment (the spec's ``Name``, titled ``LoopsDeploymentStatus``).

    Not to be confused with :class:`DeploymentStatus`, the model-deployment statuses a sampler
    reports.
    """

    CREATED = "CREATED"
    DEPLOYING = "DEPLOYING"
    RUNNING = "RUNNING"
    SCALED_TO_ZERO = "SCALED_TO_ZERO"
    FAILED = "FAILED"
    STOPPED = "STOPPED"
    PREEMPTED = "PREEMPTED"


class AvailabilityModel(_OpenEnum):
    """The capacity a trainer or sampler runs on (``V1AvailabilityModel``).

    ``dedicated`` is never preempted; ``spot`` may be stopped when its GPUs are reclaimed.
    """

    DEDICATED = "dedicated"
    SPOT = "spot"


class UseCase(_OpenEnum):
    """What a capabilities query is for (``LoopsUseCaseV1``): ``rl`` (trainer and sampler) or ``sft``."""  # noqa: E501

    RL = "rl"
    SFT = "sft"


class LogLevel(_OpenEnum):
    """A log line's severity (``LogLevelV1``)."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class SortOrder(_OpenEnum):
    """The order logs come back in (``SortOrderV1``)."""

    ASC = "asc"
    DESC = "desc"


class TrainerCheckpointTarget(_OpenEnum):
    """Who can load a checkpoint: the ``sampler`` (inference) or the ``trainer`` (resuming)."""

    SAMPLER = "sampler"
    TRAINER = "trainer"


class ExpertLayout(_OpenEnum):
    """How LoRA adapters are laid out over the experts of a mixture-of-experts model."""

    PER_EXPERT = "per_expert"
    SHARED_OUTER = "shared_outer"
    SHARED_ADAPTER = "shared_adapter"


# --- Sessions and runs ----------------------------------------------------------------------


@attrs.frozen
class Session(_Model):
    """A Loops session, the container runs and samplers are created in (``LoopsSessionV1``)."""

    id: str


@attrs.frozen
class RunStatus(_Model):
    """A run's status (``LoopsRunStatusV1``): ``name`` is a :class:`RunStatusName` or a new string."""  # noqa: E501

    name: RunStatusName | str

    @property
    def is_active(self) -> bool:
        """``ACTIVE``: the run's trainer is up (or can scale up)."""
        return self.name == RunStatusName.ACTIVE

    @property
    def is_inactive(self) -> bool:
        """``INACTIVE``: the run was shut down; its checkpoints stay readable."""
        return self.name == RunStatusName.INACTIVE


@attrs.frozen
class Run(_Model):
    """A Loops run: a trainer, usually paired with a sampler (``LoopsRunV1``).

    Attributes:
        id: The run's id.
        session_id: The session it belongs to.
        name: Its display name.
        base_model: The HuggingFace base model it trains.
        base_url: Where the trainer serves.
        created_at: When it was created; always timezone-aware.
        status: Its status.
        user: Who created it.
        deployment_id: The Loops deployment behind it, if any.
        lora_config_version: The LoRA config version, if known.
        sampler: Its paired sampler, if it has one.

    """

    id: str
    session_id: str
    name: str
    base_model: str
    base_url: str
    created_at: datetime
    status: RunStatus
    user: User
    deployment_id: str | None = None
    lora_config_version: str | None = None
    sampler: Sampler | None = None


@attrs.frozen
class _Deactivated(_Model):
    id: str
    base_model: str
    user: User


@attrs.frozen
class DeactivatedRun(_Deactivated):
    """What ``runs.deactivate`` answers (``DeactivateLoopsRunResponseV1``): ``id``, ``base_model``, ``user``."""  # noqa: E501


@attrs.frozen
class DeactivatedSampler(_Deactivated):
    """What ``samplers.deactivate`` answers (``DeactivateLoopsSamplerResponseV1``): ``id``, ``base_model``, ``user``."""  # noqa: E501


@attrs.frozen
class DeactivatedDeployment(_Deactivated):
    """What ``deployments.deactivate`` answers (``DeactivateLoopsDeploymentResponseV1``): ``id``, ``base_model``, ``user``."""  # noqa: E501


# --- Checkpoints ----------------------------------------------------------------------------


@attrs.frozen
class LoRAConfig(_Model):
    """The LoRA configuration a checkpoint was trained with (``LoopsLoRAConfigV1``)."""

    config_version: str
    targets: tuple[str, ...]
    expert_layout: ExpertLayout | str | None = None


@attrs.frozen
class Checkpoint(_Model):
    """A saved checkpoint of a run (``LoopsCheckpointV1``).

    ``lora_adapter_config`` is free-form JSON, so a checkpoint that has one is not hashable.
    """

    id: str
    checkpoint_id: str
    run_id: str
    created_at: datetime
    checkpoint_type: str
    base_model: str | None
    lora_adapter_config: dict[str, Any] | None
    size_bytes: int
    lora_config: LoRAConfig | None
    target: TrainerCheckpointTarget | str
    sync_status: str | None = None


@attrs.frozen
class CheckpointFile(_Model):
    """One file of a checkpoint or debug archive, with a presigned download URL (``CheckpointFile``).

    ``last_modified`` stays the string the server sent: the spec does not give it a format.
    """  # noqa: E501

    url: str
    relative_file_name: str
    node_rank: int
    size_bytes: int
    last_modified: str


@attrs.frozen
class CheckpointFilesPage(_Model):
    """One page of a checkpoint's files (``LoopsCheckpointFilesResponseV1``); ``iter_files`` reads them all."""  # noqa: E501

    presigned_urls: tuple[CheckpointFile, ...]
    total_count: int
    next_page_token: int | None = None


@attrs.frozen
class DebugArchiveFilesPage(_Model):
    """One page of a deployment's debug archive (``LoopsDebugArchiveFilesResponseV1``)."""

    presigned_urls: tuple[CheckpointFile, ...]
    next_page_token: str | None = None


@attrs.frozen
class CheckpointS3Source(_Model):
    """A checkpoint stored in S3 (``LoopsCheckpointS3SourceV1``, ``kind == "s3"``)."""

    kind: str = "s3"


@attrs.frozen
class CheckpointVolumeSource(_Model):
    """A checkpoint stored on a volume (``LoopsCheckpointVolumeSourceV1``, ``kind == "volume"``)."""

    volume_ref: str
    path: str
    kind: str = "volume"


@attrs.frozen
class UnknownCheckpointSource(_Model):
    """A checkpoint source of a ``kind`` this version does not know yet.

    The API adds source kinds over time; rather than failing, the answer is kept: ``kind`` and
    the whole object as sent in ``data`` (so this object is not hashable).
    """

    kind: str
    data: dict[str, Any]


#: Where a checkpoint is stored, told apart by its ``kind``.
CheckpointSource = CheckpointS3Source | CheckpointVolumeSource | UnknownCheckpointSource


@attrs.frozen
class CheckpointDeployment(_Model):
    """What ``checkpoints.deploy`` answers (``DeployLoopsCheckpointResponseV1``)."""

    model_id: str
    deployment_id: str


# --- Deployments ----------------------------------------------------------------------------

# Deployment status families. SCALED_TO_ZERO is parked: it wakes up on demand.
_DEPLOYMENT_PENDING = frozenset({"CREATED", "DEPLOYING"})
_DEPLOYMENT_FAILED = frozenset({"FAILED", "STOPPED", "PREEMPTED"})


@attrs.frozen
class LoopsDeploymentStatus(_Model):
    """A Loops deployment's status (``LoopsDeploymentStatusV1``)."""

    name: LoopsDeploymentStatusName | str

    @property
    def is_ready(self) -> bool:
        """``RUNNING``."""
        return self.name == LoopsDeploymentStatusName.RUNNING

    @property
    def is_pending(self) -> bool:
        """Still coming up: ``CREATED``, ``DEPLOYING``."""
        return self.name in _DEPLOYMENT_PENDING

    @property
    def is_failed(self) -> bool:
        """Will not run without outside action: ``FAILED``, ``STOPPED``, ``PREEMPTED``."""
        return self.name in _DEPLOYMENT_FAILED


@attrs.frozen
class Deployment(_Model):
    """A Loops deployment: the infrastructure behind a run (``LoopsDeploymentV1``)."""

    id: str
    base_model: str
    base_url: str
    status: LoopsDeploymentStatus
    user: User
    created_at: datetime
    instance_type: InstanceType
    active_run_id: str | None = None
    latest_run_id: str | None = None
    availability_model: AvailabilityModel | str = AvailabilityModel.DEDICATED
    node_count: int = 1
    sampler: Sampler | None = None


@attrs.frozen
class TrainingJobMetric(_Model):
    """One timestamped value of a metric (``TrainingJobMetricV1``)."""

    value: float
    timestamp: datetime


@attrs.frozen
class StorageMetrics(_Model):
    """Usage and utilization of a storage entity over time (``StorageMetricsV1``)."""

    usage_bytes: tuple[TrainingJobMetric, ...]
    utilization: tuple[TrainingJobMetric, ...]


@attrs.frozen
class ResponseTimeDatapoint(_Model):
    """Latency quantiles in milliseconds at one time (``ResponseTimeDatapointV1``)."""

    timestamp: datetime
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None


@attrs.frozen
class InferenceVolumeByStatusDatapoint(_Model):
    """Request rates by status class at one time (``InferenceVolumeByStatusDatapointV1``)."""

    timestamp: datetime
    status_2xx: float
    status_4xx: float
    status_5xx: float


@attrs.frozen
class DeploymentNodeMetrics(_Model):
    """The utilization of one node of a deployment (``LoopsDeploymentNodeMetricsV1``).

    The GPU maps are keyed by GPU, so this object is not hashable.
    """

    node_id: str
    gpu_memory_usage_bytes: dict[str, tuple[TrainingJobMetric, ...]]
    gpu_utilization: dict[str, tuple[TrainingJobMetric, ...]]
    cpu_usage: tuple[TrainingJobMetric, ...]
    cpu_memory_usage_bytes: tuple[TrainingJobMetric, ...]
    ephemeral_storage: StorageMetrics


@attrs.frozen
class DeploymentMetrics(_Model):
    """A trainer deployment's metrics over a time window (``LoopsDeploymentMetricsV1``).

    The GPU maps are keyed by GPU, so this object is not hashable.
    """

    inference_volume: tuple[TrainingJobMetric, ...]
    concurrent_requests: tuple[TrainingJobMetric, ...]
    response_time_stats: tuple[ResponseTimeDatapoint, ...]
    inference_volume_by_status: tuple[InferenceVolumeByStatusDatapoint, ...]
    gpu_memory_usage_bytes: dict[str, tuple[TrainingJobMetric, ...]]
    gpu_utilization: dict[str, tuple[TrainingJobMetric, ...]]
    cpu_usage: tuple[TrainingJobMetric, ...]
    cpu_memory_usage_bytes: tuple[TrainingJobMetric, ...]
    ephemeral_storage: StorageMetrics
    per_node_metrics: tuple[DeploymentNodeMetrics, ...]


@attrs.frozen
class Log(_Model):
    """One log line of a trainer deployment (``LogV1``).

    ``timestamp`` stays the string the server sent: the spec does not give it a format.
    """

    timestamp: str
    message: str
    replica: str | None
    request_id: str | None = None
    level: LogLevel | str | None = None


# --- Capabilities and user config -----------------------------------------------------------


@attrs.frozen
class EnablementDetails(_Model):
    """Why a model is not enabled for this workspace and what would change it."""

    reason: str
    reason_detail: str
    remediation: str


@attrs.frozen
class SupportedModel(_Model):
    """A model the Loops server supports (``SupportedModelV1``).

    Attributes:
        model_name: The HuggingFace repo id.
        max_seq_len: The longest sequence length Baseten supports for it.
        max_context_length: Deprecated twin of ``max_seq_len``.
        supports_vision_language: Whether it takes image inputs.
        max_enabled_seq_len: The longest this workspace can train at (0: cannot run it).
        enabled: Whether this workspace can start a run with it now.
        serverless: Whether serverless Loops is available for it (early access).
        enablement_details: Why it is not enabled, when it is not.

    """

    model_name: str
    max_seq_len: int
    max_context_length: int
    supports_vision_language: bool
    max_enabled_seq_len: int = 0
    enabled: bool = True
    serverless: bool | None = None
    enablement_details: EnablementDetails | None = None


@attrs.frozen
class UserConfig(_Model):
    """The caller's Loops accelerator priorities (``LoopsUserConfigV1``).

    ``None`` means "inherit the organization's allowlist".
    """

    trainer_accelerator_priority: tuple[str, ...] | None
    sampler_accelerator_priority: tuple[str, ...] | None
