"""Exceptions the fragile service raises on purpose: one class per failure mode that is a Lambda error."""

from __future__ import annotations

__all__ = ["InjectedException", "InjectedFailure", "InjectedTimeout"]


class InjectedFailure(Exception):
    """Base of every failure the service injects on purpose."""


class InjectedException(InjectedFailure):
    """The `exception` mode: the invocation ends in an unhandled error."""


class InjectedTimeout(InjectedFailure):
    """The `timeout` mode outlived its sleep because no runtime cut the invocation off."""
