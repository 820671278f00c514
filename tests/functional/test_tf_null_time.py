"""The local hashicorp/null and hashicorp/time providers through real Terraform: create, read back,
in-place update, replacement by triggers, import, delete, and an empty plan after apply."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import MOTO_CREDENTIALS
from selfheal.terraform.time_provider import add_date, format_rfc3339, parse_duration, parse_rfc3339

pytestmark = pytest.mark.timeout(300)

# Neither provider reaches the cloud; no AWS resource is declared, so nothing listens here.
NO_CLOUD = "http://127.0.0.1:9"

MAIN_TF = """
terraform {
  required_providers {
    null = { source = "hashicorp/null", version = "~> 3.2" }
    time = { source = "hashicorp/time", version = "~> 0.13" }
  }
}

variable "generation" {
  type    = string
  default = "1"
}

variable "offset_days" {
  type    = number
  default = 1
}

variable "rotation_years" {
  type    = number
  default = 100
}

variable "expired" {
  type    = bool
  default = false
}

resource "null_resource" "deploy" {
  triggers = { generation = var.generation }
}

resource "null_resource" "plain" {}

data "null_data_source" "values" {
  inputs = { a = "b" }
}

resource "time_sleep" "wait" {
  create_duration  = "2s"
  destroy_duration = "1500ms"
  triggers         = { generation = var.generation }
}

resource "time_static" "now" {}

resource "time_static" "fixed" {
  rfc3339 = "2024-02-29T12:30:45+02:00"
}

resource "time_offset" "later" {
  base_rfc3339  = "2024-01-31T10:00:00Z"
  offset_months = 1
  offset_days   = var.offset_days
  offset_hours  = 2
}

resource "time_offset" "from_now" {
  offset_minutes = 5
}

resource "time_rotating" "key" {
  rfc3339        = "2020-01-01T00:00:00Z"
  rotation_years = var.rotation_years
}

resource "time_rotating" "expired" {
  count            = var.expired ? 1 : 0
  rfc3339          = "2020-01-01T00:00:00Z"
  rotation_minutes = 1
}

output "outputs" {
  value = data.null_data_source.values.outputs
}
"""


@pytest.fixture(scope="module")
def tf(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    """An initialised stack of null and time resources (one per test module: init costs seconds)."""
    root = tmp_path_factory.mktemp("nulltime")
    (root / "main.tf").write_text(MAIN_TF)
    runner = Terraform(root, NO_CLOUD, credentials=MOTO_CREDENTIALS)
    runner.init()
    return runner


def test_go_time_helpers_match_go() -> None:
    """Durations, RFC 3339 and AddDate follow Go's time package (AddDate rolls days over)."""
    assert parse_duration("1m30s") == 90 and parse_duration("1.5h") == 5400 and parse_duration("0") == 0
    assert parse_duration("250ms") == pytest.approx(0.25)
    for bad in ("", "10", "1x", "s", "1 s"):
        with pytest.raises(ValueError, match="invalid duration"):
            parse_duration(bad)
    jan31 = parse_rfc3339("2023-01-31T00:00:00Z", "rfc3339")
    assert format_rfc3339(add_date(jan31, months=1)) == "2023-03-03T00:00:00Z"
    assert format_rfc3339(parse_rfc3339("2024-02-29T12:30:45.5+02:00", "x")) == "2024-02-29T12:30:45+02:00"


