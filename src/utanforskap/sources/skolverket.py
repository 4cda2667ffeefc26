"""Skolverket: final grades in year 9 per school unit (the official CSV export).

The file is ``;``-separated with a few lines of preamble; the header line is found by its
content, the school year from the line "Valt läsår: 2024/25". Cells ``..`` (too few pupils)
become status ``undertryckt``, ``.`` (no data) ``saknas``; ``~100`` (Skolverket hides a
share close to 100 %) is read as 100.

Schools are placed in their kommun by the kommun code. Stored per kommun so that values
add up by summing:

* ``elever_ak9``: pupils in schools whose count is published (a suppressed count means
  fewer than 10 pupils; those schools are counted in ``skolenheter_ak9_elevantal_undertryckt``);
* ``behoriga_yrkesprogram_ak9`` and ``alla_amnen_ak9``: ratios; taljare = share / 100 *
  pupils (derived, from a share rounded to one decimal), namnare = pupils, summed over the
  schools where both are published.

These are results by school, not by where pupils live (the official indicator counts
pupils by home area). The per-school table is bundled as a reference table.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import cast

import polars as pl

from utanforskap.errors import InputError
from utanforskap.geography.hierarchy import Geography
from utanforskap.observations import schema
from utanforskap.sources import parsing
from utanforskap.sources.parsing import cell_status, swedish_number
from utanforskap.sources.result import SourceResult

KALLA = "Skolverket slutbetyg åk 9"
# Skolverket's column label -> our column name.
COLUMNS = {
    "Skola": "skola",
    "Skol-enhetskod": "skolenhetskod",
    "Kommun-kod": "kommun_kod",
    "Typ av huvudman": "huvudmannatyp",
    "Antal elever": "elever",
    "Andel (%) elever som uppfyllt betygskriterierna i alla ämnen": "andel_alla_amnen",
    "Andel (%) elever behöriga till yrkesprog.": "andel_behoriga_yrkes",
    "Genomsnittligt meritvärde (17 ämnen)": "meritvarde",
}
_NUMERIC = ("elever", "andel_alla_amnen", "andel_behoriga_yrkes", "meritvarde")
_SHARES = {"behoriga_yrkesprogram_ak9": "andel_behoriga_yrkes", "alla_amnen_ak9": "andel_alla_amnen"}


def read_grades(path: Path, geo: Geography) -> SourceResult:
    path = Path(path)
    where = path.name
    lines = parsing.read_text(path, where).splitlines()
    header_i = next((i for i, ln in enumerate(lines) if "Skol-enhetskod" in ln and "Kommun-kod" in ln), None)
    if header_i is None:
        raise InputError(
            f"{where}: rubrikraden saknas (förväntade en rad med 'Skol-enhetskod' och 'Kommun-kod'); "
            "är det Skolverkets export av slutbetyg per skolenhet?"
        )
    year_line = next((ln for ln in lines[:header_i] if ln.startswith("Valt läsår:")), None)
    if year_line is None:
        raise InputError(f"{where}, rad 1–{header_i}: raden 'Valt läsår: ...' saknas ovanför rubrikraden")
    period = year_line.split(":", 1)[1].split(";")[0].strip()
    df = parsing.read_csv(io.StringIO("\n".join(lines[header_i:])), where, separator=";")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"{where}, rad {header_i + 1}: kolumnen {missing[0]!r} saknas i rubrikraden; "
            "Skolverket har ändrat filformatet — uppdatera COLUMNS i sources/skolverket.py"
        )
    df = _school_rows(df, header_i, where)
    geo.check_codes(df, "kommun_kod", "kommun", where, row_column="rad")
    df = _parse_values(df, where)

    kommuner = geo.codes("kommun").alias("omrade").to_frame()
    known = pl.col("elever").is_not_null()
    per_kommun = df.group_by(omrade="kommun_kod").agg(
        pl.col("elever").filter(known).sum().alias("elever_ak9"),
        (pl.col("elever_status") == "undertryckt").sum().cast(pl.Float64).alias("skolenheter_ak9_elevantal_undertryckt"),
        *(
            expr
            for var, col in _SHARES.items()
            for expr in (
                (pl.col(col) / 100 * pl.col("elever")).filter(known & pl.col(col).is_not_null()).sum().alias(f"{var}__t"),
                pl.col("elever").filter(known & pl.col(col).is_not_null()).sum().alias(f"{var}__n"),
            )
        ),
    )
    wide = kommuner.join(per_kommun, on="omrade", how="left").fill_null(0.0)
    base = dict(niva=pl.lit("kommun"), period=pl.lit(period), kalla=pl.lit(KALLA))
    frames = [
        wide.select(
            "omrade",
            pl.lit(var).alias("variabel"),
            pl.lit(None, pl.Float64).alias("taljare"),
            pl.lit(None, pl.Float64).alias("namnare"),
            pl.col(var).alias("varde"),
            pl.lit("antal").alias("enhet"),
            pl.lit(None, pl.String).alias("status"),
        )
        for var in ("elever_ak9", "skolenheter_ak9_elevantal_undertryckt")
    ]
    for var in _SHARES:
        t, n = pl.col(f"{var}__t"), pl.col(f"{var}__n")
        frames.append(
            wide.select(
                "omrade",
                pl.lit(var).alias("variabel"),
                t.alias("taljare"),
                n.alias("namnare"),
                pl.when(n > 0).then(t / n).alias("varde"),
                pl.lit("andel").alias("enhet"),
                pl.when(n > 0).then(None).otherwise(pl.lit("saknas")).alias("status"),
            )
        )
    obs = pl.concat(frames).with_columns(**base).select(list(schema.COLUMNS))
    ref = df.with_columns(lasar=pl.lit(period))
    rapport = {
        "skolenheter": df.height,
        "kommuner_med_skolor": df["kommun_kod"].n_unique(),
        "elevantal_undertryckt": int((df["elever_status"] == "undertryckt").sum()),
        "andel_behoriga_yrkes_ungefar_100": int(df["andel_behoriga_yrkes_ungefar"].sum()),
        "lasar": period,
    }
    return SourceResult(schema.conform(obs, where), {"skolenheter_ak9": ref}, rapport)


def _school_rows(df: pl.DataFrame, header_i: int, where: str) -> pl.DataFrame:
    """The rows from the header line to the first blank line; the notes below it are no schools.

    Every row of that block must have a school code (its kommun code is checked by the
    caller); a row with a school code below the blank line means the table was cut short.
    """
    blank = pl.all_horizontal((pl.col(c).str.strip_chars().fill_null("") == "") for c in df.columns)
    df = df.with_row_index("rad", offset=header_i + 2).select(
        pl.col("rad").cast(pl.Int64),
        blank.alias("_tom"),
        *(pl.col(k).str.strip_chars().replace("", None).alias(v) for k, v in COLUMNS.items()),
    )
    end = cast(int | None, df.filter(pl.col("_tom"))["rad"].min())
    schools, notes = (df, df.head(0)) if end is None else (df.filter(pl.col("rad") < end), df.filter(pl.col("rad") > end))
    is_code = pl.col("skolenhetskod").str.contains(r"^\d+$").fill_null(False)
    late = notes.filter(is_code)
    if late.height:
        raise InputError(
            f"{where}, rad {late['rad'][0]}: skolenheten {late['skolenhetskod'][0]} står efter den tomma raden {end}, "
            "där tabellen slutar; ta bort den tomma raden"
        )
    bad = schools.filter(~is_code)
    if bad.height:
        raise InputError(f"{where}, rad {bad['rad'][0]}: ogiltig skolenhetskod {bad['skolenhetskod'][0]!r}")
    if schools.is_empty():
        raise InputError(f"{where}: inga skolenheter under rubrikraden (rad {header_i + 1})")
    return schools.drop("_tom")


def _parse_values(df: pl.DataFrame, where: str) -> pl.DataFrame:
    out = []
    for col in _NUMERIC:
        raw = pl.col(col)
        out += [
            swedish_number(raw.str.replace("~", "", literal=True)).alias(col),  # ~100: Skolverket's "close to 100"
            cell_status(raw).alias(f"{col}_status"),
            raw.str.starts_with("~").fill_null(False).alias(f"{col}_ungefar"),
        ]
    parsed = df.with_columns(out)
    for col in _NUMERIC:
        bad = parsed.filter(pl.col(col).is_null() & pl.col(f"{col}_status").is_null())
        if bad.height:
            r = df.filter(pl.col("rad") == bad["rad"][0]).row(0, named=True)
            raise InputError(f"{where}, rad {r['rad']}: ogiltigt värde {r[col]!r} i {col} (förväntade tal, '..' eller '.')")
    neg = parsed.filter(pl.col("elever") < 0)
    if neg.height:
        r = neg.row(0, named=True)
        raise InputError(f"{where}, rad {r['rad']}: negativt antal elever {r['elever']:g} för skolenhet {r['skolenhetskod']}")
    for col in ("andel_alla_amnen", "andel_behoriga_yrkes"):
        over = parsed.filter((pl.col(col) > 100) | (pl.col(col) < 0))
        if over.height:
            r = over.row(0, named=True)
            raise InputError(
                f"{where}, rad {r['rad']}: andelen {r[col]:g} % i {col} för skolenhet {r['skolenhetskod']} ligger "
                "utanför 0–100 (täljaren blir större än nämnaren)"
            )
    return parsed
