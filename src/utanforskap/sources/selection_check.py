"""Checks of a catalogue source against what the service says exists, before anything is fetched.

Called by the fetch pipeline (`utanforskap hamta`) for each variable: a table lacking the
requested contents, background or sex code, a region codelist of another area vintage than
the catalogue and the store use, or a Kolada KPI that does not exist stops the run with one
Swedish line naming the table (or KPI), the code and what exists. The pipeline's transaction
rule then leaves the observation store untouched: nothing is half-fetched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from utanforskap.errors import SourceError
from utanforskap.sources.pxweb import TableMetadata

_MAX_LISTED = 12
VINTAGES = {"vs_DeSO2018": "DeSO 2018", "vs_RegSO2020": "RegSO 2020", "vs_DeSO2025": "DeSO 2025", "vs_RegSO2025": "RegSO 2025",
            "vs_DeSoHE": "DeSO 2018", "vs_RegSo1": "RegSO 2020"}


def _listed(codes: Sequence[str], labels: Mapping[str, str] | None = None) -> str:
    labels = labels or {}
    shown = [f"{c} ({labels[c]})" if labels.get(c) and labels[c] != c else c for c in codes[:_MAX_LISTED]]
    more = f" och {len(codes) - _MAX_LISTED} till" if len(codes) > _MAX_LISTED else ""
    return ", ".join(shown) + more


def check_scb(meta: TableMetadata, *, variable: str, contents: str, urval: Mapping[str, str | Sequence[str]],
              region: str, codelist: str | None) -> None:
    """Raise SourceError unless the table has `contents`, every urval code and the region `codelist`."""
    table = meta.table
    where = f"SCB-tabell {table} (variabeln {variable})"
    contents_var = next((v for v in meta.variables.values() if v.is_contents), None)
    if contents_var is not None and contents not in contents_var.codes:
        raise SourceError(
            f"{where}: innehållet {contents} finns inte; tabellen har {_listed(list(contents_var.codes), contents_var.labels)}"
        )
    by_lower = {code.lower(): var for code, var in meta.variables.items()}
    for name, wanted in urval.items():
        var = by_lower.get(name.lower())
        if var is None:
            raise SourceError(f"{where}: variabeln {name} finns inte i tabellen; den har {', '.join(meta.variables)}")
        codes = {c.lower() for c in var.codes}
        for code in [wanted] if isinstance(wanted, str) else list(wanted):
            if code.lower() not in codes:
                kind = "könskoden" if var.code.lower() == "kon" else (
                    "bakgrundskoden" if var.code.lower().startswith("bakgr") else "koden")
                raise SourceError(
                    f"{where}: {kind} {code!r} för {var.code} finns inte; tabellen har {_listed(list(var.codes), var.labels)}"
                )
    if codelist is not None:
        reg = by_lower.get(region.lower())
        if reg is not None and reg.codelists and codelist not in reg.codelists:
            wanted_v = VINTAGES.get(codelist, codelist)
            have = ", ".join(f"{c} ({VINTAGES[c]})" if c in VINTAGES else c for c in reg.codelists)
            raise SourceError(
                f"{where}: områdesindelningen stämmer inte: katalogen begär kodlistan {codelist} ({wanted_v}) men "
                f"tabellens {reg.code} har {have}; ändra kodlistor i katalogen till tabellens indelning"
            )


def check_vintage(variable: str, table: str, codelist: str, stored_codelist: str | None) -> None:
    """Raise SourceError when the store holds the variable from another area vintage than this fetch."""
    if not stored_codelist or stored_codelist == codelist:
        return
    new, old = VINTAGES.get(codelist, codelist), VINTAGES.get(stored_codelist, stored_codelist)
    if new != old:
        raise SourceError(
            f"SCB-tabell {table} (variabeln {variable}): indelningen {codelist} ({new}) skiljer sig från lagrets "
            f"{stored_codelist} ({old}); blanda inte indelningar i ett dataset: hämta till ett nytt lager (--lager) "
            "eller ta bort datasetet först"
        )


def check_matched(variable: str, table: str, codelist: str, matched: int, unmatched: Sequence[str]) -> None:
    """Raise SourceError when none of the table's area codes exist in the store's geography."""
    if matched == 0 and unmatched:
        raise SourceError(
            f"SCB-tabell {table} (variabeln {variable}): ingen av {len(unmatched)} områdeskoder i {codelist} finns i "
            f"lagrets indelning DeSO 2018/RegSO 2020 (t.ex. {', '.join(unmatched[:3])}); tabellens indelning passar inte lagret"
        )


def check_kolada(found: Sequence[Mapping[str, object]], kpi: str, variable: str) -> None:
    """Raise SourceError when Kolada's KPI list has no `kpi` (`found` is client.kpis(ids=[kpi]))."""
    ids = [str(k.get("id")) for k in found]
    if kpi not in ids:
        raise SourceError(
            f"Kolada (variabeln {variable}): nyckeltalet {kpi} finns inte i Koladas nyckeltalslista"
            + (f" (svaret gav {', '.join(ids[:5])})" if ids else "")
            + "; sök rätt id med /v3/kpi?title=ORD och rätta kpi i katalogen"
        )
