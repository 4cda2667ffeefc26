"""The person-level microdata schema: one row per person and year (documented in docs/mikrodata.md).

Column names and category values are Swedish because users (statisticians preparing a
file in SCB's MONA, say) read and write them. `check_schema` checks names and types from
the file's Arrow schema; value rules are ibis expressions (`value_rules`) so that the same
checks run inside the aggregation on DuckDB or Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from utanforskap.errors import InputError

KON = ("man", "kvinna")
BAKGRUND = ("svensk", "utlandsk")
FODELSEREGION = ("sverige", "europa", "ovriga_varlden")
SYSSELSATTNING = ("sysselsatt", "arbetslos", "utanfor_arbetskraften")
UTBILDNING = ("forgymnasial", "gymnasial", "eftergymnasial_kort", "eftergymnasial_lang")
HUSHALLSTYP = (
    "sammanboende_med_barn",
    "sammanboende_utan_barn",
    "ensamstaende_med_barn",
    "ensamstaende_utan_barn",
    "ovriga",
)

# Parquet key-value metadata: where the persons come from. The synthetic population sets it
# to a text that begins "SYNTETISKA DATA", and the aggregation copies it to `kalla`.
META_KALLA = b"utanforskap.kalla"
META_SYNTETISK = b"utanforskap.syntetisk"
# Metadata is lost when a table goes through polars or pandas and back, so the synthetic
# population also marks every row in this optional column: persons marked true anywhere
# make the whole input SYNTETISKA DATA.
SYNTETISK = "syntetisk"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "heltal", "tal", "text", "sant/falskt"
    nullable: bool
    values: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    beskrivning: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("ar", "heltal", False, low=1900, high=2100, beskrivning="Statistikår (folkbokförd 31 december)"),
    Column("deso", "text", False, beskrivning="DeSO 2018-kod där personen är folkbokförd, t.ex. 0114C1010"),
    Column("alder", "heltal", False, low=0, high=130, beskrivning="Ålder vid årets slut"),
    Column("kon", "text", False, KON, beskrivning="Kön"),
    Column("bakgrund", "text", False, BAKGRUND, beskrivning="Svensk eller utländsk bakgrund (SCB:s definition)"),
    Column("fodelseregion", "text", False, FODELSEREGION, beskrivning="Födelseregion"),
    Column("sysselsattning", "text", True, SYSSELSATTNING, beskrivning="Arbetsmarknadsstatus (RAMS/BAS) för 16–64 år; tomt annars"),
    Column("bistand_manader", "heltal", False, low=0, high=12, beskrivning="Månader med ekonomiskt bistånd under året"),
    Column("trangbodd", "sant/falskt", True, beskrivning="Bor trångt enligt norm 2; tomt när bostaden är okänd"),
    Column("rostberattigad", "sant/falskt", False, beskrivning="Röstberättigad i senaste riksdagsvalet"),
    Column("rostat", "sant/falskt", False, beskrivning="Röstade i senaste riksdagsvalet"),
    Column("lamnat_ak9", "sant/falskt", False, beskrivning="Lämnade årskurs 9 under året"),
    Column("behorig_gymnasiet", "sant/falskt", True, beskrivning="Behörig till gymnasiets yrkesprogram; tomt om inte lämnat åk 9"),
    Column("misstankt_brott", "sant/falskt", False, beskrivning="Misstänkt för brott under året"),
    Column("ohalsodagar", "tal", False, low=0, high=366, beskrivning="Ohälsodagar (netto) under året"),
    Column("utbildning", "text", True, UTBILDNING, beskrivning="Högsta utbildningsnivå; tomt = uppgift saknas"),
    Column("lag_ekonomisk_standard", "sant/falskt", True, beskrivning="Låg ekonomisk standard; tomt = ingår inte i statistiken"),
    Column("hushallstyp", "text", True, HUSHALLSTYP, beskrivning="Hushållstyp; tomt = inget hushåll (t.ex. specialbostad)"),
    Column("hushallsreferens", "sant/falskt", False, beskrivning="Personen företräder sitt hushåll (en per hushåll)"),
)
BY_NAME = {c.name: c for c in COLUMNS}
OPTIONAL: tuple[Column, ...] = (
    Column(SYNTETISK, "sant/falskt", True, beskrivning="Sant för påhittade personer (SYNTETISKA DATA); kolumnen får saknas"),
    Column("lopnr", "heltal", True, beskrivning="Stabilt löpnummer per person (som i SCB:s MONA): samma person har samma lopnr alla år, en rad per person och år; kolumnen får saknas"),  # noqa: E501 (Swedish text for users)
)


def _kind_of(t: pa.DataType) -> str | None:
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_integer(t):
        return "heltal"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "tal"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_boolean(t):
        return "sant/falskt"
    return None


def check_schema(schema: pa.Schema, where: str) -> None:
    """Raise InputError naming `where` and the column when a column is missing or of the wrong type."""
    missing = [c.name for c in COLUMNS if c.name not in schema.names]
    if missing:
        raise InputError(
            f"{where}: kolumn saknas i mikrodata: {', '.join(missing)} (se docs/mikrodata.md för alla kolumner)"
        )
    for col in (*COLUMNS, *(c for c in OPTIONAL if c.name in schema.names)):
        kind = _kind_of(schema.field(col.name).type)
        ok = kind == col.kind or (col.kind == "tal" and kind == "heltal")
        if not ok:
            actual = schema.field(col.name).type
            raise InputError(
                f"{where}: kolumnen {col.name} har typen {kind or 'okänd'} ({actual}); förväntade {col.kind}"
            )


def read_schemas(path: Path, where: str) -> dict[bytes, bytes]:
    """Check the schema of every Parquet file at `path` (footers only); the first file's metadata.

    Errors name `where` for a single file, and the file itself in a directory.
    """
    files = parquet_files(path)
    meta: dict[bytes, bytes] | None = None
    for f in files:
        try:
            schema = pq.read_schema(f)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"{f}: kan inte läsas som Parquet ({exc})") from exc
        check_schema(schema, where if len(files) == 1 else str(f))
        if meta is None:
            meta = dict(schema.metadata or {})
    return meta or {}


def marked_synthetic(files: list[Path] | None = None, table: pa.Table | None = None) -> bool:
    """Does any row say syntetisk = true (column SYNTETISK, in a table or in Parquet files)?"""
    if table is not None:
        return SYNTETISK in table.column_names and bool(pc.any(table[SYNTETISK]).as_py())
    return any(SYNTETISK in pq.read_schema(f).names and pc.any(pq.read_table(f, columns=[SYNTETISK])[SYNTETISK]).as_py() for f in files or [])


def parquet_files(path: Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(path.rglob("*.parquet"))
        if not files:
            raise InputError(f"{path}: mappen innehåller inga .parquet-filer")
        return files
    if not path.is_file():
        raise InputError(f"{path}: filen finns inte")
    return [path]


_NOT_FINITE = ["nan", "-nan", "inf", "-inf", "infinity", "-infinity", "+inf", "+infinity"]


def value_rules(t, finite_by_text: bool = True) -> dict[str, tuple[str, object]]:
    """Rule name -> (Swedish description, ibis boolean expression that is True for a bad row).

    `t` is an ibis table in the microdata schema. Used both to count bad rows inside the
    aggregation and to find the first bad row for the error message. Without
    `finite_by_text` a number column's rule leaves NaN and inf out (the row-by-row text test
    is the dearest part of the rules); the caller must then test `finite_sums` instead.
    """
    rules: dict[str, tuple[str, object]] = {}
    for col in COLUMNS:
        c = t[col.name]
        bad = c.isnull() if not col.nullable else None
        empty = "tomt eller " if not col.nullable else ""
        text = f"kolumnen {col.name}: tomt värde" if bad is not None else ""
        if col.values:
            wrong = c.notnull() & ~c.isin(list(col.values))
            allowed = ", ".join(col.values) + (" eller tomt" if col.nullable else "")
            bad = wrong if bad is None else (bad | wrong)
            text = f"kolumnen {col.name}: {empty}ogiltigt värde (tillåtna: {allowed})"
        if col.low is not None:
            wrong = c.notnull() & ((c < col.low) | (c > col.high))
            if col.kind == "tal" and finite_by_text:
                # NaN passes every bound; DuckDB even folds isnan() to false from Parquet statistics
                # (which leave NaN out), so NaN and inf are found by their text.
                wrong = wrong | (c.notnull() & c.cast("string").lower().isin(_NOT_FINITE))
            bad = wrong if bad is None else (bad | wrong)
            text = f"kolumnen {col.name}: {empty}utanför {col.low:g}–{col.high:g}" + (" (eller NaN/inf)" if col.kind == "tal" else "")
        if bad is not None:
            rules[col.name] = (text, bad)
    rules["svensk_bakgrund_fodd_utomlands"] = (
        "svensk bakgrund men född utomlands (svensk bakgrund kräver födelseregion sverige)",
        (t.bakgrund == "svensk") & (t.fodelseregion != "sverige"),
    )
    rules["rostat_utan_rostratt"] = (
        "rostat är sant men rostberattigad falskt",
        t.rostat & ~t.rostberattigad,
    )
    rules["behorig_utan_ak9"] = (
        "behorig_gymnasiet är ifyllt men lamnat_ak9 är falskt",
        t.behorig_gymnasiet.notnull() & ~t.lamnat_ak9,
    )
    rules["referens_utan_hushall"] = (
        "hushallsreferens är sant men hushallstyp är tom",
        t.hushallsreferens & t.hushallstyp.isnull(),
    )
    return rules


def finite_sums(t) -> dict[str, object]:
    """Number column -> ibis sum of it: NaN or inf in any row makes the sum non-finite, so the
    sum tells whether the NaN/inf part of the column's rule is broken (the row is then found by text)."""
    return {col.name: t[col.name].sum() for col in COLUMNS if col.kind == "tal" and col.low is not None}
