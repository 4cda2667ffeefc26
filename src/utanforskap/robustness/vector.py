"""A method compiled for many draws at once: arrays of draws x areas.

The engine computes every step once at the method's own values. Only the steps that a
draw can change are evaluated again here, in numpy, for a whole block of draws: a step
varies when it names an uncertain parameter, has alternative columns, or reads a column
that varies (a noised input, or a varying step). Everything else keeps the engine's own
numbers, so with nothing uncertain the result is the engine's, bit for bit.

Missing is NaN: a flag is 1.0, 0.0 or NaN (three-valued as in the engine); a class is a
code, 0 for none and i + 1 for the i-th rule of the `klass` step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from utanforskap.errors import MethodError
from utanforskap.methods import engine
from utanforskap.methods import model as m
from utanforskap.methods.loader import TEXT, LoadedMethod, step_columns, step_parameters
from utanforskap.robustness.draws import Dimension, Draws

CLASS_STEP = "klass"


@dataclass(frozen=True)
class FactorFlag:
    """A factor's flag step: value `indata` compared with `grans` by `operator`."""

    id: str
    flag: str
    step: m.Flag


class Compiled:
    """The method's varying steps over draws; `evaluate` runs a block of draws."""

    def __init__(
        self,
        loaded: LoadedMethod,
        inputs: pl.DataFrame,
        spec: m.Uncertainty,
        dims: list[Dimension],
        factors,
        parameters: dict[str, float] | None = None,
    ):
        self.loaded = loaded
        self.spec = spec
        self.dims = dims
        method = loaded.method
        steps = {s.namn: s for s in method.steg}
        klass = steps.get(CLASS_STEP)
        if not isinstance(klass, m.Classify):
            raise MethodError(f"{loaded.source}: robusthet kräver ett steg {CLASS_STEP!r} av typen klass (listningen)")
        self.classes = [r.klass for r in klass.regler]
        resolved = engine.resolve_parameters(loaded, parameters)  # the values the map used
        self.base_params: dict[str, float] = {k: float(v) for k, v in resolved.items() if not isinstance(v, list)}
        self.full = engine.run(loaded, inputs, parameters=parameters, keep_all=True, source=loaded.source)
        self.keys = self.full[method.nyckel].to_list()
        self.n_areas = self.full.height
        self.param_index = {d.name: j for j, d in enumerate(dims) if d.kind == "parameter"}
        self.alternatives = {
            d.spec.steg: (d.spec.falt, j, list(d.spec.val)) for j, d in enumerate(dims) if isinstance(d.spec, m.StepAlternative)
        }
        self.noised = dict(spec.indata)
        self.factor_flags = [
            FactorFlag(f.id, f.flagga, step)
            for f in factors
            if f.flagga and isinstance(step := steps.get(f.flagga), m.Flag)
        ]
        self.order, self.varying = self._varying(method, {CLASS_STEP} | {f.flag for f in self.factor_flags})
        self._fixed: dict[str, np.ndarray] = {}

    # ---- which steps vary, in an order that respects alternative columns too -------------
    def _varying(self, method: m.Method, targets: set[str]) -> tuple[list[m.Step], set[str]]:
        steps = method.steg
        producer = {s.namn: i for i, s in enumerate(steps)}

        def reads(s: m.Step) -> set[str]:
            cols = {c for _, c in step_columns(s)}
            if s.namn in self.alternatives:
                cols |= set(self.alternatives[s.namn][2])
            return cols

        deps = [{producer[c] for c in reads(s) if c in producer} for s in steps]
        order: list[int] = []
        done: set[int] = set()
        remaining = list(range(len(steps)))
        while remaining:  # over steps (a handful), never over areas or draws
            ready = [i for i in remaining if deps[i] <= done]
            order.extend(ready)
            done |= set(ready)
            remaining = [i for i in remaining if i not in done]
        varying: set[str] = set(self.noised)
        for i in order:
            s = steps[i]
            if (
                any(p in self.param_index for _, p in step_parameters(s))
                or s.namn in self.alternatives
                or reads(s) & varying
            ):
                varying.add(s.namn)
        # Only what the list and the factors' flags need (not e.g. a count of missing flags).
        needed: set[str] = set()
        stack = list(targets)
        while stack:
            name = stack.pop()
            if name in needed or name not in producer:
                continue
            needed.add(name)
            stack.extend(reads(steps[producer[name]]))
        run = [steps[i] for i in order if steps[i].namn in varying and steps[i].namn in needed]
        unsupported = [s for s in run if type(s) not in _OPS]
        if unsupported:
            s = unsupported[0]
            raise MethodError(
                f"{self.loaded.source}: steget {s.namn!r} (typ {s.typ}) beror på något osäkert, och robusthet kan "
                "ännu inte variera den stegtypen över dragningar; håll dess indata och parametrar fasta"
            )
        return run, varying

    # ---- values ---------------------------------------------------------------------------
    def fixed(self, name: str) -> np.ndarray:
        """A column the draws do not change, as float64 (NaN missing; a class as its code)."""
        if name not in self._fixed:
            s = self.full[name]
            if self.loaded.kinds.get(name) == TEXT and name == CLASS_STEP:
                codes = np.zeros(s.len())
                for i, k in enumerate(self.classes):  # over the classes (two or three)
                    codes[(s == k).fill_null(False).to_numpy()] = i + 1
                self._fixed[name] = codes
            elif self.loaded.kinds.get(name) == TEXT:
                raise MethodError(f"{self.loaded.source}: robusthet kan inte räkna med textkolumnen {name!r}")
            else:
                self._fixed[name] = s.cast(pl.Float64).to_numpy().astype(np.float64, copy=True)
        return self._fixed[name]

    def noise(self, k: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """k draws of every noised input (k x areas); the observed count is the centre."""
        out: dict[str, np.ndarray] = {}
        order = sorted(self.noised.items(), key=lambda kv: kv[1].brus == "binomial")  # denominators first
        for name, nm in order:  # over the noised inputs
            den = den_draw = None
            if nm.brus == "binomial":
                assert nm.namnare is not None  # the model requires namnare for binomial
                den, den_draw = self.fixed(nm.namnare), out.get(nm.namnare)
            out[name] = noisy_counts(nm, self.fixed(name), k, rng, den, den_draw)
        return out

    def evaluate(self, draws: Draws, noise: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """Every varying column for a block of draws (k x areas, or k x 1 for a reference)."""
        env: dict[str, np.ndarray] = dict(noise or {})
        params = {name: draws.values[:, j : j + 1] for name, j in self.param_index.items()}
        ctx = _Ctx(self, env, params, self.base_params, draws)
        with np.errstate(divide="ignore", invalid="ignore"):
            for step in self.order:
                value = _OPS[type(step)](step, ctx)
                if step.grind:
                    value = np.where(ctx.gate(step.grind), value, np.nan if step.namn != CLASS_STEP else 0.0)
                env[step.namn] = value
        return env

    def column(self, env: dict[str, np.ndarray], name: str, k: int) -> np.ndarray:
        """A column for k draws (k x areas), varying or fixed."""
        v = env[name] if name in env else self.fixed(name)
        return np.broadcast_to(v, (k, self.n_areas))


def noisy_counts(
    nm: m.InputNoise,
    x: np.ndarray,
    k: int,
    rng: np.random.Generator,
    den: np.ndarray | None = None,
    den_draw: np.ndarray | None = None,
) -> np.ndarray:
    """k noisy versions (k x areas) of observed counts `x` under a declared noise model.

    poisson: Poisson(x); binomial: Binomial(n, x / den) with n the denominator (its own
    noisy draw when it is noised too); cellnyckel: x + a declared integer, never below 0.
    Missing stays missing."""
    shape = (k, x.size)
    miss = np.isnan(x)
    x0 = np.where(miss, 0.0, np.maximum(x, 0.0))
    if nm.brus == "poisson":
        y = rng.poisson(np.broadcast_to(x0, shape)).astype(np.float64)
    elif nm.brus == "binomial":
        assert den is not None  # Compiled.noise passes the denominator for binomial noise
        n = den if den_draw is None else den_draw
        n0 = np.where(np.isnan(n), 0.0, np.maximum(np.rint(n), 0.0))
        ok = (den > 0) & ~np.isnan(den)
        share = np.clip(np.divide(x0, den, out=np.zeros_like(x0), where=ok), 0.0, 1.0)
        y = rng.binomial(np.broadcast_to(n0, shape).astype(np.int64), share).astype(np.float64)
    else:
        values = np.asarray(nm.varden, dtype=np.float64)
        probs = np.asarray(nm.sannolikheter, dtype=float) if nm.sannolikheter else None
        y = np.maximum(x0 + rng.choice(values, size=shape, p=probs), 0.0)
    y[:, miss] = np.nan
    return y


class _Ctx:
    def __init__(self, comp: Compiled, env, params, base_params, draws: Draws):
        self.comp, self.env, self.params, self.base_params, self.draws = comp, env, params, base_params, draws

    def gate(self, grind: str) -> np.ndarray:
        """Where the step's gate column `grind` is true."""
        return self.get(grind) == 1.0

    def get(self, name: str) -> np.ndarray:
        return self.env[name] if name in self.env else self.comp.fixed(name)

    def col(self, step: m.Step, field: str, name: str | None = None) -> np.ndarray:
        """The column a step's field names (the draw's choice when it has alternatives),
        missing where the step's gate is not true."""
        name = name if name is not None else getattr(step, field)
        alt = self.comp.alternatives.get(step.namn)
        if alt is not None and alt[0] == field:
            choice = self.draws.values[:, alt[1] : alt[1] + 1]
            x = self.get(alt[2][0])
            for i, other in enumerate(alt[2][1:], start=1):  # over the alternatives (two or three)
                x = np.where(choice == i, self.get(other), x)
        else:
            x = self.get(name)
        if step.grind:
            x = np.where(self.gate(step.grind), x, np.nan)
        return x

    def number(self, value) -> np.ndarray | float:
        if isinstance(value, m.ParamRef):
            if value.parameter in self.params:
                return self.params[value.parameter]
            return self.base_params[value.parameter]
        return float(value)

    def operand(self, step: m.Step, field: str):
        value = getattr(step, field)
        if isinstance(value, str):
            return self.col(step, field)
        return self.number(value)


# ---- the step types, in numpy ------------------------------------------------------------
def _nan(a) -> np.ndarray:
    return np.isnan(a)


def _ratio(s: m.Ratio, c: _Ctx):
    num, den = c.col(s, "taljare"), c.col(s, "namnare")
    return np.where((den != 0) & ~_nan(den), num / den * s.skala, np.nan)


def _relative(s: m.Relative, c: _Ctx):
    x, ref = c.col(s, "indata"), c.operand(s, "referens")
    if s.satt == "differens":
        return x - ref
    return np.where(ref != 0, x / ref, np.nan)


def _reference(s: m.Reference, c: _Ctx):
    if s.grupp:
        raise MethodError(f"steget {s.namn!r}: robusthet kan inte variera grupperade referensvärden")
    if s.metod == "konstant":
        return np.asarray(c.number(s.varde), dtype=float).reshape(-1, 1)
    if s.metod == "kvot_av_summor":
        num, den = np.broadcast_arrays(np.atleast_2d(c.col(s, "taljare")), np.atleast_2d(c.col(s, "namnare")))
        both = ~_nan(num) & ~_nan(den)
        ds = np.where(both, den, 0.0).sum(axis=-1, keepdims=True)
        ns = np.where(both, num, 0.0).sum(axis=-1, keepdims=True)
        return np.where(ds != 0, ns / ds * s.skala, np.nan)
    x = np.atleast_2d(c.col(s, "indata"))
    return (np.nanmean if s.metod == "medel" else np.nanmedian)(x, axis=-1, keepdims=True)


def _stack(cols):
    return np.stack(np.broadcast_arrays(*[np.atleast_1d(x) for x in cols]))


def _sum(s: m.Sum, c: _Ctx):
    x = _stack([c.col(s, "indata", n) for n in s.indata])
    miss = _nan(x)
    value = np.where(miss, 0.0, x).sum(axis=0)
    if s.typ == "medel":
        value = value / np.maximum((~miss).sum(axis=0), 1)
    gone = miss.any(axis=0) if s.saknade == "sprid" else miss.all(axis=0)
    return np.where(gone, np.nan, value)


def _weighted(s: m.WeightedSum, c: _Ctx):
    x = _stack([c.col(s, "indata", n) for n in s.indata])
    w = [c.number(v) for v in s.vikter]
    miss = _nan(x)
    value: np.ndarray | float = sum(np.where(miss[i], 0.0, x[i] * w[i]) for i in range(len(w)))  # over the terms
    if s.normera:
        value = value / sum(np.where(miss[i], 0.0, w[i]) for i in range(len(w)))
    gone = miss.any(axis=0) if s.saknade == "sprid" else miss.all(axis=0)
    return np.where(gone, np.nan, value)


FLAG = np.float32  # flags and counts: 0/1/NaN and small integers are exact in float32
_CMP = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


def _flag(s: m.Flag, c: _Ctx):
    a, b = c.col(s, "indata"), c.operand(s, "grans")
    res = _CMP[s.operator](a, b).astype(FLAG)
    miss = _nan(a) | _nan(b)  # at the inputs' own shapes: usually one row of areas
    if miss.any():
        np.copyto(res, np.nan, where=np.broadcast_to(miss, res.shape))
    return res


def _flags(s: m.FlagCount | m.MissingCount | m.KOfM | m.Logic, c: _Ctx) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each input flag with its missing mask, without stacking k x areas copies."""
    for n in s.indata:  # over the flags (a handful)
        x = c.col(s, "indata", n)
        yield x, _nan(x)


def _combine_missing(masks: list[np.ndarray], rule: str) -> np.ndarray:
    out = masks[0]
    for mk in masks[1:]:
        out = (out | mk) if rule == "sprid" else (out & mk)
    return out


def _flag_count(s: m.FlagCount, c: _Ctx):
    count: np.ndarray | None = None
    masks: list[np.ndarray] = []
    for x, miss in _flags(s, c):
        eq = (x == 1.0)
        count = eq.astype(FLAG) if count is None else count + eq
        masks.append(miss)
    gone = _combine_missing(masks, s.saknade)
    assert count is not None  # a flag per mask, and _combine_missing needs one
    if gone.any():
        count = np.where(gone, np.nan, count).astype(FLAG)
    return count


def _missing_count(s: m.MissingCount, c: _Ctx):
    total = None
    for _, miss in _flags(s, c):
        total = miss.astype(FLAG) if total is None else total + miss
    return total


def _k_of_m(s: m.KOfM, c: _Ctx):
    k = c.number(s.k)
    true: np.ndarray | None = None
    unknown: np.ndarray | None = None
    for x, miss in _flags(s, c):
        true = (x == 1.0).astype(FLAG) if true is None else true + (x == 1.0)
        unknown = miss.astype(FLAG) if unknown is None else unknown + miss
    assert true is not None and unknown is not None  # at least one input: the engine, run first, fails on none
    if s.saknade == "hoppa":
        return (true >= k).astype(FLAG)
    if s.saknade == "sprid":
        return np.where(unknown == 0, (true >= k).astype(FLAG), np.nan).astype(FLAG)
    return np.where(true >= k, 1.0, np.where(true + unknown < k, 0.0, np.nan)).astype(FLAG)


def _logic(s: m.Logic, c: _Ctx):
    pairs = list(_flags(s, c))
    if s.typ == "inte":
        x, miss = pairs[0]
        return np.where(miss, np.nan, 1.0 - x).astype(FLAG)
    decided = 0.0 if s.typ == "och" else 1.0
    hit: np.ndarray | None = None
    unknown: np.ndarray | None = None
    for x, miss in pairs:
        h = x == decided
        hit = h if hit is None else (hit | h)
        unknown = miss if unknown is None else (unknown | miss)
    assert hit is not None and unknown is not None  # at least one input: the engine, run first, fails on none
    return np.where(hit, decided, np.where(unknown, np.nan, 1.0 - decided)).astype(FLAG)


def _classify(s: m.Classify, c: _Ctx):
    conds = []
    for rule in s.regler:  # over the rules (two or three)
        if rule.villkor:
            conds.append(c.get(rule.villkor) == 1.0)
        else:
            conds.append(c.col(s, "indata") >= c.number(rule.minst))
    shape = np.broadcast_shapes(*[np.shape(x) for x in conds])
    code = np.zeros(shape, dtype=FLAG)
    for i in range(len(conds) - 1, -1, -1):  # first matching rule wins
        np.copyto(code, FLAG(i + 1), where=np.broadcast_to(conds[i], shape))
    return code


def _round(s: m.Round, c: _Ctx):
    x = c.col(s, "indata")
    if s.satt == "halv_jamn":
        return np.round(x, s.decimaler)
    f = 10.0 ** s.decimaler
    return np.sign(x) * np.floor(np.abs(x) * f + 0.5) / f


def _log(s: m.Log, c: _Ctx):
    x = c.col(s, "indata") + c.number(s.forskjutning)
    fn = {"e": np.log, "10": np.log10, "2": np.log2}[s.bas]
    return np.where(x > 0, fn(np.where(x > 0, x, 1.0)), np.nan)


def _reverse(s: m.Reverse, c: _Ctx):
    return 1.0 - c.col(s, "indata")


def _z(s: m.ZScore, c: _Ctx):
    x = np.atleast_2d(c.col(s, "indata"))
    sd = np.nanstd(x, axis=-1, ddof=s.ddof, keepdims=True)
    return np.where(sd != 0, (x - np.nanmean(x, axis=-1, keepdims=True)) / sd, np.nan)


def _minmax(s: m.MinMax, c: _Ctx):
    x = np.atleast_2d(c.col(s, "indata"))
    lo, hi = np.nanmin(x, axis=-1, keepdims=True), np.nanmax(x, axis=-1, keepdims=True)
    return np.where(hi - lo != 0, (x - lo) / (hi - lo), np.nan)


_OPS: dict[type, Callable[[Any, _Ctx], Any]] = {
    m.Ratio: _ratio,
    m.Relative: _relative,
    m.Reference: _reference,
    m.Sum: _sum,
    m.WeightedSum: _weighted,
    m.Flag: _flag,
    m.FlagCount: _flag_count,
    m.MissingCount: _missing_count,
    m.KOfM: _k_of_m,
    m.Logic: _logic,
    m.Classify: _classify,
    m.Round: _round,
    m.Log: _log,
    m.Reverse: _reverse,
    m.ZScore: _z,
    m.MinMax: _minmax,
}

__all__ = ["Compiled", "FactorFlag", "noisy_counts"]
