"""The effects layer and the metodbank: a measure registered there gives the treated areas,
their start and the outcome (`measure_design`), and an estimate is saved back as an evaluation
of the measure with the grade the metodbank's rules give it (`save`).

    md = measure_design(db, actor, 12, source.store)          # areas, start year, outcome
    design = panel.make_design(panel.build_panel(store, md.variable, "regso", per_thousand=md.per_thousand), md.treated)
    save(db, actor, 12, run.estimate(design, "did"), mde=..., high_is_bad=md.high_is_bad, datakalla=...)

The metodbank (layer 9) knows nothing of estimators: this module turns an `EffectResult` into
its evaluation and estimate records (`evaluation_record` is the plain-dict form).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from utanforskap.effects.run import EffectResult
from utanforskap.errors import InputError

DESIGNS = {
    "callaway-santanna": "skillnad-i-skillnader (förskjuten start)",
    "did2s": "skillnad-i-skillnader (två steg)",
    "syntetisk-kontroll": "syntetisk kontroll",
}
PACKAGES = {"callaway-santanna": "utanforskap", "did2s": "pyfixest", "syntetisk-kontroll": "utanforskap"}


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "okänd"


def evaluation_record(result: EffectResult, metod: str | None = None, insats: str | None = None) -> dict:
    """One evaluation: design, estimator and package version, estimate and interval, numbers of
    treated and comparison areas, pre-trend result. `metod` picks the estimator row (default: the
    primary one, Callaway-Sant'Anna when it ran). The metodbank adds the evidence grade."""
    row = next((r for r in result.rows if r["metod"] == metod), None) if metod else result.primary
    if row is None:
        raise KeyError(metod)
    pkg = PACKAGES.get(row["metod"], "utanforskap")
    p = result.design.panel

    def num(x):
        return None if x != x else float(x)

    return {
        "insats": insats,
        "design": DESIGNS.get(row["metod"], row["metod"]),
        "skattare": row["metod"],
        "paket": pkg,
        "paketversion": _version(pkg),
        "utfall": p.label,
        "niva": p.level,
        "ar": [int(p.years[0]), int(p.years[-1])],
        "jamforelse": result.design.pool,
        "skattning": num(row["skattning"]),
        "nedre_95": num(row["nedre_95"]),
        "ovre_95": num(row["ovre_95"]),
        "p_varde": num(row["p_varde"]),
        "antal_behandlade": row["antal_behandlade"],
        "antal_jamforelse": row["antal_jamforelse"],
        "fortrend_p": None if not result.pretrend else num(result.pretrend["p_varde"]),
        "placebo_i_tid_p": None if not result.placebo_time else num(result.placebo_time["p_varde"]),
        "etikett": result.label,
        "bedomning": result.verdict,
        "skapad": dt.date.today().isoformat(),
    }


# ---- a measure in the metodbank as a design ----------------------------------------------------------
@dataclass
class MeasureDesign:
    insats_id: int
    name: str
    treated: dict[str, int]  # RegSO code -> start year
    start: dt.date
    variable: str
    per_thousand: str | None
    high_is_bad: bool | None  # None: the catalogue does not say which way is good
    where: str  # how messages name the measure
    note: str  # stated in the output: where areas, start and outcome come from


def _years_with_data(store, variable: str, level: str) -> int:
    frame = store.sql(
        "SELECT count(DISTINCT period) AS n FROM observationer WHERE niva = ? AND variabel = ? "
        "AND varde IS NOT NULL AND regexp_matches(period, '^[0-9]{4}$')",
        [level, variable],
    )
    return int(frame["n"][0]) if frame.height else 0


def direction(variable: str) -> bool | None:
    """Is a high value of `variable` bad? From the catalogue's indicators (numerator or variable)."""
    from utanforskap.catalogue import load

    for ind in load().indikator.values():
        if variable in (ind.taljare, ind.variabel):
            return ind.riktning == "hogt_ar_daligt"
    return None


def outcome_for(store, problems: list[str], level: str) -> tuple[str, str | None, str] | None:
    """The first indicator of the measure's problem variables (catalogue order) whose outcome has
    at least two years on `level` in `store`: (variable, denominator, indicator name)."""
    from utanforskap.catalogue import load

    for problem in problems:
        for ind in load().indikator.values():
            if ind.faktor != problem or ind.i_paketerad_data == "saknas":
                continue
            variable = ind.taljare or ind.variabel
            if variable and _years_with_data(store, variable, level) >= 2:
                return variable, ind.namnare, ind.namn
    return None


def measure_design(db, actor, insats_id: int, store, level: str = "regso", utfall: str | None = None,
                   per_thousand: str | None = None) -> MeasureDesign:
    """The treated areas (the measure's RegSO areas), their start year (from the measure's start
    date: a date other than 1 January starts the next full year) and the outcome (`utfall`, or the
    measure's first problem variable with a series in the store). One Swedish line when the measure
    is unknown (or not readable by `actor`), has no areas or no start, or no outcome has a series."""
    from utanforskap.catalogue import FACTORS
    from utanforskap.effects.panel import start_year
    from utanforskap.metodbank import registry

    where = f"--insats {insats_id}"
    try:
        i = registry.get(db, actor, insats_id)
    except registry.NotFound as exc:
        hint = "" if actor.roll != "allmanhet" else "; ett utkast läses med --som ANVÄNDARE (granskare, eller redaktör i insatsens kommun)"
        raise registry.NotFound(f"{where}: {exc}{hint}") from None
    where = f"--insats {insats_id} ({i.namn})"
    if level != "regso":
        raise InputError(f"{where}: insatsens områden är RegSO-koder; skatta på nivå regso (ta bort --niva {level})")
    if not i.omraden:
        raise InputError(f"{where}: insatsen har inga områden (RegSO) i metodbanken; lägg till områdena på insatsens sida eller ange --behandlade FIL")
    if i.start is None:
        raise InputError(f"{where}: insatsen saknar startdatum i metodbanken; ange start (ÅÅÅÅ-MM-DD) på insatsens sida eller använd --behandlade FIL")
    start = start_year(i.start.isoformat(), where)
    treated = {o.regso_kod: start for o in i.omraden}
    problems = [p.problem for p in i.problem]
    if utfall:
        variable, per, how = utfall, per_thousand, f"utfallet {utfall} (--utfall)"
    else:
        if not problems:
            raise InputError(f"{where}: insatsen har ingen problemvariabel i metodbanken; ange --utfall VARIABEL")
        found = outcome_for(store, problems, level)
        if found is None:
            names = ", ".join(FACTORS.get(p, p) for p in problems)
            raise InputError(
                f"{where}: ingen av insatsens problemvariabler ({names}) har en årsserie (minst två år) på nivå {level} i "
                f"{store.root}; ange --utfall VARIABEL eller data med en serie (--data)"
            )
        variable, found_per, name = found
        per = per_thousand or found_per
        how = f"utfallet från problemvariabeln: {name} ({variable}{f' per 1 000 {per}' if per else ''})"
    note = (
        f"insats {insats_id} i metodbanken ({i.namn}): {len(treated)} områden (RegSO), start {i.start.isoformat()} "
        f"räknas från {start}; {how}"
    )
    return MeasureDesign(insats_id, i.namn, treated, i.start, variable, per, direction(variable), where, note)


def actor_may_save(db, actor, insats_id: int) -> None:
    """Fail early (before estimating) when `actor` may not save an evaluation of the measure."""
    from utanforskap.metodbank import registry

    registry.require_add_evaluation(actor, registry.get(db, actor, insats_id))


def limitations(result: EffectResult, row: dict) -> list[str]:
    """What the design cannot show, in Swedish, for the measure's page."""
    from utanforskap.effects.run import DESIGN_LIMIT

    out = [DESIGN_LIMIT]
    years = result.design.panel.years
    starts = result.design.start[result.design.start > 0]
    n_pre = int((years < starts.min()).sum()) if starts.size else 0
    if row["metod"] != "syntetisk-kontroll":
        out.append(
            f"Förtrenden prövas på {max(n_pre - 1, 0)} år före start utöver basåret: ett test som inte avviker "
            "visar inte att trenderna var parallella."
        )
    elif result.synth is not None:
        out.append(result.synth.note)
    if result.label:
        out.append(f"{result.label}: skattningen visar hur metoden fungerar, inte om insatsen fungerar; den räknas inte in i insatsens evidensgrad.")
    out.append("Skattningen gäller de registrerade områdena som helhet, inte enskilda deltagare i insatsen.")
    return out


def save(db, actor, insats_id: int, result: EffectResult, *, high_is_bad: bool, datakalla: str, mde: float | None = None,
         metod: str | None = None) -> tuple[int, str]:
    """Save the estimate (the primary estimator, or `metod`) as an evaluation of the measure:
    returns the evaluation's id and the grade the rules give it on its own."""
    from utanforskap.metodbank.registry import add_estimate
    from utanforskap.metodbank.rules import estimate_result, rules
    from utanforskap.metodbank.schema import validate_effektskattning, validate_utvardering

    rec = evaluation_record(result, metod, str(insats_id))
    est, lo, hi = rec["skattning"], rec["nedre_95"], rec["ovre_95"]
    if est is None:
        raise InputError(f"--insats {insats_id}: skattningen saknar värde ({rec['skattare']}); inget sparades")
    row = next(r for r in result.rows if r["metod"] == rec["skattare"])
    p = result.design.panel
    starts = result.design.start[result.design.start > 0]
    resultat = estimate_result(est, lo, hi, rec["p_varde"], rec["fortrend_p"], high_is_bad)
    evaluation = validate_utvardering({
        "design": rules().skattningar.design[rec["skattare"]],
        "utvarderare": f"utanforskap effekt ({rec['skattare']}, {rec['paket']} {rec['paketversion']})",
        "oberoende": rules().skattningar.oberoende,
        "ar": dt.date.today().year,
        "utfallsmatt": p.label[:300],
        "resultat": resultat,
        "effekt": est,
        "ki_lag": lo,
        "ki_hog": hi,
        "antal": rec["antal_behandlade"] + rec["antal_jamforelse"],
        # the outcome is seen from the first treated year through the panel's last year
        "uppfoljning_manader": int(12 * (int(p.years[-1]) - int(starts.max()) + 1)),
        "beskrivning": result.verdict[:10_000],
    }, "utvärderingen")
    estimate = validate_effektskattning({
        "skattare": rec["skattare"], "paket": rec["paket"], "paketversion": rec["paketversion"], "utfall": p.label[:300],
        "riktning": "hogt_ar_daligt" if high_is_bad else "hogt_ar_bra", "niva": p.level,
        "ar_fran": rec["ar"][0], "ar_till": rec["ar"][1], "jamforelse": rec["jamforelse"], "p_varde": rec["p_varde"],
        "antal_behandlade": rec["antal_behandlade"], "antal_jamforelse": rec["antal_jamforelse"],
        "fortrend_p": rec["fortrend_p"], "placebo_i_tid_p": rec["placebo_i_tid_p"],
        "mde": None if mde is None or not math.isfinite(mde) else mde,
        "datakalla": datakalla[:500], "etikett": result.label[:200], "begransningar": limitations(result, row),
        "bedomning": result.verdict[:10_000],
    }, "skattningen")
    return add_estimate(db, actor, insats_id, evaluation, estimate)
