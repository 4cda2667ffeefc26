"""Disclosure control: the two rules hold on random hierarchies and counts (hypothesis).

The oracle here is written independently of microdata.disclosure: it lists every equation
(parent = sum of children per variable; total = sum of parts per area) and attacks each
one by subtracting the published members from the published total (or adding published
parts up to a suppressed total).
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from utanforskap.microdata.disclosure import Partition, protect

LEVELS = ("deso", "regso", "kommun", "lan", "riket")
# T = A + B + C + hidden D; S = A + B; U = T (an identity, like befolkning_bakgrund = befolkning).
PARTITIONS = (
    Partition("T", ("A", "B", "C"), dold="D"),
    Partition("S", ("A", "B")),
    Partition("U", ("T",)),
)
BASE = ("A", "B", "C", "D")


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
    counts = {leaf: {v: draw(small) for v in BASE} for leaf in leaves}
    days = {leaf: (draw(st.integers(0, 400)), draw(st.integers(0, 6))) for leaf in leaves}
    n = draw(st.integers(1, 8))
    return edges, counts, days, n


def build_cells(edges, counts, days):
    """Counts at every level (sums up the tree), in the cell layout protect() expects."""
    parent = {c: (p, pl_) for c, _, p, pl_ in edges}
    level_of = {c: lv for c, lv, _, _ in edges} | {"SE": "riket"}
    values: dict[tuple[str, str], float] = {}
    behind: dict[tuple[str, str], float] = {}
    for leaf, vals in counts.items():
        derived = dict(vals, T=vals["A"] + vals["B"] + vals["C"] + vals["D"], S=vals["A"] + vals["B"])
        derived["U"] = derived["T"]
        derived["W"] = days[leaf][0] if days[leaf][1] else 0  # days, and the persons behind them
        area = leaf
        while True:
            for v, x in derived.items():
                if v == "D":
                    continue
                values[(area, v)] = values.get((area, v), 0) + x
            behind[(area, "W")] = behind.get((area, "W"), 0) + days[leaf][1]
            if area not in parent:
                break
            area = parent[area][0]
    rows = [
        {"omrade": a, "niva": level_of[a], "period": "2022", "variabel": v, "varde": float(x),
         "bakom": float(behind[(a, v)]) if v == "W" else None}
        for (a, v), x in values.items()
    ]
    cells = pl.DataFrame(rows, schema={"omrade": pl.String, "niva": pl.String, "period": pl.String,
                                       "variabel": pl.String, "varde": pl.Float64, "bakom": pl.Float64})
    edge_df = pl.DataFrame(edges, schema=["barn", "barn_niva", "foralder", "foralder_niva"], orient="row")
    return cells, edge_df, values


def equations(edges, values):
    """Every equation as (total key, [part keys]); a part key ('hidden', area) is the remainder D."""
    children: dict[str, list[str]] = {}
    for c, _, p, _ in edges:
        children.setdefault(p, []).append(c)
    variables = {v for _, v in values}
    areas = {a for a, _ in values}
    eqs = []
    for p, cs in children.items():
        for v in variables:
            eqs.append(((p, v), [(c, v) for c in cs]))
    for a in areas:
        eqs.append(((a, "T"), [(a, "A"), (a, "B"), (a, "C"), ("hidden", a)]))
        eqs.append(((a, "S"), [(a, "A"), (a, "B")]))
        eqs.append(((a, "U"), [(a, "T")]))
    return eqs


def run(case):
    """Protect a drawn scenario: (output cells, true values, N, edges)."""
    edges, counts, days, n = case
    cells, edge_df, values = build_cells(edges, counts, days)
    return protect(cells, edges=edge_df, partitions=PARTITIONS, min_antal=n), values, n, edges


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenario())
def test_every_published_figure_rests_on_at_least_n_persons(case):
    out, _, n, _ = run(case)
    published = out.filter(pl.col("status").is_null())
    assert (published["bakom"] >= n).all()
    assert published["varde"].null_count() == 0
    # Primary suppression is exactly the cells below N; suppressed cells are empty, never zero.
    assert ((out["bakom"] < n) == (out["status"] == "skyddad")).all()
    suppressed = out.filter(pl.col("status").is_not_null())
    assert suppressed["varde"].null_count() == suppressed.height
    assert set(out["status"].drop_nulls().unique().to_list()) <= {"skyddad", "skyddad_sekundar"}


@PROPERTY
@given(scenario())
def test_no_suppressed_value_can_be_recovered_from_a_total(case):
    out, values, n, edges = run(case)
    published = {(r["omrade"], r["variabel"]): r["varde"] for r in out.iter_rows(named=True) if r["status"] is None}
    hidden = {}
    for leaf_or_area in {a for a, _ in values}:
        t = values[(leaf_or_area, "T")]
        hidden[("hidden", leaf_or_area)] = t - values[(leaf_or_area, "A")] - values[(leaf_or_area, "B")] - values[(leaf_or_area, "C")]

    def protected(key) -> bool:
        if key[0] == "hidden":
            return 0 < hidden[key] < n  # a small remainder must not be derivable either
        return key not in published

    for total, parts in equations(edges, values):
        members = [total, *parts]
        unknown = [m for m in members if m not in published]
        if len(unknown) != 1:
            continue
        (target,) = unknown
        # The attack: a published total minus published parts, or published parts summed.
        if target == total:
            recovered = sum(published[p] for p in parts)
        else:
            recovered = published[total] - sum(published[p] for p in parts if p != target)
        truth = hidden[target] if target[0] == "hidden" else values[target]
        assert recovered == truth  # the oracle's bookkeeping is right
        assert not protected(target), f"{target} = {recovered} kan räknas fram ur {total}"


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


def test_threshold_below_one_is_an_error():
    from utanforskap.errors import InputError

    with pytest.raises(InputError, match="min_antal"):
        protect(pl.DataFrame({"omrade": ["a"], "niva": ["deso"], "period": ["2022"], "variabel": ["x"],
                              "varde": [1.0], "bakom": [None]}, schema_overrides={"bakom": pl.Float64}),
                edges=pl.DataFrame(), min_antal=0)
