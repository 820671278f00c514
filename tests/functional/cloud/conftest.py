"""Fixtures for tests against a running LocalCloud: the cloud, boto3 clients, Lambda zips and functions.

The ``cloud`` fixture is module-scoped: a test module gets one cloud (on a free port) and its warm
environments. Its time scale comes from ``@pytest.mark.parametrize("cloud", [60.0], indirect=True)`` or a
module-level ``CLOUD_TIME_SCALE`` (default 1.0). Never combine it with ``moto.mock_aws`` in one module:
both own moto's process-wide state.
"""

from __future__ import annotations

import io
import json
import textwrap
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud import LocalCloud

AwsFactory = Callable[..., Any]
ZipBuilder = Callable[..., bytes]
FunctionFactory = Callable[..., str]

ROLE_NAME = "selfheal-test-lambda-role"
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def build_zip(source_dir: Path | None = None, *, files: Mapping[str, str] | None = None) -> bytes:
    """Return a Lambda zip of ``source_dir`` (recursively) and/or inline ``files`` (name → source)."""
    if source_dir is None and not files:
        raise ValueError("give a source directory or inline files")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if source_dir is not None:
            for path in sorted(Path(source_dir).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, path.relative_to(source_dir).as_posix())
        for name, source in (files or {}).items():
            archive.writestr(name, textwrap.dedent(source))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    """A started LocalCloud on a free 127.0.0.1 port, stopped after the module."""
    param: Any = getattr(request, "param", None)
    scale = float(param or getattr(request.module, "CLOUD_TIME_SCALE", 1.0))
    with LocalCloud(port=0, time_scale=scale) as running:
        yield running


@pytest.fixture(scope="module")
def aws(cloud: LocalCloud) -> AwsFactory:
    """A factory of boto3 clients that talk to the module's cloud, signed with its operator key (extra
    keywords go to ``boto3.client``)."""

    def client(service: str, **kwargs: Any) -> Any:
        return cloud.client(service, **kwargs)

    return client


@pytest.fixture(scope="session")
def lambda_zip() -> ZipBuilder:
    """The :func:`build_zip` helper, for tests that build their own packages."""
    return build_zip


@pytest.fixture(scope="module")
def lambda_role(aws: AwsFactory) -> str:
    """The ARN of an IAM role Lambda functions in this module can use."""
    iam = aws("iam")
    role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST_POLICY))
    # The cloud enforces IAM on calls made with the role's credentials: test functions forward to SQS.
    statement = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:sqs:*:123456789012:*"}
    iam.put_role_policy(
        RoleName=ROLE_NAME,
        PolicyName="test-functions",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    return str(role["Role"]["Arn"])


@pytest.fixture(scope="module")
def make_function(aws: AwsFactory, lambda_role: str) -> FunctionFactory:
    """A factory that creates a Python function from inline ``app.py`` source and returns its name."""

    def create(
        name: str,
        source: str,
        *,
        handler: str = "app.handler",
        variables: Mapping[str, str] | None = None,
        timeout: int = 3,
        runtime: str = "python3.11",
    ) -> str:
        aws("lambda").create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=lambda_role,
            Handler=handler,
            Code={"ZipFile": build_zip(files={"app.py": source})},
            Timeout=timeout,
            Environment={"Variables": dict(variables or {})},
        )
        # A new function is Pending for a moment, as on AWS: wait until it can be invoked.
        aws("lambda").get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05})
        return name

    return create
