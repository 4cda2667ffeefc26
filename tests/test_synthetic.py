"""SYNTETISKA DATA: the synthetic population is calibrated, labelled and usable by the methods."""

from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq
import pytest

from utanforskap.methods import data, engine, loader
from utanforskap.microdata import aggregate as ag
from utanforskap.microdata import schema as ms
from utanforskap.microdata import synthetic as sy
from utanforskap.sources.bundle import default_store

N = 150_000


@pytest.fixture(scope="module")
def marg():
    return sy.marginals()


@pytest.fixture(scope="module")
def people(marg):
    return sy.draw(N, 11, marg)


@pytest.fixture(scope="module")
def frame(people):
    return pl.from_arrow(people)


@pytest.mark.slow
def test_schema_size_and_label(people):
    ms.check_schema(people.schema, "syntetisk")
    assert people.num_rows == N
    meta = people.schema.metadata
    assert meta[ms.META_SYNTETISK] == b"true"
    assert meta[ms.META_KALLA].decode().startswith("SYNTETISKA DATA: syntetisk befolkning (150000 personer, seed 11")


@pytest.mark.slow
def test_national_levels_are_plausible(frame):
    a = pl.col("alder")
    got = frame.select(
        bistand=(pl.col("bistand_manader") >= 1).filter(a.is_between(20, 64)).mean(),
        trang=pl.col("trangbodd").drop_nulls().mean(),
        turnout=pl.col("rostat").filter(pl.col("rostberattigad")).mean(),
        behorig=pl.col("behorig_gymnasiet").filter(pl.col("lamnat_ak9")).mean(),
        misstankt=pl.col("misstankt_brott").filter(a >= 15).mean(),
        ohalsotal=pl.col("ohalsodagar").filter(a.is_between(16, 64)).mean(),
        syss_16_64=(pl.col("sysselsattning") == "sysselsatt").filter(a.is_between(16, 64)).mean(),
        lag=pl.col("lag_ekonomisk_standard").drop_nulls().mean(),
        rostberattigade=pl.col("rostberattigad").mean(),
    ).row(0, named=True)
    assert got["bistand"] == pytest.approx(0.04, abs=0.004)
    assert got["trang"] == pytest.approx(0.15, abs=0.008)
    assert got["turnout"] == pytest.approx(0.84, abs=0.008)
    assert got["behorig"] == pytest.approx(0.85, abs=0.025)
    assert got["misstankt"] == pytest.approx(0.012, abs=0.002)
    assert got["ohalsotal"] == pytest.approx(25.0, abs=1.5)
    # Calibrated to the real marginals: 77.8 % employed 16-64 and 13.6 % low economic standard in 2022.
    assert got["syss_16_64"] == pytest.approx(0.778, abs=0.008)
    assert got["lag"] == pytest.approx(0.136, abs=0.006)
    assert got["rostberattigade"] == pytest.approx(7.77e6 / 10.52e6, abs=0.02)


def test_every_lan_matches_the_real_marginals(people, marg):
    """Aggregated to län, the synthetic counts are the real ones scaled (within sampling noise)."""
    counts, _ = ag.count(people, "kommun")
    syn = counts.filter(pl.col("niva") == "lan")
    real = default_store().wide(
        "lan", "2022",
        ["befolkning", "utrikes_fodda", "sysselsatta_16_64", "utb_forgymnasial_25_64", "hushall_totalt",
         "befolkning_0_19"],
    ).rename({"omrade": "omrade"})
    low = default_store().wide("lan", "2022", ["lag_ekonomisk_standard"], falt=("taljare",))
    joined = syn.join(real.join(low, on="omrade"), on="omrade", suffix="_verklig")
    scale = N / marg.total
    assert joined.height == 21
    ratio = joined["befolkning"] / (joined["befolkning_verklig"] * scale)
    assert ((ratio - 1).abs() < 0.006).all()  # persons per DeSO are laid out, not drawn
    # The rest is drawn: within five binomial standard deviations (plus 5 % model error for households).
    for variable, real, slack in (
        ("befolkning_0_19", "befolkning_0_19_verklig", 0.0),
        ("utrikes_fodda", "utrikes_fodda_verklig", 0.0),
        ("sysselsatta_16_64", "sysselsatta_16_64_verklig", 0.0),
        ("utb_forgymnasial_25_64", "utb_forgymnasial_25_64_verklig", 0.0),
        ("lag_ekonomisk_standard", "lag_ekonomisk_standard__taljare", 0.0),
        ("hushall_totalt", "hushall_totalt_verklig", 0.05),
    ):
        expected = joined[real] * scale
        off = (joined[variable] - expected).abs()
        assert (off < 5 * expected.sqrt() + slack * expected).all(), (variable, (joined[variable] / expected).to_list())


@pytest.mark.slow
def test_same_seed_same_persons_and_n_is_exact(marg):
    a = sy.draw(20_000, 5, marg)
    b = sy.draw(20_000, 5, marg)
    c = sy.draw(20_000, 6, marg)
    assert a.equals(b)
    assert not a.equals(c)
    assert sy.draw(12_345, 1, marg).num_rows == 12_345


