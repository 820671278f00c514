"""IAM enforced locally on sts:AssumeRole: the caller's identity policy and the role's trust policy.

Principals are built with the operator's (root's) IAM client; a "caller" role trusting Lambda gets a session
through the operator's AssumeRole, and that session's keys sign the requests under test. Every test uses
its own names, so the tests share the module's cloud without depending on each other.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import AwsFactory, handler_zip
from selfheal.cloud import LocalCloud

CLOUD_TIME_SCALE = 1.0
pytestmark = pytest.mark.timeout(120)

LAMBDA_TRUST = {"Service": "lambda.amazonaws.com"}


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(principal: Any, effect: str = "Allow") -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}


def _allow(action: str, resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def _role(aws: AwsFactory, name: str, *trust: dict[str, Any], path: str = "/", **policy: Any) -> str:
    """Create role ``name`` with the trust statements ``trust`` and, given statements, an inline policy."""
    iam = aws("iam")
    arn = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=_document(*trust))["Role"]["Arn"]
    if policy.get("statements"):
        iam.put_role_policy(
            RoleName=name, PolicyName="inline", PolicyDocument=_document(*policy["statements"])
        )
    return str(arn)


def _client(cloud: LocalCloud, service: str, credentials: dict[str, Any]) -> Any:
    """A client of ``service`` signed with an AssumeRole response's ``Credentials``."""
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=cloud.endpoint,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _caller(aws: AwsFactory, name: str, *statements: dict[str, Any], path: str = "/") -> tuple[str, Any]:
    """A role ``name`` (trusting Lambda) with ``statements`` inline, and an operator-made session of it:
    (role ARN, the session's AssumeRole response)."""
    arn = _role(aws, name, _trust(LAMBDA_TRUST), path=path, statements=list(statements))
    session = aws("sts").assume_role(RoleArn=arn, RoleSessionName=f"{name}-session")
    return arn, session


def _session_arn(cloud: LocalCloud, role_name: str, session_name: str) -> str:
    return f"arn:aws:sts::{cloud.account_id}:assumed-role/{role_name}/{session_name}"


def _refused_message(cloud: LocalCloud, caller: str, target_arn: str) -> str:
    session = _session_arn(cloud, caller, f"{caller}-session")
    return f"User: {session} is not authorized to perform: sts:AssumeRole on resource: {target_arn}"


def _functions(aws: AwsFactory, role_arn: str, prefix: str) -> tuple[str, str]:
    """Two functions (names ``{prefix}-a``, ``{prefix}-b``); returns their ARNs."""
    arns = []
    for suffix in ("a", "b"):
        created = aws("lambda").create_function(
            FunctionName=f"{prefix}-{suffix}",
            Runtime="python3.11",
            Role=role_arn,
            Handler="app.handler",
            Code={"ZipFile": handler_zip()},
        )
        arns.append(str(created["FunctionArn"]))
    return arns[0], arns[1]


def _refused(call: Any, **kwargs: Any) -> ClientError:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    return refused.value


def _assume_refused(cloud: LocalCloud, sts: Any, role_arn: str) -> tuple[ClientError, bytes]:
    """AssumeRole of ``role_arn`` refused: (the error, the raw response body); counts one refusal."""
    bodies: list[bytes] = []

    def keep_body(response_dict: dict[str, Any], **_: Any) -> None:
        bodies.append(bytes(response_dict["body"]))

    sts.meta.events.register("before-parse.sts.AssumeRole", keep_body)
    refusals = cloud.iam.refusals
    error = _refused(sts.assume_role, RoleArn=role_arn, RoleSessionName="target-session")
    assert cloud.iam.refusals == refusals + 1
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Code"] == "AccessDenied"
    return error, bodies[-1]


