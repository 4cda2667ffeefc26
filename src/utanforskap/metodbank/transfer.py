"""Import and export of measures: an Excel template a kommun fills in, the import of that
file (xlsx or csv) with row-level validation where nothing is written on any error, and
the export of everything published (CSV, xlsx, JSON). EXEMPEL rows never leave by export.

    write_template("mall.xlsx")
    n = import_file(db, actor, "ifylld.xlsx")         # FieldErrors/InputError: nothing written
    export(db, "insatser.csv")                         # format from the suffix
"""

from __future__ import annotations

import csv
import gc
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from utanforskap.atomic import atomic_path, write_text
from utanforskap.errors import InputError
from utanforskap.formatting import spreadsheet_safe
from utanforskap.metodbank.db import Database
from utanforskap.metodbank.models import Insats
from utanforskap.metodbank.registry import Actor, Forbidden, _prepare, create_many, record
from utanforskap.metodbank.rules import rules, vocab
from utanforskap.metodbank.schema import FieldErrors, InsatsIn, validate_insats

MAX_ROWS = 20_000
MAX_ERRORS = 50
ANALYZE_AFTER = 500  # rows: an import this large refreshes the planners' statistics (db.analyze)
SEP = ";"
LIST_COLUMNS = ("kommuner", "omraden", "sektorer", "problem", "resultatmatt", "samverkan")
# Template columns: name -> what to write (shown on the instructions sheet).
COLUMNS = {
    "id": "Eget id för insatsen (bokstäver, siffror, - _ .), unikt; valfritt",
    "namn": "Insatsens namn (krävs)",
    "beskrivning": "Vad insatsen gör",
    "niva": "nationell, regional eller kommunal",
    "agare_typ": "regering, myndighet, region, kommun, forening eller foretag",
    "agare_namn": "Vem som äger insatsen",
    "kommuner": "Kommunkoder, åtskilda med semikolon (t.ex. 0180;0114)",
    "omraden": "RegSO-koder (indelning 2020) åtskilda med semikolon, t.ex. 0180R001",
    "malgrupp": "Målgrupp i ord",
    "alder_fran": "Ålder från (år)",
    "alder_till": "Ålder till (år)",
    "kon": "alla, flickor-kvinnor eller pojkar-man",
    "sektorer": "Sektorer åtskilda med semikolon",
    "problem": "Problemvariabler åtskilda med semikolon",
    "start": "Startdatum ÅÅÅÅ-MM-DD",
    "slut": "Slutdatum ÅÅÅÅ-MM-DD (tomt: pågår)",
    "deltagare": "Antal deltagare",
    "platser": "Antal platser",
    "kostnad_kr": "Kostnad i kronor (heltal, inte negativt)",
    "finansiering": "Finansiering, t.ex. ett namngivet statsbidrag",
    "urval": "Hur områden, skolor eller deltagare väljs",
    "samverkan": "Samverkanspartner åtskilda med semikolon",
    "resultatmatt": "Resultatmått åtskilda med semikolon",
    "kalla_titel": "Källa (rapport, beslut, webbsida)",
    "kalla_url": "Källans adress (https://...)",
    "exempel": "ja om raden är påhittad för att prova (EXEMPEL); annars tomt",
}
REQUIRED = ("namn",)


def write_template(target: str | Path) -> Path:
    """The Excel template: a sheet `insatser` with the columns, and one with instructions and
    every allowed value."""
    import xlsxwriter

    target = Path(target)
    v = vocab()
    with atomic_path(target) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        bold = wb.add_format({"bold": True})
        ws = wb.add_worksheet("insatser")
        for c, name in enumerate(COLUMNS):
            ws.write(0, c, name, bold)
            ws.set_column(c, c, 18)
        ws.freeze_panes(1, 0)
        help_ = wb.add_worksheet("anvisningar")
        help_.write(0, 0, "kolumn", bold)
        help_.write(0, 1, "vad", bold)
        for r, (name, what) in enumerate(COLUMNS.items(), start=1):
            help_.write(r, 0, name)
            help_.write(r, 1, what)
        r = len(COLUMNS) + 2
        for title, values in (("sektorer", v.sektorer), ("problem", v.problem), ("niva", v.niva), ("agare_typ", v.agare_typ), ("kon", v.kon)):
            help_.write(r, 0, f"tillåtna värden: {title}", bold)
            r += 1
            for key, text in values.items():
                help_.write(r, 0, key)
                help_.write(r, 1, text)
                r += 1
            r += 1
        help_.set_column(0, 0, 28)
        help_.set_column(1, 1, 70)
        wb.close()
    return target


