"""Starting and stopping a LocalCloud: children reaped, port closed, moto's patches undone."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
from moto.awslambda.models import LambdaBackend

from selfheal.cloud import LocalCloud
from selfheal.cloud.testing import LAMBDA_TRUST_POLICY

SOURCE = "import os\n\ndef handler(event, context):\n    return os.getpid()\n"


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _create_function(cloud: LocalCloud, lambda_zip: object, name: str, source: str, **extra: Any) -> Any:
    """Create function ``name`` running ``source`` as ``app.handler``; return a Lambda client."""
    client = cloud.client("lambda")
    iam = cloud.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)["Role"][
        "Arn"
    ]
    assert callable(lambda_zip)
    client.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": source})},
        **extra,
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05})
    return client


def test_stop_reaps_children_closes_port_and_unpatches(lambda_zip: object) -> None:
    """After stop no environment process is left, the port refuses connections and moto is restored."""
    original_invoke = LambdaBackend.__dict__["invoke"]
    cloud = LocalCloud(port=0)
    cloud.start()
    try:
        assert LambdaBackend.__dict__["invoke"] is not original_invoke
        client = _create_function(cloud, lambda_zip, "pid", SOURCE)
        pid = int(client.invoke(FunctionName="pid")["Payload"].read())
        assert cloud.lambdas.child_pids() == [pid]
        port = int(cloud.endpoint.rsplit(":", 1)[1])
    finally:
        cloud.stop()
    assert not _pid_exists(pid)
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert LambdaBackend.__dict__["invoke"] is original_invoke
    # No child of this process is left unreaped either.
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_only_one_cloud_runs_per_process() -> None:
    """A second LocalCloud refuses to start while one runs, and leaves the first working."""
    with LocalCloud(port=0) as first:
        second = LocalCloud(port=0)
        with pytest.raises(RuntimeError, match="already running"):
            second.start()
        assert first.backend("sqs") is not None
        assert second.running is False


SLOW_SOURCE = "import time\n\ndef handler(event, context):\n    time.sleep(120)\n"


def test_stop_does_not_wait_for_a_long_async_invocation(lambda_zip: object) -> None:
    """Stopping kills an environment busy with a two-minute event invoke instead of waiting it out."""
    import time

    cloud = LocalCloud(port=0)
    cloud.start()
    try:
        client = _create_function(cloud, lambda_zip, "slow", SLOW_SOURCE, Timeout=300)
        assert client.invoke(FunctionName="slow", InvocationType="Event")["StatusCode"] == 202
        deadline = time.monotonic() + 30
        while not cloud.lambdas.child_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = cloud.lambdas.child_pids()
        assert pids, "the event invoke never started an environment"
    finally:
        started = time.monotonic()
        cloud.stop()
        stopped_after = time.monotonic() - started
    assert not any(_pid_exists(pid) for pid in pids)
    # Generous, yet below the 30 s a worker join would take if stop waited for the invocation.
    assert stopped_after < 20
