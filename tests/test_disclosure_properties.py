"""Disclosure control: the rules hold on random hierarchies and counts (hypothesis).

The oracle is tests/disclosure_audit.py, written independently of microdata.disclosure:
every figure is a functional of base cells (A, B, C, the unpublished remainder D, and days
W), and a protected figure counts as given away when the published figures determine it
by any linear combination across categories and levels, not only by one equation.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from disclosure_audit import Problem, recoverable, recoverable_dense
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utanforskap.microdata import audit as au
from utanforskap.microdata.disclosure import Partition, protect

LEVELS = ("deso", "regso", "kommun", "lan", "riket")
# Nested and overlapping categories: T = A + B + C + hidden D; S = A + B (inside T);
# V = B + C (overlaps S); U = T (an identity, like befolkning_bakgrund = befolkning).
PARTITIONS = (
    Partition("T", ("A", "B", "C"), dold="D"),
    Partition("S", ("A", "B")),
    Partition("V", ("B", "C")),
    Partition("U", ("T",)),
)
BASE = ("A", "B", "C", "D", "W")
FUNCTIONAL = {
    "A": (1, 0, 0, 0, 0), "B": (0, 1, 0, 0, 0), "C": (0, 0, 1, 0, 0), "T": (1, 1, 1, 1, 0),
    "S": (1, 1, 0, 0, 0), "V": (0, 1, 1, 0, 0), "U": (1, 1, 1, 1, 0), "W": (0, 0, 0, 0, 1),
}
REMAINDER_D = np.array([0, 0, 0, 1, 0], dtype=float)


@st.composite
def tree(draw):
    """A random hierarchy riket -> län -> kommun -> regso -> deso: edges and the DeSO codes."""
    edges = []
    leaves = []

    def grow(code: str, depth: int) -> None:
        if depth == len(LEVELS) - 1:
            leaves.append(code)
            return
        for i in range(draw(st.integers(1, 3))):
            child = f"{code}.{i}"
            edges.append((child, LEVELS[-2 - depth], code, LEVELS[-1 - depth]))
            grow(child, depth + 1)

    grow("SE", 0)
    return edges, leaves


@st.composite
def scenario(draw):
    edges, leaves = draw(tree())
    # Small counts, many below the threshold: the interesting case.
    small = st.integers(0, 12)
    counts = {leaf: {v: draw(small) for v in "ABCD"} for leaf in leaves}
    days = {leaf: (draw(st.integers(0, 400)), draw(st.integers(0, 6))) for leaf in leaves}
    n = draw(st.integers(1, 8))
    return edges, counts, days, n


def build_cells(edges, counts, days):
    """Counts at every level (sums up the tree), in the cell layout protect() expects."""
    parent = {c: p for c, _, p, _ in edges}
    level_of = {p: lv for _, _, p, lv in edges} | {c: lv for c, lv, _, _ in edges}
    values: dict[tuple[str, str], float] = {}
    behind: dict[tuple[str, str], float] = {}
    for leaf, x in counts.items():
        derived = dict(x, T=x["A"] + x["B"] + x["C"] + x["D"], S=x["A"] + x["B"], V=x["B"] + x["C"])
        derived["U"] = derived["T"]
        derived["W"] = days[leaf][0] if days[leaf][1] else 0  # days, and the persons behind them
        area = leaf
        while True:
            for v, value in derived.items():
                values[(area, v)] = values.get((area, v), 0) + value
            behind[(area, "W")] = behind.get((area, "W"), 0) + days[leaf][1]
            if area not in parent:
                break
            area = parent[area]
    rows = [
        {"omrade": a, "niva": level_of[a], "period": "2022", "variabel": v, "varde": float(x),
         "bakom": float(behind[(a, v)]) if v == "W" else None}
        for (a, v), x in values.items() if v != "D"
    ]
    cells = pl.DataFrame(rows, schema={"omrade": pl.String, "niva": pl.String, "period": pl.String,
                                       "variabel": pl.String, "varde": pl.Float64, "bakom": pl.Float64})
    edge_df = pl.DataFrame(edges, schema=["barn", "barn_niva", "foralder", "foralder_niva"], orient="row")
    return cells, edge_df, values, behind


def audit(edges, published: pl.DataFrame, values, behind, n) -> Problem:
    """The problem for the independent checker: published rows, and every target that must stay hidden."""
    areas = sorted({a for a, _ in values})
    index = {a: i for i, a in enumerate(areas)}
    parent = [-1] * len(areas)
    for c, _, p, _ in edges:
        parent[index[c]] = index[p]
    rows: list[list[np.ndarray]] = [[] for _ in areas]
    for r in published.filter(pl.col("status").is_null()).iter_rows(named=True):
        rows[index[r["omrade"]]].append(np.array(FUNCTIONAL[r["variabel"]], dtype=float))
    problem = Problem(len(BASE), parent, rows)
    for (a, v), x in values.items():
        if v == "D":
            if x < n:  # a small remainder (zero too: everyone in T is A, B or C) must not be computable either
                problem.targets.append((index[a], REMAINDER_D, (a, "D")))
        elif (behind[(a, v)] if v == "W" else x) < n:
            problem.targets.append((index[a], np.array(FUNCTIONAL[v], dtype=float), (a, v)))
    return problem


def run(case):
    """Protect a drawn scenario: (output cells, checker problem, N)."""
    edges, counts, days, n = case
    cells, edge_df, values, behind = build_cells(edges, counts, days)
    out = protect(cells, edges=edge_df, partitions=PARTITIONS, min_antal=n)
    return out, audit(edges, out, values, behind, n), n


def primary_only(case) -> Problem:
    """The same scenario with only primary suppression: what the checker must catch."""
    edges, counts, days, n = case
    cells, _, values, behind = build_cells(edges, counts, days)
    published = cells.with_columns(
        status=pl.when(pl.coalesce("bakom", "varde") < n).then(pl.lit("skyddad")).otherwise(None)
    )
    return audit(edges, published, values, behind, n)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@PROPERTY
@given(scenario())
def test_every_published_figure_rests_on_at_least_n_persons(case):
    out, _, n = run(case)
    published = out.filter(pl.col("status").is_null())
    assert (published["bakom"] >= n).all()
    assert published["varde"].null_count() == 0
    # Primary suppression is exactly the cells below N; suppressed cells are empty, never zero.
    assert ((out["bakom"] < n) == (out["status"] == "skyddad")).all()
    suppressed = out.filter(pl.col("status").is_not_null())
    assert suppressed["varde"].null_count() == suppressed.height
    assert set(out["status"].drop_nulls().unique().to_list()) <= {"skyddad", "skyddad_sekundar"}


@pytest.mark.slow
@PROPERTY
@given(scenario())
def test_no_protected_value_can_be_computed_from_the_published_ones(case):
    _, problem, _ = run(case)
    assert recoverable(problem) == []


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_the_checker_agrees_with_the_definition(case):
    """The tree algorithm of the checker = rank of the whole system, with and without leaks."""
    _, protected, _ = run(case)
    leaky = primary_only(case)
    for problem in (protected, leaky):
        assert sorted(recoverable(problem)) == sorted(recoverable_dense(problem))


def test_without_secondary_suppression_the_checker_finds_the_leaks():
    # One kommun with two RegSO: A is small in r1; S = A + B and T - C - ... give it away.
    edges = [("r1", "regso", "k", "kommun"), ("r2", "regso", "k", "kommun")]
    counts = {"r1": {"A": 2, "B": 9, "C": 7, "D": 6}, "r2": {"A": 8, "B": 9, "C": 9, "D": 9}}
    days = {"r1": (0, 0), "r2": (0, 0)}
    cells, edge_df, values, behind = build_cells(edges, counts, days)
    leaks = recoverable(primary_only((edges, counts, days, 5)))
    assert ("r1", "A") in leaks  # S - B, or the kommun's A minus r2's
    out = protect(cells, edges=edge_df, partitions=PARTITIONS, min_antal=5)
    assert recoverable(audit(edges, out, values, behind, 5)) == []


def test_nested_partitions_do_not_give_a_remainder_away():
    # T = A + B + C + D and S = A + B: one equation at a time, suppressing A and B looks safe,
    # but T - C - S = D. The remainder D = 3 < 5 must not be computable.
    cells = pl.DataFrame({
        "omrade": ["a"] * 5, "niva": ["deso"] * 5, "period": ["2022"] * 5,
        "variabel": ["T", "A", "B", "C", "S"], "varde": [30.0, 2.0, 10.0, 15.0, 12.0], "bakom": [None] * 5,
    }, schema_overrides={"bakom": pl.Float64})
    partitions = [Partition("T", ("A", "B", "C"), dold="D"), Partition("S", ("A", "B"))]
    empty = pl.DataFrame(schema=["barn", "barn_niva", "foralder", "foralder_niva"])
    out = protect(cells, edges=empty, partitions=partitions, min_antal=5)
    published = {r["variabel"] for r in out.iter_rows(named=True) if r["status"] is None}
    f = {"T": [1, 1, 1, 1], "A": [1, 0, 0, 0], "B": [0, 1, 0, 0], "C": [0, 0, 1, 0], "S": [1, 1, 0, 0]}
    problem = Problem(4, [-1], [[np.array(f[v], dtype=float) for v in published]],
                      [(0, np.array([0, 0, 0, 1.0]), "D"), (0, np.array([1.0, 0, 0, 0]), "A")])
    assert recoverable(problem) == []
    # What one equation at a time would publish (A and B suppressed) gives D away.
    single_equation = Problem(4, [-1], [[np.array(f[v], dtype=float) for v in ("T", "C", "S")]],
                              [(0, np.array([0, 0, 0, 1.0]), "D")])
    assert recoverable(single_equation) == ["D"]


def test_a_single_small_child_takes_its_smallest_sibling_with_it():
    edges = [("r1", "regso", "k", "kommun"), ("r2", "regso", "k", "kommun"), ("r3", "regso", "k", "kommun")]
    cells = pl.DataFrame({
        "omrade": ["r1", "r2", "r3", "k"], "niva": ["regso"] * 3 + ["kommun"], "period": ["2022"] * 4,
        "variabel": ["x"] * 4, "varde": [3.0, 40.0, 9.0, 52.0], "bakom": [None] * 4,
    }, schema_overrides={"bakom": pl.Float64})
    edge_df = pl.DataFrame(edges, schema=["barn", "barn_niva", "foralder", "foralder_niva"], orient="row")
    out = protect(cells, edges=edge_df, min_antal=5).sort("omrade")
    assert out["status"].to_list() == [None, "skyddad", None, "skyddad_sekundar"]
    assert out["varde"].to_list() == [52.0, None, 40.0, None]


def test_nothing_small_means_nothing_suppressed():
    cells = pl.DataFrame({
        "omrade": ["a", "a", "a"], "niva": ["deso"] * 3, "period": ["2022"] * 3,
        "variabel": ["T", "A", "B"], "varde": [30.0, 10.0, 20.0], "bakom": [None] * 3,
    }, schema_overrides={"bakom": pl.Float64})
    out = protect(cells, edges=pl.DataFrame(schema=["barn", "barn_niva", "foralder", "foralder_niva"]),
                  partitions=[Partition("T", ("A", "B"))], min_antal=5)
    assert out["status"].null_count() == 3


def test_a_small_hidden_remainder_suppresses_a_part():
    # T = 30, A = 28: publishing both reveals that 2 persons are not A.
    cells = pl.DataFrame({
        "omrade": ["a", "a"], "niva": ["deso"] * 2, "period": ["2022"] * 2,
        "variabel": ["T", "A"], "varde": [30.0, 28.0], "bakom": [None] * 2,
    }, schema_overrides={"bakom": pl.Float64})
    out = protect(cells, edges=pl.DataFrame(schema=["barn", "barn_niva", "foralder", "foralder_niva"]),
                  partitions=[Partition("T", ("A",), dold="ej_A")], min_antal=5)
    assert dict(zip(out["variabel"], out["status"], strict=True)) == {"T": None, "A": "skyddad_sekundar"}


@pytest.mark.parametrize(("protect_zero", "status"), [(True, "skyddad_sekundar"), (False, None)])
def test_a_zero_remainder_is_protected_unless_it_only_measures_coverage(protect_zero, status):
    # T = A = 30: publishing both says that everyone in T is A (a group disclosure), unless
    # the remainder only says that a register covers everyone.
    cells = pl.DataFrame({
        "omrade": ["a", "a"], "niva": ["deso"] * 2, "period": ["2022"] * 2,
        "variabel": ["T", "A"], "varde": [30.0, 30.0], "bakom": [None] * 2,
    }, schema_overrides={"bakom": pl.Float64})
    out = protect(cells, edges=pl.DataFrame(schema=["barn", "barn_niva", "foralder", "foralder_niva"]),
                  partitions=[Partition("T", ("A",), dold="ej_A", protect_zero=protect_zero)], min_antal=5)
    assert dict(zip(out["variabel"], out["status"], strict=True)) == {"T": None, "A": status}


def test_threshold_below_one_is_an_error():
    from utanforskap.errors import InputError

    with pytest.raises(InputError, match="min_antal"):
        protect(pl.DataFrame({"omrade": ["a"], "niva": ["deso"], "period": ["2022"], "variabel": ["x"],
                              "varde": [1.0], "bakom": [None]}, schema_overrides={"bakom": pl.Float64}),
                edges=pl.DataFrame(), min_antal=0)



def test_a_cell_given_twice_is_an_error_naming_it():
    from utanforskap.errors import InputError

    cells = pl.DataFrame({"omrade": ["a", "b", "b"], "niva": ["deso"] * 3, "period": ["2022"] * 3,
                          "variabel": ["x", "x", "x"], "varde": [1.0, 7.0, 8.0], "bakom": [None] * 3},
                         schema_overrides={"bakom": pl.Float64})
    with pytest.raises(InputError, match="cellen b x 2022 förekommer två gånger"):
        protect(cells, edges=pl.DataFrame(), min_antal=5)
    protect(cells.head(2), edges=pl.DataFrame(), min_antal=5)  # each cell once: no error

# ---- the intruder's audit (microdata.audit) after the protection that aggregera runs ------------
RULES = au.Rules(skyddsmarginal=2, dominans_k=0.6, dagar_minsta_marginal=30, dagar_per_person=366)


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_after_protection_the_intruders_audit_finds_no_violation(case):
    """audit.protect (primary, first guess, then audit -> suppress until it passes): an independent
    audit of the result, with the true values, finds no cell narrowed below its protection level,
    and the published file has one status only."""
    edges, counts, days, n = case
    cells, edge_df, _, _ = build_cells(edges, counts, days)
    # Counts only: with W (a sum whose persons `bakom` are not in any equation) protect() can end
    # with a cell it cannot widen (known limitation, see docs/mikrodata.md).
    cells = cells.filter(pl.col("variabel") != "W")
    done = au.protect(cells, edges=edge_df, partitions=PARTITIONS, min_antal=n, rules=RULES)
    assert set(done.cells["status"].drop_nulls().unique().to_list()) <= {"skyddad"}
    assert done.audit.ok
    # A level withheld (mostly below N) is not published at all: the audit sees the rest.
    published = done.cells.select("omrade", "niva", "period", "variabel", "varde", "bakom", "status").with_columns(
        sant=cells["varde"]).filter(~pl.col("niva").is_in(list(done.withheld)))
    assert published.height == done.published.height
    again = au.audit(published, edges=edge_df, partitions=PARTITIONS, min_antal=n, rules=RULES, exact=True)
    assert again.ok, again.message()
    # Every published count rests on at least N persons; the linear checker finds nothing either.
    ok = done.cells.filter(pl.col("status").is_null())
    assert (ok["bakom"] >= n).all()
