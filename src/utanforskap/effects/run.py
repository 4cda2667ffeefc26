"""Run the estimators on a design and write what they show (effekt.csv, eventstudie.csv, ...).

    result = estimate(design, "alla")
    write(result, Path("ut"))          # atomic: every file whole, or nothing on failure
"""

from __future__ import annotations

import csv
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from utanforskap.atomic import atomic_dir
from utanforskap.effects import did, synth
from utanforskap.effects.panel import Design, settings
from utanforskap.errors import InputError

METHODS = ("did", "eventstudie", "syntetisk-kontroll", "alla")
CSV_COLUMNS = ("metod", "skattning", "nedre_95", "ovre_95", "p_varde", "antal_behandlade", "antal_jamforelse")


@dataclass
class EffectResult:
    design: Design
    method: str
    rows: list[dict] = field(default_factory=list)  # effekt.csv
    event: list[dict] = field(default_factory=list)  # eventstudie.csv (CS and TWFE)
    pretrend: dict | None = None
    placebo_time: dict | None = None
    leave_one_out: list[dict] = field(default_factory=list)
    synth: synth.SynthResult | None = None
    notes: list[str] = field(default_factory=list)
    verdict: str = ""
    label: str = ""  # e.g. "DEMONSTRATION av metoden på verkliga data – inte ett resultat"

    @property
    def primary(self) -> dict | None:
        return next((r for r in self.rows if r["metod"].startswith("callaway")), self.rows[0] if self.rows else None)


def estimate(design: Design, method: str = "alla") -> EffectResult:
    """Every estimator `method` asks for, with the pre-trend, placebo-in-time and leave-one-out checks."""
    if method not in METHODS:
        raise InputError(f"okänd metod {method!r}; välj {', '.join(METHODS)}")
    rules = settings()
    p = design.panel
    control = "notyet" if design.pool == "ej-annu-behandlade" else "never"
    out = EffectResult(design, method)
    out.notes.append(design.pool_note)
    nt, nc = design.n_treated, design.n_comparison
    if method in ("did", "eventstudie", "alla"):
        cs = did.callaway_santanna(p.y, design.start, p.years, control, rules.inferens.bootstrap, rules.inferens.seed)
        out.rows.append(_row("callaway-santanna", cs.att, cs.lo, cs.hi, cs.p, nt, nc))
        out.event += [{"metod": "callaway-santanna", **e} for e in cs.event]
        if cs.pretrend_df:
            out.pretrend = {"p_varde": cs.pretrend_p, "frihetsgrader": cs.pretrend_df, "test": "Wald, samtliga år före start utom basåret"}
        placebo = did.placebo_in_time(p.y, design.start, p.years, control)
        if placebo:
            a, s, pv = placebo
            out.placebo_time = {"skattning": a, "se": s, "p_varde": pv, "beskrivning": "start ett år tidigare, bara år före verklig start"}
        if 1 < nt <= rules.krav.loo_max_behandlade:
            loo = did.leave_one_out(p.y, design.start, p.years, control)
            codes = p.areas[design.start > 0]
            out.leave_one_out = [{"utelamnat": str(c), "skattning": float(v)} for c, v in zip(codes, loo, strict=True)]
        df = design.long()
        df = df[~np.isnan(df["y"].to_numpy())]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method in ("did", "alla"):
                a, s, pv = did.did2s(df)
                out.rows.append(_row("did2s", a, a - did.Z95 * s, a + did.Z95 * s, pv, nt, nc))
            if method in ("eventstudie", "alla"):
                out.event += [{"metod": "twfe-eventstudie", **e} for e in did.event_study_twfe(df)]
    if method in ("syntetisk-kontroll", "alla"):
        sc = rules.syntetisk_kontroll
        res = synth.synthetic_control(p.y, p.areas, p.years, design.start, sc.max_givare, sc.placebo_dragningar,
                                      sc.iterationer, rules.inferens.seed)
        out.synth = res
        out.rows.append(_row("syntetisk-kontroll", res.effect, np.nan, np.nan, res.p, nt, res.n_donors))
        out.notes.append(res.note)
    out.verdict = verdict(out)
    return out


def _row(name, est, lo, hi, p, nt, nc) -> dict:
    return {"metod": name, "skattning": float(est), "nedre_95": float(lo), "ovre_95": float(hi), "p_varde": float(p),
            "antal_behandlade": int(nt), "antal_jamforelse": int(nc)}


def _num(x: float, d: int = 2) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{d}f}".replace(".", ",").replace("-", "−")


DESIGN_LIMIT = (
    "Designen visar skillnaden i utveckling mot jämförelseområdena; den visar orsak bara om områdena annars "
    "hade utvecklats parallellt, och den kan inte skilja insatsen från annat som hände samtidigt i just de områdena."
)


