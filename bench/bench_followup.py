"""Uppföljning speed: `utanforskap uppfoljning` over 6 years x 3 363 RegSO from a store (the
whole process), the comparison of the years against a pandas baseline, aggregation of a
multi-year synthetic panel against a single year (persons per second), and the movers and
stayers split for all RegSO and all years against a pandas baseline.

Environment: BENCH_UPPFOLJNING_LAGER (a store to run on instead of the synthetic panel's,
with BENCH_UPPFOLJNING_METOD), BENCH_PANEL_PERSONER (default 1 000 000 persons per year; the issue's target is
the full population, 10,5 M, which needs the time and memory of an idle machine)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
import itertools

from common import report, timed

from utanforskap.followup import export, movers, series
from utanforskap.microdata import aggregate as ag
from utanforskap.microdata import panel
from utanforskap.observations.store import ObservationStore

YEARS = list(range(2019, 2025))


def changes_pandas(areas: pd.DataFrame, flags: list[str]) -> pd.DataFrame:
    """Entries and exits between consecutive years written plainly in pandas (the baseline)."""
    df = areas.sort_values(["regso_kod", "ar"]).copy()
    df["listad"] = df["klass"].notna()
    g = df.groupby("regso_kod")
    df["listad_fore"] = g["listad"].shift(1)
    df["listad_efter"] = g["listad"].shift(-1)
    for f in flags:
        df[f + "_fore"] = g[f].shift(1)
    df = df[df["listad_fore"].notna()]
    df["andring"] = None
    df.loc[~df["listad_fore"].astype(bool) & df["listad"], "andring"] = "in"
    df.loc[df["listad_fore"].astype(bool) & ~df["listad"], "andring"] = "ut"
    out = df[df["andring"].notna()].copy()
    out["andrade"] = out.apply(lambda r: ", ".join(f for f in flags if r[f] != r[f + "_fore"]), axis=1)
    out["bekraftad"] = (out["andring"] == "ut") & (out["listad_efter"] == False)
    return out


def decompose_pandas(persons: pd.DataFrame, num: str, den: str, groups: pd.DataFrame) -> pd.DataFrame:
    p = persons.merge(groups, on="deso", how="left")
    out = []
    for y0, y1 in itertools.pairwise(YEARS):
        a, b = p[p.ar == y0], p[p.ar == y1]
        j = a.merge(b, on="lopnr", how="outer", suffixes=("", "_1"))
        same = j["grupp"].notna() & (j["grupp"] == j["grupp_1"])
        s = j[same].groupby("grupp")[[num, den, num + "_1", den + "_1"]].sum()
        o = j[j["grupp"].notna() & ~same].groupby("grupp")[[num, den]].sum()
        i = j[j["grupp_1"].notna() & ~same].groupby("grupp_1")[[num + "_1", den + "_1"]].sum()
        w = s.join(o, how="outer", suffixes=("", "_O")).join(i, how="outer", suffixes=("", "_I")).fillna(0)
        r0 = (w[num] + w[num + "_O"]) / (w[den] + w[den + "_O"])
        r1 = (w[num + "_1"] + w[num + "_1_I"]) / (w[den + "_1"] + w[den + "_1_I"])
        rs0, rs1 = w[num] / w[den], w[num + "_1"] / w[den + "_1"]
        out.append(pd.DataFrame({"kvar": rs1 - rs0, "in": r1 - rs1, "ut": rs0 - r0, "andring": r1 - r0}))
    return pd.concat(out)


def excel_cell_by_cell(fu, frames: dict, path: Path) -> None:
    """The baseline for the workbook: polars' write_excel (xlsxwriter, cell by cell, autofit),
    as the follow-up wrote it before the column-wise writer."""
    import xlsxwriter

    with xlsxwriter.Workbook(str(path)) as wb:
        for title, key in (("Sammanfattning", "sammanfattning"), ("Förändringar", "forandringar"), ("Kommuner per år", "kommuner"),
                           ("Områden per år", "omraden"), ("Faktorer och år", "faktorer"), ("Brott i serierna", "seriebrott")):
            export._swedish(fu, frames[key]).write_excel(wb, worksheet=title, autofit=True, freeze_panes=(1, 0))


def main() -> None:
    # 1. The whole process from a store: the synthetic panel's store (built once, cached), or
    #    BENCH_UPPFOLJNING_LAGER (a store with 6 years x 3 363 RegSO).
    lager = os.environ.get("BENCH_UPPFOLJNING_LAGER")
    store = ObservationStore(Path(lager)) if lager else panel.panel_store(YEARS)
    metod = os.environ.get("BENCH_UPPFOLJNING_METOD", "se-utanforskap-2024")
    with tempfile.TemporaryDirectory() as tmp:
        def run() -> None:
            res = subprocess.run(
                [sys.executable, "-m", "utanforskap", "uppfoljning", "--fran", "2019", "--till", "2024", "--data", str(store.root),
                 "--metod", metod, "--ut", tmp],
                capture_output=True, text=True, check=False,
            )
            if res.returncode != 0:
                raise SystemExit(res.stderr)

        whole = timed(run, repeat=3, warmup=1)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    report("uppfoljning_6ar_3363_regso_hela_processen", whole, "s")
    # Processor time of one run (user + system, all threads): the wall time on an idle machine is
    # at most this; on a shared machine the wall time above is much longer.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report("uppfoljning_6ar_3363_regso_processortid", cpu, "s")

    # 2. The comparison of the years alone (polars) against pandas.
    fu = series.follow_up(metod, YEARS, str(store.root))
    frames = export.tables(fu)
    with tempfile.TemporaryDirectory() as tmp:
        ours_x = timed(lambda: export._excel(fu, frames, Path(tmp) / "a.xlsx"), repeat=3)
        base_x = timed(lambda: excel_cell_by_cell(fu, frames, Path(tmp) / "b.xlsx"), repeat=1, warmup=0)
    report("uppfoljning_arbetsbok_xlsx", ours_x, "s", baseline=base_x)
    classes = series.karta.classes(fu.maps[YEARS[0]])
    rank = {k: len(classes) - i for i, k in enumerate(classes)}
    areas = fu.areas.drop("datakalla")
    ours = timed(lambda: series._changes(areas, fu.factors, rank, fu.thresholds), repeat=7)
    flags = [f.flagga for f in fu.factors]
    pdf = areas.select("regso_kod", "ar", "klass", *flags).to_pandas()
    base = timed(lambda: changes_pandas(pdf, flags), repeat=3)
    report("uppfoljning_forandringar_6ar", ours, "s", baseline=base)

    # 3. Aggregation of a multi-year panel against a single year (persons per second).
    n = int(os.environ.get("BENCH_PANEL_PERSONER", "1000000"))
    tables = dict(panel.draw_panel(YEARS, personer=n, seed=2022))
    one = tables[2022]
    allyears = pa.concat_tables([tables[y] for y in YEARS])
    t1 = timed(lambda: ag.count(one, "deso"), repeat=3)
    t6 = timed(lambda: ag.count(allyears, "deso"), repeat=3)
    report("aggregera_ett_ar_personer_per_s", one.num_rows / t1, "personer/s")
    report("aggregera_panel_6ar_personer_per_s", allyears.num_rows / t6, "personer/s", baseline=None)
    print(f"# panel: {allyears.num_rows} personår; ett år {t1:.2f} s, sex år {t6:.2f} s (ratio genomströmning {allyears.num_rows / t6 / (one.num_rows / t1):.2f})")

    # 4. Movers and stayers for all RegSO and all years (person values, then the split).
    ratios = {"sysselsatta": ("sysselsatta_20_64", "befolkning_20_64", 1.0)}
    t0 = time.perf_counter()
    values = movers.person_values(allyears, ["sysselsatta_20_64", "befolkning_20_64"])
    tv = time.perf_counter() - t0
    groups = series.karta.geography.areas("deso").select(pl.col("deso_kod").alias("deso"), pl.col("regso_kod").alias("grupp"))
    td = timed(lambda: movers.decompose(values, ratios, YEARS, groups=groups), repeat=3)
    pv, pg = values.to_pandas(), groups.to_pandas()
    tb = timed(lambda: decompose_pandas(pv, "sysselsatta_20_64", "befolkning_20_64", pg), repeat=1, warmup=0)
    report("flyttare_kvarboende_alla_regso_6ar", td, "s", baseline=tb)
    report("flyttare_kvarboende_med_personvarden", td + tv, "s")
    print(f"# {allyears.num_rows} personår ({n} personer per år); personvärden {tv:.2f} s, uppdelning {td:.2f} s")


if __name__ == "__main__":
    main()
