"""utanforskap robusthet: Monte Carlo vectorised over draws, checked against the engine."""

import json
import math
import warnings

import numpy as np
import polars as pl
import pytest
from cli_helpers import cli
from conftest import TEST_DATA
from polars.testing import assert_frame_equal

from utanforskap.errors import InputError
from utanforskap.robustness import draws as dr
from utanforskap.robustness import montecarlo as mc
from utanforskap.robustness import sensitivity as se

SPECS = TEST_DATA / "robusthet"


@pytest.fixture(scope="module")
def five():
    """se-oppna-data-2022 with its own spec: ±5 % on each multiple."""
    return mc.prepare()


@pytest.fixture(scope="module")
def everything():
    return mc.prepare(spec_path=SPECS / "allt.toml")


def test_no_uncertainty_gives_todays_list_with_probabilities_0_or_1():
    setup = mc.prepare(spec_path=SPECS / "inget.toml")
    run = mc.simulate(setup, draws=50, seed=3)
    a = run.areas
    assert set(a["sannolikhet_listad"].unique().to_list()) == {0.0, 1.0}
    assert (a["sannolikhet_listad"] == a["listad"].cast(pl.Float64)).all()
    top = (a["klass"] == "särskilt stor").fill_null(False).cast(pl.Float64)
    assert (a["sannolikhet_hogsta_klass"] == top).all()
    assert set(a["etikett"].unique().to_list()) == {"säkert listad", "säkert ej listad"}
    today = setup.result.listed
    d = run.per_draw
    assert d["antal_omraden"].unique().to_list() == [today.height] == [184]
    assert d["antal_kommuner"].unique().to_list() == [today["kommun_kod"].n_unique()]
    assert d["invanare"].unique().to_list() == [today["befolkning"].sum()]
    assert d["barn"].unique().to_list() == [today["barn"].sum()]
    # Every factor's flag probability is today's flag.
    flags = setup.result.areas.select("regso_kod", "flagga_kriminalitet")
    joined = a.join(flags, on="regso_kod")
    assert (joined["sannolikhet_flagga_kriminalitet"] == joined["flagga_kriminalitet"].cast(pl.Float64).fill_null(0.0)).all()


def test_same_seed_same_draws_other_seed_other_draws(five):
    a = mc.simulate(five, draws=300, seed=11)
    b = mc.simulate(five, draws=300, seed=11)
    c = mc.simulate(five, draws=300, seed=12)
    assert a.per_draw.equals(b.per_draw) and a.areas.equals(b.areas)
    assert not a.per_draw.equals(c.per_draw)


def test_blocks_do_not_change_the_result(five):
    a = mc.simulate(five, draws=250, seed=5, block=1000)
    b = mc.simulate(five, draws=250, seed=5, block=64)
    assert a.per_draw.equals(b.per_draw)
    assert_frame_equal(a.areas, b.areas, check_exact=False, rel_tol=1e-9)


def test_every_draw_keeps_its_parameters(five):
    run = mc.simulate(five, draws=400, seed=1)
    d = run.per_draw
    for name, p in five.result.method.method.parametrar.items():
        if name.startswith("multipel_"):
            assert d[name].min() >= p.varde * 0.95 - 1e-12 and d[name].max() <= p.varde * 1.05 + 1e-12
        else:
            assert name not in d.columns
    assert d.height == 400 and d["dragning"].to_list() == list(range(1, 401))


def test_vectorised_equals_the_engine_draw_for_draw_with_every_kind_of_uncertainty(everything):
    """Parameters (uniform, normal, discrete k), an alternative measure and noise in three
    inputs: the vectorised block and one engine run per draw list the same areas."""
    setup = everything
    assert [d.name for d in setup.dims] == ["multipel_brott", "multipel_lag_ekonomisk_standard", "flaggor_stor", "invanare_per_lagenhet.namnare"]
    draws = dr.sample(setup.dims, 24, np.random.default_rng(3))
    assert set(draws.column("flaggor_stor")) == {3.0, 4.0}
    assert set(draws.column("invanare_per_lagenhet.namnare")) == {0.0, 1.0}
    noise = setup.compiled.noise(24, np.random.default_rng(4))
    vec = mc.listed_matrix(setup, mc.evaluate_block(setup, draws, noise), 24)
    eng = mc.engine_per_draw(setup, draws, noise)
    assert vec.sum() > 0
    assert np.array_equal(vec, eng)


