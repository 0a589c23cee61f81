"""Asyncio-first client for Baseten's Loops management API.

::

    from baseten_loops import LoopsClient

    async with LoopsClient() as client:  # key from BASETEN_API_KEY
        sampler = await client.samplers.get("abc123")
"""

from ._client import DEFAULT_BASE_URL, LoopsClient
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
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
    WaitTimeoutError,
)
from ._models import DeploymentStatus, InstanceType, Sampler, SamplerStatus, User
from ._retry import RetryBudget, RetryPolicy
from ._samplers import SamplersResource
from ._session import ClientStats
from ._sync import SyncIterator, SyncLoopsClient, SyncResource, SyncSamplersResource
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientStats",
    "ConfigurationError",
    "ConflictError",
    "DeploymentStatus",
    "InstanceType",
    "InternalServerError",
    "InvalidSamplerIdError",
    "LoopsClient",
    "LoopsError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "RetryBudget",
    "RetryPolicy",
    "Sampler",
    "SamplerFailedError",
    "SamplerIdTypeError",
    "SamplerStatus",
    "SamplersResource",
    "SyncIterator",
    "SyncLoopsClient",
    "SyncResource",
    "SyncSamplersResource",
    "UnprocessableEntityError",
    "User",
    "WaitTimeoutError",
    "__version__",
]
