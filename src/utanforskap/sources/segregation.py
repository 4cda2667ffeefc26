"""Segregationsbarometern's områdestyp (1-5) per RegSO, 2022 and 2023 (SCB/Delmos, now Boverket).

Two files: the RegSO table as SCB publishes it, labelled "Kommun (RegSO-namn)", and the
same index joined to every DeSO with the RegSO code. RegSO names repeat across kommuner
and may carry parentheses, so codes come from the DeSO file's ``RegSOkod_2020`` column (one
value per RegSO, checked) and the RegSO file is matched by building the label
"<kommunnamn> (<RegSO-namn>)" from the key table; every RegSO's type is cross-checked
between the two files, and disagreements or unmatched labels raise InputError.

Stored as a classification: variable ``omradestyp``, enhet ``kod``, aggregering ``ej``.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from utanforskap.errors import InputError
from utanforskap.geography.hierarchy import Geography
from utanforskap.observations import schema
from utanforskap.sources import parsing
from utanforskap.sources.result import SourceResult

KALLA = "SCB/Delmos områdestyp"
_DESO_COLUMNS = ("DeSO_2018", "RegSOkod_2020", "socioekonomiskt_index")


def read_area_types(regso_file: Path, deso_file: Path, geo: Geography) -> SourceResult:
    regso_file, deso_file = Path(regso_file), Path(deso_file)
    by_code, period = _from_deso_file(deso_file, geo)
    by_label = _from_regso_file(regso_file)
    if by_label["period"].n_unique() != 1 or by_label["period"][0] != period:
        raise InputError(f"{regso_file.name}: året {by_label['period'][0]} skiljer sig från DeSO-filens {period}")

    labels = geo.areas("regso").select(
        "regso_kod", pl.concat_str("kommun_namn", pl.lit(" ("), "regso_namn", pl.lit(")")).alias("etikett")
    )
    ambiguous = labels.filter(pl.col("etikett").is_duplicated())
    checked = by_code.join(labels, on="regso_kod", how="left").join(
        by_label.select("etikett", "rad", pl.col("typ").alias("typ_regsofil")), on="etikett", how="left"
    )
    unmatched = by_label.join(labels, on="etikett", how="anti")
    if unmatched.height:
        r = unmatched.row(0, named=True)
        raise InputError(
            f"{regso_file.name}, rad {r['rad']}: etiketten {r['etikett']!r} motsvarar inget RegSO i nyckeltabellen "
            f"({unmatched.height} etiketter utan träff)"
        )
    disagree = checked.filter(pl.col("typ_regsofil").is_not_null() & (pl.col("typ_regsofil") != pl.col("typ")))
    if disagree.height:
        r = disagree.row(0, named=True)
        raise InputError(
            f"{regso_file.name}, rad {r['rad']}: områdestyp {r['typ_regsofil']:g} för {r['etikett']!r} men "
            f"{r['typ']:g} i {deso_file.name} ({r['regso_kod']}); filerna motsäger varandra"
        )
    obs = by_code.select(
        pl.col("regso_kod").alias("omrade"),
        pl.lit("regso").alias("niva"),
        pl.lit(period).alias("period"),
        pl.lit("omradestyp").alias("variabel"),
        pl.lit(None, pl.Float64).alias("taljare"),
        pl.lit(None, pl.Float64).alias("namnare"),
        pl.col("typ").alias("varde"),
        pl.lit("kod").alias("enhet"),
        pl.lit(KALLA).alias("kalla"),
        pl.lit(None, pl.String).alias("status"),
    )
    rapport = {
        "regso": by_code.height,
        "per_typ": {str(int(k)): int(v) for k, v in by_code.group_by("typ").len().sort("typ").iter_rows()},
        "korskontrollerade_mot_regsofilen": int(checked["typ_regsofil"].is_not_null().sum()),
        "tvetydiga_etiketter": ambiguous["etikett"].to_list(),
    }
    return SourceResult(schema.conform(obs, deso_file.name), rapport=rapport)


def read_area_types_years(pairs: Sequence[tuple[Path, Path]], geo: Geography) -> SourceResult:
    """Several years (one RegSO file and one DeSO file per year), as one result: the type per
    RegSO and year, and in the report how many RegSO entered and left type 1 between years."""
    results = [read_area_types(r, d, geo) for r, d in pairs]
    obs = pl.concat([r.observationer for r in results]).sort("period", "omrade")
    periods = sorted(obs["period"].unique().to_list())
    if len(periods) != len(results):
        raise InputError(f"{pairs[-1][1].name}: två filer gäller samma år ({', '.join(periods)})")
    rapport = {p: r.rapport for p, r in zip(periods, results, strict=False)}
    wide = obs.pivot(on="period", index="omrade", values="varde")
    for a, b in itertools.pairwise(periods):
        rapport[f"typ_1_{a}_{b}"] = {
            "in": int(((wide[a] != 1) & (wide[b] == 1)).sum()),
            "ut": int(((wide[a] == 1) & (wide[b] != 1)).sum()),
            "kvar": int(((wide[a] == 1) & (wide[b] == 1)).sum()),
        }
    return SourceResult(obs, rapport=rapport)


def _from_deso_file(path: Path, geo: Geography) -> tuple[pl.DataFrame, str]:
    where = path.name
    df = parsing.read_csv(path, where, encoding="utf8")
    missing = [c for c in _DESO_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{where}, rad 1: kolumnen {missing[0]!r} saknas; förväntade {', '.join(_DESO_COLUMNS)}")
    df = df.with_row_index("rad", offset=2).with_columns(
        pl.col("rad").cast(pl.Int64), typ=pl.col("socioekonomiskt_index").cast(pl.Float64, strict=False)
    )
    geo.check_codes(df, "DeSO_2018", "deso", where, row_column="rad")
    geo.check_codes(df, "RegSOkod_2020", "regso", where, row_column="rad")
    bad = df.filter(~pl.col("typ").is_in([1.0, 2.0, 3.0, 4.0, 5.0]).fill_null(False))
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(f"{where}, rad {r['rad']}: områdestypen {r['socioekonomiskt_index']!r} är inte 1–5")
    key = geo.mapping("deso", "regso")
    wrong = df.join(key, left_on="DeSO_2018", right_on="deso_kod").filter(pl.col("RegSOkod_2020") != pl.col("regso_kod"))
    if wrong.height:
        r = wrong.row(0, named=True)
        raise InputError(
            f"{where}, rad {r['rad']}: DeSO {r['DeSO_2018']} ligger i RegSO {r['regso_kod']} enligt nyckeltabellen, "
            f"inte {r['RegSOkod_2020']}"
        )
    per = df.group_by(regso_kod="RegSOkod_2020").agg(pl.col("typ").n_unique().alias("n"), pl.col("typ").first(), pl.col("rad").min())
    split = per.filter(pl.col("n") > 1)
    if split.height:
        r = split.row(0, named=True)
        raise InputError(f"{where}, rad {r['rad']}: RegSO {r['regso_kod']} har olika områdestyp på olika DeSO")
    all_regso = geo.codes("regso")
    absent = all_regso.filter(~all_regso.is_in(per["regso_kod"].implode()))
    if absent.len():
        raise InputError(f"{where}: RegSO {absent[0]} saknas i filen ({absent.len()} RegSO saknas)")
    year = re.search(r"(\d{4})", path.stem)
    return per.select("regso_kod", "typ").sort("regso_kod"), year.group(1) if year else "2022"


def _from_regso_file(path: Path) -> pl.DataFrame:
    where = path.name
    text = parsing.read_text(path, where)
    df = parsing.read_csv(io.StringIO(text), where, has_header=True, truncate_ragged_lines=True)
    years = [c for c in df.columns[1:] if c.strip().isdigit() and len(c.strip()) == 4]
    if not years:
        raise InputError(f"{where}, rad 1: rubrikraden saknar årtal (förväntade t.ex. ',2022')")
    year = years[-1]
    df = df.with_row_index("rad", offset=2).select(
        pl.col("rad").cast(pl.Int64),
        pl.col(df.columns[0]).str.strip_chars().alias("etikett"),
        pl.col(year).str.strip_chars().alias("_v"),
        pl.lit(year.strip()).alias("period"),
    )
    rows = df.filter(pl.col("etikett").str.contains(r"\(.*\)$").fill_null(False) & pl.col("_v").is_not_null())
    typ = pl.col("_v").cast(pl.Float64, strict=False)
    bad = rows.filter(~typ.is_in([1.0, 2.0, 3.0, 4.0, 5.0]).fill_null(False))
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(f"{where}, rad {r['rad']}: områdestypen {r['_v']!r} är inte 1–5")
    return rows.with_columns(typ=typ).drop("_v")
