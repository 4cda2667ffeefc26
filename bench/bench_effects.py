"""Effekter speed: Callaway-Sant'Anna on 3 363 RegSO x 6 years with 999 bootstrap draws (target
< 10 s), against csdid on the same panel; synthetic control for one treated area with placebo runs
over the 200 most similar donors (target < 60 s), against pysyncon fitting the treated area alone
(one fit of the 201 the placebo test needs; the ratio compares one pysyncon fit x 201); and the
200-replication validation of Callaway-Sant'Anna (target < 5 min).

The panel is drawn from the bundled crime panel's structure (brott_urval per 1 000 inhabitants,
RegSO): real area effects and residual rows, six years (the real panel has four with data).
"""

from __future__ import annotations

import contextlib
import io
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from common import report, timed  # noqa: E402

from utanforskap.effects import did, synth, validate  # noqa: E402

warnings.filterwarnings("ignore")
s = validate.real_structure()
rng = np.random.default_rng(1)
years = np.arange(2019, 2025)
n = len(s.area)
cols = rng.integers(0, s.resid.shape[1], 6)
y = s.area[:, None] + s.resid[rng.permutation(n)][:, cols] + rng.normal(0, 0.2, 6)[None]
start = np.zeros(n, int)
start[rng.choice(n, 60, replace=False)] = np.repeat([2021, 2022, 2023], 20)
y = y + 1.0 * ((start[:, None] > 0) & (years[None] >= start[:, None]))

ours = timed(lambda: did.callaway_santanna(y, start, years, "notyet", draws=999, seed=1), repeat=3)


def run_csdid():
    from csdid.att_gt import ATTgt

    df = pd.DataFrame({"id": np.repeat(np.arange(n), 6), "year": np.tile(years, n), "g": np.repeat(start, 6), "y": y.ravel()})
    with contextlib.redirect_stdout(io.StringIO()):
        ATTgt(yname="y", gname="g", idname="id", tname="year", data=df, control_group="notyettreated").fit(est_method="dr").aggte("simple")


base = timed(run_csdid, repeat=1, warmup=0)
report("effects_cs_regso_6ar_999_bootstrap_seconds", ours, "s", base)

# synthetic control: one treated area, 200 donors, 200 placebo runs (batched)
areas = np.array([f"a{i}" for i in range(n)])
pool = np.flatnonzero(start == 0)
sc = timed(lambda: synth.fit_unit(y, areas, years, int(np.flatnonzero(start == 2022)[0]), 2022, pool, 200, 400), repeat=3)


def run_pysyncon():
    from pysyncon import Dataprep, Synth

    i = int(np.flatnonzero(start == 2022)[0])
    pre = years < 2022
    dist = np.sqrt(((y[pool][:, pre] - y[i, pre]) ** 2).mean(1))
    donors = pool[np.argsort(dist)[:200]]
    units = np.r_[i, donors]
    df = pd.DataFrame({"unit": np.repeat(areas[units], 6), "year": np.tile(years, len(units)), "y": y[units].ravel()})
    dp = Dataprep(foo=df, predictors=[], predictors_op="mean", time_predictors_prior=list(years[pre]),
                  special_predictors=[("y", [int(t)], "mean") for t in years[pre]], dependent="y", unit_variable="unit",
                  time_variable="year", treatment_identifier=areas[i], controls_identifier=list(areas[donors]),
                  time_optimize_ssr=list(years[pre]))
    Synth().fit(dp, custom_V=np.ones(int(pre.sum())))


one = timed(run_pysyncon, repeat=1, warmup=0)
report("effects_synth_1_behandlat_200_givare_placebo_seconds", sc, "s", one * 201)

# the 200-replication validation of one estimator (target < 5 min): Callaway-Sant'Anna, all at once
from utanforskap.effects import simulate  # noqa: E402

scenario = simulate.Scenario(400, 20, (2022, 2023), 1.0)
val = timed(lambda: validate.run_cs(s, scenario, 200, 20261202), repeat=3)
report("effects_validering_cs_200_replikeringar_seconds", val, "s")
