"""SCB Statistikdatabasen exports (.xlsx, as downloaded) -> observations.

The layout is found by content, never by row number:

* the table id from the footer ("Intern referenskod:") or the file name prefix;
* the code column: the column holding the most DeSO codes; the data block is the
  unbroken run of rows with a code in it;
* the header block: the rows between the title (first non-empty row) and the data;
  labels spanning several columns are written once by SCB and are carried to the right;
* the period: a four-digit year among a column's header labels, or in a label column
  left of the code column (000005FC puts the year there).

SCB's column labels are mapped to variable ids by a declarative file per table,
``utanforskap/data/scb_tabeller/<tabell>.toml``. A mapped label that is missing, a label
that matches several columns and a column that no mapping claims each raise InputError
naming file, row and label, so that a changed layout fails loudly.

Cells: ``..`` -> value null, status ``undertryckt``; ``.`` -> null, status ``saknas``;
``-`` -> 0. A percent column (``typ = "procent"``) becomes a ratio: namnare = the persons
column it refers to, taljare = percent / 100 * namnare (derived from a rounded percent).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal, cast

import polars as pl
from pydantic import Field, model_validator

from utanforskap.errors import InputError
from utanforskap.geography.codes import PATTERNS
from utanforskap.geography.hierarchy import Geography
from utanforskap.observations import schema
from utanforskap.sources.parsing import cell_status, swedish_number
from utanforskap.tomlmodel import Strict, load_toml_model

_TABLE_ID = re.compile(r"^([0-9A-Z]{8})_")
_YEAR = r"^\d{4}$"


class ColumnMap(Strict):
    rubrik: list[str] = Field(min_length=1, description="Labels the column must carry (all of them)")
    variabel: str
    typ: Literal["antal", "varde", "procent"] = "antal"
    enhet: str = Field(default="", description="Unit for typ = 'varde' (e.g. tkr)")
    namnare: str = Field(default="", description="For typ = 'procent': the variable id of the persons column")

    @model_validator(mode="after")
    def _check(self) -> ColumnMap:
        if self.typ == "procent" and not self.namnare:
            raise ValueError("en procentkolumn måste ange namnare (variabeln med antal personer)")
        if self.typ == "varde" and not self.enhet:
            raise ValueError("en värdekolumn måste ange enhet")
        return self


class DerivedSum(Strict):
    variabel: str
    summa_av: list[str] = Field(min_length=2, description="Variables of the same table summed (null if any is null)")


class TableMap(Strict):
    tabell: str
    titel: str = Field(description="The export's title (first cell) must start with this")
    beskrivning: str = ""
    niva: Literal["deso", "regso"] = "deso"
    kolumn: list[ColumnMap] = Field(min_length=1)
    ignorera: list[list[str]] = Field(default_factory=list, description="Labels of columns to skip on purpose")
    harledd: list[DerivedSum] = Field(default_factory=list, description="Sums of columns stored as variables")

    @model_validator(mode="after")
    def _refs(self) -> TableMap:
        ids = [c.variabel for c in self.kolumn]
        for c in self.kolumn:
            if c.typ == "procent" and c.namnare not in ids:
                raise ValueError(f"namnaren {c.namnare!r} för {c.variabel} är ingen kolumn i tabellen")
        for d in self.harledd:
            unknown = [v for v in d.summa_av if v not in ids]
            if unknown:
                raise ValueError(f"den härledda {d.variabel} summerar {unknown[0]!r}, som inte är en kolumn i tabellen")
        return self

    @property
    def kalla(self) -> str:
        return f"SCB {self.tabell}"


def mapping_for(table_id: str) -> TableMap:
    """The bundled mapping for an SCB table id; InputError if there is none."""
    maps = _bundled_maps()
    if table_id not in maps:
        raise InputError(
            f"ingen mappning för SCB-tabellen {table_id}; lägg till utanforskap/data/scb_tabeller/{table_id}.toml "
            f"(kända tabeller: {', '.join(sorted(maps))})"
        )
    return maps[table_id]


@lru_cache(maxsize=1)
def _bundled_maps() -> dict[str, TableMap]:
    folder = resources.files("utanforskap.data").joinpath("scb_tabeller")
    maps = {}
    for ref in folder.iterdir():
        if ref.name.endswith(".toml"):
            m = load_mapping(ref.read_text(encoding="utf-8"), f"utanforskap/data/scb_tabeller/{ref.name}")
            maps[m.tabell] = m
    return maps


def load_mapping(text: str, where: str) -> TableMap:
    return load_toml_model(text, where, TableMap)


def read_export(path: str | Path, geo: Geography, mapping: TableMap | None = None) -> pl.DataFrame:
    """Read one SCB .xlsx export into observation rows (level deso or regso)."""
    path = Path(path)
    where = path.name
    sheet = _read_sheet(path)
    table_id = _table_id(sheet, path)
    mapping = mapping or mapping_for(table_id)
    if mapping.tabell != table_id:
        raise InputError(f"{where}: filen är tabell {table_id} men mappningen gäller {mapping.tabell}")
    cols = [c for c in sheet.columns if c != "_rad"]

    title_row = sheet.filter(pl.any_horizontal(pl.col(cols).is_not_null()))
    if title_row.is_empty():
        raise InputError(f"{where}: bladet är tomt")
    title_rad = title_row["_rad"][0]
    title = next(v for v in title_row.row(0) if isinstance(v, str))
    if not _norm(title).startswith(_norm(mapping.titel)):
        raise InputError(
            f"{where}, rad {title_rad}: rubriken {title!r} börjar inte med {mapping.titel!r}; "
            f"är det rätt tabell ({table_id})?"
        )

    pattern = PATTERNS[mapping.niva]
    code_col = _code_column(sheet, cols, pattern, where)
    data = _data_block(sheet, code_col, pattern, where)
    first_rad = int(cast(int, data["_rad"].min()))
    geo.check_codes(data, code_col, mapping.niva, where, row_column="_rad")

    ci = cols.index(code_col)
    value_cols = [c for c in cols[ci + 1 :] if data[c].is_not_null().any()]
    label_cols = cols[:ci]
    header = sheet.filter((pl.col("_rad") > title_rad) & (pl.col("_rad") < first_rad))
    columns = _column_labels(header, value_cols)
    where_hdr = f"{where}, rad {title_rad + 1}–{first_rad - 1}" if header.height else f"{where}, rad {first_rad}"

    # Period: a year among the column's labels, else a year in a label column left of the codes.
    row_year = None
    for c in label_cols:
        filled = data.select(pl.col(c).forward_fill())[c]
        if filled.drop_nulls().str.contains(_YEAR).all() and filled.is_not_null().all():
            row_year = filled
    assigned = _assign(columns, mapping, where_hdr)

    long = []
    for colmap, col, years in assigned:
        if years:
            period: pl.Expr | pl.Series = pl.lit(years[0])
        elif row_year is not None:
            period = pl.Series(row_year)
        else:
            raise InputError(
                f"{where_hdr}: hittar inget år för kolumnen {_label(columns[col][0])!r}; "
                "förväntade ett årtal i rubrikraderna eller i en kolumn till vänster om koderna"
            )
        long.append(
            data.select(
                pl.col("_rad"),
                pl.col(code_col).alias("omrade"),
                period.alias("period"),
                pl.lit(colmap.variabel).alias("variabel"),
                pl.col(col).alias("_raw"),
                pl.lit(col).alias("_kol"),
                pl.lit(colmap.typ).alias("_typ"),
                pl.lit(colmap.enhet or "antal").alias("enhet"),
            )
        )
    cells = _parse_cells(pl.concat(long), where)
    return _to_observations(cells, mapping, where)


# ---- layout ------------------------------------------------------------------------------
def _read_sheet(path: Path) -> pl.DataFrame:
    try:
        df = pl.read_excel(
            path,
            has_header=False,
            infer_schema_length=0,
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
        )
    except Exception as exc:  # fastexcel raises several types for unreadable files
        raise InputError(f"{path.name}: kan inte läsa Excel-filen ({exc})") from exc
    df = df.with_columns(pl.all().str.strip_chars().replace("", None))
    return df.with_row_index("_rad", offset=1).with_columns(pl.col("_rad").cast(pl.Int64))


def _table_id(sheet: pl.DataFrame, path: Path) -> str:
    first = sheet.columns[1]
    col = sheet[first].to_list()
    from_footer = None
    for i, v in enumerate(col):
        if v and v.rstrip(":").strip().lower() == "intern referenskod":
            from_footer = next((w for w in col[i + 1 :] if w), None)
    m = _TABLE_ID.match(path.name)
    from_name = m.group(1) if m else None
    if from_footer and from_name and from_footer != from_name:
        raise InputError(
            f"{path.name}: filnamnet säger tabell {from_name} men filen själv (Intern referenskod) {from_footer}"
        )
    table_id = from_footer or from_name
    if not table_id:
        raise InputError(
            f"{path.name}: kan inte avgöra SCB-tabellen: ingen 'Intern referenskod' i filen och inget tabell-id "
            "först i filnamnet (t.ex. 000007A8_...xlsx)"
        )
    return table_id


def _code_column(sheet: pl.DataFrame, cols: list[str], pattern: str, where: str) -> str:
    counts = sheet.select(pl.col(c).str.contains(pattern).fill_null(False).sum() for c in cols).row(0)
    best = max(range(len(cols)), key=lambda i: counts[i])
    if counts[best] == 0:
        raise InputError(f"{where}: hittar ingen kolumn med områdeskoder (förväntade koder som 0114C1010)")
    return cols[best]


def _data_block(sheet: pl.DataFrame, code_col: str, pattern: str, where: str) -> pl.DataFrame:
    is_code = pl.col(code_col).str.contains(pattern).fill_null(False)
    rows = sheet.filter(is_code)["_rad"]
    first, last = int(cast(int, rows.min())), int(cast(int, rows.max()))
    block = sheet.filter((pl.col("_rad") >= first) & (pl.col("_rad") <= last))
    broken = block.filter(~is_code)
    if broken.height:
        bad = broken.row(0, named=True)
        raise InputError(
            f"{where}, rad {bad['_rad']}: förväntade en områdeskod i kolumn {_letter(code_col)} mitt i datablocket "
            f"(rad {first}–{last}), fann {bad[code_col]!r}"
        )
    dup = block.filter(pl.col(code_col).is_duplicated())
    if dup.height:
        raise InputError(f"{where}, rad {dup['_rad'][0]}: områdeskoden {dup[code_col][0]} förekommer flera gånger")
    return block


def _column_labels(header: pl.DataFrame, value_cols: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Value column -> (labels, years). Labels written once over a span are carried right."""
    if not value_cols or not header.height:
        return {c: ([], []) for c in value_cols}
    filled = (
        header.select(pl.concat_list(value_cols).list.eval(pl.element().forward_fill()).alias("v"))
        .select(pl.col("v").list.to_struct(fields=value_cols))
        .unnest("v")
    )
    out = {}
    for c in value_cols:
        cells = [v for v in filled[c].to_list() if v]
        years = [v for v in cells if re.match(_YEAR, v)]
        labels = [v for v in cells if not re.match(_YEAR, v)]
        out[c] = (labels, years)
    return out


