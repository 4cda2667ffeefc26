"""The area hierarchy DeSO 2018 -> RegSO 2020 -> kommun -> län -> riket.

Built from SCB's key table DeSO 2018 -> RegSO 2020 -> kommun (one row per DeSO) plus the
län names in ``utanforskap/data/lan.csv``; bundled as ``data/paket/geografi/deso.parquet``
so that a fresh clone needs nothing else.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import polars as pl

from utanforskap.errors import InputError
from utanforskap.geography.codes import LEVELS, PATTERNS, RIKET, parse_codes

# Columns of the one-row-per-DeSO table, in order.
COLUMNS = (
    "deso_kod",
    "regso_kod",
    "regso_namn",
    "kommun_kod",
    "kommun_namn",
    "lan_kod",
    "lan_namn",
    "riket_kod",
    "riket_namn",
)
# Columns of areas(level): the level's code and name, then every larger level's.
_LEVEL_COLUMNS = {
    "deso": ("deso_kod",),
    "regso": ("regso_kod", "regso_namn"),
    "kommun": ("kommun_kod", "kommun_namn"),
    "lan": ("lan_kod", "lan_namn"),
    "riket": ("riket_kod", "riket_namn"),
}
# Columns of SCB's key file and what they become.
_KEY_COLUMNS = {
    "Kommun": "kommun_kod",
    "Kommunnamn": "kommun_namn",
    "DeSO_2018": "deso_kod",
    "RegSO_2020": "regso_namn",
    "RegSOkod_2020": "regso_kod",
}
BUNDLED_FILE = ("paket", "geografi", "deso.parquet")


class Geography:
    """The hierarchy as one row per DeSO; see the module docstring."""

    def __init__(self, deso: pl.DataFrame, where: str = "geografi"):
        self.where = where
        self.table = _validate(deso.select(COLUMNS), where)

    # ---- construction --------------------------------------------------------------
    @classmethod
    def from_key_file(cls, path: str | Path) -> Geography:
        """Read SCB's key CSV (``koppling-deso2018-regso2020.csv``, UTF-8 with BOM)."""
        path = Path(path)
        try:
            raw = pl.read_csv(path, infer_schema=False, encoding="utf8")
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise InputError(f"{path}: kan inte läsa nyckeltabellen ({exc})") from exc
        raw = raw.rename({c: c.lstrip("\ufeff").strip() for c in raw.columns})
        missing = [c for c in _KEY_COLUMNS if c not in raw.columns]
        if missing:
            raise InputError(
                f"{path}, rad 1: kolumnen {missing[0]!r} saknas i nyckeltabellen; "
                f"förväntade kolumnerna {', '.join(_KEY_COLUMNS)}"
            )
        df = raw.select(pl.col(k).str.strip_chars().alias(v) for k, v in _KEY_COLUMNS.items())
        return cls(_with_upper_levels(df, str(path)), str(path))

    @classmethod
    def from_parquet(cls, path: str | Path) -> Geography:
        return cls(pl.read_parquet(path), str(path))

    def write_parquet(self, path: str | Path) -> None:
        from utanforskap.atomic import atomic_path

        with atomic_path(path) as tmp:
            self.table.write_parquet(tmp, compression="zstd")

    # ---- queries -------------------------------------------------------------------
    def areas(self, level: str) -> pl.DataFrame:
        """One row per area of `level`: its code and name, then its parents' codes and names."""
        _check_level(level)
        cols = [c for lv in LEVELS[LEVELS.index(level) :] for c in _LEVEL_COLUMNS[lv]]
        return self.table.select(cols).unique(subset=f"{level}_kod").sort(f"{level}_kod")

    def codes(self, level: str) -> pl.Series:
        return self.areas(level)[f"{level}_kod"]

    def mapping(self, from_level: str, to_level: str) -> pl.DataFrame:
        """Child code -> parent code: columns ``<from>_kod`` and ``<to>_kod``, one row per child."""
        _check_level(from_level)
        _check_level(to_level)
        if LEVELS.index(to_level) <= LEVELS.index(from_level):
            raise InputError(f"kan inte koppla {from_level} till {to_level}: målnivån måste vara större")
        return (
            self.table.select(f"{from_level}_kod", f"{to_level}_kod")
            .unique(subset=f"{from_level}_kod")
            .sort(f"{from_level}_kod")
        )

    def check_codes(
        self, df: pl.DataFrame, column: str, level: str, where: str, row_column: str | None = None
    ) -> None:
        """Raise InputError naming file, row and code for the first code of `column` not in `level`.

        `row_column` holds the row number in the source file (1-based); without it the row is
        the position in `df` (1-based).
        """
        known = self.codes(level)
        rows = pl.col(row_column) if row_column else pl.int_range(1, pl.len() + 1)
        bad = df.with_columns(_rad=rows).filter(~pl.col(column).is_in(known.implode()) | pl.col(column).is_null())
        if bad.height:
            first = bad.row(0, named=True)
            code = f"okänd {_LEVEL_NAME[level]}kod {first[column]!r}" if first[column] else f"{_LEVEL_NAME[level]}kod saknas"
            raise InputError(
                f"{where}, rad {first['_rad']}: {code} "
                f"({bad.height} rader med okänd eller tom kod); rätta koden eller uppdatera nyckeltabellen"
            )

    def join_vintage(self, df: pl.DataFrame, column: str) -> VintageJoin:
        """Join codes of any vintage (e.g. ``0114C1010_DeSO2025``) to DeSO 2018 / RegSO 2020.

        Rule: a 2025 code whose plain form exists in the older vintage is taken to be the
        same area (SCB kept the codes of areas it did not change); every other code is
        returned in ``unmatched`` with the reason, never dropped. Adds columns ``omrade``
        (plain code in the hierarchy's vintage), ``niva`` and ``argang`` (the code's vintage).
        """
        parsed = parse_codes(df[column]).rename({"kod": "omrade"}).drop("original")
        out = pl.concat([df, parsed], how="horizontal")
        known = pl.concat(
            [self.codes(lv).alias("omrade").to_frame().with_columns(niva=pl.lit(lv)) for lv in LEVELS[:-1]]
            + [pl.DataFrame({"omrade": [RIKET], "niva": ["riket"]})]
        ).with_columns(_kand=pl.lit(True))
        out = out.join(known, on=["omrade", "niva"], how="left")
        reason = (
            pl.when(pl.col("niva").is_null())
            .then(pl.lit("okänd kodform"))
            .when(pl.col("_kand").is_null())
            .then(pl.lit("koden finns inte i DeSO 2018/RegSO 2020 (ny eller ändrad kod)"))
        )
        out = out.with_columns(orsak=reason).drop("_kand")
        return VintageJoin(
            matched=out.filter(pl.col("orsak").is_null()).drop("orsak"),
            unmatched=out.filter(pl.col("orsak").is_not_null()),
        )


