"""Which parameters move the list: Sobol indices (SALib) and one-at-a-time sweeps.

Sobol: SALib's quasi-random design (N base samples, first-order and total indices, no
second order) over every uncertain parameter and rule choice; noise in counts is left out
(it is not a parameter). SALib's analysis gives the indices and intervals for the list's
size; the same estimators (Saltelli 2010, as SALib's) vectorised over areas give each
area's indices for its listed status, and the parameter with the largest total index is the
one that binds the area. One-at-a-time: each parameter over its range, the others at the
method's values.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import cast

import numpy as np
import polars as pl

from utanforskap.errors import InputError
from utanforskap.robustness import draws as dr
from utanforskap.robustness.montecarlo import (
    BLOCK,
    Setup,
    evaluate_block,
    listed_matrix,
)

DEFAULT_BASE_SAMPLES = 2048
OAT_POINTS = 21


@dataclass(frozen=True, eq=False)
class Sensitivity:
    table: pl.DataFrame  # kanslighet.csv: one row per uncertain quantity
    sweeps: pl.DataFrame  # oat.csv: parameter, value, list size
    binding: pl.DataFrame  # regso_kod, bindande_parameter, bindande_st
    base_samples: int


def listed_for(setup: Setup, draws: dr.Draws, block: int = BLOCK) -> np.ndarray:
    """Listed status (draws x areas, bool) for given draws, without noise, block by block."""
    parts = []
    for start in range(0, draws.n, block):  # over blocks of draws
        part = draws.slice(start, min(start + block, draws.n))
        parts.append(listed_matrix(setup, evaluate_block(setup, part), part.n))
    return np.concatenate(parts) if parts else np.zeros((0, setup.compiled.n_areas), dtype=bool)


def sobol_indices(Y: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """First-order and total indices (d x outputs) from outputs Y (rows in SALib's
    Saltelli order A, AB_1..AB_d, B), by SALib's own estimators and centring, for many
    outputs at once (one column per output; a constant output gets zeros)."""
    # Listed status (bool) in float32, normalised in place: a quarter of the memory of float64.
    Y = np.asarray(Y)
    Y = (Y.astype(np.float32) if Y.dtype == bool else Y.astype(np.float64)).reshape(Y.shape[0], -1)
    const = Y.max(axis=0) - Y.min(axis=0) <= np.finfo(float).eps
    Y -= Y.mean(axis=0)
    Y /= np.where(const, 1.0, Y.std(axis=0)).astype(Y.dtype)
    step = d + 2
    A, B = Y[0::step], Y[step - 1 :: step]
    var = np.concatenate([A, B]).var(axis=0)
    ok = (var > np.finfo(float).eps) & ~const
    s1 = np.zeros((d, Y.shape[1]))
    st = np.zeros((d, Y.shape[1]))
    for j in range(d):  # over the dimensions
        ab = Y[j + 1 :: step]
        np.divide(np.mean(B * (ab - A), axis=0), var, out=s1[j], where=ok)
        np.divide(0.5 * np.mean((A - ab) ** 2, axis=0), var, out=st[j], where=ok)
    return s1, st


def analyse(setup: Setup, base_samples: int = DEFAULT_BASE_SAMPLES, seed: int = 2022, points: int = OAT_POINTS) -> Sensitivity:
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    dims = setup.dims
    if not dims:
        raise InputError("ingen parameter eller regel är deklarerad som osäker; känslighetsanalysen behöver minst en")
    if base_samples < 2 or base_samples & (base_samples - 1):
        raise InputError(f"antalet bas-sampel för Sobol måste vara en tvåpotens (är {base_samples})")
    d = len(dims)
    problem = {"num_vars": d, "names": [x.name for x in dims], "bounds": [[0.0, 1.0]] * d}
    unit = sobol_sample.sample(problem, base_samples, calc_second_order=False, scramble=True, seed=seed)
    listed = listed_for(setup, dr.from_unit(dims, unit))
    size = listed.sum(axis=1).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si = sobol_analyze.analyze(problem, size, calc_second_order=False, seed=seed)
    _, st_area = sobol_indices(listed, d)
    varies = st_area.max(axis=0) > 0
    names = np.asarray([x.name for x in dims], dtype=object)
    binding_names = cast(np.ndarray, np.where(varies, names[st_area.argmax(axis=0)], None))  # numpy's stub takes y=None for where(condition)
    binding = pl.DataFrame(
        {
            "regso_kod": setup.areas["regso_kod"],
            "bindande_parameter": pl.Series(binding_names.tolist(), dtype=pl.String),
            "bindande_st": pl.Series(np.where(varies, st_area.max(axis=0), np.nan)).fill_nan(None),
        }
    )
    sweeps, oat = _sweeps(setup, points)
    table = pl.DataFrame(
        {
            "parameter": [x.name for x in dims],
            "typ": [x.kind for x in dims],
            "fran": [x.support()[0] for x in dims],
            "till": [x.support()[1] for x in dims],
            "sobol_forsta": np.asarray(si["S1"], dtype=float),
            "sobol_forsta_ki": np.asarray(si["S1_conf"], dtype=float),
            "sobol_total": np.asarray(si["ST"], dtype=float),
            "sobol_total_ki": np.asarray(si["ST_conf"], dtype=float),
            "omraden_bundna": [int(((binding["bindande_parameter"] == x.name).fill_null(False)).sum()) for x in dims],
        }
    ).join(oat, on="parameter", how="left").sort("sobol_total", descending=True).with_row_index("rang", offset=1)
    return Sensitivity(table, sweeps, binding, base_samples)


def _sweeps(setup: Setup, points: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each dimension over its grid with the others at the method's values."""
    dims = setup.dims
    base = np.array([x.base for x in dims], dtype=float)
    grids = [x.grid(points) for x in dims]
    which = np.concatenate([np.full(g.size, j) for j, g in enumerate(grids)])
    values = np.tile(base, (which.size, 1))
    values[np.arange(which.size), which] = np.concatenate(grids)
    listed = listed_for(setup, dr.Draws(dims, values))
    size = listed.sum(axis=1)
    names = np.asarray([x.name for x in dims], dtype=object)
    sweeps = pl.DataFrame({"parameter": names[which].tolist(), "varde": values[np.arange(which.size), which], "antal_omraden": size})
    # Per dimension: the smallest and largest list, and how many areas change status.
    first = np.searchsorted(which, np.arange(len(dims)))
    lo = np.minimum.reduceat(size, first)
    hi = np.maximum.reduceat(size, first)
    ever = np.logical_or.reduceat(listed, first, axis=0)
    always = np.logical_and.reduceat(listed, first, axis=0)
    oat = pl.DataFrame(
        {
            "parameter": names.tolist(),
            "oat_min_omraden": lo.astype(np.int64),
            "oat_max_omraden": hi.astype(np.int64),
            "oat_omraden_som_byter": (ever & ~always).sum(axis=1).astype(np.int64),
        }
    )
    return sweeps, oat