def test_trusted_caller_gets_exactly_the_target_roles_permissions(cloud: LocalCloud, aws: AwsFactory) -> None:
    """Identity allows and the trust policy names the caller's role: refused while the role does not exist,
    AssumeRole succeeds once it does, and the new session may do what the target role's policy allows and
    nothing else."""
    caller, target = _unique("caller"), _unique("target")
    target_arn = f"arn:aws:iam::{cloud.account_id}:role/{target}"
    caller_arn, session = _caller(aws, caller, _allow("sts:AssumeRole", target_arn))
    allowed, other = _functions(aws, caller_arn, _unique("fn"))
    sts = _client(cloud, "sts", session["Credentials"])
    _assume_refused(cloud, sts, target_arn)
    _role(
        aws,
        target,
        _trust({"AWS": caller_arn}),
        statements=[_allow("lambda:GetFunctionConfiguration", allowed)],
    )
    refusals = cloud.iam.refusals

    assumed = sts.assume_role(RoleArn=target_arn, RoleSessionName="target-session")
    assert assumed["AssumedRoleUser"]["Arn"] == _session_arn(cloud, target, "target-session")
    assert cloud.iam.refusals == refusals

    target_lambda = _client(cloud, "lambda", assumed["Credentials"])
    assert target_lambda.get_function_configuration(FunctionName=allowed)["FunctionArn"] == allowed
    error = _refused(target_lambda.get_function_configuration, FunctionName=other)
    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert f"assumed-role/{target}/target-session" in str(error) and other in str(error)
    assert cloud.iam.refusals == refusals + 1


def test_trust_naming_another_role_refuses(cloud: LocalCloud, aws: AwsFactory) -> None:
    """Identity allows, but the trust policy names another role: AccessDenied, in XML, AWS's wording."""
    caller, target = _unique("caller"), _unique("target")
    target_arn = f"arn:aws:iam::{cloud.account_id}:role/{target}"
    _, session = _caller(aws, caller, _allow("sts:AssumeRole", target_arn))
    _role(aws, target, _trust({"AWS": f"arn:aws:iam::{cloud.account_id}:role/{_unique('someone')}"}))

    error, body = _assume_refused(cloud, _client(cloud, "sts", session["Credentials"]), target_arn)
    assert error.response["Error"]["Message"] == _refused_message(cloud, caller, target_arn)
    assert body.lstrip().startswith(b"<") and b"<Code>AccessDenied</Code>" in body


def test_missing_role_refuses_like_an_untrusted_one(cloud: LocalCloud, aws: AwsFactory) -> None:
    """Identity allows every role, but the role does not exist: the same AccessDenied (moto alone would
    issue a session of it)."""
    caller = _unique("caller")
    _, session = _caller(aws, caller, _allow("sts:AssumeRole", "*"))
    missing = f"arn:aws:iam::{cloud.account_id}:role/{_unique('missing')}"

    error, _ = _assume_refused(cloud, _client(cloud, "sts", session["Credentials"]), missing)
    assert error.response["Error"]["Message"] == _refused_message(cloud, caller, missing)


def test_trust_alone_is_not_enough(cloud: LocalCloud, aws: AwsFactory) -> None:
    """The trust policy names the caller, but its identity policy lacks sts:AssumeRole on the role: refused
    with the identity-based wording."""
    caller, target = _unique("caller"), _unique("target")
    elsewhere = f"arn:aws:iam::{cloud.account_id}:role/{_unique('elsewhere')}"
    caller_arn, session = _caller(aws, caller, _allow("sts:AssumeRole", elsewhere))
    target_arn = _role(aws, target, _trust({"AWS": caller_arn}))

    error, _ = _assume_refused(cloud, _client(cloud, "sts", session["Credentials"]), target_arn)
    assert error.response["Error"]["Message"] == (
        f"{_refused_message(cloud, caller, target_arn)} because no identity-based policy allows the "
        "sts:AssumeRole action"
    )


def test_trusting_the_account_allows(cloud: LocalCloud, aws: AwsFactory) -> None:
    """A trust policy naming the account's root lets a session of the account assume the role; one naming
    another account's root does not."""
    caller, target, foreign = _unique("caller"), _unique("target"), _unique("foreign")
    _, session = _caller(aws, caller, _allow("sts:AssumeRole", "*"))
    target_arn = _role(aws, target, _trust({"AWS": f"arn:aws:iam::{cloud.account_id}:root"}))
    foreign_arn = _role(aws, foreign, _trust({"AWS": "arn:aws:iam::999999999999:root"}))
    sts = _client(cloud, "sts", session["Credentials"])

    assumed = sts.assume_role(RoleArn=target_arn, RoleSessionName="target-session")
    assert assumed["AssumedRoleUser"]["Arn"] == _session_arn(cloud, target, "target-session")
    error, _ = _assume_refused(cloud, sts, foreign_arn)
    assert error.response["Error"]["Message"] == _refused_message(cloud, caller, foreign_arn)


