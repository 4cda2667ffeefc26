"""Monte Carlo over a method's declared uncertainty, vectorised over draws x areas.

    setup = prepare("se-oppna-data-2022", 2022, "paket")
    run = simulate(setup, draws=1000, seed=1)
    run.areas      # per area: probability listed, top class, flag range, per factor, margins
    run.per_draw   # per draw: list size, kommuner, residents, children, and the draw's values
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import polars as pl

from utanforskap.datasets import DataSource, open_source
from utanforskap.errors import InputError
from utanforskap.methods import loader
from utanforskap.methods import model as m
from utanforskap.results import karta
from utanforskap.results.inputs import method_inputs
from utanforskap.robustness import draws as dr
from utanforskap.robustness.spec import cutoffs, label, load_spec
from utanforskap.robustness.vector import CLASS_STEP, Compiled

DEFAULT_DRAWS = 1000
DEFAULT_SEED = 2022
BLOCK = 1000  # draws evaluated at once: 1 000 x 3 363 float64 is 27 MB per varying column


@dataclass(frozen=True, eq=False)
class Setup:
    """A method, its data and its uncertainty, compiled for draws."""

    result: karta.MapResult  # the map at the method's own values
    spec: m.Uncertainty
    dims: list[dr.Dimension]
    compiled: Compiled
    areas: pl.DataFrame  # AREA_COLUMNS in the compiled row order
    spec_source: str

    @property
    def factors(self):
        return self.compiled.factor_flags


def prepare(
    method: str | os.PathLike[str] | None = None,
    year: int = karta.DEFAULT_YEAR,
    data: str | os.PathLike[str] | DataSource = "paket",
    spec_path: str | os.PathLike[str] | None = None,
    result: karta.MapResult | None = None,
) -> Setup:
    """Load the method, its spec (`spec_path` or the method's own) and its inputs."""
    if result is None:
        source = data if isinstance(data, DataSource) else open_source(data)
        if method is None:
            method = karta.DEFAULT_SYNTHETIC_METHOD if source.synthetic else karta.DEFAULT_METHOD
        loaded = loader.load(method)
        if loaded.method.nyckel != "regso_kod":
            raise InputError(f"{loaded.source}: robusthet körs på RegSO; metodens nyckel måste vara regso_kod")
        table = method_inputs(loaded, source.store, year)
        result = karta.classify(loaded, table, karta.areas_with_population(source.store, year), source, year)
    loaded = result.method
    inputs = result._memo.get("inputs")
    if inputs is None:
        inputs = method_inputs(loaded, result.source.store, result.year)
    spec = load_spec(loaded, spec_path)
    overrides = karta.scalar_parameters(result)  # a map computed with changed parameters keeps them
    dims = dr.dimensions(loaded, spec, overrides)
    comp = Compiled(loaded, inputs, spec, dims, karta.factors(loaded), overrides)
    keys = pl.DataFrame({"regso_kod": comp.keys})
    areas = keys.join(result.areas.select(karta.AREA_COLUMNS + [CLASS_STEP]), on="regso_kod", how="left", maintain_order="left")
    return Setup(result, spec, dims, comp, areas, str(spec_path) if spec_path else loaded.source)


@dataclass
class _Totals:
    """Sums over draws, per area, filled block by block."""

    listed: np.ndarray
    top: np.ndarray
    hist: np.ndarray  # (flag count + 1, areas)
    n: int = 0
    flagged: dict = field(default_factory=dict)
    d_sum: dict = field(default_factory=dict)
    d_sq: dict = field(default_factory=dict)
    d_n: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Run:
    setup: Setup
    draws: dr.Draws
    seed: int
    areas: pl.DataFrame  # omraden.csv
    per_draw: pl.DataFrame  # lista.csv

    def summary(self) -> dict:
        size = self.per_draw["antal_omraden"].to_numpy()
        lab = self.areas["etikett"]
        return {
            "dragningar": self.draws.n,
            "seed": self.seed,
            "listade_idag": int(self.areas["listad"].sum()),
            "omraden_min": int(size.min()),
            "omraden_p05": float(np.percentile(size, 5)),
            "omraden_median": float(np.median(size)),
            "omraden_p95": float(np.percentile(size, 95)),
            "omraden_max": int(size.max()),
            "omraden_medel": float(size.mean()),
            "sakert_listade": int((lab == "säkert listad").sum()),
            "osakra": int((lab == "osäker").sum()),
            "sakert_ej_listade": int((lab == "säkert ej listad").sum()),
            "alltid_listade": int((self.areas["sannolikhet_listad"] == 1.0).sum()),
            "listade_10_90": int(self.areas["sannolikhet_listad"].is_between(0.1, 0.9).sum()),
        }


def flag_margin(comp: Compiled, env: dict, k: int, step: m.Flag) -> np.ndarray:
    """Signed distance to the flag's threshold (k x areas): positive on the flagged side."""
    a = comp.column(env, step.indata, k)
    g = step.grans
    b: np.ndarray | float
    if isinstance(g, str):
        b = comp.column(env, g, k)
    elif isinstance(g, m.ParamRef) and g.parameter in comp.param_index:
        b = env["__param__" + g.parameter]
    else:
        b = comp.base_params[g.parameter] if isinstance(g, m.ParamRef) else float(g)
    return a - b if step.operator in (">=", ">") else b - a


def evaluate_block(setup: Setup, block: dr.Draws, noise: dict | None = None) -> dict:
    """The varying columns for a block of draws, plus each uncertain parameter's values."""
    env = setup.compiled.evaluate(block, noise)
    for name, j in setup.compiled.param_index.items():
        env["__param__" + name] = block.values[:, j : j + 1]
    return env


def listed_matrix(setup: Setup, env: dict, k: int) -> np.ndarray:
    """Whether each area is listed in each draw (k x areas)."""
    return setup.compiled.column(env, CLASS_STEP, k) > 0


def simulate(setup: Setup, draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED, block: int = BLOCK) -> Run:
    """`draws` Monte Carlo draws of everything the spec declares uncertain."""
    if draws < 1:
        raise InputError(f"--dragningar måste vara minst 1 (är {draws})")
    comp = setup.compiled
    rng = np.random.default_rng(seed)
    all_draws = dr.sample(setup.dims, draws, rng)
    noise_rng = np.random.default_rng([seed, 1])
    count_col = _count_column(setup)
    n_flags = len(setup.factors)
    pop = setup.areas["befolkning"].fill_null(0).cast(pl.Float64).to_numpy()
    kids = setup.areas["barn"].fill_null(0).cast(pl.Float64).to_numpy()
    kommun = setup.areas["kommun_kod"].to_numpy()
    uniq, kidx = np.unique(kommun, return_inverse=True)
    onehot = np.zeros((kidx.size, uniq.size), dtype=np.float32)
    onehot[np.arange(kidx.size), kidx] = 1.0
    t = _Totals(listed=np.zeros(comp.n_areas), top=np.zeros(comp.n_areas), hist=np.zeros((n_flags + 2, comp.n_areas)))
    rows: dict[str, list[np.ndarray]] = {"antal_omraden": [], "antal_hogsta_klass": [], "antal_kommuner": [], "invanare": [], "barn": []}
    for start in range(0, draws, block):  # over blocks of draws, each evaluated at once
        part = all_draws.slice(start, min(start + block, draws))
        k = part.n
        noise = comp.noise(k, noise_rng) if comp.noised else None
        env = evaluate_block(setup, part, noise)
        code = comp.column(env, CLASS_STEP, k)
        listed = code > 0
        t.n += k
        t.listed += listed.sum(axis=0)
        t.top += (code == 1).sum(axis=0)
        if count_col is not None:
            t.hist += _histogram(comp.column(env, count_col, k), n_flags)
        for f in setup.factors:  # over the method's factors
            flag = comp.column(env, f.flag, k)
            t.flagged[f.id] = t.flagged.get(f.id, 0) + (flag == 1.0).sum(axis=0)
            s1, s2, cnt = _margin_sums(comp, env, k, f.step)
            t.d_sum[f.id] = t.d_sum.get(f.id, 0) + s1
            t.d_sq[f.id] = t.d_sq.get(f.id, 0) + s2
            t.d_n[f.id] = t.d_n.get(f.id, 0) + cnt
        # Per draw, over the areas listed in some draw of the block only (a few hundred).
        some = np.flatnonzero(listed.any(axis=0))
        sub = listed[:, some]
        rows["antal_omraden"].append(sub.sum(axis=1))
        rows["antal_hogsta_klass"].append((code[:, some] == 1).sum(axis=1))
        rows["antal_kommuner"].append(((sub.astype(np.float32) @ onehot[some]) > 0).sum(axis=1))
        rows["invanare"].append(sub.astype(np.float64) @ pop[some])
        rows["barn"].append(sub.astype(np.float64) @ kids[some])
    per_draw = _per_draw(all_draws, {k: np.concatenate(v) for k, v in rows.items()})
    areas = _per_area(setup, t, count_col)
    return Run(setup, all_draws, seed, areas, per_draw)


def _histogram(cnt: np.ndarray, m_flags: int) -> np.ndarray:
    """How many draws gave each flag count (row 0..m; row m + 1: missing), per area."""
    bins = np.where(np.isnan(cnt), np.float32(m_flags + 1), cnt).astype(np.uint8)
    return np.stack([(bins == v).sum(axis=0) for v in range(m_flags + 2)])  # over counts 0..m+1


def _margin_sums(comp: Compiled, env: dict, k: int, step: m.Flag):
    """Sums over the block of d and d^2 (d: signed distance to the threshold), and counts.

    When only the threshold varies (the value is one row of areas, the threshold one value
    per draw) the sums follow from the threshold's sums, without a k x areas array."""
    a = env[step.indata] if step.indata in env else comp.fixed(step.indata)
    g = step.grans
    sign = 1.0 if step.operator in (">=", ">") else -1.0
    if a.ndim == 1 and isinstance(g, (m.ParamRef, float, int)):
        if isinstance(g, m.ParamRef) and g.parameter in comp.param_index:
            b = env["__param__" + g.parameter].ravel()
        else:
            b = np.full(k, comp.base_params[g.parameter] if isinstance(g, m.ParamRef) else float(g))
        ok = ~np.isnan(a)
        a0 = np.where(ok, a, 0.0)
        s1 = sign * (k * a0 - b.sum()) * ok
        s2 = (k * a0 * a0 - 2 * a0 * b.sum() + (b * b).sum()) * ok
        return s1, s2, ok * k
    d = flag_margin(comp, env, k, step)
    ok = ~np.isnan(d)
    d0 = np.where(ok, d, 0.0)
    return d0.sum(axis=0), (d0 * d0).sum(axis=0), ok.sum(axis=0)


def _count_column(setup: Setup) -> str | None:
    step = next(s for s in setup.result.method.method.steg if s.namn == CLASS_STEP)
    assert isinstance(step, m.Classify)  # Compiled refuses a method whose klass step is not one
    return step.indata


def _per_draw(draws: dr.Draws, cols: dict) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "dragning": np.arange(1, draws.n + 1),
            "antal_omraden": cols["antal_omraden"].astype(np.int64),
            "antal_hogsta_klass": cols["antal_hogsta_klass"].astype(np.int64),
            "antal_kommuner": cols["antal_kommuner"].astype(np.int64),
            "invanare": np.rint(cols["invanare"]).astype(np.int64),
            "barn": np.rint(cols["barn"]).astype(np.int64),
        }
    )
    extra = []
    for j, d in enumerate(draws.dims):
        v = draws.values[:, j]
        if isinstance(d.spec, m.StepAlternative):  # kind "alternativ"
            names = np.asarray(d.spec.val, dtype=object)
            extra.append(pl.Series(f"alternativ_{d.name.replace('.', '_')}", names[v.astype(int)].tolist(), dtype=pl.String))
        else:
            extra.append(pl.Series(d.name, v))
    return frame.with_columns(extra) if extra else frame


