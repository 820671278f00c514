"""Unit tests of the registry of protected functions and the kill switch: parsing, and reads of (moto) SSM."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from healer.registry import (
    ACTION_NAMES,
    MODES,
    Protection,
    Rails,
    Registry,
    RegistryInvalid,
    RegistryUnavailable,
    parse_protection,
)

PLATFORM = Path(__file__).resolve().parents[2] / "docs" / "platform.md"
PATH = "/selfheal/test"
ALARM = "orders-errors"


def documented_entry() -> dict[str, Any]:
    """The registry parameter docs/platform.md shows, as a dict."""
    text = PLATFORM.read_text()
    match = re.search(r"`\$\{registry_path\}/alarms/\$\{alarm_name\}`.*?```json\n(.*?)```", text, re.S)
    assert match is not None, "docs/platform.md shows no registry parameter"
    entry: dict[str, Any] = json.loads(match.group(1))
    return entry


DOC = documented_entry()
EXPECTED = Protection(
    alarm_name=ALARM,
    function_name="orders",
    alias_name="live",
    signal="errors",
    playbook=("rollback_alias", "clamp_concurrency"),
    set_env={"FAILURE_RATE": "0"},
    concurrency_limit=5,
    allow_zero_concurrency=False,
    mode="auto",
    rails=Rails(
        cooldown_seconds=300, max_actions_per_window=3, action_window_seconds=3600, verify_timeout_seconds=300
    ),
    event_source_mapping_uuids=(),
    role_arn="arn:aws:iam::123456789012:role/selfheal/selfheal/heal-orders-3f2a9c1e",
)


def entry(**changes: Any) -> str:
    """The documented entry with some fields changed (a value of ``...`` drops the field), as JSON."""
    data = {**DOC, **changes}
    return json.dumps({key: value for key, value in data.items() if value is not ...})


def rails(**changes: Any) -> dict[str, Any]:
    """The documented rails with some changed."""
    return {**DOC["rails"], **changes}


# --- parse_protection -------------------------------------------------------------------------------


def test_documented_entry_parses() -> None:
    """The JSON of docs/platform.md is a valid protection with every field as written."""
    assert parse_protection(ALARM, json.dumps(DOC)) == EXPECTED


def test_protection_round_trips_through_its_json() -> None:
    """``to_json`` writes what ``parse_protection`` reads back unchanged, in the documented shape."""
    text = EXPECTED.to_json()
    assert parse_protection(ALARM, text) == EXPECTED
    assert set(json.loads(text)) == set(DOC)
    assert json.loads(text)["rails"].keys() == DOC["rails"].keys()


def test_optional_fields_take_their_defaults() -> None:
    """null alias and limit, {} set_env, [] mappings, no rails and no role give the documented defaults."""
    text = entry(
        alias_name=None,
        concurrency_limit=None,
        set_env={},
        event_source_mapping_uuids=[],
        rails=...,
        mode="observe",
        role_arn=...,
    )
    protection = parse_protection(ALARM, text)
    assert protection.role_arn is None and parse_protection(ALARM, entry(role_arn=None)).role_arn is None
    assert protection.alias_name is None and protection.concurrency_limit is None
    assert protection.set_env == {} and protection.event_source_mapping_uuids == ()
    assert protection.rails == Rails() and protection.mode == "observe"


def test_partial_rails_keep_the_other_defaults() -> None:
    """A rails object naming some rails keeps the defaults of the others."""
    protection = parse_protection(ALARM, entry(rails={"cooldown_seconds": 0, "max_actions_per_window": 1}))
    assert protection.rails == Rails(cooldown_seconds=0, max_actions_per_window=1)


names = st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z")
aliases = st.from_regex(r"\A[A-Za-z0-9_-]{1,128}\Z").filter(lambda a: not a.isdigit())
env_names = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_]{0,30}\Z")
finite = st.floats(0, 1e9, allow_nan=False)
role_arns = st.builds(
    "arn:{}:iam::{}:role{}{}".format,
    st.sampled_from(["aws", "aws-cn", "aws-us-gov"]),
    st.from_regex(r"\A[0-9]{12}\Z"),
    st.sampled_from(["/", "/selfheal/", "/selfheal/team-a/"]),
    st.from_regex(r"\A[A-Za-z0-9+=,.@_-]{1,64}\Z"),
)


@st.composite
def protections(draw: st.DrawFn) -> Protection:
    """Any valid protection."""
    playbook = draw(
        st.permutations(ACTION_NAMES).flatmap(lambda p: st.integers(1, len(p)).map(lambda n: p[:n]))
    )
    set_env = draw(
        st.dictionaries(env_names, st.text(max_size=20), min_size=1 if "set_env" in playbook else 0)
    )
    return Protection(
        alarm_name=draw(st.from_regex(r"\A[A-Za-z0-9_.-]{1,255}\Z")),
        function_name=draw(names),
        playbook=tuple(playbook),
        mode=draw(st.sampled_from(MODES)),
        alias_name=draw(st.none() | aliases),
        signal=draw(st.sampled_from(["errors", "error_rate", "throttles", "duration_p99", "api_5xx"])),
        set_env=set_env,
        concurrency_limit=draw(st.none() | st.integers(0, 1000)),
        allow_zero_concurrency=draw(st.booleans()),
        event_source_mapping_uuids=tuple(
            draw(st.lists(st.uuids().map(str), min_size=int("disable_event_source" in playbook), max_size=3))
        ),
        rails=Rails(
            cooldown_seconds=draw(finite),
            max_actions_per_window=draw(st.integers(1, 100)),
            action_window_seconds=draw(st.floats(1, 1e9)),
            verify_timeout_seconds=draw(finite),
        ),
        role_arn=draw(st.none() | role_arns),
    )


@settings(max_examples=150, deadline=None)
@given(protection=protections())
def test_any_valid_protection_round_trips(protection: Protection) -> None:
    """Every valid protection reads back from its own JSON unchanged."""
    assert parse_protection(protection.alarm_name, protection.to_json()) == protection


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        (entry(schema_version=2), "schema_version"),
        (entry(schema_version="1"), "schema_version"),
        (entry(schema_version=...), "schema_version"),
        (entry(function_name=...), "function_name"),
        (entry(function_name=""), "function_name"),
        (entry(function_name="orders service"), "function_name"),
        (entry(function_name="o" * 65), "function_name"),
        (entry(function_name=7), "function_name"),
        (entry(alias_name=""), "alias_name"),
        (entry(alias_name="123"), "alias_name"),
        (entry(alias_name="live alias"), "alias_name"),
        (entry(alias_name=["live"]), "alias_name"),
        (entry(mode="yolo"), "mode"),
        (entry(mode="AUTO"), "mode"),
        (entry(mode=None), "mode"),
        (entry(playbook=[]), "playbook"),
        (entry(playbook=...), "playbook"),
        (entry(playbook="restart"), "playbook"),
        (entry(playbook=["restart", "reboot"]), "playbook names unknown actions ['reboot']"),
        (entry(playbook=["restart", "restart"]), "playbook repeats an action"),
        (entry(playbook=["set_env"], set_env={}), "set_env"),
        (entry(playbook=["set_env"], set_env=...), "set_env"),
        (entry(playbook=["set_env"], set_env=None), "set_env"),
        (entry(set_env=["FAILURE_RATE"]), "set_env"),
        (entry(set_env={"1BAD": "0"}), "set_env names invalid environment variables: ['1BAD']"),
        (entry(set_env={"BAD-NAME": "0"}), "set_env names invalid"),
        (entry(set_env={"": "0"}), "set_env names invalid"),
        (entry(set_env={"FAILURE_RATE": 0}), "set_env must be an object of string values"),
        (entry(set_env={"FAILURE_RATE": None}), "set_env must be an object of string values"),
        (entry(concurrency_limit=-1), "concurrency_limit"),
        (entry(concurrency_limit=1.5), "concurrency_limit"),
        (entry(concurrency_limit="5"), "concurrency_limit"),
        (entry(concurrency_limit=True), "concurrency_limit"),
        (entry(allow_zero_concurrency="false"), "allow_zero_concurrency"),
        (entry(allow_zero_concurrency=1), "allow_zero_concurrency"),
        (entry(allow_zero_concurrency=None), "allow_zero_concurrency"),
        (entry(event_source_mapping_uuids="uuid-1"), "event_source_mapping_uuids"),
        (entry(event_source_mapping_uuids=[""]), "event_source_mapping_uuids"),
        (entry(event_source_mapping_uuids=[7]), "event_source_mapping_uuids"),
        (entry(role_arn=""), "role_arn is not an IAM role ARN"),
        (entry(role_arn=7), "role_arn"),
        (entry(role_arn="arn:aws:iam::123456789012:user/heal-orders"), "role_arn"),
        (entry(role_arn="arn:aws:iam::12345:role/heal-orders"), "role_arn"),
        (entry(role_arn="arn:aws:iam::123456789012:role/"), "role_arn"),
        (entry(role_arn="arn:aws:iam::123456789012:role/" + "r" * 65), "role_arn"),
        (entry(role_arn="arn:aws:iam::123456789012:role/heal-ordérs"), "role_arn"),
        (entry(rails="strict"), "rails must be an object"),
        (entry(rails=rails(cooldown_seconds=-1)), "rails.cooldown_seconds"),
        (entry(rails=rails(cooldown_seconds="300")), "rails.cooldown_seconds must be a number"),
        (entry(rails=rails(cooldown_seconds=True)), "rails.cooldown_seconds must be a number"),
        (entry(rails=rails(cooldown_seconds=float("nan"))), "rails.cooldown_seconds"),
        (entry(rails=rails(cooldown_seconds=float("inf"))), "rails.cooldown_seconds"),
        (entry(rails=rails(max_actions_per_window=0)), "rails.max_actions_per_window"),
        (
            entry(rails=rails(max_actions_per_window=1.5)),
            "rails.max_actions_per_window must be a whole number",
        ),
        (entry(rails=rails(action_window_seconds=0)), "rails.action_window_seconds"),
        (entry(rails=rails(action_window_seconds=None)), "rails.action_window_seconds"),
        (entry(rails=rails(verify_timeout_seconds=-0.5)), "rails.verify_timeout_seconds"),
    ],
)
def test_each_bad_field_is_refused_with_a_one_line_reason(text: str, field: str) -> None:
    """A bad entry raises RegistryInvalid whose one-line message names the field (or the JSON problem)."""
    with pytest.raises(RegistryInvalid) as info:
        parse_protection(ALARM, text)
    message = str(info.value)
    assert field in message
    assert "\n" not in message and message.strip() == message


@pytest.mark.parametrize(
    "text",
    [
        entry(function_name="orders\n"),
        entry(alias_name="live\n"),
        entry(set_env={"FAILURE_RATE\n": "0"}),
        entry(role_arn="arn:aws:iam::123456789012:role/heal-orders\n"),
    ],
)
def test_names_with_a_trailing_newline_are_refused(text: str) -> None:
    """A function, alias or variable name ending in a newline is not a valid name."""
    with pytest.raises(RegistryInvalid):
        parse_protection(ALARM, text)


@pytest.mark.parametrize("value", [False, 0, "", {}])
def test_mapping_uuids_that_are_not_a_list_are_refused(value: Any) -> None:
    """event_source_mapping_uuids must be a list, even when empty-looking."""
    with pytest.raises(RegistryInvalid, match="event_source_mapping_uuids"):
        parse_protection(ALARM, entry(event_source_mapping_uuids=value))


# --- Registry against (moto) SSM --------------------------------------------------------------------


class FailingSsm:
    """A real (moto) SSM client whose chosen operations fail with an AWS error (or a connection error)."""

    def __init__(self, inner: Any, code: str, operations: tuple[str, ...] = ("get_parameter",)) -> None:
        self._inner = inner
        self._code = code
        self._operations = operations

    def _raise(self, operation: str) -> None:
        if self._code == "connection":
            raise EndpointConnectionError(endpoint_url="https://ssm.us-east-1.amazonaws.com/")
        raise ClientError({"Error": {"Code": self._code, "Message": "injected"}}, operation)

    def __getattr__(self, name: str) -> Any:
        if name == "get_paginator" and "get_parameters_by_path" in self._operations:
            fail = self._raise
            return lambda _: type(
                "Paginator", (), {"paginate": lambda *_, **__: fail("GetParametersByPath")}
            )()
        if name in self._operations:
            return lambda **_: self._raise(name)
        return getattr(self._inner, name)


def failing(inner: Any, code: str, operations: tuple[str, ...] = ("get_parameter",)) -> Any:
    """``inner`` wrapped in a ``FailingSsm`` (typed as the client it stands for)."""
    return FailingSsm(inner, code, operations)


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto SSM client holding the documented entry for ALARM and the kill switch set off."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        client.put_parameter(Name=f"{PATH}/alarms/{ALARM}", Value=json.dumps(DOC), Type="String")
        client.put_parameter(Name=f"{PATH}/kill-switch", Value="off", Type="String")
        yield client


def test_registered_alarm_is_looked_up(ssm: Any) -> None:
    """A registered alarm's parameter is read and parsed; a trailing slash of the path does not matter."""
    assert Registry(PATH, ssm).lookup(ALARM) == EXPECTED
    assert Registry(PATH + "/", ssm).lookup(ALARM) == EXPECTED


