"""Disclosure control as configured for microdata: the real hierarchy and category equations.

An independent audit (tests/disclosure_audit.py, not microdata.disclosure) of the
published output of a small synthetic population: the checker states every variable in
base cells of its own, and no protected figure or small remainder may lie in the row
space of the published figures (any combination of categories and levels). Every
published count rests on at least N persons.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from disclosure_audit import COVERAGE, FUNCTIONALS, REMAINDERS, microdata_problem, modelled, recoverable, remainder_functional

from utanforskap.geography.hierarchy import default as default_geography
from utanforskap.microdata import aggregate as ag
from utanforskap.microdata import synthetic as sy

N = 5
# Groups declared for the intruder's audit (issue 17) that the linear protection alone does not
# cover (befolkning_15 = befolkning_15_19 - befolkning_16_19, both members unpublished or a
# remainder): only the audit of `aggregera` protects them. Known, stated in docs/mikrodata.md.
AUDIT_ONLY = {"befolkning_15", "ej_sysselsatta_16_19"}


@pytest.fixture(scope="module")
def published():
    counts, persons = ag.count(sy.draw(40_000, 21), "regso")
    # The linear protection (what the independent checker of this file tests); the intruder's LP
    # audit on top of it is tested in test_disclosure_attacks.py and test_disclosure_properties.py.
    obs, account = ag.protected_observations(counts, persons.kalla, min_antal=N, granska=False)
    raw = ag.to_observations(counts, persons.kalla, skydda=False)
    secondary = account.cells.filter(pl.col("skal") == "sekundar").select("omrade", "niva", "period", "variabel")
    return obs, raw, counts, secondary


@pytest.mark.slow
def test_published_counts_rest_on_at_least_n(published):
    obs, _, counts, _ = published
    ok = obs.filter(pl.col("status").is_null())
    persons = ok.filter(pl.col("enhet") == "antal")["varde"]
    assert (persons >= N).all()
    shares = ok.filter(pl.col("enhet") == "andel")
    assert ((shares["taljare"] >= N) & (shares["namnare"] >= N)).all()
    days = ok.filter(pl.col("variabel") == "ohalsodagar_16_64").join(
        counts.select(pl.col("omrade"), pl.col("_bakom_ohalsodagar_16_64").alias("bakom")), on="omrade"
    )
    assert (days["bakom"] >= N).all()
    assert obs.filter(pl.col("status").is_not_null()).select(pl.col("varde").is_null().all()).item()


@pytest.mark.slow
def test_no_protected_figure_can_be_computed_from_the_published_ones(published):
    obs, _, counts, _ = published
    problem = microdata_problem(obs, counts, N, default_geography())
    assert len(problem.targets) > 10_000  # plenty to protect in 40 000 persons over 3 363 RegSO
    leaks = recoverable(problem)
    assert {leak[-1] for leak in leaks} <= AUDIT_ONLY, [leak for leak in leaks if leak[-1] not in AUDIT_ONLY][:10]
    # And something was protected at all, or the audit proves nothing.
    assert set(obs["status"].drop_nulls().unique().to_list()) == {"skyddad"}  # one status in what is published
    assert published[3].height > 100


@pytest.mark.slow
def test_the_audit_catches_the_leaks_without_secondary_suppression(published):
    """Publishing the secondary cells again must make the audit fail (here: one län, to keep it quick)."""
    obs, raw, counts, secondary = published
    lan = "01"
    restored = obs.join(raw.select("omrade", "niva", "period", "variabel", pl.col("varde").alias("_sant"),
                                   pl.col("taljare").alias("_t"), pl.col("namnare").alias("_n")),
                        on=["omrade", "niva", "period", "variabel"])
    in_lan = pl.col("omrade").str.starts_with(lan) & (pl.col("niva") != "riket")
    restored = restored.join(secondary.with_columns(_sek=pl.lit(True)), on=["omrade", "niva", "period", "variabel"],
                             how="left")
    reopen = pl.col("_sek").fill_null(False) & in_lan
    leaky = restored.with_columns(
        varde=pl.when(reopen).then(pl.col("_sant")).otherwise(pl.col("varde")),
        taljare=pl.when(reopen).then(pl.col("_t")).otherwise(pl.col("taljare")),
        namnare=pl.when(reopen).then(pl.col("_n")).otherwise(pl.col("namnare")),
        status=pl.when(reopen).then(None).otherwise(pl.col("status")),
    ).drop("_sant", "_t", "_n", "_sek")
    leaks = [leak for leak in recoverable(microdata_problem(leaky, counts, N, default_geography()))
             if leak[-1] not in AUDIT_ONLY]
    assert len(leaks) > 10
    assert all(area.startswith(lan) for area, *_ in leaks)


def test_the_checkers_base_cells_imply_exactly_the_declared_partitions():
    """No linear relation between the variables that PARTITIONS does not state (nor one it states wrongly)."""
    names = list(FUNCTIONALS) + list(REMAINDERS)
    declared = set(ag.VARIABLE_NAMES) | {p.dold for p in ag.PARTITIONS if p.dold}
    assert set(names) == {v for v in declared if modelled(v)}
    partitions = [p for p in ag.PARTITIONS if all(modelled(v) for v in (p.total, *p.parts, *([p.dold] if p.dold else [])))]
    assert {p.dold for p in partitions if p.dold and not p.protect_zero} == COVERAGE
    f = np.array([FUNCTIONALS[v] for v in FUNCTIONALS] + [remainder_functional(r) for r in REMAINDERS])
    equations = []
    for p in partitions:
        row = np.zeros(len(names))
        row[names.index(p.total)] += 1
        for part in (*p.parts, *([p.dold] if p.dold else [])):
            row[names.index(part)] -= 1
        equations.append(row)
    e = np.array(equations)
    assert np.abs(e @ f).max() == 0  # every declared equation holds for the base cells
    # ... and they are all of them: the relations among the names have the dimension of e's row space.
    assert len(names) - np.linalg.matrix_rank(f) == np.linalg.matrix_rank(e)
