"""Scale-out: the same ibis aggregation on Spark (local mode) gives exactly DuckDB's answer.

Needs pyspark (requirements-spark.lock; .ci/run installs it) and Java 17. Outside CI the
test is skipped when they are missing; in CI (CI=true) their absence is a failure.
"""

from __future__ import annotations

import os
import shutil

import polars as pl
import pytest

from utanforskap.microdata import aggregate as ag
from utanforskap.microdata import synthetic as sy

IN_CI = bool(os.environ.get("CI"))


def _need_spark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if IN_CI:
            raise
        pytest.skip("pyspark saknas: pip install -r requirements-spark.lock")
    if shutil.which("java") is None:
        if IN_CI:
            pytest.fail("java saknas: apt-get install -y openjdk-17-jre-headless")
        pytest.skip("java saknas")


@pytest.mark.slow
def test_duckdb_and_spark_give_identical_results(tmp_path):
    _need_spark()
    path = sy.write(sy.draw(30_000, 8), tmp_path / "syntetisk.parquet")
    duck, _ = ag.count(path, "deso", motor="duckdb")
    spark, _ = ag.count(path, "deso", motor="spark")
    assert duck.height == 5984 + 3363 + 290 + 21 + 1
    assert duck.equals(spark)
    # And through disclosure control to the published observations: the audited protection (a
    # function of the counts, equal above), and the linear one.
    persons = ag.open_persons(path)
    for granska in (True, False):
        a = ag.to_observations(duck, persons.kalla, granska=granska)
        b = ag.aggregate(path, "deso", motor="spark", granska=granska)
        assert a.equals(b)
        assert a["status"].is_not_null().any()
    assert b["kalla"].str.starts_with("SYNTETISKA DATA").all()
    # An in-memory table goes the same way (via a scratch file for Spark).
    memory, _ = ag.count(pl.read_parquet(path), "regso", motor="spark")
    assert memory.equals(duck.filter(pl.col("niva") != "deso"))
