"""/jamfor: two to four areas or kommuner side by side on the method's factors, with riket.

`?kod=0127R001&kod=0180R024` (RegSO codes, kommun codes or both; leading zeros restored).
Everything shown comes from the app's computed map (AppData); the page only arranges it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from utanforskap.geography.codes import restore_zeros

MIN_ITEMS, MAX_ITEMS = 2, 4


def item(data, code: str) -> dict | None:
    """One column of the comparison: an area or a kommun, or None for an unknown code."""
    kommun = data.kommuner.get(restore_zeros(code, "kommun"))
    if kommun is not None:
        return {
            "typ": "kommun", "kod": kommun["kommun_kod"], "namn": kommun["kommun_namn"], "lank": f"/kommun/{kommun['kommun_kod']}",
            "under": f"kommun i {kommun['lan_namn']}", "befolkning": kommun["befolkning"],
            "listade": kommun["listade_omraden"], "varden": data.kommun_values.get(kommun["kommun_kod"], {}), "flaggor": {},
        }
    area = data.areas.get(restore_zeros(code, "regso").upper())
    if area is not None:
        return {
            "typ": "omrade", "kod": area["regso_kod"], "namn": area["regso_namn"], "lank": f"/omrade/{area['regso_kod']}",
            "under": f"område i {area['kommun_namn']}", "befolkning": area["befolkning"], "klass": area["klass"],
            "antal_flaggor": area["indikatorer"].get("antal_flaggor"), "varden": area["indikatorer"], "flaggor": area.get("flaggor", {}),
        }
    return None


def area_suggestion(data, regso_kod: str) -> list[str]:
    """The area and up to three others of its kommun: listed ones first, then the most populous."""
    area = data.areas[regso_kod]
    others = [data.areas[c] for c in data.kommun_areas.get(area["kommun_kod"], []) if c != regso_kod]
    others.sort(key=lambda a: (not a["listad"], -(a["befolkning"] or 0), a["regso_namn"]))
    return [regso_kod, *(a["regso_kod"] for a in others[: MAX_ITEMS - 1])]


def kommun_suggestion(data, kommun_kod: str) -> list[str]:
    """The kommun and up to three others of its län, most listed areas first."""
    lan = data.kommuner[kommun_kod]["lan_kod"]
    others = [k for k in data.kommuner.values() if k["lan_kod"] == lan and k["kommun_kod"] != kommun_kod]
    others.sort(key=lambda k: (-k["listade_omraden"], -(k["befolkning"] or 0), k["kommun_namn"]))
    return [kommun_kod, *(k["kommun_kod"] for k in others[: MAX_ITEMS - 1])]


def link(codes: list[str]) -> str:
    return "/jamfor?" + "&".join(f"kod={c}" for c in codes)


def router(data, renderer) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/jamfor", response_class=HTMLResponse)
    async def jamfor(request: Request, kod: Annotated[list[str], Query(max_length=20)] = []) -> HTMLResponse:  # noqa: B006 - FastAPI's way to declare a repeated parameter
        codes = [c.strip() for c in kod if c.strip()]
        items = [item(data, c) for c in codes]
        unknown = [c for c, it in zip(codes, items, strict=True) if it is None]
        found = [it for it in items if it is not None]
        message, status = None, 200
        if unknown:
            message, status = f"Okänd kod: {', '.join(unknown)}. Ange en RegSO-kod (t.ex. 0180R024) eller en kommunkod (t.ex. 0180).", 422
        elif len(codes) > MAX_ITEMS:
            message, status = f"Högst {MAX_ITEMS} områden eller kommuner kan jämföras; du angav {len(codes)}.", 422
        elif codes and len(found) < MIN_ITEMS:
            message = "Ange minst två områden eller kommuner att jämföra."
        show = found if status == 200 and len(found) >= MIN_ITEMS else []
        fields = (codes + [""] * MAX_ITEMS)[:MAX_ITEMS]
        return renderer.page("jamfor.html.j2", request, status=status, items=show, fields=fields, meddelande=message)

    return r
