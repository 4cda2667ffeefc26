"""Ranks: numpy's and polars' implementations give the same ranks for every tie rule, so the
engine may rank a short column without importing numpy (start-up, issue 16).

The values are SYNTETISKA DATA drawn for the test: many ties, both zeros, tiny and huge values.
"""

import numpy as np
import polars as pl
import pytest

from utanforskap.methods import steps


def _values(seed: int) -> pl.Series:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    values = rng.integers(-5, 5, n) * rng.choice([1.0, 0.5, 1e-300, 1e300], n)
    values[rng.random(n) < 0.1] = -0.0
    values[rng.random(n) < 0.1] = 0.0
    return pl.Series("x", values)


@pytest.mark.parametrize("tie", ["min", "max", "medel", "tat", "ordning"])
@pytest.mark.parametrize("descending", [False, True])
def test_numpy_and_polars_rank_alike(tie, descending):
    for seed in range(60):
        values = _values(seed)
        with_numpy = steps._ranks(values, tie, descending, use_numpy=True)
        with_polars = steps._ranks(values, tie, descending, use_numpy=False)
        assert with_numpy.dtype == with_polars.dtype == pl.Float64
        assert with_numpy.to_list() == with_polars.to_list(), (seed, values.to_list())


def test_percentiles_alike_with_missing_values_and_a_single_value():
    s = pl.Series("x", [3.0, None, 1.0, 3.0, -0.0, 0.0, None, 2.5])
    for use_numpy in (True, False):
        valid = s.drop_nulls()
        ranks = steps._ranks(valid, "min", False, use_numpy=use_numpy)
        assert ranks.to_list() == [5.0, 3.0, 5.0, 1.0, 1.0, 4.0]
    got = steps._rank_series(s, "min", False, percentile=True)
    assert got.to_list() == [0.8, None, 0.4, 0.8, 0.0, 0.0, None, 0.6]
    assert steps._rank_series(pl.Series("x", [None, 7.0]), "min", False, percentile=True).to_list() == [None, None]


def test_nan_gets_numpys_ranks():
    s = pl.Series("x", [float("nan"), 1.0, float("nan")])
    assert steps._ranks(s, "min", False).to_list() == [2.0, 1.0, 3.0]
