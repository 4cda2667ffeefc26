"""`utanforskap karta` speed: the whole process from bundled data to every output, and the
classification step alone, against a straightforward pandas version of the same method."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import report, timed  # noqa: E402

from utanforskap import datasets
from utanforskap.methods import loader  # noqa: E402
from utanforskap.results import karta  # noqa: E402
from utanforskap.results.inputs import method_inputs  # noqa: E402


def classify_pandas(df: pd.DataFrame, p: dict) -> pd.DataFrame:
    """se-oppna-data-2022 written plainly in pandas (the baseline)."""
    out = pd.DataFrame({"regso_kod": df["regso_kod"]})
    empl = df["sysselsatta_16_64"] / df["befolkning_16_64"]
    low = df["lag_ekonomisk_standard"] / df["personer_ekonomisk_standard"]
    edu = df["utb_forgymnasial_25_64"] / df["befolkning_25_64"]
    crime = df["brott_3ar"] / p["ar_brott"] / df["befolkning"] * 1000
    flats = df["lgh_hyresratt"] + df["lgh_bostadsratt"]
    crowd = (df["personer_flerbostadshus"] / flats).where(flats >= p["min_lagenheter"])
    nat = {
        "empl": df["sysselsatta_16_64"].sum() / df["befolkning_16_64"].sum(),
        "low": df["lag_ekonomisk_standard"].sum() / df["personer_ekonomisk_standard"].sum(),
        "edu": df["utb_forgymnasial_25_64"].sum() / df["befolkning_25_64"].sum(),
        "crime": (df["brott_3ar"] / p["ar_brott"]).sum() / df["befolkning"].sum() * 1000,
        "crowd": df["personer_flerbostadshus"].sum() / flats.sum(),
    }
    flags = pd.DataFrame({
        "a": empl / nat["empl"] <= p["multipel_sysselsattning"],
        "b": low / nat["low"] >= p["multipel_lag_ekonomisk_standard"],
        "c": edu / nat["edu"] >= p["multipel_forgymnasial"],
        "d": crime / nat["crime"] >= p["multipel_brott"],
        "e": crowd / nat["crowd"] >= p["multipel_invanare_per_lagenhet"],
    })
    out["antal_flaggor"] = flags.sum(axis=1)
    out["klass"] = np.where(out["antal_flaggor"] >= p["flaggor_sarskilt_stor"], "särskilt stor",
                            np.where(out["antal_flaggor"] >= p["flaggor_stor"], "stor", None))
    return out


def _command() -> list[str]:
    """The `utanforskap` command as users run it: the installed script beside this Python
    (no runpy), else `python -m utanforskap`."""
    script = Path(sys.executable).with_name("utanforskap")
    return [str(script)] if script.exists() else [sys.executable, "-m", "utanforskap"]


def _process(args: list[str], env: dict[str, str], command: tuple[str, ...] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one `utanforskap ...` process (or `python *command ...`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    argv = [sys.executable, *command] if command is not None else _command()
    subprocess.run([*argv, *args], check=True, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _median_runs(args: Callable[[int], list[str]], env: Callable[[int], dict[str, str]], runs: int = 3) -> tuple[float, float]:
    walls, cpus = zip(*(_process(args(i), env(i)) for i in range(runs)), strict=True)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    # `karta` keeps the map image, the kommun layer, the Excel file and the verified store
    # files in the user's cache ($XDG_CACHE_HOME/utanforskap): the usual run repeats a map
    # already drawn. Baseline in the same run: every run with an empty cache (as before the
    # cache: matplotlib, geopandas and xlsxwriter load and draw), alternating with warm runs.
    with tempfile.TemporaryDirectory() as tmp:
        # A user's Python keeps compiled modules (__pycache__); a sandbox that sets
        # PYTHONDONTWRITEBYTECODE would time the compiler instead (about 0.1 s per process).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        warm_env = {**env, "XDG_CACHE_HOME": f"{tmp}/varm"}
        _process(["karta", "--ut", f"{tmp}/forsta"], warm_env)  # fills the cache
        cold: list[tuple[float, float]] = []
        warm: list[tuple[float, float]] = []
        for i in range(3):
            cold.append(_process(["karta", "--ut", f"{tmp}/kall{i}"], {**env, "XDG_CACHE_HOME": f"{tmp}/kall{i}-cache"}))
            warm.append(_process(["karta", "--ut", f"{tmp}/varm{i}"], warm_env))
        cold_wall, cold_cpu = (statistics.median(x) for x in zip(*cold, strict=True))
        warm_wall, warm_cpu = (statistics.median(x) for x in zip(*warm, strict=True))
        report("karta_hela_processen_tom_cache", cold_wall, "s")
        report("karta_hela_processen", warm_wall, "s", baseline=cold_wall, goal="< 1,2 s")
        report("karta_hela_processen_cpu_tom_cache", cold_cpu, "s")
        report("karta_hela_processen_cpu", warm_cpu, "s", baseline=cold_cpu)
        svi = Path(__file__).resolve().parents[1] / "tests" / "data" / "conformance" / "SVI_2022_US_county.csv"
        _process(["berakna", "cdc-svi-2022", "--data", str(svi), "--ut", f"{tmp}/svi.csv"], warm_env)
        # The floor of any command on this engine: start Python, import polars, read the
        # file and write a CSV (no method, no checks), run alternately in the same loop.
        floor_code = ("import polars as pl, sys; pl.read_csv(sys.argv[1], infer_schema_length=10000)"
                      ".write_csv(sys.argv[2])")
        runs, floors = [], []
        for i in range(5):
            runs.append(_process(["berakna", "cdc-svi-2022", "--data", str(svi), "--ut", f"{tmp}/svi{i}.csv"], warm_env))
            floors.append(_process([str(svi), f"{tmp}/golv{i}.csv"], warm_env, command=("-c", floor_code)))
        (wall, cpu), (floor_wall, floor_cpu) = ((statistics.median(x) for x in zip(*r, strict=True)) for r in (runs, floors))
        report("python_polars_las_skriv_svi_2022", floor_wall, "s")
        report("berakna_svi_2022_hela_processen", wall, "s", baseline=floor_wall, goal="< 0,5 s")
        report("berakna_svi_2022_hela_processen_cpu", cpu, "s", baseline=floor_cpu)

    source = datasets.open_source("paket")
    loaded = loader.load(karta.DEFAULT_METHOD)
    inputs = method_inputs(loaded, source.store, 2022)
    areas = karta.areas_with_population(source.store, 2022)
    result = karta.classify(loaded, inputs, areas, source, 2022)
    params = result.parameters
    pdf = inputs.to_pandas()
    theirs = classify_pandas(pdf, params)
    ours = result.areas.select("regso_kod", "antal_flaggor").to_pandas()
    assert (theirs.sort_values("regso_kod")["antal_flaggor"].to_numpy() == ours.sort_values("regso_kod")["antal_flaggor"].to_numpy()).all()
    t_pandas = timed(lambda: classify_pandas(pdf, params), repeat=41)
    report("klassning_3363_pandas", t_pandas, "s")
    report("klassning_3363", timed(lambda: karta.classify(loaded, inputs, areas, source, 2022), repeat=41), "s", baseline=t_pandas, goal="≥ pandas")
    report("indata_ur_lagret_3363", timed(lambda: (method_inputs(loaded, source.store, 2022), karta.areas_with_population(source.store, 2022)), repeat=5), "s")


if __name__ == "__main__":
    main()
