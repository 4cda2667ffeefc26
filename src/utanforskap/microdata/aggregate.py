"""Person-level microdata -> every indicator's numerator and denominator, per area and year.

One code path for every engine: the aggregation is written once as ibis expressions and
runs on DuckDB (default, in process) or on Spark (local mode, or a cluster's session) with
``motor="spark"``. Two group-bys:

1. persons -> (year, DeSO): one pass over the persons, counting every variable and every
   broken validation rule;
2. (year, DeSO) -> (year, area) for each published level, by joining the DeSO counts to
   the hierarchy (geography.mapping) and summing. Every variable is a count (or a sum of
   days), so sums are exact: nothing is ever averaged.

The counts then go through disclosure control (microdata.disclosure) and come out in the
observation schema (observations.schema), with `kalla` naming the file, or saying
SYNTETISKA DATA when the persons are synthetic.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import ibis
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from utanforskap.errors import InputError
from utanforskap.geography.hierarchy import Geography
from utanforskap.geography.hierarchy import default as default_geography
from utanforskap.microdata import audit as au
from utanforskap.microdata import schema as ms
from utanforskap.microdata.disclosure import Partition
from utanforskap.observations import schema
from utanforskap.observations.store import QUIET_DUCKDB
from utanforskap.settings import Settings
from utanforskap.settings import load as load_settings

MOTORER = ("duckdb", "spark")
NIVAER = ("deso", "regso", "kommun")  # finest level a user may ask for; every larger level follows


@dataclass(frozen=True)
class OutputVariable:
    """One output variable: how to count it from one person row, and its unit."""

    name: str
    count: Callable | None  # (t, settings) -> ibis numeric expression per person (0/1 or days)
    enhet: str = "antal"
    # Or: the sum of other variables' DeSO counts (exact, and fewer sums in the pass over persons).
    sum_of: tuple[str, ...] = ()
    # For a sum that is not a count of persons: an expression counting the persons behind it.
    bakom: Callable | None = None


def _c(cond) -> object:
    """1 where `cond` is true, else 0 (a null condition counts as false)."""
    return cond.ifelse(1, 0)


def _age(lo: int, hi: int | None = None) -> Callable:
    return lambda t, s: _c(t.alder >= lo) if hi is None else _c(t.alder.between(lo, hi))


def _is(col: str, value: str, lo: int | None = None, hi: int | None = None) -> Callable:
    def f(t, s):
        cond = t[col] == value
        if lo is not None:
            cond = cond & t.alder.between(lo, hi)
        return _c(cond)

    return f


def _household(kind: str | tuple[str, ...] | None) -> Callable:
    def f(t, s):
        if kind is None:
            return _c(t.hushallsreferens & t.hushallstyp.notnull())
        kinds = [kind] if isinstance(kind, str) else list(kind)
        return _c(t.hushallsreferens & t.hushallstyp.isin(kinds))

    return f


_BAND_NAMES = {(0, 4): "befolkning_0_4", (5, 9): "befolkning_5_9", (10, 14): "befolkning_10_14",
               (15, 19): "befolkning_15_19", (20, 24): "befolkning_20_24"}

VARIABLES: tuple[OutputVariable, ...] = (
    OutputVariable("befolkning", lambda t, s: _c(t.alder.notnull())),
    *(OutputVariable(name, _age(lo, hi)) for (lo, hi), name in _BAND_NAMES.items()),
    OutputVariable("befolkning_0_19", None, sum_of=tuple(_BAND_NAMES.values())[:4]),
    OutputVariable("befolkning_15plus", _age(15)),
    OutputVariable("befolkning_16_64", _age(16, 64)),
    OutputVariable("befolkning_20_64", None, sum_of=("befolkning_20_24", "befolkning_25_64")),
    OutputVariable("befolkning_25_64", _age(25, 64)),
    OutputVariable("svensk_bakgrund", _is("bakgrund", "svensk")),
    OutputVariable("utlandsk_bakgrund", _is("bakgrund", "utlandsk")),
    OutputVariable("befolkning_bakgrund", None, sum_of=("svensk_bakgrund", "utlandsk_bakgrund")),
    OutputVariable("fodda_sverige", _is("fodelseregion", "sverige")),
    OutputVariable("fodda_europa_utom_sverige", _is("fodelseregion", "europa")),
    OutputVariable("fodda_ovriga_varlden", _is("fodelseregion", "ovriga_varlden")),
    OutputVariable("befolkning_fodelseregion", None, sum_of=("fodda_sverige", "fodda_europa_utom_sverige", "fodda_ovriga_varlden")),
    OutputVariable("utrikes_fodda", None, sum_of=("fodda_europa_utom_sverige", "fodda_ovriga_varlden")),
    OutputVariable("sysselsatta_16_64", _is("sysselsattning", "sysselsatt", 16, 64)),
    OutputVariable("arbetslosa_16_64", _is("sysselsattning", "arbetslos", 16, 64)),
    OutputVariable("utanfor_arbetskraften_16_64", _is("sysselsattning", "utanfor_arbetskraften", 16, 64)),
    OutputVariable("arbetskraften_16_64", None, sum_of=("sysselsatta_16_64", "arbetslosa_16_64")),
    OutputVariable("sysselsatta_20_64", _is("sysselsattning", "sysselsatt", 20, 64)),
    OutputVariable(
        "ekonomiskt_bistand_20_64",
        lambda t, s: _c(t.alder.between(20, 64) & (t.bistand_manader >= s.bistand_min_manader)),
    ),
    OutputVariable("utb_forgymnasial_25_64", _is("utbildning", "forgymnasial", 25, 64)),
    OutputVariable("utb_gymnasial_25_64", _is("utbildning", "gymnasial", 25, 64)),
    OutputVariable("utb_eftergymnasial_kort_25_64", _is("utbildning", "eftergymnasial_kort", 25, 64)),
    OutputVariable("utb_eftergymnasial_lang_25_64", _is("utbildning", "eftergymnasial_lang", 25, 64)),
    OutputVariable("utb_saknas_25_64", lambda t, s: _c(t.utbildning.isnull() & t.alder.between(25, 64))),
    # The numerator of the share lag_ekonomisk_standard (its denominator follows).
    OutputVariable("lag_ekonomisk_standard", lambda t, s: _c(t.lag_ekonomisk_standard)),
    OutputVariable("personer_ekonomisk_standard", lambda t, s: _c(t.lag_ekonomisk_standard.notnull())),
    *(OutputVariable(f"hushall_{k}", _household(k)) for k in ms.HUSHALLSTYP),
    OutputVariable("hushall_med_barn", None, sum_of=("hushall_sammanboende_med_barn", "hushall_ensamstaende_med_barn")),
    OutputVariable("hushall_totalt", None, sum_of=tuple(f"hushall_{k}" for k in ms.HUSHALLSTYP)),
    OutputVariable("trangbodda", lambda t, s: _c(t.trangbodd)),
    OutputVariable("befolkning_i_bostad", lambda t, s: _c(t.trangbodd.notnull())),
    OutputVariable("rostande", lambda t, s: _c(t.rostat & t.rostberattigad)),
    OutputVariable("rostberattigade", lambda t, s: _c(t.rostberattigad)),
    OutputVariable("elever_ak9", lambda t, s: _c(t.lamnat_ak9)),
    OutputVariable("behoriga_gymnasiet", lambda t, s: _c(t.lamnat_ak9 & t.behorig_gymnasiet)),
    OutputVariable("misstankta_brott_15plus", lambda t, s: _c(t.misstankt_brott & (t.alder >= 15))),
    OutputVariable(
        "ohalsodagar_16_64",
        lambda t, s: t.alder.between(16, 64).ifelse(t.ohalsodagar, 0),
        enhet="dagar",
        bakom=lambda t, s: _c(t.alder.between(16, 64) & (t.ohalsodagar > 0)),
    ),
)
# The labour market by sex and by birth region (utanforskap.labourmarket): the same counts
# within each group, so that employment and unemployment can be followed up per group.
LABOUR_GROUPS: dict[str, Callable] = {
    "kvinnor": lambda t: t.kon == "kvinna",
    "man": lambda t: t.kon == "man",
    "inrikes_fodda": lambda t: t.fodelseregion == "sverige",
    "utrikes_fodda": lambda t: t.fodelseregion != "sverige",
}


def _in_group(group: str, base: Callable) -> Callable:
    return lambda t, s: _c(LABOUR_GROUPS[group](t)) * base(t, s)


VARIABLES = VARIABLES + tuple(
    v
    for g in LABOUR_GROUPS
    for v in (
        OutputVariable(f"befolkning_20_64_{g}", _in_group(g, _age(20, 64))),
        OutputVariable(f"sysselsatta_20_64_{g}", _in_group(g, _is("sysselsattning", "sysselsatt", 20, 64))),
        OutputVariable(f"arbetslosa_16_64_{g}", _in_group(g, _is("sysselsattning", "arbetslos", 16, 64))),
        OutputVariable(
            f"arbetskraften_16_64_{g}",
            _in_group(g, lambda t, s: _c(t.sysselsattning.isin(["sysselsatt", "arbetslos"]) & t.alder.between(16, 64))),
        ),
    )
)
VARIABLE_NAMES = tuple(v.name for v in VARIABLES)
# Shares published as numerator / denominator rows (aggregering = kvot in the catalogue).
KVOTER = {"lag_ekonomisk_standard": "personer_ekonomisk_standard"}

# Categories that sum to a total, for secondary suppression. A remainder that is not
# published (e.g. persons 20-64 without bistånd) is named `dold`: it is computed, never
# written, and protected like a count when it holds 0 to N-1 persons (0: everyone in the
# group has the property). Three remainders only say how complete a register is (no
# labour-market status, no known dwelling, outside the income statistics): their zero says
# nothing about anyone, so they are protected from 1 (protect_zero=False).
PARTITIONS: tuple[Partition, ...] = (
    Partition("befolkning_0_19", ("befolkning_0_4", "befolkning_5_9", "befolkning_10_14", "befolkning_15_19")),
    Partition("befolkning_20_64", ("befolkning_20_24", "befolkning_25_64")),
    Partition("befolkning", ("befolkning_0_19", "befolkning_20_64"), dold="befolkning_65plus"),
    Partition("befolkning", ("befolkning_15plus", "befolkning_0_4", "befolkning_5_9", "befolkning_10_14")),
    Partition("befolkning_16_64", ("befolkning_20_64",), dold="befolkning_16_19"),
    Partition("befolkning_bakgrund", ("svensk_bakgrund", "utlandsk_bakgrund")),
    Partition("befolkning_bakgrund", ("befolkning",)),
    Partition("befolkning_fodelseregion", ("fodda_sverige", "fodda_europa_utom_sverige", "fodda_ovriga_varlden")),
    Partition("befolkning_fodelseregion", ("befolkning",)),
    Partition("utrikes_fodda", ("fodda_europa_utom_sverige", "fodda_ovriga_varlden")),
    Partition("utlandsk_bakgrund", ("utrikes_fodda",), dold="utlandsk_bakgrund_fodda_i_sverige"),
    Partition(
        "befolkning_16_64",
        ("sysselsatta_16_64", "arbetslosa_16_64", "utanfor_arbetskraften_16_64"),
        dold="status_saknas_16_64",
        protect_zero=False,
    ),
    Partition("arbetskraften_16_64", ("sysselsatta_16_64", "arbetslosa_16_64")),
    Partition("sysselsatta_16_64", ("sysselsatta_20_64",), dold="sysselsatta_16_19"),
    Partition("befolkning_20_64", ("sysselsatta_20_64",), dold="ej_sysselsatta_20_64"),
    Partition("befolkning_20_64", ("ekonomiskt_bistand_20_64",), dold="utan_bistand_20_64"),
    Partition(
        "befolkning_25_64",
        ("utb_forgymnasial_25_64", "utb_gymnasial_25_64", "utb_eftergymnasial_kort_25_64",
         "utb_eftergymnasial_lang_25_64", "utb_saknas_25_64"),
    ),
    Partition("personer_ekonomisk_standard", ("lag_ekonomisk_standard",), dold="ej_lag_ekonomisk_standard"),
    Partition("befolkning", ("personer_ekonomisk_standard",), dold="utan_ekonomisk_standard", protect_zero=False),
    Partition("hushall_totalt", tuple(f"hushall_{k}" for k in ms.HUSHALLSTYP)),
    Partition("hushall_med_barn", ("hushall_sammanboende_med_barn", "hushall_ensamstaende_med_barn")),
    Partition("befolkning_i_bostad", ("trangbodda",), dold="ej_trangbodda"),
    Partition("befolkning", ("befolkning_i_bostad",), dold="utan_kand_bostad", protect_zero=False),
    Partition("rostberattigade", ("rostande",), dold="ej_rostande"),
    Partition("elever_ak9", ("behoriga_gymnasiet",), dold="ej_behoriga_gymnasiet"),
    Partition("befolkning_15plus", ("misstankta_brott_15plus",), dold="ej_misstankta_15plus"),
    *(
        p
        for total in ("befolkning_20_64", "sysselsatta_20_64", "arbetslosa_16_64", "arbetskraften_16_64")
        for p in (
            Partition(total, (f"{total}_kvinnor", f"{total}_man")),
            Partition(total, (f"{total}_inrikes_fodda", f"{total}_utrikes_fodda")),
        )
    ),
    *(
        p
        for g in ("kvinnor", "man", "inrikes_fodda", "utrikes_fodda")
        for p in (
            Partition(f"befolkning_20_64_{g}", (f"sysselsatta_20_64_{g}",), dold=f"ej_sysselsatta_20_64_{g}"),
            Partition(f"arbetskraften_16_64_{g}", (f"arbetslosa_16_64_{g}",), dold=f"sysselsatta_16_64_{g}"),
        )
    ),
    # Groups no table publishes but that are differences of published ones: declared, so
    # that the audit protects them (exactly 15-year-olds; 16-19-year-olds not employed).
    Partition("befolkning_15_19", ("befolkning_16_19",), dold="befolkning_15"),
    Partition("befolkning_16_19", ("sysselsatta_16_19",), dold="ej_sysselsatta_16_19"),
)
# Sums over persons, with the group whose persons they are summed over (the intruder knows
# that nobody has more than rules.dagar_per_person days; the dominance rule protects them).
MAGNITUDES: tuple[au.Magnitude, ...] = (au.Magnitude("ohalsodagar_16_64", "befolkning_16_64"),)


# ---- engines ---------------------------------------------------------------------------
def _duckdb():
    """An ibis DuckDB connection without DuckDB's own progress bar (see connect_duckdb)."""
    con = ibis.duckdb.connect()
    con.raw_sql(QUIET_DUCKDB)
    return con


