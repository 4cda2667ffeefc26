"""Shared timing helpers for the benchmarks: each prints `BENCH <name> <value> <unit> [ratio <r>]`."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of `fn` in seconds over `repeat` runs, after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def timed_pair(a: Callable[[], object], b: Callable[[], object], repeat: int = 5, warmup: int = 1) -> tuple[float, float]:
    """Median wall times of `a` and `b`, run in turns (a, b, a, b, ...) so that both see the same load."""
    for _ in range(warmup):
        a()
        b()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((a, times[0]), (b, times[1])):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return statistics.median(times[0]), statistics.median(times[1])


def report(name: str, value: float, unit: str, baseline: float | None = None, goal: str | None = None) -> None:
    """Print a BENCH line; `ratio` is baseline / value (above 1: faster than the baseline),
    `baslinje` the baseline itself and `mål` the target, when given."""
    line = f"BENCH {name} {value:.4f} {unit}"
    if baseline is not None:
        line += f" ratio {baseline / value:.2f} baslinje {baseline:.4f}"
    if goal is not None:
        line += f" mål {goal}"
    print(line, flush=True)
