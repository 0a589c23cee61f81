"""Asyncio-first client for Baseten's Loops management API.

The public API is the names below, all importable from ``baseten_loops`` (they are its
``__all__``), and the submodules ``baseten_loops.testing`` and ``baseten_loops.cli``. Modules whose
names start with ``_`` are private: import from ``baseten_loops``, not from them::

    import asyncio

    from baseten_loops import LoopsClient


    async def main() -> None:
        async with LoopsClient() as client:  # the key comes from BASETEN_API_KEY
            sampler = await client.samplers.get("abc123")
            print(sampler.status.name)


    asyncio.run(main())

Client:
    LoopsClient, ClientStats (``client.stats``), DEFAULT_BASE_URL.

Raw responses (``client.with_raw_response``):
    RawResponse, LoopsClientWithRawResponse, and one view per resource group:
    SamplersResourceWithRawResponse, RunsResourceWithRawResponse,
    TrainersResourceWithRawResponse, SessionsResourceWithRawResponse,
    CheckpointsResourceWithRawResponse, DeploymentsResourceWithRawResponse,
    CapabilitiesResourceWithRawResponse, UserConfigResourceWithRawResponse.

Resources (attributes of the client):
    SamplersResource (``client.samplers``), RunsResource (``client.runs``), TrainersResource
    (``client.trainers``), SessionsResource (``client.sessions``), CheckpointsResource
    (``client.checkpoints``), DeploymentsResource (``client.deployments``),
    CapabilitiesResource (``client.capabilities``), UserConfigResource
    (``client.user_config``); RunFields and TrainerFields (the keywords of ``runs.create`` and
    ``trainers.create``); UNSET (a keyword left out of ``user_config.update``).

Synchronous use (scripts, notebooks):
    SyncLoopsClient; its resource groups SyncSamplersResource, SyncRunsResource,
    SyncTrainersResource, SyncSessionsResource, SyncCheckpointsResource,
    SyncDeploymentsResource, SyncCapabilitiesResource, SyncUserConfigResource (generated from
    the async ones, with their base SyncResource); SyncIterator. Its ``with_raw_response``:
    SyncLoopsClientWithRawResponse, and one view per group: SyncSamplersResourceWithRawResponse,
    SyncRunsResourceWithRawResponse, SyncTrainersResourceWithRawResponse,
    SyncSessionsResourceWithRawResponse, SyncCheckpointsResourceWithRawResponse,
    SyncDeploymentsResourceWithRawResponse, SyncCapabilitiesResourceWithRawResponse,
    SyncUserConfigResourceWithRawResponse.

Configuration:
    RetryPolicy, RetryBudget, FlowControl.

Models:
    Sampler, SamplerStatus, DeploymentStatus, User, InstanceType, DeactivatedSampler;
    Session; Run, RunStatus, RunStatusName, DeactivatedRun, LoRAConfig, ExpertLayout;
    Checkpoint, CheckpointFile, CheckpointFilesPage, CheckpointSource, CheckpointS3Source,
    CheckpointVolumeSource, UnknownCheckpointSource, CheckpointDeployment,
    TrainerCheckpointTarget; Deployment, LoopsDeploymentStatus, LoopsDeploymentStatusName,
    DeactivatedDeployment, DebugArchiveFilesPage, DeploymentMetrics, DeploymentNodeMetrics,
    InferenceVolumeByStatusDatapoint, ResponseTimeDatapoint, StorageMetrics, TrainingJobMetric,
    Log, LogLevel, SortOrder; SupportedModel, UseCase, EnablementDetails; UserConfig;
    AvailabilityModel.

Errors (every one a LoopsError):
    LoopsError, ConfigurationError, InvalidIdError, IdTypeError, InvalidSamplerIdError,
    SamplerIdTypeError, APIConnectionError, APITimeoutError, APIStatusError, BadRequestError,
    AuthenticationError, PermissionDeniedError, NotFoundError, ConflictError,
    UnprocessableEntityError, RateLimitError, InternalServerError, ResponseValidationError,
    ResponseTooLargeError, WaitFailedError, SamplerFailedError, DeploymentFailedError,
    WaitTimeoutError, ClientThrottledError, ClientClosedError.

Submodules:
    baseten_loops.testing: FakeLoopsServer, a fake Loops API on 127.0.0.1 for your tests.
    baseten_loops.cli: the ``baseten-loops`` command.

The version is ``baseten_loops.__version__``.

Logging: the ``baseten_loops`` logger. ``BASETEN_LOOPS_LOG=debug`` (or ``info``) in the
environment when the package is first imported sends its records to stderr, without code.
"""

