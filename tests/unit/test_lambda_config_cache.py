"""The Lambda service's configuration cache: reused while unchanged, taken again after any change."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.utils import get_backend

from selfheal.cloud.errors import FunctionNotFound
from selfheal.cloud.lambda_functions import (
    DEAD_LETTER_ATTRIBUTE,
    CodeCache,
    ConfigCache,
    FunctionConfig,
    lookup_function,
)

ACCOUNT, REGION, NAME = "123456789012", "us-east-1", "cached"


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture
def lam() -> Iterator[Any]:
    """A moto Lambda client with one function, ``cached``, FAILURE_RATE=1."""
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(
            RoleName="cached-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        client = boto3.client("lambda", region_name=REGION)
        client.create_function(
            FunctionName=NAME,
            Runtime="python3.11",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": _zip("def handler(event, context):\n    return 1\n")},
            Timeout=3,
            MemorySize=128,
            Environment={"Variables": {"FAILURE_RATE": "1"}},
        )
        yield client


def _backend(service: str) -> Any:
    assert service == "lambda"
    return get_backend(ACCOUNT, REGION)


def _model() -> Any:
    return _backend("lambda").get_function(NAME, None)


def _fields(config: FunctionConfig) -> dict[str, Any]:
    """Every compared field of a snapshot (``model`` is compared by identity separately)."""
    return {k: v for k, v in vars(config).items() if k != "model"}


def test_an_unchanged_function_is_read_once(lam: Any) -> None:
    """Two lookups of an unchanged function give the same snapshot, equal to a fresh read."""
    cache = ConfigCache()
    first = cache.lookup(_backend, NAME)
    second = cache.lookup(_backend, NAME)
    assert second is first
    assert cache.snapshots == 1
    assert _fields(first) == _fields(lookup_function(_backend, NAME))
    assert first.variables == {"FAILURE_RATE": "1"}


def _update_variables(lam: Any) -> None:
    lam.update_function_configuration(FunctionName=NAME, Environment={"Variables": {"FAILURE_RATE": "0"}})


def _update_timeout_memory_handler(lam: Any) -> None:
    lam.update_function_configuration(FunctionName=NAME, Timeout=9, MemorySize=256, Handler="app.other")


def _update_code(lam: Any) -> None:
    lam.update_function_code(FunctionName=NAME, ZipFile=_zip("def handler(event, context):\n    return 2\n"))


def _reserve_concurrency(lam: Any) -> None:
    lam.put_function_concurrency(FunctionName=NAME, ReservedConcurrentExecutions=1)


def _variable_changed_in_place(lam: Any) -> None:
    _model().environment_vars["FAILURE_RATE"] = "0.5"


def _dead_letter_set_by_a_hook(lam: Any) -> None:
    setattr(_model(), DEAD_LETTER_ATTRIBUTE, {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq"})


@pytest.mark.parametrize(
    "change",
    [
        _update_variables,
        _update_timeout_memory_handler,
        _update_code,
        _reserve_concurrency,
        _variable_changed_in_place,
        _dead_letter_set_by_a_hook,
    ],
)
def test_any_change_is_seen_by_the_next_lookup(lam: Any, change: Callable[[Any], None]) -> None:
    """After a change through the API, a hook or in place, the next lookup equals a fresh read of moto."""
    cache = ConfigCache()
    before = cache.lookup(_backend, NAME)
    change(lam)
    after = cache.lookup(_backend, NAME)
    assert _fields(after) != _fields(before)
    assert _fields(after) == _fields(lookup_function(_backend, NAME))
    assert cache.snapshots == 2
    assert cache.lookup(_backend, NAME) is after


def test_an_event_invoke_config_changed_in_place_is_seen(lam: Any) -> None:
    """A nested change of the stored event invoke configuration (a hook merges into it) is seen."""
    lam.put_function_event_invoke_config(FunctionName=NAME, MaximumRetryAttempts=2)
    cache = ConfigCache()
    assert cache.lookup(_backend, NAME).event_config["MaximumRetryAttempts"] == 2
    _model().event_invoke_config[0].config["MaximumRetryAttempts"] = 0
    assert cache.lookup(_backend, NAME).event_config["MaximumRetryAttempts"] == 0


def test_a_deleted_function_is_not_found_and_a_recreated_one_is_read_again(lam: Any) -> None:
    """The cache never answers for a function moto no longer has; a re-created one is a new snapshot."""
    cache = ConfigCache()
    old = cache.lookup(_backend, NAME)
    role = old.role
    lam.delete_function(FunctionName=NAME)
    with pytest.raises(FunctionNotFound):
        cache.lookup(_backend, NAME)
    lam.create_function(
        FunctionName=NAME,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _zip("def handler(event, context):\n    return 1\n")},
        Timeout=3,
        MemorySize=128,
        Environment={"Variables": {"FAILURE_RATE": "1"}},
    )
    new = cache.lookup(_backend, NAME)
    assert new is not old and new.model is _model()


def test_versions_are_cached_apart(lam: Any) -> None:
    """A published version keeps its own snapshot; changing $LATEST leaves version 1's unchanged."""
    lam.publish_version(FunctionName=NAME)
    cache = ConfigCache()
    one = cache.lookup(_backend, NAME, "1")
    _update_variables(lam)
    assert cache.lookup(_backend, NAME, "1") is one
    assert one.variables == {"FAILURE_RATE": "1"}
    assert cache.lookup(_backend, NAME).variables == {"FAILURE_RATE": "0"}


def test_warm_code_lookups_touch_no_file_and_a_cold_start_restores_the_code(lam: Any, tmp_path: Path) -> None:
    """Once extracted, the code directory is trusted until ``ensure`` (a cold start) checks the disk."""
    code = CodeCache(tmp_path)
    config = ConfigCache().lookup(_backend, NAME)
    spec = code.spec(config)
    assert (spec.code_dir / "app.py").is_file()
    assert code.spec(config) is spec
    shutil.rmtree(spec.code_dir)
    assert code.code_dir(config) == spec.code_dir and not spec.code_dir.exists()
    assert code.ensure(config) == spec.code_dir
    assert (spec.code_dir / "app.py").read_text(encoding="utf-8").endswith("return 1\n")
