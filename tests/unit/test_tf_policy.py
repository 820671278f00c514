"""IAM policy rendering and comparison of the local AWS provider."""

from __future__ import annotations

import json

from selfheal.terraform.policy import go_json, policies_equivalent, render_policy_document


def _statement(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "sid": None,
        "effect": None,
        "actions": None,
        "not_actions": None,
        "resources": None,
        "not_resources": None,
        "principals": [],
        "not_principals": [],
        "condition": [],
    }
    base.update(kw)
    return base


def test_renders_the_real_providers_documented_example() -> None:
    """The provider documentation's example renders byte for byte as the real provider does."""
    doc = render_policy_document(
        {
            "statement": [
                _statement(
                    sid="1",
                    actions=["s3:GetBucketLocation", "s3:ListAllMyBuckets"],
                    resources=["arn:aws:s3:::*"],
                )
            ]
        }
    )
    assert go_json(doc, indent=True) == (
        "{\n"
        '  "Version": "2012-10-17",\n'
        '  "Statement": [\n'
        "    {\n"
        '      "Sid": "1",\n'
        '      "Effect": "Allow",\n'
        '      "Action": [\n'
        '        "s3:ListAllMyBuckets",\n'
        '        "s3:GetBucketLocation"\n'
        "      ],\n"
        '      "Resource": "arn:aws:s3:::*"\n'
        "    }\n"
        "  ]\n"
        "}"
    )


def test_assume_role_policy_collapses_single_values_and_omits_empty_sid() -> None:
    """A one-element list becomes a string, an empty Sid is left out, keys keep the provider's order."""
    doc = render_policy_document(
        {
            "statement": [
                _statement(
                    actions=["sts:AssumeRole"],
                    principals=[{"type": "Service", "identifiers": ["lambda.amazonaws.com"]}],
                )
            ]
        }
    )
    assert go_json(doc, indent=False) == (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole",'
        '"Principal":{"Service":"lambda.amazonaws.com"}}]}'
    )


def test_conditions_wildcard_principal_and_html_escaping() -> None:
    """Conditions group by test and variable, a lone "*" principal is "*", and <>& are escaped as Go does."""
    doc = render_policy_document(
        {
            "policy_id": "p1",
            "statement": [
                _statement(
                    effect="Deny",
                    not_actions=["iam:*"],
                    resources=["arn:aws:sns:us-east-1:123456789012:a&b"],
                    principals=[{"type": "*", "identifiers": ["*"]}],
                    condition=[
                        {"test": "ArnLike", "variable": "aws:SourceArn", "values": ["arn:x", "arn:y"]}
                    ],
                )
            ],
        }
    )
    text = go_json(doc, indent=False)
    assert '"Id":"p1"' in text
    assert '"Principal":"*"' in text
    assert '"Condition":{"ArnLike":{"aws:SourceArn":["arn:y","arn:x"]}}' in text
    assert "a\\u0026b" in text
    assert json.loads(text)["Statement"][0]["Effect"] == "Deny"


def test_override_documents_replace_statements_by_sid() -> None:
    """An override document's statement replaces the one with the same Sid, others are appended."""
    override = json.dumps({"Statement": [{"Sid": "A", "Effect": "Deny", "Action": "x:*", "Resource": "*"}]})
    doc = render_policy_document(
        {
            "statement": [_statement(sid="A", actions=["x:Get"], resources=["*"])],
            "override_policy_documents": [override],
        }
    )
    assert doc["Statement"] == [{"Sid": "A", "Effect": "Deny", "Action": "x:*", "Resource": "*"}]


def test_policies_equivalent_ignores_layout_but_not_meaning() -> None:
    """Whitespace, single-vs-list values and order do not matter; a different action does."""
    a = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["b","a"],"Resource":"*"}]}'
    b = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["a", "b"], "Resource": ["*"]}}
    c = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["a"],"Resource":"*"}]}'
    assert policies_equivalent(a, b)
    assert not policies_equivalent(a, c)
    assert not policies_equivalent(a, "not json")
