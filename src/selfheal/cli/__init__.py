"""The ``selfheal`` command line: ``app.py`` registers the commands, one module per command beside it.

Nothing outside this package imports it; the commands call into ``stack``, ``demo``, ``loop``, ``report``,
``dashboard`` and ``cloud``.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> None:
    """Entry point of the ``selfheal`` script (``selfheal.cli:main``) and of ``python -m selfheal``."""
    from selfheal.cli.app import main as run

    run()
