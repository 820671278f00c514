"""Unit tests of the healer's pure policy: ``decide`` rule by rule, state changes, approvals, next steps."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from healer.config import HealerConfig
from healer.decisions import (
    ActionCode,
    CloseCode,
    Decision,
    EscalationCode,
    IncidentStatus,
    ObserveCode,
    SkipCode,
)
from healer.notification import AlarmNotification, parse_message
from healer.policy import (
    LedgerState,
    PlaybookPlan,
    Situation,
    StepPlan,
    decide,
    decide_approval,
    decide_next_step,
    decide_state_change,
    effective_mode,
    fleet_limits,
    lease_expiry,
    unregistered,
)
from healer.rails import FLEET_WINDOW_SECONDS, RailState
from healer.registry import KillSwitch, Mode, Protection, Rails

EVENTS = Path(__file__).resolve().parents[1] / "events"
NOW = 1_795_000_000.0
INCIDENT = "inc-42"
CONFIG = HealerConfig(
    registry_path="/selfheal/test",
    ledger_table_name="selfheal-ledger",
    escalation_topic_arn="arn:aws:sns:us-east-1:123456789012:selfheal-escalations",
    fleet_max_in_flight=3,
    fleet_max_actions_per_hour=10,
)
DRY = dataclasses.replace(CONFIG, dry_run=True)
OFF = KillSwitch(False, "kill switch off")
ON = KillSwitch(True, "kill switch /selfheal/test/kill-switch is on: observing only")
RAILS = Rails(
    cooldown_seconds=300, max_actions_per_window=2, action_window_seconds=3600, verify_timeout_seconds=120
)
PROTECTION = Protection(
    alarm_name="orders-errors",
    function_name="orders",
    playbook=("set_env", "rollback_alias", "restart"),
    set_env={"FAILURE_RATE": "0"},
    alias_name="live",
    rails=RAILS,
)
STEP = StepPlan(0, "set_env", "set FAILURE_RATE from 0.5 to 0", has_changes=True)
PLANNED = PlaybookPlan(STEP)
SECOND = StepPlan(1, "rollback_alias", "point live from version 7 to 6", has_changes=True)
NOTHING = StepPlan(0, "set_env", "FAILURE_RATE is already 0", has_changes=False)
NEXT = PlaybookPlan(SECOND, passed_over=())
REFUSED = StepPlan(
    1, "rollback_alias", "no version to roll back to", has_changes=True, refusal="no version below 1"
)


def notification(fixture: str = "alarm_fragile_alarm.json") -> AlarmNotification:
    """The alarm notification of an event fixture."""
    return parse_message((EVENTS / fixture).read_text())


ALARM = notification()


def protection(mode: Mode = "auto", **changes: Any) -> Protection:
    """The test protection in ``mode``, with some fields changed."""
    return dataclasses.replace(PROTECTION, mode=mode, **changes)


def new(**rails: Any) -> LedgerState:
    """The ledger state of a NEW incident, with the rails counting ``rails``."""
    return LedgerState(incident_status=IncidentStatus.NEW, incident_id=INCIDENT, rails=RailState(**rails))


def claimed(lease_expires_at: float | None) -> LedgerState:
    """An ACTING incident whose holder claimed its step 100 s ago and recorded no outcome, with full rails."""
    return LedgerState(
        incident_status=IncidentStatus.ACTING,
        incident_id=INCIDENT,
        claimed_by="req-1/abc",
        lease_expires_at=lease_expires_at,
        rails=RailState(
            last_action_at=NOW - 100,
            action_times=(NOW - 200, NOW - 100),
            fleet_in_flight=("inc-a", "inc-b", "inc-c"),
            fleet_action_times=(NOW - 100,) * 10,
        ),
    )


def run(
    ledger: LedgerState | None = None,
    planned: PlaybookPlan = PLANNED,
    *,
    mode: Mode = "auto",
    config: HealerConfig = CONFIG,
    kill_switch: KillSwitch = OFF,
    alarm: AlarmNotification = ALARM,
) -> Decision:
    """``decide`` on the test protection with the defaults of an ALARM anyone would act on."""
    return decide(alarm, Situation(ledger or new(), protection(mode), planned, NOW, config, kill_switch))


def approve(
    ledger: LedgerState | None = None,
    planned: PlaybookPlan = PLANNED,
    *,
    config: HealerConfig = CONFIG,
    kill_switch: KillSwitch = OFF,
) -> Decision:
    """``decide_approval`` by operator alice of an incident of the test protection in approve mode."""
    awaiting = ledger or LedgerState(incident_status=IncidentStatus.AWAITING_APPROVAL, incident_id=INCIDENT)
    return decide_approval(
        Situation(awaiting, protection("approve"), planned, NOW, config, kill_switch), "alice"
    )


def next_step(
    ledger: LedgerState | None = None,
    planned: PlaybookPlan = NEXT,
    *,
    mode: Mode = "auto",
    config: HealerConfig = CONFIG,
    kill_switch: KillSwitch = OFF,
) -> Decision:
    """``decide_next_step`` on an ACTED incident whose first step ran 130 s ago and did not help."""
    acted = ledger or LedgerState(
        incident_status=IncidentStatus.ACTED,
        incident_id=INCIDENT,
        rails=RailState(last_action_at=NOW - 130, action_times=(NOW - 130,)),
    )
    return decide_next_step(
        Situation(acted, protection(mode), planned, NOW, config, kill_switch), "alarm still ALARM"
    )


# --- decide: states other than ALARM ------------------------------------------------------------------


def test_insufficient_data_is_skipped() -> None:
    """INSUFFICIENT_DATA never causes an action, whatever the ledger says."""
    decision = run(new(), alarm=notification("alarm_fragile_insufficient_data.json"))
    assert (decision.kind, decision.code) == ("skip", SkipCode.NOT_ALARM)


def test_ok_given_to_decide_never_closes_on_its_own() -> None:
    """``decide`` hands OK to ``decide_state_change`` without an open incident: it is skipped."""
    decision = run(new(), alarm=notification("alarm_fragile_ok.json"))
    assert decision.code == SkipCode.NO_OPEN_INCIDENT


# --- decide: claims ---------------------------------------------------------------------------------


def test_live_claim_is_left_to_its_holder() -> None:
    """A claim without outcome whose lease has not expired is skipped, naming the holder and time left."""
    decision = run(claimed(NOW + 30), kill_switch=ON, config=DRY)
    assert (decision.kind, decision.code) == ("skip", SkipCode.CLAIM_HELD)
    assert "req-1/abc" in decision.reason and "30s" in decision.reason


def test_expired_claim_whose_change_landed_is_only_recorded() -> None:
    """If the killed holder's change is in place, the take-over records it without changing again."""
    landed = PlaybookPlan(StepPlan(0, "set_env", "FAILURE_RATE is 0 (this incident)", False, landed=True))
    decision = run(claimed(NOW - 1), landed)
    assert (decision.kind, decision.code) == ("act", ActionCode.RECORD_LANDED_ACTION)
    assert "req-1/abc" in decision.reason and "step 1" in decision.reason


