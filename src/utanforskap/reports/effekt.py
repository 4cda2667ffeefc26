"""The effect report (HTML and PDF): estimates, the event-study chart, the synthetic control
chart and its placebo distribution, and what the design can and cannot show."""

from __future__ import annotations

import html as _html

import numpy as np
from matplotlib.ticker import FuncFormatter

from utanforskap.effects.run import EffectResult
from utanforskap.formatting import format_number
from utanforskap.reports.api import html_to_pdf as _html_to_pdf
from utanforskap.reports.figures import KOMMUN, LISTED, NOTE, OTHER, data_uri, new_figure, png, styled, sv

__all__ = ["event_chart", "html_to_pdf", "render_html", "synth_chart"]

_SV = FuncFormatter(lambda v, _pos: sv(v, 1))
_NAMES = {
    "callaway-santanna": "Callaway–Sant'Anna",
    "did2s": "did2s (Gardner)",
    "twfe-eventstudie": "Eventstudie (TWFE)",
    "syntetisk-kontroll": "Syntetisk kontroll",
}


@styled
def event_chart(r: EffectResult) -> bytes | None:
    if not r.event:
        return None
    fig = new_figure(6.4, 3.0)
    ax = fig.add_axes((0.1, 0.18, 0.86, 0.72))
    styles = {"callaway-santanna": (KOMMUN, "o", -0.08), "twfe-eventstudie": (OTHER, "s", 0.08)}
    for name, (colour, marker, shift) in styles.items():
        rows = [e for e in r.event if e["metod"] == name]
        if not rows:
            continue
        e = np.array([x["e"] for x in rows], float) + shift
        est = np.array([x["skattning"] for x in rows])
        lo = np.array([x["nedre_95"] for x in rows])
        hi = np.array([x["ovre_95"] for x in rows])
        ax.errorbar(e, est, yerr=[est - lo, hi - est], fmt=marker, color=colour, capsize=3, label=_NAMES[name])
    ax.axhline(0, color=NOTE, lw=0.8)
    ax.axvline(-0.5, color=LISTED, lw=0.8, ls="--")
    ax.set_xlabel("år i förhållande till start (0 = första året med insatsen; −1 = basår)")
    ax.set_title(f"Eventstudie: {r.design.panel.variable}" + (" per 1 000" if "per 1 000" in r.design.panel.label else ""))
    ax.set_ylabel("effekt")
    ax.yaxis.set_major_formatter(_SV)
    ax.xaxis.set_major_locator(__import__("matplotlib").ticker.MaxNLocator(integer=True))
    ax.legend(loc="lower left")
    return png(fig)


@styled
def synth_chart(r: EffectResult) -> bytes | None:
    if not r.synth or not r.synth.units:
        return None
    years = r.design.panel.years
    fig = new_figure(6.4, 2.8)
    ax = fig.add_axes((0.08, 0.17, 0.52, 0.72))
    idx = r.design.panel.index()
    if len(r.synth.units) == 1:
        u = r.synth.units[0]
        ax.plot(years, r.design.panel.y[idx[u.area]], color=LISTED, marker="o", label=f"behandlat ({u.area})")
        ax.plot(years, u.synthetic, color=KOMMUN, marker="s", ls="--", label="syntetisk kontroll")
        ax.axvline(u.start - 0.5, color=NOTE, lw=0.8, ls=":")
        ax.set_xlabel("år")
    else:
        # mean by year relative to start
        rel: dict[int, list[tuple[float, float]]] = {}
        for u in r.synth.units:
            y1 = r.design.panel.y[idx[u.area]]
            for t, a, b in zip(years - u.start, y1, u.synthetic, strict=True):
                rel.setdefault(int(t), []).append((a, b))
        es = sorted(rel)
        ax.plot(es, [np.mean([a for a, _ in rel[e]]) for e in es], color=LISTED, marker="o", label="behandlade (medel)")
        ax.plot(es, [np.mean([b for _, b in rel[e]]) for e in es], color=KOMMUN, marker="s", ls="--", label="syntetiska (medel)")
        ax.axvline(-0.5, color=NOTE, lw=0.8, ls=":")
        ax.set_xlabel("år i förhållande till start")
    ax.set_title("Syntetisk kontroll")
    ax.yaxis.set_major_formatter(_SV)
    ax.xaxis.set_major_locator(__import__("matplotlib").ticker.MaxNLocator(integer=True))
    ax.legend(loc="best")
    ax2 = fig.add_axes((0.68, 0.17, 0.3, 0.72))
    ax2.hist(r.synth.placebo_means, bins=30, color=OTHER)
    ax2.axvline(r.synth.effect, color=LISTED, lw=1.5)
    ax2.set_title("Placebofördelning")
    ax2.set_xlabel("effekt")
    ax2.xaxis.set_major_formatter(_SV)
    return png(fig)


