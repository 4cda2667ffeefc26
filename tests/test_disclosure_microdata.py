"""Disclosure control as configured for microdata: the real hierarchy and category equations.

An independent audit (polars, not microdata.disclosure) of the published output of a small
synthetic population: no equation of the real configuration has exactly one unknown member
that is protected, and every published count rests on at least N persons.
"""

from __future__ import annotations

import polars as pl
import pytest

from utanforskap.geography.hierarchy import default as default_geography
from utanforskap.microdata import aggregate as ag
from utanforskap.microdata import synthetic as sy

N = 5
KEY = ["omrade", "niva", "period"]


@pytest.fixture(scope="module")
def published():
    counts, persons = ag.count(sy.draw(40_000, 21), "regso")
    obs = ag.to_observations(counts, persons.kalla, min_antal=N)
    raw = ag.to_observations(counts, persons.kalla, skydda=False)
    return obs, raw, counts


def _numerators(obs: pl.DataFrame) -> pl.DataFrame:
    """One value per cell: counts as they are, and the numerator of a share row."""
    return obs.with_columns(
        varde=pl.when(pl.col("enhet") == "andel").then(pl.col("taljare")).otherwise(pl.col("varde"))
    ).select(*KEY, "variabel", "varde", "status")


def test_published_counts_rest_on_at_least_n(published):
    obs, _, counts = published
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


def test_no_equation_of_the_real_configuration_gives_a_protected_value_away(published):
    obs, raw, _ = published
    cells = _numerators(obs)
    truth = _numerators(raw).select(*KEY, "variabel", pl.col("varde").alias("sant"))
    unknown = cells.with_columns(_okand=pl.col("status").is_not_null())

    # Category equations, with the hidden remainder as a member.
    for part in ag.PARTITIONS:
        members = [part.total, *part.parts]
        sub = unknown.filter(pl.col("variabel").is_in(members))
        per_area = sub.group_by(KEY).agg(pl.col("_okand").sum().alias("okanda"))
        if part.dold is None:
            assert per_area.filter(pl.col("okanda") == 1).is_empty(), part
            continue
        # The remainder is never published: it must not be the only unknown member while small.
        sign = pl.when(pl.col("variabel") == part.total).then(1.0).otherwise(-1.0)
        rest = (
            truth.filter(pl.col("variabel").is_in(members)).group_by(KEY)
            .agg((sign * pl.col("sant")).sum().alias("rest"))
        )
        lone = per_area.join(rest, on=KEY).filter((pl.col("okanda") == 0) & pl.col("rest").is_between(1, N - 1))
        assert lone.is_empty(), (part, lone.head())

    # Hierarchy equations: each parent with its children at the next published level.
    geo = default_geography()
    levels = ["regso", "kommun", "lan", "riket"]
    for child, parent in zip(levels[:-1], levels[1:], strict=True):
        mapping = geo.mapping(child, parent).rename({f"{child}_kod": "omrade", f"{parent}_kod": "foralder"})
        kids = unknown.filter(pl.col("niva") == child).join(mapping, on="omrade")
        per_parent = kids.group_by("foralder", "period", "variabel").agg(pl.col("_okand").sum().alias("barn"))
        parents = unknown.filter(pl.col("niva") == parent).rename({"omrade": "foralder"})
        eq = per_parent.join(parents, on=["foralder", "period", "variabel"])
        single = eq.filter(pl.col("barn") + pl.col("_okand").cast(pl.UInt32) == 1)
        assert single.is_empty(), (child, parent, single.head())

    # And something was protected at all, or the audit proves nothing.
    assert obs.filter(pl.col("status") == "skyddad_sekundar").height > 100
