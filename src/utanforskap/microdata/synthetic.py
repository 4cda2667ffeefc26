"""SYNTETISKA DATA: a synthetic population of Sweden in the microdata schema.

Persons are drawn per DeSO so that, in expectation, every DeSO reproduces SCB's real 2022
marginals from the bundled store (scaled when fewer persons are asked for):

* folkmängd and age bands: exact layout, persons = np.repeat over (DeSO, age band) cells
  whose counts are the real ones (controlled rounding when scaled);
* background and birth region, labour-market status 16-64, education 25-64, low economic
  standard, household type: for each attribute an IPF (iterative proportional fitting)
  per DeSO, vectorised over all DeSO at once, fits a table of (group x category) to the
  DeSO's real category counts and the drawn group counts, starting from the national
  within-area pattern in data/syntetisk_modell.toml; each person then draws the category
  from their (DeSO, group) row;
* variables with no open data per area (bistånd months, overcrowding, voting, school
  eligibility, suspicion of crime, sickness days): logistic links to the person's drawn
  attributes and the DeSO's real shares, coefficients in the model file (provenance
  "syntetisk", with reasons), intercepts solved so the national level equals `malniva`.

Everything is vectorised numpy; the only Python loops run over categories, IPF
iterations and Newton steps, never over areas or persons.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from utanforskap.atomic import atomic_path, cache_root
from utanforskap.errors import InputError
from utanforskap.microdata import schema as ms
from utanforskap.observations.store import ObservationStore, bundled_store
from utanforskap.tomlmodel import Strict, load_toml_model

MODEL_FILE = "syntetisk_modell.toml"
PERIOD = "2022"
DATASET = "syntetisk"
LABEL = "SYNTETISKA DATA"

# Age bands of the layout: (first age, number of ages). 65+ is drawn from the model's weights.
BANDS = ("0_4", "5_9", "10_14", "15", "16_19", "20_24", "25_64", "65plus")
_BAND_LO = np.array([0, 5, 10, 15, 16, 20, 25, 65], dtype=np.int16)
_BAND_WIDTH = np.array([5, 5, 5, 1, 4, 5, 40, 5], dtype=np.int16)
# Background categories: svensk bakgrund, utländsk bakgrund född i Sverige, Europa, övriga världen.
BG = ("svensk", "utl_sverige", "europa", "ovriga_varlden")
STATUS_NONE = 255
# Below this many persons a kernel runs in one thread (a thread's start costs more than it saves).
_PARALLEL_MIN = 500_000


# ---- model and marginals ---------------------------------------------------------------
@lru_cache(maxsize=1)
def model_text() -> str:
    return resources.files("utanforskap.data").joinpath(MODEL_FILE).read_text(encoding="utf-8")


class _Reasoned(BaseModel):
    """A section of the model file: provenance 'syntetisk' and a reason; its figures are free-form."""

    model_config = ConfigDict(extra="allow", frozen=True)
    proveniens: Literal["syntetisk"]
    motivering: str = Field(min_length=1, pattern=r"\S")


class _Link(_Reasoned):
    koefficienter: dict[str, float] = {}


class SyntheticModel(Strict):
    """data/syntetisk_modell.toml: every section reasoned, every link's features known."""

    proveniens: Literal["syntetisk"]
    version: str
    ar: int
    alder: _Reasoned
    kon: _Reasoned
    bakgrund: _Reasoned
    sysselsattning: _Reasoned
    utbildning: _Reasoned
    lag_ekonomisk_standard: _Reasoned
    hushall: _Reasoned
    lank: dict[str, _Link]
    panel: _Reasoned | None = None  # the panel's yearly rates (microdata.panel)
    insats: _Reasoned | None = None  # a made-up measure with a known effect (microdata.insats)


def model() -> dict:
    """The model file (data/syntetisk_modell.toml), checked for provenance and reasons."""
    checked = load_toml_model(model_text(), MODEL_FILE, SyntheticModel)
    for name, link in checked.lank.items():
        unknown = set(link.koefficienter) - set(FEATURES)
        if unknown:
            raise InputError(f"{MODEL_FILE}: lank.{name}: okänd egenskap {sorted(unknown)[0]!r}; kända: {', '.join(FEATURES)}")
    return checked.model_dump()