def test_expired_claim_is_taken_over_outside_the_rails() -> None:
    """A lease that ends now is expired: the step is run though the rails count its own claim as full."""
    decision = run(claimed(NOW))
    assert (decision.kind, decision.code) == ("act", ActionCode.TAKE_OVER)
    assert "req-1/abc" in decision.reason and decision.reason.endswith(
        "step 1: set FAILURE_RATE from 0.5 to 0"
    )


@pytest.mark.parametrize(
    ("planned", "code"),
    [
        (PlaybookPlan(None, (NOTHING,)), EscalationCode.NOTHING_TO_CHANGE),
        (PlaybookPlan(None, (NOTHING, REFUSED)), EscalationCode.ACTION_REFUSED),
        (PlaybookPlan(None, unreadable="AccessDeniedException"), EscalationCode.TARGET_UNREADABLE),
    ],
)
def test_expired_claim_without_a_runnable_step_escalates(planned: PlaybookPlan, code: EscalationCode) -> None:
    """A take-over that finds no step to run escalates like any other run without a step."""
    assert run(claimed(NOW - 1), planned).code == code


def test_claim_with_an_unknown_lease_is_a_duplicate() -> None:
    """An ACTING claim whose lease is unknown never counts as expired: the transition is a duplicate."""
    assert run(claimed(None)).code == SkipCode.DUPLICATE


