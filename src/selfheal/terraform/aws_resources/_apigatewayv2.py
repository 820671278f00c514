"""Helpers shared by the API Gateway v2 resource modules (:mod:`.apigatewayv2`, ``apigatewayv2_routes``)."""

from __future__ import annotations

from selfheal.terraform.aws_resources._common import tagging
from selfheal.terraform.aws_resources._regional import RegionalResource, parse_two_part_id
from selfheal.terraform.resource import State

__all__ = ["ApiChild", "retag"]


class ApiChild(RegionalResource):
    """A resource that belongs to an API and is imported as ``API-ID/CHILD``."""

    child: str = "ID"

    def import_state(self, import_id: str) -> State:
        api_id, child = parse_two_part_id(import_id, f"API-ID/{self.child}")
        return {"id": child, "api_id": api_id}


def retag(res: RegionalResource, prior: State, planned: State, arn: str) -> None:
    """Bring the tags of ``arn`` from ``prior``'s to ``planned``'s."""
    ag = res.client("apigatewayv2")
    res.retag(prior, planned, *tagging(ag.untag_resource, ag.tag_resource, tags_as=dict, ResourceArn=arn))
