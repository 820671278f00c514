"""The local cloud: an embedded AWS-compatible endpoint that keeps state in moto and really runs Lambda code.

See ``README.md`` beside this file for how requests flow and what is patched.
"""

from __future__ import annotations

from .components import default_components
from .errors import CloudError, FunctionNotFound, InvalidRequestContent, ServiceUnavailable, TooManyRequests
from .lambda_service import InvocationType, InvokeResult, LambdaService
from .metrics import MetricsPublisher
from .protocol import Cloud, Component
from .server import LocalCloud

__all__ = [
    "Cloud",
    "CloudError",
    "Component",
    "FunctionNotFound",
    "InvalidRequestContent",
    "InvocationType",
    "InvokeResult",
    "LambdaService",
    "LocalCloud",
    "MetricsPublisher",
    "ServiceUnavailable",
    "TooManyRequests",
    "default_components",
]
