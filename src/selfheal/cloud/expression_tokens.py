"""What the metric math and composite alarm rule parsers share: a tokenizer and a cursor over its tokens.

:class:`TokenParser` splits a text into ``(kind, text)`` tokens with its ``pattern`` (one named group a
kind, leading white space skipped) and gives a recursive-descent parser ``peek``, ``take``, a nesting limit
and ``finish``; :meth:`TokenParser.parse` runs a subclass's top rule over a whole text.
Every error is the subclass's ``error``, its message naming the ``subject`` parsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ClassVar, Self, TypeVar

__all__ = ["MAX_DEPTH", "Token", "TokenParser"]

MAX_DEPTH = 64

Token = tuple[str, str]

N = TypeVar("N")


class TokenParser:
    """The tokens of one text and where a parser is among them; subclasses add the grammar."""

    pattern: ClassVar[re.Pattern[str]]
    error: ClassVar[type[ValueError]]
    subject: ClassVar[str]  # what the text is, for messages: "alarm rule", "expression"

    def __init__(self, text: str, max_length: int) -> None:
        if not text.strip():
            raise self.error(f"the {self.subject} is empty")
        if len(text) > max_length:
            raise self.error(f"the {self.subject} is longer than {max_length} characters")
        self.tokens = self._tokenize(text.rstrip())
        self.at = 0
        self.depth = 0

    @classmethod
    def parse(cls, text: str, max_length: int, start: Callable[[Self], N]) -> N:
        """The tree the top rule ``start`` makes of the whole ``text``; ``error`` when the text is not valid
        or has tokens left over."""
        parser = cls(text, max_length)
        node = start(parser)
        parser.finish()
        return node

    def _tokenize(self, text: str) -> list[Token]:
        out: list[Token] = []
        at = 0
        while at < len(text):
            match = self.pattern.match(text, at)
            if match is None or match.end() == at:
                raise self.error(self.bad_character(text, at))
            kind = match.lastgroup
            assert kind is not None
            out.append((kind, match.group(kind)))
            at = match.end()
        return out

    def bad_character(self, text: str, at: int) -> str:
        """The message for ``text`` at ``at``, where no token starts."""
        return f"unexpected character at position {at} of the {self.subject}"

    def peek(self) -> Token | None:
        """The next token, or None at the end."""
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> Token:
        """The next token, consumed; an error at the end."""
        token = self.peek()
        if token is None:
            raise self.error(f"the {self.subject} ends too early")
        self.at += 1
        return token

    def found(self) -> str:
        """The next token's text, quoted, or ``the end``: what an error found instead of what it expected."""
        token = self.peek()
        return "the end" if token is None else repr(token[1])

    @contextmanager
    def nested(self) -> Iterator[None]:
        """One level deeper into parentheses; an error beyond :data:`MAX_DEPTH` levels."""
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise self.error(f"the {self.subject} nests deeper than {MAX_DEPTH} levels")
            yield
        finally:
            self.depth -= 1

    def finish(self) -> None:
        """An error if any token is left after a complete parse."""
        token = self.peek()
        if token is not None:
            raise self.error(f"unexpected {token[1]!r} after a complete {self.subject}")
