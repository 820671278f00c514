"""Composite alarm rules: a small, safe parser and evaluator of CloudWatch's ``AlarmRule`` (no ``eval``).

Following ``PutCompositeAlarm``'s documentation: ``ALARM(name)``, ``OK(name)``, ``INSUFFICIENT_DATA(name)``
(the name quoted or not, or the alarm's ARN), ``TRUE``, ``FALSE``, ``NOT``, ``AND``, ``OR`` (precedence in
that order, ``NOT`` binding tightest) and parentheses. :func:`parse` raises :class:`InvalidAlarmRule` on
anything else; :func:`holds` says whether a rule is true for the children's states; :func:`children` lists the
alarm names a rule reads. A composite alarm is in ``ALARM`` while its rule holds and ``OK`` otherwise
(``INSUFFICIENT_DATA`` only between its creation and first evaluation).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from selfheal.cloud.expression_tokens import TokenParser

__all__ = [
    "MAX_RULE_LENGTH",
    "Constant",
    "InvalidAlarmRule",
    "Logical",
    "Not",
    "RuleNode",
    "StateIs",
    "children",
    "holds",
    "parse",
]

MAX_RULE_LENGTH = 10_240  # PutCompositeAlarm's AlarmRule limit
_STATES = ("ALARM", "OK", "INSUFFICIENT_DATA")

_TOKEN = re.compile(
    r"\s*(?:(?P<string>\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<paren>[()])"
    r"|(?P<word>[^\s()\"]+))"
)


class InvalidAlarmRule(ValueError):
    """An alarm rule that is not valid composite-alarm syntax; the message says where."""


@dataclass(frozen=True)
class Constant:
    """``TRUE`` or ``FALSE``."""

    value: bool


@dataclass(frozen=True)
class StateIs:
    """``ALARM(name)``, ``OK(name)`` or ``INSUFFICIENT_DATA(name)``; ``alarm`` is the alarm's name."""

    state: str
    alarm: str


@dataclass(frozen=True)
class Not:
    """``NOT rule``."""

    operand: RuleNode


@dataclass(frozen=True)
class Logical:
    """``left AND right`` or ``left OR right``."""

    operator: str
    left: RuleNode
    right: RuleNode


RuleNode = Constant | StateIs | Not | Logical


def _alarm_name(reference: str) -> str:
    """An alarm named by name or by ARN (``arn:aws:cloudwatch:region:account:alarm:NAME``)."""
    if reference.startswith("arn:"):
        parts = reference.split(":", 6)
        if len(parts) == 7 and parts[2] == "cloudwatch" and parts[5] == "alarm":
            return parts[6]
    return reference


class _Parser(TokenParser):
    pattern = _TOKEN
    error = InvalidAlarmRule
    subject = "alarm rule"

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].upper() == word:
            self.at += 1
            return True
        return False

    def rule(self) -> RuleNode:
        with self.nested():
            node = self.conjunction()
            while self.keyword("OR"):
                node = Logical("OR", node, self.conjunction())
            return node

    def conjunction(self) -> RuleNode:
        node = self.negation()
        while self.keyword("AND"):
            node = Logical("AND", node, self.negation())
        return node

    def negation(self) -> RuleNode:
        if self.keyword("NOT"):
            return Not(self.negation())
        return self.atom()

    def atom(self) -> RuleNode:
        kind, text = self.take()
        if kind == "paren" and text == "(":
            node = self.rule()
            self.close()
            return node
        if kind == "word":
            word = text.upper()
            if word in ("TRUE", "FALSE"):
                return Constant(word == "TRUE")
            if word in _STATES:
                return self.state(word)
        raise InvalidAlarmRule(
            f"unexpected {text!r} in the alarm rule: expected ALARM(...), OK(...), INSUFFICIENT_DATA(...), "
            "TRUE, FALSE, NOT or a parenthesis"
        )

    def close(self) -> None:
        if self.peek() != ("paren", ")"):
            raise InvalidAlarmRule(f"expected ')' in the alarm rule, found {self.found()}")
        self.at += 1

    def state(self, word: str) -> RuleNode:
        if self.take() != ("paren", "("):
            raise InvalidAlarmRule(f"{word} must be followed by (alarm name)")
        kind, text = self.take()
        if kind == "string":
            name = re.sub(r"\\(.)", r"\1", text[1:-1])
        elif kind == "word":
            name = text
        else:
            raise InvalidAlarmRule(f"{word}() needs an alarm name")
        if not name:
            raise InvalidAlarmRule(f"{word}() needs an alarm name")
        self.close()
        return StateIs(word, _alarm_name(name))


def parse(rule: str) -> RuleNode:
    """Parse a composite alarm's ``AlarmRule``; raise :class:`InvalidAlarmRule` when it is not valid."""
    return _Parser.parse(rule, MAX_RULE_LENGTH, _Parser.rule)


def children(node: RuleNode) -> set[str]:
    """The names of the alarms ``node`` reads."""
    if isinstance(node, StateIs):
        return {node.alarm}
    if isinstance(node, Not):
        return children(node.operand)
    if isinstance(node, Logical):
        return children(node.left) | children(node.right)
    return set()


def holds(node: RuleNode, states: Mapping[str, str]) -> bool:
    """Whether ``node`` is true when each alarm is in ``states[name]`` (an absent alarm is in no state)."""
    if isinstance(node, Constant):
        return node.value
    if isinstance(node, StateIs):
        return states.get(node.alarm) == node.state
    if isinstance(node, Not):
        return not holds(node.operand, states)
    if node.operator == "AND":
        return holds(node.left, states) and holds(node.right, states)
    return holds(node.left, states) or holds(node.right, states)
