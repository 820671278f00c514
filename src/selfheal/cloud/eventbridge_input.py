"""What an EventBridge target receives: the event, or what Input, InputPath or InputTransformer make. Pure.

- no input settings: the whole event (JSON);
- ``Input``: that JSON text, as given;
- ``InputPath``: the part of the event a JSONPath (``$.detail.state``, ``$.resources[0]``) selects;
- ``InputTransformer``: ``InputPathsMap`` names values by JSONPath, ``InputTemplate`` places them with
  ``<name>``. In a JSON object or array template a value goes in as JSON (strings quoted), or as text
  inside a JSON string; any other template is text and takes values as text (EventBridge user guide,
  "Amazon EventBridge input transformation"). The reserved ``<aws.events.rule-arn>``,
  ``<aws.events.rule-name>``, ``<aws.events.event.ingestion-time>``, ``<aws.events.event>`` (the event
  without ``detail``) and ``<aws.events.event.json>`` (the whole event) are available too. A path that
  selects nothing gives ``null`` as JSON, nothing as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["InvalidInputPath", "json_path", "render_template", "target_input"]

_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_MISSING: Any = object()


class InvalidInputPath(ValueError):
    """A JSONPath EventBridge would refuse."""


def json_path(document: Any, path: str) -> Any:
    """The value ``path`` (``$``, ``$.a.b``, ``$.a[0]``, ``$['a b']``) selects in ``document``, or None."""
    value = _select(document, path)
    return None if value is _MISSING else value


def _select(document: Any, path: str) -> Any:
    if not path.startswith("$"):
        raise InvalidInputPath(f"InputPath {path!r} must start with $")
    position, node = 1, document
    while position < len(path):
        step = _STEP.match(path, position)
        if step is None:
            raise InvalidInputPath(f"InputPath {path!r} is not a JSONPath EventBridge supports")
        position = step.end()
        key, index, quoted, double = step.groups()
        if index is not None:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else _MISSING
        else:
            name = key if key is not None else (quoted if quoted is not None else double)
            node = node.get(name, _MISSING) if isinstance(node, dict) else _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def target_input(
    target: Mapping[str, Any], event: Mapping[str, Any], *, rule_arn: str, rule_name: str, ingestion_time: str
) -> str:
    """The text a target receives for ``event``, as its ``Input``/``InputPath``/``InputTransformer`` say."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(json_path(event, str(target["InputPath"])))
    transformer = target.get("InputTransformer")
    if transformer:
        values: dict[str, Any] = {
            name: _select(event, str(path)) for name, path in (transformer.get("InputPathsMap") or {}).items()
        }
        values.update(
            {
                "aws.events.rule-arn": rule_arn,
                "aws.events.rule-name": rule_name,
                "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
                "aws.events.event.json": dict(event),
                "aws.events.event.ingestion-time": ingestion_time,
            }
        )
        return render_template(str(transformer.get("InputTemplate", "")), values)
    return json.dumps(event)


def render_template(template: str, values: Mapping[str, Any]) -> str:
    """Fill ``<name>`` placeholders of an ``InputTemplate`` (unknown names are left as they are)."""
    out: list[str] = []
    position = 0
    in_string = False
    as_text = not template.lstrip().startswith(("{", "["))
    for found in _PLACEHOLDER.finditer(template):
        before = template[position : found.start()]
        in_string = _inside_string(before, in_string)
        out.append(before)
        name = found.group(1)
        if name not in values:
            out.append(found.group(0))
        else:
            value = values[name]
            if as_text:
                out.append(_raw(value))
            else:
                out.append(_as_text(value) if in_string else _as_json(value))
        position = found.end()
    out.append(template[position:])
    return "".join(out)


def _inside_string(text: str, in_string: bool) -> bool:
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and in_string:
            escaped = True
        elif char == '"':
            in_string = not in_string
    return in_string


def _as_json(value: Any) -> str:
    return "null" if value is _MISSING else json.dumps(value)


def _raw(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _as_text(value: Any) -> str:
    if value is _MISSING or value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    return json.dumps(text)[1:-1]
