"""Run teamcrm's benchmarks.

    python benchmarks/run.py [--quick] [--list] [NAME ...]

Every benchmark prints lines ``name value unit``.  ``--quick`` runs each one
with its quick settings (all of them together in under a minute).  Add a
benchmark by writing a module here that registers functions with
:func:`registry.benchmark` and listing it in ``MODULES``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registry import BENCHMARKS

#: Modules that register benchmarks, imported in this order.
MODULES = ["import_contacts", "bench_followups"]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the chosen benchmarks, print their results."""
    for module in MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    for name in args.names or list(BENCHMARKS):
        started = time.perf_counter()
        for result in BENCHMARKS[name].fn(args.quick):
            print(result.line(), flush=True)
        print(f"# {name} took {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
