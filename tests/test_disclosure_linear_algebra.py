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


# ---- the greedy passes without eigendecompositions ------------------------------------------
def _two_passes(basis, b, fixed, values, pub):
    """What _fewest did before: give up published coordinates from the smallest until b is free,
    then take each back (largest first) while b stays free, testing with null-space projectors."""
    n = b.shape[0]
    outer = np.einsum("mk,ml->mkl", basis, basis)
    order = np.argsort(np.where(pub, values, np.inf), axis=1, kind="stable")
    taken = np.zeros(pub.shape, dtype=bool)
    for r in range(n):
        gram = (outer * pub[r][:, None, None]).sum(axis=0)

        def free(g, r=r):
            return disclosure._is_free(b[r][None], disclosure._null_projector((fixed[r] + g)[None]))[0]

        steps = order[r, : pub[r].sum()]
        for c in steps:
            if free(gram):
                break
            gram = gram - outer[c]
            taken[r, c] = True
        for c in steps[::-1]:
            if taken[r, c] and free(gram + outer[c]):
                gram = gram + outer[c]
                taken[r, c] = False
    return taken


@pytest.mark.parametrize("seed", range(5))
def test_one_pass_gives_up_what_the_two_passes_gave_up(seed):
    rng = np.random.default_rng(seed)
    m = 12
    # Category equations as the partitions give them: a total minus its parts, nested.
    equations = np.zeros((4, m))
    for row, (total, parts) in enumerate([(0, [1, 2, 3]), (1, [4, 5]), (6, [7, 8, 9]), (0, [6, 10, 11])]):
        equations[row, total] = 1
        equations[row, parts] = -1
    component = disclosure._Component(np.arange(m), equations, disclosure._Tree.build(np.array([-1])))
    n = 60
    j = rng.integers(0, m, n)
    pub = rng.random((n, m)) < 0.8
    pub[np.arange(n), j] = False
    values = rng.integers(0, 4, (n, m)).astype(float)  # ties, to check their order too
    k = component.basis.shape[1]
    room = np.stack([np.eye(k) if rng.random() < 0.5 else _room(rng, k) for _ in range(n)])
    fixed = np.eye(k) - room
    b = component.basis[j]
    taken, _ = component._fewest(b, fixed, values, pub)
    np.testing.assert_array_equal(taken, _two_passes(component.basis, b, fixed, values, pub))
    assert taken.any() and not taken.all()


def test_a_span_shared_among_threads_grows_as_one(monkeypatch):
    rng = np.random.default_rng(7)
    m = 12
    equations = np.zeros((2, m))
    for row, (total, parts) in enumerate([(0, [1, 2, 3]), (6, [7, 8, 9])]):
        equations[row, total] = 1
        equations[row, parts] = -1
    basis = disclosure._kernel(equations)
    k, n = basis.shape[1], 41
    j = rng.integers(0, m, n)
    fixed = np.stack([np.zeros((k, k)) if rng.random() < 0.5 else np.eye(k) - _room(rng, k) for _ in range(n)])
    order = np.argsort(rng.random((n, m)), axis=1)
    count = rng.integers(0, m + 1, n)

    def grow() -> tuple[np.ndarray, disclosure._Span]:
        span = disclosure._Span(basis, basis[j], fixed)
        return span.extend(order, np.arange(m)[::-1], count), span

    alone, one = grow()
    monkeypatch.setattr(disclosure, "_SPAN_SPLIT", 1)
    monkeypatch.setattr(disclosure.cores, "THREADS", 3)
    shared, many = grow()
    np.testing.assert_array_equal(shared, alone)
    np.testing.assert_array_equal(many.rank, one.rank)
    np.testing.assert_allclose(many.rest, one.rest, atol=1e-12)
    assert alone.any() and (one.rank > 0).any()


def _room(rng: np.random.Generator, k: int) -> np.ndarray:
    """A projector onto a random subspace of dimension k - 1."""
    q, _ = np.linalg.qr(rng.standard_normal((k, k - 1)))
    return q @ q.T


def test_targets_whose_subtrees_meet_go_in_order_and_the_others_together():
    # riket 0 > län 1, 2 > kommuner 3, 4 (in 1) and 5 (in 2)
    tree = disclosure._Tree.build(np.array([-1, 0, 0, 1, 1, 2]))
    root = np.array([3, 4, 1, 5, 3, 0, 2])
    # 3 and 4 are apart; 1 holds both; 5 is apart from them; 3 again waits for 1; 0 holds all; 2 holds 5.
    np.testing.assert_array_equal(disclosure._waves(tree, root), [0, 0, 1, 0, 2, 3, 4])


@pytest.mark.slow
def test_the_witnesses_in_waves_suppress_what_one_at_a_time_does(monkeypatch):
    counts, persons = ag.count(sy.draw(40_000, 22), "regso")
    together, _ = ag.protected_observations(counts, persons.kalla, min_antal=5, granska=False)
    monkeypatch.setattr(disclosure, "_waves", lambda tree, root: np.arange(root.size))
    alone, _ = ag.protected_observations(counts, persons.kalla, min_antal=5, granska=False)
    assert together["status"].is_not_null().sum() > 0
    assert together.equals(alone)


@pytest.mark.slow
def test_a_round_after_the_first_tests_only_what_it_repaired_and_every_target_ends_free(monkeypatch):
    """Suppressing more only adds changes, so the rounds after the first test again only the
    targets the round before repaired; afterwards the full test, on every target, finds nothing."""
    calls: list[tuple[np.ndarray | None, disclosure._Test | None]] = []
    final: list[tuple[disclosure._Table, np.ndarray]] = []
    leaks, per_row = disclosure._Component.leaks, disclosure._Table.per_row

    def spy_leaks(self, t, suppressed, only=None):
        test = leaks(self, t, suppressed, only)
        calls.append((None if only is None else only.copy(), test))
        return test

    def spy_per_row(self, suppressed):
        final.append((self, suppressed.copy()))
        return per_row(self, suppressed)

    monkeypatch.setattr(disclosure._Component, "leaks", spy_leaks)
    monkeypatch.setattr(disclosure._Table, "per_row", spy_per_row)
    counts, persons = ag.count(sy.draw(40_000, 22), "deso")
    ag.protected_observations(counts, persons.kalla, min_antal=5, granska=False)
    (t, suppressed), = final
    first = [test for only, test in calls[: len(t.components)]]
    assert all(only is None for only, _ in calls[: len(t.components)])
    repaired = np.zeros(suppressed.shape, dtype=bool)
    for test in first:
        if test is not None:
            repaired[test.areas, test.component.cols[test.cols]] = True
    assert repaired.any()  # the first round found leaks to repair
    second = calls[len(t.components) : 2 * len(t.components)]
    assert second and all(only is not None and np.array_equal(only, repaired) for only, _ in second)
    monkeypatch.setattr(disclosure._Component, "leaks", leaks)
    assert all(c.leaks(t, suppressed) is None for c in t.components)
