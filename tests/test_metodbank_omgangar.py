"""Reporting rounds against both databases (SQLite and a real PostgreSQL started by the tests):
the flow from opening to closing, and every role rule tried by someone it shuts out, in the
library and over HTTP on a real server (forms with CSRF)."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from metodbank_helpers import BACKENDS, csrf_of, http_client, live_server, new_database_url
from sqlalchemy import func, select

from utanforskap.errors import InputError
from utanforskap.metodbank import accounts, registry, rounds
from utanforskap.metodbank.db import open_database
from utanforskap.metodbank.models import Historik, Insats, OmgangHandelse, OmgangSvar
from utanforskap.metodbank.registry import Actor, Forbidden, NotFound
from utanforskap.metodbank.schema import validate_insats

STAFF = Actor("samordnaren", "granskare")
PUBLIC = Actor.public()
COMPLETE = {"strategi": "ja", "samordnare": "Kommunledningskontoret", "insatser_forskola_skola": "2", "uppfoljning": "vissa"}
PASSWORD = "ett-langt-losenord"


@pytest.fixture(scope="module", params=BACKENDS)
def db(request, tmp_path_factory):
    database = open_database(new_database_url(request.param, str(tmp_path_factory.mktemp("omg"))))
    yield database
    database.dispose()


def editor(kommun: str) -> Actor:
    return Actor(f"red-{uuid.uuid4().hex[:6]}", "redaktor", kommun)


def new_round(db, kommuner=("0180", "1480")) -> int:
    return rounds.open_round(db, STAFF, f"Lägesbild {uuid.uuid4().hex[:6]}", date(2026, 1, 1), date(2026, 12, 31),
                             sista_dag=date(2026, 3, 31), kommuner=list(kommuner))


def measure(db, kommun: str) -> int:
    return registry.create(db, Actor("x", "redaktor", kommun), validate_insats({"namn": f"Insats {uuid.uuid4().hex[:6]}", "kommuner": [kommun]}))


def state(db, rid: int) -> list[tuple]:
    """Everything a round's answers hold (to show that a refused call changed nothing)."""
    with db.session() as s:
        return sorted((a.kommun_kod, a.status, sorted(a.svar.items()), a.insatser, a.kommentar)
                      for a in s.scalars(select(OmgangSvar).where(OmgangSvar.omgang_id == rid)))


# ---- the flow ---------------------------------------------------------------------------------
def test_a_round_from_opening_to_closing(db):
    rid = new_round(db)
    ed = editor("0180")
    own, other = measure(db, "0180"), measure(db, "0180")
    assert rounds.counts(rounds.status_rows(db, STAFF, rid)) == {"ej-paborjad": 2, "paborjad": 0, "inskickad": 0, "granskad": 0}
    assert rounds.save_answer(db, ed, rid, "0180", {"strategi": "under-arbete"}, [own]) == "paborjad"  # incomplete: may be saved
    with pytest.raises(InputError, match="samordnare: svar krävs"):
        rounds.save_answer(db, ed, rid, "0180", {"strategi": "ja"}, [own], submit=True)
    assert rounds.save_answer(db, ed, rid, "0180", COMPLETE, [own, other], submit=True) == "inskickad"
    with pytest.raises(InputError, match="kommentar"):
        rounds.review(db, STAFF, rid, "0180", approve=False)  # sending back says why
    assert rounds.review(db, STAFF, rid, "0180", approve=False, kommentar="Ta med läxhjälpen") == "paborjad"
    _, back = rounds.get_answer(db, ed, rid, "0180")
    assert back.kommentar == "Ta med läxhjälpen" and back.svar["insatser_forskola_skola"] == 2
    rounds.save_answer(db, ed, rid, "0180", COMPLETE, [own, other], submit=True)
    assert rounds.review(db, STAFF, rid, "0180", approve=True) == "granskad"
    rows = {r["kommun_kod"]: r for r in rounds.status_rows(db, STAFF, rid)}
    assert rows["0180"]["status"] == "granskad" and rows["0180"]["antal_insatser"] == 2 and rows["1480"]["status"] == "ej-paborjad"
    accounts.create_user(db, f"red{uuid.uuid4().hex[:6]}", "redaktor", "1480", PASSWORD)
    remind = rounds.reminders(db, STAFF, rid)
    assert [r["kommun_kod"] for r in remind] == ["1480"] and remind[0]["redaktorer"] and remind[0]["sista_dag"] == "2026-03-31"
    assert rounds.close_round(db, STAFF, rid) == 1
    _, closed = rounds.get_answer(db, ed, rid, "0180")
    assert {m["id"] for m in closed.ogonblick} == {own, other}  # frozen as the measures were
    with db.session() as s:
        notes = s.scalars(select(Historik).where(Historik.insats_id == own, Historik.handling == "rapporterad i omgång")).all()
        assert len(notes) == 1 and notes[0].andringar["kommun"] == [None, "0180"]
        handlings = [e.handling for e in s.scalars(select(OmgangHandelse).where(OmgangHandelse.omgang_id == rid).order_by(OmgangHandelse.id))]
    assert handlings == ["öppnad", "sparat", "inskickat", "återskickat", "inskickat", "granskat", "stängd"]
    with pytest.raises(InputError, match="stängd"):
        rounds.save_answer(db, editor("1480"), rid, "1480", COMPLETE, [])
    with pytest.raises(InputError, match="redan stängd"):
        rounds.close_round(db, STAFF, rid)
    info, table = rounds.compiled(db, STAFF, rid)
    row = next(r for r in table if r["kommun_kod"] == "0180")
    assert row["strategi"] == "ja" and row["insatser"] == ";".join(str(i) for i in sorted((own, other))) and row["status"] == "granskad"


