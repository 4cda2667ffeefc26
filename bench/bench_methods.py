"""Method engine speed: CDC SVI on 100 000 synthetic areas x 16 variables, IMD on the 33 755 real LSOAs.

Each is compared with a straightforward pandas implementation of the same method, timed
in the same run. The synthetic SVI table is SYNTETISKA DATA (uniform percentages).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from common import report, timed  # noqa: E402

from utanforskap.methods import data, engine, loader  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
THEMES = {
    1: ["POV150", "UNEMP", "HBURD", "NOHSDP", "UNINSUR"],
    2: ["AGE65", "AGE17", "DISABL", "SNGPNT", "LIMENG"],
    3: ["MINRTY"],
    4: ["MUNIT", "MOBILE", "CROWD", "NOVEH", "GROUPQ"],
}
IMD_WEIGHTS = {"Income": 22.5, "Employment": 22.5, "Education": 13.5, "Health": 13.5,
               "Crime": 9.3, "Housing_and_Services": 9.3, "Environment": 9.3}


def synthetic_svi(n: int, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    cols = {"FIPS": [f"{i:06d}" for i in range(n)]}
    for vs in THEMES.values():
        for v in vs:
            cols[f"EP_{v}"] = np.round(rng.uniform(0, 60, n), 1)  # 1 decimal, as published: many ties
    return pl.DataFrame(cols)


def svi_pandas(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"FIPS": df["FIPS"]})

    def prank(s: pd.Series) -> pd.Series:
        return ((s.rank(method="min") - 1) / (s.count() - 1)).round(4)

    spl = {}
    for t, vs in THEMES.items():
        for v in vs:
            out[f"EPL_{v}"] = prank(df[f"EP_{v}"])
            out[f"F_{v}"] = (out[f"EPL_{v}"] >= 0.9).astype(int)
        spl[t] = out[[f"EPL_{v}" for v in vs]].sum(axis=1, skipna=False).round(4)
        out[f"SPL_THEME{t}"] = spl[t]
        out[f"RPL_THEME{t}"] = prank(spl[t])
        out[f"F_THEME{t}"] = out[[f"F_{v}" for v in vs]].sum(axis=1)
    out["SPL_THEMES"] = sum(spl.values()).round(4)
    out["RPL_THEMES"] = prank(out["SPL_THEMES"])
    out["F_TOTAL"] = out[[f"F_THEME{t}" for t in THEMES]].sum(axis=1)
    return out


def imd_pandas(df: pd.DataFrame) -> pd.DataFrame:
    n = len(df)
    score = np.zeros(n)
    for d, w in IMD_WEIGHTS.items():
        r = df[f"{d}_rank"].rank(method="average")
        share = (n - r + 1) / n
        score += w / 100 * (-23 * np.log(1 - share * (1 - math.exp(-100 / 23))))
    out = pd.DataFrame({"lsoa21_code": df["lsoa21_code"], "IMD_score": np.round(score, 3)})
    out["IMD_rank"] = pd.Series(score).rank(method="min", ascending=False).astype(int).to_numpy()
    out["IMD_decile"] = np.ceil(out["IMD_rank"] * 10 / n).astype(int)
    return out


def main() -> None:
    svi = loader.load("cdc-svi-2022")
    table = synthetic_svi(100_000)
    prepared = data.prepare(svi, table, "syntetisk")
    ours = engine.run(svi, prepared)
    theirs = svi_pandas(table.to_pandas())
    # Same method, same answer: check before timing.
    assert np.allclose(ours["RPL_THEMES"].to_numpy(), theirs["RPL_THEMES"].to_numpy())
    assert (ours["F_TOTAL"].to_numpy() == theirs["F_TOTAL"].to_numpy()).all()
    pdf = table.to_pandas()
    t_pandas = timed(lambda: svi_pandas(pdf))
    t_ours = timed(lambda: engine.run(svi, prepared))
    report("svi_100000_pandas", t_pandas, "s")
    report("svi_100000", t_ours, "s", baseline=t_pandas)
    report("svi_100000_med_inlasning", timed(lambda: engine.run(svi, data.prepare(svi, table, "s")), repeat=5), "s")

    imd = loader.load("england-imd-2025")
    path = ROOT / "tests" / "data" / "conformance" / "imd2025_england_lsoa21.csv"
    raw = data.read_table(path)
    prepared = data.prepare(imd, raw, str(path))
    ours = engine.run(imd, prepared)
    theirs = imd_pandas(prepared.to_pandas())
    assert (ours["IMD_rank"].to_numpy() == theirs["IMD_rank"].to_numpy()).all()
    pdf = prepared.to_pandas()
    t_pandas = timed(lambda: imd_pandas(pdf))
    t_ours = timed(lambda: engine.run(imd, prepared))
    report("imd_33755_pandas", t_pandas, "s")
    report("imd_33755", t_ours, "s", baseline=t_pandas)


if __name__ == "__main__":
    main()
