"""CloudWatch metric math for alarms: a small, safe parser and a per-period evaluator (no ``eval``).

:func:`parse` turns an expression into a tree, or raises :class:`UnsupportedExpression` naming the part it
does not implement; :func:`evaluate_series` evaluates a tree over per-period series (``None`` where a period
has no value), period by period, as CloudWatch evaluates an alarm's expression.

Supported, following "Metric math syntax and functions" in the CloudWatch User Guide:

- numbers (``100``, ``0.5``, ``1e3``) and the ids of other queries (``m1``, ``errors``, ``e1``);
- ``+ - * / ^`` with the usual precedence, unary minus, parentheses;
- comparisons ``== != < <= > >=`` (1 or 0) and ``AND``/``&&``, ``OR``/``||`` (also 1 or 0);
- ``IF(condition, a[, b])``: ``a`` where the condition is non-zero, else ``b`` (no value without ``b``);
- ``FILL(m, value)``: a number for the periods where ``m`` has no value;
- ``ABS``, ``CEIL``, ``FLOOR`` of a series.

A period where a term has no value has no value (unless ``FILL`` gives it one); so does a division by zero.
Anything else — ``METRICS()``, ``SEARCH``, ``SELECT``, ``FILL(m, REPEAT)``, functions over whole series such
as ``SUM(m1)`` or ``RATE`` — is refused with :class:`UnsupportedExpression`, never silently ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from selfheal.cloud.expression_tokens import TokenParser

__all__ = [
    "Call",
    "Node",
    "Number",
    "Operation",
    "Reference",
    "UnsupportedExpression",
    "evaluate_series",
    "parse",
    "references",
]

Series = Sequence[float | None]

_MAX_LENGTH = 1024  # PutMetricAlarm limits an expression to 1024 characters


class UnsupportedExpression(ValueError):
    """An expression the local cloud cannot evaluate; the message names the unsupported part."""


@dataclass(frozen=True)
class Number:
    """A constant."""

    value: float


@dataclass(frozen=True)
class Reference:
    """Another query's series, by id."""

    name: str


@dataclass(frozen=True)
class Operation:
    """A binary operator (``+``, ``AND``, ``<=``, …) or unary minus (``neg``, right is None)."""

    operator: str
    left: Node
    right: Node | None = None


@dataclass(frozen=True)
class Call:
    """A function call: ``IF``, ``FILL``, ``ABS``, ``CEIL``, ``FLOOR``."""

    function: str
    arguments: tuple[Node, ...]


Node = Number | Reference | Operation | Call

_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<string>\"[^\"]*\"|'[^']*')"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/^<>(),=]))"
)
_SUPPORTED = {"IF": (2, 3), "FILL": (2, 2), "ABS": (1, 1), "CEIL": (1, 1), "FLOOR": (1, 1)}
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")