@pytest.mark.parametrize(
    "status", [s for s in IncidentStatus if s not in (IncidentStatus.NEW, IncidentStatus.ACTING)]
)
def test_already_decided_transition_is_a_duplicate(status: IncidentStatus) -> None:
    """A transition whose incident is past NEW (and not a claim to take over) is skipped as a duplicate."""
    decision = run(LedgerState(incident_status=status, incident_id=INCIDENT, lease_expires_at=NOW - 1))
    assert (decision.kind, decision.code) == ("skip", SkipCode.DUPLICATE)
    assert str(status) in decision.reason


@pytest.mark.parametrize("ledger", [LedgerState(), new()])
def test_undecided_transition_is_decided(ledger: LedgerState) -> None:
    """No incident status yet, or NEW, is a transition still to decide."""
    assert run(ledger).code == ActionCode.RUN_STEP


# --- decide: per-function rails, before the plan --------------------------------------------------


def test_cooldown_escalates_inside_and_acts_at_its_end() -> None:
    """An ALARM inside the cooldown escalates, naming the time since; at the cooldown's end it acts."""
    inside = run(new(last_action_at=NOW - 299, action_times=(NOW - 299,)))
    assert (inside.kind, inside.code) == ("escalate", EscalationCode.COOLDOWN)
    assert "299s" in inside.reason and "300s" in inside.reason
    assert run(new(last_action_at=NOW - 300, action_times=(NOW - 300,))).code == ActionCode.RUN_STEP


def test_cooldown_comes_before_the_plan_and_the_mode() -> None:
    """Inside the cooldown, a plan that sees its change already made, or an observed function, still
    escalates the cooldown: a concurrent run's claim is seen before its change."""
    recent = new(last_action_at=NOW - 10, action_times=(NOW - 10,))
    assert run(recent, PlaybookPlan(None, (NOTHING,))).code == EscalationCode.COOLDOWN
    assert run(recent, kill_switch=ON).code == EscalationCode.COOLDOWN
    assert run(recent, mode="approve").code == EscalationCode.COOLDOWN


def test_cap_counts_only_actions_inside_the_window() -> None:
    """Reaching the cap escalates; an action at the window's start no longer counts."""
    full = run(new(last_action_at=NOW - 1000, action_times=(NOW - 2000, NOW - 1000)))
    assert (full.kind, full.code) == ("escalate", EscalationCode.ACTION_CAP)
    assert "2 actions" in full.reason and "cap of 2" in full.reason
    aged = new(last_action_at=NOW - 1000, action_times=(NOW - 3600, NOW - 1000))
    assert run(aged).code == ActionCode.RUN_STEP


def test_cap_comes_before_the_plan() -> None:
    """A full cap escalates the cap even when no step could run."""
    full = new(last_action_at=NOW - 1000, action_times=(NOW - 2000, NOW - 1000))
    assert run(full, PlaybookPlan(None, (REFUSED,))).code == EscalationCode.ACTION_CAP


# --- decide: the plan -------------------------------------------------------------------------------


def test_every_step_with_nothing_to_change_escalates_nothing_to_change() -> None:
    """When every remaining step finds its change in place, the healer says so with each step's reason."""
    other = StepPlan(2, "restart", "restart would not change anything", has_changes=False)
    decision = run(new(), PlaybookPlan(None, (NOTHING, other)))
    assert (decision.kind, decision.code) == ("escalate", EscalationCode.NOTHING_TO_CHANGE)
    assert "FAILURE_RATE is already 0" in decision.reason and "restart would not" in decision.reason
    assert "orders" in decision.reason


