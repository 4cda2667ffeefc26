"""The web command and the pieces behind it: start-up, missing front-end files, search, legends."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.cli_helpers import cli
from tests.web_helpers import free_port, live_server
from utanforskap.web import assets, create_app
from utanforskap.web.maplayers import kommun_legends, nice_breaks


@pytest.mark.slow
def test_utanforskap_webb_serves_the_bundled_map_until_stopped(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "utanforskap", "webb", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "COLUMNS": "200"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"utanforskap webb startade inte: {proc.stdout.read() if proc.stdout else ''}")
                time.sleep(0.2)
        assert r.status_code == 200 and r.json()["metod"]["id"] == "se-oppna-data-2022"
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert "Områden med stor sammanvägd problematik" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/static/vendor/maplibre-gl/maplibre-gl.mjs", timeout=10).status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in out


@pytest.mark.slow
def test_webb_with_a_missing_geometry_file_fails_with_a_swedish_message(tmp_path):
    r = cli("webb", "--geometri", tmp_path / "finns-inte.gpkg", "--port", free_port())
    assert r.returncode == 2
    assert "geometrifilen finns inte (--geometri)" in r.stderr


def test_missing_frontend_build_is_a_clear_error(tmp_path):
    (tmp_path / "app.css").write_text("")
    with pytest.raises(assets.AssetsMissing) as err:
        assets.check(tmp_path)
    message = str(err.value)
    assert "vendor/maplibre-gl/maplibre-gl.mjs" in message and "npm ci && npm run bygg" in message
    listed = message.split(f"{tmp_path}: ", 1)[1].split(". Kartbiblioteket")[0]
    assert "karta.js" in listed and "app.css" not in listed  # names only what is missing
    with pytest.raises(assets.AssetsMissing):
        create_app(live_server("paket").data, static_dir=tmp_path)


def test_the_built_frontend_is_in_the_package_and_not_in_git():
    assets.check()  # `make` ran npm ci and npm run bygg
    tracked = subprocess.run(["git", "ls-files", str(assets.STATIC_DIR / "vendor"), str(assets.FRONTEND_DIR / "node_modules")],
                             capture_output=True, text=True, cwd=assets.STATIC_DIR).stdout
    assert tracked == ""


def test_search_ranks_exact_then_prefix_then_substring_and_folds_diacritics():
    data = live_server("paket").data
    assert [h.namn for h in data.search("Malmö", 3)][0] == "Malmö"
    assert data.search("malmo", 1)[0].kod == "1280"
    hits = data.search("sala", 50)
    assert hits[0].namn == "Sala"  # the exact kommun before areas named ...sala
    ranks = [h.namn.casefold().startswith("sala") for h in hits]
    assert ranks == sorted(ranks, reverse=True)  # prefix matches before substring matches
    assert data.search("   ") == []


def test_legend_breaks_are_increasing_and_rounded():
    breaks = nice_breaks([0.1234, 0.2345, 0.3456, 0.4567, 0.5678, 0.61], "andel")
    assert breaks == sorted(set(breaks)) and all(abs(b * 200 - round(b * 200)) < 1e-9 for b in breaks)  # whole or half percent
    assert nice_breaks([1.0] * 10, "tal") == [1.0]
    legends = kommun_legends(live_server("paket").data)
    assert [lg.variabel for lg in legends][:2] == ["listade_omraden", "andel_befolkning_i_listade"]
    for lg in legends:
        assert lg.klasser[-1].etikett == "uppgift saknas"
        assert lg.uttryck[0] == "case"  # missing values get their own colour


def test_a_users_geopackage_gives_the_regso_layer_and_is_named_under_the_map(tmp_path):
    from utanforskap.geography import polygons as geometry
    from utanforskap.web.maplayers import KommunPolygons

    data = live_server("paket").data
    path = tmp_path / "egna_omraden.gpkg"
    geometry.regso_polygons("0381").to_file(path, layer="regso", driver="GPKG")  # Enköping, as a user's file
    regso = KommunPolygons(data, str(path))
    assert regso("0381") and "egna_omraden.gpkg (egen geometrifil)" in regso.note("0381")
    body = regso.geojson("0381")
    assert body is not None and b'"regso_kod":"0381R' in body
    assert regso("1280") is False  # Malmö: neither the file nor the bundle covers it


def test_download_cache_keeps_the_most_recently_asked_for_within_its_bytes():
    from utanforskap.web.downloads import BoundedCache

    cache = BoundedCache(max_bytes=10)
    cache.put(("a",), b"1234")
    cache.put(("b",), b"1234")
    assert cache.get(("a",)) == b"1234"  # a is now the more recent
    cache.put(("c",), b"1234")
    assert ("b",) not in cache and ("a",) in cache and ("c",) in cache and cache.size == 8
    cache.put(("d",), b"x" * 20)  # larger than the whole budget: kept alone
    assert cache.size == 20 and ("d",) in cache and ("a",) not in cache


def test_the_national_regso_layer_asks_only_kommuner_a_local_geometry_covers(monkeypatch):
    from utanforskap.web.downloads import Downloads

    server = live_server("paket")
    asked = []

    class Regso:
        geometri = None

        def __call__(self, kod):
            asked.append(kod)
            return True

    uppsala_lan = ["0305", "0319", "0330", "0331", "0360", "0380", "0381", "0382"]
    assert Downloads(server.data, Regso()).regso_kommuner() == uppsala_lan
    assert asked == uppsala_lan  # not all 290 (each may ask SCB's WFS)


@pytest.mark.slow
def test_downloads_in_a_temporary_directory_are_removed_on_close(tmp_path):
    from utanforskap.web import build

    result = live_server("paket").data.result
    data = build(result)
    folder = data.files["omraden"].parent
    assert folder.is_dir() and folder.name.startswith("utanforskap-webb-")
    data.close()
    assert not folder.exists()
    kept = build(result, tmp_path)
    kept.close()
    assert (tmp_path / "omraden.csv").is_file()  # a directory the caller gave is theirs
