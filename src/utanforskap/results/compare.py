"""How our list agrees with other lists of areas, RegSO by RegSO.

References (all in the bundled store): Segregationsbarometern's områdestyp 2022
(1 = stora socioekonomiska utmaningar) and Polisen's utsatta områden 2025 (placed on RegSO
2020 by the area they cover, not by population).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import polars as pl

from utanforskap.errors import InputError
from utanforskap.observations.store import ObservationStore
from utanforskap.results.karta import MapResult


@dataclass(frozen=True)
class Reference:
    id: str
    namn: str
    variabel: str
    period: str
    koder: tuple[int, ...]  # values of the variable that count as listed


AREA_TYPE = "omradestyp"  # Segregationsbarometern: 1 (stora utmaningar) … 5
POLICE = "polisen_uso_2025"  # Polisen: 0 not named, 1 utsatt, 2 särskilt utsatt

REFERENCES = (
    Reference("omradestyp_1", "Segregationsbarometern områdestyp 1 (2022)", AREA_TYPE, "2022", (1,)),
    Reference("omradestyp_1_2", "Segregationsbarometern områdestyp 1–2 (2022)", AREA_TYPE, "2022", (1, 2)),
    Reference("polisen_2025", "Polisen utsatta och särskilt utsatta områden (2025)", POLICE, "2025", (1, 2)),
    Reference("polisen_sarskilt_2025", "Polisen särskilt utsatta områden (2025)", POLICE, "2025", (2,)),
)
# Each variable is read in one period (its lists' own), whatever other years the store has.
PERIODS = {ref.variabel: ref.period for ref in REFERENCES}
assert len({(r.variabel, r.period) for r in REFERENCES}) == len(PERIODS), "one period per reference variable"


def reference_codes(store: ObservationStore) -> pl.DataFrame:
    """regso_kod and each reference variable's code per RegSO (AREA_TYPE, POLICE), read in
    its reference period; a variable the store lacks is a column of nulls."""
    out = None
    for variabel, period in PERIODS.items():
        obs = store.read(niva="regso", period=period, variabler=[variabel])
        codes = obs.select(pl.col("omrade").alias("regso_kod"), pl.col("varde").cast(pl.Int64).alias(variabel))
        out = codes if out is None else out.join(codes, on="regso_kod", how="full", coalesce=True)
    assert out is not None
    return out


def reference_flags(store: ObservationStore) -> pl.DataFrame:
    """regso_kod and one boolean column per reference list."""
    codes = reference_codes(store)
    for ref in REFERENCES:
        if codes[ref.variabel].is_null().all():
            raise InputError(f"{store.root}: {ref.variabel} saknas för RegSO {ref.period}; jämförelsen kräver de paketerade data")
    return codes.select("regso_kod", *[pl.col(ref.variabel).is_in(list(ref.koder)).alias(ref.id) for ref in REFERENCES])


def _confusion(ours: pl.Expr, theirs: pl.Expr) -> list[pl.Expr]:
    return [
        (ours & theirs).sum().alias("bada"),
        (ours & ~theirs).sum().alias("bara_vara"),
        (~ours & theirs).sum().alias("bara_deras"),
        (~ours & ~theirs).sum().alias("ingen"),
    ]


def compare(result: MapResult, store: ObservationStore) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(list agreement, factor agreement) against every reference list.

    List agreement: the confusion table, precision (share of our areas on their list),
    recall (share of their areas on our list) and the residents in the overlap.
    Factor agreement: for each factor, the share of each list's areas flagged on it.
    """
    refs = reference_flags(store)
    om = result.areas.join(refs, on="regso_kod", how="left").with_columns(
        pl.col("klass").is_not_null().alias("__var"), *[pl.col(r.id).fill_null(False) for r in REFERENCES]
    )
    rows = []
    for ref in REFERENCES:
        c = om.select(
            *_confusion(pl.col("__var"), pl.col(ref.id)),
            pl.col("befolkning").filter(pl.col("__var") & pl.col(ref.id)).sum().alias("befolkning_bada"),
        ).row(0, named=True)
        ours, theirs = c["bada"] + c["bara_vara"], c["bada"] + c["bara_deras"]
        rows.append(
            {
                "referens": ref.namn,
                **{k: int(v) for k, v in c.items()},
                "precision": c["bada"] / ours if ours else None,
                "tackning": c["bada"] / theirs if theirs else None,
            }
        )
    lists = pl.DataFrame(rows)
    factor_rows = []
    for f in result.factors:
        if not f.flagga:
            continue
        row: dict[str, object] = {"faktor": f.id, "namn": f.namn, "status": f.status}
        for ref in REFERENCES:
            theirs = om.filter(pl.col(ref.id))
            row[ref.id] = float(cast(float, theirs[f.flagga].fill_null(False).mean())) if theirs.height else None
        row["alla_omraden"] = float(cast(float, om[f.flagga].fill_null(False).mean()))
        factor_rows.append(row)
    return lists, pl.DataFrame(factor_rows)