def test_answers_are_checked_against_the_questionnaire(db):
    rid = new_round(db)
    ed = editor("0180")
    before = state(db, rid)
    for values, words in (
        ({"okand": "x"}, "okand: okänd fråga"),
        ({"insatser_forskola_skola": "-3"}, "ange ett heltal"),
        ({"strategi": "kanske"}, "välj ett av ja, under-arbete, nej"),
        ({"hinder": "x" * 5000}, "högst 4000 tecken"),
    ):
        with pytest.raises(InputError, match=words):
            rounds.save_answer(db, ed, rid, "0180", values, [])
    assert state(db, rid) == before


def test_opening_a_round_refuses_bad_input(db, tmp_path):
    for kw, words in (
        ({"fran": date(2026, 5, 1), "till": date(2026, 1, 1)}, "slutar .* före den börjar"),
        ({"kommuner": ["9999"]}, "okänd kommunkod '9999'"),
        ({"namn": " "}, "ange omgångens namn"),
        ({"enkat": "finns-inte"}, "enkäten 'finns-inte' finns inte"),
    ):
        args = {"namn": f"X {uuid.uuid4().hex[:4]}", "fran": date(2026, 1, 1), "till": date(2026, 12, 31), **kw}
        with pytest.raises(InputError, match=words):
            rounds.open_round(db, STAFF, args.pop("namn"), args.pop("fran"), args.pop("till"), **args)
    name = f"Dubblett {uuid.uuid4().hex[:4]}"
    rounds.open_round(db, STAFF, name, date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(InputError, match="finns redan"):
        rounds.open_round(db, STAFF, name, date(2026, 1, 1), date(2026, 12, 31))
    bad = tmp_path / "enkat.toml"
    bad.write_text('id = "x"\nnamn = "X"\nproveniens = "test"\n[[fraga]]\nid = "a"\ntext = "A?"\ntyp = "val"\n', encoding="utf-8")
    with pytest.raises(InputError, match="enkat.toml"):
        rounds.open_round(db, STAFF, "Egen enkät", date(2026, 1, 1), date(2026, 12, 31), enkat=bad)


# ---- role rules, each tried -------------------------------------------------------------------
def test_the_public_reaches_no_round(db):
    rid = new_round(db)
    for call in (lambda: rounds.list_rounds(db, PUBLIC), lambda: rounds.get_round(db, PUBLIC, rid),
                 lambda: rounds.get_answer(db, PUBLIC, rid, "0180"), lambda: rounds.save_answer(db, PUBLIC, rid, "0180", {}, []),
                 lambda: rounds.status_rows(db, PUBLIC, rid), lambda: rounds.open_round(db, PUBLIC, "X", date(2026, 1, 1), date(2026, 2, 1))):
        with pytest.raises(Forbidden):
            call()


def test_an_editor_reads_and_writes_only_their_own_kommun(db, tmp_path):
    rid = new_round(db)
    a, b = editor("0180"), editor("1480")
    rounds.save_answer(db, b, rid, "1480", {"strategi": "nej"}, [measure(db, "1480")])
    before = state(db, rid)
    with pytest.raises(Forbidden, match="inte se eller ändra svaret för kommun 1480"):
        rounds.get_answer(db, a, rid, "1480")
    with pytest.raises(Forbidden):
        rounds.save_answer(db, a, rid, "1480", {"strategi": "ja"}, [])
    good = tmp_path / "b.csv"
    good.write_text("namn;kommuner\nKapad;1480\n", encoding="utf-8")
    with pytest.raises(Forbidden):
        rounds.import_into_answer(db, a, rid, "1480", good)
    with pytest.raises(Forbidden):
        rounds.events(db, a, rid, "1480")
    assert state(db, rid) == before
    # its own answer cannot carry another kommun's measure, nor another kommun's hidden draft
    with pytest.raises(InputError, match="hör inte till kommun 0180"):
        rounds.save_answer(db, a, rid, "0180", {}, [measure(db, "1480")])
    assert state(db, rid) == before
    # its own kommun's file, with a row for kommun 1480: nothing imported, answer unchanged
    mixed = tmp_path / "blandad.csv"
    mixed.write_text("namn;kommuner\nEgen;0180\nAnnans;1480\n", encoding="utf-8")
    with db.session() as s:
        n = s.scalar(select(func.count()).select_from(Insats))
    with pytest.raises(InputError, match="rad 3"):
        rounds.import_into_answer(db, a, rid, "0180", mixed)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Insats)) == n
    assert state(db, rid) == before


