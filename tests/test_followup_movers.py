"""Movers and stayers: the parts add up to the change, for every area (property test)."""

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utanforskap.errors import InputError
from utanforskap.followup.movers import PARTS, decompose, person_values
from utanforskap.microdata import panel


def _random_panel(seed: int, n: int, areas: int, years: int) -> pl.DataFrame:
    """Persons followed over years: some move, some leave, some arrive; 0/1 numerators."""
    rng = np.random.default_rng(seed)
    rows = []
    area = rng.integers(0, areas, n)
    alive = np.ones(n, bool)
    ids = np.arange(n)
    for y in range(years):
        num = (rng.random(ids.shape[0]) < 0.3 + 0.1 * (area % 3)).astype(float)
        den = (rng.random(ids.shape[0]) < 0.9).astype(float)
        num *= den
        keep = alive
        rows.append(pl.DataFrame({"lopnr": ids[keep], "ar": 2000 + y, "deso": [f"D{a}" for a in area[keep]],
                                  "taljare": num[keep], "namnare": den[keep]}))
        move = rng.random(ids.shape[0]) < 0.2
        area = np.where(move, rng.integers(0, areas, ids.shape[0]), area)
        alive = alive & (rng.random(ids.shape[0]) > 0.05)
        new = rng.integers(0, max(1, n // 10))
        ids = np.concatenate([ids, np.arange(ids.max() + 1, ids.max() + 1 + new)])
        area = np.concatenate([area, rng.integers(0, areas, new)])
        alive = np.concatenate([alive, np.ones(new, bool)])
    return pl.concat(rows)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 400), areas=st.integers(1, 12), years=st.integers(2, 4))
def test_parts_add_up_to_the_change_for_every_area(seed, n, areas, years):
    persons = _random_panel(seed, n, areas, years)
    groups = pl.DataFrame({"deso": [f"D{a}" for a in range(areas)], "grupp": [f"G{a % max(1, areas // 2)}" for a in range(areas)]})
    out = decompose(persons, {"andel": ("taljare", "namnare", 1.0)}, groups=groups)
    defined = out.filter(pl.col("forandring").is_not_null())
    total = defined.select(sum(pl.col(p) for p in PARTS) - pl.col("forandring")).to_series()
    assert (total.abs() <= 1e-12).all()
    # The before and after values are the areas' shares computed directly.
    for (g, y0, y1, v0, v1) in out.select("grupp", "fran_ar", "till_ar", "varde_fran", "varde_till").iter_rows():
        for y, v in ((y0, v0), (y1, v1)):
            d = persons.filter(pl.col("ar") == y).join(groups, on="deso").filter(pl.col("grupp") == g)
            expect = d["taljare"].sum() / d["namnare"].sum() if d["namnare"].sum() > 0 else None
            assert (v is None and expect is None) or v == pytest.approx(expect, abs=1e-12)


def test_nobody_moves_means_all_change_is_the_stayers():
    persons = pl.DataFrame({"lopnr": [1, 2, 1, 2], "ar": [2020, 2020, 2021, 2021], "deso": ["A", "A", "A", "A"],
                            "taljare": [0.0, 0.0, 1.0, 0.0], "namnare": [1.0, 1.0, 1.0, 1.0]})
    out = decompose(persons, {"x": ("taljare", "namnare", 1.0)}, groups=pl.DataFrame({"deso": ["A"], "grupp": ["A"]}))
    row = out.row(0, named=True)
    assert row["forandring"] == 0.5 and row["kvarboende"] == 0.5 and row["inflyttade"] == 0 and row["utflyttade"] == 0


