"""Valmyndigheten's final riksdag results per valdistrikt, 2018 and 2022: turnout per kommun.

Two layouts (see shared/data/README.md):

* 2022 (``ri_tab4_2022.xlsx``): ``Valdistriktskod`` is 8-digit text, the 4-digit kommun code
  followed by the 4-digit district; rows ending 9800 are early votes not distributed by
  district ("Förtidsröster ej fördelade efter valdistrikt") with 0 eligible voters.
* 2018 (``2018_R_per_valdistrikt.xlsx``, sheet ``R antal``): LÄNSKOD, KOMMUNKOD and
  VALDISTRIKTSKOD are numbers whose leading zeros were lost; the kommun code is
  LL+KK and the district LL+KK+DDDD. "Uppsamlingsdistrikt" rows have 0 eligible voters.

Rows with 0 eligible voters are not places: they are left out of the district table, but
their voters belong to the kommun, so the kommun's voters include them (that is how the
published national turnouts, 87.2 % in 2018 and 84.2 % in 2022, come out).

Output: kommun rows of ``rostberattigade_riksdag`` and ``rostande_riksdag`` (counts; they
aggregate to län and riket) and a reference table ``valdistrikt_riksdag`` with one row per
district that has eligible voters. Valdistrikt are not DeSO or RegSO: no key links them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from utanforskap.errors import InputError
from utanforskap.geography.hierarchy import Geography
from utanforskap.observations import schema
from utanforskap.sources.result import SourceResult

KALLA = "Valmyndigheten valresultat per valdistrikt"
ELIGIBLE = "rostberattigade_riksdag"
VOTERS = "rostande_riksdag"
REFERENCE = "valdistrikt_riksdag"
FILES = {"2022": "ri_tab4_2022.xlsx", "2018": "2018_R_per_valdistrikt.xlsx"}
_SHEETS = {"2018": "R antal", "2022": None}
# Column names per layout: district code, district name, eligible, voters.
_COLUMNS = {
    "2022": ("Valdistriktskod", "Valdistriktsnamn", "Antal röstberättigade", "Antal röstande"),
    "2018": ("VALDISTRIKTSKOD", "VALDISTRIKTSNAMN", "RÖSTBERÄTTIGADE", "RÖSTANDE"),
}


def read_turnout(folder: Path, geo: Geography) -> SourceResult:
    """Read both riksdag elections from `folder` (shared/data/se/valmyndigheten_valdistrikt)."""
    folder = Path(folder)
    frames, reports = [], {}
    for year, name in FILES.items():
        path = folder / name
        if not path.exists():
            raise InputError(f"{path}: filen saknas; förväntade {', '.join(FILES.values())} i {folder}")
        districts, rep = read_election(path, year, geo)
        frames.append(districts)
        reports[year] = rep
    rows = pl.concat(frames, how="vertical")
    places = rows.filter(pl.col("rostberattigade") > 0)
    per_kommun = rows.group_by("val", "kommun_kod").agg(pl.col("rostberattigade").sum(), pl.col("rostande").sum())
    obs = pl.concat(
        [
            per_kommun.select(
                pl.col("kommun_kod").alias("omrade"),
                pl.lit("kommun").alias("niva"),
                pl.col("val").alias("period"),
                pl.lit(var).alias("variabel"),
                pl.lit(None, pl.Float64).alias("taljare"),
                pl.lit(None, pl.Float64).alias("namnare"),
                pl.col(col).cast(pl.Float64).alias("varde"),
                pl.lit("antal").alias("enhet"),
                pl.lit(KALLA).alias("kalla"),
                pl.lit(None, pl.String).alias("status"),
            )
            for var, col in ((ELIGIBLE, "rostberattigade"), (VOTERS, "rostande"))
        ],
        how="vertical",
    ).sort("variabel", "period", "omrade")
    names = geo.areas("kommun").select("kommun_kod", "kommun_namn")
    reference = (
        places.join(names, on="kommun_kod", how="left")
        .with_columns(valdeltagande=pl.col("rostande") / pl.col("rostberattigade"))
        .select("val", "kommun_kod", "kommun_namn", "valdistrikt_kod", "valdistrikt_namn", "rostberattigade", "rostande", "valdeltagande")
        .sort("val", "kommun_kod", "valdistrikt_kod")
    )
    return SourceResult(schema.conform(obs, folder.name), referens={REFERENCE: reference}, rapport=reports)


def read_election(path: Path, year: str, geo: Geography) -> tuple[pl.DataFrame, dict[str, Any]]:
    """One file as rows: val, kommun_kod, valdistrikt_kod, valdistrikt_namn, rostberattigade, rostande, rad."""
    where = path.name
    code_col, name_col, eligible_col, voters_col = _COLUMNS[year]
    try:
        raw = pl.read_excel(path, sheet_name=_SHEETS[year], infer_schema_length=0) if _SHEETS[year] else pl.read_excel(
            path, infer_schema_length=0
        )
    except Exception as exc:  # fastexcel raises several types for unreadable files or a missing sheet
        raise InputError(f"{where}: kan inte läsa Excel-filen{' (bladet ' + repr(_SHEETS[year]) + ')' if _SHEETS[year] else ''}: {exc}") from exc
    needed = [code_col, name_col, eligible_col, voters_col] + (["LÄNSKOD", "KOMMUNKOD"] if year == "2018" else [])
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise InputError(f"{where}, rad 1: kolumnen {missing[0]!r} saknas; förväntade {', '.join(needed)}")
    df = raw.with_row_index("rad", offset=2).with_columns(pl.col("rad").cast(pl.Int64))
    if year == "2018":
        lan = pl.col("LÄNSKOD").str.strip_chars().str.zfill(2)
        kommun = lan + pl.col("KOMMUNKOD").str.strip_chars().str.zfill(2)
        district = kommun + pl.col(code_col).str.strip_chars().str.zfill(4)
        df = df.with_columns(kommun_kod=kommun, valdistrikt_kod=district)
        bad = df.filter(
            ~pl.col("LÄNSKOD").str.strip_chars().str.contains(r"^\d{1,2}$").fill_null(False)
            | ~pl.col("KOMMUNKOD").str.strip_chars().str.contains(r"^\d{1,2}$").fill_null(False)
            | ~pl.col(code_col).str.strip_chars().str.contains(r"^\d{1,4}$").fill_null(False)
        )
    else:
        code = pl.col(code_col).str.strip_chars()
        df = df.with_columns(kommun_kod=code.str.slice(0, 4), valdistrikt_kod=code)
        bad = df.filter(~code.str.contains(r"^\d{8}$").fill_null(False))
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(f"{where}, rad {r['rad']}: valdistriktskoden {r[code_col]!r} har fel form ({bad.height} rader)")
    counts = df.with_columns(
        rostberattigade=pl.col(eligible_col).str.strip_chars().cast(pl.Int64, strict=False),
        rostande=pl.col(voters_col).str.strip_chars().cast(pl.Int64, strict=False),
    )
    bad = counts.filter(
        pl.col("rostberattigade").is_null() | pl.col("rostande").is_null() | (pl.col("rostberattigade") < 0) | (pl.col("rostande") < 0)
    )
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(
            f"{where}, rad {r['rad']}: röstberättigade {r[eligible_col]!r} och röstande {r[voters_col]!r} måste vara heltal ≥ 0"
        )
    over = counts.filter((pl.col("rostberattigade") > 0) & (pl.col("rostande") > pl.col("rostberattigade")))
    if over.height:
        r = over.row(0, named=True)
        raise InputError(f"{where}, rad {r['rad']}: fler röstande ({r['rostande']}) än röstberättigade ({r['rostberattigade']})")
    known = geo.codes("kommun")
    unknown = counts.filter(~pl.col("kommun_kod").is_in(known.implode()))
    if unknown.height:
        r = unknown.row(0, named=True)
        raise InputError(
            f"{where}, rad {r['rad']}: kommunkoden {r['kommun_kod']} (ur valdistriktet {r['valdistrikt_kod']}) finns inte "
            f"bland rikets {known.len()} kommuner ({unknown.height} rader)"
        )
    dup = counts.filter((pl.col("rostberattigade") > 0) & pl.col("valdistrikt_kod").is_duplicated())
    if dup.height:
        r = dup.row(0, named=True)
        raise InputError(f"{where}, rad {r['rad']}: valdistriktet {r['valdistrikt_kod']} förekommer mer än en gång")
    out = counts.select(
        pl.lit(year).alias("val"),
        "kommun_kod",
        "valdistrikt_kod",
        pl.col(name_col).str.strip_chars().alias("valdistrikt_namn"),
        "rostberattigade",
        "rostande",
        "rad",
    )
    empty = out.filter(pl.col("rostberattigade") == 0)
    missing_kommuner = known.filter(~known.is_in(out["kommun_kod"].implode()))
    if missing_kommuner.len():
        raise InputError(f"{where}: kommunen {missing_kommuner[0]} saknas i filen ({missing_kommuner.len()} kommuner saknas)")
    eligible, voters = int(out["rostberattigade"].sum()), int(out["rostande"].sum())
    report = {
        "rader": out.height,
        "valdistrikt": out.height - empty.height,
        "utan_rostberattigade": empty.height,
        "rostande_utan_valdistrikt": int(empty["rostande"].sum()),
        "rostberattigade": eligible,
        "rostande": voters,
        "valdeltagande": round(voters / eligible, 4) if eligible else None,
        "kommuner": int(out["kommun_kod"].n_unique()),
    }
    return out, report
