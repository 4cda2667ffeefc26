"""`utanforskap robusthet` speed: 10 000 draws x 3 363 RegSO x every flag of
se-oppna-data-2022 (±5 % on each multiple) vectorised, against the engine run once per draw
in the same process (50 runs timed and extrapolated to 10 000); Sobol indices with 2 048 base
samples; the process's peak memory."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import report, timed

from utanforskap.robustness import draws as dr
from utanforskap.robustness import montecarlo as mc
from utanforskap.robustness import sensitivity as se

DRAWS = 10_000
ENGINE_RUNS = 50


def main() -> None:
    setup = mc.prepare()
    ours = timed(lambda: mc.simulate(setup, draws=DRAWS, seed=1), repeat=3)
    c0 = time.process_time()
    mc.simulate(setup, draws=DRAWS, seed=1)
    ours_cpu = time.process_time() - c0  # CPU time: what the run costs when other processes share the cores
    sample = dr.sample(setup.dims, ENGINE_RUNS, np.random.default_rng(2))
    mc.engine_per_draw(setup, sample.slice(0, 3))  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    mc.engine_per_draw(setup, sample)
    per_run = (time.perf_counter() - t0) / ENGINE_RUNS
    per_run_cpu = (time.process_time() - c0) / ENGINE_RUNS
    baseline = per_run * DRAWS  # extrapolated from ENGINE_RUNS runs
    report("robusthet_10000_dragningar", ours, "s", baseline)
    report("robusthet_10000_dragningar_cpu", ours_cpu, "s", per_run_cpu * DRAWS)
    report("robusthet_motorn_per_dragning_ms", per_run * 1000, "ms")
    report("robusthet_motorn_10000_extrapolerat", baseline, "s")
    t0 = time.perf_counter()
    se.analyse(setup, base_samples=2048, seed=1)
    report("robusthet_sobol_2048", time.perf_counter() - t0, "s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    report("robusthet_toppminne", peak, "MiB")


if __name__ == "__main__":
    main()