def test_a_refused_step_escalates_action_refused() -> None:
    """When some remaining step was refused, the escalation is action_refused with the refusal's reason."""
    decision = run(new(), PlaybookPlan(None, (NOTHING, REFUSED)))
    assert (decision.kind, decision.code) == ("escalate", EscalationCode.ACTION_REFUSED)
    assert "no version below 1" in decision.reason and "FAILURE_RATE is already 0" in decision.reason


def test_an_exhausted_playbook_has_nothing_to_change() -> None:
    """No step left at all escalates nothing_to_change and says the playbook is exhausted."""
    decision = run(new(), PlaybookPlan(None))
    assert decision.code == EscalationCode.NOTHING_TO_CHANGE
    assert "no step left" in decision.reason


def test_unreadable_target_escalates() -> None:
    """Without the function's configuration the healer escalates target_unreadable with the cause."""
    decision = run(new(), PlaybookPlan(None, (NOTHING,), unreadable="ResourceNotFoundException"))
    assert (decision.kind, decision.code) == ("escalate", EscalationCode.TARGET_UNREADABLE)
    assert "'orders'" in decision.reason and "ResourceNotFoundException" in decision.reason


def test_no_step_is_escalated_even_when_observed() -> None:
    """An observed function with nothing to run escalates rather than recording a plan."""
    assert run(new(), PlaybookPlan(None, (NOTHING,)), mode="observe").code == EscalationCode.NOTHING_TO_CHANGE
    assert run(new(), PlaybookPlan(None, (REFUSED,)), kill_switch=ON).code == EscalationCode.ACTION_REFUSED


def test_step_plan_is_runnable_only_unrefused_with_something_to_do() -> None:
    """A step runs when not refused and it has changes, or its own change already landed."""
    assert STEP.runnable and not NOTHING.runnable and not REFUSED.runnable
    assert StepPlan(0, "restart", "landed", has_changes=False, landed=True).runnable
    assert not dataclasses.replace(STEP, landed=True, refusal="busy").runnable
    assert REFUSED.why_not() == "no version below 1" and NOTHING.why_not() == "FAILURE_RATE is already 0"


# --- decide: the mode -------------------------------------------------------------------------------

FULL_FLEET = new(fleet_in_flight=("inc-a", "inc-b", "inc-c"), fleet_action_times=(NOW - 5,) * 10)


@pytest.mark.parametrize(
    ("mode", "kill_switch", "config", "why"),
    [
        ("observe", OFF, CONFIG, "mode observe"),
        ("auto", ON, CONFIG, "kill switch /selfheal/test/kill-switch is on"),
        ("approve", ON, CONFIG, "kill switch /selfheal/test/kill-switch is on"),
        ("auto", OFF, DRY, "DRY_RUN is set"),
        ("approve", OFF, DRY, "DRY_RUN is set"),
    ],
)
def test_observed_function_only_records_the_plan(
    mode: Mode, kill_switch: KillSwitch, config: HealerConfig, why: str
) -> None:
    """The observe mode, the kill switch and DRY_RUN each turn the step into an observation saying why,
    before the fleet rails are looked at."""
    decision = run(FULL_FLEET, mode=mode, kill_switch=kill_switch, config=config)
    assert (decision.kind, decision.code) == ("observe", ObserveCode.OBSERVE)
    assert why in decision.reason
    assert "would run step 1: set FAILURE_RATE from 0.5 to 0 on orders" in decision.reason


def test_approve_mode_waits_with_the_command_to_approve() -> None:
    """In approve mode the plan waits for people with the exact command in the reason, fleet full or not."""
    for ledger in (new(), FULL_FLEET):
        decision = run(ledger, mode="approve")
        assert (decision.kind, decision.code) == ("escalate", EscalationCode.AWAITING_APPROVAL)
        assert decision.reason.endswith(f"selfheal approve {INCIDENT}")
        assert "step 1: set FAILURE_RATE from 0.5 to 0" in decision.reason


