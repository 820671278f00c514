"""The `aws` CLI, pointed at `selfheal cloud` with --endpoint-url, works as a new user would use it:
with exactly the settings `selfheal cloud` prints (its operator key by file and profile, never printed).

The aws CLI pins its own botocore, so it lives in its own venv (`make test` creates `.venv-awscli`).
"""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from selfheal.cloud.credentials import OPERATOR_PROFILE, read_key
from selfheal.cloud.testing import LAMBDA_TRUST_POLICY
from selfheal.stack.cloud_process import free_port

ROOT = Path(__file__).resolve().parents[2]
AWS = ROOT / ".venv-awscli" / "bin" / "aws"

pytestmark = pytest.mark.skipif(
    not AWS.exists(), reason="no .venv-awscli: run `make awscli` (make test does)"
)


@dataclass(frozen=True)
class Cloud:
    """A running `selfheal cloud` and the settings it printed (``export NAME=value`` lines)."""

    endpoint: str
    settings: dict[str, str]


def _exported(text: str) -> dict[str, str]:
    """The variables of the ``export A=x B=y`` lines `selfheal cloud` prints."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        if line.strip().startswith("export "):
            for word in shlex.split(line)[1:]:
                name, _, value = word.partition("=")
                settings[name] = value
    return settings


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """`selfheal cloud` in a child process on a free loopback port, its work directory a temporary one."""
    port = free_port()
    workdir = tmp_path_factory.mktemp("awscli")
    log = workdir / "cloud.log"
    argv = ["cloud", "--port", str(port), "--workdir", str(workdir / ".selfheal")]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", "from selfheal.cli import main; main()", *argv],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(os.environ, COLUMNS="400"),
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while "Ctrl-C" not in log.read_text(errors="replace"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"selfheal cloud did not start: {log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield Cloud(url, _exported(log.read_text()))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def aws(cloud: Cloud, *args: str) -> str:
    """Run one aws CLI command against the local cloud, with only the settings `selfheal cloud` printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(cloud.settings, AWS_CONFIG_FILE=os.devnull)
    done = subprocess.run(
        [str(AWS), "--endpoint-url", cloud.endpoint, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_printed_settings_name_the_key_file_not_the_key(cloud: Cloud) -> None:
    """`selfheal cloud` prints the endpoint, the region and the credentials file with its profile —
    the file holds the operator key (mode 0600); no access key or secret is printed."""
    settings = cloud.settings
    assert settings["AWS_ENDPOINT_URL"] == cloud.endpoint
    assert settings["AWS_REGION"] == settings["AWS_DEFAULT_REGION"] == "us-east-1"
    assert settings["AWS_PROFILE"] == OPERATOR_PROFILE
    path = Path(settings["AWS_SHARED_CREDENTIALS_FILE"])
    assert path.is_absolute() and path.stat().st_mode & 0o777 == 0o600
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(settings)
    read_key(path)  # a usable [selfheal] key
    identity = json.loads(aws(cloud, "sts", "get-caller-identity"))
    assert identity["Account"] == "123456789012"


def test_aws_cli_creates_and_invokes_a_function(cloud: Cloud, tmp_path: Path) -> None:
    """create-role, create-function and invoke run the real handler; its log group appears."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return {'hello': event['name']}\n")
    code = tmp_path / "fn.zip"
    code.write_bytes(archive.getvalue())
    trust = LAMBDA_TRUST_POLICY
    role = json.loads(
        aws(cloud, "iam", "create-role", "--role-name", "cli", "--assume-role-policy-document", trust)
    )
    aws(
        cloud, "lambda", "create-function", "--function-name", "cli-hello", "--runtime", "python3.12",
        "--role", role["Role"]["Arn"], "--handler", "app.handler", "--zip-file", f"fileb://{code}",
    )  # fmt: skip
    out = tmp_path / "out.json"
    meta = json.loads(aws(cloud, "lambda", "invoke", "--function-name", "cli-hello",
                          "--payload", '{"name": "aws-cli"}', str(out)))  # fmt: skip
    assert meta["StatusCode"] == 200 and "FunctionError" not in meta
    assert json.loads(out.read_text()) == {"hello": "aws-cli"}
    groups = json.loads(aws(cloud, "logs", "describe-log-groups"))["logGroups"]
    assert "/aws/lambda/cli-hello" in [g["logGroupName"] for g in groups]


def test_aws_cli_sees_a_new_alarm_as_insufficient_data(cloud: Cloud) -> None:
    """An alarm made with the aws CLI starts INSUFFICIENT_DATA, as on AWS (moto alone says OK)."""
    aws(
        cloud, "cloudwatch", "put-metric-alarm", "--alarm-name", "cli-alarm", "--metric-name", "Errors",
        "--namespace", "AWS/Lambda", "--statistic", "Sum", "--period", "60", "--evaluation-periods", "1",
        "--threshold", "1", "--comparison-operator", "GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    alarms = json.loads(aws(cloud, "cloudwatch", "describe-alarms", "--alarm-names", "cli-alarm"))
    assert [a["StateValue"] for a in alarms["MetricAlarms"]] == ["INSUFFICIENT_DATA"]
