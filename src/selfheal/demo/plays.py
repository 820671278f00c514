"""What each demo scenario does: the Terraform it applies, the failure it causes, what the live view
watches and which drift ``terraform plan`` must show afterwards.

- ``flag``: ``deploy/fragile`` with FAILURE_RATE 0.3 from the start; the view watches FAILURE_RATE, which the
  healer's ``set_env`` writes to 0; the plan puts 0.3 back.
- ``bad-deploy``: ``deploy/scenarios/bad_deploy`` (checkout behind the alias ``live``, served by an HTTP API)
  at FAILURE_RATE 0; after a few seconds of clean traffic the demo deploys a bad release as a team would, a
  second ``terraform apply`` with ``failure_rate`` raised, which publishes version N+1 and moves ``live``
  onto it; the view watches the alias, which the healer's ``rollback_alias`` moves back to N; the plan
  moves it forward again (the bad release is still what Terraform says).
- ``exhausted`` (:mod:`selfheal.demo.exhausted`), ``poison-queue`` (:mod:`selfheal.demo.poison_queue`) and
  ``overload`` (:mod:`selfheal.demo.overload`) have modules of their own: a playbook that runs out and
  escalates, a queue-fed function whose event source the healer disables, and a slow downstream whose
  callers the healer clamps (its failure, like bad-deploy's, is a second apply: :func:`apply_stack`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from selfheal.demo.settings import DemoSettings
from selfheal.demo.timeline import Timeline
from selfheal.stack.control import StackError, stack_terraform
from selfheal.terraform.driver import TerraformError
from selfheal.terraform.stack import write_stack
from selfheal.workdir import Workdir, rotate_log

__all__ = [
    "BAD_DEPLOY",
    "BAD_RELEASE_FAILURE_RATE",
    "FLAG",
    "Breakage",
    "Play",
    "Report",
    "apply_stack",
    "env_variable",
    "find_deploy_dir",
    "play",
]

BAD_RELEASE_FAILURE_RATE = 0.5
_ALARM = {"alarm_period_seconds": "60", "alarm_evaluation_periods": "2", "alarm_threshold": "3"}


@dataclass(frozen=True)
class Breakage:
    """What the scenario's failure did: the event's text and the watched setting's value after it."""

    text: str
    setting: str | None


@dataclass(frozen=True)
class Report:
    """What a scenario adds to the summary once the loop has ended: its lines, and why it failed (None:
    it did what the scenario says)."""

    lines: tuple[str, ...]
    failure: str | None = None


@dataclass(frozen=True)
class Play:
    """One scenario.

    ``read_setting(lambda_client, outputs)`` reads the value the view watches (None: cannot be read
    now); ``breaks(workdir, endpoint, variables, lambda_client, outputs)``, when given, causes the failure
    once clean traffic flows and says what it did; ``drift`` picks the plan lines to show,
    ``drift_needed`` is what one of them must hold for the demo to pass, and ``drift_note`` what the
    summary says about that drift; ``breaking`` says what ``breaks`` is doing while it runs.

    ``ends`` is the incident status the scenario ends in (``RECOVERED``: healed; ``UNVERIFIED``: the
    playbook ran out and people were told); the demo keeps watching ``hold_seconds`` (real) after it, so
    anything the healer did next would be seen. ``report(target, outputs, timeline, traffic)``, when given,
    reads what the scenario proves from the cloud (e.g. the escalation) for the summary, titled ``title``.
    ``traffic(target, outputs, settings)``, when given, replaces the HTTP load with its own sender (and
    says where it sends, for the view); ``traffic_noun`` is what the summary calls what it sent.
    ``onset_at_break``: the failure starts when ``breaks`` has done its work (e.g. a slow downstream, which
    no 5xx marks), so the timings' "first failure" is that moment (observed) rather than the first 5xx or
    the onset of the function's errors.
    """

    name: str
    module: Path
    setting: str
    act_span: str
    variables: Callable[[DemoSettings], dict[str, str]]
    read_setting: Callable[[Any, Mapping[str, Any]], str | None]
    drift: re.Pattern[str]
    drift_needed: str
    breaks: Callable[[Workdir, str, Mapping[str, str], Any, Mapping[str, Any]], Breakage] | None = None
    drift_note: str | None = None
    breaking: str = "causing the failure"
    ends: str = "RECOVERED"
    hold_seconds: float = 0.0
    report: Callable[[Any, Mapping[str, Any], Timeline, Any], Report] | None = None
    title: str = "loop verified"
    traffic: Callable[[Any, Mapping[str, Any], DemoSettings], tuple[Any, str]] | None = None
    traffic_noun: str = "requests"
    onset_at_break: bool = False


