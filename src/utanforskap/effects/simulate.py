"""Area panels with a known, injected effect, built from a real panel's structure.

The real panel (e.g. crimes per 1 000 inhabitants per RegSO) is decomposed into area effects,
year effects and residuals (two-way within transformation). A simulated panel draws areas (their
area effects and whole residual rows, so serial correlation and heavy tails are kept), adds the
year effects and then the stated effect to the treated areas from their start year on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Structure:
    years: np.ndarray
    area: np.ndarray  # (N,) area effects
    year: np.ndarray  # (T,) year effects
    resid: np.ndarray  # (N, T) residuals
    sd: float  # residual standard deviation


def structure(y: np.ndarray, years: np.ndarray) -> Structure:
    """Two-way decomposition of a complete panel (rows with a missing year are dropped)."""
    y = y[~np.isnan(y).any(1)]
    grand = y.mean()
    area = y.mean(1) - grand
    year = y.mean(0) - grand
    resid = y - grand - area[:, None] - year[None, :]
    return Structure(np.asarray(years), area + grand, year, resid, float(resid.std()))


@dataclass
class Scenario:
    n_areas: int
    n_treated: int
    starts: tuple[int, ...]  # start years, assigned to the treated areas in turn
    effect: float

    def describe(self) -> str:
        return (f"{self.n_areas} områden, {self.n_treated} behandlade med start {', '.join(map(str, self.starts))}, "
                f"injicerad effekt {self.effect:g}".replace(".", ","))


def draw(s: Structure, sc: Scenario, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(y (R, N, T), start (N,)): R panels with the effect injected. The treated are the first
    n_treated areas; they are drawn from the same population as the rest (no selection)."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(s.area), (reps, sc.n_areas))
    rrows = rng.integers(0, len(s.area), (reps, sc.n_areas))  # residual rows independent of area effects
    y = s.area[rows][:, :, None] + s.year[None, None, :] + s.resid[rrows]
    start = np.zeros(sc.n_areas, dtype=np.int64)
    start[: sc.n_treated] = np.resize(np.asarray(sc.starts), sc.n_treated)
    post = (start[:, None] > 0) & (s.years[None, :] >= start[:, None])
    return y + sc.effect * post[None], start