def test_unregistered_alarm_is_none(ssm: Any) -> None:
    """An alarm with no parameter (ParameterNotFound) is not registered, also under another path."""
    assert Registry(PATH, ssm).lookup("payments-errors") is None
    assert Registry("/selfheal/other", ssm).lookup(ALARM) is None


@pytest.mark.parametrize("name", ["orders errors", "orders/errors", "", "ä-errors", "x" * 256, "a:b", "a*"])
def test_alarm_names_that_cannot_be_a_parameter_are_unregistered_without_a_call(ssm: Any, name: str) -> None:
    """An alarm name that is no parameter-name segment is unregistered, and SSM is not asked (a call here
    would fail with AccessDenied)."""
    denied = Registry(PATH, failing(ssm, "AccessDeniedException"))
    assert denied.parameter_name(name) is None
    assert denied.lookup(name) is None
    with pytest.raises(RegistryUnavailable):
        denied.lookup("x" * 255)


def test_alarm_name_with_a_trailing_newline_is_unregistered_without_a_call(ssm: Any) -> None:
    """A newline is not a parameter-name character, at the end of the alarm name too."""
    denied = Registry(PATH, failing(ssm, "AccessDeniedException"))
    assert denied.parameter_name(f"{ALARM}\n") is None
    assert denied.lookup(f"{ALARM}\n") is None


