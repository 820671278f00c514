"""Progress of long work (starting the cloud, Terraform phases): a status line on a terminal, plain lines
elsewhere (CI logs), nothing in tests that do not care."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from rich.console import Console
from rich.status import Status

__all__ = ["ConsoleReporter", "Phase", "Reporter", "SilentReporter"]


class Phase(Protocol):
    """One running phase; ``update`` changes its detail (e.g. ``12/33 resources``)."""

    def update(self, detail: str) -> None: ...


class Reporter(Protocol):
    """Where orchestration reports its phases and notes."""

    def phase(self, title: str) -> AbstractContextManager[Phase]: ...

    def note(self, text: str) -> None: ...


class _NullPhase:
    def update(self, detail: str) -> None:
        """Ignore the detail."""


class SilentReporter:
    """Reports nothing."""

    @contextmanager
    def phase(self, title: str) -> Iterator[Phase]:
        """Run the phase silently."""
        yield _NullPhase()

    def note(self, text: str) -> None:
        """Drop the note."""


class _StatusPhase:
    def __init__(self, title: str, status: Status | None) -> None:
        self.title = title
        self._status = status
        self.started = time.monotonic()

    def update(self, detail: str) -> None:
        if self._status is not None:
            elapsed = time.monotonic() - self.started
            self._status.update(f"{self.title} — {detail} ({elapsed:.0f} s)")


class ConsoleReporter:
    """A rich status line per phase on a terminal; ``… title`` / ``✓ title (N s)`` lines otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def phase(self, title: str) -> Iterator[Phase]:
        """Show ``title`` while the block runs, then a line saying how long it took (or that it failed)."""
        live = self.console.is_terminal
        if not live:
            self.console.print(f"… {title}", markup=False, highlight=False)
        started = time.monotonic()
        try:
            if live:
                with self.console.status(title) as status:
                    yield _StatusPhase(title, status)
            else:
                yield _StatusPhase(title, None)
        except BaseException:
            self.console.print(f"✗ {title} ({time.monotonic() - started:.1f} s)", markup=False)
            raise
        self.console.print(f"✓ {title} ({time.monotonic() - started:.1f} s)", markup=False, highlight=False)

    def note(self, text: str) -> None:
        """Print a line."""
        self.console.print(text, markup=False, highlight=False)
