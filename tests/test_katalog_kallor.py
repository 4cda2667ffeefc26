"""The catalogue's API sources (`scb` / `kolada` sections of katalog.toml).

Static checks of their form, a check of every verified SCB section against the table
metadata SCB published (transcribed below from stored copies of SCB's responses), and
`utanforskap hamta` end to end against the local test server (tests/fakeapi) serving
tables with those ids and dimensions, so that the bundled catalogue is read as written.
"""

import copy
import math
import re

import numpy as np
import pytest
from fakeapi.scb import Cube

from utanforskap import catalogue
from utanforskap.errors import InputError
from utanforskap.sources.fetch import run

CAT = catalogue.load()
SCB = {vid: v.scb for vid, v in CAT.variabel.items() if v.scb is not None}
KOLADA = {vid: v.kolada for vid, v in CAT.variabel.items() if v.kolada is not None}

AREA_CODELISTS = {"vs_DeSO2018": "deso", "vs_RegSO2020": "regso", "vs_DeSO2025": "deso", "vs_RegSO2025": "regso"}
# Older tables that SCB no longer updates (TAB5956, TAB6258) name their DeSO/RegSO 2018/2020
# valuesets differently; seen in their metadata. Same codes as vs_DeSO2018 / vs_RegSO2020.
LEGACY_CODELISTS = {"vs_DeSoHE": "deso", "vs_RegSo1": "regso"}

# ---- SCB's metadata, as published ---------------------------------------------------------
# Transcribed from GET /tables/{id}/metadata responses stored in github
# real-estate-war-lord/am-dashboard-se, data/raw/scb_<id>.meta.json (commit 696297a):
# per dimension its value codes and whether it can be eliminated; the DeSO/RegSO codelists
# of Region (the kommun/län/riket lists are left out); the years of Tid.
ALL4 = ["vs_DeSO2018", "vs_DeSO2025", "vs_RegSO2020", "vs_RegSO2025"]
KON = (["1", "2", "1+2"], True)
AGES_6574 = ["totalt", "-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44",
             "45-49", "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-"]
INCOME_PARTS = ["10", "30", "230", "70", "80", "90", "100", "110", "120", "140", "150", "160",
                "170", "180", "200", "350", "240"]
RECORDED = {
    "TAB6568": (ALL4, {"Hushallstyp": (["SBMB", "SBUB", "ESMB", "ESUB", "OVRIGA", "TOTALT"], True)},
                ["000007Y1"], range(2011, 2026)),
    "TAB6572": (ALL4, {"Fodelseregion": (["sv", "eu", "öv", "tot"], True), "Kon": KON}, ["000007Y5"], range(2010, 2026)),
    "TAB6571": (ALL4, {"UtlBakgrund": (["2", "1", "SA"], True), "Kon": KON}, ["000007Y4"], range(2010, 2026)),
    "TAB6574": (ALL4, {"Alder": (AGES_6574, True), "Kon": KON}, ["000007Y7"], range(2010, 2026)),
    "TAB6065": (ALL4, {"Hustyp": (["SMÅHUS", "FLERBOST", "ÖVRHUS", "SPEC", "OKÄND", "TOTALT"], True)},
                ["0000077F"], range(2012, 2026)),
    "TAB5956": (["vs_DeSoHE", "vs_RegSo1"], {"UtbildningsNiva": (["21", "3+4", "5", "6", "US"], True)},
                ["000005MO"], range(2015, 2024)),
    "TAB6258": (["vs_DeSoHE", "vs_RegSo1"], {"Upplatelseform": (["1", "2", "3", "ÖVRIGT"], True)},
                ["000006OC"], range(2015, 2024)),
    "TAB6683": (ALL4, {"Inkomstkomponenter": (INCOME_PARTS, False), "Kon": KON},
                ["000008A4", "000008A2", "000008A3"], range(2011, 2025)),
    "TAB6680": (ALL4, {"Kon": KON, "Alder": (["15-74", "16-64", "16-65", "16-66", "20-64", "20-65", "20-66"], False)},
                ["0000089X", "0000089W", "0000089V", "0000089Z", "0000089Y"], range(2020, 2025)),
    "TAB6685": (ALL4, {"Alder": (["tot", "0-19", "20-64", "20-65", "65+", "66+"], True)},
                ["000008AC", "000008AD", "000008AE"], range(2011, 2025)),
}