def test_parameter_that_is_not_json_is_invalid_naming_it(ssm: Any) -> None:
    """A parameter that does not parse raises RegistryInvalid naming the parameter and the problem."""
    ssm.put_parameter(Name=f"{PATH}/alarms/broken", Value="{not json", Type="String")
    with pytest.raises(RegistryInvalid) as info:
        Registry(PATH, ssm).lookup("broken")
    assert f"{PATH}/alarms/broken" in str(info.value) and "not JSON" in str(info.value)


def test_parameter_with_a_bad_field_is_invalid_naming_it(ssm: Any) -> None:
    """A parameter with a bad field raises RegistryInvalid naming the parameter and the field."""
    ssm.put_parameter(Name=f"{PATH}/alarms/bad-mode", Value=entry(mode="sometimes"), Type="String")
    with pytest.raises(RegistryInvalid, match=f"{PATH}/alarms/bad-mode is invalid: mode must be one of"):
        Registry(PATH, ssm).lookup("bad-mode")


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException", "InternalServerError"])
def test_ssm_errors_make_the_registry_unavailable(ssm: Any, code: str) -> None:
    """An SSM error other than ParameterNotFound raises RegistryUnavailable naming the parameter and code."""
    with pytest.raises(RegistryUnavailable) as info:
        Registry(PATH, failing(ssm, code)).lookup(ALARM)
    assert f"{PATH}/alarms/{ALARM}" in str(info.value) and code in str(info.value)


