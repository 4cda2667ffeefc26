"""SCB's integration tables (Registerdata för integration, AA0003) in the fake PxWebApi 2.0.

One cube per table the catalogue names (IntGr1RegSOBASN ... IntGr5RegSOKon), over the RegSO of
kommun 0114 and 0115, in JSON-stat2 as PxWebApi 2.0 answers (the structure of the recorded
TAB6471 responses: role, extension.px, per-dimension extension with elimination and
codelists, category index/label/unit). The dimensions and codes are the catalogue's own (EJ
VERIFIERADE against SCB); the VALUES ARE MADE UP, deterministic, and shaped so that some
areas fall below the method's thresholds: RegSO number i of the kommun gets worse values
as i grows. A few cells are '..' (suppressed), as SCB writes them.
"""

from __future__ import annotations

import math

import numpy as np

from .scb import Cube

KON = {"1+2": "totalt", "1": "män", "2": "kvinnor"}
# table -> (background variable, its codes and labels, has Kon, contents: code -> (label, unit, base value, step per area,
# background shift for SE/F), years, region codelist)
TABLES = {
    "IntGr1RegSOBASN": (
        "BakgrVar", {"TOT": "samtliga", "SE": "födda i Sverige", "F": "utrikes födda"}, True,
        {"000008AW": ("Andel förvärvsarbetande, procent", "procent", 84.0, -3.5, (4.0, -14.0)),
         "000008B1": ("Andel inskrivna arbetslösa, procent", "procent", 3.0, 1.2, (-1.0, 6.0)),
         "000008B4": ("Andel långtidsarbetslösa, procent", "procent", 1.0, 0.6, (-0.5, 3.0))},
        [str(y) for y in range(2018, 2024)], "vs_RegSO2025",
    ),
    "IntGr4RegSOKon": (
        "Bakgrund", {"tot20-64": "samtliga 20-64 år"}, True,
        {"000004WZ": ("Ekonomiskt bistånd, andel, procent", "procent", 1.5, 1.3, (0.0, 0.0))},
        [str(y) for y in range(2018, 2024)], "vs_RegSO2020",
    ),
    "IntGr8RegSOKon2": (
        "Bakgrund", {"1+2": "totalt", "1": "män", "2": "kvinnor"}, False,
        {"000004VC": ("Andel behöriga till gymnasieskolan, procent", "procent", 92.0, -3.0, (0.0, 0.0))},
        [str(y) for y in range(2018, 2024)], "vs_RegSO2020",
    ),
    "IntGr10RegSOKon": (
        "Bakgrund", {"TOT": "samtliga"}, True,
        {"000004X8": ("Ohälsotalet, antal dagar", "dagar", 18.0, 3.0, (0.0, 0.0)),
         "000004X9": ("Andel som bidrar till ohälsotalet, procent", "procent", 6.0, 0.8, (0.0, 0.0))},
        [str(y) for y in range(2018, 2024)], "vs_RegSO2020",
    ),
    "IntGr11RegSO1": (
        "Bakgrund", {"TOT": "samtliga"}, True,
        {"000004WU": ("Valdeltagande i val till riksdag, procent", "procent", 90.0, -3.0, (0.0, 0.0)),
         "000004WV": ("Valdeltagande i val till region, procent", "procent", 86.0, -3.0, (0.0, 0.0)),
         "000004WW": ("Valdeltagande i val till kommun, procent", "procent", 87.0, -3.0, (0.0, 0.0))},
        ["2018", "2022"], "vs_RegSO2020",
    ),
    "IntGr8RegSOKON1N": (
        "Bakgrund", {"tot20-64": "samtliga 20-64 år"}, True,
        {"000004W9": ("Varken förvärvsarbetande eller studerande 20-25 år, procent", "procent", 6.0, 1.0, (0.0, 0.0)),
         "000004WA": ("Varken förvärvsarbetande eller studerande 20-64 år, procent", "procent", 7.0, 1.5, (0.0, 0.0))},
        [str(y) for y in range(2018, 2024)], "vs_RegSO2020",
    ),
    "IntGr5RegSOKon": (
        "Bakgrund", {"tot20-64": "samtliga 20-64 år"}, True,
        {"000004X4": ("Disponibel inkomst, median, prisbasbelopp", "prisbasbelopp", 6.0, -0.2, (0.0, 0.0))},
        [str(y) for y in range(2018, 2024)], "vs_RegSO2020",
    ),
}


