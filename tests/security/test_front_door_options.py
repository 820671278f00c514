"""The front door's opt-ins: origins the user names get CORS; ``accept_any_key`` for throwaway tests."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from selfheal.cloud import LocalCloud
from selfheal.cloud.server import FRONTS

TRUSTED = "http://localhost:3000"


@pytest.fixture(scope="module", params=FRONTS)
def cloud(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    """A LocalCloud on each front that trusts one web origin and accepts any key."""
    with LocalCloud(port=0, allow_origins=[TRUSTED], accept_any_key=True, front=request.param) as running:
        yield running


def test_a_named_origin_gets_cors_and_preflights(cloud: LocalCloud) -> None:
    """The origin given with --allow-origin gets a preflight answer and its own Allow-Origin, nobody else."""
    preflight = httpx.options(
        cloud.endpoint + "/2015-03-31/functions/",
        headers={
            "Origin": TRUSTED,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, x-amz-date",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == TRUSTED
    assert preflight.headers["access-control-allow-headers"] == "authorization, x-amz-date"
    other = httpx.options(
        cloud.endpoint + "/2015-03-31/functions/",
        headers={"Origin": "http://localhost:3001", "Access-Control-Request-Method": "GET"},
    )
    assert other.status_code == 403
    assert "access-control-allow-origin" not in other.headers


def test_the_named_origin_reads_answers(cloud: LocalCloud) -> None:
    """An actual request from the named origin is served with exactly that origin allowed."""
    request = AWSRequest(method="GET", url=cloud.endpoint + "/2015-03-31/functions/")
    SigV4Auth(Credentials("any", "any"), "lambda", cloud.region).add_auth(request)
    headers = {**dict(request.headers.items()), "Origin": TRUSTED, "Sec-Fetch-Site": "same-site"}
    response = httpx.get(cloud.endpoint + "/2015-03-31/functions/", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["Functions"] == []
    assert response.headers["access-control-allow-origin"] == TRUSTED


def test_any_key_opt_out_accepts_a_guessed_key(cloud: LocalCloud) -> None:
    """With accept_any_key the old moto behaviour is back: ``testing``/``testing`` acts as root."""
    lam = boto3.client(
        "lambda",
        endpoint_url=cloud.endpoint,
        region_name=cloud.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert lam.list_functions()["Functions"] == []


def test_back_doors_stay_closed_with_the_opt_out(cloud: LocalCloud) -> None:
    """accept_any_key relaxes keys only: moto's control endpoints are still not served."""
    assert httpx.post(cloud.endpoint + "/moto-api/reset").status_code == 404


def test_an_invalid_allowed_origin_is_a_clear_error() -> None:
    """An origin that is not scheme://host[:port] is refused when the cloud is made."""
    with pytest.raises(ValueError, match="must look like http://localhost:3000"):
        LocalCloud(port=0, allow_origins=["localhost:3000/app"])
