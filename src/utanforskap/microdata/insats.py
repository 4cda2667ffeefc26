"""SYNTETISKA DATA with a known effect: a made-up measure in chosen areas (RegSO) from a start
year changes a person-level outcome by a stated amount, so that the effect estimators
(utanforskap effekt) can be shown to recover it end to end.

    spec = read_spec("insats.toml", years)             # utfall, start, omraden or antal_omraden, effekt
    for year, table in panel.draw_panel(years, n, seed):
        table, capped = inject(table, spec)

The file names the outcome (a key of [insats.utfall] in data/syntetisk_modell.toml), the start
year, the areas and optionally the effect (default: the model file's). In a treated area from
the start year, persons in the outcome's age band change status with the probability that moves
the area's share by exactly `effekt` in expectation: d / (1 - share) of those without the outcome
when d > 0, |d| / share of those with it when d < 0. Who changes is decided by a stable random
number per person (lopnr), so the same persons are affected year after year; a person who moves
out leaves the measure. Vectorised numpy over persons.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
from pydantic import Field

from utanforskap.errors import InputError
from utanforskap.microdata import schema as ms
from utanforskap.microdata import synthetic as sy
from utanforskap.tomlmodel import Strict, load_toml_model


class Outcome(Strict):
    """One outcome of [insats.utfall] in the model file."""

    beskrivning: str
    alder: list[int] = Field(min_length=2, max_length=2)
    effekt: float = Field(gt=-1, lt=1)
    lagesvariabel: str
    namnare: str
    varde: str | None = None  # for a category column: the category that counts (e.g. sysselsatt)
    fran_varde: str | None = None  # ... and the one a person takes on losing it


class _SpecFile(Strict):
    """The user's file (`--insats FIL.toml`)."""

    utfall: str
    start: int
    effekt: float | None = Field(default=None, gt=-1, lt=1, allow_inf_nan=False)
    omraden: list[str] = Field(default_factory=list)
    antal_omraden: int | None = Field(default=None, ge=1, le=3363)
    seed: int = 1


@dataclass(frozen=True)
class Spec:
    outcome_key: str
    outcome: Outcome
    effect: float  # share points as a share (0.03 = 3 percentage points)
    start: int
    areas: tuple[str, ...]  # RegSO codes
    seed: int

    @property
    def effect_per_thousand(self) -> float:
        """The known effect on `lagesvariabel` per 1 000 of `namnare`."""
        return self.effect * 1000.0

    def label(self) -> str:
        sign = "+" if self.effect > 0 else "−"
        points = f"{abs(self.effect) * 100:.2f}".rstrip("0").rstrip(".").replace(".", ",")
        return (
            f"inlagd effekt av en påhittad insats: {self.outcome.beskrivning} {sign}{points} procentenheter "
            f"i {len(self.areas)} RegSO från {self.start}"
        )


def outcomes() -> dict[str, Outcome]:
    section = sy.model().get("insats") or {}
    raw = section.get("utfall") or {}
    if not raw:
        raise InputError(f"{sy.MODEL_FILE}: tabellen [insats.utfall] saknas")
    return {k: Outcome.model_validate(v) for k, v in raw.items()}


def read_spec(path: str | os.PathLike[str], years: list[int]) -> Spec:
    """The measure file, checked against the model's outcomes, the geography and the panel's years."""
    from utanforskap.geography import hierarchy

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: insatsfilen finns inte; en TOML-fil med utfall, start och omraden (eller antal_omraden)")
    try:
        text = path.read_text(encoding="utf-8")
        tomllib.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: kan inte läsa filen som TOML ({exc})") from None
    f = load_toml_model(text, str(path), _SpecFile)
    known = outcomes()
    if f.utfall not in known:
        raise InputError(f"{path}: utfall {f.utfall!r} är okänt; välj {', '.join(known)} (tabellen [insats.utfall] i {sy.MODEL_FILE})")
    if not years[0] < f.start <= years[-1]:
        raise InputError(f"{path}: start {f.start} ligger inte i panelen {years[0]}–{years[-1]}; välj {years[0] + 1}–{years[-1]} (minst ett år före start)")
    regso = hierarchy.areas("regso")["regso_kod"].to_list()
    if bool(f.omraden) == (f.antal_omraden is not None):
        raise InputError(f"{path}: ange antingen omraden (RegSO-koder) eller antal_omraden (dras slumpmässigt)")
    if f.omraden:
        unknown = sorted(set(f.omraden) - set(regso))
        if unknown:
            raise InputError(f"{path}: okänd RegSO-kod {unknown[0]!r}; ange RegSO-koder (indelning 2020), t.ex. 0180R001")
        areas = tuple(sorted(set(f.omraden)))
    else:
        assert f.antal_omraden is not None
        rng = np.random.default_rng(f.seed)
        areas = tuple(sorted(np.asarray(regso)[rng.choice(len(regso), min(f.antal_omraden, len(regso)), replace=False)].tolist()))
    outcome = known[f.utfall]
    return Spec(f.utfall, outcome, outcome.effekt if f.effekt is None else f.effekt, f.start, areas, f.seed)