def test_unreachable_ssm_makes_the_registry_unavailable(ssm: Any) -> None:
    """A connection failure raises RegistryUnavailable too (fail closed)."""
    with pytest.raises(RegistryUnavailable, match=f"GetParameter\\({PATH}/alarms/{ALARM}\\) failed"):
        Registry(PATH, failing(ssm, "connection")).lookup(ALARM)


# --- the kill switch ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["off", "OFF", " Off \n"])
def test_kill_switch_off_is_not_engaged(ssm: Any, value: str) -> None:
    """A readable ``off`` (any case, any surrounding space) leaves the kill switch disengaged."""
    ssm.put_parameter(Name=f"{PATH}/kill-switch", Value=value, Type="String", Overwrite=True)
    switch = Registry(PATH, ssm).kill_switch()
    assert switch.engaged is False and switch.reason == "kill switch off"


@pytest.mark.parametrize(
    ("value", "why"), [("on", "is on"), ("ON ", "is on"), ("maybe", "'maybe', not on/off")]
)
def test_kill_switch_on_or_unknown_is_engaged(ssm: Any, value: str, why: str) -> None:
    """``on`` engages the kill switch, and so does any value but on/off (fail closed), saying why."""
    ssm.put_parameter(Name=f"{PATH}/kill-switch", Value=value, Type="String", Overwrite=True)
    switch = Registry(PATH, ssm).kill_switch()
    assert switch.engaged is True
    assert (
        f"{PATH}/kill-switch" in switch.reason and why in switch.reason and "observing only" in switch.reason
    )


