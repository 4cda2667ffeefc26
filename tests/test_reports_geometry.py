"""Map geometry for the reports: bundled Uppsala län DeSO dissolved to RegSO, a user's file, SCB's WFS."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest
from _shared import need_shared

from utanforskap import geography, reports
from utanforskap.errors import InputError
from utanforskap.geography import polygons as geo
from utanforskap.sources.bundle import sha256

UPPSALA_LAN = ["0305", "0319", "0330", "0331", "0360", "0380", "0381", "0382"]


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", "")
    monkeypatch.delenv("UTANFORSKAP_REGSO_GEOMETRI", raising=False)
    geo.reset_wfs()
    yield
    geo.reset_wfs()


def test_bundled_file_matches_its_manifest():
    manifest = json.loads((geo.bundled_path().parent / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["kallfiler"][0]
    assert entry["fil"] == geo.BUNDLED_ZIP
    assert sha256(geo.bundled_path()) == entry["sha256"]
    assert geo.bundled_path().stat().st_size == entry["bytes"]
    assert entry["ursprung"]["repository"] == "bjornsh/gis_data" and entry["licens"].startswith("CC0")
    assert len(geo.bundled_deso()) == 262


def test_bundled_file_is_the_shared_one():
    se = need_shared()
    entry = json.loads((geo.bundled_path().parent / "manifest.json").read_text(encoding="utf-8"))["kallfiler"][0]
    assert sha256(se.parent / entry["fran"]) == entry["sha256"]


def test_uppsala_lan_kommuner_get_the_dissolved_regso_polygons():
    regso = geography.areas("regso").filter(pl.col("lan_kod") == "03")
    assert sorted(regso["kommun_kod"].unique().to_list()) == UPPSALA_LAN
    total = 0
    for kod in UPPSALA_LAN:
        g = geo.regso_geometry(kod)
        wanted = regso.filter(pl.col("kommun_kod") == kod)["regso_kod"].sort().to_list()
        assert g is not None and g.origin == "paket"
        assert g.polygons["regso_kod"].tolist() == wanted  # one polygon per RegSO, all of them
        assert g.polygons.crs.to_epsg() == 3006
        total += len(g.polygons)
    assert total == regso.height == 123
    # Dissolving keeps the area: the RegSO polygons cover their DeSO exactly.
    deso = geo.bundled_deso().merge(geography.mapping("deso", "regso").to_pandas(), on="deso_kod")
    habo = geo.regso_polygons("0305")
    assert habo.area.sum() == pytest.approx(deso[deso["regso_kod"].str.startswith("0305")].area.sum(), rel=1e-9)


def test_kommun_outside_the_bundle_has_no_polygons_and_says_why():
    assert geo.regso_polygons("0180") is None
    assert geo.regso_polygons("0188") is None  # Norrtälje: only some of its DeSO are in the file
    note = geo.describe("0180")
    assert "RegSO-gränser saknas" in note and "SCB:s WFS är avstängd" in note
    with pytest.raises(InputError, match="okänd kommunkod 9999"):
        geo.regso_polygons("9999")


def test_local_kommuner_are_those_the_bundle_covers_without_asking_the_wfs(monkeypatch):
    monkeypatch.setattr(geo, "_fetch_wfs", lambda *a: pytest.fail("local_kommuner asked the WFS"))
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", "https://example.invalid/wfs")
    assert geo.local_kommuner() == UPPSALA_LAN


@pytest.mark.slow
def test_uppsala_kommun_report_map_names_the_bundled_geometry(result):
    html = reports.render("kommun", "0380", "html", result).decode("utf-8")
    assert geo.NOTE_BUNDLED in html
    assert "numrerade som i tabellen" in html
    other = reports.render("kommun", "0180", "html", result).decode("utf-8")
    assert "områdenas gränser finns inte i de data som används" in other and "WFS" not in other


def test_user_geopackage_with_deso_polygons_is_dissolved(tmp_path):
    deso = geo.bundled_deso()
    path = tmp_path / "habo_deso.gpkg"
    part = deso[deso["deso_kod"].str.startswith("0305")].rename(columns={"deso_kod": "desokod"})
    part.to_crs("EPSG:4326").to_file(path, driver="GPKG")  # another CRS: must be reprojected
    g = geo.regso_geometry("0305", path)
    assert g.origin == "fil" and "habo_deso.gpkg" in g.description
    assert len(g.polygons) == geography.areas("regso").filter(pl.col("kommun_kod") == "0305").height
    assert g.polygons.crs.to_epsg() == 3006
    # A kommun the file does not cover falls through to the next source.
    assert geo.regso_geometry("0380", path).origin == "paket"


def test_user_file_from_the_environment_and_errors(tmp_path, monkeypatch):
    regso = geo.bundled_regso()
    path = tmp_path / "regso.gpkg"
    regso[regso["regso_kod"].str.startswith("0319")].assign(RegSO_kod=lambda d: d["regso_kod"] + "_RegSO2025").drop(
        columns="regso_kod"
    ).to_file(path, driver="GPKG")
    monkeypatch.setenv("UTANFORSKAP_REGSO_GEOMETRI", str(path))
    assert geo.regso_geometry("0319").origin == "fil"
    monkeypatch.setenv("UTANFORSKAP_REGSO_GEOMETRI", str(tmp_path / "saknas.gpkg"))
    with pytest.raises(InputError, match=r"saknas\.gpkg: geometrifilen finns inte \(UTANFORSKAP_REGSO_GEOMETRI\)"):
        geo.regso_geometry("0319")
    monkeypatch.delenv("UTANFORSKAP_REGSO_GEOMETRI")
    nocodes = tmp_path / "utan_koder.gpkg"
    regso.assign(namn="x").drop(columns="regso_kod").to_file(nocodes, driver="GPKG")
    with pytest.raises(InputError, match=r"utan_koder\.gpkg: hittar ingen kolumn med RegSO-koder"):
        geo.regso_geometry("0319", nocodes)


class _Wfs(BaseHTTPRequestHandler):
    """A local stand-in for SCB's WFS: answers GetFeature for RegSO_2020 by kommunkod."""

    features: dict[str, str] = {}
    requests: list[dict] = []

    def do_GET(self):  # noqa: N802 - http.server's name
        q = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        type(self).requests.append(q)
        kommun = q.get("CQL_FILTER", "").split("'")[1] if "'" in q.get("CQL_FILTER", "") else ""
        body = type(self).features.get(kommun, '{"type": "FeatureCollection", "features": []}').encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_wfs_answer_is_used_and_failure_falls_back(monkeypatch):
    regso = geo.bundled_regso()
    part = regso[regso["regso_kod"].str.startswith("0330")].rename(columns={"regso_kod": "regsokod"})
    part["kommunkod"] = "0330"
    _Wfs.features = {"0330": part.to_json()}
    _Wfs.requests = []
    server = HTTPServer(("127.0.0.1", 0), _Wfs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", f"http://127.0.0.1:{server.server_port}/geoserver/stat/wfs")
        g = geo.regso_geometry("0330")
        assert g.origin == "wfs" and g.description == geo.NOTE_WFS
        assert len(g.polygons) == len(part)
        q = _Wfs.requests[0]
        assert q["typeNames"] == "stat:RegSO_2020" and q["srsName"] == "EPSG:3006" and q["CQL_FILTER"] == "kommunkod='0330'"
        # A kommun the WFS answers with nothing falls back to the bundle.
        assert geo.regso_geometry("0380").origin == "paket"
    finally:
        server.shutdown()
        server.server_close()
    geo.reset_wfs()
    # Nothing listens there: one quick failure, remembered, then the bundle.
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", f"http://127.0.0.1:{server.server_port}/wfs")
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS_TIMEOUT", "2")
    assert geo.regso_geometry("0380").origin == "paket"
    assert "SCB:s kartserver (WFS) svarade inte" in geo.wfs_status()
    assert geo.regso_polygons("0180") is None
    assert "SCB:s kartserver (WFS) svarade inte" in geo.describe("0180")


def test_check_file_reads_a_users_file_without_the_network(tmp_path, monkeypatch):
    monkeypatch.setattr(geo, "_fetch_wfs", lambda *a: pytest.fail("check_file asked the WFS"))
    monkeypatch.setenv("UTANFORSKAP_GEOMETRI_WFS", "https://example.invalid/wfs")
    good = tmp_path / "habo.gpkg"
    regso = geo.bundled_regso()
    regso[regso["regso_kod"].str.startswith("0305")].to_file(good, driver="GPKG")
    geo.check_file(good)
    geo.check_file(None)  # no file given, none configured: nothing to check
    bad = tmp_path / "utan_koder.gpkg"
    regso.assign(namn="x").drop(columns="regso_kod").to_file(bad, driver="GPKG")
    with pytest.raises(InputError, match="hittar ingen kolumn med RegSO-koder"):
        geo.check_file(bad)
    assert geo.wfs_status() is None  # the WFS was neither asked nor given up
