"""The area panel an effect is estimated on: one outcome per area and year, treated areas with
their start years, and the comparison pool.

    panel = build_panel(store, "brott_urval", level="regso", per_thousand="befolkning")
    treated = read_treated("behandlade.csv", panel)          # area code -> start year
    design = make_design(panel, treated, pool="ej-behandlade")

Everything is a numpy matrix (areas x years) so that the estimators are vectorised.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl

from utanforskap.errors import InputError
from utanforskap.observations.store import ObservationStore
from utanforskap.tomlmodel import Strict, load_toml_model

POOLS = ("ej-behandlade", "ej-annu-behandlade", "liknande")
LEVELS = ("regso", "deso")


class _Krav(Strict):
    min_ar_fore: int
    min_behandlade: int
    min_jamforelse: int
    loo_max_behandlade: int
    harkomst: str


class _Jamforelse(Strict):
    befolkningsband: list[float]
    per_behandlad: int
    harkomst: str


class _Inferens(Strict):
    bootstrap: int
    konfidens: float
    seed: int
    harkomst: str


class _Syntetisk(Strict):
    max_givare: int
    placebo_dragningar: int
    iterationer: int
    harkomst: str


class _Planering(Strict):
    styrka: float
    signifikans: float
    replikeringar: int
    harkomst: str


class EffectSettings(Strict):
    krav: _Krav
    jamforelse: _Jamforelse
    inferens: _Inferens
    syntetisk_kontroll: _Syntetisk
    planering: _Planering


@lru_cache(maxsize=1)
def settings() -> EffectSettings:
    """The rules in utanforskap/data/effekter.toml."""
    path = resources.files("utanforskap.data").joinpath("effekter.toml")
    return load_toml_model(path.read_text(encoding="utf-8"), "utanforskap/data/effekter.toml", EffectSettings)


@dataclass
class AreaPanel:
    """An outcome per area (rows) and year (columns); NaN where the store has no value."""

    level: str
    variable: str
    label: str  # the outcome as users read it, e.g. "brott_urval per 1 000 invånare"
    years: np.ndarray  # (T,) int
    areas: np.ndarray  # (N,) str
    y: np.ndarray  # (N, T) float
    population: np.ndarray | None = None  # (N,) for population bands; NaN when unknown
    area_type: np.ndarray | None = None  # (N,) områdestyp; NaN when unknown
    source: str = ""
    flags: np.ndarray | None = None  # (N,) bitmask of the map's flagged factors; -1 when unknown
    flags_note: str = ""

    def index(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.areas.tolist())}


@dataclass
class Design:
    """What the estimators get: the panel restricted to treated areas and their comparison pool."""

    panel: AreaPanel
    start: np.ndarray  # (N,) start year per area of panel; 0 = not treated within the panel
    pool: str
    pool_note: str  # how the comparison areas were chosen, in Swedish
    treated_codes: list[str] = field(default_factory=list)

    @property
    def treated(self) -> np.ndarray:
        return self.start > 0

    @property
    def n_treated(self) -> int:
        return int(self.treated.sum())

    @property
    def n_comparison(self) -> int:
        return int((~self.treated).sum())

    def long(self):
        """A pandas long frame (omrade, ar, y, g, rel, treat) for pyfixest."""
        import pandas as pd

        n, t = self.panel.y.shape
        ii = np.repeat(np.arange(n), t)
        years = np.tile(self.panel.years, n)
        g = self.start[ii]
        df = pd.DataFrame(
            {
                "unit": ii,
                "year": years,
                "y": self.panel.y.ravel(),
                "g": g,
                "rel": np.where(g > 0, years - g, -1),
                "treat": ((g > 0) & (years >= g)).astype(int),
            }
        )
        return df


def build_panel(
    store: ObservationStore,
    variable: str,
    level: str = "regso",
    years: tuple[int, int] | None = None,
    per_thousand: str | None = None,
) -> AreaPanel:
    """The outcome `variable` per area of `level` and calendar year (only four-digit periods).

    With `per_thousand` the outcome is divided by that variable (e.g. befolkning) times 1 000;
    a year the denominator lacks takes the nearest year the store has (stated in the label).
    Years where the outcome is missing for every area are left out (e.g. a source's first year).
    """
    if level not in LEVELS:
        raise InputError(f"okänd nivå {level!r}; effekter skattas på {' eller '.join(LEVELS)}")
    obs = store.read(niva=level, variabler=[variable])
    if obs.is_empty():
        known = store.sql("SELECT DISTINCT variabel FROM observationer WHERE niva = ? ORDER BY 1", [level])["variabel"]
        hint = ", ".join(v for v in known.to_list() if v.startswith(variable[:4]))[:200] or "se utanforskap metoder"
        raise InputError(f"utfallet {variable!r} finns inte på nivå {level} i {store.root}; finns t.ex.: {hint}")
    obs = obs.filter(pl.col("period").str.contains(r"^\d{4}$")).with_columns(pl.col("period").cast(pl.Int64).alias("ar"))
    have = obs.group_by("ar").agg(pl.col("varde").is_not_null().sum().alias("n")).filter(pl.col("n") > 0)
    all_years = sorted(have["ar"].to_list())
    if not all_years:
        raise InputError(f"utfallet {variable!r} har inga årsvärden på nivå {level}")
    lo, hi = years if years else (all_years[0], all_years[-1])
    chosen = [y for y in all_years if lo <= y <= hi]
    if len(chosen) < 2:
        raise InputError(
            f"utfallet {variable!r} har uppgifter för åren {_span(all_years)}; --fran {lo} --till {hi} ger färre än två år"
        )
    wide = (
        obs.filter(pl.col("ar").is_in(chosen))
        .pivot(on="ar", index="omrade", values="varde", sort_columns=True)
        .sort("omrade")
    )
    areas = wide["omrade"].to_numpy().astype(str)
    y = wide.select([str(c) for c in chosen]).to_numpy().astype(float)
    label = variable
    population = _latest(store, level, "befolkning", areas)
    if per_thousand:
        den = store.read(niva=level, variabler=[per_thousand]).filter(pl.col("period").str.contains(r"^\d{4}$"))
        if den.is_empty():
            raise InputError(f"nämnaren {per_thousand!r} finns inte på nivå {level}; ange en variabel som finns, t.ex. befolkning")
        den_years = sorted({int(p) for p in den["period"].to_list()})
        nearest = [_nearest(den_years, yr) for yr in chosen]
        dw = den.pivot(on="period", index="omrade", values="varde").sort("omrade")
        dmat = (
            pl.DataFrame({"omrade": areas}).join(dw, on="omrade", how="left").select([pl.col(str(d)).alias(f"c{i}") for i, d in enumerate(nearest)]).to_numpy()
        ).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(dmat > 0, y / dmat * 1000.0, np.nan)
        borrowed = sorted({yr for yr, d in zip(chosen, nearest, strict=True) if yr != d})
        label = f"{variable} per 1 000 ({per_thousand})"
        if borrowed:
            label += f"; nämnaren för {_span(borrowed)} från närmaste år ({_span(sorted(set(nearest)))})"
    area_type = _latest(store, level, "omradestyp", areas)
    return AreaPanel(level, variable, label, np.array(chosen), areas, y, population, area_type, str(store.root))


def _latest(store: ObservationStore, level: str, variable: str, areas: np.ndarray) -> np.ndarray:
    obs = store.read(niva=level, variabler=[variable]).filter(pl.col("varde").is_not_null())
    if obs.is_empty():
        return np.full(len(areas), np.nan)
    last = obs.sort("period").group_by("omrade").agg(pl.col("varde").last())
    return pl.DataFrame({"omrade": areas}).join(last, on="omrade", how="left")["varde"].to_numpy().astype(float)


def _nearest(years: list[int], year: int) -> int:
    """The year in `years` closest to `year` (the later one on a tie)."""
    return min(years, key=lambda d: (abs(d - year), -d))


def _span(years: list[int]) -> str:
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def start_year(text: str, where: str) -> int:
    """A start as a year (2022) or a date; a date other than 1 January starts the next full year."""
    text = text.strip()
    if re.fullmatch(r"\d{4}", text):
        return int(text)
    m = _DATE.match(text)
    if m:
        try:
            d = dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
        else:
            return d.year if (d.month, d.day) == (1, 1) else d.year + 1
    raise InputError(f"{where}: start {text!r} är varken ett år (2022) eller ett datum (2021-12-01)")


def read_treated(path: str | os.PathLike[str]) -> dict[str, int]:
    """Treated areas from a CSV file with the columns omrade (or kod) and start (year or date)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: filen med behandlade områden finns inte; ange en CSV med kolumnerna omrade,start")
    text = path.read_text(encoding="utf-8-sig")
    dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else ",", delimiters=",;\t")
    rows = list(csv.DictReader(text.splitlines(), dialect=dialect))
    if not rows:
        raise InputError(f"{path}: inga behandlade områden i filen; en rad per område: omrade,start")
    cols = {c.strip().lower(): c for c in rows[0] if c}
    code_col = next((cols[c] for c in ("omrade", "område", "kod", "omradeskod") if c in cols), None)
    start_col = next((cols[c] for c in ("start", "startar") if c in cols), None)
    if code_col is None or start_col is None:
        raise InputError(f"{path}: rubrikraden ska ha kolumnerna omrade och start (har {', '.join(cols) or 'inga'})")
    out: dict[str, int] = {}
    for i, row in enumerate(rows, start=2):
        code = (row.get(code_col) or "").strip()
        if not code:
            raise InputError(f"{path}, rad {i}: områdeskod saknas")
        if code in out:
            raise InputError(f"{path}, rad {i}: området {code} står två gånger; ange varje område en gång")
        out[code] = start_year(row.get(start_col) or "", f"{path}, rad {i}")
    return out


