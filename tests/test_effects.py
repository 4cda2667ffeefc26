"""Effekter: the estimators recover known effects, agree with the reference packages, and bad input
gives one Swedish line with nothing written."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest
from cli_helpers import cli

from utanforskap.effects import did, metodbank_hook, panel, power, run, simulate, synth
from utanforskap.errors import InputError


def staggered(n=300, effect=2.0, seed=1):
    rng = np.random.default_rng(seed)
    years = np.arange(2019, 2025)
    g = np.zeros(n, int)
    g[:30], g[30:60] = 2022, 2023
    post = (g[:, None] > 0) & (years[None] >= g[:, None])
    y = rng.normal(0, 1, n)[:, None] + rng.normal(0, 0.3, 6)[None] + rng.normal(0, 1, (n, 6)) + effect * post
    return y, g, years


def long(y, g, years):
    n, t = y.shape
    ii = np.repeat(np.arange(n), t)
    yr = np.tile(years, n)
    gg = g[ii]
    return pd.DataFrame({"unit": ii, "year": yr, "y": y.ravel(), "g": gg, "treat": ((gg > 0) & (yr >= gg)).astype(int)})


@pytest.fixture(scope="module")
def crime_panel():
    from utanforskap.observations.store import bundled_store

    return panel.build_panel(bundled_store(), "brott_urval", "regso", (2020, 2023), "befolkning")


# ---- estimators ---------------------------------------------------------------------------------
def test_cs_recovers_a_known_effect():
    y, g, years = staggered(effect=2.0)
    r = did.callaway_santanna(y, g, years, "notyet", draws=499, seed=3)
    assert r.lo < 2.0 < r.hi
    assert abs(r.att - 2.0) < 0.4
    pre = [e for e in r.event if e["e"] < -1]
    assert pre and all(e["nedre_95"] < 0.9 for e in pre)  # no effect before start


@pytest.mark.slow
def test_cs_matches_csdid():
    """Point estimates equal csdid's to 1e-9; the standard error within 15 % (both bootstrap)."""
    from csdid.att_gt import ATTgt

    y, g, years = staggered()
    df = long(y, g, years).rename(columns={"unit": "id"})
    ours = did.callaway_santanna(y, g, years, "notyet", draws=999, seed=1)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        ref = ATTgt(yname="y", gname="g", idname="id", tname="year", data=df, control_group="notyettreated").fit(est_method="dr")
        agg = ref.aggte("simple")
    assert ours.att == pytest.approx(agg.atte["overall_att"], abs=1e-9)
    assert ours.se == pytest.approx(float(np.ravel(agg.atte["overall_se"])[0]), rel=0.15)