def _assign(
    columns: dict[str, tuple[list[str], list[str]]], mapping: TableMap, where: str
) -> list[tuple[ColumnMap, str, list[str]]]:
    """For each mapped column: (its mapping, the sheet column, the years among its labels)."""
    assigned: list[tuple[ColumnMap, str, list[str]]] = []
    for colmap in mapping.kolumn:
        want = {_norm(x) for x in colmap.rubrik}
        hits = [c for c, (labels, _) in columns.items() if want <= {_norm(x) for x in labels}]
        exact = [c for c in hits if want == {_norm(x) for x in columns[c][0]}]
        if len(hits) > 1 and len(exact) == 1:  # "totalt" alone beats "Sverige / totalt"
            hits = exact
        if not hits:
            raise InputError(
                f"{where}: kolumnen med rubriken {' / '.join(colmap.rubrik)!r} ({colmap.variabel}) saknas; "
                f"SCB:s tabell {mapping.tabell} har ändrat utseende — kontrollera rubrikraderna och "
                f"utanforskap/data/scb_tabeller/{mapping.tabell}.toml"
            )
        if len(hits) > 1:
            raise InputError(
                f"{where}: rubriken {' / '.join(colmap.rubrik)!r} ({colmap.variabel}) passar flera kolumner "
                f"({', '.join(_letter(h) for h in hits)}); gör rubriken i scb_tabeller/{mapping.tabell}.toml entydig"
            )
        assigned.append((colmap, hits[0], columns[hits[0]][1]))
    taken = {c for _, c, _ in assigned}
    ignored = [{_norm(x) for x in labels} for labels in mapping.ignorera]
    for c, (labels, _) in columns.items():
        norm = {_norm(x) for x in labels}
        if c not in taken and not any(ig <= norm for ig in ignored):
            raise InputError(
                f"{where}: oväntad kolumn {_letter(c)} med rubriken {' / '.join(labels) or '(ingen)'!r}; "
                f"mappa eller ignorera den i utanforskap/data/scb_tabeller/{mapping.tabell}.toml"
            )
    return assigned