def html_to_pdf(html: str) -> bytes:
    """The project's WeasyPrint rendering, with its progress messages kept quiet (csdid's
    dependencies configure the root logger at INFO)."""
    import logging

    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return _html_to_pdf(html)


def _n(x, d=2) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return sv(x, d)


def render_html(r: EffectResult) -> str:
    e = _html.escape
    p = r.design.panel
    rows = "".join(
        f"<tr><td>{e(_NAMES.get(x['metod'], x['metod']))}</td><td>{_n(x['skattning'])}</td>"
        f"<td>{_n(x['nedre_95'])} – {_n(x['ovre_95'])}</td><td>{_n(x['p_varde'], 3)}</td>"
        f"<td>{format_number(x['antal_behandlade'])}</td><td>{format_number(x['antal_jamforelse'])}</td></tr>"
        for x in r.rows
    )
    charts = ""
    for title, img in (("Eventstudie", event_chart(r)), ("Syntetisk kontroll", synth_chart(r))):
        if img:
            charts += f'<figure><img alt="{e(title)}" src="{data_uri(img)}"></figure>'
    checks = []
    if r.pretrend:
        checks.append(f"Förtrendstest: p = {_n(r.pretrend['p_varde'], 3)} ({r.pretrend['frihetsgrader']} frihetsgrad(er); {e(r.pretrend['test'])}).")
    if r.placebo_time:
        checks.append(
            f"Placebo i tid ({e(r.placebo_time['beskrivning'])}): {_n(r.placebo_time['skattning'])}, p = {_n(r.placebo_time['p_varde'], 3)}."
        )
    if r.leave_one_out:
        vals = [x["skattning"] for x in r.leave_one_out]
        checks.append(f"Ett område i taget utelämnat ({len(vals)} körningar): {_n(min(vals))} till {_n(max(vals))}.")
    if r.synth:
        top = []
        for u in r.synth.units[:5]:
            w = ", ".join(f"{e(k)} {sv(v * 100, 0)} %" for k, v in list(u.weights.items())[:5])
            top.append(f"<li>{e(u.area)} (start {u.start}): effekt {_n(u.effect)}, RMSPE före {_n(u.pre_rmspe)}, "
                       f"placebo-p {_n(u.p, 3)}; vikter: {w}</li>")
        checks.append("Syntetisk kontroll, per behandlat område (högst fem visas):<ul>" + "".join(top) + "</ul>")
    notes = "".join(f"<li>{e(n)}</li>" for n in r.notes if n)
    label = f'<p class="etikett">{e(r.label)}</p>' if r.label else ""
    years = f"{p.years[0]}–{p.years[-1]}"
    return f"""<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Effekt: {e(p.label)}</title>
<style>
body{{font-family:"DejaVu Sans",sans-serif;font-size:10pt;max-width:52rem;margin:1.5rem auto;color:#1a1a1a}}
h1{{font-size:15pt}} table{{border-collapse:collapse;width:100%}} td,th{{border-bottom:1px solid #ccc;padding:3px 6px;text-align:right}}
td:first-child,th:first-child{{text-align:left}} .etikett{{background:#fff3cd;border:1px solid #b35900;padding:6px;font-weight:bold}}
.bedomning{{border-left:4px solid #1f4e79;padding-left:8px}} figure{{margin:0.8rem 0}} img{{max-width:100%}}
@page{{size:A4;margin:1.6cm}}
</style></head><body>
<h1>Effekt på {e(p.label)}</h1>
{label}
<p>Nivå: {e(p.level)}, år {years}. {e(r.design.pool_note[:1].upper() + r.design.pool_note[1:])}.</p>
<p class="bedomning"><strong>Bedömning:</strong> {e(r.verdict)}</p>
<table><thead><tr><th>Metod</th><th>Skattning</th><th>95 % intervall</th><th>p-värde</th><th>Behandlade</th><th>Jämförelse</th></tr></thead>
<tbody>{rows}</tbody></table>
{charts}
<h2>Kontroller</h2><ul>{"".join(f"<li>{c}</li>" for c in checks)}</ul>
<h2>Att tänka på</h2><ul>{notes}</ul>
<p style="font-size:8pt">Källa: {e(p.source)}. Skattningar: utanforskap (Callaway–Sant'Anna i numpy, did2s och eventstudie via pyfixest,
syntetisk kontroll med placebo i rummet). Syntetisk kontroll har inget konfidensintervall här; p-värdet kommer från placebofördelningen.</p>
</body></html>"""
