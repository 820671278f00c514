"""A live dashboard of the self-healing loop, served on 127.0.0.1 (see :func:`start_dashboard`)."""

from selfheal.dashboard.controls import ControlError, ControlResult, Controls, terraform_restore
from selfheal.dashboard.server import DashboardError, DashboardServer, start_dashboard

__all__ = [
    "ControlError",
    "ControlResult",
    "Controls",
    "DashboardError",
    "DashboardServer",
    "start_dashboard",
    "terraform_restore",
]
