"""`utanforskap effekt`: did a measure change an outcome in the areas where it started?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from utanforskap.cli import app, console
from utanforskap.cli.anvandare import DatabasOpt
from utanforskap.errors import InputError


def _sv(x: float, d: int = 2) -> str:
    return "–" if x != x else f"{x:.{d}f}".replace(".", ",").replace("-", "−")


@app.command("effekt")
def effekt(
    behandlade: Annotated[Path | None, typer.Option("--behandlade", help="CSV med kolumnerna omrade,start (år eller datum)")] = None,
    insats: Annotated[int | None, typer.Option("--insats", help="En insats i metodbanken: dess områden, startdatum och problemvariabel")] = None,
    utfall: Annotated[str | None, typer.Option("--utfall", help="Utfallsvariabel i observationslagret, t.ex. brott_urval")] = None,
    per_tusen: Annotated[str | None, typer.Option("--per-tusen", help="Dela utfallet med denna variabel × 1 000, t.ex. befolkning")] = None,
    data: Annotated[str, typer.Option("--data", help="paket, syntetisk eller en lagerkatalog")] = "paket",
    niva: Annotated[str | None, typer.Option("--niva", help="regso eller deso (standard regso; deso för --demo-polisen)")] = None,
    fran: Annotated[int | None, typer.Option("--fran", help="Första år i panelen")] = None,
    till: Annotated[int | None, typer.Option("--till", help="Sista år i panelen")] = None,
    jamforelse: Annotated[str, typer.Option("--jamforelse", help="ej-behandlade, ej-annu-behandlade eller liknande")] = "ej-behandlade",
    metod: Annotated[str, typer.Option("--metod", help="did, eventstudie, syntetisk-kontroll eller alla")] = "alla",
    ut: Annotated[Path | None, typer.Option("--ut", help="Katalog att skriva effekt.csv, eventstudie.csv och rapporten till")] = None,
    planera: Annotated[bool, typer.Option("--planera", help="Minsta påvisbara effekt (80 % styrka, 5 % signifikans) i stället för en skattning")] = False,
    demo_polisen: Annotated[bool, typer.Option("--demo-polisen", help="Demonstration: Polisens utpekanden och anmälda brott (paketerade data)")] = False,
    rapport: Annotated[bool, typer.Option("--rapport/--ingen-rapport", help="Skriv effekt.html och effekt.pdf")] = True,
    spara: Annotated[bool, typer.Option("--spara", help="Spara skattningen som en utvärdering av insatsen (--insats) i metodbanken")] = False,
    som: Annotated[str | None, typer.Option("--som", help="Metodbankens användare som läser insatsen och sparar utvärderingen")] = None,
    riktning: Annotated[str | None, typer.Option("--riktning", help="hogt_ar_daligt eller hogt_ar_bra, när katalogen inte anger det för --utfall")] = None,
    databas: DatabasOpt = None,
) -> None:
    """Skatta om en insats ändrade ett utfall i de områden där den startade (DiD, eventstudie, syntetisk kontroll)."""
    from utanforskap.datasets import open_source
    from utanforskap.effects import panel as panels
    from utanforskap.effects import polisen, power, run

    notes: list[str] = []
    label = ""
    exclude: set[str] = set()
    if spara and (insats is None or planera):
        raise InputError("--spara sparar en skattning för en insats: ange --insats ID (och inte --planera)")
    if spara and not som:
        raise InputError("--spara: ange --som ANVÄNDARE, den som sparar utvärderingen (granskare, administratör, eller redaktör för sin kommuns utkast)")
    if riktning not in (None, "hogt_ar_daligt", "hogt_ar_bra"):
        raise InputError(f"--riktning {riktning!r}: ange hogt_ar_daligt eller hogt_ar_bra")
    source = open_source(data)
    if demo_polisen:
        if behandlade or utfall or insats is not None:
            raise InputError("--demo-polisen väljer själv behandlade områden och utfall; ta bort --behandlade, --insats och --utfall")
        utfall, per_tusen = polisen.OUTCOME, polisen.PER
        fran, till = fran or polisen.YEARS[0], till or polisen.YEARS[1]
        niva = niva or "deso"
        treated, exclude, notes = polisen.treated_areas(niva)
        label = polisen.LABEL
        where = "Polisens utpekanden"
    elif insats is not None:
        if behandlade:
            raise InputError("ange antingen --behandlade FIL eller --insats ID, inte båda")
        from utanforskap.effects import metodbank_hook as hook
        from utanforskap.metodbank.accounts import user_actor
        from utanforskap.metodbank.db import open_database
        from utanforskap.metodbank.registry import Actor

        db = open_database(databas)
        actor = user_actor(db, som) if som else Actor.public()
        niva = niva or "regso"
        md = hook.measure_design(db, actor, insats, source.store, niva, utfall, per_tusen)
        if spara:
            hook.actor_may_save(db, actor, insats)
            if riktning is None and md.high_is_bad is None:
                raise InputError(f"--spara: katalogen säger inte om höga värden av {md.variable} är bra eller dåliga; ange --riktning hogt_ar_daligt eller hogt_ar_bra")
        treated, utfall, per_tusen, where = md.treated, md.variable, md.per_thousand, md.where
        notes.append(md.note)
    else:
        if behandlade is None or utfall is None:
            raise InputError("ange --behandlade FIL och --utfall VARIABEL, --insats ID eller --demo-polisen")
        niva = niva or "regso"
        treated = panels.read_treated(behandlade)
        where = str(behandlade)
    if not planera and ut is None:
        raise InputError("ange --ut KATALOG att skriva resultaten till (eller --planera för styrkeberäkning)")
    if (fran is None) != (till is None):
        raise InputError("ange både --fran och --till, eller ingen av dem")
    with console.status("Bygger panelen ..."):
        p = panels.build_panel(source.store, utfall, niva, (fran, till) if fran is not None and till is not None else None, per_tusen)
        if jamforelse == "liknande":
            p = panels.attach_flags(p, source)
        design = panels.make_design(p, treated, jamforelse, where, exclude)
    if source.synthetic:
        label = (label + " · " if label else "") + "SYNTETISKA DATA"
    if label:
        console.print(f"[bold yellow]{escape(label)}[/]", highlight=False)
    if planera:
        with console.status("Simulerar styrka ..."):
            res = power.plan(design)
        console.print(escape(res.line(p.label)), highlight=False)
        return
    with console.status("Skattar ..."):
        result = run.estimate(design, metod)
    result.label = label
    result.notes = notes + result.notes + (list(polisen.CAVEATS) if demo_polisen else [])
    if demo_polisen:
        result.verdict += " " + polisen.VERDICT
    extra = {}
    if rapport:
        from utanforskap.reports import effekt as report

        with console.status("Skriver rapporten ..."):
            html = report.render_html(result)
            extra = {"effekt.html": html.encode("utf-8"), "effekt.pdf": report.html_to_pdf(html)}
    assert ut is not None
    written = run.write(result, ut, extra)
    saved = None
    if spara:
        with console.status("Beräknar minsta påvisbara effekt och sparar i metodbanken ..."):
            mde = power.plan(design).mde
            high_is_bad = md.high_is_bad if riktning is None else riktning == "hogt_ar_daligt"
            assert high_is_bad is not None
            saved = hook.save(db, actor, insats, result, high_is_bad=high_is_bad, datakalla=source.description, mde=mde)  # type: ignore[arg-type]
    table = Table(title=escape(f"Effekt på {p.label}, {p.level} {p.years[0]}–{p.years[-1]}"), title_justify="left")
    for c in ("metod", "skattning", "95 %", "p", "behandlade", "jämförelse"):
        table.add_column(c, justify="left" if c == "metod" else "right")
    for r in result.rows:
        table.add_row(r["metod"], _sv(r["skattning"]), f"{_sv(r['nedre_95'])} – {_sv(r['ovre_95'])}", _sv(r["p_varde"], 3),
                      str(r["antal_behandlade"]), str(r["antal_jamforelse"]))
    console.print(table)
    for n in result.notes:
        console.print(f"· {escape(n)}", highlight=False)
    console.print(f"[bold]Bedömning:[/] {escape(result.verdict)}", highlight=False)
    console.print(f"Skrev {len(written)} filer till {escape(str(ut))}.", highlight=False)
    if saved is not None:
        from utanforskap.metodbank.rules import rules

        not_counted = f" ({escape(label)}; räknas inte in i insatsens evidensgrad)" if label and not rules().skattningar.etiketter_raknas else ""
        console.print(
            f"Sparade utvärdering {saved[0]} av insats {insats} i metodbanken ({escape(db.url)}): "
            f"{escape(rules().grader.get(saved[1], saved[1]))}{not_counted}. Sidan: /metodbank/insats/{insats}",
            highlight=False,
        )
