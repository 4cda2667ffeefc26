"""Choose a method's thresholds so that its list comes close to published totals.

The procedure (data/kalibrering.toml says what, this module how): run the method once,
keep every factor's value relative to its threshold's left-hand side, then evaluate every
combination of the grid's candidate values at once with numpy — flags, flag counts,
classes and the totals — and pick the combination with the least loss. Deterministic:
ties go to the first combination in grid order. `fit` reports how close any map comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from pydantic import Field

from utanforskap.datasets import DataSource, open_source
from utanforskap.errors import InputError, MethodError
from utanforskap.methods import model as m
from utanforskap.methods.loader import LoadedMethod
from utanforskap.methods.loader import load as load_method
from utanforskap.results.inputs import method_inputs
from utanforskap.results.karta import MapResult, areas_with_population, classify, full_frame, memo, scalar_parameters, top_class
from utanforskap.tomlmodel import Strict, load_toml_model, read_toml_text

if TYPE_CHECKING:  # numpy is imported by the search only: a map's published fit needs none
    import numpy as np

MEASURES = ("omraden", "kommuner", "befolkning", "barn", "sarskilt")


class Target(Strict):
    beskrivning: str
    matt: str
    varde: float
    lan: list[str] | None = None
    skala: float | None = Field(default=None, description="Normaliser of the error; default the target itself")
    vikt: float = 1.0


class Spec(Strict):
    metod: str
    ar: int
    kalla: str
    rutnat: dict[str, list[float]]
    # Empty: the published totals of the bundled kalibrering.toml (the same 2024 map for every method).
    mal: dict[str, Target] = Field(default_factory=dict)


# The bundled calibration files, one per method that has one (data/kalibrering*.toml).
BUNDLED_SPECS = ("kalibrering.toml", "kalibrering_registerdata.toml")


def load_spec(path: str | Path | None = None) -> Spec:
    if path is None:
        return _bundled_spec(BUNDLED_SPECS[0])
    return _checked(load_toml_model(read_toml_text(path), str(path), Spec), str(path))


def spec_for_method(method_id: str) -> Spec:
    """The bundled calibration file for `method_id`; a clear error naming those that exist."""
    specs = [_bundled_spec(name) for name in BUNDLED_SPECS]
    for spec in specs:
        if spec.metod == method_id:
            return spec
    have = ", ".join(s.metod for s in specs)
    raise InputError(f"kalibrera --metod {method_id}: ingen kalibreringsfil följer med för metoden; det gör det för {have}. Ange en egen med --spec FIL.")


def _bundled_spec(name: str) -> Spec:
    text = resources.files("utanforskap.data").joinpath(name).read_text("utf-8")
    return _checked(load_toml_model(text, f"utanforskap/data/{name}", Spec), f"utanforskap/data/{name}")


def _checked(spec: Spec, where: str) -> Spec:
    if not spec.mal:
        if where.endswith(BUNDLED_SPECS[0]):
            raise InputError(f"{where}: mal saknas")
        spec = spec.model_copy(update={"mal": load_spec().mal})
    for tid, t in spec.mal.items():
        if t.matt not in MEASURES:
            raise InputError(f"{where}: mal.{tid}.matt: okänt mått {t.matt!r}; tillåtna: {', '.join(MEASURES)}")
    return spec


@dataclass(frozen=True)
class Calibration:
    parametrar: dict[str, float]
    forlust: float  # of the map recomputed by the engine with the chosen values
    forlust_rutnat: float  # as the vectorised search computed it; equal to forlust
    kombinationer: int
    passning: pl.DataFrame  # target, published, ours, difference


# ---- the fit of one map -----------------------------------------------------------------------
def fit(result: MapResult, targets: dict[str, Target]) -> pl.DataFrame:
    """How close a map's totals come to the published ones, target by target."""
    om = result.areas
    top = top_class(result)
    rows = []
    for tid, t in targets.items():
        part = om if t.lan is None else om.filter(pl.col("lan_kod").is_in(t.lan))
        listed = part.filter(pl.col("klass").is_not_null())
        ours = {
            "omraden": listed.height,
            "kommuner": listed["kommun_kod"].n_unique(),
            "befolkning": listed["befolkning"].sum(),
            "barn": listed["barn"].sum(),
            "sarskilt": listed.filter(pl.col("klass") == top).height if top else 0,
        }[t.matt]
        rows.append({"mal": tid, "beskrivning": t.beskrivning, "publicerat": t.varde, "vart": float(ours)})
    df = pl.DataFrame(rows, schema={"mal": pl.String, "beskrivning": pl.String, "publicerat": pl.Float64, "vart": pl.Float64})
    return df.with_columns(
        (pl.col("vart") - pl.col("publicerat")).alias("avvikelse"),
        pl.when(pl.col("publicerat") != 0).then(pl.col("vart") / pl.col("publicerat") - 1).alias("relativ_avvikelse"),
    )