def _xlsx_rows(path: Path) -> list[list[str]]:
    """Every cell of the sheet `insatser` (else the first) as text, read by fastexcel (calamine,
    several times faster than openpyxl for a 10 000-row file): a date as ÅÅÅÅ-MM-DD, a whole
    number without decimals, surrounding spaces removed."""
    import fastexcel
    import polars as pl

    reader = fastexcel.read_excel(str(path))
    names = reader.sheet_names
    if not names:
        return []
    sheet = reader.load_sheet_by_name("insatser" if "insatser" in names else names[0], header_row=None, dtypes="string")
    frame = sheet.to_polars()
    if frame.width == 0:
        return []
    frame = frame.select(
        pl.all().fill_null("").str.strip_chars()
        .str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?$", "${1}")
        .str.replace(r"^(-?\d+)\.0+$", "${1}")
    )
    return [list(r) for r in frame.rows()]


def read_rows(path: str | Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of an xlsx (first sheet) or csv (comma or semicolon) file, as text."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: filen finns inte")
    suffix = path.suffix.lower()
    try:
        if suffix == ".xlsx":
            rows = _xlsx_rows(path)
        elif suffix == ".csv":
            text = path.read_bytes().decode("utf-8-sig")
            dialect = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
            rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), delimiter=dialect)]
        else:
            raise InputError(f"{path}: okänt filformat {suffix!r}; importera .xlsx (mallen) eller .csv")
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: filen är inte UTF-8-kodad text; spara som CSV UTF-8 eller använd mallen (.xlsx)") from exc
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InputError(f"{path}: filen går inte att läsa som {suffix[1:]}: {exc}") from exc
    rows = [r for r in rows if any(c for c in r)]
    if not rows:
        raise InputError(f"{path}: filen är tom; fyll i mallen från `utanforskap insatser mall`")
    header = [h.strip().lower() for h in rows[0]]
    while header and not header[-1]:
        header.pop()
    return header, [r[: len(header)] + [""] * (len(header) - len(r)) for r in rows[1:]]


def _to_data(row: dict[str, str]) -> dict:
    data: dict = {}
    for key, value in row.items():
        if key in ("kalla_titel", "kalla_url") or value == "":
            continue
        if key == "id":
            data["extern_id"] = value
        elif key in LIST_COLUMNS:
            items = [x.strip() for x in value.split(SEP) if x.strip()]
            data[key] = [{"namn": x} for x in items] if key == "samverkan" else items
        elif key == "exempel":
            data[key] = value.lower() in ("ja", "1", "true", "sant", "x")
        else:
            data[key] = value
    if row.get("kalla_titel") or row.get("kalla_url"):
        data["kallor"] = [{"titel": row.get("kalla_titel") or row.get("kalla_url"), "url": row.get("kalla_url", "")}]
    return data


def validate_file(path: str | Path) -> list[InsatsIn]:
    """Every row checked; raises one InputError listing each bad row (up to 50) or [] rows."""
    path = Path(path)
    header, rows = read_rows(path)
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        parts = []
        if unknown:
            parts.append(f"okända kolumner {', '.join(repr(u) for u in unknown)}")
        if missing:
            parts.append(f"kolumnen {', '.join(missing)} saknas")
        if len(set(header)) != len(header):
            parts.append("en kolumn förekommer två gånger")
        raise InputError(f"{path.name}: fel kolumner: {'; '.join(parts)}. Använd mallen från `utanforskap insatser mall` (tillåtna: {', '.join(COLUMNS)})")
    if not rows:
        raise InputError(f"{path.name}: filen har inga rader med insatser under rubrikraden; inget är importerat")
    if len(rows) > MAX_ROWS:
        raise InputError(f"{path.name}: {len(rows)} rader är fler än de {MAX_ROWS} som tas emot i en import; dela filen")
    out: list[InsatsIn] = []
    errors: list[str] = []
    seen_ids: dict[str, int] = {}
    seen_rows: dict[tuple, int] = {}
    for n, values in enumerate(rows, start=2):
        row = dict(zip(header, values, strict=True))
        try:
            data = validate_insats(_to_data(row))
        except FieldErrors as exc:
            errors.extend(f"rad {n}, {field or 'raden'}: {msg}" for field, msg in exc.errors)
            continue
        if data.extern_id:
            if data.extern_id in seen_ids:
                errors.append(f"rad {n}, id: {data.extern_id!r} finns redan på rad {seen_ids[data.extern_id]} (dubblett)")
                continue
            seen_ids[data.extern_id] = n
        key = (data.namn.lower(), tuple(data.kommuner), data.start)
        if key in seen_rows:
            errors.append(f"rad {n}: samma insats (namn, kommuner, start) som rad {seen_rows[key]} (dubblett)")
            continue
        seen_rows[key] = n
        out.append(data)
    if errors:
        more = f" (och {len(errors) - MAX_ERRORS} fel till)" if len(errors) > MAX_ERRORS else ""
        raise InputError(f"{path.name}: {len(errors)} fel, inget är importerat: " + "; ".join(errors[:MAX_ERRORS]) + more)
    return out


