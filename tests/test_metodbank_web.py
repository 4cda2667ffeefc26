"""The metodbank on a real web server (uvicorn on 127.0.0.1) over SQLite and PostgreSQL:
every bad-input and security case of the issue gets a clear Swedish answer and changes
nothing."""

from __future__ import annotations

import uuid

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from metodbank_helpers import BACKENDS, csrf_of, live_server
from metodbank_helpers import http_client as client
from sqlalchemy import func, select

from utanforskap.metodbank import accounts, registry
from utanforskap.metodbank.models import Insats
from utanforskap.metodbank.schema import validate_insats
from utanforskap.web.metodbank import COOKIE

PASSWORD = "ett-langt-losenord"
STAFF = registry.Actor("granskaren", "granskare")


@pytest.fixture(scope="module", params=BACKENDS)
def server(request):
    return live_server(request.param)


def user(server, roll: str, kommun: str | None = None) -> str:
    name = f"{roll[:3]}{uuid.uuid4().hex[:8]}"
    accounts.create_user(server[1], name, roll, kommun, PASSWORD)
    return name


def logged_in(server, roll: str, kommun: str | None = None) -> tuple[httpx.Client, str]:
    name = user(server, roll, kommun)
    c = client(server)
    r = c.post("/metodbank/logga-in", data={"csrf": csrf_of(c), "namn": name, "losenord": PASSWORD})
    assert r.status_code == 303, r.text[:300]
    return c, name


def count(server) -> int:
    with server[1].session() as s:
        return s.scalar(select(func.count()).select_from(Insats))


def draft(server, kommun: str, **kw) -> int:
    return registry.create(server[1], registry.Actor("x", "redaktor", kommun), validate_insats({"namn": f"Utkast {uuid.uuid4().hex[:6]}", "kommuner": [kommun], **kw}))


def swedish_error(r: httpx.Response, status: int, words: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:400])
    body = r.json()["fel"] if r.headers["content-type"].startswith("application/json") else r.text
    assert words in body, body[:600]


# ---- public reading --------------------------------------------------------------------------
@pytest.mark.slow
def test_public_sees_the_real_measures_and_pages(server):
    c = client(server)
    r = c.get("/metodbank")
    assert r.status_code == 200 and "Samverkan för bästa skola" in r.text and r.headers["cache-control"] == "no-store"
    r = c.get("/api/v1/insatser", params={"problem": "skolresultat"})
    names = [i["namn"] for i in r.json()["insatser"]]
    assert "Samverkan för bästa skola" in names and all("skolresultat" in i["problem"] for i in r.json()["insatser"])
    one = r.json()["insatser"][0]
    page = c.get(f"/metodbank/insats/{one['id']}")
    assert page.status_code == 200 and one["kallor"][0]["titel"].split(":")[0] in page.text
    for path in ("/metodbank/karta", "/metodbank/karta?kommun=0180", "/metodbank/kommun/0180", "/metodbank/evidensregler"):
        assert c.get(path).status_code == 200, path
    assert 'href="/metodbank/kommun/0180"' in c.get("/kommun/0180").text
    for path in ("/metodbank", f"/metodbank/insats/{one['id']}", "/metodbank/karta", "/metodbank/kommun/0180"):
        assert 'name="csrf"' not in c.get(path).text  # what the public is answered (and cached) holds no session's token


def test_unknown_codes_in_filters(server):
    c = client(server)
    swedish_error(c.get("/api/v1/insatser", params={"kommun": "9999"}), 422, "Okänd kommunkod '9999'")
    swedish_error(c.get("/api/v1/insatser", params={"omrade": "0180R999"}), 422, "Okänd områdeskod")
    swedish_error(c.get("/metodbank", params={"problem": "vader"}), 422, "Okänd problemvariabel")
    swedish_error(c.get("/metodbank/karta", params={"kommun": "9999"}), 404, "ingen kommun med koden 9999")