@pytest.mark.slow
def test_the_persons_do_not_depend_on_the_number_of_cores(marg, monkeypatch):
    """Every step and chunk draws from child generators spawned for it, so the persons are the
    same whether chunks and steps run in two threads or one (1.5 M persons: two chunks)."""
    two = sy.draw(1_500_000, 7, marg)
    monkeypatch.setattr(sy, "_cores", lambda: 1)
    one = sy.draw(1_500_000, 7, marg)
    assert one.equals(two)


def test_model_file_has_provenance_and_reasons():
    model = sy.model()
    assert model["proveniens"] == "syntetisk"
    for name, link in model["lank"].items():
        assert link["proveniens"] == "syntetisk" and link["motivering"].strip(), name


def test_written_file_keeps_the_label(people, tmp_path):
    path = sy.write(people, tmp_path / "syntetisk.parquet")
    meta = pq.read_schema(path).metadata
    assert meta[ms.META_KALLA].startswith(b"SYNTETISKA DATA")
    persons = ag.open_persons(path)
    assert persons.syntetisk and persons.kalla.startswith("SYNTETISKA DATA")


@pytest.mark.slow
def test_the_label_survives_a_round_trip_through_polars(people, tmp_path):
    """Read, filter and write again: the metadata is gone, the SYNTETISKA DATA label is not."""
    path = sy.write(people, tmp_path / "syntetisk.parquet")
    rewritten = tmp_path / "urval.parquet"
    pl.read_parquet(path).filter(pl.col("alder") >= 18).write_parquet(rewritten)
    assert ms.META_KALLA not in (pq.read_schema(rewritten).metadata or {})
    persons = ag.open_persons(rewritten)
    assert persons.syntetisk and persons.kalla.startswith("SYNTETISKA DATA")
    assert ag.open_persons(pl.read_parquet(rewritten).head(10)).syntetisk  # in memory too
    obs = ag.aggregate(rewritten, "kommun", granska=False)
    assert obs["kalla"].str.starts_with("SYNTETISKA DATA").all()


@pytest.mark.slow
def test_synthetic_store_runs_the_swedish_method(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    store = sy.synthetic_store(N, seed=3)
    assert store.root == tmp_path / "utanforskap" / f"syntetisk-3-{N}"
    kallor = store.sql("SELECT DISTINCT kalla FROM observationer")["kalla"].to_list()
    assert len(kallor) == 1 and kallor[0].startswith("SYNTETISKA DATA")
    levels = store.sql("SELECT DISTINCT niva FROM observationer ORDER BY niva")["niva"].to_list()
    assert levels == ["deso", "kommun", "lan", "regso", "riket"]
    assert set(store.sql("SELECT DISTINCT period FROM observationer")["period"]) == {"2022"}

    method = loader.load("se-utanforskap-2024")
    table = store.wide("regso", "2022", list(method.method.indata)).rename({"omrade": "regso_kod"})
    assert table.height == 3363
    result = engine.run(method, data.prepare(method, table, "syntetisk"))
    assert result.height == 3363
    assert set(result["klass"].drop_nulls().unique()) <= {"stor", "särskilt stor"}

    # Cached: a second call reads the same files, and nothing else (not even the marginals).
    manifest = (store.root / "manifest.json").read_text()
    monkeypatch.setattr(sy, "marginals", lambda *a: pytest.fail("the marginals were read on a cache hit"))
    again = sy.synthetic_store(N, seed=3)
    assert (again.root / "manifest.json").read_text() == manifest


@pytest.mark.slow
def test_the_cached_store_is_rebuilt_when_what_shaped_it_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    store = sy.synthetic_store(3_000, seed=4)
    first = store.datasets()[sy.DATASET]
    assert first["min_antal"] == 5
    monkeypatch.setenv("UTANFORSKAP_MIN_ANTAL", "3")
    again = sy.synthetic_store(3_000, seed=4)
    second = again.datasets()[sy.DATASET]
    assert again.root == store.root and second["min_antal"] == 3 and second["nyckel"] != first["nyckel"]
    # The key also follows the package version and the code of the rules (VARIABLES, PARTITIONS).
    import utanforskap

    monkeypatch.setattr(utanforskap, "__version__", "9.9.9")
    assert sy.cache_key(3) != second["nyckel"]
    assert sy.cache_key(3) != sy.cache_key(5)


@pytest.mark.slow
def test_the_full_population_reproduces_every_deso(marg):
    """N = the real population: every DeSO has exactly its real folkmängd and age bands."""
    people = sy.draw(None, 2022, marg)
    assert people.num_rows == 10_521_556
    counts, _ = ag.count(people, "deso")
    deso = counts.filter(pl.col("niva") == "deso").sort("omrade")
    real = default_store().wide("deso", "2022", ["befolkning", "befolkning_0_4", "befolkning_20_24"])
    joined = real.join(deso, on="omrade", suffix="_syn")
    assert joined.height == 5984
    for v in ("befolkning", "befolkning_0_4", "befolkning_20_24"):
        assert (joined[v] == joined[f"{v}_syn"]).all(), v