def test_lifecycle_create_read_update_replace_destroy(tf: Terraform) -> None:
    """Applied values are the real providers'; the next plan is empty; a trigger replaces, an offset
    updates in place with its new time known at plan; destroy sleeps destroy_duration."""
    started = time.monotonic()
    tf.apply()
    assert time.monotonic() - started >= 2  # create_duration is slept in real time
    res = tf.resources()
    deploy_id = res["null_resource.deploy"]["id"]
    assert deploy_id.isdigit() and res["null_resource.plain"]["id"].isdigit()
    assert tf.output()["outputs"] == {"a": "b"}
    now = datetime.now(UTC)
    static = res["time_static.now"]
    assert abs(parse_rfc3339(static["rfc3339"], "rfc3339") - now).total_seconds() < 120
    assert static["id"] == static["rfc3339"] and static["rfc3339"].endswith("Z")
    fixed = res["time_static.fixed"]
    assert (fixed["year"], fixed["month"], fixed["day"], fixed["hour"], fixed["minute"], fixed["second"]) == (
        2024, 2, 29, 12, 30, 45,
    )  # fmt: skip
    assert fixed["unix"] == 1709202645
    later = res["time_offset.later"]
    assert later["rfc3339"] == "2024-03-03T12:00:00Z" and later["id"] == "2024-01-31T10:00:00Z"
    assert res["time_offset.from_now"]["rfc3339"] > res["time_offset.from_now"]["base_rfc3339"]
    key = res["time_rotating.key"]
    assert key["rotation_rfc3339"] == "2120-01-01T00:00:00Z" and key["year"] == 2020
    sleep_id = res["time_sleep.wait"]["id"]

    assert tf.plan().rc == 0  # converged

    changed = tf.plan({"generation": "2", "offset_days": 3, "rotation_years": 50})
    actions = {c.address: c.action for c in changed.changes}
    assert actions == {
        "null_resource.deploy": "replace",
        "time_sleep.wait": "replace",
        "time_offset.later": "update",
        "time_rotating.key": "update",
    }
    after = {c.address: c.after for c in changed.changes}
    assert after["time_offset.later"]["rfc3339"] == "2024-03-05T12:00:00Z"  # known at plan
    assert after["time_rotating.key"]["rotation_rfc3339"] == "2070-01-01T00:00:00Z"
    tf.apply({"generation": "2", "offset_days": 3, "rotation_years": 50})
    res = tf.resources()
    assert res["null_resource.deploy"]["id"] != deploy_id
    assert res["time_offset.later"]["rfc3339"] == "2024-03-05T12:00:00Z"
    assert res["time_sleep.wait"]["id"] >= sleep_id
    assert tf.plan({"generation": "2", "offset_days": 3, "rotation_years": 50}).rc == 0

    started = time.monotonic()
    tf.destroy({"generation": "2", "offset_days": 3, "rotation_years": 50})
    assert time.monotonic() - started >= 1.5  # destroy_duration
    assert tf.resources() == {}


def test_a_rotation_in_the_past_is_created_anew(tf: Terraform) -> None:
    """A time_rotating whose rotation time has passed leaves the state: each plan creates it again."""
    tf.apply({"expired": True})
    plan = tf.plan({"expired": True})
    assert [(c.address, c.action) for c in plan.changes] == [("time_rotating.expired[0]", "create")]
    tf.destroy({"expired": True})


def test_import_and_refusals(tmp_path: Path) -> None:
    """time_* import with the real provider's ID formats; null_resource cannot be imported; bad
    durations and a sleep beyond the local bound fail at plan, naming the argument."""
    (tmp_path / "main.tf").write_text(
        'resource "time_static" "s" {\n  rfc3339 = "2021-06-01T00:00:00Z"\n}\n'
        'resource "time_offset" "o" {\n  base_rfc3339 = "2021-06-01T00:00:00Z"\n  offset_days = 2\n}\n'
        'resource "time_sleep" "w" {\n  create_duration = "1s"\n}\n'
        'resource "time_rotating" "r" {\n  rfc3339 = "2021-06-01T00:00:00Z"\n  rotation_years = 100\n}\n'
        'resource "null_resource" "n" {}\n'
    )
    tf = Terraform(tmp_path, NO_CLOUD, credentials=MOTO_CREDENTIALS)
    tf.init()
    assert tf.import_("time_static.s", "2021-06-01T00:00:00Z").ok
    assert tf.import_("time_offset.o", "2021-06-01T00:00:00Z,,,2,,,").ok
    assert tf.import_("time_sleep.w", "1s,").ok
    assert tf.import_("time_rotating.r", "2021-06-01T00:00:00Z,100,,,,").ok
    refused = tf.import_("null_resource.n", "123")
    assert not refused.ok and "null_resource does not support import" in refused.stderr
    bad = tf.import_("time_offset.o", "yesterday")
    assert not bad.ok
    res = tf.resources()
    assert res["time_static.s"]["unix"] == 1622505600
    assert res["time_offset.o"]["rfc3339"] == "2021-06-03T00:00:00Z"
    assert res["time_rotating.r"]["rotation_rfc3339"] == "2121-06-01T00:00:00Z"
    plan = tf.plan()
    assert [(c.address, c.action) for c in plan.changes] == [("null_resource.n", "create")]

    (tmp_path / "main.tf").write_text(
        'resource "time_sleep" "long" {\n  create_duration = "20m"\n}\n'
        'resource "time_sleep" "typo" {\n  create_duration = "10 seconds"\n}\n'
        'resource "time_offset" "none" {}\n'
    )
    failed = tf.plan(check=False)
    assert failed.rc == 1
    assert "create_duration 20m is longer than the local time provider sleeps (15m)" in failed.stderr
    assert 'time: invalid duration "10 seconds"' in failed.stderr
    assert "at least one of offset_years" in failed.stderr
