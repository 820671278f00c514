"""selfheal's benchmarks: each subcommand measures the system and its baselines side by side in one run.

Run ``python -m bench`` (every benchmark) or ``python -m bench <name>``; see ``bench/README.md``.
"""

from __future__ import annotations

__all__: list[str] = []
