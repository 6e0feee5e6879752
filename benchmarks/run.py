"""Run teamcrm's benchmarks.

    python benchmarks/run.py [--quick] [--list] [NAME ...]

Every benchmark prints lines ``name value unit``.  ``--quick`` runs each one
with its quick settings (all of them together in under a minute).  Add a
benchmark by writing a module in this directory that registers a function
with :func:`registry.benchmark`; the runner imports every module here.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from registry import BENCHMARKS  # noqa: E402

#: Modules of this directory that are not benchmarks.
NOT_BENCHMARKS = {"run", "registry", "scale_data", "scale_prune"}


def _import_benchmarks() -> None:
    for path in sorted(HERE.glob("*.py")):
        if path.stem not in NOT_BENCHMARKS:
            importlib.import_module(path.stem)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the chosen benchmarks, print their results."""
    _import_benchmarks()
    parser = argparse.ArgumentParser(description="Run teamcrm's benchmarks.")
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default all)")
    parser.add_argument("--quick", action="store_true", help="quick settings (CI smoke run)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for bench in BENCHMARKS.values():
            print(f"{bench.name}: {bench.description}")
        return 0
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {sorted(BENCHMARKS)}")
    total = time.perf_counter()
    for name in args.names or list(BENCHMARKS):
        started = time.perf_counter()
        for result in BENCHMARKS[name].fn(args.quick):
            print(result.line(), flush=True)
        print(f"# {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print(f"# all took {time.perf_counter() - total:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
