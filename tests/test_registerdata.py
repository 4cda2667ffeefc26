"""SCB's integration tables per RegSO end to end: catalogue -> hamta (local fake PxWebApi 2.0) ->
store -> karta with se-utanforskap-registerdata; and the bad-input rules (clear errors, nothing written).

The fake server answers the integration tables in JSON-stat2 with MADE-UP values
(tests/fakeapi/integration.py) over the RegSO of kommun 0114 and 0115.
"""

from __future__ import annotations

import shutil

import polars as pl
import pytest
import tomli_w
from cli_helpers import cli
from fakeapi.fixtures import api, settings  # noqa: F401  (fixtures)

from utanforskap import catalogue
from utanforskap.errors import SourceError
from utanforskap.observations.store import ObservationStore
from utanforskap.results import calibrate, karta
from utanforskap.sources import bundle
from utanforskap.sources.fetch import run

CAT = catalogue.load()
INTEGRATION = {vid: v for vid, v in CAT.variabel.items() if v.scb is not None and v.scb.tabell.startswith("IntGr")}


def write_catalogue(path, variables: dict) -> None:
    doc = {"variabel": {vid: v.model_dump(exclude_none=True) for vid, v in variables.items()}}
    path.write_bytes(tomli_w.dumps(doc).encode("utf-8"))


def with_scb(vid: str, **changes) -> dict:
    var = INTEGRATION[vid]
    return {vid: var.model_copy(update={"scb": var.scb.model_copy(update=changes)})}


def _settings(settings, api):  # noqa: F811
    return settings.model_copy(update={"scb_url": api.scb_url, "kolada_url": api.kolada_url})


def test_catalogue_lists_every_integration_table_unverified_with_years_and_origin():
    tables = {v.scb.tabell for v in INTEGRATION.values()}
    assert tables == {"IntGr1RegSOBASN", "IntGr4RegSOKon", "IntGr8RegSOKon2", "IntGr10RegSOKon", "IntGr11RegSO1",
                      "IntGr8RegSOKON1N", "IntGr5RegSOKon"}
    for vid, v in INTEGRATION.items():
        assert not v.scb.verifierad and v.scb.ar and v.scb.ursprung and "EJ VERIFIERAD" in v.beskrivning, vid
        assert v.aggregering == "ej"  # percentages without numerators and denominators
    labour = [vid for vid, v in INTEGRATION.items() if v.scb.tabell == "IntGr1RegSOBASN"]
    for measure in ("andel_forvarvsarbetande", "andel_arbetslosa", "andel_langtidsarbetslosa"):
        for suffix in ("", "_kvinnor", "_man", "_inrikes_fodda", "_utrikes_fodda"):
            assert measure + suffix in labour
    assert INTEGRATION["andel_forvarvsarbetande_utrikes_fodda"].scb.urval == {"BakgrVar": "F", "Kon": "1+2"}
    assert INTEGRATION["andel_valdeltagande_riksdag"].scb.ar == "2018, 2022"


@pytest.mark.slow
def test_hamta_fetches_the_integration_tables_into_the_store(api, settings, tmp_path):  # noqa: F811
    kat = tmp_path / "katalog.toml"
    write_catalogue(kat, INTEGRATION)
    s = _settings(settings, api)
    outcomes = {o.variabel: o for o in run(["2022"], "regso", settings=s, katalog=kat)}
    assert set(outcomes) == set(INTEGRATION)
    store = ObservationStore(s.store_dir)
    obs = store.read(niva="regso", period="2022")
    assert set(obs["variabel"]) == set(INTEGRATION)
    # RegSO 2025 codes of IntGr1RegSOBASN are joined to the store's RegSO 2020 codes.
    emp = obs.filter(pl.col("variabel") == "andel_forvarvsarbetande").sort("omrade")
    assert emp["omrade"].str.contains(r"^\d{4}R\d{3}$").all() and emp.height == 19
    assert emp["enhet"].unique().to_list() == ["procent"] and emp["kalla"].unique().to_list() == ["SCB IntGr1RegSOBASN"]
    # The foreign-born cells of the last area are '..' at SCB: stored as suppressed, never 0.
    fb = obs.filter(pl.col("variabel") == "andel_forvarvsarbetande_utrikes_fodda")
    assert fb.filter(pl.col("status") == "undertryckt")["varde"].null_count() == 1
    meta = store.datasets()["api_andel_forvarvsarbetande_regso"]
    assert meta["kodlista"] == "vs_RegSO2025" and meta["tabell"] == "IntGr1RegSOBASN"
    assert "ej verifierade" in outcomes["andel_forvarvsarbetande"].note
    # The request named the catalogue's background and sex codes.
    posted = [{i["variableCode"]: i["valueCodes"] for i in r.body["selection"]}
              for r in api.requests("/tables/IntGr1RegSOBASN/data", method="POST")]
    assert {"BakgrVar": ["F"], "Kon": ["1+2"]}.items() <= {k: v for p in posted for k, v in p.items() if p.get("BakgrVar") == ["F"]}.items()


