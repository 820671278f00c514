"""``python -m bench [name ...]``: run the named benchmarks (all of them by default)."""

from __future__ import annotations

import argparse
import importlib

__all__ = ["BENCHMARKS", "main"]

BENCHMARKS = ("throughput", "control", "loop", "terraform", "growth", "peer", "fleet")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmarks in order."""
    parser = argparse.ArgumentParser(prog="python -m bench", description="selfheal benchmarks")
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help="benchmarks to run")
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke test of the benchmarks)")
    args = parser.parse_args(argv)
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        print(f"\n=== {name} ===", flush=True)
        module.run(**module.QUICK) if args.quick else module.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
