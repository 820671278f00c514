"""A new function's Pending state, and the Terraform provider's wait for Active."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from selfheal.cloud.lambda_functions import (
    FunctionPending,
    check_invocable,
    mark_pending,
    pending_fields,
)
from selfheal.terraform.aws_resources._lambda_states import wait_active
from selfheal.terraform.resource import ResourceError


def test_pending_until_the_stamped_moment_then_nothing_to_report() -> None:
    """Pending (Creating) before the moment it turns Active; no fields and no refusal from then on."""
    model = SimpleNamespace()
    assert pending_fields(model, 100.0) == {}  # a function the hooks never stamped is Active
    mark_pending(model, 100.0, 2.0)
    assert pending_fields(model, 101.0) == {
        "State": "Pending",
        "StateReason": "The function is being created.",
        "StateReasonCode": "Creating",
    }
    with pytest.raises(FunctionPending) as refused:
        check_invocable(model, 101.9)
    assert refused.value.code == "ResourceConflictException" and refused.value.status == 409
    assert refused.value.message == (
        "The operation cannot be performed at this time. "
        "The function is currently in the following state: Pending"
    )
    assert pending_fields(model, 102.0) == {}
    check_invocable(model, 102.0)


class FakeLambda:
    """Answers GetFunctionConfiguration with the given states in turn."""

    def __init__(self, *states: dict[str, Any]) -> None:
        self.states = list(states)
        self.calls = 0

    def get_function_configuration(self, FunctionName: str) -> dict[str, Any]:
        self.calls += 1
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


def test_wait_active_polls_until_active() -> None:
    """The provider returns the configuration once the function left Pending."""
    lam = FakeLambda({"State": "Pending"}, {"State": "Pending"}, {"State": "Active", "FunctionName": "f"})
    assert wait_active(lam, "f")["FunctionName"] == "f"
    assert lam.calls == 3


def test_wait_active_reports_failed_and_timeout() -> None:
    """Failed creation and a function stuck Pending are errors on the resource."""
    failed = FakeLambda({"State": "Failed", "StateReasonCode": "InternalError", "StateReason": "broken"})
    with pytest.raises(ResourceError) as error:
        wait_active(failed, "f")
    assert "InternalError" in error.value.summary and error.value.detail == "broken"
    with pytest.raises(ResourceError, match="still Pending"):
        wait_active(FakeLambda({"State": "Pending"}), "f", timeout=0.1)