def test_an_editor_cannot_do_what_reviewers_do(db):
    rid = new_round(db)
    a = editor("0180")
    rounds.save_answer(db, a, rid, "0180", COMPLETE, [], submit=True)
    before = state(db, rid)
    for call in (lambda: rounds.open_round(db, a, "Egen", date(2026, 1, 1), date(2026, 2, 1)), lambda: rounds.close_round(db, a, rid),
                 lambda: rounds.review(db, a, rid, "0180", approve=True), lambda: rounds.status_rows(db, a, rid),
                 lambda: rounds.reminders(db, a, rid), lambda: rounds.compiled(db, a, rid), lambda: rounds.events(db, a, rid)):
        with pytest.raises(Forbidden):
            call()
    with pytest.raises(InputError, match="redan inskickad"):  # a submitted answer is not changed behind the reviewer
        rounds.save_answer(db, a, rid, "0180", {"strategi": "nej"}, [])
    assert state(db, rid) == before and rounds.get_round(db, STAFF, rid).status == "oppen"


def test_reviewers_do_not_write_a_kommuns_answer_and_outsiders_see_no_round(db):
    rid = new_round(db, kommuner=("0180",))
    with pytest.raises(Forbidden, match="redaktörer"):
        rounds.save_answer(db, STAFF, rid, "0180", COMPLETE, [])
    outsider = editor("1480")  # kommun 1480 is not asked in this round
    assert rid not in [o.id for o in rounds.list_rounds(db, outsider)]
    with pytest.raises(NotFound):
        rounds.get_round(db, outsider, rid)
    with pytest.raises(NotFound):
        rounds.get_round(db, STAFF, 2**40)
    assert state(db, rid) == []


# ---- over HTTP: forms, CSRF, every role -------------------------------------------------------
@pytest.fixture(scope="module", params=BACKENDS)
def server(request):
    return live_server(request.param)


def _login(server, roll: str, kommun: str | None = None) -> httpx.Client:
    name = f"{roll[:3]}{uuid.uuid4().hex[:8]}"
    accounts.create_user(server[1], name, roll, kommun, PASSWORD)
    c = http_client(server)
    r = c.post("/metodbank/logga-in", data={"csrf": csrf_of(c), "namn": name, "losenord": PASSWORD})
    assert r.status_code == 303
    return c


