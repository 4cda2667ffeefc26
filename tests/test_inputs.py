"""A method's inputs read from a store: each input summed over its declared years in one pass
(issue 16), and a store's level read once per process but never stale after a commit.

The store is SYNTETISKA DATA made up for the test: three real RegSO codes, made-up counts.
"""

import polars as pl
import pytest

from utanforskap.errors import InputError
from utanforskap.methods import loader
from utanforskap.observations import schema
from utanforskap.observations.store import ObservationStore
from utanforskap.results.inputs import method_inputs

A, B, C = "0114R001", "0114R002", "0114R003"


def _method(years=(-2, -1, 0)):
    return loader.load_dict(
        {
            "id": "test", "titel": "Test", "version": "1", "proveniens": "syntetisk", "nyckel": "regso_kod",
            "indata": {
                "brott": {"perioder": list(years)},
                "sysselsatta": {"variabel": "andel_sysselsatta", "falt": "taljare"},
                "befolkning": {},
            },
            "steg": [],
            "utdata": {"kolumner": ["brott", "sysselsatta", "befolkning"]},
        },
        "test.toml",
    )


def _row(omrade, period, variabel, varde=None, taljare=None):
    base = {c: None for c in schema.COLUMNS}
    return {**base, "omrade": omrade, "niva": "regso", "period": period, "variabel": variabel, "varde": varde,
            "taljare": taljare, "namnare": 1000.0 if taljare is not None else None, "enhet": "antal", "kalla": "TEST"}


def _store(tmp_path, rows):
    store = ObservationStore(tmp_path)
    store.write({"test": pl.DataFrame(rows, schema=schema.COLUMNS)})
    return store


def _rows():
    return [
        # A: every year; B: 2021 missing; C: a missing value in 2020
        *(_row(A, str(y), "brott", varde=v) for y, v in ((2020, 1.5), (2021, 2.25), (2022, 4.0))),
        *(_row(B, str(y), "brott", varde=1.0) for y in (2020, 2022)),
        _row(C, "2020", "brott"), _row(C, "2021", "brott", varde=1.0), _row(C, "2022", "brott", varde=1.0),
        _row(A, "2022", "andel_sysselsatta", varde=0.5, taljare=500.0), _row(B, "2022", "andel_sysselsatta", varde=0.25, taljare=250.0),
        *(_row(x, "2022", "befolkning", varde=1000.0) for x in (A, B, C)),
    ]


def test_inputs_sum_their_years_and_a_gap_makes_the_sum_missing(tmp_path):
    got = method_inputs(_method(), _store(tmp_path, _rows()), 2022)
    assert got.columns == ["regso_kod", "brott", "sysselsatta", "befolkning"]
    assert got.schema["brott"] == got.schema["sysselsatta"] == pl.Float64
    rows = {r["regso_kod"]: r for r in got.filter(pl.col("regso_kod").is_in([A, B, C])).iter_rows(named=True)}
    assert rows[A] == {"regso_kod": A, "brott": 7.75, "sysselsatta": 500.0, "befolkning": 1000.0}
    assert rows[B]["brott"] is None and rows[B]["sysselsatta"] == 250.0  # a year missing
    assert rows[C]["brott"] is None and rows[C]["sysselsatta"] is None  # a missing value; no row
    others = got.filter(~pl.col("regso_kod").is_in([A, B, C]))
    assert others.height > 3000 and others["brott"].null_count() == others.height  # every RegSO, missing without data


def test_a_year_the_store_lacks_is_named(tmp_path):
    with pytest.raises(InputError, match=r"variabeln brott saknas för regso år 2019 \(metoden test, indata brott\)"):
        method_inputs(_method((-3, 0)), _store(tmp_path, _rows()), 2022)


def test_a_read_after_a_commit_sees_the_new_data(tmp_path):
    store = _store(tmp_path, _rows())
    assert store.read(niva="regso", variabler=["befolkning"])["varde"].to_list() == [1000.0] * 3
    assert "ny" not in store.variables("regso")
    store.write({"test": pl.DataFrame([*_rows()[:-1], _row(C, "2022", "befolkning", varde=7.0), _row(A, "2022", "ny", varde=1.0)], schema=schema.COLUMNS)})
    assert store.read(niva="regso", variabler=["befolkning"])["varde"].to_list() == [1000.0, 1000.0, 7.0]
    assert "ny" in store.variables("regso")