def test_valdeltagande_is_fetched_only_for_election_years(api, settings, tmp_path):  # noqa: F811
    kat = tmp_path / "katalog.toml"
    write_catalogue(kat, {"andel_valdeltagande_riksdag": INTEGRATION["andel_valdeltagande_riksdag"]})
    (o,) = run(["2021", "2022"], "regso", settings=_settings(settings, api), katalog=kat)
    assert o.meta["ar"] == ["2022"] and "tabellen saknar 2021" in o.note


@pytest.mark.parametrize(
    "vid, change, message",
    [
        ("andel_forvarvsarbetande_utrikes_fodda", {"urval": {"BakgrVar": "UTR", "Kon": "1+2"}},
         r"SCB-tabell IntGr1RegSOBASN \(variabeln andel_forvarvsarbetande_utrikes_fodda\): bakgrundskoden 'UTR' för BakgrVar "
         r"finns inte; tabellen har TOT \(samtliga\), SE \(födda i Sverige\), F \(utrikes födda\)"),
        ("andel_forvarvsarbetande_kvinnor", {"urval": {"BakgrVar": "TOT", "Kon": "K"}},
         r"könskoden 'K' för Kon finns inte; tabellen har 1\+2 \(totalt\), 1 \(män\), 2 \(kvinnor\)"),
        ("andel_ekonomiskt_bistand", {"innehall": "000004ZZ"},
         r"SCB-tabell IntGr4RegSOKon \(variabeln andel_ekonomiskt_bistand\): innehållet 000004ZZ finns inte; tabellen har 000004WZ"),
        ("andel_forvarvsarbetande", {"kodlistor": {"regso": "vs_RegSO2020"}},
         r"områdesindelningen stämmer inte: katalogen begär kodlistan vs_RegSO2020 \(RegSO 2020\) men tabellens Region har "
         r"vs_RegSO2025 \(RegSO 2025\)"),
    ],
    ids=["bakgrund_saknas", "kon_saknas", "innehall_saknas", "fel_indelning"],
)
def test_bad_selection_is_a_clear_error_and_nothing_is_written(api, settings, tmp_path, vid, change, message):  # noqa: F811
    kat = tmp_path / "katalog.toml"
    # A good variable first: it is fetched, then the bad one stops the run, and nothing is written.
    write_catalogue(kat, {"ohalsotal_dagar": INTEGRATION["ohalsotal_dagar"], **with_scb(vid, **change)})
    s = _settings(settings, api)
    with pytest.raises(SourceError, match=message) as err:
        run(["2022"], "regso", settings=s, katalog=kat)
    assert "observationslagret" in str(err.value) and "är oförändrat" in str(err.value)
    assert not (s.store_dir / "manifest.json").exists() or ObservationStore(s.store_dir).datasets() == {}


def test_a_table_of_another_vintage_than_the_stored_dataset_stops_before_writing(api, settings, tmp_path):  # noqa: F811
    s = _settings(settings, api)
    store = ObservationStore(s.store_dir)
    old = pl.DataFrame({"omrade": ["0114R001"], "niva": ["regso"], "period": ["2021"], "variabel": ["andel_forvarvsarbetande"],
                        "taljare": [None], "namnare": [None], "varde": [70.0], "enhet": ["procent"],
                        "kalla": ["SCB IntGr1RegSOBASN"], "status": [None]})
    with store.transaction() as tx:
        tx.put("api_andel_forvarvsarbetande_regso", old, niva=["regso"], perioder=["2021"], kodlista="vs_DeSO2018")
    before = (s.store_dir / "manifest.json").read_bytes()
    kat = tmp_path / "katalog.toml"
    write_catalogue(kat, {"andel_forvarvsarbetande": INTEGRATION["andel_forvarvsarbetande"]})
    with pytest.raises(SourceError, match=r"indelningen vs_RegSO2025 \(RegSO 2025\) skiljer sig från lagrets vs_DeSO2018"):
        run(["2022"], "regso", settings=s, katalog=kat)
    assert (s.store_dir / "manifest.json").read_bytes() == before