def model_digest() -> str:
    return hashlib.sha256(model_text().encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Marginals:
    """Real DeSO 2022 counts from the bundled store, one row per DeSO (arrays of length A)."""

    deso: np.ndarray
    befolkning: np.ndarray
    bands: np.ndarray  # (A, 8), BANDS
    bakgrund: np.ndarray  # (A, 4), BG
    status: np.ndarray  # (A, 3): sysselsatta, arbetslösa, utanför arbetskraften 16-64
    utbildning: np.ndarray  # (A, 5): förgymnasial, gymnasial, eftergymn. kort, lång, saknas (25-64)
    ek_personer: np.ndarray  # persons in the economic-standard statistics
    lag_andel: np.ndarray  # share of them with low economic standard
    hushall: np.ndarray  # (A, 5) households by ms.HUSHALLSTYP
    special_andel: np.ndarray  # share living in special housing (no household)
    flerbostad_andel: np.ndarray

    @property
    def total(self) -> int:
        return int(self.befolkning.sum())


_MARGINAL_VARS = [
    "befolkning", "befolkning_0_4", "befolkning_5_9", "befolkning_10_14", "befolkning_15_19", "befolkning_20_24",
    "befolkning_25_64", "svensk_bakgrund", "fodda_sverige", "fodda_europa_utom_sverige", "fodda_ovriga_varlden",
    "sysselsatta_16_64", "arbetslosa_16_64", "utanfor_arbetskraften_16_64", "utb_forgymnasial_25_64",
    "utb_gymnasial_25_64", "utb_eftergymnasial_kort_25_64", "utb_eftergymnasial_lang_25_64", "utb_saknas_25_64",
    "personer_ekonomisk_standard", *(f"hushall_{k}" for k in ms.HUSHALLSTYP), "personer_specialbostader",
    "personer_flerbostadshus", "personer_hustyp_totalt",
]


def marginals(store: ObservationStore | None = None) -> Marginals:
    """Read the real DeSO marginals (the bundled store by default)."""
    if store is None:
        store = bundled_store()
    w = store.wide("deso", PERIOD, _MARGINAL_VARS)
    low = store.wide("deso", PERIOD, ["lag_ekonomisk_standard"], falt=("taljare", "namnare"))
    w = w.join(low, on="omrade", how="left").sort("omrade").fill_null(0.0)
    share15 = float(model()["alder"]["andel_15_av_15_19"])
    col = lambda c: w[c].to_numpy().astype(np.float64)  # noqa: E731
    befolkning = col("befolkning")
    b15_19 = col("befolkning_15_19")
    young = np.stack(
        [col("befolkning_0_4"), col("befolkning_5_9"), col("befolkning_10_14"), b15_19 * share15,
         b15_19 * (1 - share15), col("befolkning_20_24"), col("befolkning_25_64")], axis=1
    )
    old = np.clip(befolkning - young.sum(axis=1), 0, None)
    bands = np.concatenate([young, old[:, None]], axis=1)
    svensk = col("svensk_bakgrund")
    bakgrund = np.stack(
        [svensk, np.clip(col("fodda_sverige") - svensk, 0, None), col("fodda_europa_utom_sverige"), col("fodda_ovriga_varlden")],
        axis=1,
    )
    ek = col("lag_ekonomisk_standard__namnare")
    with np.errstate(invalid="ignore", divide="ignore"):
        lag = np.where(ek > 0, col("lag_ekonomisk_standard__taljare") / ek, 0.0)
        typ_tot = col("personer_hustyp_totalt")
        special = np.where(typ_tot > 0, col("personer_specialbostader") / typ_tot, 0.0)
        fler = np.where(typ_tot > 0, col("personer_flerbostadshus") / typ_tot, 0.0)
    return Marginals(
        deso=w["omrade"].to_numpy(),
        befolkning=befolkning,
        bands=bands,
        bakgrund=bakgrund,
        status=np.stack([col("sysselsatta_16_64"), col("arbetslosa_16_64"), col("utanfor_arbetskraften_16_64")], axis=1),
        utbildning=np.stack(
            [col(f"utb_{k}_25_64") for k in ("forgymnasial", "gymnasial", "eftergymnasial_kort", "eftergymnasial_lang", "saknas")],
            axis=1,
        ),
        ek_personer=ek,
        lag_andel=np.clip(lag, 0, 1),
        hushall=np.stack([col(f"hushall_{k}") for k in ms.HUSHALLSTYP], axis=1),
        special_andel=np.clip(special, 0, 1),
        flerbostad_andel=np.clip(fler, 0, 1),
    )


# ---- vectorised building blocks --------------------------------------------------------
def uniforms(rng: np.random.Generator, m: int) -> np.ndarray:
    """m float32 uniforms in [0, 1), CHUNK at a time from child generators spawned from `rng`,
    in two threads (see _in_chunks): the numbers depend on the seed and the order of the calls
    only, not on the number of cores or on which thread fills which chunk."""
    return _uniforms(rng.spawn(-(-m // CHUNK)), m)


def _uniforms(children: list[np.random.Generator], m: int) -> np.ndarray:
    """uniforms(rng, m) from the child generators it would spawn (see _spawn_for)."""
    u = np.empty(m, dtype=np.float32)
    _in_chunks(lambda start, stop, k: children[k].random(out=u[start:stop], dtype=np.float32), m)
    return u


def _spawn_for(rng: np.random.Generator, sizes: list[int]) -> list[list[np.random.Generator]]:
    """The child generators of uniforms(rng, m) for each m in `sizes`, spawned now as those calls in
    this order would spawn them. A child depends only on how many were spawned before it, not on
    what the parent drew, so steps given their children can then run in any order or thread."""
    counts = [-(-m // CHUNK) for m in sizes]
    children = rng.spawn(sum(counts))
    ends = np.cumsum(counts)
    return [children[e - c : e] for c, e in zip(counts, ends, strict=True)]


def _spread(values: np.ndarray, ends: np.ndarray, start: int, stop: int) -> np.ndarray:
    """np.repeat(values, runs)[start:stop] (start < stop), for ends = np.cumsum(runs): only the
    runs that overlap start..stop are repeated, so a chunk of persons costs a chunk's work."""
    first, last = np.searchsorted(ends, [start, stop - 1], side="right")
    counts = np.diff(np.clip(ends[first : last + 1], start, stop), prepend=start)
    return np.repeat(values[first : last + 1], counts)


def _select(children: list[np.random.Generator], p: np.ndarray, ends: np.ndarray, below: bool,
            code: Callable[[slice, np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The persons whose uniform (those of _uniforms(children, n)) is below `p` of their run (or, with
    below=False, not below), runs ending at `ends` (n = ends[-1]): as a mask over the n persons, and
    code(part, selected) of the selected persons of each chunk `part`, in order (intp). Chunk by
    chunk in two threads; neither the uniforms nor the codes of everyone are held at once."""
    n = int(ends[-1])
    mask = np.empty(n, dtype=bool)
    compare = np.less if below else np.greater_equal

    def pick(start: int, stop: int, k: int) -> None:
        compare(children[k].random(stop - start, dtype=np.float32), _spread(p, ends, start, stop), out=mask[start:stop])

    _in_chunks(pick, n)
    offsets = np.concatenate([[0], np.cumsum([np.count_nonzero(mask[s : s + CHUNK]) for s in range(0, n, CHUNK)])])
    out = np.empty(int(offsets[-1]), dtype=np.intp)

    def fill(start: int, stop: int, k: int) -> None:
        at = int(offsets[k])
        for lo in range(start, stop, _BLOCK):  # block by block: code's temporaries stay in cache
            codes = code(slice(lo, min(stop, lo + _BLOCK)), mask[lo : lo + _BLOCK])
            out[at : at + codes.shape[0]] = codes
            at += codes.shape[0]

    _in_chunks(fill, n)
    return mask, out


CHUNK = 1 << 20  # persons per chunk of a link's draw: each chunk its own child generator
_BLOCK = 1 << 17  # persons per block within a chunk, where a pass's temporaries fit in a core's cache


def _in_chunks(fn: Callable[[int, int, int], None], m: int, chunk: int = CHUNK) -> None:
    """Run fn(start, stop, k) for the chunks k = 0, 1, ... of range(m), shared between the calling
    thread and a worker thread (numpy releases the GIL in its loops and random fills).

    `fn` must write only to positions start..stop-1 and draw random numbers only from a
    generator of its chunk k, so the result depends neither on the number of cores nor on
    which thread takes which chunk.
    """
    n_chunks = -(-m // chunk)
    bounds = [(k * chunk, min(m, (k + 1) * chunk), k) for k in range(n_chunks)]
    if n_chunks < 2 or _cores() < 2:
        for args in bounds:
            fn(*args)
        return
    todo = iter(bounds)
    lock = threading.Lock()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            while not failed:
                with lock:
                    args = next(todo, None)
                if args is None:
                    return
                fn(*args)
        except BaseException as exc:  # re-raised in the calling thread
            failed.append(exc)

    worker = threading.Thread(target=run, name="syntetisk-del")
    worker.start()
    try:
        run()
    finally:
        worker.join()
    if failed:
        raise failed[0]


@lru_cache(maxsize=1)
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def controlled_round(expected: np.ndarray, totals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integer (R, K) with row sums `totals`, each cell the floor or ceiling of `expected` (rescaled).

    Which cells round up is random with odds given by the fractional parts (keys
    u^(1/frac), Efraimidis-Spirakis), so the expected count of each cell is close to
    `expected` and the totals are exact.
    """
    expected = np.asarray(expected, dtype=np.float64)
    totals = np.asarray(totals, dtype=np.int64)
    rs = expected.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scaled = np.where(rs[:, None] > 0, expected * (totals / np.where(rs > 0, rs, 1))[:, None], 0.0)
    base = np.floor(scaled).astype(np.int64)
    remainder = totals - base.sum(axis=1)
    frac = scaled - base
    u = rng.random(frac.shape)
    with np.errstate(divide="ignore"):
        keys = np.where(frac > 0, np.log(u) / np.where(frac > 0, frac, 1), -np.inf)
    order = np.argsort(-keys, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(frac.shape[1])[None, :].repeat(frac.shape[0], 0), axis=1)
    base += ranks < remainder[:, None]
    return base


def ipf(seed: np.ndarray, rows: np.ndarray, cols: np.ndarray, iterations: int = 40) -> np.ndarray:
    """Fit (A, R, K) tables to row sums (A, R) and column sums (A, K), per area, all areas at once.

    Column sums are first rescaled to the row total of their area. Rows are fitted last, so
    row sums are exact and each row is a probability distribution times its count.
    An area whose column sums are all zero keeps the seed's pattern.
    """
    n_areas = rows.shape[0]
    row_tot = rows.sum(axis=1)
    col_tot = cols.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols = np.where(col_tot[:, None] > 0, cols * (row_tot / col_tot)[:, None], np.nan)
    # The tables are held area-last, (R, K, A): both sums (over K and over R) are then adds of
    # contiguous rows of A values instead of reductions along a short last axis. numpy sums a
    # short axis in order either way, so the result is bit for bit that of the (A, R, K) layout.
    x = np.moveaxis(np.broadcast_to(seed, (n_areas, *seed.shape[-2:])), 0, -1).astype(np.float64, order="C")
    rows_t = np.ascontiguousarray(rows.T, dtype=np.float64)
    cols_t = np.ascontiguousarray(cols.T)
    # In place, with the factors' buffers made once, without 40 x 6 temporary tables.
    f = np.empty(cols_t.shape)
    keep = np.isnan(cols_t)
    for _ in range(iterations):
        _scale_rows(x, rows_t)
        cs = x.sum(axis=0)
        f.fill(1.0)
        np.divide(cols_t, cs, out=f, where=cs > 0)
        f[keep] = 1.0
        x *= f[None, :, :]
    _scale_rows(x, rows_t)
    return np.ascontiguousarray(np.moveaxis(x, -1, 0))


def _scale_rows(x: np.ndarray, rows: np.ndarray) -> None:
    """Scale the (R, K, A) tables `x` in place so that their sums over K are `rows` (R, A);
    a row summing to 0 becomes 0."""
    rs = x.sum(axis=1)
    f = np.zeros(rs.shape)
    np.divide(rows, rs, out=f, where=rs > 0)
    # A row with a count but an all-zero seed spreads evenly (cannot happen with the shipped seeds).
    empty = (rs == 0) & (rows > 0)
    if empty.any():
        np.moveaxis(x, 1, 2)[empty] = 1.0
        rs = x.sum(axis=1)
        f = np.zeros(rs.shape)
        np.divide(rows, rs, out=f, where=rs > 0)
    x *= f[:, None, :]


def draw_categories(probs: np.ndarray, group: np.ndarray | None, rng: np.random.Generator | None,
                    runs: np.ndarray | None = None, u: np.ndarray | None = None,
                    children: list[np.random.Generator] | None = None) -> np.ndarray:
    """Category per person (uint8) from the rows probs[group] (inverse CDF on one uniform each).

    The uniforms are `u` when given (float32, one per person); else, with `children`, those of
    _uniforms(children, m), drawn chunk by chunk as they are used; else drawn from `rng`.

    With `runs` instead of `group`, the persons are laid out group by group, runs[g] of group g
    (the same draw as group = np.repeat(np.arange(G), runs), with repeats in place of gathers).
    """
    p = np.asarray(probs, dtype=np.float64)
    s = p.sum(axis=1, keepdims=True)
    p = np.where(s > 0, p / np.where(s > 0, s, 1), 1.0 / p.shape[1])
    cum = np.cumsum(p, axis=1).astype(np.float32)
    if runs is None:
        assert group is not None
        group = np.asarray(group, dtype=np.intp)  # once, not in every gather
        m = group.shape[0]
    else:
        m = int(runs.sum())
    if u is None and children is None:
        assert rng is not None
        u = rng.random(m, dtype=np.float32)
    out = np.zeros(m, dtype=np.uint8)
    columns = [np.ascontiguousarray(cum[:, k]) for k in range(p.shape[1] - 1)]

    def uniform(start: int, stop: int, k: int) -> np.ndarray:
        if u is not None:
            return u[start:stop]
        assert children is not None
        return children[k].random(stop - start, dtype=np.float32)

    if runs is not None:
        ends = np.cumsum(runs)

        def count_runs(start: int, stop: int, k: int) -> None:
            uk = uniform(start, stop, k)
            above = np.empty(stop - start, dtype=bool)
            for column in columns:
                np.greater_equal(uk, _spread(column, ends, start, stop), out=above)
                out[start:stop] += above.view(np.uint8)  # as uint8: no cast in the add

        _in_chunks(count_runs, m)
        return out

    # Each group's bounds side by side, padded with +inf (never reached) to 1, 2 or 4 floats
    # and viewed as one item of 4, 8 or 16 bytes: one gather per person, not one per bound.
    width = next((w for w in (1, 2, 4) if w >= len(columns)), 0)
    if width:
        padded = np.full((cum.shape[0], width), np.inf, dtype=np.float32)
        padded[:, : len(columns)] = cum[:, : len(columns)]
        packed = padded.view({1: np.float32, 2: np.complex64, 4: np.complex128}[width]).ravel()

    def count(start: int, stop: int, k: int) -> None:
        uk = uniform(start, stop, k)
        above = np.empty(min(_BLOCK, stop - start), dtype=bool)
        # Block by block within the chunk: the gathered bounds (up to 16 bytes a person) stay in
        # the core's cache while they are compared, one bound after another.
        for lo in range(start, stop, _BLOCK):
            hi = min(stop, lo + _BLOCK)
            if width:
                rows = np.take(packed, group[lo:hi]).view(np.float32).reshape(-1, width)
                bounds = [rows[:, j] for j in range(len(columns))]
            else:
                bounds = [np.take(column, group[lo:hi]) for column in columns]
            ab = above[: hi - lo]
            for bound in bounds:
                np.greater_equal(uk[lo - start : hi - start], bound, out=ab)
                out[lo:hi] += ab.view(np.uint8)  # as uint8: no cast in the add

    _in_chunks(count, m)
    return out


SAMPLE = 400_000  # persons an intercept is solved on


def sample_positions(n: int, rng: np.random.Generator) -> np.ndarray:
    """Positions in range(n) of the sample an intercept is solved on: all, or SAMPLE drawn with replacement."""
    return rng.integers(0, n, size=SAMPLE) if n > SAMPLE else np.arange(n)


def solve_intercept(eta: np.ndarray, target: float, weight: np.ndarray | None = None) -> float:
    """b0 with mean(weight * sigmoid(b0 + eta)) = target, by Newton (eta: the sample, see sample_positions)."""
    if eta.shape[0] == 0:
        return 0.0
    e = eta.astype(np.float64)
    w = None if weight is None else weight.astype(np.float64)
    b = np.log(target / (1 - target)) - float(np.mean(e))
    # sigmoid(b + e) = 1 / (1 + exp(-b) * exp(-e)): one exp over the sample, not one per step.
    with np.errstate(over="ignore"):  # exp(-e) * exp(-b) = inf gives p = 0, its limit
        q = np.exp(-e)
        p = np.empty_like(e)
        for _ in range(60):
            np.multiply(q, np.exp(-b), out=p)
            p += 1
            np.divide(1, p, out=p)
            wp = p if w is None else w * p
            f = np.mean(wp) - target
            d = np.mean(wp * (1 - p))
            if d <= 0:
                break
            step = f / d
            b -= float(np.clip(step, -5, 5))
            if abs(step) < 1e-10:
                break
    return float(b)


# ---- features for the links ------------------------------------------------------------
FEATURES = (
    "lag_ekonomisk_standard", "arbetslos", "utanfor_arbetskraften", "bakgrund_utl_sverige", "bakgrund_europa",
    "bakgrund_ovriga_varlden", "ensamstaende_med_barn", "med_barn", "man", "forgymnasial", "alder_15_17",
    "alder_16_29", "alder_18_24", "alder_18_29", "alder_25_34", "alder_50_64", "alder_65plus", "alder_65_84",
    "alder_85plus", "omrade_lag_ekonomisk_standard", "omrade_flerbostadshus",
)


class _People:
    """The drawn attributes as arrays, and the link features computed from them (cached masks).

    Persons are laid out DeSO by DeSO: `area_n` persons in each, beginning at `area_bounds`;
    `area` is each person's DeSO index.
    """

    def __init__(self, **arrays: np.ndarray):
        self.__dict__.update(arrays)
        self.area_covariates: dict[str, np.ndarray] = {}
        self._masks: dict[str, np.ndarray] = {}

    def mask(self, name: str) -> np.ndarray:
        if name not in self._masks:
            self._masks[name] = self._feature(name)
        return self._masks[name]

    def _feature(self, name: str) -> np.ndarray:
        match name:
            case "lag_ekonomisk_standard":
                return self.lag == 1
            case "arbetslos":
                return self.status == 1
            case "utanfor_arbetskraften":
                return self.status == 2
            case "bakgrund_utl_sverige":
                return self.bg == 1
            case "bakgrund_europa":
                return self.bg == 2
            case "bakgrund_ovriga_varlden":
                return self.bg == 3
            case "ensamstaende_med_barn":
                return self.hh == 2
            case "med_barn":
                return (self.hh == 0) | (self.hh == 2)
            case "man":
                return self.man
            case "forgymnasial":
                return self.edu == 0
        lo, _, hi = name.removeprefix("alder_").partition("_")
        if lo.endswith("plus"):
            return self.alder >= int(lo.removesuffix("plus"))
        return (self.alder >= int(lo)) & (self.alder <= int(hi))

    def eta(self, coefficients: dict[str, float], idx: np.ndarray | None = None,
            area_effect: np.ndarray | None = None, ascending: bool = True) -> np.ndarray:
        """The linear predictor without intercept (float32), for persons `idx` (default: everyone;
        `ascending`: whether idx is, which spreads the area terms without a search per person).

        Person features depend only on a few small codes, so the predictor is evaluated once
        per combination of codes (a lookup table of ~300 000 entries) and gathered by each
        person's combined code: one gather instead of a masked add per feature. The area
        terms (covariates times their coefficients, then `area_effect`) are summed per DeSO
        first and the sum spread to the persons of each DeSO: one pass over the persons, not
        one per term. Only the persons asked for are computed: the same float32 operations in
        the same order as computing everyone and selecting `idx` afterwards, so the values are
        bit for bit the same.
        """
        person_coefs = {k: v for k, v in coefficients.items() if k not in self.area_covariates}
        code = self.combined_code()
        out = np.take(_combination_table(person_coefs), code if idx is None else code[idx])
        terms = [self.area_covariates[k] * np.float32(v) for k, v in coefficients.items() if k in self.area_covariates]
        if area_effect is not None:
            terms.append(area_effect)
        if terms:
            area_sum = np.sum(terms, axis=0, dtype=np.float32)
            if not ascending:
                # A sample in any order: each person's DeSO gathered.
                out += np.take(area_sum, self.area[idx])
                return out
            # Persons are laid out DeSO by DeSO and `idx` is ascending, so a per-DeSO term is
            # spread with np.repeat over the persons of each DeSO (counted by binary search).
            counts = self.area_n if idx is None else np.diff(np.searchsorted(idx, self.area_bounds))
            out += np.repeat(area_sum, counts)
        return out

    def combined_code(self) -> np.ndarray:
        """Each person's index into the combination table: age class * _COMBOS + the other codes,
        in _CODE_DTYPE (two bytes a person: a link's gather of the codes and of the table, 230 kB
        that stays in the cache, move little memory)."""
        if "_code" not in self._masks:
            code = np.empty(self.alder.shape[0], dtype=_CODE_DTYPE)

            def fill(start: int, stop: int, _: int) -> None:
                part = slice(start, stop)
                rest = self.lag[part].astype(np.uint16)  # the codes but age: < _COMBOS, so uint16 arithmetic
                rest *= 4
                rest += np.minimum(self.status[part], 3)  # 255 (none) -> 3
                rest *= 4
                rest += self.bg[part]
                rest *= 6
                rest += np.minimum(self.hh[part], 5)  # 255 (none) -> 5
                rest *= 10
                rest += self.man[part].view(np.uint8) * np.uint8(5)
                rest += self.edu[part]
                np.multiply(np.take(_AGE_CLASS, self.alder[part]), _COMBOS, out=code[part], dtype=_CODE_DTYPE)
                code[part] += rest

            _in_chunks(fill, code.shape[0])
            self._masks["_code"] = code
        return self._masks["_code"]


_MAX_AGE = 131
_COMBOS = 3 * 4 * 4 * 6 * 2 * 5  # lag x status x bakgrund x hushållstyp x kön x utbildning


def _age_cuts() -> np.ndarray:
    """The ages where some age feature of FEATURES begins or ends (its last age + 1), ascending:
    between two cuts every age feature is the same, so the links see an age only by its class."""
    cuts = set()
    for name in FEATURES:
        if name.startswith("alder_"):
            lo, _, hi = name.removeprefix("alder_").partition("_")
            cuts.update([int(lo.removesuffix("plus"))] if lo.endswith("plus") else [int(lo), int(hi) + 1])
    return np.array(sorted(cuts), dtype=np.int16)


_AGE_FIRST = np.concatenate([[0], _age_cuts()])  # the first age of each class
_AGE_CLASS = (np.searchsorted(_AGE_FIRST, np.arange(_MAX_AGE), side="right") - 1).astype(np.uint8)  # class of each age
_CODE_DTYPE = np.uint16 if _AGE_FIRST.shape[0] * _COMBOS <= 1 << 16 else np.int32


@lru_cache(maxsize=64)
def _combination_table_cached(items: tuple[tuple[str, float], ...]) -> np.ndarray:
    age_class, lag, status, bg, hh, man, edu = np.indices((_AGE_FIRST.shape[0], 3, 4, 4, 6, 2, 5)).reshape(7, -1)
    combos = _People(alder=_AGE_FIRST[age_class], lag=lag, status=status, bg=bg, hh=hh, man=man.astype(bool), edu=edu)
    table = np.zeros(age_class.shape[0], dtype=np.float32)
    for name, coef in items:
        table[combos.mask(name)] += np.float32(coef)
    return table  # index = age class * _COMBOS + the other codes, as in _People.combined_code


def _combination_table(coefficients: dict[str, float]) -> np.ndarray:
    return _combination_table_cached(tuple(sorted(coefficients.items())))


def _bernoulli_link(people: _People, link: dict, idx: np.ndarray, rng: np.random.Generator,
                    weight: Callable[[np.ndarray], np.ndarray] | None = None,
                    calibrate_on: np.ndarray | None = None) -> np.ndarray:
    """Draw a logistic link for persons `idx` (ascending); the intercept is solved on a sample of
    the persons `idx[calibrate_on]` (positions within `idx`; default: all of `idx`).
    `weight(persons)` multiplies the probabilities of those persons (when given, calibrate_on is not).

    The linear predictor is computed for the sample, then chunk by chunk (CHUNK persons, each
    with its own child generator for its uniforms, two threads) together with the decision:
    neither the predictor nor the uniforms are ever held for all persons at once.
    """
    sd = float(link.get("omradeseffekt_sd", 0.0))
    # What the area's real shares do not explain: an independent effect per DeSO and link.
    effect = rng.normal(0.0, sd, people.n_areas).astype(np.float32) if sd > 0 else None
    coefficients = link.get("koefficienter", {})
    m = idx.shape[0]
    pick = sample_positions(m if calibrate_on is None else calibrate_on.shape[0], rng)
    if calibrate_on is not None:
        pick = calibrate_on[pick]
    w = None if weight is None or calibrate_on is not None else weight(idx[pick])
    b0 = np.float32(solve_intercept(people.eta(coefficients, idx[pick], effect, ascending=False), float(link["malniva"]), w))
    children = rng.spawn(-(-m // CHUNK))
    drawn = np.empty(m, dtype=bool)

    def decide(start: int, stop: int, k: int) -> None:
        # Block by block (the buffers stay in cache); the chunk's generator gives its uniforms
        # block after block, the same numbers as all at once.
        for lo in range(start, stop, _BLOCK):
            hi = min(stop, lo + _BLOCK)
            # p = 1 / (1 + exp(-(b0 + eta))) in float32, in place in eta's buffer.
            p = people.eta(coefficients, idx[lo:hi], effect)
            p += b0
            np.negative(p, out=p)
            np.exp(p, out=p)
            p += np.float32(1)
            np.divide(np.float32(1), p, out=p)
            if weight is not None:
                p *= weight(idx[lo:hi])
            np.less(children[k].random(hi - lo, dtype=np.float32), p, out=drawn[lo:hi])

    _in_chunks(decide, m)
    return drawn


# ---- the draw --------------------------------------------------------------------------
# Peak memory of draw() and write() per person, measured at 0.5 and 2 million persons
# (139-165 bytes), with a margin; the Arrow table itself is 19 bytes per person.
BYTES_PER_PERSON = 200
_BASE_BYTES = 400 * 2**20  # marginals, model, interpreter


def memory_needed(n: int) -> int:
    """Bytes `draw(n)` and writing the result need at their peak (an estimate with a margin)."""
    return _BASE_BYTES + BYTES_PER_PERSON * n


def available_memory() -> int | None:
    """Bytes the machine can give this process now (MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(n: int, available: int | None = None) -> None:
    """Refuse, before drawing, a population the machine cannot hold; the message gives the figures."""
    available = available_memory() if available is None else available
    need = memory_needed(n)
    if available is not None and need > available:
        most = max((available - _BASE_BYTES) // BYTES_PER_PERSON, 0)
        raise InputError(
            f"{_format_int(n)} syntetiska personer behöver omkring {_gb(need)} GB minne, men datorn har "
            f"{_gb(available)} GB ledigt; välj högst omkring {_format_int(most)} personer med --personer"
        )


def _gb(n: int) -> str:
    return f"{n / 2**30:,.1f}".replace(",", " ").replace(".", ",")


def _format_int(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def draw(personer: int | None = None, seed: int = 2022, marg: Marginals | None = None) -> pa.Table:
    """SYNTETISKA DATA: `personer` persons (default: the real population, 10 521 556) in the microdata schema.

    The Arrow table carries Parquet metadata saying SYNTETISKA DATA (see write()).
    """
    cfg = model()
    marg = marg or marginals()
    total = marg.total
    n = total if personer is None else int(personer)
    if n < 1:
        raise InputError(f"antalet personer måste vara minst 1, inte {n}")
    check_memory(n)
    rng = np.random.default_rng(seed)
    n_areas = marg.deso.shape[0]

    # Persons per DeSO and age band: the real counts, scaled and rounded so that the total is n.
    # Persons are laid out cell by cell (DeSO, then age band), so a per-cell value is spread to
    # the persons with np.repeat, and a run of bands is a list of index ranges: no gather and no
    # search over all persons is needed for them.
    area_n = controlled_round(marg.befolkning[None, :], np.array([n]), rng)[0]
    cell_n = controlled_round(marg.bands, area_n, rng)
    cells = cell_n.ravel()
    area = np.repeat(np.arange(n_areas, dtype=np.int32), area_n)  # the table's DeSO codes
    bounds = np.concatenate([[0], np.cumsum(area_n)])  # person positions where each DeSO begins (and the end)

    fraction = np.where(marg.befolkning > 0, area_n / np.where(marg.befolkning > 0, marg.befolkning, 1), 0.0)

    # The children of every uniforms() call up to the links, spawned in the order of the calls (the
    # order the steps were once run in one after the other), so that independent steps run at once.
    old = _band_runs(cell_n, 7, 7)
    working = _band_runs(cell_n, 4, 6)
    k_age, k_g65, k_age65, k_man, k_bg, k_status = _spawn_for(
        rng, [n, old.shape[0], old.shape[0], n, n, working.shape[0]]
    )
    edu_rng, hh_rng = rng.spawn(2)
    (k_inside,) = _spawn_for(rng, [n])

    cell_ends = np.cumsum(cells)

    def ages() -> np.ndarray:
        alder = np.empty(n, dtype=np.int16)
        widths = np.tile(_BAND_WIDTH.astype(np.float32), n_areas)
        los = np.tile(_BAND_LO, n_areas)

        def fill(start: int, stop: int, k: int) -> None:
            u = k_age[k].random(stop - start, dtype=np.float32)
            u *= _spread(widths, cell_ends, start, stop)
            part = alder[start:stop]
            part[:] = _spread(los, cell_ends, start, stop)
            part += u.astype(np.int16)

        _in_chunks(fill, n)
        w65 = np.asarray(cfg["alder"]["vikter_65plus"], dtype=np.float64)
        g65 = draw_categories(w65[None, :], None, None, runs=np.array([old.shape[0]]), children=k_g65)
        alder[old] = 65 + 5 * g65.astype(np.int16) + (_uniforms(k_age65, old.shape[0]) * 5).astype(np.int16)
        return alder

    def background_and_status() -> tuple[np.ndarray, np.ndarray]:
        """Background x age band, fitted per DeSO (the band counts are the laid-out cell counts);
        labour-market status 16-64 by (band 16_19/20_24/25_64) x background."""
        fit = ipf(np.asarray(cfg["bakgrund"]["startvarden"], dtype=np.float64), cell_n.astype(np.float64), marg.bakgrund)
        bg = draw_categories(fit.reshape(-1, len(BG)), None, None, runs=cells, children=k_bg)
        status = np.full(n, STATUS_NONE, dtype=np.uint8)
        sc = cfg["sysselsattning"]
        base = np.array([sc["startvarden_16_19"], sc["startvarden_20_24"], sc["startvarden_25_64"]], dtype=np.float64)
        mult = np.ones((len(BG), 3))
        mult[:, 1] = sc["bakgrund_arbetslos"]
        mult[:, 2] = sc["bakgrund_utanfor"]
        seed_status = (base[:, None, :] * mult[None, :, :]).reshape(3 * len(BG), 3)
        # Group DeSO * 12 + (band - 4) * 4 + background: the first two terms per (DeSO, band) cell.
        cell_code = np.arange(n_areas, dtype=np.intp)[:, None] * (3 * len(BG)) + np.arange(3, dtype=np.intp) * len(BG)
        g = np.repeat(cell_code.ravel(), cell_n[:, 4:7].ravel())
        g += bg[working]
        status[working] = _fit_and_draw(g, 3 * len(BG), seed_status, marg.status, n_areas, k_status)
        return bg, status

    # Steps that do not depend on one another run at once (two workers and this thread), each with
    # the children spawned for it above: the persons do not depend on which thread runs what.
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="syntetisk-bakgrund")
    bg_status_future = pool.submit(background_and_status)
    alder = ages()
    kon_cfg = cfg["kon"]
    p_man = np.array([kon_cfg["andel_man_0_64"]] * 7 + [kon_cfg["andel_man_65plus"]], dtype=np.float32)
    p_man_cells = np.tile(p_man, n_areas)
    man = np.empty(n, dtype=bool)
    _in_chunks(lambda start, stop, k: np.less(k_man[k].random(stop - start, dtype=np.float32),
                                              _spread(p_man_cells, cell_ends, start, stop), out=man[start:stop]), n)

    def utbildning(rng: np.random.Generator) -> np.ndarray:
        """Education 25-64 by background x status."""
        edu = np.full(n, 4, dtype=np.uint8)  # 4 = saknas (written as empty)
        mid = _band_runs(cell_n, 6, 6)
        ec = cfg["utbildning"]
        seed_edu = (
            np.asarray(ec["startvarden"])[None, None, :] * np.asarray(ec["bakgrund"])[:, None, :] * np.asarray(ec["status"])[None, :, :]
        ).reshape(len(BG) * 3, 5)
        g = np.repeat(np.arange(n_areas, dtype=np.intp) * (len(BG) * 3), cell_n[:, 6])  # DeSO * 12
        g += bg[mid] * np.uint8(3)
        g += status[mid]
        edu[mid] = _fit_and_draw(g, len(BG) * 3, seed_edu, marg.utbildning, n_areas, _spawn_for(rng, [g.shape[0]])[0])
        return edu

    def hushall(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Household type: none in special housing; else fitted by (child, adult 18-64, 65+).
        Returns the codes, the reference persons and the persons in a household."""
        hc = cfg["hushall"]
        hh = np.full(n, 255, dtype=np.uint8)

        def hh_group(part: slice, sel: np.ndarray) -> np.ndarray:
            """DeSO * 3 + (0 child, 1 adult 18-64, 2 65+) of the selected persons."""
            a_h = alder[part][sel]
            code = np.multiply(area[part][sel], 3, dtype=np.intp)
            code += (a_h >= 18).view(np.uint8)
            code += (a_h >= 65).view(np.uint8)
            return code

        in_hh_mask, g_idx = _select(_spawn_for(rng, [n])[0], marg.special_andel.astype(np.float32), bounds[1:], False, hh_group)
        in_hh = np.flatnonzero(in_hh_mask)
        per_hh = np.asarray(hc["vuxna_per_hushall"]) + np.asarray(hc["barn_per_hushall"])
        hh_persons = marg.hushall * per_hh[None, :]
        counts = np.bincount(g_idx, minlength=n_areas * 3).reshape(n_areas, 3).astype(np.float64)
        fit = ipf(np.asarray(hc["startvarden"], dtype=np.float64), counts, hh_persons)
        hh[in_hh] = draw_categories(fit.reshape(-1, len(ms.HUSHALLSTYP)), g_idx, None, children=_spawn_for(rng, [g_idx.shape[0]])[0])
        del g_idx
        # One reference person per household: adults of each type, with probability households / adults.
        adults_fit = fit[:, 1:, :].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            p_ref = np.clip(np.where(adults_fit > 0, marg.hushall * fraction[:, None] / adults_fit, 0.0), 0, 1)
        in_hh_mask &= alder >= 18
        adult = np.flatnonzero(in_hh_mask)  # in a household and 18+
        del in_hh_mask
        ref = np.zeros(n, dtype=bool)
        p_ref32 = p_ref.astype(np.float32).ravel()
        k_ref = _spawn_for(rng, [adult.shape[0]])[0]

        def decide_ref(start: int, stop: int, k: int) -> None:
            persons = adult[start:stop]
            cell = np.multiply(area[persons], len(ms.HUSHALLSTYP), dtype=np.intp)
            cell += hh[persons]
            ref[persons] = k_ref[k].random(stop - start, dtype=np.float32) < np.take(p_ref32, cell)

        _in_chunks(decide_ref, adult.shape[0])
        return hh, ref, in_hh

    hh_future = pool.submit(hushall, hh_rng)  # needs the ages only
    bg, status = bg_status_future.result()
    edu_future = pool.submit(utbildning, edu_rng)
    pool.shutdown(wait=False)

    # Low economic standard: missing for persons outside the statistics, then fitted by group x background.
    lag = np.full(n, 2, dtype=np.uint8)  # 2 = not in the statistics (empty)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_in = np.clip(np.where(marg.befolkning > 0, marg.ek_personer / np.where(marg.befolkning > 0, marg.befolkning, 1), 1.0), 0, 1)

    def lag_group(part: slice, sel: np.ndarray) -> np.ndarray:
        """DeSO * 20 + group * 4 + background of the selected persons: group 0 aged 0-15,
        1-3 status + 1 (3: no status), 4 aged 65+."""
        a_in = alder[part][sel]
        lgroup = np.minimum(status[part][sel], np.uint8(2))  # 0, 1, 2 and none (255) -> 0, 1, 2, 2
        lgroup += np.uint8(1)
        lgroup[a_in <= 15] = 0
        lgroup[a_in >= 65] = 4
        del a_in
        code = np.multiply(area[part][sel], 5 * len(BG), dtype=np.intp)
        code += lgroup * np.uint8(len(BG))
        code += bg[part][sel]
        return code

    inside, g = _select(k_inside, p_in.astype(np.float32), bounds[1:], True, lag_group)
    lc = cfg["lag_ekonomisk_standard"]
    odds = np.asarray(lc["grupp"])[:, None] * np.asarray(lc["bakgrund"])[None, :]
    seed_lag = np.stack([np.ones(odds.size), odds.ravel()], axis=1)  # 0 = not low, 1 = low
    cols = np.stack([(1 - marg.lag_andel) * marg.ek_personer, marg.lag_andel * marg.ek_personer], axis=1)
    lag[inside] = _fit_and_draw(g, 5 * len(BG), seed_lag, cols, n_areas, _spawn_for(rng, [g.shape[0]])[0])
    del g

    edu = edu_future.result()
    hh, ref, in_hh = hh_future.result()
    people = _People(area=area, area_n=area_n, area_bounds=bounds, alder=alder, man=man, bg=bg, status=status, edu=edu, lag=lag, hh=hh, n_areas=n_areas)
    lag_nat = float((marg.lag_andel * marg.ek_personer).sum() / marg.ek_personer.sum())
    fler_nat = float((marg.flerbostad_andel * marg.befolkning).sum() / marg.befolkning.sum())
    people.area_covariates = {
        "omrade_lag_ekonomisk_standard": (marg.lag_andel - lag_nat).astype(np.float32),
        "omrade_flerbostadshus": (marg.flerbostad_andel - fler_nat).astype(np.float32),
    }
    links = cfg["lank"]
    people.combined_code()  # computed once, before the links share it
    # The links are independent of one another: each gets its own child generator (spawned in
    # this order, so the numbers do not depend on which thread runs it) and they run two at a time.

    def bistand(rng: np.random.Generator) -> np.ndarray:
        """Ekonomiskt bistånd (18+), calibrated on 20-64: months per person."""
        adults = np.flatnonzero(alder >= 18)
        a_ad = alder[adults]
        cal = np.flatnonzero((a_ad >= 20) & (a_ad <= 64))  # positions within `adults`
        del a_ad
        got = _bernoulli_link(people, links["ekonomiskt_bistand"], adults, rng, calibrate_on=cal)
        bl = links["ekonomiskt_bistand"]
        months = np.zeros(n, dtype=np.int8)
        rec = adults[got]
        del adults, got, cal
        whole = uniforms(rng, rec.shape[0]) < bl["andel_helar"]
        months[rec] = np.where(whole, 12, 1 + rng.binomial(10, bl["manader_p"], rec.shape[0])).astype(np.int8)
        return months

    def trangbodd(rng: np.random.Generator, in_hh: np.ndarray) -> np.ndarray:
        """Trångboddhet (norm 2): known for persons in a household; never for the types listed."""
        tl = links["trangbodd"]
        w_type = np.ones(256, dtype=np.float32)  # weight by household code: 0 for the types never overcrowded
        w_type[[ms.HUSHALLSTYP.index(k) for k in tl.get("aldrig", [])]] = 0.0
        trang = np.full(n, 2, dtype=np.uint8)  # 2 = unknown (empty)
        trang[in_hh] = _bernoulli_link(people, tl, in_hh, rng, weight=lambda persons: np.take(w_type, hh[persons]))
        return trang

    def rostning(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Rösträtt and valdeltagande. Born abroad (bakgrund europa, övriga världen): a citizen
        with the model's share; the others are."""
        rl = links["rostberattigad"]
        eligible = alder >= 18
        abroad = np.flatnonzero(eligible & (bg >= 2))
        p_cit = np.array([rl["andel_medborgare_europa"], rl["andel_medborgare_ovriga_varlden"]], dtype=np.float32)
        eligible[abroad] = uniforms(rng, abroad.shape[0]) < np.take(p_cit, bg[abroad] - 2)
        del abroad
        voters = np.flatnonzero(eligible)
        voted = np.zeros(n, dtype=bool)
        voted[voters] = _bernoulli_link(people, links["rostat"], voters, rng)
        return eligible, voted

    def skola(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Årskurs 9 (ages 15-17) and behörighet."""
        al = links["lamnat_ak9"]
        p_age = np.array([al["andel_alder_15"], al["andel_alder_16"], al["andel_alder_17"]], dtype=np.float32)
        teens = _band_runs(cell_n, 3, 4)  # 15-19: drawn for 15-17 only (0 at other ages)
        teens = teens[alder[teens] <= 17]
        left = np.zeros(n, dtype=bool)
        left[teens] = uniforms(rng, teens.shape[0]) < np.take(p_age, alder[teens] - 15)
        del teens
        pupils = np.flatnonzero(left)
        behorig = np.full(n, 2, dtype=np.uint8)
        behorig[pupils] = _bernoulli_link(people, links["behorig_gymnasiet"], pupils, rng)
        return left, behorig

    def brott(rng: np.random.Generator) -> np.ndarray:
        """Misstänkta för brott, 15+."""
        teen_plus = np.flatnonzero(alder >= 15)
        suspected = np.zeros(n, dtype=bool)
        suspected[teen_plus] = _bernoulli_link(people, links["misstankt_brott"], teen_plus, rng)
        return suspected

    def ohalsa(rng: np.random.Generator) -> np.ndarray:
        """Ohälsodagar 16-64: whole year, or one spell whose mean length gives the target ohälsotal."""
        days = np.zeros(n, dtype=np.int16)
        work_age = np.flatnonzero((alder >= 16) & (alder <= 64))
        full = _bernoulli_link(people, links["ohalsa_helar"], work_age, rng)
        days[work_age[full]] = 365
        rest = work_age[~full]
        pl_ = links["ohalsa_period"]
        spell = rest[_bernoulli_link(people, pl_, rest, rng)]
        if spell.shape[0]:
            mean_len = (pl_["malniva_dagar"] * work_age.shape[0] - 365.0 * full.sum()) / spell.shape[0]
            days[spell] = _spell_lengths(rng.standard_gamma(0.8, spell.shape[0]), mean_len)
        return days

    child = dict(zip([bistand, trangbodd, rostning, skola, brott, ohalsa], rng.spawn(6), strict=True))
    with ThreadPoolExecutor(max_workers=2 if n >= _PARALLEL_MIN and _cores() >= 2 else 1,
                            thread_name_prefix="syntetisk-samband") as pool:
        # The longest first, so that the two threads finish close together.
        futures = {task: pool.submit(task, child[task], *([in_hh] if task is trangbodd else []))
                   for task in (ohalsa, trangbodd, brott, bistand, rostning, skola)}
        del in_hh
        # The columns that do not come from the links, built by whichever thread is free first.
        attributes = pool.submit(_columns, marg, n, cfg, _ATTRIBUTE_COLUMNS, dict(
            area=area, alder=alder, man=man, bg=bg, status=status, edu=edu, lag=lag, hh=hh, ref=ref))
    months, trang = futures[bistand].result(), futures[trangbodd].result()
    (eligible, voted), (left, behorig) = futures[rostning].result(), futures[skola].result()
    suspected, days = futures[brott].result(), futures[ohalsa].result()
    del futures
    people._masks.clear()  # the combined codes

    return _table(marg, n, seed, cfg, attributes.result(), area=area, alder=alder, man=man, bg=bg, status=status, months=months,
                  trang=trang, eligible=eligible, voted=voted, left=left, behorig=behorig, suspected=suspected,
                  days=days, edu=edu, lag=lag, hh=hh, ref=ref)


def _band_runs(cell_n: np.ndarray, first: int, last: int) -> np.ndarray:
    """Indices (intp, ascending) of the persons in age bands first..last, given the laid-out
    (DeSO, band) cell counts: one index range per DeSO, built without looking at every person."""
    ends = np.cumsum(cell_n.ravel()).reshape(cell_n.shape)
    starts = (ends - cell_n)[:, first]
    lengths = ends[:, last] - starts
    total = int(lengths.sum())
    # Within the concatenated ranges, index i of DeSO a is starts[a] + (i - offset[a]).
    offsets = np.cumsum(lengths) - lengths
    out = np.repeat(starts - offsets, lengths)
    out += np.arange(total, dtype=np.intp)
    return out


def _spell_lengths(g: np.ndarray, mean_len: float) -> np.ndarray:
    """Days 1-364 from gamma draws `g`, scaled (bisection) so that their mean is `mean_len`."""
    mean_len = float(np.clip(mean_len, 1.0, 364.0))
    lo, hi = 0.0, 364.0 / max(float(np.median(g)), 1e-6)
    sample = g[: 200_000]
    for _ in range(40):
        c = (lo + hi) / 2
        if np.clip(np.rint(c * sample), 1, 364).mean() < mean_len:
            lo = c
        else:
            hi = c
    return np.clip(np.rint(((lo + hi) / 2) * g), 1, 364).astype(np.int16)


def _fit_and_draw(g: np.ndarray, n_groups: int, seed: np.ndarray, cols: np.ndarray, n_areas: int,
                  children: list[np.random.Generator]) -> np.ndarray:
    """IPF of (group x category) per DeSO on the drawn group counts and the real category counts;
    draw. `g` is each person's DeSO * n_groups + group (intp); the uniforms those of
    _uniforms(children, len(g))."""
    counts = np.bincount(g, minlength=n_areas * n_groups).reshape(n_areas, n_groups).astype(np.float64)
    fit = ipf(seed, counts, cols)
    return draw_categories(fit.reshape(-1, seed.shape[1]), g, None, children=children)


def label(n: int, seed: int) -> str:
    return (
        f"{LABEL}: syntetisk befolkning ({n} personer, seed {seed}, modell {model()['version']}), "
        "kalibrerad mot SCB:s DeSO-tabeller 2022"
    )


def _bitmap(values: np.ndarray) -> pa.Buffer:
    """An Arrow bitmap (least significant bit first) of a boolean array."""
    return pa.py_buffer(np.packbits(values, bitorder="little"))


def _dictionary(codes: np.ndarray, values: tuple[str, ...], missing: int | None = None) -> pa.DictionaryArray:
    """Codes into `values` as an Arrow dictionary array; `missing` codes are nulls.

    Built from buffers (the codes as they are, the nulls as a bitmap by np.packbits):
    pa.array with a mask takes 20 times as long on ten million persons.
    """
    width = np.int8 if len(values) < 128 else np.int32
    idx = codes.view(np.int8) if codes.dtype == np.uint8 and width is np.int8 else codes.astype(width)
    idx = np.ascontiguousarray(idx)
    validity = None if missing is None else _bitmap(codes != missing)
    indices = pa.Array.from_buffers(pa.from_numpy_dtype(width), idx.shape[0], [validity, pa.py_buffer(idx)])
    # safe=False: the codes are this module's own, in range by construction (a check is a pass over them).
    return pa.DictionaryArray.from_arrays(indices, _strings(values), safe=False)


def _numbers(values: np.ndarray) -> pa.Array:
    """A numeric Arrow array without nulls, over the array's own buffer (no copy).

    pa.array would do the same, but its first call imports pandas (half a second)."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), values.shape[0], [None, pa.py_buffer(values)])


def _strings(values: tuple[str, ...] | list[str]) -> pa.Array:
    """A string Arrow array from its offsets and bytes (pa.array of a list imports pandas, see _numbers)."""
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def _bool(codes: np.ndarray, missing: int | None = None) -> pa.Array:
    """A boolean Arrow array: codes 1 (or True) are true; `missing` codes are nulls (from bitmaps, see _dictionary)."""
    values = codes.astype(bool) if missing is None else codes == 1
    validity = None if missing is None else _bitmap(codes != missing)
    return pa.Array.from_buffers(pa.bool_(), values.shape[0], [validity, _bitmap(values)])


# The table's columns, in order; those not drawn by the links can be built while the links run.
_COLUMNS = (
    "ar", "deso", "alder", "kon", "bakgrund", "fodelseregion", "sysselsattning", "bistand_manader", "trangbodd",
    "rostberattigad", "rostat", "lamnat_ak9", "behorig_gymnasiet", "misstankt_brott", "ohalsodagar", "utbildning",
    "lag_ekonomisk_standard", "hushallstyp", "hushallsreferens", ms.SYNTETISK,
)
_ATTRIBUTE_COLUMNS = ("ar", "deso", "alder", "kon", "bakgrund", "fodelseregion", "sysselsattning", "utbildning",
                      "lag_ekonomisk_standard", "hushallstyp", "hushallsreferens", ms.SYNTETISK)


def _columns(marg: Marginals, n: int, cfg: dict, names: tuple[str, ...], a: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    """The columns `names` of the table, from the arrays `a` (only those these columns need)."""

    def fodelse() -> np.ndarray:
        out = np.maximum(a["bg"], np.uint8(1))  # background 0, 1, 2, 3 -> birth region 0, 0, 1, 2
        out -= np.uint8(1)
        return out

    build: dict[str, Callable[[], pa.Array]] = {
        "ar": lambda: _numbers(np.full(n, int(cfg["ar"]), dtype=np.int16)),
        "deso": lambda: pa.DictionaryArray.from_arrays(_numbers(a["area"]), _strings(marg.deso.astype(str).tolist())),
        "alder": lambda: _numbers(a["alder"]),
        "kon": lambda: _dictionary((~np.asarray(a["man"], dtype=bool)).view(np.uint8), ms.KON),
        "bakgrund": lambda: _dictionary((a["bg"] > 0).view(np.uint8), ms.BAKGRUND),
        "fodelseregion": lambda: _dictionary(fodelse(), ms.FODELSEREGION),
        "sysselsattning": lambda: _dictionary(a["status"], ms.SYSSELSATTNING, STATUS_NONE),
        "bistand_manader": lambda: _numbers(a["months"]),
        "trangbodd": lambda: _bool(a["trang"], 2),
        "rostberattigad": lambda: _bool(a["eligible"]),
        "rostat": lambda: _bool(a["voted"]),
        "lamnat_ak9": lambda: _bool(a["left"]),
        "behorig_gymnasiet": lambda: _bool(a["behorig"], 2),
        "misstankt_brott": lambda: _bool(a["suspected"]),
        "ohalsodagar": lambda: _numbers(a["days"]),
        "utbildning": lambda: _dictionary(a["edu"], ms.UTBILDNING, 4),
        "lag_ekonomisk_standard": lambda: _bool(a["lag"], 2),
        "hushallstyp": lambda: _dictionary(a["hh"], ms.HUSHALLSTYP, 255),
        "hushallsreferens": lambda: _bool(a["ref"]),
        ms.SYNTETISK: lambda: _bool(np.ones(n, dtype=bool)),  # survives what drops the metadata
    }
    return {name: build[name]() for name in names}


def _table(marg: Marginals, n: int, seed: int, cfg: dict, built: dict[str, pa.Array] | None = None,
           **a: np.ndarray) -> pa.Table:
    """The Arrow table of the persons' arrays `a`; `built`: columns already built (see _columns)."""
    built = built or {}
    rest = _columns(marg, n, cfg, tuple(c for c in _COLUMNS if c not in built), a)
    columns = {c: built[c] if c in built else rest[c] for c in _COLUMNS}
    meta = {
        ms.META_KALLA: label(n, seed).encode("utf-8"),
        ms.META_SYNTETISK: b"true",
        b"utanforskap.seed": str(seed).encode(),
        b"utanforskap.modell": f"{cfg['version']} ({model_digest()})".encode(),
    }
    return pa.table(columns).replace_schema_metadata(meta)


def write(table: pa.Table, path: str | os.PathLike[str]) -> Path:
    """Write the synthetic persons to Parquet atomically, keeping the SYNTETISKA DATA metadata."""
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 20)
    return path


# ---- the cached observation store --------------------------------------------------------
def synthetic_store(personer: int | None = None, seed: int = 2022) -> ObservationStore:
    """SYNTETISKA DATA: an observation store with the synthetic population aggregated, with disclosure control.

    The protection here is the LINEAR one only (`granska=False`: primary suppression, the
    dominance rule for days, and secondary suppression so that no protected figure is
    computable exactly by equations; one status `skyddad`). The intruder's LP audit that
    `aggregera` runs before publishing is not run: small populations (the tests') would lose DeSO
    and RegSO altogether (rojandekontroll.toml: hogsta_primarandel), the store is to show the
    method on every level, and these are synthetic persons, never published as statistics about real people.

    Levels deso, regso, kommun, lan and riket, period "2022", dataset "syntetisk"; every
    row's `kalla` begins with SYNTETISKA DATA. Built once under
    $XDG_CACHE_HOME/utanforskap/syntetisk-<seed>-<n or "alla"> and rebuilt when absent or
    when anything that shapes it has changed (`cache_key`).
    """
    from utanforskap.settings import load as load_settings

    min_antal = load_settings().min_antal
    key = cache_key(min_antal)
    root = cache_root() / f"syntetisk-{seed}-{'alla' if personer is None else int(personer)}"
    store = ObservationStore(root)
    if _is_current(store, key):
        return store
    root.mkdir(parents=True, exist_ok=True)
    with _build_lock(root):
        if _is_current(store, key):  # another process built it while we waited
            return store
        from utanforskap.microdata.aggregate import aggregate

        marg = marginals()
        n = marg.total if personer is None else int(personer)
        table = draw(n, seed, marg)
        # Linear protection only (see the docstring): internal, synthetic, never published.
        obs = aggregate(table, "deso", where=label(n, seed), min_antal=min_antal, granska=False)
        store.write(
            {DATASET: obs},
            meta={DATASET: {"nyckel": key, "modell": model_digest(), "min_antal": min_antal, "personer": n,
                            "seed": seed, "syntetisk": True, "beskrivning": label(n, seed)}},
        )
    return store


def cache_key(min_antal: int) -> str:
    """What the cached store depends on: the model file, the disclosure threshold, the package
    version, and the code and tables of the aggregation and disclosure control (VARIABLES,
    PARTITIONS and the rules live in these modules' source)."""
    from importlib.util import find_spec

    from utanforskap import __version__

    h = hashlib.sha256()
    for part in (model_text(), f"min_antal={min_antal}", f"version={__version__}"):
        h.update(part.encode("utf-8") + b"\0")
    # The sources are read, not imported: a cache hit must not pay for ibis and HiGHS.
    for name in ("aggregate", "audit", "disclosure", "schema"):
        spec = find_spec(f"utanforskap.microdata.{name}")
        assert spec is not None and spec.origin is not None  # modules of this package
        h.update(Path(spec.origin).read_bytes() + b"\0")
    h.update(resources.files("utanforskap.data").joinpath("rojandekontroll.toml").read_bytes())
    return h.hexdigest()[:16]


def _is_current(store: ObservationStore, key: str) -> bool:
    entry = store.datasets().get(DATASET)
    return bool(entry) and entry.get("nyckel") == key and (store.root / entry["fil"]).exists()


@contextlib.contextmanager
def _build_lock(root: Path):
    with open(root / ".bygger", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield
