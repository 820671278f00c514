"""CloudWatch: ``aws_cloudwatch_metric_alarm`` and ``aws_cloudwatch_dashboard`` (IDs: the alarm and
dashboard names, which are also their import IDs)."""

from __future__ import annotations

import json
import re
from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._alarm_actions import actions_input, actions_state, check_action_arns
from selfheal.terraform.aws_resources._common import add_tags, is_set, tagging
from selfheal.terraform.aws_resources._regional import (
    RegionalResource,
    check_one_of,
    empty_as,
    json_equivalent,
)
from selfheal.terraform.policy import go_json
from selfheal.terraform.resource import ResourceError, State, is_unknown

__all__ = ["CloudWatchDashboard", "CloudWatchMetricAlarm"]

_OPERATORS = (
    "GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
    "LessThanOrEqualToThreshold", "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold", "GreaterThanUpperThreshold",
)  # fmt: skip
_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_MISSING = ("missing", "ignore", "breaching", "notBreaching")
#: The arguments of a single-metric alarm, which metric_query replaces.
_SINGLE_METRIC = ("metric_name", "namespace", "period", "statistic", "extended_statistic", "dimensions")
# The real provider's check of percentiles and trimmed statistics (p99, tm90, TM(10%:90%), IQM, ...).
_EXTENDED = re.compile(
    r"^((p|(tm)|(wm)|(tc)|(ts))((\d{1,2}(\.\d{1,2})?)|(100))|(IQM)|"
    r"(((TM)|(WM)|(PR)|(TC)|(TS)))\((\d+(\.\d+)?%?)?:(\d+(\.\d+)?%?)?\))$"
)


