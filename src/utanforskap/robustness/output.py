"""The run written to a directory, atomically: omraden.csv, lista.csv, kanslighet.csv,
oat.csv and sammanfattning.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from utanforskap.atomic import atomic_dir
from utanforskap.robustness.montecarlo import Run
from utanforskap.robustness.sensitivity import Sensitivity


def area_table(run: Run, sens: Sensitivity | None) -> pl.DataFrame:
    """omraden.csv: the per-area table with the binding parameter when sensitivity ran."""
    areas = run.areas
    if sens is not None:
        areas = areas.join(sens.binding, on="regso_kod", how="left", maintain_order="left")
    return areas


def summary(run: Run, sens: Sensitivity | None) -> dict:
    setup = run.setup
    out = {
        "metod": setup.result.method.id,
        "ar": setup.result.year,
        "data": setup.result.source.description,
        "osakerhet_fran": setup.spec_source,
        "osakerhet": setup.spec.beskrivning,
        **run.summary(),
    }
    if sens is not None:
        out["sobol_bas_sampel"] = sens.base_samples
        out["mest_kanslig"] = sens.table["parameter"].to_list()
    return out


def write(run: Run, sens: Sensitivity | None, directory: str | os.PathLike[str]) -> list[Path]:
    target = Path(directory)
    names = ["omraden.csv", "lista.csv", "sammanfattning.json"] + (["kanslighet.csv", "oat.csv"] if sens is not None else [])
    with atomic_dir(target) as tmp:
        area_table(run, sens).write_csv(tmp / "omraden.csv")
        run.per_draw.write_csv(tmp / "lista.csv")
        if sens is not None:
            sens.table.write_csv(tmp / "kanslighet.csv")
            sens.sweeps.write_csv(tmp / "oat.csv")
        (tmp / "sammanfattning.json").write_text(json.dumps(summary(run, sens), ensure_ascii=False, indent=2), encoding="utf-8")
    return [target / n for n in names]
