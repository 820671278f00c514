"""moto as the local cloud's in-process state: reset, configuration, backends, and the Lambda hooks.

While a LocalCloud runs, moto's ``LambdaBackend`` methods are patched so that Invoke runs code through the
:class:`~selfheal.cloud.lambda_service.LambdaService` and configuration/code changes retire environments.
The patches are process-wide: a LocalCloud must not run while ``moto.mock_aws`` is active.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .lambda_service import LambdaService

__all__ = ["MotoState"]


class MotoState:
    """Own moto's process-wide state for one running LocalCloud."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region

    def start(self, lambdas: LambdaService) -> None:
        """Reset every backend, turn Docker off for Lambda and install the Lambda hooks."""
        raise NotImplementedError

    def stop(self) -> None:
        """Undo the hooks and the configuration change."""
        raise NotImplementedError

    def backend(self, service: str) -> Any:
        """Return moto's backend for ``service`` in this account and region."""
        raise NotImplementedError