def _stable_uniform(lopnr: np.ndarray, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per person id, the same every year (splitmix64 of lopnr and seed)."""
    with np.errstate(over="ignore"):
        z = lopnr.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15) * np.uint64(seed + 1)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def inject(table: pa.Table, spec: Spec) -> tuple[pa.Table, int]:
    """The year's persons with the measure's effect from its start year; the label in the metadata
    says so. Returns the table and the number of treated areas where the whole effect did not fit
    (the share would have to pass 0 or 1), which the caller reports."""
    from utanforskap.geography import hierarchy

    meta = dict(table.schema.metadata or {})
    meta[ms.META_KALLA] = (meta.get(ms.META_KALLA, sy.LABEL.encode()).decode() + " · " + spec.label()).encode("utf-8")
    year = int(table["ar"][0].as_py()) if table.num_rows else spec.start - 1
    if year < spec.start or table.num_rows == 0:
        return table.replace_schema_metadata(meta), 0
    deso = table["deso"].combine_chunks()
    if isinstance(deso, pa.DictionaryArray):
        codes, idx = np.asarray(deso.dictionary.to_pylist()), deso.indices.to_numpy(zero_copy_only=False)
    else:
        codes, idx = np.unique(np.asarray(deso.to_pylist()), return_inverse=True)
    edges = hierarchy.mapping("deso", "regso")
    regso_of = pl.Series(codes.astype(str)).replace_strict(edges["deso_kod"], edges["regso_kod"], default="")
    regso_codes, regso_idx = np.unique(regso_of.to_numpy().astype(str), return_inverse=True)
    area_treated = np.isin(regso_of.to_numpy().astype(str), list(spec.areas))
    person_area = regso_idx[idx]  # RegSO index per person
    age = table["alder"].to_numpy()
    lo, hi = spec.outcome.alder
    band = area_treated[idx] & (age >= lo) & (age <= hi)
    col = table[spec.outcome_key].combine_chunks()
    if isinstance(col, pa.DictionaryArray):
        values = col.dictionary.to_pylist()
        if spec.outcome.varde not in values or spec.outcome.fran_varde not in values:
            raise InputError(f"{sy.MODEL_FILE}: insats.utfall.{spec.outcome_key}: varde och fran_varde ska vara bland {', '.join(values)}")
        yes_code, no_code = values.index(spec.outcome.varde), values.index(spec.outcome.fran_varde)
        cur = col.indices.to_numpy(zero_copy_only=False).astype(np.int64) if col.null_count == 0 else \
            np.asarray(col.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
        has = cur == yes_code
    else:
        has = np.asarray(col.to_numpy(zero_copy_only=False), dtype=bool)
    n_areas = len(regso_codes)
    den = np.bincount(person_area[band], minlength=n_areas).astype(float)
    num = np.bincount(person_area[band], weights=has[band].astype(float), minlength=n_areas)
    share = np.divide(num, den, out=np.zeros(n_areas), where=den > 0)
    d = spec.effect
    with np.errstate(divide="ignore", invalid="ignore"):
        p = d / (1.0 - share) if d > 0 else -d / share
    p = np.nan_to_num(p, nan=0.0, posinf=np.inf)
    capped = int(((p > 1) & (den > 0)).sum())
    p = np.clip(p, 0.0, 1.0)
    candidates = band & (~has if d > 0 else has)
    u = _stable_uniform(table["lopnr"].to_numpy(), spec.seed) if "lopnr" in table.column_names else \
        np.random.default_rng([spec.seed, year]).random(table.num_rows)
    flip = candidates & (u < p[person_area])
    if isinstance(col, pa.DictionaryArray):
        new = np.where(flip, yes_code if d > 0 else no_code, cur)
        arr = pa.DictionaryArray.from_arrays(pa.array(new.astype(col.indices.type.to_pandas_dtype()), mask=new < 0), col.dictionary)
    else:
        arr = pa.array(has ^ flip)
    i = table.schema.get_field_index(spec.outcome_key)
    return table.set_column(i, table.schema.field(i), arr).replace_schema_metadata(meta), capped


def treated_csv(spec: Spec) -> str:
    """behandlade.csv for `utanforskap effekt --behandlade`: omrade,start."""
    return "omrade,start\n" + "".join(f"{a},{spec.start}\n" for a in spec.areas)


def truth_toml(spec: Spec) -> str:
    """insats.toml beside the panel: the measure as injected, the truth to compare estimates with."""
    areas = ", ".join(f'"{a}"' for a in spec.areas)
    o = spec.outcome
    return (
        f"# SYNTETISKA DATA: {spec.label()}.\n"
        f"# Känd effekt på {o.lagesvariabel} per 1 000 {o.namnare}: {spec.effect_per_thousand:g}.\n"
        f"# Samma fil som --insats ger samma insats.\n"
        f'utfall = "{spec.outcome_key}"\nstart = {spec.start}\neffekt = {spec.effect!r}\nseed = {spec.seed}\n'
        f"omraden = [{areas}]\n"
    )