def verdict(r: EffectResult) -> str:
    """One Swedish paragraph: what the design shows and what it cannot show."""
    d = r.design
    parts = []
    main = r.primary
    if main and main["metod"] != "syntetisk-kontroll":
        covers = main["nedre_95"] <= 0 <= main["ovre_95"]
        parts.append(
            f"Skattad effekt ({main['metod']}) {_num(main['skattning'])} på {d.panel.label} "
            f"(95 %: {_num(main['nedre_95'])} till {_num(main['ovre_95'])}), {d.n_treated} behandlade mot {d.n_comparison} jämförelseområden: "
            + ("intervallet rymmer noll – ingen effekt kan påvisas, men en effekt av intervallets storlek kan inte heller uteslutas."
               if covers else "intervallet utesluter noll.")
        )
    elif r.synth:
        parts.append(f"Syntetisk kontroll: medeleffekt {_num(r.synth.effect)}, placebo-p {_num(r.synth.p, 3)}.")
    sig = {x["metod"]: x["p_varde"] < 0.05 for x in r.rows if np.isfinite(x["p_varde"])}
    if len(set(sig.values())) > 1:
        yes = ", ".join(k for k, v in sig.items() if v)
        no = ", ".join(k for k, v in sig.items() if not v)
        parts.append(f"Skattarna är oeniga: {yes} utesluter noll, {no} gör det inte – resultatet är osäkert.")
    if r.pretrend:
        ok = r.pretrend["p_varde"] >= 0.05
        parts.append(
            f"Förtrenden (p = {_num(r.pretrend['p_varde'], 3)}) "
            + ("avviker inte påvisbart, men med få år före start är testet svagt." if ok
               else "avviker: områdena utvecklades olika redan före start, och skattningen kan spegla det.")
        )
    else:
        parts.append("Förtrenden kan inte prövas: det finns inget år före start utöver basåret.")
    if r.placebo_time and r.placebo_time["p_varde"] < 0.05:
        parts.append("Placebo i tid ger en 'effekt' före start: designen fångar skillnader som inte beror på insatsen.")
    if r.leave_one_out:
        vals = [x["skattning"] for x in r.leave_one_out]
        parts.append(f"Utan ett område i taget: {_num(min(vals))} till {_num(max(vals))}.")
    parts.append(DESIGN_LIMIT)
    return " ".join(parts)


def _csv(rows: list[dict], columns) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: ("" if isinstance(v, float) and not np.isfinite(v) else (round(v, 6) if isinstance(v, float) else v))
                    for k, v in row.items()})
    return buf.getvalue()


def write(r: EffectResult, directory: str | os.PathLike[str], extra: dict[str, bytes] | None = None) -> list[Path]:
    """effekt.csv, eventstudie.csv, syntetisk_*.csv, sammanfattning.json and the `extra` files
    (e.g. the report from utanforskap.reports.effekt). Atomic: on failure nothing is written."""
    directory = Path(directory)
    names = []
    with atomic_dir(directory) as tmp:
        (tmp / "effekt.csv").write_text(_csv(r.rows, CSV_COLUMNS), encoding="utf-8")
        names.append("effekt.csv")
        if r.event:
            cols = ("metod", "e", "skattning", "se", "nedre_95", "ovre_95", "nedre_band", "ovre_band")
            (tmp / "eventstudie.csv").write_text(_csv(r.event, cols), encoding="utf-8")
            names.append("eventstudie.csv")
        if r.synth:
            weights = [{"behandlat": u.area, "givare": k, "vikt": v} for u in r.synth.units for k, v in u.weights.items()]
            (tmp / "syntetisk_vikter.csv").write_text(_csv(weights, ("behandlat", "givare", "vikt")), encoding="utf-8")
            placebo = [{"dragning": i, "effekt": float(v)} for i, v in enumerate(r.synth.placebo_means)]
            (tmp / "syntetisk_placebo.csv").write_text(_csv(placebo, ("dragning", "effekt")), encoding="utf-8")
            fit = [{"behandlat": u.area, "start": u.start, "effekt": u.effect, "rmspe_fore": u.pre_rmspe, "kvot": u.ratio,
                    "p_varde": u.p, "givare": u.n_donors} for u in r.synth.units]
            (tmp / "syntetisk_anpassning.csv").write_text(
                _csv(fit, ("behandlat", "start", "effekt", "rmspe_fore", "kvot", "p_varde", "givare")), encoding="utf-8")
            names += ["syntetisk_vikter.csv", "syntetisk_placebo.csv", "syntetisk_anpassning.csv"]
        summary = {
            "etikett": r.label,
            "utfall": r.design.panel.label,
            "niva": r.design.panel.level,
            "ar": [int(y) for y in r.design.panel.years],
            "jamforelse": r.design.pool,
            "effekter": r.rows,
            "fortrend": r.pretrend,
            "placebo_i_tid": r.placebo_time,
            "utan_ett_omrade": r.leave_one_out,
            "noter": r.notes,
            "bedomning": r.verdict,
        }
        (tmp / "sammanfattning.json").write_text(json.dumps(_clean(summary), ensure_ascii=False, indent=2), encoding="utf-8")
        names.append("sammanfattning.json")
        for name, data in (extra or {}).items():
            (tmp / name).write_bytes(data)
            names.append(name)
    return [directory / n for n in names]


def _clean(x):
    if isinstance(x, float):
        return None if not np.isfinite(x) else x
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_clean(v) for v in x]
    return x
