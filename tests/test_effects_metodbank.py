"""Effekter and the metodbank: a measure gives the design (`effekt --insats`), an estimate is saved
as an evaluation with the grade the rules file gives it (`--spara`), only by the roles that may, and
the measure's page shows it. On SQLite and on a real PostgreSQL (tests/metodbank_helpers.py)."""

from __future__ import annotations

import re
import uuid

import pytest
from cli_helpers import cli
from metodbank_helpers import BACKENDS, new_database_url
from sqlalchemy import func, select

from utanforskap.effects import metodbank_hook as hook
from utanforskap.effects import panel, run
from utanforskap.errors import InputError
from utanforskap.metodbank import accounts, registry
from utanforskap.metodbank.db import open_database
from utanforskap.metodbank.models import Effektskattning
from utanforskap.metodbank.registry import Actor, Forbidden, NotFound
from utanforskap.metodbank.rules import estimate_result, grade, rules
from utanforskap.metodbank.schema import known_codes, validate_insats, validate_utvardering

STAFF = Actor("granskaren", "granskare")
PUBLIC = Actor.public()
PASSWORD = "ett-langt-losenord"


def regso(kommun: str, n: int) -> list[str]:
    return sorted(k for k, v in known_codes()[1].items() if v == kommun)[:n]


@pytest.fixture(scope="module", params=BACKENDS)
def db(request, tmp_path_factory):
    database = open_database(new_database_url(request.param, str(tmp_path_factory.mktemp("mb"))))
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def store():
    from utanforskap.observations.store import bundled_store

    return bundled_store()


def new_measure(db, actor=STAFF, status="publicerad", kommun="0180", **kw) -> int:
    data = {"namn": f"Trygghetsvandringar {uuid.uuid4().hex[:6]}", "kommuner": [kommun], "omraden": regso(kommun, 12),
            "start": "2021-06-01", "problem": ["kriminalitet"], "sektorer": ["trygghet"], **kw}
    return registry.create(db, actor, validate_insats(data), status=status)


def saved_estimates(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Effektskattning)) or 0


# ---- the measure as a design --------------------------------------------------------------------
@pytest.mark.slow
def test_measure_gives_areas_start_and_outcome(db, store):
    i = new_measure(db)
    md = hook.measure_design(db, PUBLIC, i, store)
    assert md.treated == {k: 2022 for k in regso("0180", 12)}  # 2021-06-01: the first full year is 2022
    assert (md.variable, md.per_thousand, md.high_is_bad) == ("brott_urval", "befolkning", True)
    assert "12 områden" in md.note and "2021-06-01" in md.note and "Anmälda brott" in md.note
    # --utfall overrides the problem variable
    assert hook.measure_design(db, PUBLIC, i, store, utfall="brott_1311").variable == "brott_1311"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"omraden": []}, "har inga områden (RegSO)"),
        ({"start": None}, "saknar startdatum"),
        ({"problem": []}, "ingen problemvariabel i metodbanken; ange --utfall"),
        ({"problem": ["skolresultat"]}, "ingen av insatsens problemvariabler (Svaga skolresultat) har en årsserie"),
    ],
)
@pytest.mark.slow
def test_measure_that_cannot_be_a_design(db, store, change, words):
    i = new_measure(db, **change)
    with pytest.raises(InputError, match=re.escape(words)) as exc:
        hook.measure_design(db, PUBLIC, i, store)
    assert f"--insats {i}" in str(exc.value) and "\n" not in str(exc.value)


def test_unknown_or_unreadable_measure(db, store):
    with pytest.raises(NotFound, match=r"--insats 999999: Insatsen 999999 finns inte.*--som ANVÄNDARE"):
        hook.measure_design(db, PUBLIC, 999999, store)
    draft = new_measure(db, status="utkast")
    with pytest.raises(NotFound):  # a draft is not read by the public, and answers like a missing one
        hook.measure_design(db, PUBLIC, draft, store)
    assert hook.measure_design(db, STAFF, draft, store).treated
    with pytest.raises(InputError, match="skatta på nivå regso"):
        hook.measure_design(db, STAFF, draft, store, level="deso")


