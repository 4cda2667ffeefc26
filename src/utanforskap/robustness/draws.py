"""Draws of the uncertain parameters and rule choices, from a seed or from a unit cube.

Every uncertain quantity is one dimension of [0, 1)^d mapped through its inverse CDF, so
Monte Carlo (uniform random points) and Sobol analysis (SALib's points) share one mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from scipy.stats import norm

from utanforskap.methods import model as m
from utanforskap.methods.loader import LoadedMethod


@dataclass(frozen=True)
class Dimension:
    """One uncertain quantity: a parameter (`kind` "parameter") or a rule choice ("alternativ")."""

    name: str  # the parameter, or "steg.falt" for a choice
    kind: str
    spec: m.ParameterUncertainty | m.StepAlternative
    base: float  # the method's own value (a choice: index of the method's own column)

    @property
    def label(self) -> str:
        return self.name if self.kind == "parameter" else f"alternativ {self.name}"

    def support(self) -> tuple[float, float]:
        """The range of values (a choice: of indices)."""
        s = self.spec
        if isinstance(s, m.StepAlternative):  # kind "alternativ"
            return 0.0, float(len(s.val) - 1)
        if s.fordelning == "likformig":
            return _uniform_bounds(s, self.base)
        if s.fordelning == "normal":
            mean, sd = _normal(s, self.base)
            return mean - 2 * sd, mean + 2 * sd
        return float(min(s.varden)), float(max(s.varden))

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Values for points u in [0, 1) (inverse CDF)."""
        s = self.spec
        if isinstance(s, m.StepAlternative):  # kind "alternativ"
            return _discrete(u, np.arange(len(s.val), dtype=float), s.sannolikheter)
        if s.fordelning == "likformig":
            lo, hi = _uniform_bounds(s, self.base)
            return lo + u * (hi - lo)
        if s.fordelning == "normal":
            mean, sd = _normal(s, self.base)
            return norm.ppf(np.clip(u, 1e-12, 1 - 1e-12), loc=mean, scale=sd)
        return _discrete(u, np.asarray(s.varden, dtype=float), s.sannolikheter)

    def grid(self, points: int) -> np.ndarray:
        """Values for a one-at-a-time sweep: every discrete value, else `points` evenly spaced."""
        s = self.spec
        if isinstance(s, m.StepAlternative):  # kind "alternativ"
            return np.arange(len(s.val), dtype=float)
        if s.fordelning == "diskret":
            return np.unique(np.asarray(s.varden, dtype=float))
        lo, hi = self.support()
        return np.linspace(lo, hi, points)


def _uniform_bounds(s: m.ParameterUncertainty, base: float) -> tuple[float, float]:
    if s.relativ is not None:
        half = abs(base) * s.relativ
        return base - half, base + half
    assert s.min is not None and s.max is not None  # the model requires min and max without relativ
    return float(s.min), float(s.max)


def _normal(s: m.ParameterUncertainty, base: float) -> tuple[float, float]:
    mean = base if s.medel is None else s.medel
    if s.sd is not None:
        return mean, s.sd
    assert s.relativ is not None  # the model requires sd or relativ
    sd = abs(base) * s.relativ
    return mean, sd


def _discrete(u: np.ndarray, values: np.ndarray, probs: list[float]) -> np.ndarray:
    p = np.asarray(probs, dtype=float) if probs else np.full(values.size, 1.0 / values.size)
    edges = np.cumsum(p)[:-1]
    return values[np.searchsorted(edges, u, side="right")]


def dimensions(loaded: LoadedMethod, spec: m.Uncertainty, values: dict[str, float] | None = None) -> list[Dimension]:
    """The uncertain quantities in a fixed order: parameters as declared, then choices.
    `values`: the parameters the map was computed with (the method's own by default)."""
    method = loaded.method
    own = {n: p.varde for n, p in method.parametrar.items()} | dict(values or {})
    # cast: the loader refuses uncertainty on a list-valued parameter
    dims = [Dimension(name, "parameter", p, float(cast(float, own[name]))) for name, p in spec.parametrar.items()]
    steps = {s.namn: s for s in method.steg}
    for alt in spec.alternativ:
        own = getattr(steps[alt.steg], alt.falt)
        dims.append(Dimension(f"{alt.steg}.{alt.falt}", "alternativ", alt, float(alt.val.index(own))))
    return dims


@dataclass(frozen=True)
class Draws:
    """Values of every dimension for n draws: matrix (n, d), columns in `dims` order."""

    dims: list[Dimension]
    values: np.ndarray

    @property
    def n(self) -> int:
        return self.values.shape[0]

    def slice(self, start: int, stop: int) -> Draws:
        return Draws(self.dims, self.values[start:stop])

    def column(self, name: str) -> np.ndarray:
        return self.values[:, [d.name for d in self.dims].index(name)]


def from_unit(dims: list[Dimension], unit: np.ndarray) -> Draws:
    """Map points of the unit cube (n, d) to draws."""
    unit = np.asarray(unit, dtype=float)
    unit = unit.reshape(unit.shape[0], len(dims))
    cols = [d.from_unit(unit[:, j]) for j, d in enumerate(dims)]  # a loop over dimensions, not draws
    return Draws(dims, np.column_stack(cols) if cols else np.empty((unit.shape[0], 0)))


def sample(dims: list[Dimension], n: int, rng: np.random.Generator) -> Draws:
    """n random draws."""
    return from_unit(dims, rng.random((n, len(dims))))  # zero columns when nothing is uncertain


def base(dims: list[Dimension], n: int = 1) -> Draws:
    """The method's own values, n times."""
    return Draws(dims, np.tile(np.array([d.base for d in dims], dtype=float), (n, 1)).reshape(n, len(dims)))