def test_effective_mode_folds_kill_switch_and_dry_run() -> None:
    """The kill switch wins over DRY_RUN, which wins over the registered mode."""
    assert effective_mode("auto", OFF, False) == ("auto", "mode auto")
    assert effective_mode("approve", OFF, False) == ("approve", "mode approve")
    assert effective_mode("auto", OFF, True) == ("observe", "DRY_RUN is set: observing only")
    assert effective_mode("approve", ON, True) == ("observe", ON.reason)
    assert effective_mode("observe", OFF, False)[0] == "observe"


# --- decide: the fleet rails, then the step -----------------------------------------------------------


def test_fleet_in_flight_escalates_at_the_limit() -> None:
    """As many other incidents in flight as the fleet allows escalates fleet_in_flight, naming them."""
    decision = run(new(fleet_in_flight=("inc-a", "inc-b", "inc-c")))
    assert (decision.kind, decision.code) == ("escalate", EscalationCode.FLEET_IN_FLIGHT)
    assert "inc-a, inc-b, inc-c" in decision.reason and "allows 3" in decision.reason
    assert run(new(fleet_in_flight=("inc-a", "inc-b"))).code == ActionCode.RUN_STEP


def test_fleet_in_flight_reason_shows_at_most_five() -> None:
    """A long list of incidents in flight is cut after five in the reason."""
    many = tuple(f"inc-{n}" for n in range(8))
    decision = run(new(fleet_in_flight=many))
    assert "inc-4 …" in decision.reason and "inc-5" not in decision.reason


def test_fleet_rate_escalates_at_the_hours_cap() -> None:
    """Ten actions across the fleet in the last hour escalate fleet_rate; an hour-old one does not count."""
    decision = run(new(fleet_action_times=(NOW - 10,) * 10))
    assert (decision.kind, decision.code) == ("escalate", EscalationCode.FLEET_RATE)
    assert "10 actions" in decision.reason and "cap of 10" in decision.reason
    aged = new(fleet_action_times=(NOW - FLEET_WINDOW_SECONDS,) + (NOW - 10,) * 9)
    assert run(aged).code == ActionCode.RUN_STEP


def test_fleet_limits_follow_the_configuration() -> None:
    """The fleet rails are the configuration's FLEET_* values."""
    limits = fleet_limits(dataclasses.replace(CONFIG, fleet_max_in_flight=1, fleet_max_actions_per_hour=2))
    assert (limits.max_in_flight, limits.max_actions_per_hour) == (1, 2)
    one = dataclasses.replace(CONFIG, fleet_max_in_flight=1)
    assert run(new(fleet_in_flight=("inc-a",)), config=one).code == EscalationCode.FLEET_IN_FLIGHT


def test_auto_mode_within_every_rail_runs_the_step() -> None:
    """A fresh ALARM in auto mode within every rail runs the first runnable step, named in the reason."""
    planned = PlaybookPlan(SECOND, passed_over=(NOTHING,))
    decision = run(new(), planned)
    assert (decision.kind, decision.code) == ("act", ActionCode.RUN_STEP)
    assert decision.reason == "step 2: point live from version 7 to 6 on orders"


# --- decide: properties -----------------------------------------------------------------------------

incident_ids = st.lists(st.from_regex(r"\Ainc-[0-9a-f]{4}\Z"), max_size=8, unique=True)
action_times = st.lists(st.floats(NOW - 2 * FLEET_WINDOW_SECONDS, NOW + 60), max_size=14)


def hour_count(times: list[float]) -> int:
    """How many of ``times`` lie in the last hour, (NOW - 3600, NOW]."""
    return sum(1 for t in times if NOW - FLEET_WINDOW_SECONDS < t <= NOW)