# ---- the result an estimate gets, by the rules file -----------------------------------------------
def test_estimate_result_follows_the_rules_file():
    r = rules().skattningar
    assert estimate_result(-1.0, -1.5, -0.5, 0.001, 0.6, high_is_bad=True) == "gynnsam"
    assert estimate_result(-1.0, -1.5, -0.5, 0.001, 0.6, high_is_bad=False) == "ogynnsam"
    assert estimate_result(0.3, -0.1, 0.7, 0.2, 0.6, high_is_bad=True) == "ingen-skillnad"
    assert estimate_result(-1.0, -1.5, -0.5, 0.001, r.min_fortrend_p / 2, True) == r.resultat_vid_avvikande_fortrend
    # synthetic control has no interval: its placebo p-value decides
    assert estimate_result(-1.0, None, None, r.signifikans / 2, None, True) == "gynnsam"
    assert estimate_result(-1.0, None, None, r.signifikans * 2, None, True) == "ingen-skillnad"


def test_labelled_evaluations_do_not_count_for_the_measure():
    class Labelled:
        def __init__(self, etikett):
            e = validate_utvardering({"design": "difference-in-differences", "resultat": "gynnsam", "effekt": -1, "ki_lag": -2, "ki_hog": -0.5})
            self.__dict__.update(e.model_dump(), etikett=etikett)

    assert not rules().skattningar.etiketter_raknas  # the shipped rule
    assert grade([Labelled("SYNTETISKA DATA")]).regel == "ingen-utvardering"
    assert grade([Labelled("SYNTETISKA DATA")], count_labelled=True).regel == "lovande-kvasi"
    assert grade([Labelled("")]).regel == "lovande-kvasi"


# ---- saving ---------------------------------------------------------------------------------------
def fake_result(store, codes, est=(-1.0, -1.6, -0.4, 0.001), label="", pretrend_p=0.6) -> run.EffectResult:
    """An EffectResult on the real crime panel with a stated estimate (the estimators are tested in
    test_effects.py; here only what is saved matters)."""
    p = panel.build_panel(store, "brott_urval", "regso", (2020, 2023), "befolkning")
    design = panel.make_design(p, {c: 2022 for c in codes})
    r = run.EffectResult(design, "did")
    r.rows.append(run._row("callaway-santanna", *est, design.n_treated, design.n_comparison))
    r.pretrend = {"p_varde": pretrend_p, "frihetsgrader": 1, "test": "Wald"}
    r.label = label
    r.verdict = run.verdict(r)
    return r


def test_saved_estimate_has_its_grade_and_regrades_the_measure(db, store):
    i = new_measure(db)
    codes = regso("0180", 12)
    ev_id, own = hook.save(db, STAFF, i, fake_result(store, codes), high_is_bad=True, datakalla="paketet", mde=0.8)
    assert own == "lovande"
    m = registry.get(db, PUBLIC, i)
    assert (m.evidensgrad, m.evidensregel) == ("lovande", "lovande-kvasi")
    rec = registry.record(m)["utvarderingar"][0]
    assert rec["id"] == ev_id and rec["design"] == "difference-in-differences" and rec["resultat"] == "gynnsam"
    k = rec["skattning"]
    assert (k["skattare"], k["evidensgrad"], k["mde"], k["fortrend_p"], k["etikett"], k["raknas"]) == ("callaway-santanna", "lovande", 0.8, 0.6, "", True)
    assert k["antal_behandlade"] == 12 and k["datakalla"] == "paketet" and any("parallellt" in b for b in k["begransningar"])
    assert registry.history(db, STAFF, i)[-1].handling == "effektskattning sparad"
    # the same estimate again would count twice in the grade: refused, nothing written
    n = saved_estimates(db)
    with pytest.raises(InputError, match="sparas inte två gånger"):
        hook.save(db, STAFF, i, fake_result(store, codes), high_is_bad=True, datakalla="paketet")
    assert saved_estimates(db) == n


def test_synthetic_estimate_is_graded_but_not_counted(db, store):
    i = new_measure(db)
    hook.save(db, STAFF, i, fake_result(store, regso("0180", 12), label="SYNTETISKA DATA"), high_is_bad=True, datakalla="syntetisk")
    m = registry.get(db, PUBLIC, i)
    k = registry.record(m)["utvarderingar"][0]["skattning"]
    assert (k["evidensgrad"], k["raknas"]) == ("lovande", False)
    assert m.evidensgrad == "ej-utvarderad"  # the measure's grade is untouched
    assert any("SYNTETISKA DATA" in b and "räknas inte" in b for b in k["begransningar"])