def _refused(r: httpx.Response, status: int, words: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:400])
    assert words in r.text, r.text[:600]


@pytest.mark.slow
def test_rounds_over_http_for_each_role(server, tmp_path):
    db = server[1]
    staff = _login(server, "granskare")
    token = csrf_of(staff, "/metodbank/omgangar")
    r = staff.post("/metodbank/omgangar", data={"csrf": token, "namn": "Webbomgång", "fran": "2026-05-01", "till": "2026-01-01"})
    _refused(r, 400, "före den börjar")
    name = f"Webbomgång {uuid.uuid4().hex[:6]}"
    r = staff.post("/metodbank/omgangar", data={"csrf": token, "namn": name, "fran": "2026-01-01", "till": "2026-12-31", "kommuner": "0180 1480"})
    assert r.status_code == 303
    rid = int(r.headers["location"].rsplit("/", 1)[1])
    page = staff.get(f"/metodbank/omgangar/{rid}")
    assert page.status_code == 200 and name in page.text and "Påminnelser" in page.text and "2 kommuner har inte skickat in" in page.text

    # the public: nothing, by page or by form
    public = http_client(server)
    _refused(public.get("/metodbank/omgangar"), 403, "Logga in")
    _refused(public.get(f"/metodbank/omgangar/{rid}/kommun/0180"), 403, "Logga in")
    _refused(public.post(f"/metodbank/omgangar/{rid}/kommun/0180", data={"csrf": csrf_of(public), "fraga_strategi": "ja"}), 403, "Logga in")

    # an editor of 0180: own answer by form; kommun 1480's, the overview's and the reviewer's actions refused
    a = _login(server, "redaktor", "0180")
    r = a.get(f"/metodbank/omgangar/{rid}")
    assert r.status_code == 303 and r.headers["location"].endswith("/kommun/0180")
    form = csrf_of(a, f"/metodbank/omgangar/{rid}/kommun/0180")
    before = state(db, rid)
    _refused(a.post(f"/metodbank/omgangar/{rid}/kommun/0180", data={"fraga_strategi": "ja"}), 403, "saknar sin säkerhetskod")
    _refused(a.post(f"/metodbank/omgangar/{rid}/kommun/0180", data={"csrf": "gammal", "fraga_strategi": "ja"}), 403, "gäller inte längre")
    _refused(a.get(f"/metodbank/omgangar/{rid}/kommun/1480"), 403, "inte se eller ändra svaret för kommun 1480")
    _refused(a.post(f"/metodbank/omgangar/{rid}/kommun/1480", data={"csrf": form, "fraga_strategi": "ja"}), 403, "kommun 1480")
    csv_file = tmp_path / "b.csv"
    csv_file.write_text("namn;kommuner\nKapad;1480\n", encoding="utf-8")
    with csv_file.open("rb") as fh:
        _refused(a.post(f"/metodbank/omgangar/{rid}/kommun/1480/excel", data={"csrf": form}, files={"fil": ("b.csv", fh, "text/csv")}), 403, "kommun 1480")
    _refused(a.post("/metodbank/omgangar", data={"csrf": form, "namn": "Egen", "fran": "2026-01-01", "till": "2026-02-01"}), 403, "granskare")
    _refused(a.post(f"/metodbank/omgangar/{rid}/stang", data={"csrf": form}), 403, "granskare")
    _refused(a.post(f"/metodbank/omgangar/{rid}/kommun/0180/granska", data={"csrf": form, "beslut": "godkann"}), 403, "granskare")
    _refused(a.get(f"/metodbank/omgangar/{rid}/svar.csv"), 403, "granskare")
    assert state(db, rid) == before

    r = a.post(f"/metodbank/omgangar/{rid}/kommun/0180", data={"csrf": form, "fraga_strategi": "ja", "handling": "skicka"})
    _refused(r, 400, "samordnare: svar krävs")
    assert 'value="ja" selected' in r.text  # what was typed is kept
    r = a.post(f"/metodbank/omgangar/{rid}/kommun/0180/excel", data={"csrf": form}, files={"fil": ("svar.txt", b"namn", "text/plain")})
    _refused(r, 400, "ifylld mall (.xlsx) eller en CSV-fil")
    _refused(a.post(f"/metodbank/omgangar/{rid}/kommun/0180/excel", data={"csrf": form}), 400, "att ladda upp")
    bad = tmp_path / "fel.csv"
    bad.write_text("namn;färg\nx;blå\n", encoding="utf-8")
    with bad.open("rb") as fh:
        _refused(a.post(f"/metodbank/omgangar/{rid}/kommun/0180/excel", data={"csrf": form}, files={"fil": ("fel.csv", fh, "text/csv")}), 400, "fel.csv")
    good = tmp_path / "egna.csv"
    good.write_text("namn;kommuner;sektorer\nLäxhjälp <script>x</script>;0180;skola\n", encoding="utf-8")
    with good.open("rb") as fh:
        r = a.post(f"/metodbank/omgangar/{rid}/kommun/0180/excel", data={"csrf": form}, files={"fil": ("egna.csv", fh, "text/csv")})
    assert r.status_code == 200 and "1 insatser importerades" in r.text and "<script>x" not in r.text
    _, ans = rounds.get_answer(db, STAFF, rid, "0180")
    assert len(ans.insatser) == 1 and ans.status == "paborjad"
    fields = {f"fraga_{k}": v for k, v in COMPLETE.items()}
    r = a.post(f"/metodbank/omgangar/{rid}/kommun/0180", data={"csrf": form, **fields, "insats": [str(i) for i in ans.insatser], "handling": "skicka"})
    assert r.status_code == 303
    assert "Inskickad" in a.get(f"/metodbank/omgangar/{rid}/kommun/0180").text

    # the reviewer: reviews, compiles and closes; writes no answer
    _refused(staff.post(f"/metodbank/omgangar/{rid}/kommun/1480", data={"csrf": token, "fraga_strategi": "ja"}), 403, "redaktörer")
    r = staff.post(f"/metodbank/omgangar/{rid}/kommun/0180/granska", data={"csrf": token, "beslut": "godkann"})
    assert r.status_code == 303
    compiled = staff.get(f"/metodbank/omgangar/{rid}/svar.csv")
    assert compiled.status_code == 200 and "0180,granskad,ja,Kommunledningskontoret" in compiled.text
    assert staff.post(f"/metodbank/omgangar/{rid}/stang", data={"csrf": token}).status_code == 303
    _refused(a.post(f"/metodbank/omgangar/{rid}/kommun/0180", data={"csrf": form, "fraga_strategi": "nej"}), 400, "stängd")
    assert "Stängd" in staff.get(f"/metodbank/omgangar/{rid}").text


