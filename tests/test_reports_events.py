"""Policy events: the bundled file, validation of a user's file, and marks on the time charts."""

import datetime as dt

import pytest
from reports_helpers import no_wfs  # noqa: F401 (autouse fixture)

from utanforskap import reports
from utanforskap.errors import InputError
from utanforskap.reports import events, views

EVENT = """
[[handelse]]
id = "test-2021"
datum = {datum}
precision = "dag"
typ = "beslut"
titel = "Kommunen startar ett lokalt jobbspår i de listade områdena"
kort = "Lokalt jobbspår"
kalla = "Kommunstyrelsens beslut (test)"
"""


def test_bundled_events_are_dated_sourced_and_sorted():
    evs = events.load()
    ids = {e.id for e in evs}
    assert {"af-forstarkt-stod-2023", "yrkesvux-2024", "aktivitetskrav-2026", "bidragstak-2027", "samordnare-2024"} <= ids
    assert [e.datum for e in evs] == sorted(e.datum for e in evs)
    for e in evs:
        assert e.kalla and e.titel and e.kort
        if e.osaker:
            assert e.anmarkning
    by_id = {e.id: e for e in evs}
    assert by_id["samordnare-2024"].datum == dt.date(2024, 4, 11)
    assert by_id["bidragstak-2027"].typ_text == "förslag" and by_id["bidragstak-2027"].osaker
    assert by_id["af-forstarkt-stod-2023"].datum_text == "2023"
    assert by_id["af-uppdrag-2022"].datum_text == "mars 2022"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (EVENT.format(datum='"2021-13-01"'), r"handelse\[1\] \(test-2021\)\.datum: '2021-13-01' är inget datum; skriv ÅÅÅÅ-MM-DD"),
        (EVENT.format(datum="2021-13-01"), r"ogiltig TOML på rad 4, .*ÅÅÅÅ-MM-DD"),
        (EVENT.format(datum="2021-06-01").replace('precision = "dag"', 'precision = "vecka"'), r"handelse\[1\] \(test-2021\)\.precision: 'vecka'"),
        (EVENT.format(datum="2021-06-01").replace('kalla = "Kommunstyrelsens beslut (test)"\n', ""), r"handelse\[1\] \(test-2021\)\.kalla: saknas"),
        (EVENT.format(datum="2021-06-01").replace('typ = "beslut"', 'typ = "beslut"\nosaker = true'), r"handelse\[1\] \(test-2021\)\.anmarkning: saknas; säg vad som är osäkert"),
        (EVENT.format(datum="2021-06-01") + "farg = 'röd'\n", r"handelse\[1\] \(test-2021\)\.farg: okänd nyckel"),
        (EVENT.format(datum="2021-06-01") * 2, r"handelse\[2\]\.id: 'test-2021' finns redan \(handelse\[1\]\)"),
    ],
)
def test_bad_events_file_names_the_file_and_key(tmp_path, text, message):
    path = tmp_path / "egna_handelser.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"egna_handelser\.toml: " + message):
        events.load(path)


@pytest.mark.slow
def test_events_appear_on_the_time_charts(tmp_path, result):
    path = tmp_path / "egna.toml"
    path.write_text(EVENT.format(datum="2021-06-01"), encoding="utf-8")
    prep = reports.prepared(result, handelser=path)
    ctx = views.kommun(prep, "0380")
    crime = ctx["crime"]
    assert [e.id for e in crime["shown"]] == ["test-2021"]
    assert "Lodräta linjer markerar 1 policyhändelser" in crime["alt"]
    html = reports.render("kommun", "0380", "html", result, handelser=path).decode("utf-8")
    # The chart's label is drawn in the image; the table beside it names the event with its number.
    assert "Kommunen startar ett lokalt jobbspår i de listade områdena" in html
    assert '<tr><td class="tal">1</td><td>1 juni 2021</td>' in html
    # The same chart without the event is a different image.
    plain = reports.prepared(result)
    assert views.kommun(plain, "0380")["crime"]["img"] != crime["img"]
    national = views.riket(prep)["crime"]
    assert [e.id for e in national["shown"]] == ["test-2021"]


def test_default_events_inside_the_series_are_numbered_later_ones_only_listed(result):
    # The time axis ends with the data (issue 15): events after the last data year are in
    # the events table without a number, not drawn over an empty "no data yet" span.
    prep = reports.prepared(result)
    crime = views.kommun(prep, "0180")["crime"]
    assert crime["years"] == [2020, 2021, 2022, 2023]
    shown = [e.id for e in crime["shown"]]
    assert "af-forstarkt-stod-2023" in shown and "aktivitetskrav-2026" not in shown
    assert all(2020 <= e.ar <= 2023 for e in crime["shown"])
    assert "aktivitetskrav-2026" in [e.id for e in prep.events]