def published_fit(result: MapResult) -> pl.DataFrame | None:
    """`fit` against the bundled targets (data/kalibrering.toml), once per map; None for
    synthetic data, whose areas are not the real ones the targets count."""
    if result.source.synthetic:
        return None
    table: pl.DataFrame = memo(result, "published_fit", lambda: fit(result, load_spec().mal))
    return table


def loss(fit_table: pl.DataFrame, targets: dict[str, Target]) -> float:
    total = 0.0
    for row in fit_table.iter_rows(named=True):
        t = targets[row["mal"]]
        scale = t.skala or t.varde
        total += t.vikt * ((row["vart"] - t.varde) / scale) ** 2
    return total


# ---- the search -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _AreaArrays:
    """What the targets count, one array entry per area (sorted by regso_kod)."""

    pop: np.ndarray
    kids: np.ndarray
    lan: np.ndarray
    kommun_order: np.ndarray  # areas sorted by kommun
    kommun_starts: np.ndarray  # where each kommun starts in that order

    @classmethod
    def of(cls, om: pl.DataFrame) -> _AreaArrays:
        import numpy as np

        kommun = om["kommun_kod"].to_numpy()
        order = np.argsort(kommun, kind="stable")
        starts = np.flatnonzero(np.r_[True, kommun[order][1:] != kommun[order][:-1]])
        pop = om["befolkning"].fill_null(0).to_numpy().astype(float)
        kids = om["barn"].fill_null(0).to_numpy().astype(float)
        return cls(pop, kids, om["lan_kod"].to_numpy(), order, starts)

    def mask(self, t: Target) -> np.ndarray:
        import numpy as np

        return np.ones(self.pop.shape[0], bool) if t.lan is None else np.isin(self.lan, t.lan)


def calibrate(spec: Spec | None = None, data: str | DataSource = "paket") -> Calibration:
    """Exhaustive grid search over `data` (a name open_source knows, or an opened source);
    see the module docstring."""
    import numpy as np

    spec = spec or load_spec()
    source = data if isinstance(data, DataSource) else open_source(data)
    loaded = load_method(spec.metod)
    shape = _shape(loaded, spec)
    # Read the inputs once; every map below is classified from them.
    inputs = method_inputs(loaded, source.store, spec.ar)
    areas = areas_with_population(source.store, spec.ar)
    base = classify(loaded, inputs, areas, source, spec.ar)
    counts, n_factor_grid = _flag_counts(shape, spec, base)
    grid_loss, combo, lv, tv = _best_combination(counts, shape, spec, base, _AreaArrays.of(base.areas.sort("regso_kod")))
    chosen = scalar_parameters(base)  # the grid's parameters are numbers: the loader refuses a list where a step wants one
    factor_combo = np.unravel_index(combo, n_factor_grid) if n_factor_grid else ()
    for (_, _, param), idx in zip(shape.factors, factor_combo, strict=True):
        if param in spec.rutnat:
            chosen[param] = spec.rutnat[param][idx]
    chosen[shape.listed_param] = lv
    if shape.top_param:
        chosen[shape.top_param] = tv
    params = {p: chosen[p] for p in spec.rutnat}
    table = fit(classify(loaded, inputs, areas, source, spec.ar, params), spec.mal)
    n_combos = int(np.prod([len(v) for v in spec.rutnat.values()]))
    return Calibration(
        parametrar=params, forlust=loss(table, spec.mal), forlust_rutnat=grid_loss, kombinationer=n_combos, passning=table
    )


def _flag_counts(shape: _Shape, spec: Spec, base: MapResult) -> tuple[np.ndarray, list[int]]:
    """Flag counts for every combination of the factors' candidate thresholds: a
    (combinations x areas) matrix, and the number of candidates per factor."""
    import numpy as np

    full = full_frame(base).sort("regso_kod")  # the engine's every column, from the same inputs
    n_areas = full.height
    # Per factor, a (candidates x areas) matrix of flags; fixed factors have one row.
    flag_options: list[np.ndarray] = []
    for lhs, op, param in shape.factors:
        values = full[lhs].to_numpy().astype(float)  # NaN where missing: never flagged (saknade = hoppa)
        cands = spec.rutnat.get(param, [base.parameters[param]])
        with np.errstate(invalid="ignore"):
            flag_options.append(np.stack([getattr(np, _OPS[op])(values, c) for c in cands]).astype(np.int8))
    n_factor_grid = [len(f) for f in flag_options]
    counts = np.zeros([*n_factor_grid, n_areas], dtype=np.int8)
    for i, f in enumerate(flag_options):
        shape_i = [1] * len(flag_options) + [n_areas]
        shape_i[i] = f.shape[0]
        counts = counts + f.reshape(shape_i)
    return counts.reshape(-1, n_areas), n_factor_grid


