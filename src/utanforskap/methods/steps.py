"""Each step type as a polars expression: vectorised, one column out per step.

Missing values are nulls. The semantics, the same for every method (docs/metoder.md):

* element-wise steps (ratio, round, log, flag, ...) give null where an input is null;
* rank-based steps and reference values leave nulls out: `n` counts non-missing values,
  and a missing area gets a missing rank;
* `summa`, `medel`, `viktad_summa` and `antal_flaggor` declare `saknade`: `sprid`
  (any missing term makes the result missing, as in the CDC SVI) or `hoppa` (use the
  terms present; missing only when all are);
* `k_av_m` is three-valued by default (`kleene`): true when k flags are known true,
  false when too few could be true even if every missing flag were, else missing;
* `och`, `eller`, `inte` use the same three-valued logic;
* a gate (`grind`) treats the step's inputs as missing where the gate is not true.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import polars as pl

from utanforskap.errors import MethodError
from utanforskap.methods import model as m

if TYPE_CHECKING:
    import numpy as np

_RankMethod = Literal["average", "min", "max", "dense", "ordinal", "random"]
_Col = Callable[[str], pl.Expr]  # a step's input column by name
_Grouped = Callable[[pl.Expr], pl.Expr]  # an expression over the step's groups, if any

_TIES = {"min": "min", "max": "max", "medel": "average", "tat": "dense", "ordning": "ordinal"}


@dataclass
class Check:
    """A data condition a step requires; `violation` is true on offending rows (null is
    not: both `any()` and `filter` pass over it, so no fill_null node is needed)."""

    violation: pl.Expr
    message: Callable[[dict[str, object]], str]  # row (as dict) -> message


@dataclass
class Context:
    method: m.Method
    parameters: dict[str, m.ParameterValue]
    checks: list[Check] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.method.nyckel

    @property
    def period(self) -> str | None:
        return self.method.period

    def number(self, value: float | m.ParamRef) -> float:
        if isinstance(value, m.ParamRef):
            v = self.parameters[value.parameter]
            if isinstance(v, list):
                raise MethodError(f"parametern {value.parameter} är en lista; här behövs ett tal")
            return float(v)
        return float(value)

    def operand(self, value: float | m.ParamRef | str) -> pl.Expr:
        """A number, a parameter or (a string) a column, as an expression."""
        if isinstance(value, str):
            return pl.col(value)
        return pl.lit(self.number(value), dtype=pl.Float64)


def _div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num / den, correctly rounded, where den may be a scalar (an aggregate or a constant).

    Polars divides a column by a scalar by multiplying with its reciprocal, which is one
    unit in the last place off for about a quarter of values (measured); column by column
    it divides exactly. Adding `num * 0` makes a scalar divisor a column without changing
    it (where num is missing, the quotient is missing anyway).
    """
    return num / (den + num * 0.0)


def _scaled(expr: pl.Expr, scale: float) -> pl.Expr:
    """expr * scale; without the node when scale is 1 (x * 1.0 is x exactly, and every
    expression node costs polars time to plan on each run of a small table)."""
    return expr if scale == 1.0 else expr * scale


def build(step: m.Step, ctx: Context) -> pl.Expr:
    """The expression computing `step`, aliased to its name."""
    gate = pl.col(step.grind) if step.grind else None

    def col(name: str) -> pl.Expr:
        if gate is None:
            return pl.col(name)
        return pl.when(gate).then(pl.col(name))

    over = list(step.grupp) + ([ctx.period] if ctx.period else [])

    def grouped(expr: pl.Expr) -> pl.Expr:
        return expr.over(over) if over else expr

    expr = _BUILDERS[type(step)](step, ctx, col, grouped)
    if gate is not None:
        expr = pl.when(gate).then(expr)
    return expr.alias(step.namn)


# ---- ranks ----------------------------------------------------------------------------------
# Ranks are computed by numpy (rank_array) or by polars' own rank; the two give the same
# ranks for every tie rule (tests/test_engine_ranks.py). numpy's sort is several times faster
# on large columns, but importing numpy costs about 0.15 s: a column shorter than this, with
# numpy not yet loaded, is ranked by polars (`utanforskap berakna` on the SVI's 3 144
# counties loads no numpy). NaN, which the two order differently, always goes to numpy.
NUMPY_RANKS_FROM = 20_000


