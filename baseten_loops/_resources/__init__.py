"""The resource groups of ``LoopsClient``: one small class per group of routes.

Each method is a typed signature, a docstring and one call into :class:`Resource`, which builds
the request from the route table (``_routes.py``), sends it through the session and structures
the answer (``_convert.py``).
"""

from ._base import RawResource, Resource
from .capabilities import CapabilitiesResource, CapabilitiesResourceWithRawResponse
from .checkpoints import CheckpointsResource, CheckpointsResourceWithRawResponse
from .deployments import DeploymentsResource, DeploymentsResourceWithRawResponse
from .runs import (
    RunFields,
    RunsResource,
    RunsResourceWithRawResponse,
    TrainerFields,
    TrainersResource,
    TrainersResourceWithRawResponse,
)
from .samplers import SamplersResource, SamplersResourceWithRawResponse
from .sessions import SessionsResource, SessionsResourceWithRawResponse
from .user_config import UserConfigResource, UserConfigResourceWithRawResponse

__all__ = [
    "CapabilitiesResource",
    "CapabilitiesResourceWithRawResponse",
    "CheckpointsResource",
    "CheckpointsResourceWithRawResponse",
    "DeploymentsResource",
    "DeploymentsResourceWithRawResponse",
    "RawResource",
    "Resource",
    "RunFields",
    "RunsResource",
    "RunsResourceWithRawResponse",
    "SamplersResource",
    "SamplersResourceWithRawResponse",
    "SessionsResource",
    "SessionsResourceWithRawResponse",
    "TrainerFields",
    "TrainersResource",
    "TrainersResourceWithRawResponse",
    "UserConfigResource",
    "UserConfigResourceWithRawResponse",
]