def _listed_totals(listed: np.ndarray, spec: Spec, a: _AreaArrays) -> dict[str, np.ndarray]:
    """Each target's total (but `sarskilt`, which needs the top class) for every combination."""
    import numpy as np

    out: dict[str, np.ndarray] = {}
    for tid, t in spec.mal.items():
        mask = a.mask(t)
        sel = listed[:, mask]
        if t.matt == "omraden":
            out[tid] = sel.sum(axis=1).astype(float)
        elif t.matt == "befolkning":
            out[tid] = sel @ a.pop[mask]
        elif t.matt == "barn":
            out[tid] = sel @ a.kids[mask]
        elif t.matt == "kommuner":
            by_kommun = np.logical_or.reduceat((listed & mask)[:, a.kommun_order], a.kommun_starts, axis=1)
            out[tid] = by_kommun.sum(axis=1).astype(float)
    return out


def _best_combination(counts: np.ndarray, shape: _Shape, spec: Spec, base: MapResult, a: _AreaArrays) -> tuple[float, int, float, float]:
    """(loss, factor combination, listing threshold, top-class threshold) of least loss;
    ties go to the first in grid order."""
    import numpy as np

    scalars = scalar_parameters(base)  # class limits are numbers (the loader refuses a list)
    listed_values = spec.rutnat.get(shape.listed_param, [scalars[shape.listed_param]])
    top_values = spec.rutnat.get(shape.top_param, [scalars[shape.top_param]]) if shape.top_param else [np.inf]
    best: tuple[float, int, float, float] | None = None
    for lv in listed_values:
        per_target = _listed_totals(counts >= lv, spec, a)
        for tv in top_values:
            total = np.zeros(counts.shape[0])
            for tid, t in spec.mal.items():
                if t.matt == "sarskilt":
                    ours = ((counts >= max(tv, lv)) & a.mask(t)).sum(axis=1).astype(float)
                else:
                    ours = per_target[tid]
                total += t.vikt * ((ours - t.varde) / (t.skala or t.varde)) ** 2
            i = int(np.argmin(total))
            if best is None or total[i] < best[0]:
                best = (float(total[i]), i, lv, tv)
    if best is None:  # pragma: no cover - the grid always has at least one value per parameter
        raise InputError("kalibrering: rutnätet är tomt")
    return best


_OPS = {">=": "greater_equal", ">": "greater", "<=": "less_equal", "<": "less"}  # numpy's functions


@dataclass(frozen=True)
class _Shape:
    factors: list[tuple[str, str, str]]  # (flag step's input column, operator, threshold parameter)
    listed_param: str
    top_param: str | None


def _shape(loaded: LoadedMethod, spec: Spec) -> _Shape:
    """Check the method has the form the search evaluates, and find its parameters.

    The form: each factor's flag is `indata op { parameter }`, the flag count adds the
    factors' flags skipping missing ones, and the class step lists at `minst` thresholds.
    """
    method = loaded.method
    steps = {s.namn: s for s in method.steg}
    factors: list[tuple[str, str, str]] = []
    for fid, f in method.faktorer.items():
        if f.flagga is None:
            continue
        step = steps.get(f.flagga)
        if not isinstance(step, m.Flag) or not isinstance(step.grans, m.ParamRef) or step.grind:
            raise MethodError(f"{loaded.source}: kalibrering kräver att faktorn {fid} flaggas som indata operator {{ parameter }}")
        factors.append((step.indata, step.operator, step.grans.parameter))
    klass = steps.get("klass")
    count = steps.get(klass.indata) if isinstance(klass, m.Classify) and klass.indata else None
    flags = [steps[f.flagga].namn for f in method.faktorer.values() if f.flagga]
    if not isinstance(count, m.FlagCount) or count.saknade != "hoppa" or sorted(count.indata) != sorted(flags):
        raise MethodError(f"{loaded.source}: kalibrering kräver ett steg klass på antal_flaggor över faktorernas flaggor (saknade = hoppa)")
    assert isinstance(klass, m.Classify)  # count is only found through a Classify step
    rules = [r.minst for r in klass.regler]
    refs = [r for r in rules if isinstance(r, m.ParamRef)]
    if len(refs) != len(rules) or len(rules) not in (1, 2):
        raise MethodError(f"{loaded.source}: kalibrering kräver klassgränser som parametrar")
    listed_param = refs[-1].parameter
    top_param = refs[0].parameter if len(refs) == 2 else None
    known = {p for _, _, p in factors} | {listed_param} | ({top_param} if top_param else set())
    unknown = [p for p in spec.rutnat if p not in known]
    if unknown:
        raise InputError(f"kalibrering: rutnat.{unknown[0]}: parametern styr ingen faktor eller klass i {spec.metod}")
    return _Shape(factors, listed_param, top_param)


def parameter_snippet(cal: Calibration) -> str:
    """The chosen values as TOML lines to paste into the method's [parametrar]."""
    lines = [f"# utanforskap kalibrera: {cal.kombinationer} kombinationer, förlust {cal.forlust:.4f}"]
    for name, value in cal.parametrar.items():
        lines.append(f"[parametrar.{name}]\nvarde = {value:g}")
    return "\n".join(lines) + "\n"