def test_cli_rounds(tmp_path):
    from cli_helpers import cli

    env = {"UTANFORSKAP_DATABAS": f"sqlite:///{tmp_path / 'mb.sqlite'}"}
    r = cli("insatser", "omgang", "oppna", "Lägesbild 2026", "--fran", "2026-01-01", "--till", "2025-12-31", env=env)
    assert r.returncode == 2 and "före den börjar" in r.stderr and "Traceback" not in r.stderr
    r = cli("insatser", "omgang", "oppna", "Lägesbild 2026", "--fran", "2026-01-01", "--till", "2026-12-31", "--kommuner", "0180,1480", env=env)
    assert r.returncode == 0 and "Öppnade omgång 1" in r.stdout
    r = cli("insatser", "omgang", "lista", env=env)
    assert r.returncode == 0 and "Lägesbild 2026" in r.stdout
    out = tmp_path / "paminn.csv"
    r = cli("insatser", "omgang", "paminnelser", "1", "--ut", out, env=env)
    assert r.returncode == 0 and "2 kommuner har inte skickat in" in r.stdout and out.read_text().startswith("kommun_kod,status")
    svar = tmp_path / "svar.xlsx"
    assert cli("insatser", "omgang", "sammanstall", "1", "--ut", svar, env=env).returncode == 0 and svar.stat().st_size > 0
    r = cli("insatser", "omgang", "stang", "1", env=env)
    assert r.returncode == 0 and "stängd" in r.stdout
    r = cli("insatser", "omgang", "stang", "1", env=env)
    assert r.returncode == 2 and "redan stängd" in r.stderr


test_cli_rounds = pytest.mark.slow(test_cli_rounds)
