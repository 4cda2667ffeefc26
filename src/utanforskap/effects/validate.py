"""Proof on known effects: run each estimator on many simulated panels with an injected effect
and report bias, RMSE and the coverage of the 95 % interval (bench/validate_effects.py prints it)."""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy import stats

from utanforskap.effects import did, simulate, synth
from utanforskap.effects.panel import settings


def real_structure(level: str = "regso") -> simulate.Structure:
    """The structure of the bundled crime panel: brott_urval per 1 000 inhabitants, 2020-2023."""
    from utanforskap.effects.panel import build_panel
    from utanforskap.observations.store import bundled_store

    p = build_panel(bundled_store(), "brott_urval", level, (2020, 2023), "befolkning")
    return simulate.structure(p.y, p.years)


def summary(name: str, est: np.ndarray, lo: np.ndarray | None, hi: np.ndarray | None, p: np.ndarray, truth: float,
            seconds: float) -> dict:
    est = np.asarray(est, float)
    ok = np.isfinite(est)
    out = {
        "skattare": name,
        "replikeringar": int(ok.sum()),
        "sant_varde": truth,
        "bias": float(np.mean(est[ok]) - truth),
        "rmse": float(np.sqrt(np.mean((est[ok] - truth) ** 2))),
        "tackning_95": float(np.mean((lo[ok] <= truth) & (truth <= hi[ok]))) if lo is not None and hi is not None else float("nan"),
        "forkastar_5": float(np.mean(np.asarray(p)[ok] < 0.05)),
        "sekunder": seconds,
    }
    return out


def run_cs(s: simulate.Structure, sc: simulate.Scenario, reps: int, seed: int) -> dict:
    t0 = time.perf_counter()
    y, start = simulate.draw(s, sc, reps, seed)
    cells = did.cs_cells(y, start, s.years, "never")
    att, psi = did.simple_att(cells, start)
    se, _ = did.bootstrap_se(psi, settings().inferens.bootstrap, seed)
    p = 2 * stats.norm.sf(np.abs(att / se))
    return summary("callaway-santanna (bootstrap)", att, att - did.Z95 * se, att + did.Z95 * se, p, sc.effect,
                   time.perf_counter() - t0)


def run_did2s(s: simulate.Structure, sc: simulate.Scenario, reps: int, seed: int) -> dict:
    import pandas as pd

    t0 = time.perf_counter()
    y, start = simulate.draw(s, sc, reps, seed)
    n, t = y.shape[1:]
    ii = np.repeat(np.arange(n), t)
    years = np.tile(s.years, n)
    g = start[ii]
    base = pd.DataFrame({"unit": ii, "year": years, "treat": ((g > 0) & (years >= g)).astype(int)})
    est, se, p = np.full(reps, np.nan), np.full(reps, np.nan), np.full(reps, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(reps):  # pyfixest fits one panel per call
            df = base.assign(y=y[r].ravel())
            est[r], se[r], p[r] = did.did2s(df)
    return summary("did2s (pyfixest)", est, est - did.Z95 * se, est + did.Z95 * se, p, sc.effect, time.perf_counter() - t0)


def run_synth(s: simulate.Structure, sc: simulate.Scenario, reps: int, seed: int, max_donors: int = 100,
              iterations: int = 200) -> dict:
    t0 = time.perf_counter()
    y, start = simulate.draw(s, sc, reps, seed)
    areas = np.array([f"a{i}" for i in range(sc.n_areas)])
    est, p = np.full(reps, np.nan), np.full(reps, np.nan)
    rules = settings().syntetisk_kontroll
    for r in range(reps):
        res = synth.synthetic_control(y[r], areas, s.years, start, max_donors, rules.placebo_dragningar,
                                      iterations, seed + r)
        est[r], p[r] = res.effect, res.p
    return summary("syntetisk kontroll (placebo i rummet)", est, None, None, p, sc.effect, time.perf_counter() - t0)
