"""The demo's scenarios by name: which exist, which are planned, and what ``--scenario`` may say.

Kept free of heavy imports: the CLI reads these names for ``--help`` and to refuse an unknown one before
anything starts. What each scenario does is :mod:`selfheal.demo.plays`.
"""

from __future__ import annotations

__all__ = [
    "ALL",
    "DEFAULT_SCENARIO",
    "PLANNED_SCENARIOS",
    "SCENARIOS",
    "resolve_scenarios",
    "scenarios_help",
]

# name → what fails and what the healer does about it, through deploy/modules.
SCENARIOS: dict[str, str] = {
    "flag": (
        "deploy/fragile: FAILURE_RATE makes the function fail; the healer's set_env writes FAILURE_RATE=0"
    ),
    "bad-deploy": (
        "deploy/scenarios/bad_deploy: a failing version is deployed behind the alias live; the healer's "
        "rollback_alias moves live back to the version before"
    ),
    "exhausted": (
        "deploy/scenarios/exhausted: a bug no playbook step fixes; set_env then restart leave the alarm in "
        "ALARM, and the healer escalates to people (UNVERIFIED) and does nothing more"
    ),
    "poison-queue": (
        "deploy/scenarios/poison_queue: malformed orders make a queue-fed worker fail; the healer's "
        "disable_event_source stops its event source mapping, and every message is accounted for"
    ),
    "overload": (
        "deploy/scenarios/overload: a slower downstream (inventory, two slots) makes storefront's callers "
        "queue, so its Duration p99 and throttles climb; the healer's clamp_concurrency lowers storefront's "
        "reserved concurrency and p99 falls back"
    ),
}
DEFAULT_SCENARIO = "flag"
ALL = "all"
# Named by issue #11, not implemented yet (none left).
PLANNED_SCENARIOS: tuple[str, ...] = ()


def resolve_scenarios(name: str) -> tuple[str, ...]:
    """The scenarios ``--scenario name`` runs, in order; ValueError (one line) for an unknown name."""
    if name == ALL:
        return tuple(SCENARIOS)
    if name in SCENARIOS:
        return (name,)
    known = ", ".join([*SCENARIOS, ALL])
    raise ValueError(f"unknown scenario {name!r}: --scenario must be one of {known}")


def scenarios_help() -> str:
    """The ``--scenario`` option's help: the scenarios there are, and those not there yet."""
    names = ", ".join(SCENARIOS)
    planned = f" Not implemented yet: {', '.join(PLANNED_SCENARIOS)}." if PLANNED_SCENARIOS else ""
    return (
        f"Which failure the healer heals: {names}, or {ALL} (each in turn). "
        f"Default {DEFAULT_SCENARIO}: the seed's loop.{planned}"
    )
