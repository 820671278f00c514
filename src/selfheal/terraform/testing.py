"""Test helpers that ship with selfheal: a moto endpoint, Terraform fixtures, and a Terraform runner.

Used by selfheal's own tests and by anyone testing a local provider resource::

    with moto_endpoint() as endpoint:
        tf = terraform_fixture(tmp_path, MAIN_TF, endpoint)
        tf.init(); tf.apply()
"""

from __future__ import annotations

import json
import logging
import socket
import textwrap
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from selfheal.terraform.driver import Terraform

__all__ = [
    "MOTO_CREDENTIALS",
    "PROVIDER_TF",
    "free_port",
    "lambda_role_tf",
    "moto_endpoint",
    "reset_moto",
    "terraform_fixture",
]

#: The keys for a plain moto server (:func:`moto_endpoint`), which accepts any. A LocalCloud accepts only
#: its operator key: give ``cloud.operator_key.environment()`` instead.
MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}

#: A provider block for fixtures: the real provider's usual local-testing arguments, all accepted.
PROVIDER_TF = """
terraform {
  required_providers {
    aws     = { source = "hashicorp/aws" }
    archive = { source = "hashicorp/archive" }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
}
"""


def lambda_role_tf(role_name: str) -> str:
    """HCL for what a fixture's function needs besides itself: ``data.archive_file.code`` (the ``src``
    directory beside the configuration, zipped), Lambda's trust policy ``data.aws_iam_policy_document.assume``
    and ``aws_iam_role.fn``, named ``role_name``, that trusts it."""
    return f"""
data "archive_file" "code" {{
  type        = "zip"
  source_dir  = "${{path.module}}/src"
  output_path = "${{path.module}}/build/code.zip"
}}

data "aws_iam_policy_document" "assume" {{
  statement {{
    actions = ["sts:AssumeRole"]
    principals {{
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }}
  }}
}}

resource "aws_iam_role" "fn" {{
  name               = "{role_name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}}
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: bytes) -> None:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10):
        pass


@contextmanager
def moto_endpoint() -> Iterator[str]:
    """Run a moto server on 127.0.0.1 (Lambda without Docker) and yield its URL; stop it afterwards."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        # moto's backends are process-wide: start empty whatever earlier tests (or a LocalCloud) left.
        reset_moto(endpoint)
        yield endpoint
    finally:
        server.stop()


def reset_moto(endpoint: str) -> None:
    """Forget every resource in the moto server at ``endpoint``."""
    _post(f"{endpoint}/moto-api/reset", b"{}")
    _post(f"{endpoint}/moto-api/config", json.dumps({"lambda": {"use_docker": False}}).encode())


def terraform_fixture(
    directory: Path,
    main_tf: str,
    endpoint: str,
    *,
    with_provider: bool = True,
    credentials: Mapping[str, str] = MOTO_CREDENTIALS,
) -> Terraform:
    """Write ``main.tf`` (after :data:`PROVIDER_TF` unless told not to) in ``directory``; return a runner.

    ``credentials`` default to a plain moto server's; for a LocalCloud give its operator key's.
    """
    directory.mkdir(parents=True, exist_ok=True)
    text = (PROVIDER_TF if with_provider else "") + textwrap.dedent(main_tf)
    (directory / "main.tf").write_text(text)
    return Terraform(directory, endpoint, credentials=credentials)