def find_deploy_dir(relative: Path, start: Path | None = None) -> Path:
    """``relative`` (e.g. ``deploy/fragile``) under the current directory, else beside the source tree."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here / relative, Path(__file__).resolve().parents[3] / relative):
        if (candidate / "variables.tf").is_file():
            return candidate
    raise StackError(f"cannot find the Terraform module {relative} (run from the selfheal checkout)")


def env_variable(name: str) -> Callable[[Any, Mapping[str, Any]], str | None]:
    """A ``read_setting`` for the protected function's environment variable ``name``."""

    def read(lam: Any, outputs: Mapping[str, Any]) -> str | None:
        try:
            config = lam.get_function_configuration(FunctionName=str(outputs["fragile_function_name"]))
        except (BotoCoreError, ClientError):
            return None
        variables: dict[str, str] = (config.get("Environment") or {}).get("Variables") or {}
        return variables.get(name)

    return read


def _alias_version(lam: Any, outputs: Mapping[str, Any]) -> str | None:
    try:
        alias = lam.get_alias(
            FunctionName=str(outputs["fragile_function_name"]), Name=str(outputs["alias_name"])
        )
    except (BotoCoreError, ClientError):
        return None
    return str(alias["FunctionVersion"])


def _bad_deploy_variables(settings: DemoSettings) -> dict[str, str]:
    return {"failure_rate": "0", **_ALARM}


def apply_stack(
    workdir: Workdir, endpoint: str, module: Path, variables: Mapping[str, str], why: str
) -> None:
    """``terraform apply`` of the scenario's stack with ``variables``, as a team would change it (``why``
    heads its part of the Terraform log); StackError when the apply fails."""
    write_stack(workdir.stack_dir, find_deploy_dir(module), variables)

    def log(line: str, stream: Any) -> None:
        with workdir.terraform_log.open("a", encoding="utf-8") as file:
            file.write(line + "\n")

    rotate_log(workdir.terraform_log)
    with workdir.terraform_log.open("a", encoding="utf-8") as file:
        file.write(f"\n=== terraform apply, {why} ({time.strftime('%Y-%m-%d %H:%M:%S')})\n")
    tf = stack_terraform(workdir, endpoint, log)
    try:
        # Nothing changed out of band since the first apply: no refresh needed, and it halves the time.
        tf.run("apply", "-input=false", "-no-color", "-auto-approve", "-refresh=false", check=True)
    except TerraformError as error:
        raise StackError(f"{why}: terraform apply failed (see {workdir.terraform_log})") from error


def _deploy_bad_release(
    workdir: Workdir,
    endpoint: str,
    variables: Mapping[str, str],
    lam: Any,
    outputs: Mapping[str, Any],
) -> Breakage:
    """``terraform apply`` with ``failure_rate`` raised: a new, failing version behind ``live``."""
    before = _alias_version(lam, outputs)
    rate = f"{BAD_RELEASE_FAILURE_RATE:g}"
    apply_stack(workdir, endpoint, BAD_DEPLOY.module, {**variables, "failure_rate": rate}, "the bad deploy")
    after = _alias_version(lam, outputs)
    text = (
        f"bad deploy: terraform apply -var failure_rate={rate} published version {after}; "
        f"alias {outputs['alias_name']} {before} → {after}"
    )
    return Breakage(text, after)


FLAG = Play(
    name="flag",
    module=Path("deploy") / "fragile",
    setting="FAILURE_RATE",
    act_span="ALARM → configuration updated",
    variables=lambda settings: settings.variables(),
    read_setting=env_variable("FAILURE_RATE"),
    drift=re.compile(r'"(FAILURE_RATE|PREVIOUS_FAILURE_RATE|HEALED_[A-Z]+)"\s*='),
    drift_needed="FAILURE_RATE",
)

BAD_DEPLOY = Play(
    name="bad-deploy",
    module=Path("deploy") / "scenarios" / "bad_deploy",
    setting="alias live",
    act_span="ALARM → alias moved back",
    variables=_bad_deploy_variables,
    read_setting=_alias_version,
    drift=re.compile(r"\bfunction_version\s*="),
    drift_needed="function_version",
    breaks=_deploy_bad_release,
    breaking="deploying a bad release (terraform apply)",
    drift_note=(
        "the bad release is still in the configuration (failure_rate): fix it there before the next apply, "
        "or that apply deploys it again"
    ),
)


def play(name: str) -> Play:
    """The scenario called ``name`` (one of :data:`selfheal.demo.scenarios.SCENARIOS`); KeyError else."""
    # Scenarios with a module of their own import Play from here, so they are imported on first use.
    from selfheal.demo.exhausted import EXHAUSTED
    from selfheal.demo.overload import OVERLOAD
    from selfheal.demo.poison_queue import POISON_QUEUE

    return {p.name: p for p in (FLAG, BAD_DEPLOY, EXHAUSTED, POISON_QUEUE, OVERLOAD)}[name]