@settings(max_examples=300, deadline=None)
@given(
    in_flight=incident_ids,
    times=action_times,
    max_in_flight=st.integers(1, 6),
    max_per_hour=st.integers(1, 12),
)
def test_fleet_rails_hold_for_every_decider(
    in_flight: list[str], times: list[float], max_in_flight: int, max_per_hour: int
) -> None:
    """Whatever the fleet's in-flight set and action times, no decider acts once either fleet rail is
    reached, and each acts when both hold (the function's own rails being clear)."""
    config = dataclasses.replace(
        CONFIG, fleet_max_in_flight=max_in_flight, fleet_max_actions_per_hour=max_per_hour
    )
    rails = RailState(fleet_in_flight=tuple(in_flight), fleet_action_times=tuple(times))
    ledger = LedgerState(incident_status=IncidentStatus.NEW, incident_id=INCIDENT, rails=rails)
    within = len(in_flight) < max_in_flight and hour_count(times) < max_per_hour
    decisions = [
        decide(ALARM, Situation(ledger, PROTECTION, PLANNED, NOW, config, OFF)),
        decide_approval(Situation(ledger, protection("approve"), PLANNED, NOW, config, OFF), "alice"),
        decide_next_step(Situation(ledger, PROTECTION, PLANNED, NOW, config, OFF), "still ALARM"),
    ]
    for decision in decisions:
        assert (decision.kind == "act") == within, (decision, len(in_flight), hour_count(times))
        if len(in_flight) >= max_in_flight:
            assert decision.code == EscalationCode.FLEET_IN_FLIGHT
        elif not within:
            assert decision.code == EscalationCode.FLEET_RATE


@settings(max_examples=200, deadline=None)
@given(times=st.lists(st.floats(NOW - 3 * 3600, NOW), max_size=6), cap=st.integers(1, 4))
def test_function_cap_holds_for_every_decider(times: list[float], cap: int) -> None:
    """Whatever the function's action times, no decider acts once the window holds ``cap`` of them."""
    rails = Rails(cooldown_seconds=0, max_actions_per_window=cap, action_window_seconds=3600)
    guarded = dataclasses.replace(PROTECTION, rails=rails)
    state = RailState(last_action_at=max(times, default=None), action_times=tuple(times))
    ledger = LedgerState(incident_status=IncidentStatus.NEW, incident_id=INCIDENT, rails=state)
    full = hour_count(times) >= cap
    decisions = [
        decide(ALARM, Situation(ledger, guarded, PLANNED, NOW, CONFIG, OFF)),
        decide_approval(Situation(ledger, guarded, PLANNED, NOW, CONFIG, OFF), "alice"),
        decide_next_step(Situation(ledger, guarded, PLANNED, NOW, CONFIG, OFF), "still ALARM"),
    ]
    for decision in decisions:
        assert (decision.code == EscalationCode.ACTION_CAP) == full, decision
        assert (decision.kind == "act") == (not full), decision


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from(["observe", "approve", "auto"]),
    engaged=st.booleans(),
    dry_run=st.booleans(),
    last=st.none() | st.floats(NOW - 1000, NOW),
    in_flight=incident_ids,
)
def test_decide_acts_only_in_auto_mode_with_the_switch_off(
    mode: Mode, engaged: bool, dry_run: bool, last: float | None, in_flight: list[str]
) -> None:
    """A fresh ALARM is acted on only in auto mode, with the kill switch off and DRY_RUN unset."""
    ledger = new(
        last_action_at=last, action_times=() if last is None else (last,), fleet_in_flight=tuple(in_flight)
    )
    config = dataclasses.replace(CONFIG, dry_run=dry_run)
    kill_switch = ON if engaged else OFF
    decision = decide(ALARM, Situation(ledger, protection(mode), PLANNED, NOW, config, kill_switch))
    if decision.kind == "act":
        assert mode == "auto" and not engaged and not dry_run
    if decision.kind == "observe":
        assert mode == "observe" or engaged or dry_run


# --- decide_state_change ------------------------------------------------------------------------------


def test_ok_closes_the_open_incident() -> None:
    """OK closes the alarm's open incident, naming it."""
    decision = decide_state_change(notification("alarm_fragile_ok.json"), INCIDENT)
    assert (decision.kind, decision.code) == ("close", CloseCode.RECOVERED)
    assert INCIDENT in decision.reason


def test_ok_without_open_incident_is_skipped() -> None:
    """OK with no incident waiting for it is skipped."""
    decision = decide_state_change(notification("alarm_fragile_ok.json"), None)
    assert (decision.kind, decision.code) == ("skip", SkipCode.NO_OPEN_INCIDENT)


