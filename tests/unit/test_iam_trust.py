"""Unit tests of role trust policies (iam_trust.py) and of the permission sts:AssumeRole needs."""

from __future__ import annotations

from typing import Any

import pytest

from selfheal.cloud.iam_permissions import Permission, required_permissions
from selfheal.cloud.iam_trust import (
    assume_role_context,
    caller_names,
    condition_keys_beyond,
    principal_matches,
    trust_allows,
)

REGION, ACCOUNT = "us-east-1", "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/selfheal/platform/heal-x"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/heal-x/heal-session"
USER = f"arn:aws:iam::{ACCOUNT}:user/ops/alice"
SESSION_CALLER = (ROLE, SESSION)


def _trust(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


def _deny(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": "sts:AssumeRole", **extra}


def test_assume_role_needs_sts_assume_role_on_the_role_arn() -> None:
    """AssumeRole is authorised on the role it names, path included; other STS calls keep moto's resource."""
    params = {"RoleArn": ROLE, "RoleSessionName": "s"}
    assert required_permissions("sts", "AssumeRole", params, REGION, ACCOUNT) == [
        Permission("sts:AssumeRole", ROLE)
    ]
    assert required_permissions("sts", "AssumeRole", {}, REGION, ACCOUNT) == [
        Permission("sts:AssumeRole", "*")
    ]
    assert required_permissions("sts", "GetSessionToken", {}, REGION, ACCOUNT, "*") == [
        Permission("sts:GetSessionToken", "*")
    ]
    assert required_permissions("sts", "AssumeRoleWithWebIdentity", params, REGION, ACCOUNT, "moto") == [
        Permission("sts:AssumeRoleWithWebIdentity", "moto")
    ]


def test_caller_names_add_the_account_forms() -> None:
    """A caller is also known by its account's root ARN and bare account id."""
    assert caller_names(SESSION_CALLER) == {ROLE, SESSION, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT}
    assert caller_names([USER]) == {USER, f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT}


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        {"AWS": "*"},
        {"AWS": ["arn:aws:iam::999999999999:root", "*"]},
        {"AWS": ROLE},
        {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/other", SESSION]},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        {"AWS": ACCOUNT},
        {"AWS": ACCOUNT, "Service": "lambda.amazonaws.com"},
    ],
)
def test_principals_that_name_a_role_session(principal: Any) -> None:
    """Everyone, the role's ARN (with its path), the session ARN and the account forms match a session."""
    assert principal_matches(principal, caller_names(SESSION_CALLER))
    assert trust_allows(_trust(_allow(principal)), SESSION_CALLER) == "allow"


@pytest.mark.parametrize(
    "principal",
    [
        {"Service": "lambda.amazonaws.com"},
        {"Federated": "arn:aws:iam::123456789012:saml-provider/idp"},
        {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
        {"AWS": f"arn:aws:iam::{ACCOUNT}:role/heal-x"},  # the ARN without the role's path
        {"AWS": f"arn:aws:iam::{ACCOUNT}:role/selfheal/platform/*"},  # no wildcards in principals
        {"AWS": "arn:aws:iam::999999999999:root"},
        {"AWS": "999999999999"},
        {"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/heal-x/other-session"},
        "arn:aws:iam::123456789012:root",  # a bare string other than "*" is no principal
        {},
    ],
)
def test_principals_that_do_not_name_a_role_session(principal: Any) -> None:
    """Service, federated and canonical-user principals, other roles, sessions and accounts do not match."""
    assert not principal_matches(principal, caller_names(SESSION_CALLER))
    assert trust_allows(_trust(_allow(principal)), SESSION_CALLER) == "implicit_deny"


def test_user_principals() -> None:
    """An IAM user matches its own ARN (with its path) and its account, not another user."""
    assert trust_allows(_trust(_allow({"AWS": USER})), [USER]) == "allow"
    assert trust_allows(_trust(_allow({"AWS": ACCOUNT})), [USER]) == "allow"
    assert trust_allows(_trust(_allow({"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"})), [USER]) == (
        "implicit_deny"
    )


def test_explicit_deny_for_the_caller_wins() -> None:
    """A Deny naming the caller beats an Allow for everyone; a Deny for someone else does not apply."""
    everyone = _allow("*")
    assert trust_allows(_trust(everyone, _deny({"AWS": ROLE})), SESSION_CALLER) == "explicit_deny"
    assert trust_allows(_trust(everyone, _deny({"AWS": ACCOUNT})), SESSION_CALLER) == "explicit_deny"
    assert trust_allows(_trust(everyone, _deny({"Service": "lambda.amazonaws.com"})), SESSION_CALLER) == (
        "allow"
    )
    other = {"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}
    assert trust_allows(_trust(everyone, _deny(other)), SESSION_CALLER) == "allow"


def test_not_principal_errs_on_the_side_of_refusing() -> None:
    """An Allow with NotPrincipal grants nothing; a Deny with it applies, even to a caller it names."""
    allow_others = {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::999999999999:root"}}
    assert trust_allows(_trust({**allow_others, "Action": "sts:AssumeRole"}), SESSION_CALLER) == (
        "implicit_deny"
    )
    deny_others = {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "sts:AssumeRole"}
    assert trust_allows(_trust(_allow({"AWS": ROLE}), deny_others), SESSION_CALLER) == "explicit_deny"


def test_actions_resources_and_single_statements() -> None:
    """Only statements for the action count; a Resource in a trust statement is ignored; a lone
    statement object counts; an empty trust policy allows nobody."""
    assert trust_allows(_trust(_allow("*", Action="sts:TagSession")), SESSION_CALLER) == "implicit_deny"
    assert trust_allows(_trust(_allow("*", Action="sts:*")), SESSION_CALLER) == "allow"
    assert trust_allows(_trust(_allow("*", Resource="arn:aws:iam::1:role/x")), SESSION_CALLER) == "allow"
    assert trust_allows({"Statement": _allow({"AWS": SESSION})}, SESSION_CALLER) == "allow"
    assert trust_allows({}, SESSION_CALLER) == "implicit_deny"
    no_principal = {"Effect": "Allow", "Action": "sts:AssumeRole"}
    assert trust_allows(_trust(no_principal), SESSION_CALLER) == "implicit_deny"


def test_conditions_on_the_assume_role_request() -> None:
    """sts:ExternalId and aws:PrincipalArn are known for the request; other keys grant nothing."""
    external = _allow({"AWS": ACCOUNT}, Condition={"StringEquals": {"sts:ExternalId": "e-42"}})
    with_id = assume_role_context({"ExternalId": "e-42", "RoleSessionName": "s"}, ROLE, ACCOUNT)
    without = assume_role_context({"RoleSessionName": "s"}, ROLE, ACCOUNT)
    assert trust_allows(_trust(external), SESSION_CALLER, with_id) == "allow"
    assert trust_allows(_trust(external), SESSION_CALLER, without) == "implicit_deny"
    by_arn = _allow(
        {"AWS": ACCOUNT}, Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/selfheal/*"}}
    )
    assert trust_allows(_trust(by_arn), SESSION_CALLER, without) == "allow"
    assert trust_allows(_trust(by_arn), [USER], assume_role_context({}, USER, ACCOUNT)) == "implicit_deny"
    unknown = _allow("*", Condition={"StringEquals": {"aws:SourceIp": "127.0.0.1"}})
    assert trust_allows(_trust(unknown), SESSION_CALLER, with_id) == "implicit_deny"


@pytest.mark.parametrize(
    ("principal", "matches"),
    [
        ("*", True),
        ({"Service": "scheduler.amazonaws.com"}, True),
        ({"Service": ["lambda.amazonaws.com", "scheduler.amazonaws.com"]}, True),
        ({"Service": "lambda.amazonaws.com"}, False),
        ({"AWS": "*"}, False),
        ({"AWS": "arn:aws:iam::123456789012:root"}, False),
    ],
)
def test_a_service_caller_matches_only_its_service_principal(principal: Any, matches: bool) -> None:
    """An AWS service assuming a role (Scheduler) is named by ``Service``, never by an ``AWS`` principal."""
    assert principal_matches(principal, frozenset(), "scheduler.amazonaws.com") is matches
    document = {"Statement": {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}}
    expected = "allow" if matches else "implicit_deny"
    assert trust_allows(document, (), service="scheduler.amazonaws.com") == expected


def test_condition_keys_beyond_the_known_ones_are_listed_for_matching_allows_only() -> None:
    """The keys a refusal may owe to conditions the local cloud cannot evaluate: those of the Allow
    statements that name the caller, not of a Deny or of a statement for someone else."""
    lam = {"Service": "lambda.amazonaws.com"}
    document = _trust(
        _allow(lam, Condition={"StringEquals": {"aws:PrincipalOrgID": "o-1"}}),
        _allow(lam, Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}}),
        _allow({"Service": "ec2.amazonaws.com"}, Condition={"StringEquals": {"ec2:SourceInstanceARN": "x"}}),
        _deny(lam, Condition={"Bool": {"aws:SecureTransport": "false"}}),
    )
    keys = ["aws:SourceAccount", "aws:SourceArn"]
    assert condition_keys_beyond(document, keys, service="lambda.amazonaws.com") == ["aws:PrincipalOrgID"]
    assert condition_keys_beyond(_trust(_allow({"AWS": ROLE})), keys, SESSION_CALLER) == []