from ._client import DEFAULT_BASE_URL, LoopsClient, LoopsClientWithRawResponse
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ClientThrottledError,
    ConfigurationError,
    ConflictError,
    DeploymentFailedError,
    IdTypeError,
    InternalServerError,
    InvalidIdError,
    InvalidSamplerIdError,
    LoopsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    ResponseValidationError,
    SamplerFailedError,
    SamplerIdTypeError,
    UnprocessableEntityError,
    WaitFailedError,
    WaitTimeoutError,
)
from ._flow import FlowControl
from ._logging import configure_from_env as _configure_logging_from_env
from ._models import (
    AvailabilityModel,
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
    ExpertLayout,
    InferenceVolumeByStatusDatapoint,
    InstanceType,
    Log,
    LogLevel,
    LoopsDeploymentStatus,
    LoopsDeploymentStatusName,
    LoRAConfig,
    ResponseTimeDatapoint,
    Run,
    RunStatus,
    RunStatusName,
    Sampler,
    SamplerStatus,
    Session,
    SortOrder,
    StorageMetrics,
    SupportedModel,
    TrainerCheckpointTarget,
    TrainingJobMetric,
    UnknownCheckpointSource,
    UseCase,
    User,
    UserConfig,
)
from ._resources import (
    CapabilitiesResource,
    CapabilitiesResourceWithRawResponse,
    CheckpointsResource,
    CheckpointsResourceWithRawResponse,
    DeploymentsResource,
    DeploymentsResourceWithRawResponse,
    RunFields,
    RunsResource,
    RunsResourceWithRawResponse,
    SamplersResource,
    SamplersResourceWithRawResponse,
    SessionsResource,
    SessionsResourceWithRawResponse,
    TrainerFields,
    TrainersResource,
    TrainersResourceWithRawResponse,
    UserConfigResource,
    UserConfigResourceWithRawResponse,
)
from ._response import RawResponse
from ._retry import RetryBudget, RetryPolicy
from ._routes import UNSET
from ._session import ClientStats
from ._sync import SyncIterator, SyncResource
from ._sync_generated import (
    SyncCapabilitiesResource,
    SyncCapabilitiesResourceWithRawResponse,
    SyncCheckpointsResource,
    SyncCheckpointsResourceWithRawResponse,
    SyncDeploymentsResource,
    SyncDeploymentsResourceWithRawResponse,
    SyncLoopsClient,
    SyncLoopsClientWithRawResponse,
    SyncRunsResource,
    SyncRunsResourceWithRawResponse,
    SyncSamplersResource,
    SyncSamplersResourceWithRawResponse,
    SyncSessionsResource,
    SyncSessionsResourceWithRawResponse,
    SyncTrainersResource,
    SyncTrainersResourceWithRawResponse,
    SyncUserConfigResource,
    SyncUserConfigResourceWithRawResponse,
)
from ._version import __version__

# BASETEN_LOOPS_LOG=debug|info: the library's logging on stderr (read once, here, at import).
_configure_logging_from_env()

__all__ = [
    "DEFAULT_BASE_URL",
    "UNSET",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "AvailabilityModel",
    "BadRequestError",
    "CapabilitiesResource",
    "CapabilitiesResourceWithRawResponse",
    "Checkpoint",
    "CheckpointDeployment",
    "CheckpointFile",
    "CheckpointFilesPage",
    "CheckpointS3Source",
    "CheckpointSource",
    "CheckpointVolumeSource",
    "CheckpointsResource",
    "CheckpointsResourceWithRawResponse",
    "ClientClosedError",
    "ClientStats",
    "ClientThrottledError",
    "ConfigurationError",
    "ConflictError",
    "DeactivatedDeployment",
    "DeactivatedRun",
    "DeactivatedSampler",
    "DebugArchiveFilesPage",
    "Deployment",
    "DeploymentFailedError",
    "DeploymentMetrics",
    "DeploymentNodeMetrics",
    "DeploymentStatus",
    "DeploymentsResource",
    "DeploymentsResourceWithRawResponse",
    "EnablementDetails",
    "ExpertLayout",
    "FlowControl",
    "IdTypeError",
    "InferenceVolumeByStatusDatapoint",
    "InstanceType",
    "InternalServerError",
    "InvalidIdError",
    "InvalidSamplerIdError",
    "LoRAConfig",
    "Log",
    "LogLevel",
    "LoopsClient",
    "LoopsClientWithRawResponse",
    "LoopsDeploymentStatus",
    "LoopsDeploymentStatusName",
    "LoopsError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RawResponse",
    "ResponseTimeDatapoint",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "RetryBudget",
    "RetryPolicy",
    "Run",
    "RunFields",
    "RunStatus",
    "RunStatusName",
    "RunsResource",
    "RunsResourceWithRawResponse",
    "Sampler",
    "SamplerFailedError",
    "SamplerIdTypeError",
    "SamplerStatus",
    "SamplersResource",
    "SamplersResourceWithRawResponse",
    "Session",
    "SessionsResource",
    "SessionsResourceWithRawResponse",
    "SortOrder",
    "StorageMetrics",
    "SupportedModel",
    "SyncCapabilitiesResource",
    "SyncCapabilitiesResourceWithRawResponse",
    "SyncCheckpointsResource",
    "SyncCheckpointsResourceWithRawResponse",
    "SyncDeploymentsResource",
    "SyncDeploymentsResourceWithRawResponse",
    "SyncIterator",
    "SyncLoopsClient",
    "SyncLoopsClientWithRawResponse",
    "SyncResource",
    "SyncRunsResource",
    "SyncRunsResourceWithRawResponse",
    "SyncSamplersResource",
    "SyncSamplersResourceWithRawResponse",
    "SyncSessionsResource",
    "SyncSessionsResourceWithRawResponse",
    "SyncTrainersResource",
    "SyncTrainersResourceWithRawResponse",
    "SyncUserConfigResource",
    "SyncUserConfigResourceWithRawResponse",
    "TrainerCheckpointTarget",
    "TrainerFields",
    "TrainersResource",
    "TrainersResourceWithRawResponse",
    "TrainingJobMetric",
    "UnknownCheckpointSource",
    "UnprocessableEntityError",
    "UseCase",
    "User",
    "UserConfig",
    "UserConfigResource",
    "UserConfigResourceWithRawResponse",
    "WaitFailedError",
    "WaitTimeoutError",
    "__version__",
]