def cubes(codelists: dict[str, dict]) -> dict[str, Cube]:
    """Every integration table as a Cube over the RegSO of the table's codelist."""
    return {table: _cube(table, *spec, codelists) for table, spec in TABLES.items()}


def _cube(table, bg_var, bg_codes, has_kon, contents, years, codelist, codelists) -> Cube:
    regions = [v["code"] for v in codelists[codelist]["values"]]
    labels = {v["code"]: v["label"] for v in codelists[codelist]["values"]}
    ids = ["Region", bg_var, *(["Kon"] if has_kon else []), "ContentsCode", "Tid"]
    codes = {"Region": regions, bg_var: list(bg_codes), **({"Kon": list(KON)} if has_kon else {}),
             "ContentsCode": list(contents), "Tid": years}
    dims = {
        "Region": {"label": "region", "category": {"label": labels}, "extension": {
            "elimination": False, "show": "code_value",
            "codelists": [{"id": codelist, "label": "RegSO", "type": "Valueset", "links": []}]}},
        bg_var: {"label": "bakgrundsvariabel" if bg_var == "BakgrVar" else "bakgrund", "category": {"label": dict(bg_codes)},
                 "extension": {"elimination": False, "show": "value", "codelists": []}},
        "ContentsCode": {"label": "tabellinnehåll", "category": {
            "label": {c: v[0] for c, v in contents.items()},
            "unit": {c: {"base": v[1], "decimals": 1} for c, v in contents.items()}},
            "extension": {"elimination": False, "show": "value", "codelists": [],
                          "refperiod": {c: "Respektive år" for c in contents}}},
        "Tid": {"label": "år", "category": {"label": {t: t for t in years}},
                "extension": {"elimination": False, "show": "code", "codelists": []}},
    }
    if has_kon:
        dims["Kon"] = {"label": "kön", "category": {"label": dict(KON)},
                       "extension": {"elimination": True, "eliminationValueCode": "1+2", "show": "value", "codelists": []}}
    shape = [len(codes[d]) for d in ids]
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    pos = dict(zip(ids, grids, strict=False))
    area = pos["Region"] % max(1, len(regions) // 2)  # the i-th area of its kommun (two kommuner)
    base = np.array([contents[c][2] for c in codes["ContentsCode"]])[pos["ContentsCode"]]
    step = np.array([contents[c][3] for c in codes["ContentsCode"]])[pos["ContentsCode"]]
    bg_index = pos[bg_var]
    shift = np.zeros(shape)
    if list(bg_codes)[:3] == ["TOT", "SE", "F"]:
        se = np.array([contents[c][4][0] for c in codes["ContentsCode"]])[pos["ContentsCode"]]
        fb = np.array([contents[c][4][1] for c in codes["ContentsCode"]])[pos["ContentsCode"]]
        shift = np.where(bg_index == 1, se, np.where(bg_index == 2, fb, 0.0))
    sex = np.zeros(shape) if not has_kon else np.where(pos["Kon"] == 1, 1.0, np.where(pos["Kon"] == 2, -1.0, 0.0))
    year = pos["Tid"] * 0.3
    values = np.round(np.clip(base + step * area + shift + sex + year * np.sign(step), 0, 100 if contents[codes["ContentsCode"][0]][1] != "dagar" else 400), 1)
    flat = values.ravel()
    # The last area's foreign-born cells are suppressed where the table splits by background.
    symbols: dict[int, str] = {}
    if bg_var == "BakgrVar":
        last = (pos["Region"] == len(regions) - 1) & (bg_index == 2)
        for i in np.flatnonzero(last.ravel()):
            symbols[int(i)] = ".."
        flat[list(symbols)] = np.nan
    header = {
        "version": "2.0", "class": "dataset",
        "label": f"{table}: testkopia av SCB:s integrationstabell (påhittade värden)",
        "source": "SCB (syntetisk testkopia)", "updated": "2026-06-01T06:00:00Z",
        "note": ["Syntetiska värden för test; dimensionerna är katalogens, inte kontrollerade mot SCB."],
        "role": {"time": ["Tid"], "metric": ["ContentsCode"], "geo": ["Region"]},
        "extension": {"px": {"tableid": table, "decimals": 1, "official-statistics": True, "language": "sv",
                             "contents": "Registerdata för integration", "matrix": table, "subject-code": "AA",
                             "subject-area": "Arbetsmarknad"}},
    }
    assert math.prod(shape) == flat.size
    return Cube(header, ids, codes, dims, flat.reshape(shape), symbols)