@pytest.mark.slow  # pyfixest's first fit compiles with numba
def test_cs_and_did2s_agree():
    """Stated tolerance: on a panel with a homogeneous effect CS and pyfixest's did2s differ by less
    than 0.15 (about half a standard error) and both intervals cover the truth."""
    y, g, years = staggered(effect=1.5, seed=7)
    cs = did.callaway_santanna(y, g, years, "never", draws=499, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est, se, _ = did.did2s(long(y, g, years))
    assert abs(cs.att - est) < 0.15
    assert cs.lo < 1.5 < cs.hi and est - 1.96 * se < 1.5 < est + 1.96 * se


def test_batched_cs_equals_one_at_a_time():
    y, g, years = staggered()
    ys = np.stack([y, y + np.random.default_rng(2).normal(0, 1, y.shape)])
    att, se = did.cs_batch(ys, g, years)
    for r in range(2):
        single, _ = did.cs_batch(ys[r], g, years)
        assert att[r] == pytest.approx(single[0])


def test_leave_one_out_drops_each_area():
    y, g, years = staggered()
    g = np.where(np.arange(len(g)) < 3, 2022, 0)
    loo = did.leave_one_out(y, g, years)
    for k in range(3):
        g2 = g.copy()
        g2[k] = -1
        yy = y.copy()
        yy[k] = np.nan
        assert loo[k] == pytest.approx(did.cs_batch(yy, g2, years)[0][0])


def test_synthetic_control_matches_pysyncon():
    """Our batched weights reach the same pre-period fit as pysyncon (custom_V = ones)."""
    from pysyncon import Dataprep, Synth

    rng = np.random.default_rng(4)
    years = np.arange(2015, 2023)
    y = rng.normal(0, 1, (16, 1)) + np.cumsum(rng.normal(0, 0.5, (16, 8)), 1)
    pre = years < 2020
    df = pd.DataFrame({"unit": np.repeat([f"u{i}" for i in range(16)], 8), "year": np.tile(years, 16), "y": y.ravel()})
    dp = Dataprep(foo=df, predictors=[], predictors_op="mean", time_predictors_prior=list(years[pre]),
                  special_predictors=[("y", [int(t)], "mean") for t in years[pre]], dependent="y", unit_variable="unit",
                  time_variable="year", treatment_identifier="u0", controls_identifier=[f"u{i}" for i in range(1, 16)],
                  time_optimize_ssr=list(years[pre]))
    s = Synth()
    s.fit(dp, custom_V=np.ones(int(pre.sum())))
    ref_w = s.W.to_numpy() if hasattr(s.W, "to_numpy") else np.asarray(s.W)
    ours = synth.simplex_weights(y[:1, pre], y[1:, pre].T, np.ones((1, 15), bool), iterations=3000)[0]
    loss = lambda w: float(((y[0, pre] - w @ y[1:, pre]) ** 2).sum())  # noqa: E731
    assert abs(ours.sum() - 1) < 1e-9 and (ours >= 0).all()
    assert loss(ours) <= loss(ref_w) + 1e-4


def test_synthetic_control_finds_a_large_effect():
    rng = np.random.default_rng(5)
    years = np.arange(2015, 2023)
    y = rng.normal(0, 1, (60, 1)) + rng.normal(0, 0.3, (60, 8))
    y[0, years >= 2020] += 3.0
    start = np.zeros(60, int)
    start[0] = 2020
    res = synth.synthetic_control(y, np.array([f"a{i}" for i in range(60)]), years, start, max_donors=59)
    assert abs(res.effect - 3.0) < 0.6
    assert res.p < 0.05


def test_simulated_panel_has_the_stated_effect(crime_panel):
    s = simulate.structure(crime_panel.y, crime_panel.years)
    sc = simulate.Scenario(200, 10, (2022,), 5.0)
    y0, start = simulate.draw(s, simulate.Scenario(200, 10, (2022,), 0.0), 3, 1)
    y1, _ = simulate.draw(s, sc, 3, 1)
    diff = y1 - y0
    assert np.allclose(diff[:, :10, 2:], 5.0) and np.allclose(diff[:, 10:], 0) and np.allclose(diff[:, :, :2], 0)


# ---- panel, design and bad input -----------------------------------------------------------------
def test_crime_panel_years_and_rate(crime_panel):
    assert crime_panel.years.tolist() == [2020, 2021, 2022, 2023]  # 2019 has no DeSO codes, 2024 only Q1
    assert len(crime_panel.areas) == 3363
    assert "per 1 000" in crime_panel.label
    assert np.nanmax(crime_panel.y) > 0


def test_start_from_a_date():
    assert panel.start_year("2021-12-01", "x") == 2022
    assert panel.start_year("2022-01-01", "x") == 2022
    assert panel.start_year("2023", "x") == 2023
    with pytest.raises(InputError, match="varken ett år"):
        panel.start_year("hösten", "x")


@pytest.mark.parametrize(
    ("treated", "message"),
    [
        ({"9999R999": 2022}, "okänd regso-kod 9999R999"),
        ({"0114R001": 2030}, "utanför panelen 2020–2023"),
        ({"0114R001": 2021}, "behöver minst 2 år före start"),
    ],
)
def test_bad_treated_areas(crime_panel, treated, message):
    with pytest.raises(InputError, match=message):
        panel.make_design(crime_panel, treated)


def test_outcome_missing_for_treated(crime_panel):
    p = panel.AreaPanel(**{**crime_panel.__dict__, "y": crime_panel.y.copy()})
    p.y[0, 1] = np.nan
    with pytest.raises(InputError, match=f"saknas för det behandlade området {p.areas[0]} år 2021"):
        panel.make_design(p, {str(p.areas[0]): 2022})


def test_treated_is_the_whole_pool(crime_panel):
    k = 6
    p = panel.AreaPanel(**{**crime_panel.__dict__, "areas": crime_panel.areas[:k], "y": crime_panel.y[:k]})
    with pytest.raises(InputError, match="inga jämförelseområden kvar"):
        panel.make_design(p, {str(a): 2022 for a in p.areas})
    with pytest.raises(InputError, match="behöver minst 5"):
        panel.make_design(p, {str(a): 2022 for a in p.areas[:3]})


def test_similar_pool_is_smaller_and_stated(crime_panel):
    treated = {str(a): 2022 for a in crime_panel.areas[100:105]}
    d = panel.make_design(crime_panel, treated, "liknande")
    assert 5 <= d.n_comparison <= 50
    assert "samma områdestyp" in d.pool_note


@pytest.mark.slow
def test_run_outputs_and_hook(crime_panel, tmp_path):
    treated = {str(a): 2022 for a in crime_panel.areas[200:215]}
    d = panel.make_design(crime_panel, treated, "ej-behandlade")
    r = run.estimate(d, "eventstudie")
    assert [x["metod"] for x in r.rows] == ["callaway-santanna"]
    assert {e["metod"] for e in r.event} == {"callaway-santanna", "twfe-eventstudie"}
    assert r.pretrend and r.placebo_time and len(r.leave_one_out) == 15
    assert "kan inte" in r.verdict
    files = run.write(r, tmp_path)
    head = (tmp_path / "effekt.csv").read_text().splitlines()[0]
    assert head == "metod,skattning,nedre_95,ovre_95,p_varde,antal_behandlade,antal_jamforelse"
    assert (tmp_path / "eventstudie.csv").exists() and all(f.exists() for f in files)
    rec = metodbank_hook.evaluation_record(r)
    for key in ("design", "skattare", "paketversion", "skattning", "nedre_95", "ovre_95", "antal_behandlade",
                "antal_jamforelse", "fortrend_p"):
        assert key in rec
    assert rec["antal_behandlade"] == 15


def test_power_size_and_mde(crime_panel):
    treated = {str(a): 2022 for a in crime_panel.areas[300:320]}
    d = panel.make_design(crime_panel, treated)
    res = power.plan(d, replications=200)
    assert 0 < res.mde < 10 * res.sd_estimate
    assert res.size < 0.15
    assert "Minsta påvisbara effekt" in res.line(crime_panel.label)


# ---- the command -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_bad_input_writes_nothing(tmp_path):
    f = tmp_path / "b.csv"
    f.write_text("omrade,start\n0114R001,2021\n", encoding="utf-8")
    out = tmp_path / "ut"
    res = cli("effekt", "--behandlade", f, "--utfall", "brott_urval", "--per-tusen", "befolkning", "--ut", out)
    assert res.returncode == 2
    assert "behöver minst 2 år före start" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_cli_demo_polisen(tmp_path):
    res = cli("effekt", "--demo-polisen", "--metod", "did", "--ut", tmp_path, timeout=900)
    assert res.returncode == 0, res.stderr
    assert "DEMONSTRATION" in res.stdout and "Bedömning" in res.stdout
    rows = (tmp_path / "effekt.csv").read_text().splitlines()
    assert rows[1].startswith("callaway-santanna,") and rows[2].startswith("did2s,")
    html = (tmp_path / "effekt.html").read_text()
    assert "polisens närvaro" in html and "inte ett forskningsresultat" in html
    assert (tmp_path / "effekt.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.slow
def test_validation_coverage_small():
    """Fewer replications than bench/validate_effects.py: CS covers the injected effect 85-99 %."""
    from utanforskap.effects import validate

    s = validate.real_structure()
    row = validate.run_cs(s, simulate.Scenario(400, 20, (2022, 2023), 1.0), 100, 11)
    assert 0.85 <= row["tackning_95"] <= 0.99
    assert abs(row["bias"]) < 0.1


def test_unknown_outcome_and_level():
    from utanforskap.observations.store import bundled_store

    with pytest.raises(InputError, match="utfallet 'brott_finns_inte' finns inte på nivå regso"):
        panel.build_panel(bundled_store(), "brott_finns_inte", "regso")
    with pytest.raises(InputError, match="okänd nivå"):
        panel.build_panel(bundled_store(), "brott_urval", "kommun")
    with pytest.raises(InputError, match="ger färre än två år"):
        panel.build_panel(bundled_store(), "brott_urval", "regso", (2023, 2023))


def test_similar_pool_matches_flagged_factors(crime_panel):
    p = panel.AreaPanel(**{**crime_panel.__dict__})
    p.flags = np.arange(len(p.areas)) % 4  # four made-up flag sets
    p.flags_note = "test"
    treated = {str(a): 2022 for a in p.areas[[100, 104, 108]]}  # all with flag set 0
    d = panel.make_design(p, treated, "liknande")
    assert (d.panel.flags == 0).all()
    assert "samma flaggade faktorer (test)" in d.pool_note


@pytest.mark.slow
def test_attach_flags_from_the_map(crime_panel):
    p = panel.attach_flags(panel.AreaPanel(**{**crime_panel.__dict__}))
    assert p.flags is not None and (p.flags >= 0).mean() > 0.95
    assert p.flags.max() > 0 and p.flags_note