@pytest.mark.slow
def test_five_percent_agrees_with_a_plain_engine_rerun_within_monte_carlo_error(five):
    """The Done-when check: ±5 % on each multiple, figures from the vectorised Monte Carlo
    against an independent run of the engine once per draw (other seed)."""
    run = mc.simulate(five, draws=4000, seed=1)
    n = 150
    draws = dr.sample(five.dims, n, np.random.default_rng(99))
    eng = mc.engine_per_draw(five, draws)
    size_v = run.per_draw["antal_omraden"].to_numpy().astype(float)
    size_e = eng.sum(axis=1).astype(float)
    se_mean = math.sqrt(size_v.var() / size_v.size + size_e.var() / n)
    assert abs(size_v.mean() - size_e.mean()) < 4 * se_mean
    p_v = run.areas["sannolikhet_listad"].to_numpy()
    p_e = eng.mean(axis=0)
    bound = 5 * np.sqrt(p_v * (1 - p_v) / n + p_v * (1 - p_v) / 4000) + 2.0 / n
    assert np.all(np.abs(p_v - p_e) <= bound)
    # The figures the README states, measured with the engine: areas never moved are the same.
    assert set(np.flatnonzero(p_e == 1.0)) >= set(np.flatnonzero(p_v == 1.0))


def test_margins_in_standard_errors(five):
    """With a uniform ±5 % threshold, an area flagged in some draws but not all lies inside
    the range: at most sqrt(3) standard deviations from the threshold at its own value."""
    run = mc.simulate(five, draws=2000, seed=2)
    a = run.areas
    for f in five.factors:
        p, z = a[f"sannolikhet_flagga_{f.id}"], a[f"marginal_{f.id}"]
        between = a.filter(p.is_between(0.0, 1.0, closed="none") & z.is_not_null())
        assert between.height > 0
        assert (between[f"marginal_{f.id}"].abs() <= math.sqrt(3) * 1.05).all()  # sd of 2 000 draws
        sure = a.filter((p == 1.0) & z.is_not_null())
        assert (sure[f"marginal_{f.id}"] > 0).all()
    assert (a["flaggor_p05"] <= a["flaggor_p95"]).all()
    assert a["narmaste_troskel"].null_count() == 0


def test_sobol_per_area_estimator_matches_salib(five):
    from SALib.analyze import sobol
    from SALib.sample import sobol as sample

    d = len(five.dims)
    problem = {"num_vars": d, "names": [x.name for x in five.dims], "bounds": [[0.0, 1.0]] * d}
    unit = sample.sample(problem, 256, calc_second_order=False, seed=4)
    listed = se.listed_for(five, dr.from_unit(five.dims, unit))
    size = listed.sum(axis=1).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si = sobol.analyze(problem, size, calc_second_order=False, seed=4)
    s1, st = se.sobol_indices(np.column_stack([size, listed[:, :50]]), d)
    assert np.allclose(s1[:, 0], si["S1"]) and np.allclose(st[:, 0], si["ST"])
    # Per area, the same estimator column by column (an area never changing: zeros).
    for col in range(1, 51):  # a handful of areas, checked one by one against SALib
        y = listed[:, col - 1].astype(float)
        if np.ptp(y) == 0:
            assert not s1[:, col].any() and not st[:, col].any()
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = sobol.analyze(problem, y, calc_second_order=False, seed=4)
        assert np.allclose(st[:, col], ref["ST"])


@pytest.mark.slow
def test_sensitivity_table_and_binding_parameter(five):
    sens = se.analyse(five, base_samples=256, seed=1)
    t = sens.table
    assert t.height == 5 and t["rang"].to_list() == [1, 2, 3, 4, 5]
    assert t["sobol_total"].to_list() == sorted(t["sobol_total"].to_list(), reverse=True)
    assert t["parameter"][0] == "multipel_invanare_per_lagenhet"
    # OAT: the range of each sweep contains today's list; areas that flip in a sweep are bound.
    assert (t["oat_min_omraden"] <= 184).all() and (t["oat_max_omraden"] >= 184).all()
    bound = sens.binding.filter(pl.col("bindande_parameter").is_not_null())
    assert bound.height == t["omraden_bundna"].sum() > 0
    run = mc.simulate(five, draws=1000, seed=1)
    sure = run.areas.filter(pl.col("sannolikhet_listad").is_in([0.0, 1.0]))
    unbound = sens.binding.filter(pl.col("bindande_parameter").is_null())["regso_kod"]
    assert sure["regso_kod"].is_in(unbound.implode()).mean() > 0.99


def test_sensitivity_needs_something_uncertain():
    setup = mc.prepare(spec_path=SPECS / "inget.toml")
    with pytest.raises(InputError, match="ingen parameter"):
        se.analyse(setup, 64)


@pytest.mark.slow
def test_cli_writes_every_table(tmp_path):
    out = tmp_path / "r"
    res = cli("robusthet", "--dragningar", "300", "--seed", "4", "--sobol", "64", "--ut", out)
    assert res.returncode == 0, res.stderr
    assert "Listans storlek" in res.stdout and "Säkert listade" in res.stdout
    areas = pl.read_csv(out / "omraden.csv", schema_overrides={"regso_kod": pl.String, "kommun_kod": pl.String})
    for col in ("regso_kod", "sannolikhet_listad", "sannolikhet_hogsta_klass", "flaggor_p05", "flaggor_p95", "etikett",
                "sannolikhet_flagga_kriminalitet", "marginal_kriminalitet", "bindande_parameter"):
        assert col in areas.columns
    assert areas.height == 3363
    lista = pl.read_csv(out / "lista.csv")
    assert lista.columns[:6] == ["dragning", "antal_omraden", "antal_hogsta_klass", "antal_kommuner", "invanare", "barn"]
    assert "multipel_brott" in lista.columns and lista.height == 300
    assert pl.read_csv(out / "kanslighet.csv").height == 5
    summary = json.loads((out / "sammanfattning.json").read_text(encoding="utf-8"))
    assert summary["dragningar"] == 300 and summary["listade_idag"] == 184


