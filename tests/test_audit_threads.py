"""The intruder's audit solves the batches of each LP in a thread per core: the published
table must not depend on the number of threads (each batch keeps its own solver)."""

from __future__ import annotations

import pytest

from utanforskap.microdata import aggregate as ag
from utanforskap.microdata import audit as au
from utanforskap.microdata import cores
from utanforskap.microdata import synthetic as sy


def _protected(monkeypatch, threads: int):
    monkeypatch.setattr(cores, "THREADS", threads)
    monkeypatch.setattr(au, "_BATCH_COLUMNS", 40)  # many small batches, so that threads share them
    cores.pool.cache_clear()
    counts, persons = ag.count(sy.draw(40_000, 21), "regso")
    batches: list[int] = []
    solve = au._solve_batch

    def counting(job):
        batches.append(1)
        return solve(job)

    monkeypatch.setattr(au, "_solve_batch", counting)
    obs, _ = ag.protected_observations(counts, persons.kalla, min_antal=5, granska=True)
    cores.pool.cache_clear()
    return obs, len(batches)


@pytest.mark.slow
def test_the_audited_table_is_the_same_with_one_and_two_threads(monkeypatch):
    one, solved = _protected(monkeypatch, 1)
    two, _ = _protected(monkeypatch, 2)
    assert solved > 10  # the LPs were split into batches
    assert one.equals(two)
