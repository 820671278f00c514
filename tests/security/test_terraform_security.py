"""Static security properties of deploy/fragile and the modules it calls: each checkov skip says why; the
HTTP API is throttled."""

from __future__ import annotations

import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MODULE = DEPLOY / "fragile"
# deploy/fragile and the modules it calls (healer.tf, alarms.tf), where the healer's resources now live.
DIRECTORIES = (MODULE, DEPLOY / "modules" / "platform", DEPLOY / "modules" / "protect")
SKIP = re.compile(r"checkov:skip\s*=\s*(?P<id>[A-Z0-9_]+)(?P<rest>.*)$")
MIN_REASON_WORDS = 4


def _skips() -> list[tuple[str, int, str, str]]:
    found = []
    for directory in DIRECTORIES:
        for path in sorted(directory.glob("*.tf")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                match = SKIP.search(line)
                if match:
                    found.append((f"{directory.name}/{path.name}", number, match["id"], match["rest"]))
    return found


def test_every_checkov_skip_carries_a_reason() -> None:
    """Each `checkov:skip=CHECK_ID:reason` in deploy/fragile and its modules has a reason of several words."""
    skips = _skips()
    assert {name.split("/")[0] for name, *_ in skips} == {d.name for d in DIRECTORIES}, (
        "a directory without checkov:skip: the pattern no longer matches the modules' comments"
    )
    bare = [
        f"{name}:{number} {check}"
        for name, number, check, rest in skips
        if not rest.startswith(":") or len(rest[1:].split()) < MIN_REASON_WORDS
    ]
    assert bare == [], f"checkov skips without a reason: {bare}"


def test_http_api_stage_throttling_comes_from_variables() -> None:
    """The $default stage's default_route_settings throttle with the module's validated variables."""
    text = (MODULE / "api_gateway.tf").read_text()
    block = text[text.index("default_route_settings") :]
    block = block[: block.index("}")]
    assert re.search(r"throttling_burst_limit\s*=\s*var\.api_throttling_burst_limit", block)
    assert re.search(r"throttling_rate_limit\s*=\s*var\.api_throttling_rate_limit", block)
    variables = (MODULE / "variables.tf").read_text()
    for name in ("api_throttling_burst_limit", "api_throttling_rate_limit"):
        body = variables[variables.index(f'variable "{name}"') :]
        body = body[: body.index("\n}\n")]
        assert "validation" in body and "description" in body, name
