"""Microdata aggregation: exact counts from hand-made persons, sums up the hierarchy, settings."""

from __future__ import annotations

import polars as pl
import pytest
from microdata_helpers import persons_frame

from utanforskap.geography.hierarchy import default as default_geography
from utanforskap.methods import loader
from utanforskap.microdata import aggregate as ag
from utanforskap.observations import schema
from utanforskap.settings import load as load_settings


@pytest.fixture(scope="module")
def areas():
    """Two DeSO in one RegSO and a third DeSO in another RegSO of the same kommun."""
    table = default_geography().table
    regso = table.group_by("regso_kod").len().filter(pl.col("len") >= 2).sort("regso_kod")["regso_kod"][0]
    d1, d2 = table.filter(pl.col("regso_kod") == regso).sort("deso_kod")["deso_kod"][:2]
    kommun = table.filter(pl.col("regso_kod") == regso)["kommun_kod"][0]
    d3 = table.filter((pl.col("kommun_kod") == kommun) & (pl.col("regso_kod") != regso)).sort("deso_kod")["deso_kod"][0]
    return {"d1": d1, "d2": d2, "d3": d3, "regso": regso, "kommun": kommun, "lan": kommun[:2]}


@pytest.fixture(scope="module")
def people(areas):
    d1, d2, d3 = areas["d1"], areas["d2"], areas["d3"]
    return persons_frame([
        dict(deso=d1, alder=30, hushallsreferens=True),
        dict(deso=d1, alder=45, sysselsattning="arbetslos", bistand_manader=3, trangbodd=True, rostat=False,
             utbildning="forgymnasial", lag_ekonomisk_standard=True, hushallstyp="ensamstaende_med_barn",
             hushallsreferens=True),
        dict(deso=d1, alder=16, sysselsattning="utanfor_arbetskraften", lamnat_ak9=True, behorig_gymnasiet=True,
             misstankt_brott=True, rostberattigad=False, rostat=False, utbildning=None,
             hushallstyp="ensamstaende_med_barn", kon="man"),
        dict(deso=d2, alder=16, sysselsattning="utanfor_arbetskraften", lamnat_ak9=True, behorig_gymnasiet=False,
             rostberattigad=False, rostat=False, utbildning=None, hushallstyp="sammanboende_med_barn"),
        dict(deso=d2, alder=70, bakgrund="utlandsk", fodelseregion="ovriga_varlden", sysselsattning=None,
             rostberattigad=False, rostat=False, trangbodd=None, hushallstyp=None, lag_ekonomisk_standard=None,
             utbildning=None, misstankt_brott=True),
        dict(deso=d3, alder=50, sysselsattning="utanfor_arbetskraften", bistand_manader=12, ohalsodagar=365.0,
             bakgrund="utlandsk", fodelseregion="europa", utbildning=None, hushallstyp="ensamstaende_utan_barn",
             hushallsreferens=True),
        dict(deso=d3, alder=3, sysselsattning=None, rostberattigad=False, rostat=False, utbildning=None,
             bakgrund="utlandsk", fodelseregion="sverige", hushallstyp="ensamstaende_med_barn"),
        dict(deso=d3, alder=22, ohalsodagar=30.5, utbildning=None),
    ])


@pytest.fixture(scope="module")
def counts(people, tmp_path_factory, areas):
    path = tmp_path_factory.mktemp("mikro") / "personer.parquet"
    people.write_parquet(path)
    counts, persons = ag.count(path, "deso")
    return counts, persons, path


def value(counts: pl.DataFrame, area: str, variable: str) -> float:
    return counts.filter(pl.col("omrade") == area)[variable].item()


def test_counts_per_deso_are_exact(counts, areas):
    c, _, _ = counts
    d1, d2, d3 = areas["d1"], areas["d2"], areas["d3"]
    expected = {
        d1: dict(befolkning=3, befolkning_20_64=2, sysselsatta_20_64=1, ekonomiskt_bistand_20_64=1, befolkning_16_64=3,
                 sysselsatta_16_64=1, arbetslosa_16_64=1, utanfor_arbetskraften_16_64=1, arbetskraften_16_64=2,
                 trangbodda=1, befolkning_i_bostad=3, rostande=1, rostberattigade=2, elever_ak9=1, behoriga_gymnasiet=1,
                 misstankta_brott_15plus=1, befolkning_15plus=3, utb_forgymnasial_25_64=1, utb_gymnasial_25_64=1,
                 befolkning_25_64=2, lag_ekonomisk_standard=1, personer_ekonomisk_standard=3,
                 hushall_ensamstaende_med_barn=1, hushall_sammanboende_utan_barn=1, hushall_med_barn=1, hushall_totalt=2,
                 befolkning_15_19=1, befolkning_0_19=1, svensk_bakgrund=3, fodda_sverige=3),
        d2: dict(befolkning=2, befolkning_15plus=2, befolkning_16_64=1, elever_ak9=1, behoriga_gymnasiet=0,
                 misstankta_brott_15plus=1, utrikes_fodda=1, fodda_ovriga_varlden=1, utlandsk_bakgrund=1,
                 befolkning_i_bostad=1, personer_ekonomisk_standard=1, rostberattigade=0, hushall_totalt=0),
        d3: dict(befolkning=3, befolkning_0_4=1, befolkning_20_24=1, befolkning_20_64=2, ekonomiskt_bistand_20_64=1,
                 ohalsodagar_16_64=395.5, fodda_europa_utom_sverige=1, utlandsk_bakgrund=2, utb_saknas_25_64=1,
                 hushall_ensamstaende_utan_barn=1, hushall_totalt=1, sysselsatta_20_64=1),
    }
    for area, values in expected.items():
        for variable, want in values.items():
            assert value(c, area, variable) == want, (area, variable)
    # Persons behind a sum of days: those with at least one day.
    assert value(c, d3, "_bakom_ohalsodagar_16_64") == 2


