"""The resource groups of ``LoopsClient``: one small class per group of routes.

Each method is a typed signature, a docstring and one call into :class:`Resource`, which builds
the request from the route table (``_routes.py``), sends it through the session and structures
the answer (``_convert.py``).
"""

from ._base import Resource
from .capabilities import CapabilitiesResource
from .checkpoints import CheckpointsResource
from .deployments import DeploymentsResource
from .runs import RunFields, RunsResource, TrainerFields, TrainersResource
from .samplers import SamplersResource
from .sessions import SessionsResource
from .user_config import UserConfigResource

__all__ = [
    "CapabilitiesResource",
    "CheckpointsResource",
    "DeploymentsResource",
    "Resource",
    "RunFields",
    "RunsResource",
    "SamplersResource",
    "SessionsResource",
    "TrainerFields",
    "TrainersResource",
    "UserConfigResource",
]