@pytest.mark.slow
def test_cli_unknown_parameter_is_one_swedish_line(tmp_path):
    spec = tmp_path / "o.toml"
    spec.write_text('[osakerhet.parametrar.multipel_inget]\nfordelning = "likformig"\nrelativ = 0.1\nproveniens = "antagen"\nmotivering = "x"\n', encoding="utf-8")
    res = cli("robusthet", "--osakerhet", spec, "--dragningar", "10", "--ut", tmp_path / "r")
    assert res.returncode == 2
    assert "har ingen parameter 'multipel_inget'" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "r" / "omraden.csv").exists()


@pytest.mark.slow
def test_noise_model_coverage_on_the_synthetic_population():
    """SYNTETISKA DATA, where each area's true rate is known (the generator's DeSO shares):
    the binomial noise model's 90 % interval around the observed share covers the true
    share in about 90 % of RegSO; Poisson on the numerator (wider for common events) covers more."""
    from utanforskap import geography
    from utanforskap.methods import model as m
    from utanforskap.microdata import synthetic
    from utanforskap.robustness.vector import noisy_counts

    marg = synthetic.marginals()
    persons = pl.from_arrow(synthetic.draw(personer=1_000_000, seed=7, marg=marg).select(["deso", "lag_ekonomisk_standard"]))
    truth = pl.DataFrame({"deso": marg.deso.astype(str), "p": marg.lag_andel})
    regso = geography.areas("deso").select(pl.col("deso_kod").alias("deso"), "regso_kod")
    known = pl.col("lag_ekonomisk_standard").is_not_null()
    agg = (
        persons.with_columns(pl.col("deso").cast(pl.String)).join(truth, on="deso").join(regso, on="deso")
        .group_by("regso_kod")
        .agg(n=known.sum(), x=pl.col("lag_ekonomisk_standard").sum(), p=(pl.col("p") * known).sum() / known.sum())
        .filter(pl.col("n") > 0)
    )
    x, n, p = (agg[c].cast(pl.Float64).to_numpy() for c in ("x", "n", "p"))
    rng = np.random.default_rng(1)

    def coverage(kind: str) -> float:
        nm = m.InputNoise(brus=kind, namnare="n" if kind == "binomial" else None, proveniens="antagen", motivering="test")
        y = noisy_counts(nm, x, 2000, rng, n) / n
        lo, hi = np.percentile(y, [5, 95], axis=0)
        return float(np.mean((p >= lo) & (p <= hi)))

    binomial = coverage("binomial")
    assert agg.height > 3000
    assert 0.87 <= binomial <= 0.94
    assert coverage("poisson") >= binomial


def test_a_map_with_changed_parameters_keeps_them():
    """Robustness of a map computed with --parameter: centred on the map's own values."""
    from utanforskap.results import karta

    result = karta.compute(parameters={"multipel_brott": 2.5, "flaggor_stor": 4})
    setup = mc.prepare(result=result)
    assert dict(zip([d.name for d in setup.dims], [d.base for d in setup.dims], strict=False))["multipel_brott"] == 2.5
    run = mc.simulate(setup, draws=200, seed=1)
    assert run.areas["listad"].sum() == result.listed.height
    assert run.per_draw["multipel_brott"].min() >= 2.5 * 0.95 - 1e-12
    draws = dr.sample(setup.dims, 5, np.random.default_rng(1))
    vec = mc.listed_matrix(setup, mc.evaluate_block(setup, draws), 5)
    assert np.array_equal(vec, mc.engine_per_draw(setup, draws))


def test_a_method_without_osakerhet_has_no_overview(tmp_path):
    from importlib import resources

    from utanforskap.results import karta
    from utanforskap.robustness.overview import overview

    text = resources.files("utanforskap.methods.builtin").joinpath("se-oppna-data-2022.toml").read_text(encoding="utf-8")
    path = tmp_path / "utan.toml"
    path.write_text(text.split("# ---- Osäkerhet")[0], encoding="utf-8")
    result = karta.compute(method=path)
    assert result.method.method.osakerhet is None
    assert overview(result) is None
    # The command still runs: nothing uncertain, every probability 0 or 1.
    run = mc.simulate(mc.prepare(result=result), draws=20, seed=1)
    assert run.per_draw["antal_omraden"].unique().to_list() == [184]
