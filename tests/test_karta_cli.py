"""`utanforskap karta`, `jamfor` and `kalibrera` end to end, as a user runs them."""

import json

import geopandas as gpd
import openpyxl
import polars as pl
import pytest
from cli_helpers import cli

from utanforskap.observations.store import ObservationStore
from utanforskap.sources import bundle


@pytest.fixture(scope="module")
def karta_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("resultat")
    res = cli("karta", "--ut", out)
    return res, out


@pytest.mark.slow
def test_karta_prints_the_figures_in_swedish(karta_run):
    res, _ = karta_run
    assert res.returncode == 0, res.stderr
    text = res.stdout
    assert "RegSO listade" in text and "kommuner" in text and "barn och unga 0–19 år" in text
    assert "Stockholms län" in text and "Passning mot de publicerade totalerna" in text
    assert "proxy" in text and "saknas" in text


@pytest.mark.slow
def test_karta_writes_every_output(karta_run):
    _, out = karta_run
    om = pl.read_csv(out / "omraden_maskinlasbar.csv", schema_overrides={"regso_kod": pl.String, "kommun_kod": pl.String, "lan_kod": pl.String})
    assert om.height == 3363 and om["befolkning"].sum() == 10_521_556
    for col in ["regso_kod", "regso_namn", "kommun_kod", "kommun_namn", "lan_kod", "befolkning", "barn", "antal_flaggor", "klass", "datakalla"]:
        assert col in om.columns
    assert set(om["flagga_arbetsmarknadsetablering"].drop_nulls().unique().to_list()) <= {0, 1}
    listed = pl.read_csv(out / "listade_omraden.csv", separator=";", decimal_comma=True, schema_overrides={"regso_kod": pl.String})
    assert listed.height == om.filter(pl.col("klass").is_not_null()).height > 0
    wb = openpyxl.load_workbook(out / "listade_omraden.xlsx", read_only=True)
    assert {"Listade områden", "Per län", "Faktorer", "Parametrar", "Om data"} <= set(wb.sheetnames)
    assert wb["Listade områden"].max_row == listed.height + 1
    g = gpd.read_file(out / "kommuner.gpkg", layer="kommuner")
    assert len(g) == 290 and g.crs.to_epsg() == 3006
    assert int(g["listade_omraden"].sum()) == listed.height
    gj = json.loads((out / "kommuner.geojson").read_text())
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 290
    html = (out / "sammanfattning.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and 'lang="sv"' in html
    assert "data:image/svg+xml;base64," in html and "http://" not in html.replace("http://www.w3.org", "")
    assert f"{listed.height}</dd>" in html


@pytest.mark.slow
def test_jamfor_prints_and_writes(tmp_path):
    res = cli("jamfor", "--ut", tmp_path)
    assert res.returncode == 0, res.stderr
    assert "områdestyp 1" in res.stdout and "precision" in res.stdout.lower()
    lists = pl.read_csv(tmp_path / "jamforelse_listor.csv")
    assert lists.height == 4 and (lists["bada"] + lists["bara_vara"] + lists["bara_deras"] + lists["ingen"] == 3363).all()
    assert (tmp_path / "jamforelse_faktorer.csv").is_file()


def _copy_store(tmp_path, change):
    """The bundled store at RegSO 2022 (plus what the map needs), with one change made."""
    src = bundle.default_store()
    obs = src.read(niva="regso")
    obs = change(obs)
    store = ObservationStore(tmp_path / "lager")
    store.write({"kopia": obs})
    return store


@pytest.mark.slow
def test_numerator_above_denominator_in_the_data_names_area_and_nothing_is_written(tmp_path):
    def change(obs):
        hit = (pl.col("omrade") == "0114R001") & (pl.col("variabel") == "sysselsatta_16_64") & (pl.col("period") == "2022")
        return obs.with_columns(pl.when(hit).then(99999.0).otherwise(pl.col("varde")).alias("varde"))

    store = _copy_store(tmp_path, change)
    out = tmp_path / "ut"
    res = cli("karta", "--data", store.root, "--ut", out)
    assert res.returncode == 2
    assert "täljaren sysselsatta_16_64 = 99999 är större än nämnaren befolkning_16_64" in res.stderr
    assert "0114R001" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_a_year_with_no_data_and_a_missing_store_are_clear_errors(tmp_path):
    res = cli("karta", "--ar", "2019", "--ut", tmp_path / "ut")
    assert res.returncode == 2 and "saknas för regso år 2019" in res.stderr
    assert not (tmp_path / "ut").exists() or not any((tmp_path / "ut").iterdir())
    res = cli("karta", "--data", tmp_path / "finns-inte")
    assert res.returncode == 2 and "inget observationslager här" in res.stderr
