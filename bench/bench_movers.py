"""Movers and stayers (flyttare och kvarboende) for all RegSO and all years at the full
population: the issue's target is under 10 s for 6 years x 10,5 M persons.

A SYNTETISK panel (microdata.panel.draw_panel, the same persons year after year) is drawn one
year at a time and reduced to the person values the split needs (lopnr, ar, deso, employed
20-64, persons 20-64), so memory holds one year's full table at a time. The split
(followup.movers.decompose) then runs in its own process, which reports its processor time,
wall time and peak memory; runs alternate with the baseline, the previous implementation
(one sort of all person-years by person, shifts and group-bys in polars), in the same run.
A plain pandas version (merges per pair of years) is timed on a smaller panel with ours.

    python bench/bench_movers.py [--personer N] [--pandas-personer N] [--upprepa 2]

--personer defaults to the synthetic model's full population (10,5 M a year)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from common import report  # noqa: E402

YEARS = list(range(2019, 2025))
RATIOS = {"sysselsatta": ("sysselsatta_20_64", "befolkning_20_64", 1.0)}


def sums_sorted(persons: pl.DataFrame, cols: list[str], years: list[int], groups: pl.DataFrame) -> pl.DataFrame:
    """The baseline: movers._sums as it was before (sort by person and year, shift, group-by)."""
    from utanforskap.microdata.panel import LOPNR

    p = persons.filter(pl.col("ar").is_in(years)).join(groups, on="deso", how="left").select(LOPNR, "ar", "grupp", *cols)
    order = {y: i for i, y in enumerate(years)}
    p = p.with_columns(_i=pl.col("ar").replace_strict(order, return_dtype=pl.Int32)).sort(LOPNR, "_i")
    same_prev = (pl.col(LOPNR).shift(1) == pl.col(LOPNR)) & (pl.col("_i").shift(1) == pl.col("_i") - 1)
    same_next = (pl.col(LOPNR).shift(-1) == pl.col(LOPNR)) & (pl.col("_i").shift(-1) == pl.col("_i") + 1)
    p = p.with_columns(
        _g_prev=pl.when(same_prev).then(pl.col("grupp").shift(1)),
        _g_next=pl.when(same_next).then(pl.col("grupp").shift(-1)),
        **{f"{c}__prev": pl.when(same_prev).then(pl.col(c).shift(1)) for c in cols},
    )
    stay_now = pl.col("grupp").is_not_null() & (pl.col("_g_prev") == pl.col("grupp")).fill_null(False)
    leaves = pl.col("grupp").is_not_null() & ~(pl.col("_g_next") == pl.col("grupp")).fill_null(False)
    stay = p.filter(stay_now).group_by("grupp", "_i").agg(
        *[pl.col(f"{c}__prev").sum().alias(f"{c}__S0") for c in cols], *[pl.col(c).sum().alias(f"{c}__S1") for c in cols])
    in_m = p.filter(pl.col("grupp").is_not_null() & ~stay_now & (pl.col("_i") > 0)).group_by("grupp", "_i").agg(
        *[pl.col(c).sum().alias(f"{c}__I") for c in cols])
    out_m = p.filter(leaves & (pl.col("_i") < len(years) - 1)).group_by("grupp", (pl.col("_i") + 1).alias("_i")).agg(
        *[pl.col(c).sum().alias(f"{c}__O") for c in cols])
    keys = pl.concat([stay.select("grupp", "_i"), in_m.select("grupp", "_i"), out_m.select("grupp", "_i")]).unique()
    w = keys.join(stay, on=["grupp", "_i"], how="left").join(out_m, on=["grupp", "_i"], how="left").join(in_m, on=["grupp", "_i"], how="left").fill_null(0.0)
    back = {i: y for y, i in order.items()}
    return w.with_columns(
        fran_ar=(pl.col("_i") - 1).replace_strict(back, return_dtype=pl.Int64), till_ar=pl.col("_i").replace_strict(back, return_dtype=pl.Int64),
    ).drop("_i")


def decompose_pandas(persons, groups):
    """A plain pandas version: per pair of years, an outer merge of the two years by person
    (bench_followup's baseline, imported here so that pandas loads only for it)."""
    from bench_followup import decompose_pandas as by_pairs

    num, den = RATIOS["sysselsatta"][:2]
    return by_pairs(persons, num, den, groups)


def groups_frame() -> pl.DataFrame:
    from utanforskap import geography

    return geography.areas("deso").select(pl.col("deso_kod").alias("deso"), pl.col("regso_kod").alias("grupp"))


def draw_values(n: int | None, target: Path) -> tuple[int, float, float]:
    """The panel's person values into `target` (parquet); (person-years, wall s, processor s)."""
    from utanforskap.followup import movers
    from utanforskap.microdata import panel

    t0, c0 = time.perf_counter(), time.process_time()
    parts = []
    for _, table in panel.draw_panel(YEARS, personer=n, seed=2022):
        parts.append(movers.person_values(table, ["sysselsatta_20_64", "befolkning_20_64"]))
        del table
    values = pl.concat(parts)
    del parts
    values.write_parquet(target)
    return values.height, time.perf_counter() - t0, time.process_time() - c0


def child(which: str, values: Path) -> None:
    """One timed split in this process; prints a JSON line."""
    from utanforskap.followup import movers

    persons = pl.read_parquet(values)
    groups = groups_frame()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if which == "pandas":
        pp, pg = persons.to_pandas(), groups.to_pandas()
        run = lambda: decompose_pandas(pp, pg)  # noqa: E731
    else:
        if which == "baslinje":
            movers._sums = sums_sorted
        run = lambda: movers.decompose(persons, RATIOS, YEARS, groups=groups)  # noqa: E731
    t0, c0 = time.perf_counter(), time.process_time()
    out = run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_gb": rss / 1024 / 1024, "rss_indata_gb": base_rss / 1024 / 1024,
                      "rows": len(out), "person_years": persons.height}))