def test_roles_who_may_save_an_evaluation(db, store):
    """Least privilege: reviewers and administrators on any measure, an editor only on a draft of
    their own kommun; every other attempt is refused and writes nothing."""
    published = new_measure(db)
    draft_0180 = new_measure(db, actor=Actor("red", "redaktor", "0180"), status="utkast")
    result = fake_result(store, regso("0180", 12))
    before = saved_estimates(db)
    attempts = [
        (PUBLIC, published, Forbidden),
        (Actor("red-a", "redaktor", "0180"), published, Forbidden),  # own kommun, but published
        (Actor("red-b", "redaktor", "1480"), published, Forbidden),
        (Actor("red-b", "redaktor", "1480"), draft_0180, NotFound),  # another kommun's draft: not even readable
        (PUBLIC, draft_0180, NotFound),
        (Actor("okand", "superanvandare"), published, Forbidden),  # a role the program does not know
    ]
    for actor, target, error in attempts:
        with pytest.raises(error):
            hook.actor_may_save(db, actor, target)
        with pytest.raises(error):
            hook.save(db, actor, target, result, high_is_bad=True, datakalla="paketet")
    assert saved_estimates(db) == before
    hook.save(db, Actor("red-a", "redaktor", "0180"), draft_0180, result, high_is_bad=True, datakalla="paketet")
    hook.save(db, Actor("admin", "administrator"), published, result, high_is_bad=True, datakalla="paketet")
    assert saved_estimates(db) == before + 2
    # --som names a real, unblocked user
    name = f"r{uuid.uuid4().hex[:8]}"
    accounts.create_user(db, name, "redaktor", "0180", PASSWORD)
    assert accounts.user_actor(db, name).roll == "redaktor"
    accounts.block_user(db, name)
    with pytest.raises(InputError, match="finns inte eller är spärrad"):
        accounts.user_actor(db, name)
    with pytest.raises(InputError, match="finns inte eller är spärrad"):
        accounts.user_actor(db, "ingen-sadan")


# ---- end to end: the command saves, the page shows ---------------------------------------------------
@pytest.mark.slow  # subprocesses and the computed map behind the web application
def test_saved_evaluation_appears_on_the_measure_page_with_its_grade(db, tmp_path):
    """Done when: a saved evaluation appears on the measure's page with its grade."""
    from fastapi.testclient import TestClient
    from metodbank_helpers import computed_map

    from utanforskap.web import create_app

    name = f"g{uuid.uuid4().hex[:8]}"
    accounts.create_user(db, name, "granskare", None, PASSWORD)
    editor = f"r{uuid.uuid4().hex[:8]}"
    accounts.create_user(db, editor, "redaktor", "0180", PASSWORD)
    i = new_measure(db)
    url = db.engine.url.render_as_string(hide_password=False)
    args = ("effekt", "--insats", i, "--fran", "2020", "--till", "2023", "--metod", "did", "--ingen-rapport", "--databas", url)

    refused = cli(*args, "--ut", tmp_path / "nej", "--spara", "--som", editor)  # an editor, on a published measure
    assert refused.returncode == 2 and "får inte spara utvärderingar" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "nej").exists()
    unknown = cli("effekt", "--insats", "999999", "--ut", tmp_path / "x", "--databas", url)
    assert unknown.returncode == 2 and "--insats 999999" in unknown.stderr and "finns inte" in unknown.stderr

    r = cli(*args, "--ut", tmp_path / "ja", "--spara", "--som", name)
    assert r.returncode == 0, r.stderr
    assert "Sparade utvärdering" in r.stdout and f"insats {i}" in r.stdout
    assert (tmp_path / "ja" / "effekt.csv").exists()
    with db.session() as s:
        k = s.scalar(select(Effektskattning).order_by(Effektskattning.id.desc()))
        own = rules().grader[k.evidensgrad]
        assert k.skattare == "callaway-santanna" and k.mde is not None and k.mde > 0 and k.etikett == ""

    client = TestClient(create_app(computed_map(), database=db))
    page = client.get(f"/metodbank/insats/{i}")
    assert page.status_code == 200
    html = page.text
    assert "Effektskattningar" in html and "Evidensgrad för den här utvärderingen" in html
    assert own in html and f"regel <a href=\"/metodbank/evidensregler#{k.evidensregel}\">" in html
    assert "Vad designen inte kan visa" in html and "parallellt" in html
    assert "Minsta påvisbara effekt" in html and "callaway-santanna" in html
    api = client.get(f"/api/v1/insatser/{i}").json()
    assert api["utvarderingar"][-1]["skattning"]["evidensgrad"] == k.evidensgrad
