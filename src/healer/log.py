"""The healer's one structured logger (Powertools, JSON lines on stdout)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

__all__ = ["SERVICE_NAME", "logger"]

SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME", "").strip() or "selfheal-healer"
logger = Logger(service=SERVICE_NAME)