# ---- cells -------------------------------------------------------------------------------
def _parse_cells(cells: pl.DataFrame, where: str) -> pl.DataFrame:
    raw = pl.col("_raw")
    cells = cells.with_columns(
        status=cell_status(raw),
        varde=pl.when(raw.is_in(["-", "–"])).then(pl.lit(0.0)).otherwise(swedish_number(raw)),
    )
    bad = cells.filter(pl.col("varde").is_null() & pl.col("status").is_null())
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(
            f"{where}, rad {r['_rad']}, kolumn {_letter(r['_kol'])}: ogiltigt värde {r['_raw']!r} för {r['variabel']} "
            "(förväntade ett tal, '..' eller '.')"
        )
    negative = cells.filter((pl.col("_typ") != "varde") & (pl.col("varde") < 0))
    if negative.height:
        r = negative.row(0, named=True)
        raise InputError(
            f"{where}, rad {r['_rad']}, kolumn {_letter(r['_kol'])}: negativt antal {r['_raw']} för {r['variabel']} "
            f"i {r['omrade']}; ett antal kan inte vara negativt"
        )
    over = cells.filter((pl.col("_typ") == "procent") & (pl.col("varde") > 100))
    if over.height:
        r = over.row(0, named=True)
        raise InputError(
            f"{where}, rad {r['_rad']}, kolumn {_letter(r['_kol'])}: andelen {r['_raw']} % för {r['variabel']} i "
            f"{r['omrade']} är över 100 (täljaren blir större än nämnaren)"
        )
    return cells


