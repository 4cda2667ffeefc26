"""Area vintages: the key from DeSO 2018 to DeSO 2025 and from RegSO 2020 to RegSO 2025, with
a change code per area.

    links = deso_links(old_deso_codes, new_deso_codes)          # from SCB's valuesets
    deso = classify(links, "deso")
    regso = classify(regso_links(links, old_members, new_members), "regso", members=...)
    key = read_key_file("nyckel.xlsx")                           # or SCB's key file

A key is a table of links (`kod_fran` in the old vintage, `kod_till` in the new one). Each
old area gets a change code:

* `oförändrad`: one successor with the same code, which has no other predecessor (and, for
  a RegSO, consists of the same land: every DeSO of it is unchanged or split inside it);
* `sammanslagen`: its one successor has other predecessors, each of which goes wholly into it;
* `delad`: several successors, each made only from this area;
* `ändrad`: anything else (a new code for the same land, parts going several ways, no
  successor at all, or a RegSO whose DeSO changed).

A series continues across the break only for `oförändrad` areas (followup marks the others
"ej jämförbar" with the reason).

How links are derived from SCB's codelists, where no key file is at hand (`deso_links`): a
DeSO code present in both vintages is the same area (SCB keeps the code of an area it did
not change); a new code whose first eight characters are an old code's (the ninth is the
reserve position SCB uses when it divides or changes an area) comes from that area; a new
code with neither has no known predecessor. RegSO links follow from the DeSO links and the
aggregation codelists' valueMaps (which DeSO each RegSO consists of).
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from utanforskap.errors import InputError

CHANGE_CODES = ("oförändrad", "sammanslagen", "delad", "ändrad")
VINTAGES = {"deso": ("DeSO 2018", "DeSO 2025"), "regso": ("RegSO 2020", "RegSO 2025")}
KEY_COLUMNS = {"niva": pl.String, "kod_fran": pl.String, "kod_till": pl.String, "andring": pl.String, "orsak": pl.String}
LINK_SCHEMA = {"kod_fran": pl.String, "kod_till": pl.String}


def _plain(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.strip_chars().str.replace(r"_(DeSO|RegSO)20\d\d$", "")


def deso_links(old: list[str] | pl.Series, new: list[str] | pl.Series) -> pl.DataFrame:
    """Links from DeSO 2018 to DeSO 2025 codes by the code rule above (suffixes are dropped).
    Every old code appears; one with no successor has `kod_till` null."""
    o = pl.DataFrame({"kod_fran": pl.Series(old, dtype=pl.String)}).select(_plain("kod_fran")).unique()
    n = pl.DataFrame({"kod_till": pl.Series(new, dtype=pl.String)}).select(_plain("kod_till")).unique()
    same = o.join(n, left_on="kod_fran", right_on="kod_till", how="inner").with_columns(kod_till=pl.col("kod_fran"))
    rest = n.filter(~pl.col("kod_till").is_in(same["kod_till"].implode()))
    by_prefix = rest.with_columns(_p=pl.col("kod_till").str.slice(0, 8)).join(
        o.with_columns(_p=pl.col("kod_fran").str.slice(0, 8)), on="_p", how="inner"
    ).select("kod_fran", "kod_till")
    links = pl.concat([same.select("kod_fran", "kod_till"), by_prefix])
    orphans = o.filter(~pl.col("kod_fran").is_in(links["kod_fran"].implode())).with_columns(kod_till=pl.lit(None, pl.String))
    return pl.concat([links, orphans]).unique().sort("kod_fran", "kod_till", nulls_last=True)


def regso_links(deso: pl.DataFrame, old_members: pl.DataFrame, new_members: pl.DataFrame) -> pl.DataFrame:
    """RegSO 2020 -> RegSO 2025 links through the DeSO links. `old_members`/`new_members`:
    columns regso_kod, deso_kod (from the aggregation codelists' valueMaps)."""
    om = old_members.select(_plain("regso_kod").alias("r_fran"), _plain("deso_kod").alias("kod_fran"))
    nm = new_members.select(_plain("regso_kod").alias("r_till"), _plain("deso_kod").alias("kod_till"))
    j = om.join(deso.filter(pl.col("kod_till").is_not_null()), on="kod_fran", how="left").join(nm, on="kod_till", how="left")
    through = j.filter(pl.col("r_till").is_not_null()).select(pl.col("r_fran").alias("kod_fran"), pl.col("r_till").alias("kod_till"))
    # A RegSO code found in both vintages links to itself (whether its land is the same is
    # for classify's member check to say).
    kept = om.select(pl.col("r_fran").alias("kod_fran")).unique().join(
        nm.select(pl.col("r_till").alias("kod_fran")).unique(), on="kod_fran"
    ).with_columns(kod_till=pl.col("kod_fran"))
    links = pl.concat([through, kept]).unique()
    orphans = om.select(pl.col("r_fran").alias("kod_fran")).unique().filter(~pl.col("kod_fran").is_in(links["kod_fran"].implode()))
    return pl.concat([links, orphans.with_columns(kod_till=pl.lit(None, pl.String))]).sort("kod_fran", "kod_till", nulls_last=True)


def _member_check(deso_key: pl.DataFrame, old_members: pl.DataFrame, new_members: pl.DataFrame) -> pl.DataFrame:
    """Per RegSO 2020 code: whether its land is the same in 2025 (every DeSO of it unchanged
    or divided inside it, and no new DeSO of unknown origin in the RegSO of the same code)."""
    om = old_members.select(_plain("regso_kod").alias("r"), _plain("deso_kod").alias("kod_fran"))
    nm = new_members.select(_plain("regso_kod").alias("r_till"), _plain("deso_kod").alias("kod_till"))
    d = om.join(deso_key.select("kod_fran", "kod_till", "andring"), on="kod_fran", how="left").join(nm, on="kod_till", how="left")
    ok_deso = ((pl.col("andring") == "oförändrad") | (pl.col("andring") == "delad")) & (pl.col("r_till") == pl.col("r"))
    inside = d.group_by("r").agg(ok_deso.fill_null(False).all().alias("_inre"))
    linked_new = deso_key.filter(pl.col("kod_till").is_not_null())["kod_till"].implode()
    unknown = nm.filter(~pl.col("kod_till").is_in(linked_new)).group_by("r_till").agg(pl.len().alias("_okanda"))
    return inside.join(unknown, left_on="r", right_on="r_till", how="left").select(
        pl.col("r").alias("kod_fran"), (pl.col("_inre") & pl.col("_okanda").is_null()).alias("_samma_mark")
    )


def classify(links: pl.DataFrame, niva: str, members: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None = None) -> pl.DataFrame:
    """The key with a change code and a reason per link (see the module docstring).

    `members` (for RegSO): (the classified DeSO key, old members, new members), so that a
    RegSO whose code is kept but whose DeSO changed is `ändrad`, not `oförändrad`."""
    if niva not in VINTAGES:
        raise InputError(f"nycklar mellan indelningar finns för deso och regso, inte {niva!r}")
    old_v, new_v = VINTAGES[niva]
    df = links.select(_plain("kod_fran").alias("kod_fran"), pl.col("kod_till").cast(pl.String).str.strip_chars()).with_columns(
        kod_till=pl.when(pl.col("kod_till") == "").then(None).otherwise(_plain("kod_till"))
    ).unique()
    real = pl.col("kod_till").is_not_null()
    df = df.with_columns(
        _n_till=pl.col("kod_till").filter(real).n_unique().over("kod_fran"),
        _n_fran=pl.when(real).then(pl.col("kod_fran").n_unique().over("kod_till")),
    )
    # For a merge, every predecessor of the successor must go wholly into it.
    df = df.with_columns(_alla_hela=pl.when(real).then((pl.col("_n_till") == 1).all().over("kod_till")))
    # For a split, every successor must be made only from this area.
    df = df.with_columns(_delar_egna=(pl.col("_n_fran").fill_null(1) == 1).all().over("kod_fran"))
    if members is not None:
        df = df.join(_member_check(*members), on="kod_fran", how="left").with_columns(pl.col("_samma_mark").fill_null(False))
    else:
        df = df.with_columns(_samma_mark=pl.lit(True))
    one = (pl.col("_n_till") == 1) & (pl.col("_n_fran") == 1)
    andring = (
        pl.when(~real).then(pl.lit("ändrad"))
        .when(one & (pl.col("kod_fran") == pl.col("kod_till")) & pl.col("_samma_mark")).then(pl.lit("oförändrad"))
        .when((pl.col("_n_till") == 1) & (pl.col("_n_fran") > 1) & pl.col("_alla_hela")).then(pl.lit("sammanslagen"))
        .when((pl.col("_n_till") > 1) & pl.col("_delar_egna")).then(pl.lit("delad"))
        .otherwise(pl.lit("ändrad"))
    )
    others_to = pl.col("kod_fran").filter(real).unique().sort().str.join(", ").over("kod_till")
    parts = pl.col("kod_till").filter(real).unique().sort().str.join(", ").over("kod_fran")
    orsak = (
        pl.when(pl.col("andring") == "oförändrad").then(pl.lit(""))
        .when(~real).then(pl.lit(f"ingen efterföljare i {new_v}"))
        .when(pl.col("andring") == "sammanslagen").then(pl.format(f"sammanslagen i {new_v} till {{}} med {{}}", pl.col("kod_till"), others_to))
        .when(pl.col("andring") == "delad").then(pl.format(f"delad i {new_v} i {{}}", parts))
        .when(one & (pl.col("kod_fran") == pl.col("kod_till"))).then(pl.lit(f"samma kod men andra DeSO i {new_v}"))
        .when(one).then(pl.format(f"ny kod i {new_v}: {{}}", pl.col("kod_till")))
        .otherwise(pl.format(f"ändrad gräns i {new_v} (delar till {{}})", parts))
    )
    df = df.with_columns(andring=andring).with_columns(orsak=orsak, niva=pl.lit(niva))
    return df.select(list(KEY_COLUMNS)).with_columns(
        pl.when(pl.col("orsak") == "").then(None).otherwise(pl.format(f"{old_v} → {new_v}: {{}}", pl.col("orsak"))).alias("orsak")
    ).sort("kod_fran", "kod_till", nulls_last=True)


def area_changes(key: pl.DataFrame, niva: str) -> pl.DataFrame:
    """One row per old area of `niva`: kod, andring (the worst over its links), orsak."""
    rank = {c: i for i, c in enumerate(CHANGE_CODES)}
    k = key.filter(pl.col("niva") == niva).with_columns(_r=pl.col("andring").replace_strict(rank, default=len(rank)))
    return k.sort("_r", descending=True).group_by("kod_fran", maintain_order=True).first().select(
        pl.col("kod_fran").alias("kod"), "andring", "orsak"
    ).sort("kod")


# ---- a key file ---------------------------------------------------------------------------
def _find(columns: list[str], level: str, year: str) -> str | None:
    for c in columns:
        low = c.lower().replace(" ", "").replace("_", "").replace("-", "")
        if level in low and year in low and ("kod" in low or low in (f"{level}{year}",)):
            return c
    for c in columns:
        low = c.lower().replace(" ", "").replace("_", "").replace("-", "")
        if level in low and year in low:
            return c
    return None


def read_key_file(path: str | os.PathLike[str]) -> pl.DataFrame:
    """A key file as published (xlsx or CSV): the columns holding the old and new codes are
    found by their headers (e.g. "DeSO 2018" / "DeSO 2025", "RegSO 2020 kod" / "RegSO 2025
    kod"); the header row may follow title rows. Returns the classified key, both levels when
    both are present."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: nyckelfilen finns inte")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            raw = pl.read_excel(path, has_header=False, infer_schema_length=0)
        else:
            raw = pl.read_csv(path, has_header=False, infer_schema_length=0, separator=_sep(path), truncate_ragged_lines=True)
    except Exception as exc:  # the reader's own message, said with the file's name
        raise InputError(f"{path}: kan inte läsa nyckelfilen ({type(exc).__name__}: {exc})") from exc
    header_row = None
    for i, row in enumerate(raw.head(30).iter_rows()):
        cells = [str(c or "") for c in row]
        pairs = [(_find(cells, lv, a), _find(cells, lv, b)) for lv, (a, b) in (("deso", ("2018", "2025")), ("regso", ("2020", "2025")))]
        if any(x and y and x != y for x, y in pairs):  # a title naming both years in one cell is not the header
            header_row = i
            break
    if header_row is None:
        raise InputError(f"{path}: hittar ingen rubrik för DeSO 2018 eller RegSO 2020 bland de första 30 raderna; nyckeln behöver kolumner som 'DeSO 2018' och 'DeSO 2025'")
    names = [str(c or f"kolumn_{j}") for j, c in enumerate(raw.row(header_row))]
    body = raw.slice(header_row + 1)
    body.columns = _unique(names)
    out = []
    for level, (old_y, new_y) in (("deso", ("2018", "2025")), ("regso", ("2020", "2025"))):
        a, b = _find(body.columns, level, old_y), _find(body.columns, level, new_y)
        if a and b:
            links = body.select(pl.col(a).alias("kod_fran"), pl.col(b).alias("kod_till")).filter(pl.col("kod_fran").is_not_null())
            bad = links.filter(~_plain("kod_fran").str.contains(r"^\d{4}[A-CR]\d{3,4}$"))
            if bad.height:
                raise InputError(f"{path}: kolumnen {a!r} har en kod som inte är en {level.upper()}-kod: {bad['kod_fran'][0]!r}")
            out.append(classify(links, level))
        elif a or b:
            raise InputError(f"{path}: kolumnen för {VINTAGES[level][1] if a else VINTAGES[level][0]} saknas (hittade {a or b!r})")
    if not out:
        raise InputError(f"{path}: ingen kolumn för både det gamla och det nya året (t.ex. 'DeSO 2018' och 'DeSO 2025')")
    return pl.concat(out)


def _sep(path: Path) -> str:
    head = path.read_bytes()[:4096].decode("utf-8", "replace")
    return ";" if head.count(";") > head.count(",") else ","


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}_{k}")
    return out


def check_key(key: pl.DataFrame, where: str) -> pl.DataFrame:
    """A stored key read back: the columns and change codes it must have."""
    missing = [c for c in KEY_COLUMNS if c not in key.columns]
    if missing:
        raise InputError(f"{where}: kolumn saknas i nyckeln: {', '.join(missing)}")
    bad = key.filter(~pl.col("andring").is_in(list(CHANGE_CODES)))
    if bad.height:
        raise InputError(f"{where}: okänd ändringskod {bad['andring'][0]!r} ({bad['kod_fran'][0]}); tillåtna: {', '.join(CHANGE_CODES)}")
    return key.select(pl.col(c).cast(t) for c, t in KEY_COLUMNS.items())
