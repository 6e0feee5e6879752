"""A registry of named benchmarks for ``benchmarks/run.py``.

A benchmark is a function ``fn(quick: bool) -> list[Result]`` registered
under a short name with :func:`benchmark`.  The runner prints each result as
one line ``name value unit`` so results can be grepped and compared.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

__all__ = ["BENCHMARKS", "Benchmark", "Result", "benchmark"]


@attrs.frozen
class Result:
    """One measured figure."""

    name: str
    value: float
    unit: str

    def line(self) -> str:
        """The figure as ``name value unit``."""
        return f"{self.name} {self.value:.1f} {self.unit}"


BenchmarkFn = Callable[[bool], list[Result]]


@attrs.frozen
class Benchmark:
    """A registered benchmark: its name, what it measures, and the function."""

    name: str
    description: str
    fn: BenchmarkFn


#: Every registered benchmark by name, in registration order.
BENCHMARKS: dict[str, Benchmark] = {}


def benchmark(name: str, description: str) -> Callable[[BenchmarkFn], BenchmarkFn]:
    """Register the decorated function as benchmark *name*."""

    def register(fn: BenchmarkFn) -> BenchmarkFn:
        if name in BENCHMARKS:
            raise ValueError(f"benchmark {name!r} is registered twice")
        BENCHMARKS[name] = Benchmark(name=name, description=description, fn=fn)
        return fn

    return register
