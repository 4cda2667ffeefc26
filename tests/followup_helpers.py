"""A small observation store over several years for the follow-up tests: the bundled RegSO
figures for 2022 with every numerator moved by a seeded random factor per area and year
(TEST DATA, not real: only the layout is real)."""

from pathlib import Path

import numpy as np
import polars as pl

from utanforskap.observations.store import ObservationStore
from utanforskap.sources import bundle

VARIABLES = [
    "befolkning", "befolkning_0_19", "sysselsatta_16_64", "befolkning_16_64", "lag_ekonomisk_standard",
    "utb_forgymnasial_25_64", "befolkning_25_64", "personer_flerbostadshus", "lgh_hyresratt", "lgh_bostadsratt",
    "brott_urval",
]
NUMERATORS = {"sysselsatta_16_64", "utb_forgymnasial_25_64", "personer_flerbostadshus", "brott_urval"}


def multi_year_store(root: Path, years=range(2019, 2025), seed: int = 7, drop: dict | None = None) -> ObservationStore:
    base = bundle.default_store()
    obs = base.read(niva="regso", period="2022", variabler=VARIABLES)
    rng = np.random.default_rng(seed)
    frames = []
    for y in years:
        f = rng.lognormal(0.0, 0.15, obs.height)
        df = obs.with_columns(pl.lit(str(y)).alias("period"), pl.Series("_f", f))
        moved = pl.col("variabel").is_in(list(NUMERATORS))
        df = df.with_columns(
            pl.when(moved).then((pl.col("varde") * pl.col("_f")).round(0)).otherwise(pl.col("varde")).alias("varde"),
            pl.when(pl.col("variabel") == "lag_ekonomisk_standard")
            .then(pl.min_horizontal(pl.col("namnare"), (pl.col("taljare") * pl.col("_f")).round(0)))
            .otherwise(pl.col("taljare")).alias("taljare"),
        ).drop("_f")
        # a moved numerator never exceeds its denominator
        df = df.with_columns(
            pl.when(pl.col("variabel") == "lag_ekonomisk_standard").then(pl.col("taljare") / pl.col("namnare")).otherwise(pl.col("varde")).alias("varde")
        )
        frames.append(df)
    all_years = pl.concat(frames)
    wide = all_years.filter(pl.col("variabel").is_in(["sysselsatta_16_64", "befolkning_16_64"]))
    cap = wide.pivot(on="variabel", index=["omrade", "period"], values="varde")
    all_years = all_years.join(cap.select("omrade", "period", pl.col("befolkning_16_64").alias("_cap")), on=["omrade", "period"], how="left")
    all_years = all_years.with_columns(
        pl.when(pl.col("variabel") == "sysselsatta_16_64").then(pl.min_horizontal("varde", "_cap")).otherwise(pl.col("varde")).alias("varde")
    ).drop("_cap")
    for variable, gone in (drop or {}).items():
        all_years = all_years.filter(~((pl.col("variabel") == variable) & pl.col("period").is_in([str(g) for g in gone])))
    store = ObservationStore(root)
    store.write({"test": all_years.with_columns(pl.lit("TESTDATA").alias("kalla"))})
    return store
