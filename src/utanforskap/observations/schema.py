"""The one tidy schema every source writes into.

One row is one observation: a variable for one area at one level and period.
Column names are Swedish because users read them (in exports, SQL and the API).
"""

from __future__ import annotations

import polars as pl

from utanforskap.errors import InputError
from utanforskap.geography.codes import LEVELS as geography_levels

# Column name -> dtype. Order is the canonical column order.
COLUMNS: dict[str, pl.DataType] = {
    "omrade": pl.String(),  # area code, e.g. 0114C1010 (DeSO), 0114R001 (RegSO), 0114, 01, SE
    "niva": pl.String(),  # level: see LEVELS
    "period": pl.String(),  # "2022", or as the source gives it ("2024M01", "2024/25")
    "variabel": pl.String(),  # variable id from the indicator catalogue
    "taljare": pl.Float64(),  # numerator (a count), when the value is a ratio
    "namnare": pl.Float64(),  # denominator (a count), when the value is a ratio
    "varde": pl.Float64(),  # the value itself (count, ratio, median ...); null when suppressed
    "enhet": pl.String(),  # unit: antal, andel, procent, tkr ...
    "kalla": pl.String(),  # source: table id, e.g. "SCB 000007A8"
    "status": pl.String(),  # null when ordinary; else a code in STATUS
}

KEY = ("omrade", "niva", "period", "variabel")

# Levels from smallest to largest (defined by the geography; here for the schema's users).
LEVELS = geography_levels

STATUS: dict[str, str] = {
    "undertryckt": "undertryckt av källan (t.ex. '..' hos SCB eller Skolverket)",
    "saknas": "uppgift saknas hos källan",
    "skyddad": "röjandekontroll: bygger på för få personer (primär)",
    "skyddad_sekundar": "röjandekontroll: dold så att en primärt skyddad cell inte kan räknas fram",
    "ej_aggregerbar": "kan inte summeras upp till denna nivå (t.ex. median)",
}


def empty() -> pl.DataFrame:
    """An empty frame with the observation schema."""
    return pl.DataFrame(schema=COLUMNS)


def conform(df: pl.DataFrame, where: str) -> pl.DataFrame:
    """Return `df` in canonical column order and types, or raise naming `where`.

    Checks what every observation must satisfy: known columns, a known level and
    status, no duplicate key, no negative count, numerator <= denominator.
    `where` names the source (file or dataset) for the error message.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{where}: kolumn saknas i observationerna: {', '.join(missing)}")
    extra = [c for c in df.columns if c not in COLUMNS]
    if extra:
        raise InputError(f"{where}: okänd kolumn i observationerna: {', '.join(extra)}")
    try:
        df = df.select(pl.col(c).cast(t, strict=True) for c, t in COLUMNS.items())
    except pl.exceptions.PolarsError as exc:  # pragma: no cover - message comes from polars
        raise InputError(f"{where}: fel datatyp i observationerna: {exc}") from exc

    checks = _checks()
    # Every check in one query; the message is built only for a check that fails.
    failed = df.select(expr.fill_null(False).any().alias(name) for name, (expr, _) in checks.items()).row(0, named=True)
    for name, (expr, message) in checks.items():
        if failed[name]:
            bad = expr.fill_null(False)
            raise InputError(f"{where}: " + message.format(**df.filter(bad).row(0, named=True), rad=_first_row(df, bad)))
    dup = df.select(KEY).is_duplicated()
    if dup.any():
        row = df.filter(dup).row(0, named=True)
        raise InputError(
            f"{where}: dubblett av {row['omrade']} {row['niva']} {row['period']} {row['variabel']} "
            f"(rad {int(dup.arg_max() or 0) + 1})"
        )
    return df


def _checks() -> dict[str, tuple[pl.Expr, str]]:
    """Name -> (the rows that break a rule, the message: a template over the first such row and its number `rad`)."""
    out: dict[str, tuple[pl.Expr, str]] = {}
    for col in ("omrade", "niva", "period", "variabel", "kalla"):
        out[f"tom_{col}"] = (pl.col(col).is_null() | (pl.col(col) == ""), f"tomt värde i kolumnen {col} (rad {{rad}})")
    out["niva"] = (~pl.col("niva").is_in(LEVELS), f"okänd nivå {{niva!r}} (rad {{rad}}); tillåtna: {', '.join(LEVELS)}")
    out["status"] = (
        ~(pl.col("status").is_null() | pl.col("status").is_in(list(STATUS))),
        f"okänd status {{status!r}} (rad {{rad}}); tillåtna: {', '.join(STATUS)}",
    )
    for col in ("varde", "taljare", "namnare"):
        out[f"ej_andligt_{col}"] = (
            pl.col(col).is_nan() | pl.col(col).is_infinite(),
            f"{col} = {{{col}}} är inte ett ändligt tal för {{omrade}} {{variabel}} {{period}} (rad {{rad}}); "
            "ett saknat värde lämnas tomt",
        )
    for col in ("taljare", "namnare"):
        out[f"negativ_{col}"] = (pl.col(col) < 0, f"negativt antal i {col} = {{{col}}} för {{omrade}} {{variabel}} (rad {{rad}})")
    out["negativt_antal"] = (
        (pl.col("enhet") == "antal") & (pl.col("varde") < 0),
        "negativt antal {varde} för {omrade} {variabel} (rad {rad})",
    )
    # A tiny tolerance: numerators derived from rounded percentages may exceed by rounding.
    out["taljare_over_namnare"] = (
        pl.col("taljare") > pl.col("namnare") * (1 + 1e-9) + 1e-9,
        "täljaren {taljare} är större än nämnaren {namnare} för {omrade} {variabel} {period} (rad {rad})",
    )
    return out


def _first_row(df: pl.DataFrame, predicate: pl.Expr) -> int:
    """1-based index of the first row matching `predicate` (for error messages)."""
    return int(df.select(predicate.fill_null(False).arg_max()).item()) + 1
