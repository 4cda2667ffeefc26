"""Area codes: recognise the level and vintage of a code, and SCB's 2025 suffixes.

SCB's PxWebApi writes codes of the 2025 vintages with a suffix, e.g. ``0114C1010_DeSO2025``
and ``0114R001_RegSO2025``; the plain codes (``0114C1010``, ``0114R001``) are DeSO 2018 and
RegSO 2020. Kommun (``0114``), län (``01``) and riket (``SE``; SCB writes ``00``) have no
vintage here.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from utanforskap.errors import InputError

RIKET = "SE"

# Levels from smallest to largest; aggregation goes left to right.
LEVELS = ("deso", "regso", "kommun", "lan", "riket")

# Plain code pattern per level (anchored). DeSO: kommun + A/B/C + 4 digits; RegSO: kommun + R + 3 digits.
PATTERNS: dict[str, str] = {
    "deso": r"^\d{4}[ABC]\d{4}$",
    "regso": r"^\d{4}R\d{3}$",
    "kommun": r"^\d{4}$",
    "lan": r"^(0[1-9]|[1-9]\d)$",
    "riket": r"^(SE|00)$",
}
# The vintage a plain (unsuffixed) code is taken to be in.
PLAIN_VINTAGE = {"deso": "2018", "regso": "2020", "kommun": None, "lan": None, "riket": None}
_SUFFIX = r"^(?P<kod>[^_]+)_(?P<typ>DeSO|RegSO)(?P<ar>\d{4})$"


class AreaCode(NamedTuple):
    """A parsed area code: the plain code, its level and its vintage (None for kommun, län, riket)."""

    kod: str
    niva: str
    argang: str | None


def parse_code(code: str) -> AreaCode:
    """Parse one code, e.g. ``0114C1010_DeSO2025`` -> AreaCode('0114C1010', 'deso', '2025').

    Raises InputError for a code of no known form.
    """
    row = parse_codes(pl.Series("kod", [code])).row(0, named=True)
    if row["niva"] is None:
        raise InputError(
            f"okänd områdeskod {code!r}: förväntade DeSO (0114C1010), RegSO (0114R001), kommun (0114), "
            "län (01) eller SE, eventuellt med _DeSO2025/_RegSO2025"
        )
    return AreaCode(row["kod"], row["niva"], row["argang"])


def parse_codes(codes: pl.Series) -> pl.DataFrame:
    """Vectorised parse: a frame with columns original, kod, niva, argang (null niva = unknown form)."""
    df = pl.DataFrame({"original": codes.cast(pl.String)})
    parts = pl.col("original").str.extract_groups(_SUFFIX)
    df = df.with_columns(
        suffixed_kod=parts.struct.field("kod"),
        suffix_typ=parts.struct.field("typ"),
        suffix_ar=parts.struct.field("ar"),
    ).with_columns(kod=pl.coalesce("suffixed_kod", "original"))
    level = pl.lit(None, dtype=pl.String)
    for niva, pattern in reversed(PATTERNS.items()):
        level = pl.when(pl.col("kod").str.contains(pattern)).then(pl.lit(niva)).otherwise(level)
    df = df.with_columns(niva=level)
    # A suffix must agree with the level of the code it is attached to.
    suffix_ok = pl.col("suffix_typ").is_null() | (pl.col("suffix_typ").str.to_lowercase() == pl.col("niva"))
    plain_vintage = pl.col("niva").replace_strict(PLAIN_VINTAGE, default=None, return_dtype=pl.String)
    return df.with_columns(
        niva=pl.when(suffix_ok).then(pl.col("niva")),
        argang=pl.when(pl.col("suffix_ar").is_not_null()).then(pl.col("suffix_ar")).otherwise(plain_vintage),
        kod=pl.when(pl.col("kod") == "00").then(pl.lit(RIKET)).otherwise(pl.col("kod")),
    ).select("original", "kod", "niva", "argang")


# Digits before the level letter (or the whole code): what Excel's dropped leading zero leaves.
_WIDTH = {"kommun": 4, "lan": 2}


def restore_zeros(code: str, level: str) -> str:
    """A code typed or copied without its leading zero, made whole again: kommun ``127`` ->
    ``0127``, län ``1`` -> ``01``, RegSO ``127R001`` -> ``0127R001``, DeSO ``127C1010`` ->
    ``0127C1010``. Anything else is returned stripped and unchanged (validated where used)."""
    code = code.strip()
    if level in _WIDTH and code.isdigit() and len(code) < _WIDTH[level]:
        return code.zfill(_WIDTH[level])
    if level in ("regso", "deso") and len(code) > 3 and code[:3].isdigit() and code[3:4].isalpha():
        return "0" + code
    return code