def unverified_table(table: str):
    """A stand-in built from the catalogue's own sections, for a table whose metadata was not seen."""
    sections = [s for s in SCB.values() if s.tabell == table]
    dims: dict[str, tuple[list[str], bool]] = {}
    for s in sections:
        for var, value in s.urval.items():
            codes = dims.setdefault(var, ([], False))[0]
            codes.extend(c for c in ([value] if isinstance(value, str) else value) if c not in codes)
    lists = sorted({cl for s in sections for cl in s.kodlistor.values()})
    return lists, dims, sorted({s.innehall for s in sections}), range(2011, 2025)


# ---- the form of every section -------------------------------------------------------------
@pytest.mark.parametrize("vid", sorted(SCB))
def test_scb_section_has_scbs_form(vid):
    s = SCB[vid]
    # SCB's integration tables (AA0003) are named by their older ids until their PxWebApi 2.0
    # TAB ids are established; they must then be marked unverified.
    assert re.fullmatch(r"TAB\d{2,5}", s.tabell) or (re.fullmatch(r"IntGr\w+", s.tabell) and not s.verifierad), s.tabell
    assert re.fullmatch(r"[0-9A-Z]{8}", s.innehall), s.innehall
    assert s.region_variabel == "Region" and s.tid_variabel == "Tid"
    assert s.kodlistor, "en scb-del utan kodlista hämtar ingenting"
    for niva, codelist in s.kodlistor.items():
        known = AREA_CODELISTS | LEGACY_CODELISTS
        assert codelist in known, f"{vid}: okänd områdeskodlista {codelist}"
        assert known[codelist] == niva, f"{vid}: {codelist} är en {known[codelist]}-lista, inte {niva}"
        if codelist in LEGACY_CODELISTS:
            assert s.tabell in ("TAB5956", "TAB6258"), "de äldre kodlistorna finns bara i tabellerna som inte uppdateras"
    for var, value in s.urval.items():
        assert var not in ("Region", "Tid", "ContentsCode") and value, f"{vid}: urval {var}={value!r}"


@pytest.mark.parametrize("vid", sorted(KOLADA))
def test_kolada_section_has_koladas_form(vid):
    assert re.fullmatch(r"[NU]\d{5}", KOLADA[vid].kpi), KOLADA[vid].kpi


def test_every_section_says_where_it_comes_from():
    for vid, var in CAT.variabel.items():
        for section, name in ((var.scb, "tabell"), (var.kolada, "kpi")):
            if section is None:
                continue
            ident = getattr(section, name)
            assert ident in var.beskrivning, f"{vid}: beskrivningen nämner inte {ident}"
            if section.verifierad:
                assert "kontrollerad mot SCB:s sparade metadata" in var.beskrivning, vid
            else:
                assert "EJ VERIFIERAD" in var.beskrivning, f"{vid}: ej verifierad källa utan förklaring"


def test_derived_variables_have_no_api_section():
    # The API delivers the parts; a sum of parts is computed, never fetched as one number.
    for vid, var in CAT.variabel.items():
        if var.harledning and var.aggregering == "summa":
            assert var.scb is None and var.kolada is None, vid


def test_verified_sections_match_scbs_metadata():
    verified = {vid: s for vid, s in SCB.items() if s.verifierad}
    assert len(verified) >= 40
    for vid, s in verified.items():
        assert s.tabell in RECORDED, f"{vid}: {s.tabell} är markerad verifierad men dess metadata finns inte här"
        lists, dims, contents, years = RECORDED[s.tabell]
        assert s.innehall in contents, f"{vid}: {s.innehall} finns inte i {s.tabell}"
        for codelist in s.kodlistor.values():
            assert codelist in lists, f"{vid}: {s.tabell} har ingen kodlista {codelist}"
        for var, value in s.urval.items():
            assert var in dims, f"{vid}: {s.tabell} har ingen variabel {var}"
            assert value in dims[var][0], f"{vid}: {var}={value} finns inte i {s.tabell}"
        mandatory = {var for var, (_, eliminable) in dims.items() if not eliminable}
        assert mandatory <= set(s.urval), f"{vid}: urval saknas för {mandatory - set(s.urval)}"
        # Every other dimension pinned to one value, or observations would share a key.
        assert set(s.urval) == set(dims), f"{vid}: ej fastlagda dimensioner {set(dims) - set(s.urval)}"


