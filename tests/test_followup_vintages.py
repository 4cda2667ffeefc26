"""Area vintages and breaks in the series: the key DeSO 2018 -> 2025 / RegSO 2020 -> 2025 with a
change code per area (from SCB's aggregation codelists on the local server, or a key file),
a follow-up across the break that continues only for unchanged areas, and the declared
breaks shown wherever a series crosses them."""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl
import pytest
from fakeapi.fixtures import DATA, api  # noqa: F401  (the fixture)
from followup_helpers import multi_year_store

from utanforskap.errors import InputError
from utanforskap.followup import breaks, export, series
from utanforskap.geography import vintages
from utanforskap.observations.store import ObservationStore
from utanforskap.sources import vintage_keys


def _changes(key: pl.DataFrame, niva: str) -> dict[str, str]:
    return dict(vintages.area_changes(key, niva).select("kod", "andring").iter_rows())


def test_change_codes_from_links():
    links = pl.DataFrame({
        "kod_fran": ["A1", "B1", "B1", "C1", "D1", "E1", "F1", "G1", "G1", "H1"],
        "kod_till": ["A1", "B2", "B3", "X1", "X1", "E2", None, "Y1", "Y2", "Y2"],
    })
    key = vintages.classify(links, "deso")
    got = _changes(key, "deso")
    assert got == {"A1": "oförändrad", "B1": "delad", "C1": "sammanslagen", "D1": "sammanslagen", "E1": "ändrad",
                   "F1": "ändrad", "G1": "ändrad", "H1": "ändrad"}
    why = dict(vintages.area_changes(key, "deso").select("kod", "orsak").iter_rows())
    assert why["A1"] is None
    assert why["B1"] == "DeSO 2018 → DeSO 2025: delad i DeSO 2025 i B2, B3"
    assert why["C1"] == "DeSO 2018 → DeSO 2025: sammanslagen i DeSO 2025 till X1 med C1, D1"
    assert why["E1"] == "DeSO 2018 → DeSO 2025: ny kod i DeSO 2025: E2"
    assert why["F1"] == "DeSO 2018 → DeSO 2025: ingen efterföljare i DeSO 2025"