def rank_array(values: np.ndarray, tie: str) -> np.ndarray:
    """Ranks (1 = smallest) of a float array without missing values.

    min, max, medel and tat do not depend on the order among equal values, so an unstable
    sort serves; it is several times faster than a stable one (see bench/bench_methods.py).
    """
    import numpy as np

    n = values.size
    if n == 0:
        return np.empty(0, dtype=np.float64)
    order = np.argsort(values, kind="stable" if tie == "ordning" else "quicksort")
    if tie == "ordning":
        ranks = np.arange(1, n + 1, dtype=np.float64)
    else:
        ordered = values[order]
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        group = np.cumsum(new) - 1
        ends = np.append(starts[1:], n)
        per_group = {
            "min": starts + 1.0,
            "max": ends.astype(np.float64),
            "medel": (starts + 1.0 + ends) / 2.0,
            "tat": np.arange(1.0, starts.size + 1.0),
        }[tie]
        ranks = per_group[group]
    out = np.empty(n, dtype=np.float64)
    out[order] = ranks
    return out


def _ranks(values: pl.Series, tie: str, descending: bool, use_numpy: bool | None = None) -> pl.Series:
    """Float ranks (1 = first) of a Float64 series without missing values; `use_numpy`
    chooses the implementation (None: numpy when loaded, for long columns and for NaN)."""
    if use_numpy is None:
        use_numpy = "numpy" in sys.modules or values.len() >= NUMPY_RANKS_FROM or bool(values.is_nan().any())
    if use_numpy:
        array = values.to_numpy()
        return pl.Series(values.name, rank_array(-array if descending else array, tie))
    return values.rank(cast(_RankMethod, _TIES[tie]), descending=descending).cast(pl.Float64)


def _rank_series(s: pl.Series, tie: str, descending: bool, percentile: bool = False) -> pl.Series:
    valid = s.is_not_null()
    ranks = _ranks(s.drop_nulls().cast(pl.Float64), tie, descending)
    if percentile:
        # (rank - 1) / (n - 1), an exact division (a column by a column); undefined for n = 1
        n = ranks.len()
        ranks = _exact_div(ranks - 1.0, n - 1.0) if n > 1 else pl.Series(s.name, [None] * n, dtype=pl.Float64)
    if valid.all():
        return ranks.alias(s.name)
    return pl.Series(s.name, [None] * s.len(), dtype=pl.Float64).scatter(valid.arg_true(), ranks)


def _exact_div(num: pl.Series, den: float) -> pl.Series:
    """num / den element by element, correctly rounded (see _div: not num * (1 / den))."""
    return num / (num * 0.0 + den)


def _rank_expr(x: pl.Expr, tie: str, descending: bool, grouped_: bool) -> pl.Expr:
    """Float ranks of `x`; missing values get no rank and leave the ranking."""
    if grouped_:
        return x.rank(cast(_RankMethod, _TIES[tie]), descending=descending).cast(pl.Float64)
    return x.map_batches(lambda s: _rank_series(s, tie, descending), return_dtype=pl.Float64)