def test_insufficient_data_never_closes() -> None:
    """INSUFFICIENT_DATA is skipped even when an incident is open."""
    decision = decide_state_change(notification("alarm_fragile_insufficient_data.json"), INCIDENT)
    assert (decision.kind, decision.code) == ("skip", SkipCode.NOT_ALARM)
    assert "INSUFFICIENT_DATA" in decision.reason


def test_unregistered_alarm_is_skipped_by_name() -> None:
    """An alarm the registry does not know is skipped, naming the alarm."""
    decision = unregistered(ALARM)
    assert (decision.kind, decision.code) == ("skip", SkipCode.UNREGISTERED_ALARM)
    assert repr(ALARM.alarm_name) in decision.reason


# --- decide_approval -----------------------------------------------------------------------------------


def test_approval_within_the_rails_is_approved_by_the_operator() -> None:
    """An approval within every rail runs the planned step, naming who approved it."""
    decision = approve()
    assert (decision.kind, decision.code) == ("act", ActionCode.APPROVED)
    assert decision.reason == "approved by alice: step 1: set FAILURE_RATE from 0.5 to 0 on orders"


def test_approval_waits_while_the_kill_switch_is_on() -> None:
    """With the kill switch engaged an approval is skipped (kill_switch), before anything else."""
    for planned in (PLANNED, PlaybookPlan(None, (NOTHING,))):
        decision = approve(planned=planned, kill_switch=ON)
        assert (decision.kind, decision.code) == ("skip", SkipCode.KILL_SWITCH)
        assert ON.reason in decision.reason and "waits" in decision.reason


@pytest.mark.parametrize(
    ("planned", "code"),
    [
        (PlaybookPlan(None, (NOTHING,)), EscalationCode.NOTHING_TO_CHANGE),
        (PlaybookPlan(None, (REFUSED,)), EscalationCode.ACTION_REFUSED),
        (PlaybookPlan(None, unreadable="AccessDeniedException"), EscalationCode.TARGET_UNREADABLE),
    ],
)
def test_approval_without_a_runnable_step_escalates(planned: PlaybookPlan, code: EscalationCode) -> None:
    """An approval of a plan that can no longer run escalates why."""
    assert approve(planned=planned).code == code


@pytest.mark.parametrize(
    ("rails", "code"),
    [
        (RailState(last_action_at=NOW - 10, action_times=(NOW - 10,)), EscalationCode.COOLDOWN),
        (
            RailState(last_action_at=NOW - 900, action_times=(NOW - 1800, NOW - 900)),
            EscalationCode.ACTION_CAP,
        ),
        (RailState(fleet_in_flight=("inc-a", "inc-b", "inc-c")), EscalationCode.FLEET_IN_FLIGHT),
        (RailState(fleet_action_times=(NOW - 60,) * 10), EscalationCode.FLEET_RATE),
    ],
)
def test_approval_is_held_by_the_rails(rails: RailState, code: EscalationCode) -> None:
    """Every rail, the function's and the fleet's, can refuse an approval with its own code."""
    ledger = LedgerState(incident_status=IncidentStatus.AWAITING_APPROVAL, incident_id=INCIDENT, rails=rails)
    decision = approve(ledger)
    assert (decision.kind, decision.code) == ("escalate", code)


def test_approval_does_not_act_under_dry_run() -> None:
    """DRY_RUN forces observe everywhere: an approval made while it is set does not act."""
    assert approve(config=DRY).kind != "act"


# --- decide_next_step ----------------------------------------------------------------------------------


def test_next_step_runs_within_the_cap() -> None:
    """After a missed verify deadline the next runnable step runs, saying why and which."""
    decision = next_step()
    assert (decision.kind, decision.code) == ("act", ActionCode.NEXT_STEP)
    assert (
        decision.reason
        == "alarm not OK (alarm still ALARM); step 2: point live from version 7 to 6 on orders"
    )