def base_margins(setup: Setup) -> dict[str, np.ndarray]:
    """Each factor's signed distance to its threshold at the method's own values (areas)."""
    one = dr.base(setup.dims, 1)
    env = evaluate_block(setup, one)
    return {f.id: flag_margin(setup.compiled, env, 1, f.step)[0] for f in setup.factors}


def _per_area(setup: Setup, t: _Totals, count_col: str | None) -> pl.DataFrame:
    n = t.n
    p_listed = t.listed / n
    cols: dict = {
        "regso_kod": setup.areas["regso_kod"],
        "regso_namn": setup.areas["regso_namn"],
        "kommun_kod": setup.areas["kommun_kod"],
        "kommun_namn": setup.areas["kommun_namn"],
        "befolkning": setup.areas["befolkning"],
        "klass": setup.areas[CLASS_STEP],
        "listad": setup.areas[CLASS_STEP].is_not_null().cast(pl.Int8),
        "sannolikhet_listad": p_listed,
        "sannolikhet_hogsta_klass": t.top / n,
    }
    if count_col is not None:
        cum = np.cumsum(t.hist[:-1], axis=0)
        valid = cum[-1]
        p05 = np.argmax(cum >= 0.05 * valid, axis=0).astype(float)
        p95 = np.argmax(cum >= 0.95 * valid, axis=0).astype(float)
        cols["flaggor_p05"] = pl.Series(np.where(valid > 0, p05, np.nan)).fill_nan(None).cast(pl.Int64)
        cols["flaggor_p95"] = pl.Series(np.where(valid > 0, p95, np.nan)).fill_nan(None).cast(pl.Int64)
    cols["etikett"] = label(p_listed, cutoffs())
    base = base_margins(setup)
    margins = {}
    for f in setup.factors:  # over the factors
        cols[f"sannolikhet_flagga_{f.id}"] = t.flagged.get(f.id, np.zeros(setup.compiled.n_areas)) / n
        cnt = np.maximum(t.d_n[f.id], 1)
        mean = t.d_sum[f.id] / cnt
        var = np.maximum(t.d_sq[f.id] / cnt - mean * mean, 0.0) * cnt / np.maximum(cnt - 1, 1)
        sd = np.sqrt(var)
        scale = 1e-9 * (np.abs(mean) + 1.0)
        z = np.where(sd > scale, base[f.id] / np.where(sd > scale, sd, 1.0), np.nan)
        margins[f.id] = z
        cols[f"marginal_{f.id}"] = pl.Series(z).fill_nan(None)
    frame = pl.DataFrame(cols)
    if margins:
        ids = [f.id for f in setup.factors]
        mat = np.abs(np.column_stack([margins[i] for i in ids]))
        has = ~np.isnan(mat).all(axis=1)
        best = np.argmin(np.where(np.isnan(mat), np.inf, mat), axis=1)
        nearest = cast(np.ndarray, np.where(has, np.asarray(ids, dtype=object)[best], None))  # numpy's stub takes y=None for where(condition)
        frame = frame.with_columns(pl.Series("narmaste_troskel", nearest.tolist(), dtype=pl.String))
    return frame