@contextlib.contextmanager
def connect(motor: str = "duckdb", spark_session=None) -> Iterator:
    """An ibis connection for `motor`: in-process DuckDB, or Spark (local mode unless a session is given)."""
    if motor not in MOTORER:
        raise InputError(f"okänd motor {motor!r}; välj {' eller '.join(MOTORER)}")
    if motor == "duckdb":
        con = _duckdb()
        try:
            yield con
        finally:
            con.disconnect()
        return
    session = spark_session or local_spark()
    yield ibis.pyspark.connect(session)


def local_spark():
    """A local Spark session (all cores, no UI), created once per process."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise InputError(
            "motorn spark kräver pyspark: installera det med `pip install -r requirements-spark.lock` "
            "(och Java 17, t.ex. apt-get install openjdk-17-jre-headless)"
        ) from exc
    # Spark's Python workers must run this interpreter (the venv's), not whatever python3 is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[*]")
        .appName("utanforskap")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


# ---- reading ---------------------------------------------------------------------------
@dataclass
class Persons:
    """Microdata ready for the aggregation: where they come from and their `kalla` text."""

    where: str
    kalla: str
    syntetisk: bool
    path: Path | None = None
    table: pa.Table | None = None

    def ibis_table(self, con, scratch: Path | None = None):
        if self.table is not None and not (_is_spark(con) and scratch is not None):
            return ibis.memtable(self.table)
        if self.table is not None:
            # Spark reads an in-memory table best as a file (pandas would turn its categories into objects).
            path = scratch / "personer.parquet"
            pq.write_table(self.table, path)
            files = [str(path)]
        else:
            files = [str(f) for f in ms.parquet_files(self.path)]
        return con.read_parquet(files if len(files) > 1 else files[0], table_name="personer")


def _is_spark(con) -> bool:
    return con.name == "pyspark"


def open_persons(source: str | os.PathLike[str] | pa.Table | pl.DataFrame, where: str | None = None) -> Persons:
    """Check the schema of a Parquet file (or directory of files) or an in-memory table."""
    if isinstance(source, pl.DataFrame):
        source = source.to_arrow()
    if isinstance(source, pa.Table):
        where = where or "mikrodata i minnet"
        ms.check_schema(source.schema, where)
        return _persons(where, dict(source.schema.metadata or {}), ms.marked_synthetic(table=source), table=source)
    path = Path(source)
    where = where or str(path)
    meta = ms.read_schemas(path, where)
    return _persons(where, meta, ms.marked_synthetic(ms.parquet_files(path)), path=path)


def _persons(where: str, meta: dict, marked: bool, **kw) -> Persons:
    """Where the persons come from: SYNTETISKA DATA when the metadata or any row says so."""
    syntetisk = marked or meta.get(ms.META_SYNTETISK, b"") == b"true"
    kalla = meta.get(ms.META_KALLA, b"").decode("utf-8") or f"Mikrodata: {Path(where).name}"
    if syntetisk and not kalla.startswith("SYNTETISKA DATA"):
        kalla = "SYNTETISKA DATA: " + kalla
    return Persons(where=where, kalla=kalla, syntetisk=syntetisk, **kw)


# ---- aggregation -----------------------------------------------------------------------
def per_deso_expr(t, settings: Settings | None = None):
    """ibis expression: one row per (ar, deso) with every variable (and `_bakom_<variabel>` for sums of days).

    `settings` (default: from the environment) gives bistand_min_manader.
    """
    settings = settings or load_settings()
    metrics = {v.name: v.count(t, settings).sum() for v in VARIABLES if v.count is not None}
    for v in VARIABLES:
        if v.bakom is not None:
            metrics[f"_bakom_{v.name}"] = v.bakom(t, settings).sum()
            metrics[f"_storst_{v.name}"] = v.count(t, settings).max()  # the largest person's share (dominance)
    per_deso = t.group_by(["ar", "deso"]).aggregate(**metrics)
    derived = {}
    for v in VARIABLES:
        if v.sum_of:
            total = per_deso[v.sum_of[0]]
            for part in v.sum_of[1:]:
                total = total + per_deso[part]
            derived[v.name] = total
    return per_deso.mutate(**derived).select("ar", "deso", *VARIABLE_NAMES, *[m for m in metrics if m.startswith("_")])


def sum_levels(per_deso: pl.DataFrame, geo_table: pl.DataFrame, levels: tuple[str, ...]) -> pl.DataFrame:
    """per_deso summed to every level in `levels` (columns ar, omrade, the values, niva).

    Every level is summed from the DeSO rows, which are already in this process (some
    6 000 per year, whatever the engine): no second query, and no second scan of the persons.
    """
    value_cols = [c for c in per_deso.columns if c not in ("ar", "deso")]
    joined = per_deso.join(geo_table, left_on="deso", right_on="deso_kod", how="inner")
    parts = []
    for level in levels:
        key = "deso" if level == "deso" else f"{level}_kod"
        grouped = joined.group_by("ar", key).agg(
            [pl.col(c).max() if c.startswith("_storst_") else pl.col(c).sum() for c in value_cols]  # the largest contribution: a max
        ).rename({key: "omrade"})
        parts.append(grouped.select("ar", "omrade", *value_cols).with_columns(niva=pl.lit(level)))
    return pl.concat(parts, how="vertical_relaxed")


def count(
    source,
    niva: str = "deso",
    *,
    motor: str = "duckdb",
    settings: Settings | None = None,
    geo: Geography | None = None,
    spark_session=None,
    where: str | None = None,
) -> tuple[pl.DataFrame, Persons]:
    """Raw counts (no disclosure control): one row per (niva, omrade, ar), a column per variable.

    Also columns `_bakom_<variabel>` (persons behind a sum of days) and `_storst_<variabel>`
    (the largest one person's days). Raises InputError
    naming the file, column and a row for the first broken rule, and for unknown DeSO codes.
    """
    if niva not in NIVAER:
        raise InputError(f"okänd nivå {niva!r}; välj {', '.join(NIVAER)}")
    persons = source if isinstance(source, Persons) else open_persons(source, where)
    _check_panel(persons)
    geo = geo or default_geography()
    levels = schema.LEVELS[schema.LEVELS.index(niva) :]
    with connect(motor, spark_session) as con, tempfile.TemporaryDirectory(prefix="utanforskap-") as scratch:
        t = persons.ibis_table(con, Path(scratch))
        validate(con, t, persons)
        per_deso = pl.from_arrow(con.to_pyarrow(per_deso_expr(t, settings)))
        _raise_on_unknown_deso(per_deso, persons, geo)
        # Every DeSO gets a row for every year, with zeros where nobody lives (small samples):
        # an absent area would be a published zero that disclosure control never saw.
        grid = per_deso.select("ar").unique().join(geo.codes("deso").alias("deso").to_frame(), how="cross")
        per_deso = grid.join(per_deso, on=["ar", "deso"], how="left").fill_null(0)
    geo_table = geo.table.select("deso_kod", "regso_kod", "kommun_kod", "lan_kod", "riket_kod")
    counts = sum_levels(per_deso, geo_table, levels)
    value_cols = [c for c in counts.columns if c not in ("ar", "omrade", "niva")]
    counts = counts.with_columns(pl.col(value_cols).cast(pl.Float64), pl.col("ar").cast(pl.Int64))
    order = {lv: i for i, lv in enumerate(schema.LEVELS)}
    counts = counts.with_columns(_i=pl.col("niva").replace_strict(order, return_dtype=pl.Int32))
    counts = counts.sort("_i", "ar", "omrade").drop("_i")
    return counts.select("niva", "omrade", "ar", *value_cols), persons


def validate(con, t, persons: Persons) -> None:
    """Check every value rule of the schema (ms.value_rules) in one aggregate; raise naming file, column, row.

    The aggregate counts the rows breaking each rule, except that a text column's rule is
    checked on its distinct values (cheap on dictionary-encoded columns, where comparing
    every row's text is not). Only when something is wrong are the bad rows counted and
    the first one found, with a second query.
    """
    # A number column's NaN or inf is found by its sum (non-finite) rather than by the text
    # of every row: the text test is the dearest part of the query.
    rules = ms.value_rules(t, finite_by_text=False)
    text = {c.name: c for c in ms.COLUMNS if c.values}
    metrics = {r: _c(b).sum() for r, (_, b) in rules.items() if r not in text}
    metrics |= {r: t[r].collect(distinct=True) for r in text}
    metrics |= {f"{r}__tomma": _c(t[r].isnull()).sum() for r, c in text.items() if not c.nullable}
    metrics |= {f"{r}__summa": total for r, total in ms.finite_sums(t).items()}
    found = con.to_pyarrow(t.aggregate(**metrics)).to_pylist()[0]

    def broken(rule: str) -> bool:
        total = found.get(f"{rule}__summa")
        if total is not None and not math.isfinite(total):
            return True
        if rule not in text:
            return bool(found[rule])
        return bool(found.get(f"{rule}__tomma")) or any(v not in text[rule].values for v in found[rule] or [])

    bad = [r for r in rules if broken(r)]
    if not bad:
        return
    n, row, value = _first_bad_row(persons, bad[0])
    at = f" (första: {row}" + (f", värde {value!r}" if value is not None else "") + ")"
    others = f"; även fel i: {', '.join(bad[1:])}" if len(bad) > 1 else ""
    raise InputError(f"{persons.where}: {rules[bad[0]][0]}: {n} rader{at}{others}")


def placeholder_table(name: str = "personer"):
    """An unbound ibis table in the microdata schema (to show the SQL without data)."""
    return ibis.table({c.name: _IBIS_TYPE[c.kind] for c in ms.COLUMNS}, name=name)


_IBIS_TYPE = {"heltal": "int64", "tal": "float64", "text": "string", "sant/falskt": "boolean"}


def _with_row_numbers(con, persons: Persons):
    """The persons with `_rad` (1-based row in its file) and `_fil` (file name when there are several)."""
    if persons.table is not None:
        numbered = persons.table.append_column("_rad", pa.array(range(1, persons.table.num_rows + 1), pa.int64()))
        return ibis.memtable(numbered).mutate(_fil=ibis.literal(""))
    files = [str(f) for f in ms.parquet_files(persons.path)]
    t = con.read_parquet(files if len(files) > 1 else files[0], file_row_number=True, filename=True)
    several = len(files) > 1
    return t.mutate(_rad=t.file_row_number + 1, _fil=t.filename if several else ibis.literal(""))


def _first_bad_row(persons: Persons, rule: str) -> tuple[int, str, object]:
    """How many rows break `rule`, where the first is ("rad 12" or "rad 12 i fil.parquet"), and its value.

    Found with DuckDB whatever the motor: only on the error path, and it numbers file rows.
    """
    con = _duckdb()
    try:
        t = _with_row_numbers(con, persons)
        _, bad = ms.value_rules(t)[rule]
        column = rule if rule in ms.BY_NAME else None
        rows = t.filter(bad)
        n = int(con.to_pyarrow(rows.aggregate(n=rows.count())).column(0)[0].as_py())
        cols = ["_rad", "_fil"] + ([column] if column else [])
        first = con.to_pyarrow(rows.select(cols).order_by(["_fil", "_rad"]).limit(1)).to_pylist()[0]
    finally:
        con.disconnect()
    where = f"rad {first['_rad']}" + (f" i {Path(first['_fil']).name}" if first["_fil"] else "")
    return n, where, first.get(column) if column else None


def _raise_on_unknown_deso(per_deso: pl.DataFrame, persons: Persons, geo: Geography) -> None:
    known = geo.codes("deso").implode()
    bad = per_deso.filter(~pl.col("deso").is_in(known)).group_by("deso").agg(pl.col("befolkning").sum()).sort("deso")
    if bad.height:
        first = bad.row(0, named=True)
        raise InputError(
            f"{persons.where}: kolumnen deso: okänd DeSO 2018-kod {first['deso']!r} ({int(first['befolkning'])} personer; "
            f"{bad.height} okända koder totalt); koderna ska vara DeSO 2018 (t.ex. 0114C1010)"
        )


def aggregate(
    source,
    niva: str = "deso",
    *,
    motor: str = "duckdb",
    min_antal: int | None = None,
    skydda: bool = True,
    settings: Settings | None = None,
    geo: Geography | None = None,
    spark_session=None,
    where: str | None = None,
    granska: bool = True,
) -> pl.DataFrame:
    """Every variable for every area at `niva` and every larger level, in the observation schema.

    With `skydda` (default) disclosure control is applied with threshold `min_antal`
    (default: settings.min_antal, env UTANFORSKAP_MIN_ANTAL).
    """
    counts, persons = count(
        source, niva, motor=motor, settings=settings, geo=geo, spark_session=spark_session, where=where
    )
    return to_observations(counts, persons.kalla, geo=geo, min_antal=min_antal, skydda=skydda, granska=granska)


def to_observations(
    counts: pl.DataFrame,
    kalla: str,
    *,
    geo: Geography | None = None,
    min_antal: int | None = None,
    skydda: bool = True,
    granska: bool = True,
) -> pl.DataFrame:
    """Counts from `count` -> observation rows, with disclosure control unless `skydda` is False
    (`granska`: see `protected_observations`)."""
    return protected_observations(counts, kalla, geo=geo, min_antal=min_antal, skydda=skydda, granska=granska)[0]


def protected_observations(
    counts: pl.DataFrame,
    kalla: str,
    *,
    geo: Geography | None = None,
    min_antal: int | None = None,
    skydda: bool = True,
    rules: au.Rules | None = None,
    granska: bool = True,
) -> tuple[pl.DataFrame, au.Protection | None]:
    """`to_observations`, and the protection's account (None without protection).

    With `granska` (the default, as `aggregera`) the protected table has passed the intruder's
    audit (microdata.audit); a finest level where more than rules.hogsta_primarandel of the
    figures are below N is not published. With `granska=False` only the linear protection runs
    (microdata.disclosure: nothing computable exactly by equations; intervals are not
    audited): for SYNTETISKA DATA only (the synthetic store), never for publishing. The
    reason a cell is suppressed (primary, secondary, or its level withheld) stays in the
    account, never in the rows: every suppressed cell has the one status `skyddad`.
    """
    names = list(VARIABLE_NAMES)
    long = counts.unpivot(index=["niva", "omrade", "ar"], on=names, variable_name="variabel", value_name="varde")
    long = long.with_columns(period=pl.col("ar").cast(pl.String))
    if skydda:
        # Persons behind each figure and its largest contribution, in the order of the unpivot
        # (variable by variable, the rows of counts in each): columns side by side, no join.
        empty = np.full(counts.height, np.nan)
        extra = {
            col: pl.Series(col, np.concatenate([
                counts[f"{prefix}{name}"].cast(pl.Float64).to_numpy() if f"{prefix}{name}" in counts.columns else empty
                for name in names
            ]), nan_to_null=True)
            for prefix, col in (("_bakom_", "bakom"), ("_storst_", "storst"))
        }
        long = long.with_columns(bakom=pl.coalesce(extra["bakom"], pl.col("varde")), storst=extra["storst"])
    else:
        long = long.with_columns(bakom=pl.col("varde"), storst=pl.lit(None, dtype=pl.Float64))
    cells = long.select("omrade", "niva", "period", "variabel", "varde", "bakom", "storst")
    account = None
    if skydda:
        if min_antal is None:
            min_antal = load_settings().min_antal
        levels = [lv for lv in schema.LEVELS if lv in set(counts["niva"].unique().to_list())]
        edges = _edges(geo or default_geography(), levels)
        account = au.protect(cells, edges=edges, partitions=PARTITIONS, min_antal=min_antal, rules=rules,
                             magnitudes=MAGNITUDES, granska=granska)
        cells = account.published
    else:
        cells = cells.with_columns(status=pl.lit(None, dtype=pl.String))
    return _observation_rows(cells.drop("storst"), kalla), account


def audit_observations(obs: pl.DataFrame, *, min_antal: int, geo: Geography | None = None,
                       rules: au.Rules | None = None, exact: bool = False) -> au.Audit:
    """The intruder's audit of a published table in the observation schema (what `granska` reads).

    Counts and days are the rows' values; a share row stands for its numerator (taljare).
    Every level in the table is audited together, with the hierarchy between them.
    """
    if obs.is_empty():
        raise InputError("tabellen är tom; inget att granska")
    share = pl.col("enhet") == "andel"
    cells = obs.filter(pl.col("variabel").is_in(list(VARIABLE_NAMES))).select(
        "omrade", "niva", "period", "variabel",
        pl.when(share).then(pl.col("taljare")).otherwise(pl.col("varde")).cast(pl.Float64).alias("varde"),
        "status",
    )
    cells = cells.with_columns(varde=pl.when(pl.col("status").is_null()).then(pl.col("varde")))
    present = set(cells["niva"].unique().to_list())
    levels = [lv for lv in schema.LEVELS if lv in present]
    edges = _edges(geo or default_geography(), levels)
    return au.audit(cells, edges=edges, partitions=PARTITIONS, min_antal=min_antal, rules=rules, magnitudes=MAGNITUDES,
                    exact=exact)


def _edges(geo: Geography, levels: list[str]) -> pl.DataFrame:
    """Child area -> parent area between consecutive published levels."""
    frames = []
    for child, parent in zip(levels[:-1], levels[1:], strict=True):
        frames.append(
            geo.mapping(child, parent).rename({f"{child}_kod": "barn", f"{parent}_kod": "foralder"})
            .with_columns(barn_niva=pl.lit(child), foralder_niva=pl.lit(parent))
        )
    if not frames:
        return pl.DataFrame(schema={"barn": pl.String, "foralder": pl.String, "barn_niva": pl.String, "foralder_niva": pl.String})
    return pl.concat(frames)


def _observation_rows(cells: pl.DataFrame, kalla: str) -> pl.DataFrame:
    units = {v.name: v.enhet for v in VARIABLES}
    base = cells.with_columns(
        enhet=pl.col("variabel").replace_strict(units, return_dtype=pl.String),
        kalla=pl.lit(kalla),
        taljare=pl.lit(None, dtype=pl.Float64),
        namnare=pl.lit(None, dtype=pl.Float64),
    )
    ratio_rows = []
    for num, den in KVOTER.items():
        n = base.filter(pl.col("variabel") == num)
        d = base.filter(pl.col("variabel") == den).select(
            "omrade", "niva", "period", pl.col("varde").alias("_d"), pl.col("status").alias("_ds")
        )
        j = n.join(d, on=["omrade", "niva", "period"], how="left")
        suppressed = pl.col("status").is_not_null() | pl.col("_ds").is_not_null()
        ratio_rows.append(
            # A share row is whole or empty: numerator, denominator and share all go when either is protected.
            j.with_columns(
                taljare=pl.when(~suppressed).then(pl.col("varde")),
                namnare=pl.when(~suppressed).then(pl.col("_d")),
                varde=pl.when(~suppressed & (pl.col("_d") > 0)).then(pl.col("varde") / pl.col("_d")),
                status=pl.coalesce("status", "_ds"),
                enhet=pl.lit("andel"),
            ).drop("_d", "_ds")
        )
    plain = base.filter(~pl.col("variabel").is_in(list(KVOTER)))
    cols = list(schema.COLUMNS)
    out = pl.concat([plain.select(cols), *(r.select(cols) for r in ratio_rows)])
    return schema.conform(out, kalla)


def _check_panel(persons: Persons) -> None:
    """Several years in one input: a person id (lopnr) twice in a year, or a year in two files, is an error."""
    from utanforskap.microdata.panel import check_panel

    check_panel(persons.table if persons.table is not None else persons.path, persons.where)