def test_missing_kill_switch_is_engaged(ssm: Any) -> None:
    """Without its parameter the kill switch is engaged (fail closed), saying it is unreadable."""
    ssm.delete_parameter(Name=f"{PATH}/kill-switch")
    switch = Registry(PATH, ssm).kill_switch()
    assert switch.engaged is True and "unreadable (ParameterNotFound)" in switch.reason


@pytest.mark.parametrize("code", ["AccessDeniedException", "connection"])
def test_unreadable_kill_switch_is_engaged(ssm: Any, code: str) -> None:
    """A kill switch that cannot be read is engaged (fail closed), saying why."""
    switch = Registry(PATH, failing(ssm, code)).kill_switch()
    assert switch.engaged is True and "unreadable" in switch.reason and f"{PATH}/kill-switch" in switch.reason
    if code != "connection":
        assert code in switch.reason


# --- protections --------------------------------------------------------------------------------------


def test_protections_lists_every_entry_sorted_with_the_bad_ones_reported(ssm: Any) -> None:
    """Every parameter under the registry's alarms/ is listed by name (pages of SSM included); a bad one is
    (alarm, problem); the kill switch and other registries are not listed."""
    for n in (11, 3, 7, 0, 5, 9, 1, 10, 2, 8, 6, 4):
        ssm.put_parameter(
            Name=f"{PATH}/alarms/fn{n:02d}-errors", Value=entry(function_name=f"fn{n:02d}"), Type="String"
        )
    ssm.put_parameter(Name=f"{PATH}/alarms/broken-errors", Value=entry(playbook=[]), Type="String")
    ssm.put_parameter(Name="/selfheal/other/alarms/elsewhere", Value=json.dumps(DOC), Type="String")
    listed = list(Registry(PATH, ssm).protections())
    good = [item for item in listed if isinstance(item, Protection)]
    bad = [item for item in listed if not isinstance(item, Protection)]
    assert bad == [("broken-errors", "playbook must be a non-empty list of action names")]
    assert [p.alarm_name for p in good] == [f"fn{n:02d}-errors" for n in range(12)] + [ALARM]
    assert [p.function_name for p in good] == [f"fn{n:02d}" for n in range(12)] + ["orders"]
    assert [item[0] if isinstance(item, tuple) else item.alarm_name for item in listed] == sorted(
        ["broken-errors", ALARM] + [f"fn{n:02d}-errors" for n in range(12)]
    )


def test_protections_of_an_empty_registry_is_empty(ssm: Any) -> None:
    """A registry path with no alarms lists nothing."""
    assert list(Registry("/selfheal/empty", ssm).protections()) == []


@pytest.mark.parametrize("code", ["AccessDeniedException", "connection"])
def test_protections_fail_as_registry_unavailable(ssm: Any, code: str) -> None:
    """A failing GetParametersByPath raises RegistryUnavailable naming the path."""
    with pytest.raises(RegistryUnavailable, match=f"GetParametersByPath\\({PATH}/alarms/\\) failed"):
        list(Registry(PATH, failing(ssm, code, ("get_parameters_by_path",))).protections())
