"""What the area page says per factor (value with unit, threshold, margin, flag and why) and
the other lists' view of the area (Polisen's category, Segregationsbarometerns områdestyp).

Computed once per app from the library (results.karta.factor_details, results.compare's
reference codes); the page templates only show it.
"""

from __future__ import annotations

import logging

import polars as pl
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from utanforskap.errors import UtanforskapError
from utanforskap.formatting import format_number, format_percent, format_short
from utanforskap.geography.codes import restore_zeros
from utanforskap.results import compare, karta

log = logging.getLogger(__name__)

POLICE_LABELS = {0: "inte utpekat av Polisen", 1: "utsatt område", 2: "särskilt utsatt område"}
AREA_TYPE_LABELS = {
    1: "områdestyp 1: stora socioekonomiska utmaningar",
    2: "områdestyp 2: socioekonomiska utmaningar",
    3: "områdestyp 3: socioekonomiskt blandade områden",
    4: "områdestyp 4: goda socioekonomiska förutsättningar",
    5: "områdestyp 5: mycket goda socioekonomiska förutsättningar",
}


def unit_value(value, andel: bool, skala: float) -> str:
    if value is None or value != value:
        return "–"
    if andel:
        return format_percent(value)
    text = format_number(round(float(value), 2))
    return f"{text} per 1\u00a0000 invånare" if skala == 1000 else text


def _margin(value: float, limit: float, andel: bool, skala: float = 1.0) -> str:
    diff = value - limit
    if andel:
        size = format_short(round(abs(diff) * 100, 1)) + " procentenheter"
    else:
        size = format_short(round(abs(diff), 2)) + (" per 1\u00a0000 invånare" if skala == 1000 else "")
    return f"{size} {'över' if diff > 0 else 'under'} gränsen" if diff else "precis på gränsen"


class AreaFacts:
    def __init__(self, result: karta.MapResult) -> None:
        self.factors = karta.factor_details(result)
        try:
            codes = compare.reference_codes(result.source.store)
            self.references = {row["regso_kod"]: row for row in codes.iter_rows(named=True)}
        except (UtanforskapError, pl.exceptions.PolarsError) as exc:  # e.g. a synthetic store: shows none, says why in the log
            log.info("områdestyp och Polisens kategori visas inte: %s", exc)
            self.references = {}

    def factor_rows(self, area: dict) -> list[dict]:
        """One row per factor: value with unit, threshold, margin, flag and why."""
        values = area.get("indikatorer", {})
        flags = area.get("flaggor", {})
        rows = []
        for f in self.factors:
            value = values.get(f.varde) if f.varde else None
            flag = flags.get(f.flagga) if f.flagga else None
            limit = f.grans
            op = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}.get(f.operator or "", "")
            row = {
                "namn": f.namn,
                "status": f.status,
                "matt": f.matt,
                "varde": unit_value(value, f.andel, f.skala),
                "grans": f"{op} {unit_value(limit, f.andel, f.skala)}" if limit is not None and op else "–",
                "marginal": _margin(value, limit, f.andel, f.skala) if value is not None and limit is not None else "–",
                "flagga": "bedöms inte" if not f.flagga else ("uppgift saknas" if flag is None else ("flaggad" if flag else "nej")),
                "flaggad": bool(flag),
            }
            if not f.flagga:
                row["varfor"] = "Faktorn saknas i data och kan inte ge någon flagga."
            elif flag is None or value is None:
                row["varfor"] = "Värde saknas för området; det räknas inte som en flagga."
            elif limit is not None and op:
                verb = "är högst" if op in ("≤", "<") else "är minst"
                row["varfor"] = (
                    f"Flaggad: värdet {row['varde']} {verb} gränsen {unit_value(limit, f.andel, f.skala)}." if flag
                    else f"Inte flaggad: värdet {row['varde']} ligger {'över' if value > limit else 'under'} gränsen {unit_value(limit, f.andel, f.skala)}."
                )
            else:
                row["varfor"] = "Flaggad enligt metodens regel." if flag else "Inte flaggad enligt metodens regel."
            rows.append(row)
        return rows

    def reference(self, regso_kod: str) -> dict[str, str]:
        row = self.references.get(regso_kod) or {}
        police, area_type = row.get(compare.POLICE), row.get(compare.AREA_TYPE)
        return {
            "polisen": f"{POLICE_LABELS.get(police, 'okänd kod')} (Polisens lista 2025)" if police is not None else "uppgift saknas",
            "omradestyp": f"{AREA_TYPE_LABELS.get(area_type, 'okänd kod')} (Segregationsbarometern 2022)" if area_type is not None else "uppgift saknas",
        }


def lan_router(data, renderer):
    """/lan/{kod}: the län's figures and its kommuner (the breadcrumb on kommun and area pages links here)."""
    r = APIRouter(include_in_schema=False)

    @r.get("/lan/{kod}", response_class=HTMLResponse)
    async def lan(request: Request, kod: str) -> HTMLResponse:
        kod = restore_zeros(kod, "lan")
        rec = data.lan.get(kod)
        if rec is None:
            raise HTTPException(404, f"Det finns inget län med koden {kod}. En länskod är två siffror, t.ex. 01 för Stockholms län.")
        kommuner = sorted((k for k in data.kommuner.values() if k["lan_kod"] == kod), key=lambda k: (-k["listade_omraden"], k["kommun_namn"]))
        return renderer.page("lan.html.j2", request, lan=rec, kommuner=kommuner)

    return r
