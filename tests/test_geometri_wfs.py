"""`utanforskap hamta --geometri` against a local WFS answering as SCB's GeoServer does
(tests/fakewfs.py): paging, provenance, atomic writes, and the maps' use of what it fetched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import cli
from tests.fakewfs import serve_wfs
from utanforskap.errors import SourceError
from utanforskap.geography import polygons as geo
from utanforskap.geography import wfs


@pytest.fixture(scope="module")
def fake_wfs():
    with serve_wfs(("0127",)) as server:
        yield server


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.slow
def test_layers_are_fetched_in_pages_with_provenance(fake_wfs, tmp_path):
    fake_wfs.requests.clear()
    seen: list[tuple[str, int, int]] = []
    fetched = wfs.fetch_layers(tmp_path / "geometri", fake_wfs.url, page_size=50, progress=lambda *a: seen.append(a))
    assert [(f.layer, f.level, f.code_column) for f in fetched] == [
        ("stat:RegSO_2020", "regso", "regsokod"),
        ("stat:DeSO_2018", "deso", "deso"),
    ]
    n_regso = len(fake_wfs.layers["stat:RegSO_2020"])
    n_deso = len(fake_wfs.layers["stat:DeSO_2018"])
    assert [f.count for f in fetched] == [n_regso, n_deso]
    # GetCapabilities first, then GetFeature pages of 50 in EPSG:3006 as GeoJSON.
    assert fake_wfs.requests[0]["request"] == "GetCapabilities"
    pages = [q for q in fake_wfs.requests if q.get("typenames") == "stat:RegSO_2020"]
    assert [int(q["startindex"]) for q in pages] == list(range(0, n_regso, 50))
    assert all(q["outputformat"] == "application/json" and q["srsname"] == "EPSG:3006" and q["count"] == "50" for q in pages)
    assert seen[-1] == ("stat:DeSO_2018", n_deso, n_deso)
    manifest = json.loads((tmp_path / "geometri" / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["lager"]["stat:RegSO_2020"]
    assert entry["kalla"] == fake_wfs.url and entry["antal"] == n_regso and entry["licens"].startswith("CC0")
    from utanforskap import atomic

    assert entry["sha256"] == atomic.sha256_file(tmp_path / "geometri" / entry["fil"])


@pytest.mark.slow
def test_maps_use_the_fetched_layers_before_the_bundle(fake_wfs, tmp_path, monkeypatch):
    wfs.fetch_layers(tmp_path / "geometri", fake_wfs.url)
    monkeypatch.setenv("UTANFORSKAP_STORE_DIR", str(tmp_path))
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", "")  # never the live WFS: only what was fetched
    botkyrka = geo.regso_geometry("0127")
    assert botkyrka is not None and botkyrka.origin == "lager"
    assert botkyrka.description.startswith("RegSO-gränser: SCB:s öppna geodata, lager RegSO_2020 (CC0), hämtade ")
    assert sorted(botkyrka.polygons["regso_kod"]) == sorted(fake_wfs.layers["stat:RegSO_2020"].query("kommun == '0127'")["regsokod"])
    assert geo.regso_geometry("0380").origin == "lager"  # Uppsala too: the fetched layer wins over the bundle
    assert "0127" in geo.local_kommuner()
    assert geo.regso_geometry("0180") is None  # Stockholm was not in the layer: the kommun map, as before


@pytest.mark.slow
def test_deso_fill_regso_the_regso_layer_lacks(fake_wfs, tmp_path, monkeypatch):
    """A RegSO layer without Uppsala: the DeSO 2018 layer, dissolved, covers it."""
    wfs.fetch_layers(tmp_path / "geometri", fake_wfs.url)
    folder = tmp_path / "geometri"
    import geopandas as gpd

    g = gpd.read_parquet(folder / "RegSO_2020.parquet")
    g[g["kommun"] == "0127"].to_parquet(folder / "RegSO_2020.parquet")
    monkeypatch.setenv("UTANFORSKAP_STORE_DIR", str(tmp_path))
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", "")
    uppsala = geo.regso_geometry("0380")
    assert uppsala.origin == "lager" and "RegSO_2020 och DeSO_2018" in uppsala.description
    assert set(uppsala.polygons["regso_kod"]) == set(geo.bundled_regso().query("regso_kod.str.startswith('0380')")["regso_kod"])


@pytest.mark.slow
def test_a_failed_page_leaves_the_folder_as_it_was(fake_wfs, tmp_path):
    folder = tmp_path / "geometri"
    wfs.fetch_layers(folder, fake_wfs.url, layers=("stat:RegSO_2020",))
    before = _snapshot(folder)
    fake_wfs.faults.append(("stat:DeSO_2018", 100))
    try:
        with pytest.raises(SourceError, match=r"SCB:s WFS svarade HTTP 503 \(stat:DeSO_2018\)"):
            wfs.fetch_layers(folder, fake_wfs.url, page_size=100)
    finally:
        fake_wfs.faults.clear()
    assert _snapshot(folder) == before
    assert [p.name for p in tmp_path.iterdir()] == ["geometri"]  # no staging folder left behind


@pytest.mark.slow
def test_partial_answers_and_unknown_layers_are_errors(fake_wfs, tmp_path, monkeypatch):
    import httpx

    with httpx.Client() as client, pytest.raises(SourceError, match=r"ExceptionReport|svarade med ett fel"):
        wfs._get(client, fake_wfs.url, {"service": "WFS", "version": "2.0.0", "request": "GetFeature", "typeNames": "stat:Finns_inte"})
    # A server whose numberMatched promises more than it sends: refused, nothing written.
    real = fake_wfs.answer

    def short(query):
        status, ctype, body = real(query)
        if query.get("request") == "GetFeature":
            doc = json.loads(body)
            doc["features"] = doc["features"][:-1]
            body = json.dumps(doc).encode()
        return status, ctype, body

    monkeypatch.setattr(fake_wfs, "answer", short)
    with pytest.raises(SourceError, match=r"fick \d+ av \d+ områden"):
        wfs.fetch_layers(tmp_path / "geometri", fake_wfs.url)
    assert not (tmp_path / "geometri").exists()

    # Pages that overlap (one area twice, another never): refused too.
    def overlapping(query):
        status, ctype, body = real(query)
        if query.get("request") == "GetFeature" and query.get("startIndex") == "50":
            first_page = json.loads(real({**query, "startIndex": "0"})[2])
            doc = json.loads(body)
            doc["features"][0] = first_page["features"][0]
            body = json.dumps(doc).encode()
        return status, ctype, body

    monkeypatch.setattr(fake_wfs, "answer", overlapping)
    with pytest.raises(SourceError, match=r"kom 2 gånger; sidorna överlappar"):
        wfs.fetch_layers(tmp_path / "geometri", fake_wfs.url, page_size=50)
    assert not (tmp_path / "geometri").exists()


@pytest.mark.slow
def test_hamta_geometri_command(fake_wfs, tmp_path):
    r = cli("hamta", "--geometri", "--lager", tmp_path, env={"UTANFORSKAP_GEOMETRI_WFS": fake_wfs.url})
    assert r.returncode == 0, r.stderr
    assert "stat:RegSO_2020" in r.stdout and "Skrev gränserna till" in r.stdout
    assert (tmp_path / "geometri" / "RegSO_2020.parquet").is_file()
    before = _snapshot(tmp_path / "geometri")
    # Nothing listens: one Swedish line, exit 2, no traceback, the fetched layers untouched.
    r = cli("hamta", "--geometri", "--lager", tmp_path, env={"UTANFORSKAP_GEOMETRI_WFS": "http://127.0.0.1:9/wfs", "UTANFORSKAP_HTTP_TIMEOUT": "2"})
    assert r.returncode == 2
    assert "SCB:s WFS svarade inte" in r.stderr + r.stdout and "Traceback" not in r.stderr
    assert _snapshot(tmp_path / "geometri") == before
