"""Turnout in the riksdag elections 2018 and 2022 per kommun and valdistrikt (real data).

From the bundled Valmyndigheten files (sources/valmyndigheten.py), whatever data source the
map uses: each kommun's turnout in both elections against its län and the country, and
its districts with the lowest turnout by name. Valdistrikt are not RegSO (no key links
them), so this says nothing about the map's areas directly; RegSO turnout comes from SCB's
integration table IntGr11RegSO1 when fetched.

`turnout(kod)` is the data (used by the kommun report and the web page); the report's
section template is ``_valdeltagande.html.j2``.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

from utanforskap.errors import InputError
from utanforskap.formatting import format_number as tal
from utanforskap.formatting import format_percent as procent
from utanforskap.observations.store import bundled_store
from utanforskap.sources import bundle
from utanforskap.sources.valmyndigheten import ELIGIBLE, KALLA, REFERENCE, VOTERS

ELECTIONS = ("2018", "2022")
LOWEST = 5
SOURCE_NOTE = (
    "Valmyndigheten, slutligt valresultat i riksdagsvalen 2018 och 2022 per valdistrikt "
    "(verkliga data; filerna via github sidebo/valresultat)"
)
CAVEAT = (
    "Verkliga data om demokratiskt deltagande på kommun- och valdistriktsnivå, inte per RegSO: valdistrikten är "
    "inte kartans områden och ingen nyckel kopplar dem, och 2018 och 2022 års distrikt skiljer sig. Kommunens "
    "valdeltagande räknar med alla röstande; distriktens gör det inte för de förtidsröster som inte fördelats på "
    "valdistrikt (2022) eller som räknats i uppsamlingsdistrikt (2018), så distriktens andelar ligger något lägre. "
    "Valdeltagande per RegSO finns i SCB:s integrationstabell IntGr11RegSO1 (utanforskap hamta)."
)


@lru_cache(maxsize=1)
def _totals() -> pl.DataFrame:
    """omrade, niva, period, rostberattigade, rostande, valdeltagande for kommun, län and riket."""
    obs = bundled_store().read(variabler=[ELIGIBLE, VOTERS])
    if obs.is_empty():
        return pl.DataFrame(schema={"omrade": pl.String, "niva": pl.String, "period": pl.String,
                                    "rostberattigade": pl.Float64, "rostande": pl.Float64, "valdeltagande": pl.Float64})
    wide = obs.pivot(on="variabel", index=["omrade", "niva", "period"], values="varde")
    return wide.rename({ELIGIBLE: "rostberattigade", VOTERS: "rostande"}).with_columns(
        valdeltagande=pl.col("rostande") / pl.col("rostberattigade")
    )


@lru_cache(maxsize=1)
def _districts() -> pl.DataFrame:
    try:
        return bundle.reference(REFERENCE)
    except InputError:  # an older package without the table: the section says so
        return pl.DataFrame()


def available() -> bool:
    return not _totals().is_empty() and not _districts().is_empty()


def turnout(kod: str, lowest: int = LOWEST) -> dict | None:
    """Kommun `kod`'s turnout per election, its län's and the country's, and its lowest-turnout districts.

    None when the bundled package has no election data.
    """
    if not available():
        return None
    totals, districts = _totals(), _districts()
    lan = kod[:2]

    def value(omrade: str, year: str) -> dict | None:
        hit = totals.filter((pl.col("omrade") == omrade) & (pl.col("period") == year))
        return hit.row(0, named=True) if hit.height else None

    elections = []
    for year in ELECTIONS:
        k, l_, se = value(kod, year), value(lan, year), value("SE", year)
        own = districts.filter((pl.col("kommun_kod") == kod) & (pl.col("val") == year))
        low = own.sort(["valdeltagande", "valdistrikt_kod"]).head(lowest)
        elections.append(
            {
                "ar": year,
                "kommun": k["valdeltagande"] if k else None,
                "lan": l_["valdeltagande"] if l_ else None,
                "riket": se["valdeltagande"] if se else None,
                "rostberattigade": int(k["rostberattigade"]) if k else None,
                "rostande": int(k["rostande"]) if k else None,
                "antal_distrikt": own.height,
                "under_70": int((own["valdeltagande"] < 0.70).sum()) if own.height else 0,
                "lagst": [
                    {
                        "kod": r["valdistrikt_kod"],
                        "namn": r["valdistrikt_namn"],
                        "rostberattigade": int(r["rostberattigade"]),
                        "rostande": int(r["rostande"]),
                        "valdeltagande": r["valdeltagande"],
                    }
                    for r in low.iter_rows(named=True)
                ],
            }
        )
    return {"kommun_kod": kod, "val": elections, "kalla": SOURCE_NOTE, "kalla_kort": KALLA, "anmarkning": CAVEAT}


def section(kod: str, namn: str) -> dict | None:
    """Template variables for the report section (``_valdeltagande.html.j2``), texts formatted."""
    data = turnout(kod)
    if data is None:
        return None
    rows = []
    for e in data["val"]:
        rows.append(
            {
                "ar": e["ar"],
                "kommun": procent(e["kommun"]),
                "lan": procent(e["lan"]),
                "riket": procent(e["riket"]),
                "rostberattigade": tal(e["rostberattigade"]),
                "antal_distrikt": e["antal_distrikt"],
                "under_70": e["under_70"],
                "lagst": [{**d, "andel": procent(d["valdeltagande"]), "berattigade": tal(d["rostberattigade"])} for d in e["lagst"]],
            }
        )
    latest = data["val"][-1]
    lead = (
        f"I riksdagsvalet {latest['ar']} röstade {procent(latest['kommun'])} av de röstberättigade i {namn} "
        f"(riket {procent(latest['riket'])}); {data['val'][0]['ar']}: {procent(data['val'][0]['kommun'])} "
        f"(riket {procent(data['val'][0]['riket'])})."
    )
    return {**data, "namn": namn, "rows": rows, "ingress": lead}