def _percentile(step: m.PercentileRank, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    x = col(step.indata)
    if step.grupp or ctx.period:
        n = x.count()
        r = _rank_expr(x, step.band, False, True)
        p: pl.Expr = pl.when(n > 1).then(_div(r - 1.0, (n - 1).cast(pl.Float64)))
    else:  # the common case: the whole percentile in one numpy pass
        p = x.map_batches(lambda s: _rank_series(s, step.band, False, percentile=True), return_dtype=pl.Float64)
    if step.vand:
        p = 1.0 - p
    return grouped(p)


def _rank(step: m.Rank, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    x = col(step.indata)
    r = _rank_expr(x, step.band, step.ordning == "fallande", bool(step.grupp or ctx.period))
    return grouped(r if step.band == "medel" else r.cast(pl.Int64))


def _quantile_band(step: m.QuantileBand, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    r = col(step.indata)
    k = ctx.number(step.antal)
    # ceil(rank / (N / k)) written as ceil(rank * k / N): one rounding instead of two.
    return grouped(_div(r * k, r.count().cast(pl.Float64)).ceil().cast(pl.Int64))


def _reverse(step: m.Reverse, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    return 1.0 - col(step.indata)


def _exponential(step: m.ExponentialRank, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    r = col(step.indata)
    n = r.count().cast(pl.Float64)
    c = ctx.number(step.konstant)
    share = _div(n - r + 1.0, n)
    return grouped(-c * (1.0 - share * (1.0 - math.exp(-100.0 / c))).log())


# ---- arithmetic -----------------------------------------------------------------------------
def _round(step: m.Round, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    mode: Literal["half_to_even", "half_away_from_zero"] = "half_to_even" if step.satt == "halv_jamn" else "half_away_from_zero"
    return col(step.indata).round(step.decimaler, mode=mode)


def _any_null(cols: list[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal([c.is_null() for c in cols])


def _all_null(cols: list[pl.Expr]) -> pl.Expr:
    return pl.all_horizontal([c.is_null() for c in cols])


def _sum(step: m.Sum, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    cols = [col(c) for c in step.indata]
    value = pl.sum_horizontal(cols) if step.typ == "summa" else pl.mean_horizontal(cols)
    missing = _any_null(cols) if step.saknade == "sprid" else _all_null(cols)
    return pl.when(~missing).then(value)


def _weighted_sum(step: m.WeightedSum, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    cols = [col(c) for c in step.indata]
    weights = [ctx.number(w) for w in step.vikter]
    value = pl.sum_horizontal([c * w for c, w in zip(cols, weights, strict=False)])
    if step.normera:
        used = pl.sum_horizontal([pl.when(c.is_not_null()).then(pl.lit(w)) for c, w in zip(cols, weights, strict=False)])
        value = value / used
    missing = _any_null(cols) if step.saknade == "sprid" else _all_null(cols)
    return pl.when(~missing).then(value)


def _ratio(step: m.Ratio, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    num, den = col(step.taljare), col(step.namnare)
    if step.andel:
        key = ctx.key
        for part, expr in (("nämnaren", step.namnare), ("täljaren", step.taljare)):
            ctx.checks.append(
                Check(
                    violation=col(expr) < 0,
                    message=lambda row, s=step, k=key, part=part, c=expr: (  # type: ignore[misc]  # default-bound lambda
                        f"steg {s.namn}: {part} {c} = {row[c]:g} är negativ för {k} {row[k]}; "
                        "en andel kräver täljare och nämnare som är noll eller större"
                    ),
                )
            )
        ctx.checks.append(
            Check(
                violation=num > den,
                message=lambda row, s=step, k=key: (  # type: ignore[misc]  # mypy cannot type default-bound lambdas
                    f"steg {s.namn}: täljaren {s.taljare} = {row[s.taljare]:g} är större än nämnaren "
                    f"{s.namnare} = {row[s.namnare]:g} för {k} {row[k]}"
                ),
            )
        )
    return pl.when(den != 0).then(_scaled(num / den, step.skala))


def _reference(step: m.Reference, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    # The model's validator guarantees the fields each kind needs (casts say so to mypy).
    if step.metod == "konstant":
        return pl.lit(ctx.number(cast(float | m.ParamRef, step.varde)), dtype=pl.Float64)
    value: pl.Expr
    if step.metod == "kvot_av_summor":
        num, den = col(cast(str, step.taljare)), col(cast(str, step.namnare))
        both = num.is_not_null() & den.is_not_null()
        den_sum = den.filter(both).sum()
        value = pl.when(den_sum != 0).then(_scaled(num.filter(both).sum() / den_sum, step.skala))
    elif step.metod == "medel":
        value = col(cast(str, step.indata)).mean()
    else:
        value = col(cast(str, step.indata)).median()
    return grouped(value)


def _relative(step: m.Relative, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    x, ref = col(step.indata), ctx.operand(step.referens)
    if step.satt == "differens":
        return x - ref
    return pl.when(ref != 0).then(_div(x, ref))


def _z(step: m.ZScore, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    x = col(step.indata)
    sd = x.std(ddof=step.ddof)
    return grouped(pl.when(sd != 0).then(_div(x - x.mean(), sd)))


def _minmax(step: m.MinMax, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    x = col(step.indata)
    span = x.max() - x.min()
    return grouped(pl.when(span != 0).then(_div(x - x.min(), span)))


def _log(step: m.Log, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    shifted = col(step.indata) + ctx.number(step.forskjutning)
    key, name = ctx.key, step.indata
    ctx.checks.append(
        Check(
            violation=shifted <= 0,
            message=lambda row, s=step, k=key, n=name: (  # type: ignore[misc]  # as above
                f"steg {s.namn}: log av ett värde <= 0 ({n} = {row[n]:g}) för {k} {row[k]}; "
                "ange forskjutning eller rensa indata"
            ),
        )
    )
    # numpy's logarithms: polars computes log10 and log2 as ln(x) / ln(b), a rounding more.
    import numpy as np

    fn = {"e": np.log, "10": np.log10, "2": np.log2}[step.bas]
    return pl.when(shifted > 0).then(shifted).map_batches(
        lambda s: pl.Series(s.name, fn(s.to_numpy())).fill_nan(None), return_dtype=pl.Float64
    )


def _winsorise(step: m.Winsorise, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    x = col(step.indata)
    lower = grouped(x.quantile(ctx.number(step.nedre), "linear")) if step.nedre is not None else None
    upper = grouped(x.quantile(ctx.number(step.ovre), "linear")) if step.ovre is not None else None
    return x.clip(lower, upper)


# ---- flags and classes ----------------------------------------------------------------------
_OPS: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}


def _flag(step: m.Flag, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    return _OPS[step.operator](col(step.indata), ctx.operand(step.grans))


def _flag_count(step: m.FlagCount, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    cols = [col(c) for c in step.indata]
    count = pl.sum_horizontal([c.cast(pl.Int32) for c in cols])
    missing = _any_null(cols) if step.saknade == "sprid" else _all_null(cols)
    return pl.when(~missing).then(count)


def _missing_count(step: m.MissingCount, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    return pl.sum_horizontal([col(c).is_null().cast(pl.Int32) for c in step.indata])


def _k_of_m(step: m.KOfM, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    cols = [col(c) for c in step.indata]
    k = ctx.number(step.k)
    true = pl.sum_horizontal([c.fill_null(False).cast(pl.Int32) for c in cols])
    unknown = pl.sum_horizontal([c.is_null().cast(pl.Int32) for c in cols])
    if step.saknade == "hoppa":
        return true >= k
    if step.saknade == "sprid":
        return pl.when(unknown == 0).then(true >= k)
    return pl.when(true >= k).then(True).when(true + unknown < k).then(False)


def _logic(step: m.Logic, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    cols = [col(c) for c in step.indata]
    if step.typ == "och":
        return pl.all_horizontal(cols)
    if step.typ == "eller":
        return pl.any_horizontal(cols)
    return ~cols[0]


def _classify(step: m.Classify, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    chain: Any = None  # polars' when/then chain types differ by length
    for rule in step.regler:
        cond = col(rule.villkor) if rule.villkor else col(cast(str, step.indata)) >= ctx.number(cast(float | m.ParamRef, rule.minst))
        chain = (pl.when(cond) if chain is None else chain.when(cond)).then(pl.lit(rule.klass))
    return cast(pl.Expr, chain.otherwise(pl.lit(None, dtype=pl.String)))


# ---- several periods ------------------------------------------------------------------------
def _window(step: m.PeriodMean | m.EveryPeriod, ctx: Context, col: _Col) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """The value and 'present' mask for each of the last n periods (the frame is sorted)."""
    n = int(ctx.number(step.perioder))
    period, key = pl.col(cast(str, ctx.period)), ctx.key
    values, present = [], []
    for lag in range(n):  # n is a handful of periods, never the areas
        values.append(col(step.indata).shift(lag).over(key))
        present.append((period.shift(lag).over(key) == period - lag).fill_null(False))
    return values, present


def _period_mean(step: m.PeriodMean, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    values, present = _window(step, ctx, col)
    complete = pl.all_horizontal([p & v.is_not_null() for v, p in zip(values, present, strict=False)])
    return pl.when(complete).then(pl.mean_horizontal(values))


def _every_period(step: m.EveryPeriod, ctx: Context, col: _Col, grouped: _Grouped) -> pl.Expr:
    values, present = _window(step, ctx, col)
    # A false flag in the window decides; otherwise every period must be present and true.
    known = [pl.when(p).then(v) for v, p in zip(values, present, strict=False)]
    return pl.all_horizontal(known)


_BUILDERS: dict[type, Callable[..., pl.Expr]] = {
    m.PercentileRank: _percentile,
    m.Rank: _rank,
    m.QuantileBand: _quantile_band,
    m.Reverse: _reverse,
    m.Round: _round,
    m.Sum: _sum,
    m.WeightedSum: _weighted_sum,
    m.Ratio: _ratio,
    m.Reference: _reference,
    m.Relative: _relative,
    m.ZScore: _z,
    m.MinMax: _minmax,
    m.Log: _log,
    m.Winsorise: _winsorise,
    m.ExponentialRank: _exponential,
    m.Flag: _flag,
    m.FlagCount: _flag_count,
    m.MissingCount: _missing_count,
    m.KOfM: _k_of_m,
    m.Logic: _logic,
    m.Classify: _classify,
    m.PeriodMean: _period_mean,
    m.EveryPeriod: _every_period,
}
