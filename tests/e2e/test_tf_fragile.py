"""The user path of issue #12: the seed's own Terraform (deploy/fragile), unchanged, through `selfheal tf`.

A copy of the checkout as a user has it (deploy/fragile, the modules it calls, the Lambda sources its
archives read) runs `selfheal up --cloud-only`, then `selfheal tf init/apply/plan/destroy` with no
environment variable and no ``-var``: the partial S3 backend is overridden to local state, the loop heals,
plan shows the healer's drift and apply reverts it; `selfheal down` stops the cloud.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from polling import eventually
from selfheal.loop.deployment import AwsTarget
from selfheal.loop.traffic import LoadGenerator, TrafficPlan
from selfheal.stack.cloud_process import cloud_alive, free_port, group_members
from selfheal.stack.control import down
from selfheal.terraform.user_stack import OVERRIDE_FILE
from selfheal.workdir import CloudRecord, Workdir

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
TIME_SCALE = 20.0
LOOP_TIMEOUT = 90.0
MODULE = "deploy/fragile"
T = TypeVar("T")
_IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".terraform*", "terraform.tfstate*", OVERRIDE_FILE, "*.egg-info", ".build"
)


@pytest.fixture()
def checkout(tmp_path: Path) -> Path:
    """deploy/fragile with the modules it calls and the sources it zips, laid out as in the repository."""
    root = tmp_path / "checkout"
    for part in ("deploy/fragile", "deploy/modules", "src/fragile_service", "src/healer"):
        shutil.copytree(REPO / part, root / part, ignore=_IGNORED)
    return root


@pytest.fixture()
def cloud(checkout: Path) -> Iterator[CloudRecord]:
    """`selfheal up --cloud-only` in the checkout: a background cloud recorded in its .selfheal, no stack."""
    place = Workdir(checkout / ".selfheal")
    port = str(free_port())
    started = _selfheal(checkout, "up", "--cloud-only", "--port", port, "--time-scale", "20")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "nothing applied (--cloud-only)" in started.stdout
        assert "tf -chdir=deploy/fragile apply -auto-approve" in started.stdout
        record = place.read_cloud()
        assert record is not None and cloud_alive(record) and record.time_scale == TIME_SCALE
        assert not place.outputs_json.exists() and not place.state_file.exists()
        assert place.read_dashboard() is None  # nothing deployed yet for a dashboard to watch
        yield record
        stopped = _selfheal(checkout, "down")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert not cloud_alive(record) and group_members(record.pid) == []
    finally:
        down(place, grace=5.0)


def _selfheal(checkout: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`selfheal ARGS` run in ``checkout`` as a user would, with no AWS_* or TF_* variable set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    return subprocess.run(
        [sys.executable, "-c", "from selfheal.cli import main; main()", *args],
        cwd=checkout,
        env=dict(env, PYTHONUNBUFFERED="1", NO_COLOR="1"),
        capture_output=True,
        text=True,
        timeout=240,
    )


def _tf(checkout: Path, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    done = _selfheal(
        checkout, "tf", f"-chdir={MODULE}", *args, *(() if args[0] == "output" else ("-no-color",))
    )
    assert done.returncode == expect, (done.stdout + done.stderr)[-3000:]
    return done


def _failure_rate(lam: Any, function: str) -> str | None:
    rate: str | None = lam.get_function_configuration(FunctionName=function)["Environment"]["Variables"].get(
        "FAILURE_RATE"
    )
    return rate


def test_seed_terraform_unchanged_heals_drifts_and_reverts(checkout: Path, cloud: CloudRecord) -> None:
    """init, apply (no -var), inject, traffic → healed; plan shows the drift; apply reverts; destroy."""
    backend = (checkout / MODULE / "backend.tf").read_text()
    assert re.search(r'backend\s+"s3"\s*\{\s*\}', backend)
    _tf(checkout, "init")
    applied = _tf(checkout, "apply", "-auto-approve")
    assert 'the backend "s3" of backend.tf is overridden to local state' in applied.stderr
    assert "Apply complete!" in applied.stdout
    assert (checkout / MODULE / "backend.tf").read_text() == backend
    assert not (checkout / MODULE / OVERRIDE_FILE).exists()
    assert (checkout / MODULE / "terraform.tfstate").is_file()

    outputs = {
        name: value["value"] for name, value in json.loads(_tf(checkout, "output", "-json").stdout).items()
    }
    assert outputs["api_endpoint"].startswith(f"{cloud.endpoint}/_api/")
    target = AwsTarget.resolve(cloud.endpoint, outputs["region"], workdir=checkout / ".selfheal")
    lam = target.client("lambda")
    function = outputs["fragile_function_name"]
    baseline = _failure_rate(lam, function)
    assert baseline is not None and float(baseline) < 1

    injected = _selfheal(checkout, "inject", "--rate", "1")
    assert injected.returncode == 0, injected.stdout + injected.stderr
    assert float(_failure_rate(lam, function) or 0) == 1.0
    generator = LoadGenerator(TrafficPlan(url=outputs["api_endpoint"], rate=20, duration=LOOP_TIMEOUT))
    sender = threading.Thread(target=generator.run, daemon=True)
    sender.start()
    try:
        eventually(lambda: _failure_rate(lam, function) == "0", LOOP_TIMEOUT, "the healer's FAILURE_RATE=0")
    finally:
        generator.stop()
        sender.join(timeout=20)
    assert generator.stats.snapshot().server_errors > 0

    drift = _tf(checkout, "plan", "-detailed-exitcode", expect=2)
    assert re.search(rf'"FAILURE_RATE"\s*=\s*"0" -> "{re.escape(baseline)}"', drift.stdout), drift.stdout
    _tf(checkout, "apply", "-auto-approve")
    assert _failure_rate(lam, function) == baseline
    _tf(checkout, "plan", "-detailed-exitcode", expect=0)

    _tf(checkout, "destroy", "-auto-approve")
    assert lam.list_functions()["Functions"] == []
    assert target.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert target.client("apigatewayv2").get_apis()["Items"] == []