def make_design(
    panel: AreaPanel,
    treated: dict[str, int],
    pool: str = "ej-behandlade",
    where: str = "behandlade",
    exclude: set[str] | frozenset[str] = frozenset(),
) -> Design:
    """Check the treated areas against the panel and choose the comparison areas.

    Raises one Swedish line for each kind of bad input (unknown code, start outside the panel,
    too few years before start, outcome missing for a treated area, no comparison areas left).
    """
    rules = settings()
    if pool not in POOLS:
        raise InputError(f"okänd jämförelsegrupp {pool!r}; välj {', '.join(POOLS)}")
    idx = panel.index()
    first, last = int(panel.years[0]), int(panel.years[-1])
    unknown = [c for c in treated if c not in idx]
    if unknown:
        example = panel.areas[0]
        raise InputError(
            f"{where}: okänd {panel.level}-kod {unknown[0]}"
            + (f" (och {len(unknown) - 1} till)" if len(unknown) > 1 else "")
            + f"; koderna ska vara {panel.level}-koder som {example} (byt nivå med --niva)"
        )
    for code, s in treated.items():
        if s > last or s < first:
            raise InputError(
                f"{where}: {code} startar {s}, utanför panelen {first}–{last}; "
                f"välj ett område som startar {first + rules.krav.min_ar_fore}–{last} eller ändra --fran/--till"
            )
        if s - first < rules.krav.min_ar_fore:
            raise InputError(
                f"{where}: {code} startar {s} men panelen börjar {first}: behöver minst {rules.krav.min_ar_fore} år före start "
                f"(start {first + rules.krav.min_ar_fore} eller senare)"
            )
    if len(treated) < rules.krav.min_behandlade:
        raise InputError(f"{where}: behöver minst {rules.krav.min_behandlade} behandlade områden")
    start = np.zeros(len(panel.areas), dtype=np.int64)
    rows = np.array([idx[c] for c in treated], dtype=np.int64)
    start[rows] = np.array(list(treated.values()), dtype=np.int64)
    complete = ~np.isnan(panel.y).any(axis=1)
    missing = rows[~complete[rows]]
    if missing.size:
        code = panel.areas[missing[0]]
        gaps = panel.years[np.isnan(panel.y[missing[0]])]
        raise InputError(
            f"{where}: utfallet {panel.label} saknas för det behandlade området {code} år {', '.join(map(str, gaps))}"
            f"; ta bort området eller välj år där utfallet finns (--fran/--till)"
        )
    is_treated = start > 0
    candidates = complete & ~is_treated & ~np.isin(panel.areas, list(exclude))
    note = "jämförelse: områden som inte behandlas under panelens år"
    if pool == "ej-annu-behandlade":
        note = "jämförelse: områden som ännu inte behandlats (även de som behandlas senare, fram till sin start)"
    if pool == "liknande":
        candidates, note = _similar(panel, start, candidates)
    keep = is_treated | candidates
    if not candidates.any():
        raise InputError(
            f"{where}: inga jämförelseområden kvar: de behandlade är hela jämförelsegruppen ({pool}); "
            "lägg till obehandlade områden eller välj en annan --jamforelse"
        )
    if candidates.sum() < rules.krav.min_jamforelse:
        raise InputError(
            f"{where}: bara {int(candidates.sum())} jämförelseområden ({pool}); behöver minst {rules.krav.min_jamforelse}"
            " – välj --jamforelse ej-behandlade eller en större panel"
        )
    sub = AreaPanel(
        panel.level,
        panel.variable,
        panel.label,
        panel.years,
        panel.areas[keep],
        panel.y[keep],
        None if panel.population is None else panel.population[keep],
        None if panel.area_type is None else panel.area_type[keep],
        panel.source,
        None if panel.flags is None else panel.flags[keep],
        panel.flags_note,
    )
    return Design(sub, start[keep], pool, note, list(treated))


