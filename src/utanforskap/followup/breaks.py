"""Breaks in the series: the years from which a variable is not comparable with the years
before (data/seriebrott.toml), and the area vintage of each year's data.

    bs = load()                                     # every declared break
    crossed(bs, {"befolkning"}, 2019, 2025)         # those a series 2019-2025 crosses
    vintage_years(store, [2022, 2023, 2024])        # {2022: "RegSO 2020", 2024: "RegSO 2025", ...}

A series from year A to year B crosses a break of year Y when A < Y <= B.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from pydantic import Field

from utanforskap.errors import InputError
from utanforskap.tomlmodel import Strict, load_toml_model

FILE = "seriebrott.toml"
OLD_VINTAGE, NEW_VINTAGE = "RegSO 2020", "RegSO 2025"
AREA_BREAK = "omradesindelning"


class Brott(Strict):
    id: str = Field(pattern=r"^[a-z0-9-]+$")
    ar: int
    typ: str = Field(pattern=r"^(omradesindelning|brus|valdistrikt|definition)$")
    variabler: list[str]
    niva: list[str]
    beskrivning: str
    kalla: str
    proveniens: str = Field(pattern=r"^(officiell|antagen)$")


class Omradesnyckel(Strict):
    regso_fran: str
    regso_till: str
    proveniens: str
    motivering: str


class SeriesBreaks(Strict):
    brott: list[Brott]
    omradesnyckel: Omradesnyckel | None = None


@dataclass(frozen=True)
class Crossed:
    brott: Brott
    variables: list[str]  # the series' variables it touches ("*" = all)
    applies: bool  # False: an area-vintage break the data do not cross (one vintage throughout)
    note: str


def load() -> list[Brott]:
    text = resources.files("utanforskap.data").joinpath(FILE).read_text(encoding="utf-8")
    return load_toml_model(text, f"utanforskap/data/{FILE}", SeriesBreaks).brott


def crossed(breaks: list[Brott], variables: set[str], fran: int, till: int, niva: str = "regso",
            vintages: dict[int, str] | None = None) -> list[Crossed]:
    """The breaks a series of `variables` from `fran` to `till` crosses. An area-vintage break
    applies only when `vintages` (year -> vintage of the data) differ across it."""
    out = []
    for b in breaks:
        if not (fran < b.ar <= till) or niva not in b.niva:
            continue
        touched = sorted(variables) if "*" in b.variabler else sorted(variables & set(b.variabler))
        if not touched:
            continue
        applies, note = True, ""
        if b.typ == AREA_BREAK and vintages is not None:
            before = {v for y, v in vintages.items() if y < b.ar}
            after = {v for y, v in vintages.items() if y >= b.ar}
            if before == after:
                applies = False
                note = f"gäller inte dessa data: alla år i samma indelning ({', '.join(sorted(before))})"
        out.append(Crossed(b, touched, applies, note))
    return out


def vintage_years(store, years: list[int], niva: str = "regso") -> dict[int, str]:
    """The area vintage of each year's `niva` data: RegSO 2025 for the periods a dataset
    fetched with a 2025 codelist holds, RegSO 2020 otherwise (the bundle, synthetic data and
    every code without a suffix are in the 2018/2020 vintages). Areas of two vintages in one
    year are an error naming the datasets."""
    seen: dict[int, dict[str, str]] = {}
    for name, entry in store.datasets().items():
        records = entry.get("hamtningar") or [entry]
        for rec in records:
            codelist = rec.get("kodlista") or entry.get("kodlista")
            if (rec.get("niva") or entry.get("niva")) != niva or not codelist:
                continue
            vintage = NEW_VINTAGE if str(codelist).endswith("2025") else OLD_VINTAGE
            for y in rec.get("ar") or []:
                if str(y).isdigit() and int(y) in years:
                    seen.setdefault(int(y), {})[name] = vintage
    out = {}
    for y in years:
        kinds = set(seen.get(y, {}).values())
        if len(kinds) > 1:
            by = seen[y]
            new = sorted(n for n, v in by.items() if v == NEW_VINTAGE)
            old = sorted(n for n, v in by.items() if v != NEW_VINTAGE)
            raise InputError(
                f"{store.root}: år {y} har områden i två indelningar: {', '.join(new)} i {NEW_VINTAGE} men "
                f"{', '.join(old)} i {OLD_VINTAGE}; hämta året i en indelning (utanforskap hamta --ar {y})"
            )
        out[y] = kinds.pop() if kinds else OLD_VINTAGE
    return out