def test_guessing_unpublished_ids_answers_like_a_missing_one(server):
    hidden = draft(server, "0180")
    c = client(server)
    for path in (f"/api/v1/insatser/{hidden}", "/api/v1/insatser/999999999"):
        swedish_error(c.get(path), 404, "finns inte")
    for path in (f"/metodbank/insats/{hidden}", f"/metodbank/insats/{hidden}/redigera"):
        swedish_error(c.get(path), 404, "finns inte")
    assert hidden not in [i["id"] for i in c.get("/api/v1/insatser", params={"limit": 500}).json()["insatser"]]


# ---- forms, CSRF and sessions ------------------------------------------------------------------
def test_form_validation_in_swedish_and_script_is_escaped(server):
    c, _ = logged_in(server, "redaktor", "0180")
    token = csrf_of(c, "/metodbank/ny")
    before = count(server)
    r = c.post("/metodbank/ny", data={"csrf": token, "namn": "X", "kommuner": "0180", "kostnad_kr": "-5"})
    assert r.status_code == 400 and "Kostnad (kr): måste vara minst 0" in r.text and 'aria-invalid="true"' in r.text
    r = c.post("/metodbank/ny", data={"csrf": token, "namn": "X", "kommuner": "0180", "start": "2025-05-01", "slut": "2025-01-01"})
    assert r.status_code == 400 and "före starten" in r.text
    r = c.post("/metodbank/ny", data={"csrf": token, "namn": "X", "kommuner": "0180", "omraden": "0180R999"})
    assert r.status_code == 400 and "okänd områdeskod" in r.text
    assert count(server) == before
    script = '<script>alert("x")</script>'
    r = c.post("/metodbank/ny", data={"csrf": token, "namn": f"Skript {script}", "beskrivning": script, "kommuner": "0180", "sektorer": ["skola"]})
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert script not in page.text and "&lt;script&gt;alert(" in page.text
    new_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert registry.get(server[1], STAFF, new_id).beskrivning == script  # stored as text


def test_csrf_missing_or_stale_is_refused(server):
    c = client(server)
    stale = csrf_of(c)
    name = user(server, "redaktor", "0180")
    r = c.post("/metodbank/logga-in", data={"csrf": stale, "namn": name, "losenord": PASSWORD})
    assert r.status_code == 303
    before = count(server)
    swedish_error(c.post("/metodbank/ny", data={"namn": "Utan token", "kommuner": "0180"}), 403, "saknar sin säkerhetskod")
    swedish_error(c.post("/metodbank/ny", data={"csrf": stale, "namn": "Gammal token", "kommuner": "0180"}), 403, "gäller inte längre")
    assert count(server) == before
    other = client(server)  # a token from another visitor's session is not ours either
    swedish_error(c.post("/metodbank/ny", data={"csrf": csrf_of(other), "namn": "Annans token", "kommuner": "0180"}), 403, "gäller inte längre")
    assert count(server) == before