def timed_child(which: str, values: Path) -> dict:
    res = subprocess.run([sys.executable, __file__, "--barn", which, "--varden", str(values)], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--personer", type=int, default=None, help="personer per år (standard: hela befolkningen i modellen)")
    ap.add_argument("--pandas-personer", type=int, default=200_000)
    ap.add_argument("--upprepa", type=int, default=2)
    ap.add_argument("--barn", choices=["ny", "baslinje", "pandas"], default=None)
    ap.add_argument("--varden", type=Path, default=None)
    args = ap.parse_args()
    if args.barn:
        child(args.barn, args.varden)
        return
    print(f"# belastning vid start: {os.getloadavg()[0]:.1f} (2 kärnor delade med andra jobb: jämför processortiden)", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-flyttare-") as tmp:
        full = Path(tmp) / "varden.parquet"
        rows, wall, cpu = draw_values(args.personer, full)
        print(f"# SYNTETISK panel: {rows} personår ({len(YEARS)} år) dragen och reducerad till personvärden på {wall:.0f} s "
              f"({cpu:.0f} s processortid); högst {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024:.1f} GB minne", flush=True)
        runs: dict[str, list[dict]] = {"ny": [], "baslinje": []}
        for _ in range(args.upprepa):  # alternate: ours, baseline, ours, baseline
            for which in ("ny", "baslinje"):
                r = timed_child(which, full)
                runs[which].append(r)
                print(f"# {which}: {r['cpu']:.2f} s processortid, {r['wall']:.2f} s väggtid, högst {r['rss_gb']:.2f} GB "
                      f"(varav indata {r['rss_indata_gb']:.2f} GB), {r['rows']} rader", flush=True)
        best = lambda which, key: min(r[key] for r in runs[which])  # noqa: E731
        report(f"flyttare_kvarboende_alla_regso_6ar_{rows}_personar_processortid", best("ny", "cpu"), "s", baseline=best("baslinje", "cpu"), goal="< 10 s")
        report(f"flyttare_kvarboende_alla_regso_6ar_{rows}_personar_vaggtid", best("ny", "wall"), "s", baseline=best("baslinje", "wall"))
        report("flyttare_kvarboende_hogsta_minne", max(r["rss_gb"] for r in runs["ny"]), "GB", baseline=max(r["rss_gb"] for r in runs["baslinje"]))

        small = Path(tmp) / "varden_liten.parquet"
        srows, _, _ = draw_values(args.pandas_personer, small)
        ours, pandas_ = timed_child("ny", small), timed_child("pandas", small)
        report(f"flyttare_kvarboende_{srows}_personar_mot_pandas_processortid", ours["cpu"], "s", baseline=pandas_["cpu"])


if __name__ == "__main__":
    main()