# ---- the plain way, for checks and the benchmark's baseline ------------------------------
def variant(setup: Setup, row: np.ndarray) -> loader.LoadedMethod:
    """The method with one draw's rule choices written into its steps (a new LoadedMethod)."""
    loaded = setup.result.method
    alts = [(j, d.spec) for j, d in enumerate(setup.dims) if isinstance(d.spec, m.StepAlternative)]
    if not alts:
        return loaded
    raw = loaded.method.model_dump(exclude_none=True)
    for j, alt in alts:  # over the declared choices (a handful)
        step = next(s for s in raw["steg"] if s["namn"] == alt.steg)
        step[alt.falt] = alt.val[int(row[j])]
    return loader.load_dict(raw, loaded.source)


def engine_per_draw(setup: Setup, draws: dr.Draws, noise: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Listed status (draws x areas) by running the real engine once per draw: a Python loop
    over draws, for verifying the vectorised evaluation and as the benchmark's baseline."""
    from utanforskap.methods import engine

    comp = setup.compiled
    inputs = setup.result._memo.get("inputs")
    if inputs is None:
        inputs = method_inputs(setup.result.method, setup.result.source.store, setup.result.year)
    key = setup.result.method.method.nyckel
    inputs = pl.DataFrame({key: comp.keys}).join(inputs, on=key, how="left", maintain_order="left")
    out = np.zeros((draws.n, comp.n_areas), dtype=bool)
    for i in range(draws.n):  # deliberately one engine run per draw
        params = {d.name: float(draws.values[i, j]) for j, d in enumerate(draws.dims) if d.kind == "parameter"}
        data = inputs
        if noise:
            data = inputs.with_columns([pl.Series(name, arr[i]) for name, arr in noise.items()])
        res = engine.run(variant(setup, draws.values[i]), data, parameters={**comp.base_params, **params})
        out[i] = res[CLASS_STEP].is_not_null().to_numpy()
    return out