def _to_observations(cells: pl.DataFrame, mapping: TableMap, where: str) -> pl.DataFrame:
    kalla = pl.lit(mapping.kalla)
    niva = pl.lit(mapping.niva)
    plain = cells.filter(pl.col("_typ") != "procent").select(
        "omrade",
        niva.alias("niva"),
        "period",
        "variabel",
        pl.lit(None, pl.Float64).alias("taljare"),
        pl.lit(None, pl.Float64).alias("namnare"),
        "varde",
        "enhet",
        kalla.alias("kalla"),
        "status",
    )
    frames = [plain]
    for colmap in (c for c in mapping.kolumn if c.typ == "procent"):
        pct = cells.filter(pl.col("variabel") == colmap.variabel)
        persons = cells.filter(pl.col("variabel") == colmap.namnare).select(
            "omrade", "period", pl.col("varde").alias("_n"), pl.col("status").alias("_n_status")
        )
        joined = pct.join(persons, on=["omrade", "period"], how="left")
        known = pl.col("varde").is_not_null() & pl.col("_n").is_not_null()
        frames.append(
            joined.select(
                "omrade",
                niva.alias("niva"),
                "period",
                "variabel",
                pl.when(known).then(pl.col("varde") / 100 * pl.col("_n")).alias("taljare"),
                pl.when(known).then(pl.col("_n")).alias("namnare"),
                pl.when(known).then(pl.col("varde") / 100).alias("varde"),
                pl.lit("andel").alias("enhet"),
                kalla.alias("kalla"),
                pl.coalesce("status", "_n_status").alias("status"),
            )
        )
    for d in mapping.harledd:
        parts = plain.filter(pl.col("variabel").is_in(d.summa_av))
        frames.append(
            parts.group_by("omrade", "niva", "period")
            .agg(
                pl.when(pl.col("varde").is_null().any()).then(None).otherwise(pl.col("varde").sum()).alias("varde"),
                pl.col("status").drop_nulls().first().alias("status"),
            )
            .select(
                "omrade",
                "niva",
                "period",
                pl.lit(d.variabel).alias("variabel"),
                pl.lit(None, pl.Float64).alias("taljare"),
                pl.lit(None, pl.Float64).alias("namnare"),
                "varde",
                pl.lit("antal").alias("enhet"),
                kalla.alias("kalla"),
                "status",
            )
        )
    return schema.conform(pl.concat(frames), where)


def _norm(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split()).lower()


def _label(labels: list[str]) -> str:
    return " / ".join(labels)


def _letter(col: str) -> str:
    """Polars' column_3 -> Excel's D."""
    i = int(col.rsplit("_", 1)[1])
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s
