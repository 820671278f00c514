"""IAM policy documents: rendering them as the real AWS provider does, and comparing them semantically.

Rendering follows ``data.aws_iam_policy_document`` of hashicorp/aws: keys in the order Version, Id,
Statement; in a statement Sid, Effect, Action, NotAction, Resource, NotResource, Principal, NotPrincipal,
Condition; empty fields left out; a list of one string collapsed to the string, longer lists sorted in
reverse; Go's JSON escaping of ``<``, ``>`` and ``&``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["go_json", "normalize_policy", "policies_equivalent", "render_policy_document"]


def go_json(value: Any, *, indent: bool) -> str:
    """Serialize like Go's ``encoding/json`` (``MarshalIndent(v, "", "  ")`` when ``indent``)."""
    text = json.dumps(value, indent=2 if indent else None, separators=None if indent else (",", ":"),
                      ensure_ascii=False)  # fmt: skip
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _string_or_list(values: Iterable[str]) -> str | list[str]:
    items = list(values)
    if len(items) == 1:
        return items[0]
    return sorted(items, reverse=True)


def _principals(blocks: Iterable[Mapping[str, Any]]) -> Any:
    blocks = list(blocks)
    if len(blocks) == 1 and blocks[0]["type"] == "*" and list(blocks[0]["identifiers"] or []) == ["*"]:
        return "*"
    out: dict[str, Any] = {}
    for b in blocks:
        ids = _string_or_list(b["identifiers"] or [])
        have = out.get(b["type"])
        if have is None:
            out[b["type"]] = ids
        else:
            merged = [have] if isinstance(have, str) else list(have)
            merged += [ids] if isinstance(ids, str) else ids
            out[b["type"]] = merged
    return dict(sorted(out.items()))


def _conditions(blocks: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    out: dict[str, dict[str, Any]] = {}
    for b in blocks:
        out.setdefault(b["test"], {})[b["variable"]] = _string_or_list(b["values"] or [])
    return {t: dict(sorted(v.items())) for t, v in sorted(out.items())}


def _statement(st: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if st.get("sid"):
        out["Sid"] = st["sid"]
    out["Effect"] = st.get("effect") or "Allow"
    for key, name in (("actions", "Action"), ("not_actions", "NotAction"), ("resources", "Resource"),
                      ("not_resources", "NotResource")):  # fmt: skip
        if st.get(key):
            out[name] = _string_or_list(st[key])
    if st.get("principals"):
        out["Principal"] = _principals(st["principals"])
    if st.get("not_principals"):
        out["NotPrincipal"] = _principals(st["not_principals"])
    if st.get("condition"):
        out["Condition"] = _conditions(st["condition"])
    return out


def _merge_by_sid(base: list[dict[str, Any]], extra: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = list(base)
    for st in extra:
        sid = st.get("Sid")
        idx = next((i for i, s in enumerate(out) if sid and s.get("Sid") == sid), None)
        if idx is None:
            out.append(st)
        else:
            out[idx] = st
    return out


def _statements_of(doc_json: str) -> list[dict[str, Any]]:
    doc = json.loads(doc_json)
    sts = doc.get("Statement", [])
    return [sts] if isinstance(sts, dict) else list(sts)


def render_policy_document(config: Mapping[str, Any]) -> dict[str, Any]:
    """The policy document (as a dict in the real provider's key order) for the data source's config."""
    statements: list[dict[str, Any]] = []
    for src in config.get("source_policy_documents") or []:
        statements = _merge_by_sid(statements, _statements_of(src))
    statements = _merge_by_sid(statements, [_statement(st) for st in config.get("statement") or []])
    for override in config.get("override_policy_documents") or []:
        statements = _merge_by_sid(statements, _statements_of(override))
    doc: dict[str, Any] = {"Version": config.get("version") or "2012-10-17"}
    if config.get("policy_id"):
        doc["Id"] = config["policy_id"]
    doc["Statement"] = statements
    return doc


def _norm_values(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return sorted(json.dumps(v, sort_keys=True) if not isinstance(v, str) else v for v in value)
    return value


def normalize_policy(document: str | Mapping[str, Any]) -> Any:
    """A canonical form of a policy for comparison: lists sorted, single strings as lists."""
    doc = json.loads(document) if isinstance(document, str) else dict(document)
    sts = doc.get("Statement", [])
    sts = [sts] if isinstance(sts, dict) else sts
    out_sts = []
    for st in sts:
        n: dict[str, Any] = {}
        for k, v in st.items():
            if k in ("Action", "NotAction", "Resource", "NotResource"):
                n[k] = _norm_values(v)
            elif k in ("Principal", "NotPrincipal") and isinstance(v, dict):
                n[k] = {pk: _norm_values(pv) for pk, pv in v.items()}
            elif k == "Condition" and isinstance(v, dict):
                n[k] = {t: {var: _norm_values(vals) for var, vals in m.items()} for t, m in v.items()}
            elif k == "Sid" and not v:
                continue
            else:
                n[k] = v
        out_sts.append(n)
    doc["Statement"] = sorted(out_sts, key=lambda s: json.dumps(s, sort_keys=True))
    doc.setdefault("Version", "2008-10-17")
    return doc


def policies_equivalent(a: str | Mapping[str, Any] | None, b: str | Mapping[str, Any] | None) -> bool:
    """True if two policy documents mean the same; False if either is missing or not JSON."""
    if a is None or b is None:
        return False
    try:
        return bool(normalize_policy(a) == normalize_policy(b))
    except (ValueError, TypeError, AttributeError):
        return False