def test_unverified_sections_are_the_ones_without_recorded_metadata():
    unverified = {s.tabell for s in SCB.values() if not s.verifierad}
    assert {t for t in unverified if not t.startswith("IntGr")} == {"TAB6679"}
    assert not any(k.verifierad for k in KOLADA.values())


# ---- hamta against the local server, with the real catalogue -------------------------------
@pytest.fixture
def scb_tables(api):  # noqa: F811
    """Serve every table the catalogue names, with SCB's dimensions and made-up values."""
    lists = api.scb.codelists
    for legacy, like in (("vs_DeSoHE", "vs_DeSO2018"), ("vs_RegSo1", "vs_RegSO2020")):
        lists[legacy] = {**copy.deepcopy(lists[like]), "id": legacy, "label": legacy}
    for table in sorted({s.tabell for s in SCB.values()}):
        spec = RECORDED.get(table) or unverified_table(table)
        api.scb.cubes[table] = _cube(table, *spec, lists)
    return api


def _cube(table, region_lists, dims, contents, years, lists) -> Cube:
    regions = list(dict.fromkeys(v["code"] for cl in region_lists for v in lists[cl]["values"]))
    codes = {"Region": regions, **{d: list(c) for d, (c, _) in dims.items()}, "ContentsCode": list(contents),
             "Tid": [str(y) for y in years]}
    eliminable = {"Region": False, **{d: e for d, (_, e) in dims.items()}, "ContentsCode": False, "Tid": False}
    meta = {
        d: {"label": d.lower(), "category": {"label": {c: c for c in cs}},
            "extension": {"elimination": eliminable[d], "show": "value", "codelists": [
                {"id": cl, "label": cl, "type": "Valueset", "links": []} for cl in region_lists] if d == "Region" else []}}
        for d, cs in codes.items()
    }
    shape = [len(c) for c in codes.values()]
    cell = np.arange(math.prod(shape))
    values = (1 + (cell * 7) % 997).astype(float)
    symbols = {int(i): ".." for i in cell if i % 13 == 4}
    values[list(symbols)] = np.nan
    header = {"version": "2.0", "class": "dataset", "label": f"{table} (testkopia, påhittade värden)",
              "source": "SCB (syntetisk)", "updated": "2026-06-01T06:00:00Z",
              "role": {"time": ["Tid"], "metric": ["ContentsCode"], "geo": ["Region"]},
              "extension": {"px": {"tableid": table, "decimals": 0}}}
    return Cube(header, list(codes), codes, meta, values.reshape(shape), symbols)


def _settings(settings, api):  # noqa: F811
    return settings.model_copy(update={"scb_url": api.scb_url, "kolada_url": api.kolada_url})


def _posted(api, table):
    """The selections POSTed for `table`: variable -> (value codes, codelist)."""
    return [{i["variableCode"]: (i["valueCodes"], i.get("codelist")) for i in r.body["selection"]}
            for r in api.requests(f"/tables/{table}/data", method="POST")]