class VintageJoin(NamedTuple):
    matched: pl.DataFrame
    unmatched: pl.DataFrame


_LEVEL_NAME = {"deso": "DeSO-", "regso": "RegSO-", "kommun": "kommun", "lan": "läns", "riket": "riks"}


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise InputError(f"okänd nivå {level!r}; tillåtna: {', '.join(LEVELS)}")


def _with_upper_levels(df: pl.DataFrame, where: str) -> pl.DataFrame:
    lan = lan_names()
    df = df.with_columns(lan_kod=pl.col("kommun_kod").str.slice(0, 2)).join(lan, on="lan_kod", how="left")
    missing = df.filter(pl.col("lan_namn").is_null())
    if missing.height:
        raise InputError(
            f"{where}: länskoden {missing['lan_kod'][0]!r} (kommun {missing['kommun_kod'][0]}) finns inte i lan.csv"
        )
    return df.with_columns(riket_kod=pl.lit(RIKET), riket_namn=pl.lit("Riket"))


def lan_names() -> pl.DataFrame:
    """The 21 län: lan_kod, lan_namn (from the package data file lan.csv)."""
    text = resources.files("utanforskap.data").joinpath("lan.csv").read_text(encoding="utf-8")
    return pl.read_csv(text.encode(), schema={"lan_kod": pl.String, "lan_namn": pl.String})


def _validate(df: pl.DataFrame, where: str) -> pl.DataFrame:
    for level, pattern in PATTERNS.items():
        col = f"{level}_kod"
        bad = df.with_row_index("_rad", offset=2).filter(~pl.col(col).str.contains(pattern).fill_null(False))
        if bad.height:
            raise InputError(f"{where}, rad {bad['_rad'][0]}: ogiltig {_LEVEL_NAME[level]}kod {bad[col][0]!r}")
    dup = df.filter(pl.col("deso_kod").is_duplicated())
    if dup.height:
        raise InputError(f"{where}: DeSO-koden {dup['deso_kod'][0]} förekommer flera gånger")
    # Each area must have exactly one parent (the hierarchy nests).
    for child, parent in zip(LEVELS[:-1], LEVELS[1:], strict=True):
        split = df.group_by(f"{child}_kod").agg(pl.col(f"{parent}_kod").n_unique().alias("n")).filter(pl.col("n") > 1)
        if split.height:
            raise InputError(f"{where}: {child} {split[f'{child}_kod'][0]} ligger i flera {parent}; nyckeln är trasig")
    # Codes embed their kommun and län: 0114C1010 and 0114R001 lie in kommun 0114, län 01.
    for child in ("deso", "regso", "kommun"):
        for parent in ("kommun", "lan"):
            if child == parent:
                continue
            bad = df.filter(~pl.col(f"{child}_kod").str.starts_with(pl.col(f"{parent}_kod")))
            if bad.height:
                raise InputError(
                    f"{where}: {child}koden {bad[f'{child}_kod'][0]} börjar inte med {parent}koden "
                    f"{bad[f'{parent}_kod'][0]}"
                )
    return df.sort("deso_kod")


@lru_cache(maxsize=1)
def default() -> Geography:
    """The bundled hierarchy (``utanforskap/data/paket/geografi/deso.parquet``)."""
    ref = resources.files("utanforskap.data").joinpath(*BUNDLED_FILE)
    path = Path(str(ref))
    if not path.exists():
        raise InputError(
            f"{path}: den paketerade geografin saknas; bygg paketet med `utanforskap importera --fran ../shared/data`"
        )
    return Geography.from_parquet(path)


def areas(level: str) -> pl.DataFrame:
    """Areas of `level` from the bundled hierarchy; see Geography.areas."""
    return default().areas(level)


def mapping(from_level: str, to_level: str) -> pl.DataFrame:
    """Child -> parent codes from the bundled hierarchy; see Geography.mapping."""
    return default().mapping(from_level, to_level)