def test_session_cookie_cannot_be_forged_or_reused_after_blocking(server):
    c, name = logged_in(server, "redaktor", "0180")
    cookie = c.cookies[COOKIE]
    r = c.get("/metodbank/ny")
    assert r.status_code == 200
    set_cookie = c.get("/metodbank/logga-in").headers.get("set-cookie", "") or ""
    tampered = client(server)
    tampered.cookies.set(COOKIE, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    swedish_error(tampered.get("/metodbank/ny"), 403, "Logga in")
    reviewer = user(server, "granskare")
    reviewer_id = next(u.id for u in accounts.list_users(server[1]) if u.namn == reviewer)
    forged = client(server)  # signed with another secret, claiming to be the reviewer
    forged.cookies.set(COOKIE, URLSafeTimedSerializer("inte-hemligheten", salt="utanforskap-metodbank-session").dumps({"u": reviewer_id, "v": 1, "c": "x"}))
    swedish_error(forged.get("/metodbank/granskning"), 403, "bara för granskare")
    accounts.block_user(server[1], name)
    swedish_error(c.get("/metodbank/ny"), 403, "Logga in")
    assert set_cookie == "" or "httponly" in set_cookie.lower()


def test_cookie_flags(server):
    r = client(server).get("/metodbank/logga-in")
    flags = r.headers["set-cookie"].lower()
    assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags


@pytest.mark.slow
def test_login_is_rate_limited(server):
    name = user(server, "granskare")
    c = client(server)
    for _ in range(5):
        r = c.post("/metodbank/logga-in", data={"csrf": csrf_of(c), "namn": name, "losenord": "fel-losenord-1"})
        assert r.status_code == 400 and "Fel användarnamn eller lösenord" in r.text
    r = c.post("/metodbank/logga-in", data={"csrf": csrf_of(c), "namn": name, "losenord": PASSWORD})
    assert r.status_code == 429 and "För många misslyckade inloggningar" in r.text


def test_editor_of_a_cannot_touch_kommun_b_by_form_url_or_api(server):
    a, a_name = logged_in(server, "redaktor", "0180")
    b_draft = draft(server, "1480")
    b_published = draft(server, "1480")
    registry.set_status(server[1], STAFF, b_published, "inskickad")
    registry.set_status(server[1], STAFF, b_published, "publicerad")
    names = {i: registry.get(server[1], STAFF, i).namn for i in (b_draft, b_published)}
    token = csrf_of(a, "/metodbank/ny")
    # by URL
    swedish_error(a.get(f"/metodbank/insats/{b_draft}/redigera"), 404, "finns inte")
    swedish_error(a.get(f"/metodbank/insats/{b_published}/redigera"), 403, "kan inte ändra")
    # by form
    swedish_error(a.post(f"/metodbank/insats/{b_draft}/redigera", data={"csrf": token, "namn": "Kapad", "kommuner": "0180"}), 404, "finns inte")
    swedish_error(a.post(f"/metodbank/insats/{b_published}/redigera", data={"csrf": token, "namn": "Kapad", "kommuner": "0180"}), 403, "kan inte ändra")
    swedish_error(a.post(f"/metodbank/insats/{b_published}/status", data={"csrf": token, "status": "utkast"}), 403, "behörighet")
    swedish_error(a.post("/metodbank/ny", data={"csrf": token, "namn": "I fel kommun", "kommuner": "1480"}), 403, "kommun 1480")
    # by API, with the editor's own token
    _, api_token = accounts.create_token(server[1], a_name)
    h = {"authorization": f"Bearer {api_token}"}
    c = client(server)
    swedish_error(c.put(f"/api/v1/insatser/{b_draft}", json={"namn": "Kapad", "kommuner": ["0180"]}, headers=h), 404, "finns inte")
    swedish_error(c.put(f"/api/v1/insatser/{b_published}", json={"namn": "Kapad", "kommuner": ["0180"]}, headers=h), 403, "kan inte ändra")
    swedish_error(c.post("/api/v1/insatser", json={"namn": "I fel kommun", "kommuner": ["1480"]}, headers=h), 403, "kommun 1480")
    assert {i: registry.get(server[1], STAFF, i).namn for i in (b_draft, b_published)} == names


def test_api_write_with_token_and_revocation(server):
    name = user(server, "redaktor", "0180")
    token_id, token = accounts.create_token(server[1], name)
    c = client(server)
    h = {"authorization": f"Bearer {token}"}
    swedish_error(c.post("/api/v1/insatser", json={"namn": "Utan token", "kommuner": ["0180"]}), 401, "API-token")
    r = c.post("/api/v1/insatser", json={"namn": "Via API", "kommuner": ["0180"], "sektorer": ["fritid"]}, headers=h)
    assert r.status_code == 201 and r.json()["status"] == "utkast" and r.json()["ansvarig_kommun"] == "0180"
    r = c.post("/api/v1/insatser", json={"namn": "Fel", "kommuner": ["9999"], "kostnad_kr": -1}, headers=h)
    assert r.status_code == 422 and "okänd kommunkod" in r.json()["fel"]
    swedish_error(c.post("/api/v1/insatser", content=b"{inte json", headers={**h, "content-type": "application/json"}), 400, "inte giltig JSON")
    accounts.revoke_token(server[1], token_id)
    before = count(server)
    swedish_error(c.post("/api/v1/insatser", json={"namn": "Efter återkallning", "kommuner": ["0180"]}, headers=h), 401, "återkallad")
    assert count(server) == before


def test_uploads_oversize_and_wrong_columns(server):
    c, _ = logged_in(server, "redaktor", "0180")
    token = csrf_of(c, "/metodbank/importera")
    before = count(server)
    big = b"namn\n" + b"x" * (6 * 1024 * 1024)
    swedish_error(c.post("/metodbank/importera", data={"csrf": token}, files={"fil": ("stor.csv", big, "text/csv")}), 413, "för stor")
    r = c.post("/metodbank/importera", data={"csrf": token}, files={"fil": ("insatser.pdf", b"%PDF-1.4", "application/pdf")})
    assert r.status_code == 400 and "ifylld mall (.xlsx) eller en CSV-fil" in r.text
    r = c.post("/metodbank/importera", data={"csrf": token})
    assert r.status_code == 400 and "Välj en fil (.xlsx eller .csv) att importera" in r.text
    r = c.post("/metodbank/importera", data={"csrf": token}, files={"fil": ("fel.csv", "namn,färg\nx,blå\n".encode(), "text/csv")})
    assert r.status_code == 400 and "fel kolumner" in r.text and "fel.csv" in r.text
    r = c.post("/metodbank/importera", data={"csrf": token}, files={"fil": ("ok.csv", b"namn,sektorer\nImporterad via webben,skola\n", "text/csv")})
    assert r.status_code == 200 and "1 insatser importerades" in r.text
    assert count(server) == before + 1
    _, api_token = accounts.create_token(server[1], user(server, "granskare"))
    huge = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    swedish_error(client(server).post("/api/v1/insatser", content=huge, headers={"content-type": "application/json", "authorization": f"Bearer {api_token}"}), 413, "för stor")
    assert count(server) == before + 1


@pytest.mark.slow
def test_reviewer_flow_in_the_browserless_web(server):
    ed, _ = logged_in(server, "redaktor", "0180")
    token = csrf_of(ed, "/metodbank/ny")
    r = ed.post("/metodbank/ny", data={"csrf": token, "namn": "Flöde", "kommuner": "0180", "problem": ["skolresultat"], "sektorer": ["skola"]})
    new = int(r.headers["location"].rsplit("/", 1)[1])
    assert ed.post(f"/metodbank/insats/{new}/status", data={"csrf": token, "status": "inskickad"}).status_code == 303
    rv, _ = logged_in(server, "granskare")
    rtoken = csrf_of(rv, "/metodbank/granskning")
    assert "Flöde" in rv.get("/metodbank/granskning").text
    r = rv.post(f"/metodbank/insats/{new}/utvardering", data={"csrf": rtoken, "design": "rct", "resultat": "gynnsam", "ki_lag": "0.1", "ki_hog": "0.5", "effekt": "0.3"})
    assert r.status_code == 303
    r = rv.post(f"/metodbank/insats/{new}/utvardering", data={"csrf": rtoken, "design": "rct", "ki_lag": "0.5", "ki_hog": "0.1"})
    assert r.status_code == 400 and "övre gräns" in r.text
    assert rv.post(f"/metodbank/insats/{new}/status", data={"csrf": rtoken, "status": "publicerad"}).status_code == 303
    public = client(server).get(f"/api/v1/insatser/{new}").json()
    assert public["status"] == "publicerad" and public["evidensgrad"] == "lovande" and public["evidensregel"] == "lovande-rct"
    page = client(server).get(f"/metodbank/insats/{new}").text
    assert "Lovande" in page and "Historik" not in page  # the public does not see who changed what
    assert "Historik" in rv.get(f"/metodbank/insats/{new}").text


@pytest.mark.slow
def test_good_example_pdf_is_one_page_and_only_for_readers(server):
    import io

    from pypdf import PdfReader

    c = client(server)
    one = c.get("/api/v1/insatser", params={"q": "Samverkan för bästa skola"}).json()["insatser"][0]
    r = c.get(f"/metodbank/insats/{one['id']}/goda-exempel.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(r.content))
    assert len(pdf.pages) == 1 and "Samverkan för bästa skola" in pdf.pages[0].extract_text()
    swedish_error(c.get(f"/metodbank/insats/{draft(server, '0180')}/goda-exempel.pdf"), 404, "finns inte")


def test_public_answers_follow_every_change(server):
    c = client(server)
    new = registry.create(server[1], STAFF, validate_insats({"namn": f"Cachetest {uuid.uuid4().hex[:6]}", "kommuner": ["0180"]}), status="publicerad")
    first = c.get(f"/api/v1/insatser/{new}").json()["namn"]
    assert c.get(f"/api/v1/insatser/{new}").json()["namn"] == first  # answered again, now from the cache
    registry.update(server[1], STAFF, new, validate_insats({"namn": "Nytt namn efter ändring", "kommuner": ["0180"]}))
    assert c.get(f"/api/v1/insatser/{new}").json()["namn"] == "Nytt namn efter ändring"
    assert "Nytt namn efter ändring" in c.get(f"/metodbank/insats/{new}").text
    registry.set_status(server[1], STAFF, new, "utkast")
    swedish_error(c.get(f"/api/v1/insatser/{new}"), 404, "finns inte")
    swedish_error(c.get(f"/metodbank/insats/{new}"), 404, "finns inte")


def test_gap_csv_download(server):
    r = client(server).get("/metodbank/luckor.csv", params={"lan": "01"})
    assert r.status_code == 200 and r.text.startswith("regso_kod,") and "lucka" in r.text.splitlines()[0]


def test_public_repeat_reads_come_from_the_cache_but_never_to_a_login_or_token(server):
    """web.metodbank.PublicHits answers the public's second visit before routing: the same
    bytes and headers as the first, no session cookie for a page without a form; a login, a
    token or a bad token is never answered from it."""
    c = client(server)
    new = registry.create(server[1], STAFF, validate_insats({"namn": f"Snabbväg {uuid.uuid4().hex[:6]}", "kommuner": ["0180"]}), status="publicerad")
    hidden = draft(server, "0180")
    path = f"/metodbank/insats/{new}"
    first, again = c.get(path), c.get(path)
    assert first.status_code == again.status_code == 200 and again.text == first.text
    assert "set-cookie" not in first.headers and "set-cookie" not in again.headers  # no form shown: no session
    for h in ("content-type", "cache-control", "content-security-policy", "x-frame-options", "x-content-type-options"):
        assert again.headers[h] == first.headers[h], h
    assert again.headers["cache-control"] == "no-store"
    api = f"/api/v1/insatser/{new}"
    a1, a2 = c.get(api), c.get(api)
    assert a1.content == a2.content and a1.headers["cache-control"] == a2.headers["cache-control"] == "no-cache"

    staff, _ = logged_in(server, "granskare")
    mine = staff.get(path)  # the same URL with a reviewer's session: their page, with its forms
    assert mine.status_code == 200 and 'name="csrf"' in mine.text and "Avpublicera" in mine.text and mine.text != first.text

    q = "/api/v1/insatser?kommun=0180&limit=500"
    public = c.get(q)
    assert c.get(q).content == public.content and hidden not in [i["id"] for i in public.json()["insatser"]]
    _, token = accounts.create_token(server[1], user(server, "redaktor", "0180"))
    theirs = c.get(q, headers={"authorization": f"Bearer {token}"}).json()
    assert hidden in [i["id"] for i in theirs["insatser"]]
    swedish_error(c.get(q, headers={"authorization": "Bearer inte-en-token"}), 401, "Ogiltig")