def test_trust_deny_for_the_caller_wins_over_allow_everyone(cloud: LocalCloud, aws: AwsFactory) -> None:
    """An explicit Deny naming the caller's role beats an Allow for "*"."""
    caller, target = _unique("caller"), _unique("target")
    caller_arn, session = _caller(aws, caller, _allow("sts:AssumeRole", "*"))
    target_arn = _role(aws, target, _trust({"AWS": "*"}), _trust({"AWS": caller_arn}, effect="Deny"))

    error, _ = _assume_refused(cloud, _client(cloud, "sts", session["Credentials"]), target_arn)
    assert error.response["Error"]["Message"] == _refused_message(cloud, caller, target_arn)


def test_service_trust_refuses_iam_principals(cloud: LocalCloud, aws: AwsFactory) -> None:
    """A role only Lambda may assume (an execution role) cannot be assumed by a session."""
    caller, target = _unique("caller"), _unique("target")
    _, session = _caller(aws, caller, _allow("sts:AssumeRole", "*"))
    target_arn = _role(aws, target, _trust(LAMBDA_TRUST))

    error, _ = _assume_refused(cloud, _client(cloud, "sts", session["Credentials"]), target_arn)
    assert error.response["Error"]["Message"] == _refused_message(cloud, caller, target_arn)


def test_roles_with_paths(cloud: LocalCloud, aws: AwsFactory) -> None:
    """Role ARNs with paths work in the identity policy's Resource and the trust policy's Principal, and a
    session of a role with a path holds that role's policies; the ARN without the path names no role."""
    caller, target = _unique("caller"), _unique("target")
    target_arn = f"arn:aws:iam::{cloud.account_id}:role/selfheal/p/{target}"
    caller_arn, session = _caller(aws, caller, _allow("sts:AssumeRole", "*"), path="/selfheal/p/")
    assert caller_arn == f"arn:aws:iam::{cloud.account_id}:role/selfheal/p/{caller}"
    aws("iam").put_role_policy(  # the identity policy scoped to the path ARN only
        RoleName=caller,
        PolicyName="inline",
        PolicyDocument=_document(_allow("sts:AssumeRole", target_arn)),
    )
    allowed, other = _functions(aws, caller_arn, _unique("fn"))
    assert target_arn == _role(
        aws,
        target,
        _trust({"AWS": caller_arn}),
        path="/selfheal/p/",
        statements=[_allow("lambda:GetFunctionConfiguration", allowed)],
    )
    sts = _client(cloud, "sts", session["Credentials"])

    assumed = sts.assume_role(RoleArn=target_arn, RoleSessionName="target-session")
    assert assumed["AssumedRoleUser"]["Arn"] == _session_arn(cloud, target, "target-session")
    target_lambda = _client(cloud, "lambda", assumed["Credentials"])
    assert target_lambda.get_function_configuration(FunctionName=allowed)["FunctionArn"] == allowed
    error = _refused(target_lambda.get_function_configuration, FunctionName=other)
    assert error.response["Error"]["Code"] == "AccessDeniedException"

    aws("iam").put_role_policy(
        RoleName=caller, PolicyName="inline", PolicyDocument=_document(_allow("sts:AssumeRole", "*"))
    )
    pathless = f"arn:aws:iam::{cloud.account_id}:role/{target}"
    error, _ = _assume_refused(cloud, sts, pathless)
    assert error.response["Error"]["Message"] == _refused_message(cloud, caller, pathless)


def test_iam_user_named_by_the_trust_policy(cloud: LocalCloud, aws: AwsFactory) -> None:
    """An IAM user's key is checked the same way: its ARN in the trust policy allows, another's refuses."""
    user, trusting, other = _unique("user"), _unique("trusting"), _unique("other")
    iam = aws("iam")
    user_arn = iam.create_user(UserName=user)["User"]["Arn"]
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=_document(_allow("sts:*", "*")))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    trusting_arn = _role(aws, trusting, _trust({"AWS": user_arn}))
    other_arn = _role(aws, other, _trust({"AWS": f"arn:aws:iam::{cloud.account_id}:user/{_unique('u')}"}))
    sts = boto3.client(
        "sts",
        endpoint_url=cloud.endpoint,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )

    assumed = sts.assume_role(RoleArn=trusting_arn, RoleSessionName="user-session")
    assert assumed["AssumedRoleUser"]["Arn"] == _session_arn(cloud, trusting, "user-session")
    error, _ = _assume_refused(cloud, sts, other_arn)
    assert error.response["Error"]["Message"] == (
        f"User: {user_arn} is not authorized to perform: sts:AssumeRole on resource: {other_arn}"
    )