def import_file(db: Database, actor: Actor, path: str | Path, *, status: str = "utkast") -> int:
    """Validate every row, then write all of them in one transaction (or nothing)."""
    with db.session() as s:
        n = len(import_in_session(s, actor, path, status=status))
    if n >= ANALYZE_AFTER:
        from utanforskap.metodbank.db import analyze

        analyze(db)
    return n


def import_in_session(s: Session, actor: Actor, path: str | Path, *, status: str = "utkast") -> list[int]:
    """import_file in the caller's transaction (a reporting round links the new ids to its
    answer in the same transaction); returns the new measures' ids."""
    with _collector_paused():
        return _import(s, actor, Path(path), status)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while an import builds its rows: the rows (some 100 000
    small dicts, lists and models for 10 000 measures) all live until the commit, so the
    collector frees none of them, yet it walked them again and again (a third of the
    import's CPU time, measured)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _import(s: Session, actor: Actor, path: Path, status: str) -> list[int]:
    measures = validate_file(path)
    name = Path(path).name
    ids = [m.extern_id for m in measures if m.extern_id]
    taken = set()
    for chunk in range(0, len(ids), 500):
        taken |= set(s.scalars(select(Insats.extern_id).where(Insats.extern_id.in_(ids[chunk : chunk + 500]))))
    if taken:
        raise InputError(f"{name}: id {', '.join(sorted(taken)[:10])} finns redan i metodbanken; inget är importerat")
    for n, data in enumerate(measures, start=2):  # role and kommun, row by row, before writing
        try:
            _prepare(actor, data, status)
        except (Forbidden, InputError) as exc:
            raise InputError(f"{name}, rad {n}: {exc}; inget är importerat") from exc
    return create_many(s, actor, measures, status=status)


# ---- export --------------------------------------------------------------------------
def published(db: Database) -> list[dict]:
    """Every published measure that is real (never EXEMPEL), as records."""
    with db.session() as s:
        rows = s.scalars(select(Insats).where(Insats.status == "publicerad", Insats.exempel.is_(False)).order_by(Insats.id))
        return [record(i) for i in rows]


FLAT = ["id", "extern_id", "namn", "beskrivning", "niva", "agare_typ", "agare_namn", "kommuner", "omraden", "malgrupp",
        "alder_fran", "alder_till", "kon", "sektorer", "problem", "start", "slut", "period_text", "beslut_text", "deltagare",
        "platser", "kostnad_kr", "belopp_text", "finansiering", "urval", "samverkan", "resultatmatt", "kallor", "kallstatus",
        "evidensgrad", "evidensregel", "antal_utvarderingar", "andrad"]


def flat(rec: dict) -> dict:
    out = {}
    for k in FLAT:
        if k == "antal_utvarderingar":
            out[k] = len(rec["utvarderingar"])
        elif k == "omraden":
            out[k] = SEP.join(o["regso_kod"] for o in rec[k])
        elif k == "samverkan":
            out[k] = SEP.join(p["namn"] for p in rec[k])
        elif k == "kallor":
            out[k] = SEP.join(f"{c['titel']} {c['url']}".strip() for c in rec[k])
        elif isinstance(rec[k], list):
            out[k] = SEP.join(rec[k])
        else:
            out[k] = rec[k]
    return out


def export(db: Database, target: str | Path) -> int:
    """Write everything published to CSV, xlsx or JSON (by suffix); returns the count."""
    target = Path(target)
    records = published(db)
    suffix = target.suffix.lower()
    meta = {
        "kalla": "utanforskap metodbank: publicerade insatser",
        "evidensregler": rules().proveniens,
        "antal": len(records),
    }
    if suffix == ".json":
        write_text(target, json.dumps({**meta, "insatser": records}, ensure_ascii=False, indent=1, default=str))
    elif suffix == ".csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=FLAT, lineterminator="\n")
        w.writeheader()
        for r in records:
            w.writerow({k: spreadsheet_safe(v) for k, v in flat(r).items()})
        write_text(target, buf.getvalue())
    elif suffix == ".xlsx":
        import xlsxwriter

        with atomic_path(target) as tmp:
            wb = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
            ws = wb.add_worksheet("insatser")
            for c, k in enumerate(FLAT):
                ws.write(0, c, k)
            for r, rec in enumerate(records, start=1):
                for c, k in enumerate(FLAT):
                    v = flat(rec)[k]
                    ws.write(r, c, "" if v is None else v)
            wb.close()
    else:
        raise InputError(f"{target}: okänt format {suffix!r}; ange .csv, .xlsx eller .json")
    return len(records)
