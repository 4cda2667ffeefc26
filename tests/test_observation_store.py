"""The observation store: schema checks, atomic commits, reads and the wide pivot."""

import json

import polars as pl
import pytest

from utanforskap.errors import InputError
from utanforskap.observations import schema
from utanforskap.observations.store import ObservationStore


def obs(rows):
    base = {c: None for c in schema.COLUMNS}
    return pl.DataFrame([{**base, **r} for r in rows], schema=schema.COLUMNS)


def sample():
    return obs(
        [
            dict(omrade="0114C1010", niva="deso", period="2022", variabel="sysselsatta", varde=700.0, enhet="antal", kalla="SCB 000007A8"),
            dict(omrade="0114C1020", niva="deso", period="2022", variabel="sysselsatta", varde=500.0, enhet="antal", kalla="SCB 000007A8"),
            dict(omrade="0114C1010", niva="deso", period="2022", variabel="lag_ek", taljare=70.0, namnare=1000.0, varde=0.07, enhet="andel", kalla="SCB 000006TA"),
        ]
    )


def test_write_then_read_and_wide(tmp_path):
    store = ObservationStore(tmp_path)
    store.write({"a": sample()})
    got = store.read(niva="deso", variabler=["sysselsatta"])
    assert got.height == 2 and got["varde"].sum() == 1200
    wide = store.wide("deso", "2022", ["sysselsatta", "lag_ek"], falt=("varde", "taljare"))
    assert wide.columns == ["omrade", "sysselsatta", "sysselsatta__taljare", "lag_ek", "lag_ek__taljare"]
    row = wide.filter(pl.col("omrade") == "0114C1010").row(0, named=True)
    assert row["lag_ek__taljare"] == 70.0 and row["sysselsatta"] == 700.0


def test_wide_names_missing_variable(tmp_path):
    store = ObservationStore(tmp_path)
    store.write({"a": sample()})
    with pytest.raises(InputError, match="saknar trangboddhet"):
        store.wide("deso", "2022", ["sysselsatta", "trangboddhet"])


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(taljare=2000.0), "täljaren 2000.0 är större än nämnaren"),
        (dict(taljare=-1.0), "negativt antal"),
        (dict(niva="socken"), "okänd nivå"),
        (dict(status="konstig"), "okänd status"),
        (dict(omrade=None), "tomt värde i kolumnen omrade"),
        (dict(varde=float("nan")), "varde = nan är inte ett ändligt tal för 0114C1010 lag_ek 2022"),
        (dict(namnare=float("inf")), "namnare = inf är inte ett ändligt tal"),
        (dict(status=""), "okänd status ''"),
    ],
)
def test_bad_rows_rejected_and_store_unchanged(tmp_path, change, message):
    store = ObservationStore(tmp_path)
    store.write({"a": sample()})
    before = (tmp_path / "manifest.json").read_text()
    bad = sample().with_columns(
        *(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit(v)).otherwise(pl.col(k)).alias(k) for k, v in change.items())
    )
    with pytest.raises(InputError, match=message) as err:
        store.write({"b": sample(), "a": bad})
    assert "rad 3" in str(err.value)
    assert (tmp_path / "manifest.json").read_text() == before
    assert list(store.datasets()) == ["a"]


def test_duplicate_key_rejected(tmp_path):
    df = pl.concat([sample(), sample().head(1)])
    with pytest.raises(InputError, match="dubblett av 0114C1010 deso 2022 sysselsatta"):
        ObservationStore(tmp_path).write({"a": df})


def test_failure_inside_transaction_commits_nothing(tmp_path):
    store = ObservationStore(tmp_path)
    store.write({"a": sample()})
    with pytest.raises(RuntimeError), store.transaction() as tx:
        tx.put("b", sample())
        raise RuntimeError("nätverket föll")
    assert list(store.datasets()) == ["a"]
    assert len(list((tmp_path / "data").glob("*.parquet"))) == 1


def test_replace_dataset_collects_old_file(tmp_path):
    store = ObservationStore(tmp_path)
    store.write({"a": sample()})
    store.write({"a": sample().head(1)})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["version"] == 2 and manifest["dataset"]["a"]["rader"] == 1
    assert len(list((tmp_path / "data").glob("*.parquet"))) == 1
    assert store.read().height == 1


def test_empty_store_reads_empty(tmp_path):
    assert ObservationStore(tmp_path).read().columns == list(schema.COLUMNS)


def test_written_files_are_readable_by_others(tmp_path):
    from utanforskap.atomic import write_text

    write_text(tmp_path / "x.txt", "hej")
    assert (tmp_path / "x.txt").stat().st_mode & 0o044 == 0o044
    ObservationStore(tmp_path / "lager").write({"a": sample()})
    for f in (tmp_path / "lager").rglob("*.*"):
        if f.name != ".lock":
            assert f.stat().st_mode & 0o044 == 0o044, f


def test_data_files_are_named_and_listed_by_their_sha256(tmp_path):
    from utanforskap.atomic import sha256_file

    store = ObservationStore(tmp_path)
    store.write({"a": sample()})
    entry = store.datasets()["a"]
    path = tmp_path / entry["fil"]
    assert sha256_file(path) == entry["sha256"] and path.name == f"a-{entry['sha256'][:16]}.parquet"
    assert store.dataset("a").sort("omrade", "variabel").equals(sample().sort("omrade", "variabel"))
    assert not list((tmp_path / "data").glob(".*.tmp"))


def test_same_key_in_two_datasets_is_rejected(tmp_path):
    store = ObservationStore(tmp_path)
    store.write({"a": sample()})
    before = (tmp_path / "manifest.json").read_text()
    files_before = sorted(p.name for p in (tmp_path / "data").iterdir())
    with pytest.raises(InputError, match="0114C1010 deso 2022 lag_ek finns redan i dataset a"):
        store.write({"b": sample().tail(1)})
    assert (tmp_path / "manifest.json").read_text() == before
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == files_before
    # replacing the dataset that holds the key is fine
    store.write({"a": sample().head(2), "b": sample().tail(1)})
    assert sorted(store.datasets()) == ["a", "b"] and store.read().height == 3