def test_a_kolada_kpi_that_does_not_exist_is_named(api, settings, tmp_path):  # noqa: F811
    kat = tmp_path / "katalog.toml"
    kat.write_text(
        '[variabel.bistand_kolada]\nnamn = "x"\naggregering = "kvot"\nkalla = "Kolada N99999"\n'
        '[variabel.bistand_kolada.kolada]\nkpi = "N99999"\n', encoding="utf-8")
    s = _settings(settings, api)
    with pytest.raises(SourceError, match=r"Kolada \(variabeln bistand_kolada\): nyckeltalet N99999 finns inte i Koladas nyckeltalslista"):
        run(["2022"], "kommun", settings=s, katalog=kat)
    assert not (s.store_dir / "manifest.json").exists()


def _fetched_store(api, tmp_path):  # noqa: F811
    """The bundled open data copied into a store with the integration tables fetched on top
    (hamta, from the fake server), as a user would; (store, the CLI's environment)."""
    lager = tmp_path / "lager"
    shutil.copytree(bundle.package_dir() / bundle.STORE_DIR, lager)
    kat = tmp_path / "katalog.toml"
    write_catalogue(kat, INTEGRATION)
    env = {"UTANFORSKAP_SCB_URL": api.scb_url, "UTANFORSKAP_KOLADA_URL": api.kolada_url, "UTANFORSKAP_GEOMETRI_WFS": ""}
    got = cli("hamta", "--ar", "2022", "--niva", "regso", "--lager", lager, "--katalog", kat, "--cache", tmp_path / "cache", env=env)
    assert got.returncode == 0, got.stdout + got.stderr
    return lager, env


@pytest.mark.slow
def test_hamta_then_karta_runs_the_registerdata_method(api, tmp_path):  # noqa: F811
    """The CLI as a user runs it: the bundled open data copied into a store, the integration tables
    fetched on top (hamta, from the fake server), then `karta --data STORE` picks the method."""
    lager, env = _fetched_store(api, tmp_path)
    out = tmp_path / "ut"
    got = cli("karta", "--data", lager, "--ar", "2022", "--ut", out, env=env)
    assert got.returncode == 0, got.stdout + got.stderr
    assert "se-utanforskap-registerdata" in got.stdout
    areas = pl.read_csv(out / "omraden_maskinlasbar.csv", infer_schema_length=0)  # the machine CSV: "," and "."
    ours = areas.filter(pl.col("kommun_kod").is_in(["0114", "0115"]))
    emp = ours.select("regso_kod", pl.col("andel_forvarvsarbetande").cast(pl.Float64),
                      pl.col("flagga_arbetsmarknadsetablering"))
    assert emp["andel_forvarvsarbetande"].null_count() == 0
    flagged = emp.filter(pl.col("andel_forvarvsarbetande") <= 60)
    assert flagged.height > 0
    assert set(flagged["flagga_arbetsmarknadsetablering"]) == {"1"}
    # Elsewhere the official measures are missing: at most the two proxies can flag, so nothing is listed there.
    rest = areas.filter(~pl.col("kommun_kod").is_in(["0114", "0115"]))
    assert rest["andel_forvarvsarbetande"].null_count() == rest.height
    assert rest["klass"].null_count() == rest.height
    assert ours["klass"].is_not_null().any()


@pytest.mark.slow
def test_kalibrera_calibrates_the_registerdata_method_on_a_fetched_store(api, tmp_path):  # noqa: F811
    """`kalibrera --metod se-utanforskap-registerdata --data STORE` searches the bundled grid against
    the published totals; the grid holds the method's own thresholds, so the chosen ones fit at
    least as well, and the engine's recomputed map agrees with the vectorised search."""
    lager, env = _fetched_store(api, tmp_path)
    out = tmp_path / "param.toml"
    got = cli("kalibrera", "--metod", "se-utanforskap-registerdata", "--data", lager, "--ut", out, env=env)
    assert got.returncode == 0, got.stdout + got.stderr
    assert "se-utanforskap-registerdata" in got.stdout and f"Observationslager {lager}" in got.stdout
    spec = calibrate.spec_for_method("se-utanforskap-registerdata")
    assert spec.mal == calibrate.load_spec().mal  # no targets of its own: the published ones
    cal = calibrate.calibrate(spec, str(lager))
    assert cal.forlust == pytest.approx(cal.forlust_rutnat)
    assert all(cal.parametrar[p] in grid for p, grid in spec.rutnat.items())
    default = karta.compute("se-utanforskap-registerdata", spec.ar, str(lager))
    assert all(default.parameters[p] in grid for p, grid in spec.rutnat.items())  # the defaults are in the grid
    assert cal.forlust <= calibrate.loss(calibrate.fit(default, spec.mal), spec.mal)
    assert out.read_text("utf-8").count("[parametrar.") == len(spec.rutnat)
