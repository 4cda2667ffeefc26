"""The linear protection's algebra, made cheaper without changing what it finds.

Stacks of small eigenproblems (one per area) repeat most of their matrices: each distinct one
is decomposed once, and large stacks are shared among the cores. The projectors must be those
of a plain eigendecomposition of every matrix, and the protected table must not depend on the
number of threads.
"""

from __future__ import annotations

import numpy as np
import pytest

from utanforskap.microdata import aggregate as ag
from utanforskap.microdata import cores, disclosure
from utanforskap.microdata import synthetic as sy


def _plain(m: np.ndarray, null: bool) -> np.ndarray:
    w, v = np.linalg.eigh(m)
    keep = w < disclosure._TOL if null else w > disclosure._TOL
    return (v * keep[:, None, :]) @ v.transpose(0, 2, 1)


def _stack(rng: np.random.Generator, distinct: int, n: int, k: int = 6) -> np.ndarray:
    """n positive semidefinite matrices of rank below k, drawn from `distinct` different ones,
    each copy with its own round-off (as sums taken in another order give)."""
    basis = rng.standard_normal((distinct, k, k - 2))
    shapes = basis @ basis.transpose(0, 2, 1)
    m = shapes[rng.integers(0, distinct, n)]
    return m + rng.uniform(-1e-15, 1e-15, m.shape) * (m != 0)


@pytest.mark.parametrize("null", [True, False])
def test_projectors_of_a_repeating_stack_are_those_of_each_matrix(monkeypatch, null):
    rng = np.random.default_rng(7)
    m = _stack(rng, distinct=5, n=400)
    decomposed: list[int] = []
    eigh = np.linalg.eigh

    def counting(x):
        decomposed.append(x.shape[0])
        return eigh(x)

    monkeypatch.setattr(disclosure.np.linalg, "eigh", counting)
    got = disclosure._null_projector(m) if null else disclosure._range_projector(m)
    monkeypatch.setattr(disclosure.np.linalg, "eigh", eigh)
    assert sum(decomposed) == 5  # each distinct matrix once
    np.testing.assert_allclose(got, _plain(m, null), atol=1e-9)
    # The rank the tests read off the projector is the plain one's, matrix by matrix.
    np.testing.assert_array_equal(np.rint(np.trace(got, axis1=1, axis2=2)), np.rint(np.trace(_plain(m, null), axis1=1, axis2=2)))


def test_a_stack_of_distinct_matrices_gets_every_one_decomposed():
    rng = np.random.default_rng(8)
    m = _stack(rng, distinct=300, n=300)
    m = m + np.arange(300)[:, None, None] * 1e-6 * np.eye(6)  # no two alike
    np.testing.assert_allclose(disclosure._null_projector(m), _plain(m, True), atol=1e-9)


def test_a_large_stack_split_among_threads_gives_the_same_projectors(monkeypatch):
    rng = np.random.default_rng(9)
    m = _stack(rng, distinct=200, n=200) + np.arange(200)[:, None, None] * 1e-6 * np.eye(6)
    monkeypatch.setattr(cores, "THREADS", 2)
    monkeypatch.setattr(disclosure, "_EIGH_SPLIT", 10)
    cores.pool.cache_clear()
    try:
        with cores.one_blas_thread():
            split = disclosure._range_projector(m)
    finally:
        cores.pool.cache_clear()
    np.testing.assert_allclose(split, _plain(m, False), atol=1e-9)


def _linear(monkeypatch, threads: int):
    monkeypatch.setattr(cores, "THREADS", threads)
    monkeypatch.setattr(disclosure, "_EIGH_SPLIT", 8)
    cores.pool.cache_clear()
    try:
        counts, persons = ag.count(sy.draw(40_000, 22), "regso")
        obs, _ = ag.protected_observations(counts, persons.kalla, min_antal=5, granska=False)
    finally:
        cores.pool.cache_clear()
    return obs


@pytest.mark.slow
def test_the_linear_protection_is_the_same_with_one_and_two_threads(monkeypatch):
    one = _linear(monkeypatch, 1)
    two = _linear(monkeypatch, 2)
    assert one["status"].is_not_null().sum() > 0  # something was protected
    assert one.equals(two)
