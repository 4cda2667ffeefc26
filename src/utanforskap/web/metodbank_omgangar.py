"""The metodbank's reporting rounds on the web, under /metodbank/omgangar.

Thin over utanforskap.metodbank.rounds, which checks every role rule: this module only reads
forms (every POST carries the session's CSRF token, checked by `posted`) and renders pages.
Registered by web.metodbank.router with its session, page and form helpers.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from utanforskap.errors import InputError
from utanforskap.metodbank import rounds
from utanforskap.metodbank.registry import Forbidden, NotFound

KOD = re.compile(r"^\d{4}$")


def _date(value: str, label: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{label}: ange ett datum som ÅÅÅÅ-MM-DD, inte {value[:20]!r}") from None


def register(
    r: APIRouter,
    ctx: Any,
    new_session: Callable[[Request], Any],
    page: Callable[..., Response],
    posted: Callable[[Request, Any], Awaitable[Any]],
    error: Callable[[Exception], HTTPException],
    max_upload: int,
) -> None:
    def fail(exc: Exception) -> HTTPException:
        return error(exc) if isinstance(exc, (NotFound, Forbidden)) else HTTPException(400, str(exc))

    def check_kod(kod: str) -> None:
        if not KOD.match(kod):
            raise HTTPException(404, f"Det finns ingen kommun med koden {kod[:10]}. En kommunkod är fyra siffror, t.ex. 0180.")

    def answer_page(request: Request, session, rid: int, kod: str, status: int = 200, fel: str | None = None,
                    klart: str | None = None, values: dict | None = None) -> Response:
        actor = session.actor
        try:
            info, ans = rounds.get_answer(ctx.db, actor, rid, kod)
            measures = rounds.kommun_measures(ctx.db, actor, kod)
            hist = rounds.events(ctx.db, actor, rid, kod)
        except (NotFound, Forbidden) as exc:
            raise error(exc) from None
        writable = (actor.roll == "redaktor" and actor.kommun_kod == kod and info.status == "oppen"
                    and ans.status in ("ej-paborjad", "paborjad"))
        return page(request, session, "metodbank_omgang_svar.html.j2", status=status, o=info, svar=ans, kod=kod,
                    insatser_val=measures, kan_svara=writable, kan_granska=actor.is_staff and info.status == "oppen" and ans.status == "inskickad",
                    handelser=hist, fel=fel, klart=klart, v_=values if values is not None else ans.svar,
                    valda=set(values.get("_insatser", [])) if values is not None else set(ans.insatser))

    @r.get("/metodbank/omgangar", response_class=HTMLResponse, include_in_schema=False)
    def omgangar(request: Request) -> Response:
        session = new_session(request)
        try:
            found = rounds.list_rounds(ctx.db, session.actor)
        except Forbidden as exc:
            raise error(exc) from None
        return page(request, session, "metodbank_omgangar.html.j2", omgangar=found, fel=None, v_={}, enkater=rounds.bundled_questionnaires())

    @r.post("/metodbank/omgangar", response_class=HTMLResponse, include_in_schema=False)
    async def omgang_ny(request: Request) -> Response:
        session = new_session(request)
        form = await posted(request, session)
        values = {k: str(form.get(k, ""))[:300] for k in ("namn", "fran", "till", "sista_dag", "enkat", "kommuner")}
        try:
            fran, till = _date(values["fran"], "Period från"), _date(values["till"], "Period till")
            if fran is None or till is None:
                raise InputError("Perioden: ange både från och till (ÅÅÅÅ-MM-DD)")
            if values["enkat"] and values["enkat"] not in rounds.bundled_questionnaires():
                raise InputError(f"Enkät: välj en av {', '.join(rounds.bundled_questionnaires())}")
            kommuner = [k for k in re.split(r"[\s,;]+", values["kommuner"]) if k]
            rid = rounds.open_round(ctx.db, session.actor, values["namn"], fran, till, sista_dag=_date(values["sista_dag"], "Sista dag"),
                                    enkat=values["enkat"] or "lagesbild", kommuner=kommuner or None)
        except Forbidden as exc:
            raise error(exc) from None
        except InputError as exc:
            found = rounds.list_rounds(ctx.db, session.actor)
            return page(request, session, "metodbank_omgangar.html.j2", status=400, omgangar=found, fel=str(exc), v_=values,
                        enkater=rounds.bundled_questionnaires())
        return session.apply(request, RedirectResponse(f"/metodbank/omgangar/{rid}", status_code=303))

    @r.get("/metodbank/omgangar/{rid}", response_class=HTMLResponse, include_in_schema=False)
    def omgang(request: Request, rid: int) -> Response:
        session = new_session(request)
        actor = session.actor
        try:
            info = rounds.get_round(ctx.db, actor, rid)
            if not actor.is_staff:  # an editor's view of a round is their kommun's answer
                return session.apply(request, RedirectResponse(f"/metodbank/omgangar/{rid}/kommun/{actor.kommun_kod}", status_code=303))
            rows = rounds.status_rows(ctx.db, actor, rid)
            remind = rounds.reminders(ctx.db, actor, rid)
            hist = rounds.events(ctx.db, actor, rid)
        except (NotFound, Forbidden) as exc:
            raise error(exc) from None
        return page(request, session, "metodbank_omgang.html.j2", o=info, rader=rows, antal=rounds.counts(rows), paminnelser=remind, handelser=hist)

    @r.get("/metodbank/omgangar/{rid}/svar.csv", include_in_schema=False)
    def omgang_csv(request: Request, rid: int) -> Response:
        session = new_session(request)
        try:
            info, rows = rounds.compiled(ctx.db, session.actor, rid)
        except (NotFound, Forbidden) as exc:
            raise error(exc) from None
        return session.apply(request, Response(rounds.compiled_csv(rows), media_type="text/csv; charset=utf-8",
                                               headers={"content-disposition": f'attachment; filename="omgang-{rid}-svar.csv"'}))

    @r.post("/metodbank/omgangar/{rid}/stang", include_in_schema=False)
    async def omgang_stang(request: Request, rid: int) -> Response:
        session = new_session(request)
        await posted(request, session)
        try:
            rounds.close_round(ctx.db, session.actor, rid)
        except (NotFound, Forbidden, InputError) as exc:
            raise fail(exc) from None
        return session.apply(request, RedirectResponse(f"/metodbank/omgangar/{rid}", status_code=303))

    @r.get("/metodbank/omgangar/{rid}/kommun/{kod}", response_class=HTMLResponse, include_in_schema=False)
    def svar(request: Request, rid: int, kod: str) -> Response:
        check_kod(kod)
        return answer_page(request, new_session(request), rid, kod)

    @r.post("/metodbank/omgangar/{rid}/kommun/{kod}", response_class=HTMLResponse, include_in_schema=False)
    async def svar_post(request: Request, rid: int, kod: str) -> Response:
        check_kod(kod)
        session = new_session(request)
        form = await posted(request, session)
        info = None
        try:
            info = rounds.get_round(ctx.db, session.actor, rid)
        except (NotFound, Forbidden) as exc:
            raise error(exc) from None
        values = {q["id"]: str(form.get(f"fraga_{q['id']}", "")) for q in info.questions}
        chosen: list[int] = []
        for raw in form.getlist("insats"):
            if not str(raw).isdigit() or len(str(raw)) > 10:
                raise HTTPException(400, f"Ogiltigt insats-id {str(raw)[:20]!r}.")
            chosen.append(int(raw))
        submit = form.get("handling") == "skicka"
        try:
            rounds.save_answer(ctx.db, session.actor, rid, kod, values, chosen, submit=submit)
        except (NotFound, Forbidden) as exc:
            raise error(exc) from None
        except InputError as exc:
            return answer_page(request, session, rid, kod, status=400, fel=str(exc), values={**values, "_insatser": chosen})
        return session.apply(request, RedirectResponse(f"/metodbank/omgangar/{rid}/kommun/{kod}", status_code=303))

    @r.post("/metodbank/omgangar/{rid}/kommun/{kod}/excel", response_class=HTMLResponse, include_in_schema=False)
    async def svar_excel(request: Request, rid: int, kod: str) -> Response:
        from utanforskap.web.metodbank import UploadRejected, with_upload

        check_kod(kod)
        session = new_session(request)
        form = await posted(request, session)
        try:
            ids = await with_upload(form, lambda path: rounds.import_into_answer(ctx.db, session.actor, rid, kod, path),
                                    "Välj en fil (.xlsx eller .csv) att ladda upp.", max_upload)
        except (NotFound, Forbidden) as exc:
            raise error(exc) from None
        except (UploadRejected, InputError) as exc:
            return answer_page(request, session, rid, kod, status=400, fel=str(exc))
        return answer_page(request, session, rid, kod, klart=f"{len(ids)} insatser importerades som utkast och togs med i svaret.")

    @r.post("/metodbank/omgangar/{rid}/kommun/{kod}/granska", include_in_schema=False)
    async def svar_granska(request: Request, rid: int, kod: str) -> Response:
        check_kod(kod)
        session = new_session(request)
        form = await posted(request, session)
        try:
            rounds.review(ctx.db, session.actor, rid, kod, approve=form.get("beslut") == "godkann", kommentar=str(form.get("kommentar", ""))[:5000])
        except (NotFound, Forbidden, InputError) as exc:
            raise fail(exc) from None
        return session.apply(request, RedirectResponse(f"/metodbank/omgangar/{rid}/kommun/{kod}", status_code=303))