class _Parser(TokenParser):
    pattern = _TOKEN
    error = UnsupportedExpression
    subject = "expression"

    def bad_character(self, text: str, at: int) -> str:
        return f"unsupported character {text[at:].lstrip()[:1]!r} at position {at}"

    def accept(self, *ops: str) -> str | None:
        token = self.peek()
        if token is None:
            return None
        kind, text = token
        if (kind == "op" and text in ops) or (kind == "name" and text.upper() in ops):
            self.at += 1
            return text.upper() if kind == "name" else text
        return None

    def expect(self, op: str) -> None:
        if self.accept(op) is None:
            raise UnsupportedExpression(f"expected {op!r}, found {self.found()}")

    def expression(self) -> Node:
        with self.nested():
            return self.disjunction()

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.accept("OR", "||"):
            node = Operation("OR", node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.comparison()
        while self.accept("AND", "&&"):
            node = Operation("AND", node, self.comparison())
        return node

    def comparison(self) -> Node:
        node = self.additive()
        op = self.accept(*_COMPARISONS)
        if op is not None:
            node = Operation(op, node, self.additive())
            if self.accept(*_COMPARISONS):
                raise UnsupportedExpression("chained comparisons (a < b < c) are not supported")
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while (op := self.accept("+", "-")) is not None:
            node = Operation(op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while (op := self.accept("*", "/")) is not None:
            node = Operation(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("-"):
            return Operation("neg", self.unary())
        if self.accept("+"):
            return self.unary()
        return self.power()

    def power(self) -> Node:
        node = self.atom()
        if self.accept("^"):
            return Operation("^", node, self.unary())
        return node

    def atom(self) -> Node:
        kind, text = self.take()
        if kind == "number":
            return Number(float(text))
        if kind == "op" and text == "(":
            node = self.expression()
            self.expect(")")
            return node
        if kind == "name":
            if self.accept("("):
                return self.call(text)
            if text.upper() in ("SEARCH", "SELECT", "METRICS", "ANOMALY_DETECTION_BAND"):
                raise UnsupportedExpression(f"{text.upper()} is not supported in the local cloud")
            if not text[0].islower():
                raise UnsupportedExpression(
                    f"{text!r} is not a query id (ids start with a lower-case letter) "
                    "nor a supported function"
                )
            return Reference(text)
        if kind == "string":
            raise UnsupportedExpression(
                f"string {text} is not supported (SEARCH and labels are not evaluated)"
            )
        raise UnsupportedExpression(f"unexpected {text!r}")

    def call(self, name: str) -> Node:
        function = name.upper()
        if function not in _SUPPORTED:
            raise UnsupportedExpression(f"function {function}() is not supported in the local cloud")
        arguments: list[Node] = []
        if not self.accept(")"):
            while True:
                if function == "FILL" and len(arguments) == 1:
                    token = self.peek()
                    if token is not None and token[0] == "name" and token[1].upper() in ("REPEAT", "LINEAR"):
                        raise UnsupportedExpression(
                            f"FILL(..., {token[1].upper()}) is not supported in the local cloud; "
                            "FILL takes a number"
                        )
                arguments.append(self.expression())
                if self.accept(")"):
                    break
                self.expect(",")
        low, high = _SUPPORTED[function]
        if not low <= len(arguments) <= high:
            wanted = str(low) if low == high else f"{low} or {high}"
            raise UnsupportedExpression(f"{function}() takes {wanted} arguments, got {len(arguments)}")
        if function == "FILL" and not isinstance(_constant(arguments[1]), float):
            raise UnsupportedExpression("FILL's second argument must be a number in the local cloud")
        return Call(function, tuple(arguments))


def _constant(node: Node) -> float | None:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Operation) and node.operator == "neg" and isinstance(node.left, Number):
        return -node.left.value
    return None


def parse(expression: str) -> Node:
    """Parse ``expression``; raise :class:`UnsupportedExpression` naming what is not supported."""
    return _Parser.parse(expression, _MAX_LENGTH, _Parser.expression)


def references(node: Node) -> set[str]:
    """The query ids ``node`` reads."""
    if isinstance(node, Reference):
        return {node.name}
    if isinstance(node, Operation):
        return references(node.left) | (references(node.right) if node.right is not None else set())
    if isinstance(node, Call):
        return set().union(*(references(a) for a in node.arguments))
    return set()


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _binary(operator: str, a: float, b: float) -> float | None:
    if operator == "+":
        return _finite(a + b)
    if operator == "-":
        return _finite(a - b)
    if operator == "*":
        return _finite(a * b)
    if operator == "/":
        return None if b == 0 else _finite(a / b)
    if operator == "^":
        try:
            result = math.pow(a, b)
        except (OverflowError, ValueError):
            return None
        return _finite(result)
    if operator == "AND":
        return float(bool(a) and bool(b))
    if operator == "OR":
        return float(bool(a) or bool(b))
    comparisons: dict[str, Callable[[float, float], bool]] = {
        "==": lambda x, y: x == y,
        "!=": lambda x, y: x != y,
        "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y,
        ">": lambda x, y: x > y,
        ">=": lambda x, y: x >= y,
    }
    return float(comparisons[operator](a, b))


def _point(node: Node, series: Mapping[str, Series], i: int) -> float | None:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Reference):
        values = series.get(node.name)
        if values is None:
            raise UnsupportedExpression(
                f"the expression refers to {node.name!r}, which is no query of the alarm"
            )
        return values[i]
    if isinstance(node, Operation):
        left = _point(node.left, series, i)
        if node.right is None:
            return None if left is None else -left
        right = _point(node.right, series, i)
        if left is None or right is None:
            return None
        return _binary(node.operator, left, right)
    function, args = node.function, node.arguments
    if function == "FILL":
        value = _point(args[0], series, i)
        return _constant(args[1]) if value is None else value
    if function == "IF":
        condition = _point(args[0], series, i)
        if condition is None:
            return None
        if condition:
            return _point(args[1], series, i)
        return _point(args[2], series, i) if len(args) == 3 else None
    value = _point(args[0], series, i)
    if value is None:
        return None
    if function == "ABS":
        return abs(value)
    return float(math.ceil(value) if function == "CEIL" else math.floor(value))


def evaluate_series(node: Node, series: Mapping[str, Series], periods: int) -> list[float | None]:
    """The value of ``node`` in each of ``periods`` periods, from the series of the ids it reads."""
    for name in references(node):
        if name not in series:
            raise UnsupportedExpression(f"the expression refers to {name!r}, which is no query of the alarm")
        if len(series[name]) != periods:
            raise ValueError(f"series {name!r} has {len(series[name])} periods, expected {periods}")
    return [_point(node, series, i) for i in range(periods)]