def test_sparse_and_text_person_ids_give_the_same_split():
    """Dense whole-number lopnr index the person arrays directly; sparse or text ones go by
    their rank: both ways give the same split, and a person not in the next year moved out."""
    persons = _random_panel(3, 300, 5, 3)
    groups = pl.DataFrame({"deso": [f"D{a}" for a in range(5)], "grupp": ["G0", "G0", "G1", "G2", None]})
    ratios = {"andel": ("taljare", "namnare", 1.0)}
    dense = decompose(persons, ratios, groups=groups)
    assert set(dense["grupp"]) == {"G0", "G1", "G2"} and dense["fran_ar"].unique().sort().to_list() == [2000, 2001]
    for ids in (pl.col("lopnr") * 10_000_019 + 7, pl.format("p{}", pl.col("lopnr"))):
        other = decompose(persons.with_columns(lopnr=ids), ratios, groups=groups)
        assert other.equals(dense)
    two = pl.DataFrame({"lopnr": [1, 2, 2], "ar": [2020, 2020, 2021], "deso": ["A", "A", "A"], "t": [1.0, 0.0, 0.0], "n": [1.0, 1.0, 1.0]})
    row = decompose(two, {"x": ("t", "n", 1.0)}, groups=pl.DataFrame({"deso": ["A"], "grupp": ["A"]})).row(0, named=True)
    assert row["antal_utflyttade"] == 1 and row["antal_kvarboende"] == 1 and row["utflyttade"] == pytest.approx(-0.5)


@pytest.mark.slow
def test_on_the_synthetic_panel(tmp_path):
    years = [2021, 2022]
    tables = dict(panel.draw_panel(years, personer=20_000, seed=9))
    import pyarrow as pa

    both = pa.concat_tables([tables[2021], tables[2022]], promote_options="default")
    values = person_values(both, ["sysselsatta_20_64", "befolkning_20_64"])
    out = decompose(values, {"sysselsatta": ("sysselsatta_20_64", "befolkning_20_64", 1.0)})
    assert out["grupp"].n_unique() > 1000
    defined = out.filter(pl.col("forandring").is_not_null())
    assert ((defined["kvarboende"] + defined["inflyttade"] + defined["utflyttade"] - defined["forandring"]).abs() < 1e-12).all()
    # Someone twice in a year is an error naming the id.
    dup = pa.concat_tables([tables[2021], tables[2021].slice(0, 1)])
    with pytest.raises(InputError, match="lopnr 1 förekommer 2 gånger år 2021"):
        person_values(dup, ["befolkning"])


@pytest.mark.slow
def test_a_year_in_two_files_is_an_error(tmp_path):
    import pyarrow.parquet as pq

    from utanforskap.microdata import aggregate as ag

    tables = dict(panel.draw_panel([2022], personer=2_000, seed=3))
    folder = tmp_path / "panel"
    folder.mkdir()
    pq.write_table(tables[2022], folder / "a.parquet")
    pq.write_table(tables[2022].slice(0, 100), folder / "b.parquet")
    # Without lopnr the same year may be split over files (not a panel).
    plain = tmp_path / "delad"
    plain.mkdir()
    pq.write_table(tables[2022].drop_columns(["lopnr"]).slice(0, 1000), plain / "a.parquet")
    pq.write_table(tables[2022].drop_columns(["lopnr"]).slice(1000), plain / "b.parquet")
    assert ag.count(plain, "regso")[0].height > 0
    with pytest.raises(InputError, match=r"b.parquet: år 2022 finns också i .*a.parquet"):
        ag.aggregate(folder, "regso")


@pytest.mark.slow
def test_syntetisk_panel_cli_and_aggregera_every_year_in_one_pass(tmp_path):
    from cli_helpers import cli

    out = tmp_path / "panel"
    res = cli("syntetisk", "--ar", "2021-2023", "--personer", 3000, "--seed", 4, "--ut", out)
    assert res.returncode == 0, res.stderr
    assert "SYNTETISKA DATA" in res.stdout
    assert sorted(p.name for p in out.glob("*.parquet")) == ["personer_2021.parquet", "personer_2022.parquet", "personer_2023.parquet"]
    obs = tmp_path / "obs.parquet"
    res = cli("aggregera", "--mikrodata", out, "--ut", obs, "--niva", "regso", "--min-antal", 1)
    assert res.returncode == 0, res.stderr
    assert sorted(pl.read_parquet(obs)["period"].unique()) == ["2021", "2022", "2023"]
    ids = [set(pl.read_parquet(out / f"personer_{y}.parquet")["lopnr"]) for y in (2021, 2022, 2023)]
    assert len(ids[0] & ids[1]) > 0.9 * len(ids[1])  # mostly the same persons year after year
    again = cli("syntetisk", "--ar", "2021-2023", "--personer", 3000, "--ut", out)
    assert again.returncode == 2 and "redan" in again.stderr