def _similar(panel: AreaPanel, start: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, str]:
    """Untreated areas like the treated ones before start: same områdestyp, same population band,
    and the nearest on the mean pre-period outcome (per treated area)."""
    rules = settings().jamforelse
    treated = np.flatnonzero(start > 0)
    cand = np.flatnonzero(candidates)
    bands = np.asarray(rules.befolkningsband)
    pop = panel.population if panel.population is not None else np.full(len(panel.areas), np.nan)
    band = np.digitize(pop, bands)
    kind = panel.area_type if panel.area_type is not None else np.full(len(panel.areas), np.nan)
    first_start = start[treated]
    pre_mask = panel.years[None, :] < first_start[:, None]  # (nt, T)
    with np.errstate(invalid="ignore"):
        pre_t = np.nansum(np.where(pre_mask, panel.y[treated], 0), 1) / pre_mask.sum(1)
        pre_c = (panel.y[cand] @ pre_mask.T.astype(float)) / pre_mask.sum(1)[None, :]  # (nc, nt)
    same = (band[cand][:, None] == band[treated][None, :]) & (
        (kind[cand][:, None] == kind[treated][None, :]) | np.isnan(kind[treated])[None, :]
    )
    flags_used = panel.flags is not None
    fallback = 0
    if panel.flags is not None:
        same_flags = same & (panel.flags[cand][:, None] == panel.flags[treated][None, :])
        has = same_flags.any(0)
        fallback = int((~has).sum())
        same = np.where(has[None, :], same_flags, same)
    dist = np.where(same, np.abs(pre_c - pre_t[None, :]), np.inf)
    k = min(rules.per_behandlad, len(cand))
    nearest = np.argsort(dist, axis=0)[:k]  # (k, nt)
    ok = np.isfinite(np.take_along_axis(dist, nearest, 0))
    chosen = np.zeros(len(panel.areas), dtype=bool)
    chosen[cand[nearest[ok]]] = True
    note = (
        f"jämförelse: liknande områden – för varje behandlat område de {k} obehandlade med samma områdestyp och "
        f"befolkningsband ({', '.join(f'{int(b):,}'.replace(',', ' ') for b in bands[1:-1])} inv.) som låg närmast "
        "i utfallet före start"
        + (
            f"; samma flaggade faktorer ({panel.flags_note})"
            + (f", utom för {fallback} behandlade områden som saknade en sådan like" if fallback else "")
            if flags_used
            else "; flaggade faktorer används inte (kartan finns bara på RegSO)"
        )
    )
    return chosen, note


def attach_flags(panel: AreaPanel, data: object = "paket") -> AreaPanel:
    """Add the map's flagged factors (RegSO) for matching in the pool "liknande"."""
    if panel.level != "regso":
        return panel
    from utanforskap.results import karta

    result = karta.compute(data=data)  # type: ignore[arg-type]
    cols = [f.flagga for f in result.factors if f.flagga and f.flagga in result.areas.columns]
    bits = sum((pl.col(c).fill_null(False).cast(pl.Int64) * (1 << i)) for i, c in enumerate(cols))
    table = result.areas.select(pl.col("regso_kod").alias("omrade"), pl.lit(0).add(bits).alias("flaggor"))
    flags = pl.DataFrame({"omrade": panel.areas}).join(table, on="omrade", how="left")["flaggor"].fill_null(-1).to_numpy()
    panel.flags = flags
    panel.flags_note = f"{result.method.method.id} {result.year}"
    return panel