@pytest.mark.slow
def test_hamta_reads_the_key_from_scbs_aggregation_codelists(api, tmp_path):  # noqa: F811
    env = {**os.environ, "UTANFORSKAP_SCB_URL": api.scb_url, "UTANFORSKAP_CACHE_DIR": str(tmp_path / "cache"), "COLUMNS": "200"}
    r = subprocess.run(
        [sys.executable, "-m", "utanforskap", "hamta", "--omradesnycklar", "--lager", str(tmp_path / "lager")],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "agg_RegSO2020 och agg_RegSO2025" in r.stdout
    key = vintage_keys.read(tmp_path / "lager")
    deso, regso = _changes(key, "deso"), _changes(key, "regso")
    # The server's made-up 2025 vintage (tests/fakeapi/scb.py VINTAGE_2025).
    assert deso["0114C1010"] == "delad" and deso["0115C1080"] == "oförändrad"
    assert deso["0115A0010"] == deso["0115A0020"] == "ändrad"  # merged into a new code: no link by the code rule
    assert regso["0114R001"] == "oförändrad"  # its DeSO was divided inside it
    assert regso["0115R004"] == "ändrad" and regso["0115R006"] == "ändrad" and regso["0115R007"] == "ändrad"
    assert {k for k, v in regso.items() if v != "oförändrad"} == {"0115R004", "0115R006", "0115R007"}
    assert len(regso) == 19
    assert "regso: oförändrad 16, ändrad 3" in r.stdout
    # The server answered the real format: the recorded SCB aggregation's keys, type and valueMap.
    import json

    recorded = json.loads((DATA / "codelist_agg_Alder10arJ.json").read_text(encoding="utf-8"))
    served = api.scb.codelists["agg_RegSO2025"]
    assert set(served) == set(recorded) and served["type"] == recorded["type"] == "Aggregation"
    assert all(set(v) == {"code", "label", "valueMap"} for v in served["values"])


def test_a_key_file_with_title_rows_is_read(tmp_path):
    import xlsxwriter

    path = tmp_path / "nyckel.xlsx"
    with xlsxwriter.Workbook(str(path)) as wb:
        ws = wb.add_worksheet()
        ws.write_row(0, 0, ["Nyckel DeSO 2018 – DeSO 2025"])
        ws.write_row(2, 0, ["DeSO 2018", "DeSO 2025", "Kommentar"])
        for i, row in enumerate([("0114C1010", "0114C1011"), ("0114C1010", "0114C1012"), ("0114C1030", "0114C1030"),
                                 ("0115A0010", "0115A0050"), ("0115A0020", "0115A0050")]):
            ws.write_row(3 + i, 0, [*row, ""])
    got = _changes(vintages.read_key_file(path), "deso")
    assert got == {"0114C1010": "delad", "0114C1030": "oförändrad", "0115A0010": "sammanslagen", "0115A0020": "sammanslagen"}


def test_a_key_file_without_the_columns_is_one_line(tmp_path):
    path = tmp_path / "nyckel.csv"
    path.write_text("kod;namn\n0114C1010;x\n", encoding="utf-8")
    with pytest.raises(InputError, match="nyckel.csv: hittar ingen rubrik för DeSO 2018"):
        vintages.read_key_file(path)


# ---- a follow-up across the area-vintage break ----------------------------------------------
def _two_vintage_store(root, changed: dict[str, str] | None):
    """2022-2023 in RegSO 2020 and 2024 in RegSO 2025 (as `hamta` records them), and a key."""
    base = multi_year_store(root / "bas", years=range(2020, 2025))
    obs = base.read()
    store = ObservationStore(root / "lager")
    old = obs.filter(pl.col("period") != "2024")
    new = obs.filter(pl.col("period") == "2024")
    store.write(
        {"api_gammal": old, "api_ny": new},
        meta={"api_gammal": {"niva": "regso", "kodlista": "vs_RegSO2020", "ar": ["2020", "2021", "2022", "2023"]},
              "api_ny": {"niva": "regso", "kodlista": "vs_RegSO2025", "ar": ["2024"]}},
    )
    if changed is not None:
        codes = obs.filter(pl.col("niva") == "regso")["omrade"].unique().sort()
        links = pl.DataFrame({"kod_fran": codes, "kod_till": codes}).with_columns(
            kod_till=pl.when(pl.col("kod_fran").is_in(list(changed))).then(pl.col("kod_fran").replace(changed)).otherwise(pl.col("kod_till"))
        )
        vintage_keys.write(vintages.classify(links, "regso"), store.root)
    return store


@pytest.mark.slow
def test_without_a_key_the_two_vintages_are_an_error_naming_the_command(tmp_path):
    store = _two_vintage_store(tmp_path, None)
    with pytest.raises(InputError, match=r"åren 2024 är i RegSO 2025.*utanforskap hamta --omradesnycklar"):
        series.follow_up("se-oppna-data-2022", [2022, 2023, 2024], str(store.root))


@pytest.mark.slow
def test_areas_of_two_vintages_in_one_year_are_an_error(tmp_path):
    obs = multi_year_store(tmp_path / "bas", years=range(2020, 2025)).read()
    crime = pl.col("variabel") == "brott_urval"
    ObservationStore(tmp_path / "lager").write(
        {"api_ny": obs.filter(~crime), "api_brott": obs.filter(crime)},
        meta={"api_ny": {"niva": "regso", "kodlista": "vs_RegSO2025", "ar": ["2024"]},
              "api_brott": {"niva": "regso", "kodlista": "vs_RegSO2020", "ar": ["2024"]}},
    )
    with pytest.raises(InputError, match=r"år 2024 har områden i två indelningar: api_ny i RegSO 2025 men api_brott i RegSO 2020"):
        series.follow_up("se-oppna-data-2022", [2022, 2023, 2024], str(tmp_path / "lager"))


@pytest.mark.slow
def test_a_series_across_the_break_continues_only_for_unchanged_areas(tmp_path):
    listed = series.follow_up("se-oppna-data-2022", [2022, 2023], str(multi_year_store(tmp_path / "x", years=range(2020, 2025)).root))
    on_list = listed.areas.filter((pl.col("ar") == 2023) & pl.col("klass").is_not_null())["regso_kod"].to_list()
    a, b = on_list[0], on_list[1]
    store = _two_vintage_store(tmp_path, {a: a[:-1] + "9"})  # a gets a new code: ändrad; the rest unchanged
    fu = series.follow_up("se-oppna-data-2022", [2022, 2023, 2024], str(store.root))
    areas = fu.areas
    assert dict(areas.filter(pl.col("regso_kod") == b).select("ar", "jamforbarhet").iter_rows()) == {2022: "jämförbar", 2023: "jämförbar", 2024: "jämförbar"}
    mark = dict(areas.filter(pl.col("regso_kod") == a).select("ar", "jamforbarhet").iter_rows())
    assert mark[2023] == "jämförbar" and mark[2024] == f"ej jämförbar: ändrad (RegSO 2020 → RegSO 2025: ny kod i RegSO 2025: {a[:-1]}9)"
    assert dict(areas.select("ar", "indelning").unique().iter_rows()) == {2022: "RegSO 2020", 2023: "RegSO 2020", 2024: "RegSO 2025"}
    ch = fu.changes.filter((pl.col("regso_kod") == a) & (pl.col("till_ar") == 2024))
    assert ch.height == 1 and ch["orsak"][0].startswith("ej jämförbar: ändrad") and "deso-regso-2025" in ch["seriebrott"][0]
    assert ch["andring"][0] in ("ej jämförbar", "ut") and ch["bekraftad"][0] in (None, "nej: ej jämförbar")
    assert fu.changes.filter(pl.col("till_ar") == 2023)["seriebrott"].to_list() == [""] * fu.changes.filter(pl.col("till_ar") == 2023).height
    table = fu.break_table()
    row = table.filter(pl.col("id") == "deso-regso-2025").row(0, named=True)
    assert row["galler"] == "ja" and row["mellan"] == "2023–2024"
    out = export.write_all(fu, tmp_path / "ut")
    written = pl.read_csv(out["omraden"], infer_schema_length=0)
    assert written.filter((pl.col("regso_kod") == a) & (pl.col("ar") == "2024"))["jamforbarhet"][0].startswith("ej jämförbar")
    assert pl.read_csv(out["seriebrott"])["id"].to_list() == ["deso-regso-2025"]
    # Beside it, the bundle's real series with the years each has, said plainly.
    real = pl.read_csv(out["faktorer"]).filter(pl.col("faktor").str.ends_with("_verklig"))
    rows = {r["faktor"]: r for r in real.iter_rows(named=True)}
    assert rows["kriminalitet_verklig"]["ar_med_data"] == "2022–2023"
    assert rows["kriminalitet_verklig"]["ar_utan_data"] == "2024: bara första kvartalet 2024 finns i underlaget"
    assert rows["omradestyp_verklig"]["ar_med_data"] == "2022–2023" and rows["kriminalitet_verklig"]["status"].startswith("VERKLIGA ÖPPNA DATA")
    assert pl.read_csv(out["brott_per_ar"])["ar"].unique().sort().to_list() == [2022, 2023]


def test_declared_breaks_are_shown_where_a_series_crosses_them():
    bs = breaks.load()
    assert {b.id for b in bs} >= {"deso-regso-2025", "cellnyckelbrus-2025", "valdistrikt-2026"}
    ids = lambda fran, till, variables: [c.brott.id for c in breaks.crossed(bs, variables, fran, till)]  # noqa: E731
    assert ids(2019, 2024, {"befolkning"}) == ["deso-regso-2025"]
    assert ids(2019, 2025, {"befolkning"}) == ["deso-regso-2025", "cellnyckelbrus-2025"]
    assert ids(2024, 2025, {"sysselsatta_20_64"}) == []  # 2024 -> 2025: no break for employment
    assert ids(2022, 2026, {"rostande"}) == ["deso-regso-2025", "valdistrikt-2026"]
    one = breaks.crossed(bs, {"befolkning"}, 2019, 2024, vintages=dict.fromkeys(range(2019, 2025), "RegSO 2020"))
    assert not one[0].applies and "alla år i samma indelning (RegSO 2020)" in one[0].note


@pytest.mark.slow
def test_area_pages_get_the_breaks_their_years_cross(tmp_path):
    from utanforskap.datasets import open_source
    from utanforskap.followup.service import FollowUpService

    store = multi_year_store(tmp_path / "lager")  # 2019-2024: the map 2021-2024 (3-year crime sums)
    svc = FollowUpService("se-oppna-data-2022", open_source(str(store.root)))
    s = svc.area_series("0180R024")
    assert [b["id"] for b in s["seriebrott"]] == ["deso-regso-2025"]
    b = s["seriebrott"][0]
    assert b["mellan"] == "2023–2024" and not b["galler"] and "RegSO 2020" in b["anmarkning"]
    assert {r["jamforbarhet"] for r in s["karta"]} == {"jämförbar"}
