"""`utanforskap hamta` end to end: a real process, env vars pointing at the local server."""

import json
import os
import subprocess
import sys

import polars as pl
import pytest
from fakeapi import Fault
from fakeapi.fixtures import DATA

from utanforskap.errors import InputError, SourceError
from utanforskap.observations.store import ObservationStore
from utanforskap.sources.fetch import parse_years, run

KATALOG = DATA / "katalog_api.toml"


def hamta(api, tmp_path, *args, scb_url=None, kolada_url=None):
    env = {
        **os.environ,
        "UTANFORSKAP_SCB_URL": scb_url or api.scb_url,
        "UTANFORSKAP_KOLADA_URL": kolada_url or api.kolada_url,
        "UTANFORSKAP_CACHE_DIR": str(tmp_path / "cache"),
        "UTANFORSKAP_HTTP_BACKOFF_BASE": "0.01",
        "UTANFORSKAP_HTTP_MAX_TRIES": "3",
        "COLUMNS": "200",
    }
    cmd = [sys.executable, "-c", "from utanforskap.cli import main; main()", "hamta",
           "--lager", str(tmp_path / "lager"), "--katalog", str(KATALOG), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def snapshot(root):
    """Every file of a store directory with its bytes (locks and staging aside)."""
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.mark.slow
def test_cli_fetches_catalogue_variables_into_the_store(api, tmp_path):
    r = hamta(api, tmp_path, "--ar", "2022-2023", "--niva", "regso")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "befolkning" in out and "SCB TAB0001 (vs_RegSO2020)" in out
    assert "ingen API-källa" in out and "brott_polisen" in out
    assert "Kolada har bara kommunnivå" in out and "Skrev 2 dataset" in out
    store = ObservationStore(tmp_path / "lager")
    assert set(store.datasets()) == {"api_befolkning_regso", "api_forvarvsarbetande_kvinnor_regso"}
    obs = store.read(niva="regso", variabler=["befolkning"])
    assert obs.height == 19 * 2 and set(obs["period"]) == {"2022", "2023"}
    assert obs["omrade"].str.contains(r"^\d{4}R\d{3}$").all()
    suppressed = obs.filter(pl.col("status") == "undertryckt")
    assert suppressed.height > 0 and suppressed["varde"].null_count() == suppressed.height
    # The values are the server's: compare with a direct query.
    with api_client(api, tmp_path) as c:
        ds = c.data("TAB0001", {"Region": "*", "ContentsCode": "000001AA", "Tid": ["2022", "2023"], "Kon": "1+2"},
                    {"Region": "vs_RegSO2020"})
    direct = dict(zip(ds.frame["Region"] + "/" + ds.frame["Tid"], ds.frame["varde"], strict=False))
    assert all(direct[f"{o}/{p}"] == v or (v is None and direct[f"{o}/{p}"] is None)
               for o, p, v in obs.select("omrade", "period", "varde").iter_rows())


def api_client(api, tmp_path):
    from utanforskap.settings import Settings
    from utanforskap.sources.pxweb import PxWebClient

    return PxWebClient(api.scb_url, settings=Settings(cache_dir=tmp_path / "direkt"))


@pytest.mark.slow
def test_kommun_level_takes_kolada_and_scb(api, tmp_path):
    r = hamta(api, tmp_path, "--ar", "2020", "--niva", "kommun")
    assert r.returncode == 0, r.stderr
    store = ObservationStore(tmp_path / "lager")
    kolada = store.read(niva="kommun", variabler=["invanare_kolada"])
    assert kolada.height == 290 and set(kolada["kalla"]) == {"Kolada N01951"}
    assert "ingen kodlista för nivån kommun" in r.stdout  # forvarvsarbetande_kvinnor has no kommun list


@pytest.mark.slow
def test_failed_run_leaves_the_store_exactly_as_it_was(api, tmp_path):
    assert hamta(api, tmp_path, "--ar", "2021", "--niva", "regso").returncode == 0
    before = snapshot(tmp_path / "lager")
    manifest = (tmp_path / "lager" / "manifest.json").read_bytes()
    # befolkning (19 RegSO x 2 years, in two parts of at most 20 cells) is fetched whole;
    # the first part of the next variable comes back one value short.
    api.scb.config["maxDataCells"] = 20
    api.inject("/tables/TAB0001/data", Fault.drop_values(1), times=1, after=2)
    r = hamta(api, tmp_path, "--ar", "2022-2023", "--niva", "regso")
    assert r.returncode == 2
    assert "avbröts vid variabeln forvarvsarbetande_kvinnor" in r.stderr and "oförändrat" in r.stderr
    assert "19 värden men dimensionerna ger 20" in r.stderr
    assert "AVBRUTEN, inget skrevs" in r.stdout
    assert (tmp_path / "lager" / "manifest.json").read_bytes() == manifest
    assert snapshot(tmp_path / "lager") == before


@pytest.mark.slow
def test_failure_in_a_later_variable_also_writes_nothing(api, tmp_path):
    before = snapshot(tmp_path)
    api.inject("/kolada/v3/data/", Fault.http(500), times=99)
    r = hamta(api, tmp_path, "--ar", "2020", "--niva", "kommun")
    assert r.returncode == 2 and "invanare_kolada" in r.stderr and "gav upp efter 3 försök" in r.stderr
    assert not (tmp_path / "lager" / "manifest.json").exists()
    assert {p for p in snapshot(tmp_path) if "lager" in p.parts} == {p for p in before if "lager" in p.parts}


@pytest.mark.slow
def test_offline_run_replays_the_cache_into_identical_datasets(api, tmp_path):
    assert hamta(api, tmp_path, "--ar", "2023-2024", "--niva", "deso").returncode == 0
    online = {n: e["sha256"] for n, e in ObservationStore(tmp_path / "lager").datasets().items()}
    dead = "http://127.0.0.1:9"  # nothing listens there: the network must not be used
    api.clear()
    r = hamta(api, tmp_path, "--ar", "2023-2024", "--niva", "deso", "--offline", scb_url=api.scb_url, kolada_url=dead)
    assert r.returncode == 0, r.stderr
    assert api.requests() == []
    offline = {n: e["sha256"] for n, e in ObservationStore(tmp_path / "lager").datasets().items()}
    assert offline == online and len(online) == 2


@pytest.mark.slow
def test_missing_catalogue_file_is_one_swedish_line(api, tmp_path):
    r = hamta(api, tmp_path, "--katalog", str(tmp_path / "nope.toml"))
    assert r.returncode == 2 and "nope.toml: katalogfilen finns inte" in r.stderr
    assert "Traceback" not in r.stderr and "FileNotFoundError" not in r.stderr


@pytest.mark.slow
def test_offline_without_cache_says_what_is_missing(api, tmp_path):
    r = hamta(api, tmp_path, "--ar", "2023", "--offline")
    assert r.returncode == 2 and "finns inte i cachen" in r.stderr and "hämta först utan --offline" in r.stderr
    assert api.requests() == []


def test_split_queries_in_a_run_are_complete(api, settings, tmp_path):
    api.scb.config["maxDataCells"] = 10
    settings = settings.model_copy(update={"scb_url": api.scb_url, "kolada_url": api.kolada_url})
    outcomes = run(["2019", "2020", "2021"], "deso", settings=settings, katalog=KATALOG)
    bef = next(o for o in outcomes if o.variabel == "befolkning")
    assert bef.frame.height == 42 * 3 and len(api.requests("/tables/TAB0001/data")) >= 2 * (42 * 3 // 10)


def test_years_missing_from_the_table_are_reported(api, settings):
    settings = settings.model_copy(update={"scb_url": api.scb_url, "kolada_url": api.kolada_url})
    outcomes = run(["2017", "2018", "2019"], "regso", settings=settings, katalog=KATALOG)
    bef = next(o for o in outcomes if o.variabel == "befolkning")
    assert "tabellen saknar 2017, 2018" in bef.note and bef.frame.height == 19


@pytest.mark.parametrize(
    "text, years",
    [("2019-2021", ["2019", "2020", "2021"]), ("2022", ["2022"]), ("2019, 2021-2022", ["2019", "2021", "2022"])],
)
def test_parse_years(text, years):
    assert parse_years(text) == years


@pytest.mark.parametrize("text", ["19", "2024-2019", "2019-"])
def test_parse_years_refuses_nonsense(text):
    with pytest.raises(InputError, match="--ar"):
        parse_years(text)


def test_unknown_level_is_refused(settings):
    with pytest.raises(InputError, match="okänd nivå"):
        run(["2020"], "lan", settings=settings, katalog=KATALOG)


@pytest.mark.slow
def test_manifest_records_where_data_came_from(api, tmp_path):
    assert hamta(api, tmp_path, "--ar", "2020", "--niva", "regso").returncode == 0
    entry = json.loads((tmp_path / "lager" / "manifest.json").read_text())["dataset"]["api_befolkning_regso"]
    assert entry["tabell"] == "TAB0001" and entry["kodlista"] == "vs_RegSO2020" and entry["ar"] == ["2020"]
    assert entry["hamtat_fran"] == "SCB PxWebApi 2.0"


def test_a_later_run_keeps_the_periods_it_did_not_fetch(api, settings):
    settings = settings.model_copy(update={"scb_url": api.scb_url, "kolada_url": api.kolada_url})
    store = ObservationStore(settings.store_dir)
    run(["2019", "2020"], "regso", settings=settings, katalog=KATALOG)
    first = store.dataset("api_befolkning_regso")
    outcomes = run(["2022"], "regso", settings=settings, katalog=KATALOG)
    assert "behöll tidigare hämtade 2019, 2020" in next(o for o in outcomes if o.variabel == "befolkning").note
    after = store.dataset("api_befolkning_regso")
    assert sorted(after["period"].unique()) == ["2019", "2020", "2022"] and after.height == 19 * 3
    # The earlier periods are the rows stored before, untouched.
    earlier = after.filter(pl.col("period") != "2022").sort("omrade", "period")
    assert earlier.equals(first.sort("omrade", "period"))
    entry = store.datasets()["api_befolkning_regso"]
    assert entry["ar"] == ["2019", "2020", "2022"]
    assert [r["ar"] for r in entry["hamtningar"]] == [["2019", "2020"], ["2022"]]
    assert all(r["kodlista"] == "vs_RegSO2020" for r in entry["hamtningar"])
    # Fetching a stored period again replaces its rows (no duplicates) and its record.
    run(["2020"], "regso", settings=settings, katalog=KATALOG)
    again = store.datasets()["api_befolkning_regso"]
    assert again["ar"] == ["2019", "2020", "2022"] and again["rader"] == 19 * 3
    assert [r["ar"] for r in again["hamtningar"]] == [["2019"], ["2022"], ["2020"]]


# ---- regressions: faults found against an independently written server ----------------
def _with_api(settings, api):
    return settings.model_copy(update={"scb_url": api.scb_url, "kolada_url": api.kolada_url})


def test_a_kolada_year_that_comes_back_empty_keeps_the_stored_rows(api, settings):
    settings = _with_api(settings, api)
    store = ObservationStore(settings.store_dir)
    run(["2020", "2021"], "kommun", settings=settings, katalog=KATALOG)
    before = store.dataset("api_invanare_kolada_kommun").sort("omrade", "period")
    assert set(before["period"]) == {"2020", "2021"}
    api.kolada.empty_years = {"2021"}  # Kolada answers nothing for 2021 now
    outcomes = run(["2020", "2021"], "kommun", settings=settings, katalog=KATALOG)
    o = next(o for o in outcomes if o.variabel == "invanare_kolada")
    assert "Kolada har inga värden för 2021" in o.note and o.meta["ar"] == ["2020"]
    after = store.dataset("api_invanare_kolada_kommun").sort("omrade", "period")
    assert after.equals(before)
    entry = store.datasets()["api_invanare_kolada_kommun"]
    assert entry["ar"] == ["2020", "2021"] and [r["ar"] for r in entry["hamtningar"]] == [["2021"], ["2020"]]


def test_a_failed_run_leaves_the_cache_as_it_was(api, settings):
    """Offline replay after a failed run gives the last successful run, never a mix of two publications."""
    settings = _with_api(settings, api)
    store = ObservationStore(settings.store_dir)
    run(["2022"], "regso", settings=settings, katalog=KATALOG)
    first = {n: store.dataset(n) for n in store.datasets()}
    cached = snapshot(settings.cache_dir)
    # SCB publishes new figures; the new run fails at the second variable.
    api.scb.cubes["TAB0001"].values += 1
    api.inject("/tables/TAB0001/data", Fault.drop_values(1), times=1, after=1)
    with pytest.raises(SourceError, match="avbröts vid variabeln forvarvsarbetande_kvinnor"):
        run(["2022"], "regso", settings=settings, katalog=KATALOG)
    staged = settings.cache_dir / ".staging"
    assert {p: b for p, b in snapshot(settings.cache_dir).items() if p.parts[0] != ".staging"} == cached
    assert [p.name for p in staged.glob("*/MISSLYCKAD")]  # kept apart, for the error's "rått svar"
    run(["2022"], "regso", settings=settings, katalog=KATALOG, offline=True)
    assert {n: store.dataset(n) for n in store.datasets()}.keys() == first.keys()
    for name, frame in first.items():
        assert store.dataset(name).sort("omrade", "period").equals(frame.sort("omrade", "period")), name
    run(["2022"], "regso", settings=settings, katalog=KATALOG)  # the next online run clears it away
    assert not list(staged.glob("*"))


def test_a_successful_run_commits_its_responses_to_the_cache(api, settings):
    settings = _with_api(settings, api)
    run(["2022"], "regso", settings=settings, katalog=KATALOG)
    api.scb.cubes["TAB0001"].values += 1
    second = {n: f for n, f in ((o.dataset, o.frame) for o in run(["2022"], "regso", settings=settings, katalog=KATALOG))
              if f is not None}
    offline = run(["2022"], "regso", settings=settings, katalog=KATALOG, offline=True)
    for o in offline:
        if o.frame is not None:
            assert o.frame.equals(second[o.dataset])
    assert not list((settings.cache_dir / ".staging").glob("*"))


def test_saknas_counts_the_area_year_combinations_the_source_lacks(api, settings):
    from utanforskap.geography import hierarchy

    areas = hierarchy.default().codes("regso").len()
    outcomes = run(["2017", "2018", "2019"], "regso", settings=_with_api(settings, api), katalog=KATALOG)
    bef = next(o for o in outcomes if o.variabel == "befolkning")
    rows, valued, suppressed, missing = bef.counts()
    assert rows == 19  # the table lacks 2017 and 2018 and has 19 RegSO
    assert missing == areas * 3 - valued - suppressed


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["UTANFORSKAP_SCB_URL", "UTANFORSKAP_KOLADA_URL"])
def test_a_base_url_without_scheme_is_one_line_naming_the_setting(api, tmp_path, setting):
    bad = f"127.0.0.1:{api.port}/" + ("scb/api/v2" if "SCB" in setting else "kolada/v3")
    urls = {"scb_url": bad} if "SCB" in setting else {"kolada_url": bad}
    r = hamta(api, tmp_path, "--ar", "2020", "--niva", "kommun", **urls)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    message = " ".join(r.stderr.split())
    assert f"ogiltig inställning {setting}" in message and "http://" in message and "försök" not in message
    service = "/scb/" if "SCB" in setting else "/kolada/"
    assert api.requests(service) == []
