"""Invoke with ``Qualifier`` runs the version or alias it names (moto reads ``qualifier`` instead).

boto3 sends the qualifier of ``Invoke`` as the query parameter ``Qualifier``; moto's ``LambdaResponse.invoke``
looks up ``qualifier`` (lower case) in the query string and then in the JSON payload, so without the local
cloud's patch every qualified invoke ran ``$LATEST`` and a payload key ``"qualifier"`` chose the version.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]

SOURCE = """
import os

def handler(event, context):
    return {"release": os.environ["RELEASE"], "version": context.function_version}
"""


@pytest.fixture(scope="module")
def released(aws: AwsFactory, make_function: FunctionFactory) -> str:
    """``released``: version 1 (RELEASE a), version 2 (RELEASE b), ``$LATEST`` RELEASE c; alias live → 1."""
    lam = aws("lambda")
    name = make_function("released", SOURCE, variables={"RELEASE": "a"})
    for release, version in (("a", "1"), ("b", "2")):
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"RELEASE": release}})
        assert lam.publish_version(FunctionName=name)["Version"] == version
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"RELEASE": "c"}})
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return name


def run(aws: AwsFactory, payload: dict[str, Any] | None = None, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    response = aws("lambda").invoke(Payload=json.dumps(payload or {}).encode(), **kwargs)
    assert "FunctionError" not in response
    body: dict[str, Any] = json.loads(response["Payload"].read())
    return str(response["ExecutedVersion"]), body


@pytest.mark.parametrize(
    ("qualifier", "version", "release"),
    [("1", "1", "a"), ("2", "2", "b"), ("$LATEST", "$LATEST", "c"), ("live", "1", "a")],
)
def test_qualifier_names_the_version_that_runs(
    aws: AwsFactory, released: str, qualifier: str, version: str, release: str
) -> None:
    """A version, ``$LATEST`` or an alias as ``Qualifier`` runs that version with its own configuration."""
    executed, body = run(aws, FunctionName=released, Qualifier=qualifier)
    assert executed == version
    assert body == {"release": release, "version": version}


def test_alias_moves_and_the_next_invoke_follows(aws: AwsFactory, released: str) -> None:
    """After UpdateAlias, invoking the alias (Qualifier or qualified name) runs the version it now names."""
    lam = aws("lambda")
    lam.update_alias(FunctionName=released, Name="live", FunctionVersion="2")
    try:
        assert run(aws, FunctionName=released, Qualifier="live")[0] == "2"
        assert run(aws, FunctionName=f"{released}:live")[0] == "2"
    finally:
        lam.update_alias(FunctionName=released, Name="live", FunctionVersion="1")
    assert run(aws, FunctionName=released, Qualifier="live")[0] == "1"


def test_payload_never_chooses_the_version(aws: AwsFactory, released: str) -> None:
    """A payload with a ``qualifier`` key is the event, not a parameter: unqualified still runs $LATEST."""
    executed, body = run(aws, {"qualifier": "1"}, FunctionName=released)
    assert (executed, body["release"]) == ("$LATEST", "c")
    assert run(aws, {"qualifier": "2"}, FunctionName=released, Qualifier="live")[0] == "1"


def test_unknown_qualifier_is_not_found(aws: AwsFactory, released: str) -> None:
    """An alias or version that does not exist: ResourceNotFoundException naming the qualified ARN."""
    with pytest.raises(ClientError) as caught:
        aws("lambda").invoke(FunctionName=released, Qualifier="nope", Payload=b"{}")
    error = caught.value.response["Error"]
    assert error["Code"] == "ResourceNotFoundException"
    assert error["Message"].endswith(f":function:{released}:nope")
