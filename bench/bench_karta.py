"""`utanforskap karta` speed: the whole process from bundled data to every output, and the
classification step alone, against a straightforward pandas version of the same method."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
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


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        times = []
        for i in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "utanforskap", "karta", "--ut", f"{tmp}/r{i}"], check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        report("karta_hela_processen", sorted(times)[1], "s")
        svi = Path(__file__).resolve().parents[1] / "tests" / "data" / "conformance" / "SVI_2022_US_county.csv"
        times = []
        for i in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "utanforskap", "berakna", "cdc-svi-2022", "--data", str(svi), "--ut", f"{tmp}/svi{i}.csv"],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
        report("berakna_svi_2022_hela_processen", sorted(times)[1], "s")

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
    report("klassning_3363", timed(lambda: karta.classify(loaded, inputs, areas, source, 2022), repeat=41), "s", baseline=t_pandas)
    report("indata_ur_lagret_3363", timed(lambda: (method_inputs(loaded, source.store, 2022), karta.areas_with_population(source.store, 2022)), repeat=5), "s")


if __name__ == "__main__":
    main()
