"""The `aws` CLI, pointed at `selfheal cloud` with --endpoint-url, works as a new user would use it.

The aws CLI pins its own botocore, so it lives in its own venv (`make test` creates `.venv-awscli`).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from selfheal.cloud_process import free_port

ROOT = Path(__file__).resolve().parents[2]
AWS = ROOT / ".venv-awscli" / "bin" / "aws"

pytestmark = pytest.mark.skipif(
    not AWS.exists(), reason="no .venv-awscli: run `make awscli` (make test does)"
)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """`selfheal cloud` in a child process on a free loopback port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from selfheal.cli import main; main()", "cloud", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("selfheal cloud did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def aws(endpoint: str, *args: str) -> str:
    """Run one aws CLI command against the local cloud and return its stdout."""
    env = dict(
        os.environ,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    env.pop("AWS_ENDPOINT_URL", None)
    done = subprocess.run(
        [str(AWS), "--endpoint-url", endpoint, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_aws_cli_creates_and_invokes_a_function(endpoint: str, tmp_path: Path) -> None:
    """create-role, create-function and invoke run the real handler; its log group appears."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return {'hello': event['name']}\n")
    code = tmp_path / "fn.zip"
    code.write_bytes(archive.getvalue())
    role = json.loads(
        aws(endpoint, "iam", "create-role", "--role-name", "cli", "--assume-role-policy-document", "{}")
    )
    aws(
        endpoint, "lambda", "create-function", "--function-name", "cli-hello", "--runtime", "python3.12",
        "--role", role["Role"]["Arn"], "--handler", "app.handler", "--zip-file", f"fileb://{code}",
    )  # fmt: skip
    out = tmp_path / "out.json"
    meta = json.loads(aws(endpoint, "lambda", "invoke", "--function-name", "cli-hello",
                          "--payload", '{"name": "aws-cli"}', str(out)))  # fmt: skip
    assert meta["StatusCode"] == 200 and "FunctionError" not in meta
    assert json.loads(out.read_text()) == {"hello": "aws-cli"}
    groups = json.loads(aws(endpoint, "logs", "describe-log-groups"))["logGroups"]
    assert "/aws/lambda/cli-hello" in [g["logGroupName"] for g in groups]


def test_aws_cli_sees_a_new_alarm_as_insufficient_data(endpoint: str) -> None:
    """An alarm made with the aws CLI starts INSUFFICIENT_DATA, as on AWS (moto alone says OK)."""
    aws(
        endpoint, "cloudwatch", "put-metric-alarm", "--alarm-name", "cli-alarm", "--metric-name", "Errors",
        "--namespace", "AWS/Lambda", "--statistic", "Sum", "--period", "60", "--evaluation-periods", "1",
        "--threshold", "1", "--comparison-operator", "GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    alarms = json.loads(aws(endpoint, "cloudwatch", "describe-alarms", "--alarm-names", "cli-alarm"))
    assert [a["StateValue"] for a in alarms["MetricAlarms"]] == ["INSUFFICIENT_DATA"]
