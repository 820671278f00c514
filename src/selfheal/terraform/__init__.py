"""Real Terraform against the local cloud: local ``hashicorp/aws`` and ``hashicorp/archive`` providers
(Python, on the ``tf`` package's protocol layer), their installation, and a driver for the embedded
Terraform. See README.md in this directory for how to add a resource type.
"""

from selfheal.terraform.driver import Change, PlanResult, Result, Terraform, TerraformError

__all__ = ["Change", "PlanResult", "Result", "Terraform", "TerraformError"]