@pytest.mark.slow
@pytest.mark.parametrize("niva, areas", [("regso", 19), ("deso", 42)])
def test_hamta_reads_the_catalogue_sections_as_written(scb_tables, settings, niva, areas):  # noqa: F811
    api = scb_tables
    years = ["2022", "2023"]
    outcomes = {o.variabel: o for o in run(years, niva, settings=_settings(settings, api))}
    assert set(outcomes) == set(CAT.variabel)
    at_level = {vid: s for vid, s in SCB.items() if niva in s.kodlistor}
    for vid in SCB:
        if vid not in at_level:  # the integration tables are RegSO only
            assert "ingen kodlista för nivån" in outcomes[vid].note and outcomes[vid].frame is None
    for vid, s in at_level.items():
        o = outcomes[vid]
        assert o.meta == {"niva": niva, "hamtat_fran": "SCB PxWebApi 2.0", "tabell": s.tabell,
                          "innehall": s.innehall, "kodlista": s.kodlistor[niva], "ar": years}, vid
        assert o.frame.height == areas * len(years) and set(o.frame["variabel"]) == {vid}
        assert set(o.frame["period"]) == set(years) and set(o.frame["kalla"]) == {f"SCB {s.tabell}"}
        assert ("ej verifierade" in o.note) == (not s.verifierad), (vid, o.note)
        expected = {"Region": (["*"], s.kodlistor[niva]), "Tid": (years, None), "ContentsCode": ([s.innehall], None),
                    **{var: ([value], None) for var, value in s.urval.items()}}
        assert expected in _posted(api, s.tabell), f"{vid}: ingen fråga med urvalet ur katalogen"
    for vid, var in CAT.variabel.items():
        if var.scb is None and var.kolada is None:
            assert outcomes[vid].kalla == "ingen API-källa" and outcomes[vid].frame is None
        elif var.scb is None:  # Kolada answers for kommuner only
            assert outcomes[vid].kalla == f"Kolada {var.kolada.kpi}" and "bara kommunnivå" in outcomes[vid].note
    # One data request per variable, one metadata request per table.
    assert len(api.requests("/data", method="POST")) == len(at_level)
    assert len(api.requests("/metadata")) == len({s.tabell for s in at_level.values()})


def test_hamta_at_kommun_level_takes_the_kolada_sections(scb_tables, settings):  # noqa: F811
    api = scb_tables
    outcomes = {o.variabel: o for o in run(["2022"], "kommun", settings=_settings(settings, api))}
    for vid, k in KOLADA.items():
        o = outcomes[vid]
        assert o.kalla == f"Kolada {k.kpi}" and o.meta["kpi"] == k.kpi and o.meta["kon"] == k.kon
        assert o.frame.height > 0 and "nyckeltalet ej verifierat" in o.note
        assert api.requests(f"/kolada/v3/data/kpi/{k.kpi}/")
    for vid in set(SCB) - set(KOLADA):
        assert "ingen kodlista för nivån kommun" in outcomes[vid].note  # DeSO/RegSO lists only
    assert api.requests("/scb/api/v2/tables/") == []


@pytest.mark.slow
def test_hamta_does_not_fetch_2024_through_a_2020_area_codelist(scb_tables, settings):  # noqa: F811
    """From 2024 SCB publishes areas only in the 2025 vintages: say so, fetch the earlier years."""
    api = scb_tables
    outcomes = {o.variabel: o for o in run(["2023", "2024"], "regso", settings=_settings(settings, api))}
    o = outcomes["sysselsatta_16_64"]  # TAB6680 has 2020-2024
    assert o.meta["ar"] == ["2023"] and set(o.frame["period"]) == {"2023"}
    assert "2024 finns bara i 2025 års indelning (vs_RegSO2025)" in o.note and "serien bryts" in o.note
    for sel in _posted(api, "TAB6680"):
        assert sel["Tid"][0] == ["2023"]


def test_a_missing_catalogue_file_is_an_input_error(tmp_path, settings):  # noqa: F811
    with pytest.raises(InputError, match=r"nope.toml: katalogfilen finns inte"):
        run(["2022"], "regso", settings=settings, katalog=tmp_path / "nope.toml")
    with pytest.raises(InputError, match=r"latin1.toml: kan inte läsa katalogfilen som UTF-8"):
        (tmp_path / "latin1.toml").write_bytes("namn = 'Järfälla'".encode("latin-1"))
        catalogue.load(tmp_path / "latin1.toml")


@pytest.mark.parametrize(
    "text, message",
    [
        ("[variabel.x\n", r"egen.toml: ogiltig TOML"),
        ('[variabel.x]\nnamn = "x"\naggregering = "summa"\nkalla = "k"\nenheten = "antal"\n',
         r"egen.toml: variabel.x.enheten: okänd nyckel \(stavfel\?\)"),
    ],
    ids=["trasig_toml", "felstavad_nyckel"],
)
def test_catalogue_errors_name_the_file_and_key(tmp_path, text, message):
    (tmp_path / "egen.toml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        catalogue.load(tmp_path / "egen.toml")
