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
    LoopsClient, SamplersResource (``client.samplers``), ClientStats (``client.stats``),
    DEFAULT_BASE_URL.

Configuration:
    RetryPolicy, RetryBudget, FlowControl.

Models:
    Sampler, SamplerStatus, DeploymentStatus, User, InstanceType.

Errors (every one a LoopsError):
    LoopsError, ConfigurationError, InvalidSamplerIdError, SamplerIdTypeError,
    APIConnectionError, APITimeoutError, APIStatusError, BadRequestError, AuthenticationError,
    PermissionDeniedError, NotFoundError, ConflictError, UnprocessableEntityError,
    RateLimitError, InternalServerError, ResponseValidationError, ResponseTooLargeError,
    SamplerFailedError, WaitTimeoutError, ClientClosedError.

Submodules:
    baseten_loops.testing: FakeLoopsServer, a fake Loops API on 127.0.0.1 for your tests.
    baseten_loops.cli: the ``baseten-loops`` command.

The version is ``baseten_loops.__version__``.
"""

from ._client import DEFAULT_BASE_URL, LoopsClient
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
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
from ._flow import FlowControl
from ._models import DeploymentStatus, InstanceType, Sampler, SamplerStatus, User
from ._retry import RetryBudget, RetryPolicy
from ._samplers import SamplersResource
from ._session import ClientStats
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ClientStats",
    "ConfigurationError",
    "ConflictError",
    "DeploymentStatus",
    "FlowControl",
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
    "UnprocessableEntityError",
    "User",
    "WaitTimeoutError",
    "__version__",
]