def test_next_step_ignores_the_cooldown_but_not_the_cap() -> None:
    """The cooldown does not apply between steps of one incident; the cap of actions per window does."""
    just_now = LedgerState(
        incident_status=IncidentStatus.ACTED, rails=RailState(last_action_at=NOW - 1, action_times=(NOW - 1,))
    )
    assert next_step(just_now).code == ActionCode.NEXT_STEP
    capped = LedgerState(
        incident_status=IncidentStatus.ACTED,
        rails=RailState(last_action_at=NOW - 1, action_times=(NOW - 500, NOW - 1)),
    )
    decision = next_step(capped)
    assert (decision.kind, decision.code) == ("escalate", EscalationCode.ACTION_CAP)
    assert "alarm still ALARM" in decision.reason and "held back" in decision.reason


@pytest.mark.parametrize(
    ("rails", "code"),
    [
        (RailState(fleet_in_flight=("inc-a", "inc-b", "inc-c")), EscalationCode.FLEET_IN_FLIGHT),
        (RailState(fleet_action_times=(NOW - 60,) * 10), EscalationCode.FLEET_RATE),
    ],
)
def test_next_step_is_held_by_the_fleet_rails(rails: RailState, code: EscalationCode) -> None:
    """The fleet rails hold a next step back with their own code."""
    decision = next_step(LedgerState(incident_status=IncidentStatus.ACTED, rails=rails))
    assert (decision.kind, decision.code) == ("escalate", code)
    assert "held back" in decision.reason


def test_exhausted_playbook_escalates_verify_timeout() -> None:
    """No step left escalates verify_timeout, naming the deadline and the steps passed over."""
    decision = next_step(planned=PlaybookPlan(None, passed_over=(NOTHING, REFUSED)))
    assert (decision.kind, decision.code) == ("escalate", EscalationCode.VERIFY_TIMEOUT)
    assert "within 120s" in decision.reason and "exhausted" in decision.reason
    assert "FAILURE_RATE is already 0" in decision.reason and "no version below 1" in decision.reason


def test_exhausted_playbook_is_reported_even_when_observed() -> None:
    """No step left is verify_timeout whatever the mode."""
    assert next_step(planned=PlaybookPlan(None), kill_switch=ON).code == EscalationCode.VERIFY_TIMEOUT


def test_unreadable_target_after_a_step_escalates_target_unreadable() -> None:
    """A function that can no longer be read is escalated as unreadable, not as a timeout."""
    decision = next_step(planned=PlaybookPlan(None, unreadable="AccessDeniedException"))
    assert decision.code == EscalationCode.TARGET_UNREADABLE


@pytest.mark.parametrize(
    ("mode", "kill_switch", "config", "why"),
    [
        ("observe", OFF, CONFIG, "mode observe"),
        ("auto", ON, CONFIG, "is on: observing only"),
        ("auto", OFF, DRY, "DRY_RUN is set"),
    ],
)
def test_observed_function_takes_no_next_step(
    mode: Mode, kill_switch: KillSwitch, config: HealerConfig, why: str
) -> None:
    """Once observed (mode, kill switch or DRY_RUN) a next step is not run: verify_timeout, saying why."""
    decision = next_step(mode=mode, kill_switch=kill_switch, config=config)
    assert (decision.kind, decision.code) == ("escalate", EscalationCode.VERIFY_TIMEOUT)
    assert why in decision.reason and "not running the next step" in decision.reason


# --- lease_expiry --------------------------------------------------------------------------------------


def test_lease_expiry_of_a_claim_without_a_recorded_lease() -> None:
    """A recorded lease end is kept; an older ACTING claim lapses one lease after its decision."""
    assert lease_expiry(IncidentStatus.ACTING, NOW + 5, NOW - 100, 60) == NOW + 5
    assert lease_expiry(IncidentStatus.ACTING, None, NOW - 100, 60) == NOW - 40
    assert lease_expiry(IncidentStatus.ACTING, None, None, 60) is None
    assert lease_expiry(IncidentStatus.ACTED, None, NOW - 100, 60) is None