def test_higher_levels_are_sums_over_the_hierarchy(counts, areas):
    c, _, _ = counts
    for variable in ("befolkning", "rostande", "ohalsodagar_16_64", "hushall_totalt"):
        d = value(c, areas["d1"], variable) + value(c, areas["d2"], variable)
        assert value(c, areas["regso"], variable) == d
        assert value(c, areas["kommun"], variable) == d + value(c, areas["d3"], variable)
        assert value(c, areas["lan"], variable) == value(c, areas["kommun"], variable)
        assert value(c, "SE", variable) == value(c, areas["kommun"], variable)
    assert set(c["niva"]) == set(schema.LEVELS)
    # Every area is listed, with zeros where nobody lives (so disclosure control sees the zeros).
    deso = c.filter(pl.col("niva") == "deso")
    assert deso.height == 5984
    assert deso.filter(pl.col("befolkning") > 0)["omrade"].sort().to_list() == sorted([areas["d1"], areas["d2"], areas["d3"]])
    assert c.filter(pl.col("niva") == "regso").height == 3363


def test_output_names_cover_the_method_and_the_bundle():
    method = loader.load("se-utanforskap-2024").method
    assert set(method.indata) <= set(ag.VARIABLE_NAMES)
    from utanforskap.sources.bundle import default_store

    bundle = set(default_store().read(niva="regso", period="2022")["variabel"].unique().to_list())
    same_things = {"befolkning", "befolkning_0_19", "sysselsatta_16_64", "befolkning_16_64", "arbetslosa_16_64",
                   "arbetskraften_16_64", "utanfor_arbetskraften_16_64", "svensk_bakgrund", "utlandsk_bakgrund",
                   "utrikes_fodda", "befolkning_25_64", "utb_forgymnasial_25_64", "lag_ekonomisk_standard",
                   "hushall_ensamstaende_med_barn", "hushall_med_barn", "hushall_totalt"}
    assert same_things <= bundle & set(ag.VARIABLE_NAMES)


def test_observation_rows_without_protection(counts):
    c, persons, path = counts
    obs = ag.to_observations(c, persons.kalla, skydda=False)
    assert obs.columns == list(schema.COLUMNS)
    assert (obs["kalla"] == f"Mikrodata: {path.name}").all()
    share = obs.filter((pl.col("variabel") == "lag_ekonomisk_standard") & (pl.col("niva") == "riket")).row(0, named=True)
    assert (share["taljare"], share["namnare"], share["enhet"]) == (1.0, 7.0, "andel")
    assert share["varde"] == pytest.approx(1 / 7)
    days = obs.filter((pl.col("variabel") == "ohalsodagar_16_64") & (pl.col("niva") == "riket")).row(0, named=True)
    assert (days["varde"], days["enhet"]) == (395.5, "dagar")


@pytest.mark.slow
def test_protected_rows_are_empty_never_zero(counts):
    c, persons, _ = counts
    obs = ag.to_observations(c, persons.kalla, min_antal=3, granska=False)  # the audit: test_disclosure_*
    assert set(obs["status"].drop_nulls().unique().to_list()) == {"skyddad"}
    suppressed = obs.filter(pl.col("status").is_not_null())
    assert suppressed.height > 0
    assert suppressed["varde"].null_count() == suppressed.height
    assert suppressed["taljare"].null_count() == suppressed["namnare"].null_count() == suppressed.height
    published = obs.filter(pl.col("status").is_null() & (pl.col("enhet") == "antal"))
    assert (published["varde"] >= 3).all()


def test_bistand_month_threshold_is_a_setting(counts):
    _, _, path = counts
    c6, _ = ag.count(path, "deso", settings=load_settings(bistand_min_manader=6))
    assert value(c6, "SE", "ekonomiskt_bistand_20_64") == 1  # 3 months no longer counts, 12 does
    c1 = counts[0]
    assert value(c1, "SE", "ekonomiskt_bistand_20_64") == 2


def test_level_regso_starts_at_regso(counts, areas):
    _, _, path = counts
    c, _ = ag.count(path, "regso")
    assert c["niva"].unique().sort().to_list() == ["kommun", "lan", "regso", "riket"]
    assert value(c, areas["regso"], "befolkning") == 5


def test_in_memory_table_gives_the_same_counts(counts, people):
    from_file = counts[0]
    from_memory, persons = ag.count(people, "deso")
    assert persons.kalla == "Mikrodata: mikrodata i minnet"
    assert from_memory.equals(from_file)



def test_duckdb_draws_no_progress_bar_of_its_own():
    """DuckDB printed its bar on stdout, into a pipe too, for a query over 2 s (seen in the middle
    of a command's output). Checked in a fresh process with stdout piped, as a user's shell has it
    (under pytest's capture DuckDB starts without the bar anyway)."""
    import subprocess
    import sys

    code = (
        "from utanforskap.microdata import aggregate as ag\n"
        "from utanforskap.observations.store import connect_duckdb\n"
        "q = \"SELECT current_setting('enable_progress_bar')\"\n"
        "import duckdb; print('standard', duckdb.connect().sql(q).fetchall()[0][0])\n"
        "print('lager', connect_duckdb().sql(q).fetchall()[0][0])\n"
        "with ag.connect('duckdb') as con: print('aggregering', con.raw_sql(q).fetchone()[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "standard True" in out  # without the setting, DuckDB would draw it here
    assert "lager False" in out and "aggregering False" in out