def _number(value: Any) -> Any:
    """A whole float as an int, so numbers read back compare equal to configured ones."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@register
class CloudWatchMetricAlarm(RegionalResource):
    """A metric alarm (id: the alarm name)."""

    type_name = "aws_cloudwatch_metric_alarm"
    optional_computed = frozenset(
        {"actions_enabled", "treat_missing_data", "evaluate_low_sample_count_percentiles"}
        | {"metric_query.return_data"}
        | RegionalResource.TAGS_ALL
        | RegionalResource.REGION
    )
    defaults = {"actions_enabled": True, "treat_missing_data": "missing"}
    force_new = frozenset({"alarm_name"})
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        check_one_of(config, "comparison_operator", _OPERATORS)
        check_one_of(config, "statistic", _STATISTICS)
        check_one_of(config, "treat_missing_data", _MISSING)
        period = config.get("period")
        if is_set(period) and not (period in (10, 20, 30) or (period > 0 and period % 60 == 0)):
            raise ResourceError(
                f"expected period to be one of [10 20 30] or a multiple of 60, got {period}",
                attribute="period",
            )
        for name in ("evaluation_periods", "datapoints_to_alarm"):
            value = config.get(name)
            if is_set(value) and value < 1:
                raise ResourceError(f"expected {name} to be at least (1), got {value}", attribute=name)
        check_action_arns(config)
        stats = (config.get("statistic"), config.get("extended_statistic"))
        # Exactly one of them, once both are known (validation also runs with unknown values).
        known = not any(is_unknown(s) for s in stats)
        if is_set(config.get("metric_name")) and known and sum(s is not None for s in stats) != 1:
            raise ResourceError(
                "One of `statistic` or `extended_statistic` must be set for a cloudwatch metric alarm"
            )
        extended = config.get("extended_statistic")
        if is_set(extended) and not _EXTENDED.match(extended):
            raise ResourceError(
                "invalid statistic, see: "
                "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html",
                attribute="extended_statistic",
            )
        if isinstance(config.get("metric_query"), list) and config["metric_query"]:
            for name in _SINGLE_METRIC:
                if config.get(name) is not None:
                    raise ResourceError(f'"{name}": conflicts with metric_query', attribute=name)
        queries = config.get("metric_query")
        for query in queries if isinstance(queries, list) else []:
            metric = query.get("metric")
            if (
                is_set(query.get("expression"))
                and query["expression"] != ""
                and isinstance(metric, list)
                and metric
            ):
                raise ResourceError(
                    "No metric_query may have both `expression` and a `metric` specified",
                    attribute="metric_query",
                )
        if is_set(config.get("threshold")) and is_set(config.get("threshold_metric_id")):
            raise ResourceError('"threshold": conflicts with threshold_metric_id', attribute="threshold")

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        # metric_query.return_data defaults to false (a set block: the generic planner fills lists only).
        queries = planned.get("metric_query")
        if isinstance(queries, list):
            for query in queries:
                if isinstance(query, dict) and query.get("return_data") is None:
                    query["return_data"] = False
        return super().plan(prior, planned, config)

    def _put_input(self, planned: State) -> dict[str, Any]:
        args: dict[str, Any] = {
            "AlarmName": planned["alarm_name"],
            "ComparisonOperator": planned["comparison_operator"],
            "EvaluationPeriods": int(planned["evaluation_periods"]),
            "ActionsEnabled": bool(planned["actions_enabled"]),
            "TreatMissingData": planned["treat_missing_data"],
            **actions_input(planned),
        }
        optional = {
            "alarm_description": "AlarmDescription", "metric_name": "MetricName", "namespace": "Namespace",
            "statistic": "Statistic", "extended_statistic": "ExtendedStatistic", "unit": "Unit",
            "threshold_metric_id": "ThresholdMetricId",
            "evaluate_low_sample_count_percentiles": "EvaluateLowSampleCountPercentile",
        }  # fmt: skip
        for tf_name, aws_name in optional.items():
            if is_set(planned.get(tf_name)) and planned[tf_name] != "":
                args[aws_name] = planned[tf_name]
        for tf_name, aws_name in (("period", "Period"), ("datapoints_to_alarm", "DatapointsToAlarm")):
            if is_set(planned.get(tf_name)):
                args[aws_name] = int(planned[tf_name])
        if is_set(planned.get("threshold")):
            args["Threshold"] = float(planned["threshold"])
        if planned.get("dimensions"):
            args["Dimensions"] = [{"Name": k, "Value": v} for k, v in sorted(planned["dimensions"].items())]
        if planned.get("metric_query"):
            args["Metrics"] = [_expand_query(q) for q in planned["metric_query"]]
        return args

    def create(self, planned: State) -> State:
        cw = self.client("cloudwatch")
        name = planned["alarm_name"]
        if cw.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]:
            raise ResourceError(f'CloudWatch metric alarm "{name}" already exists', attribute="alarm_name")
        args = self._put_input(planned)
        add_tags(args, self.all_tags(planned))
        cw.put_metric_alarm(**args)
        planned["id"] = name
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        cw = self.client("cloudwatch")
        alarms = cw.describe_alarms(AlarmNames=[current["id"]], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
        if not alarms:
            return None
        a = alarms[0]
        tags = {t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"]}
        dims = {d["Name"]: d["Value"] for d in a.get("Dimensions") or []}
        state: State = {
            **current,
            "id": a["AlarmName"],
            "alarm_name": a["AlarmName"],
            "arn": a["AlarmArn"],
            "actions_enabled": bool(a.get("ActionsEnabled", True)),
            "alarm_description": empty_as(a.get("AlarmDescription"), current.get("alarm_description")),
            "comparison_operator": a.get("ComparisonOperator"),
            "datapoints_to_alarm": a.get("DatapointsToAlarm"),
            "dimensions": empty_as(dims, current.get("dimensions")),
            "evaluate_low_sample_count_percentiles": a.get("EvaluateLowSampleCountPercentile"),
            "evaluation_periods": a.get("EvaluationPeriods"),
            "extended_statistic": a.get("ExtendedStatistic"),
            "metric_name": a.get("MetricName"),
            "namespace": a.get("Namespace"),
            "period": a.get("Period"),
            "statistic": a.get("Statistic"),
            "threshold": _number(a.get("Threshold")) if "Threshold" in a else None,
            "threshold_metric_id": a.get("ThresholdMetricId"),
            "treat_missing_data": a.get("TreatMissingData") or "missing",
            "unit": a.get("Unit"),
            "region": self.region_of(current),
            **self.tags_state(tags, current),
        }
        state.update(actions_state(a, current))
        if a.get("Metrics"):
            state["metric_query"] = [_flatten_query(m) for m in a["Metrics"]]
        else:
            state["metric_query"] = []
        return state

    def update(self, prior: State, planned: State) -> State:
        cw = self.client("cloudwatch")
        cw.put_metric_alarm(**self._put_input(planned))
        arn = prior["arn"]
        self.retag(prior, planned, *tagging(cw.untag_resource, cw.tag_resource, ResourceARN=arn))
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("cloudwatch").delete_alarms(AlarmNames=[prior["id"]])


def _expand_query(q: State) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": q["id"], "ReturnData": bool(q.get("return_data"))}
    for tf_name, aws_name in (("expression", "Expression"), ("label", "Label"), ("account_id", "AccountId")):
        if q.get(tf_name):
            out[aws_name] = q[tf_name]
    if q.get("period"):
        out["Period"] = int(q["period"])
    for m in q.get("metric") or []:
        metric: dict[str, Any] = {"MetricName": m["metric_name"]}
        if m.get("namespace"):
            metric["Namespace"] = m["namespace"]
        if m.get("dimensions"):
            metric["Dimensions"] = [{"Name": k, "Value": v} for k, v in sorted(m["dimensions"].items())]
        stat: dict[str, Any] = {"Metric": metric, "Period": int(m["period"]), "Stat": m["stat"]}
        if m.get("unit"):
            stat["Unit"] = m["unit"]
        out["MetricStat"] = stat
    return out


def _flatten_query(m: dict[str, Any]) -> State:
    q: State = {
        "id": m["Id"],
        "expression": m.get("Expression"),
        "label": m.get("Label"),
        "account_id": m.get("AccountId"),
        "period": m.get("Period"),
        "return_data": bool(m.get("ReturnData")),
        "metric": [],
    }
    if "MetricStat" in m:
        stat = m["MetricStat"]
        dims = {d["Name"]: d["Value"] for d in stat["Metric"].get("Dimensions") or []}
        q["metric"] = [{
            "metric_name": stat["Metric"]["MetricName"], "namespace": stat["Metric"].get("Namespace"),
            "dimensions": dims or None, "period": stat["Period"], "stat": stat["Stat"],
            "unit": stat.get("Unit"),
        }]  # fmt: skip
    return q


@register
class CloudWatchDashboard(RegionalResource):
    """A dashboard (id: its name). The body is compared as JSON, so formatting never shows in a plan."""

    type_name = "aws_cloudwatch_dashboard"
    optional_computed = RegionalResource.REGION
    force_new = frozenset({"dashboard_name"})
    importable = True
    not_found_codes = frozenset({"ResourceNotFound", "ResourceNotFoundException"})

    def validate(self, config: State) -> None:
        super().validate(config)
        body = config.get("dashboard_body")
        if is_set(body):
            try:
                json.loads(body)
            except ValueError as exc:
                raise ResourceError(
                    '"dashboard_body" contains an invalid JSON', str(exc), "dashboard_body"
                ) from None

    def create(self, planned: State) -> State:
        self.client("cloudwatch").put_dashboard(
            DashboardName=planned["dashboard_name"], DashboardBody=planned["dashboard_body"]
        )
        planned["id"] = planned["dashboard_name"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        got = self.found(lambda: self.client("cloudwatch").get_dashboard(DashboardName=current["id"]))
        if got is None:
            return None
        body = got["DashboardBody"]
        if isinstance(current.get("dashboard_body"), str) and json_equivalent(
            current["dashboard_body"], body
        ):
            body = current["dashboard_body"]
        else:  # the real provider's StateFunc: normalised JSON
            body = go_json(json.loads(json.dumps(json.loads(body), sort_keys=True)), indent=False)
        return {
            **current,
            "id": got["DashboardName"],
            "dashboard_name": got["DashboardName"],
            "dashboard_arn": got["DashboardArn"],
            "dashboard_body": body,
            "region": self.region_of(current),
        }

    def update(self, prior: State, planned: State) -> State:
        return self.create(planned)

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("cloudwatch").delete_dashboards(DashboardNames=[prior["id"]])
