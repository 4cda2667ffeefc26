"""Sweden's map from the bundled open data: the result, its summaries, calibration and comparison."""

import dataclasses

import polars as pl
import pytest

from utanforskap.errors import InputError
from utanforskap.methods import loader
from utanforskap.results import calibrate, compare, karta


def test_every_regso_once_and_population_equals_scb_total(result):
    om = result.areas
    assert om.height == 3363 and om["regso_kod"].n_unique() == 3363
    assert om["befolkning"].sum() == 10_521_556  # SCB's total for 2022
    assert om["barn"].null_count() == 0
    for col in ["regso_kod", "regso_namn", "kommun_kod", "kommun_namn", "lan_kod", "befolkning", "barn", "antal_flaggor", "klass"]:
        assert col in om.columns
    for f in result.factors:
        if f.status != "saknas":
            assert f.varde in om.columns and f.flagga in om.columns


def test_classes_follow_the_flag_counts(result):
    om = result.areas
    stor, sarskilt = result.parameters["flaggor_stor"], result.parameters["flaggor_sarskilt_stor"]
    flags = [f.flagga for f in result.factors if f.flagga]
    recount = om.select(pl.sum_horizontal([pl.col(c).fill_null(False).cast(pl.Int32) for c in flags]).alias("n"))["n"]
    assert (recount == om["antal_flaggor"]).all()
    assert om.filter(pl.col("klass") == "särskilt stor")["antal_flaggor"].min() >= sarskilt
    assert om.filter(pl.col("klass") == "stor")["antal_flaggor"].max() < sarskilt
    assert om.filter(pl.col("klass") == "stor")["antal_flaggor"].min() >= stor
    assert om.filter(pl.col("klass").is_null())["antal_flaggor"].max() < stor


def test_factor_values_are_ratios_of_sums_against_the_nation(result):
    full = karta.compute()
    om = full.areas
    # national employment rate from the same data: the flag is rate <= multiple * national
    store = full.source.store
    nat = store.read(niva="riket", period="2022", variabler=["sysselsatta_16_64", "befolkning_16_64"])
    rate = dict(zip(nat["variabel"], nat["varde"], strict=False))
    national = rate["sysselsatta_16_64"] / rate["befolkning_16_64"]
    assert national == pytest.approx(0.7775, abs=1e-4)
    expected = om["andel_sysselsatta"] <= full.parameters["multipel_sysselsattning"] * national
    assert (expected == om["flagga_arbetsmarknadsetablering"]).all()


def test_summary_adds_up(result):
    s = karta.summarize(result)
    listed = result.listed
    assert s.riket["omraden"] == listed.height
    assert s.riket["befolkning"] == listed["befolkning"].sum()
    assert s.per_lan["omraden"].sum() == s.riket["omraden"]
    assert s.per_lan.height == 21 and s.per_kommun.height == 290
    assert s.per_kommun.filter(pl.col("omraden") > 0).height == s.riket["kommuner"]
    assert s.per_kommun["befolkning_totalt"].sum() == 10_521_556
    stockholm = s.per_lan.filter(pl.col("lan_kod") == "01").row(0, named=True)
    assert stockholm["omraden"] == listed.filter(pl.col("lan_kod") == "01").height


def test_fit_is_close_to_the_published_totals(result):
    fit = calibrate.fit(result, calibrate.load_spec().mal)
    by = {r["mal"]: r for r in fit.iter_rows(named=True)}
    # the calibration target: within 5 % on the national totals, exact on kommuner counted by hand
    assert abs(by["omraden"]["relativ_avvikelse"]) < 0.05
    assert abs(by["befolkning"]["relativ_avvikelse"]) < 0.05
    assert by["kommuner"]["vart"] == result.listed["kommun_kod"].n_unique()
    assert by["stockholm_omraden"]["vart"] == result.listed.filter(pl.col("lan_kod") == "01").height


@pytest.mark.slow
def test_calibration_reproduces_the_shipped_parameters():
    """`utanforskap kalibrera` chooses exactly the values in se-oppna-data-2022.toml."""
    spec = calibrate.load_spec()
    cal = calibrate.calibrate(spec)
    shipped = {k: p.varde for k, p in loader.load(spec.metod).method.parametrar.items()}
    for name, value in cal.parametrar.items():
        assert shipped[name] == pytest.approx(value), name
    # the vectorised search computes the same loss as the engine on the chosen values
    assert cal.forlust == pytest.approx(cal.forlust_rutnat, rel=1e-12)
    assert cal.kombinationer == 7 * 7 * 7 * 6 * 5 * 2


def test_calibration_rejects_a_grid_parameter_that_steers_nothing(tmp_path):
    spec = calibrate.load_spec()
    bad = spec.model_copy(update={"rutnat": {**spec.rutnat, "min_lagenheter": [50.0, 100.0]}})
    with pytest.raises(InputError, match="rutnat.min_lagenheter"):
        calibrate.calibrate(bad)


def test_comparison_confusion_tables_are_consistent(result):
    lists, factors = compare.compare(result, result.source.store)
    assert lists.height == 4
    for row in lists.iter_rows(named=True):
        assert row["bada"] + row["bara_vara"] + row["bara_deras"] + row["ingen"] == 3363
        assert row["bada"] + row["bara_vara"] == result.listed.height
        assert row["precision"] == pytest.approx(row["bada"] / (row["bada"] + row["bara_vara"]))
        assert row["tackning"] == pytest.approx(row["bada"] / (row["bada"] + row["bara_deras"]))
    typ1 = lists.row(0, named=True)
    assert typ1["bada"] + typ1["bara_deras"] == 160  # Segregationsbarometern: 160 RegSO of type 1
    assert set(factors["faktor"]) == {f.id for f in result.factors if f.flagga}


def test_a_year_without_data_is_a_clear_error():
    with pytest.raises(InputError, match="saknas för regso år 2019"):
        karta.compute(year=2019)


def test_a_method_without_a_factor_table_gets_factors_from_its_flags(tmp_path):
    import re
    from importlib import resources

    text = resources.files("utanforskap.methods.builtin").joinpath("se-oppna-data-2022.toml").read_text("utf-8")
    text = re.sub(r"\[faktorer\.[a-z_]+\]\n(?:[^\[\n].*\n|\n)*", "", text)
    path = tmp_path / "utan-faktorer.toml"
    path.write_text(text, encoding="utf-8")
    result = karta.compute(method=path)
    flags = [f.flagga for f in result.factors]
    assert flags == [c for c in result.method.method.utdata.kolumner if c.startswith("flagga_")]
    by = {f.id: f for f in result.factors}
    assert by["arbetsmarknadsetablering"].namn == "Svag arbetsmarknadsetablering"  # named from the catalogue
    assert by["arbetsmarknadsetablering"].varde is None  # its flag compares a relative value, not an output
    # summaries still count every factor's flags
    assert karta.summarize(result).faktorer.height == 5


@pytest.mark.slow
def test_what_the_web_app_and_the_reports_derive_from_a_map_is_computed_once(monkeypatch, tmp_path):
    """Web start-up, then the first report: each summary, level value, fit and engine frame once."""
    from utanforskap import reports
    from utanforskap.methods import engine
    from utanforskap.results import inputs as inputs_module
    from utanforskap.results import levels
    from utanforskap.web import state

    result = karta.compute()
    runs, reads = [], []
    real_run, real_read = engine.run, inputs_module.method_inputs

    def counting_run(*args, **kwargs):
        runs.append(kwargs.get("keep_all", False))
        return real_run(*args, **kwargs)

    def counting_read(*args, **kwargs):
        reads.append(kwargs.get("level", "regso"))
        return real_read(*args, **kwargs)

    monkeypatch.setattr(engine, "run", counting_run)
    for module in (karta, levels):
        monkeypatch.setattr(module, "method_inputs", counting_read)
    state.build(result, tmp_path)
    reports.prepared(result)
    assert sorted(reads) == ["kommun", "riket"]  # the RegSO inputs were read once, by compute()
    assert len(runs) == 3  # kommun and riket values, and the full frame: each once
    assert karta.summarize(result) is karta.summarize(result)
    assert calibrate.published_fit(result) is calibrate.published_fit(result)
    assert levels.level_values(result, "kommun") is levels.level_values(result, "kommun")
    other = dataclasses.replace(result, areas=result.areas.head(10))
    assert karta.summarize(other).riket["befolkning_totalt"] < karta.summarize(result).riket["befolkning_totalt"]  # its own memo


def test_factors_carry_what_the_steps_say_and_details_add_the_thresholds(result):
    by = {f.id: f for f in result.factors}
    work = by["arbetsmarknadsetablering"]
    assert (work.andel, work.taljare, work.namnare, work.operator, work.low_is_bad) == (
        True, "sysselsatta_16_64", "befolkning_16_64", "<=", True,
    )
    assert by["kriminalitet"].skala == 1000 and not by["kriminalitet"].andel and not by["kriminalitet"].low_is_bad
    assert not by["ohalsa"].measured and not by["ohalsa"].aggregable
    details = {f.id: f for f in karta.factor_details(result)}
    assert work.grans is None  # the threshold needs the map: factor_details
    assert details["arbetsmarknadsetablering"].grans == pytest.approx(result.parameters["multipel_sysselsattning"] * 0.7775, abs=1e-4)
    assert details["arbetsmarknadsetablering"].threshold_text == "≤\u00a054,4\u00a0%"
    assert work.format(-0.0123) == "−1,2\u00a0%" and by["kriminalitet"].format(1234.5) == "1\u202f234,50"


def test_classes_highest_first_and_the_top_class_is_the_first(result):
    assert karta.classes(result) == ["särskilt stor", "stor"]
    assert karta.top_class(result) == "särskilt stor"


def test_reference_codes_read_each_list_in_its_own_year_from_a_store_with_several():
    class Store:  # two years of område types and one of Polisen's list, as a larger store would hold
        root = "flera-ar"
        rows = pl.DataFrame(
            {
                "omrade": ["0180R001", "0180R001", "0180R002", "0180R002", "0180R001", "0180R002"],
                "period": ["2022", "2023", "2022", "2023", "2025", "2025"],
                "variabel": ["omradestyp"] * 4 + ["polisen_uso_2025"] * 2,
                "varde": [1.0, 3.0, 2.0, 5.0, 2.0, 0.0],
            }
        )

        def read(self, *, niva=None, period=None, variabler=None):
            periods = [period] if isinstance(period, str) else period
            return self.rows.filter(pl.col("period").is_in(periods) & pl.col("variabel").is_in(variabler))

    codes = compare.reference_codes(Store()).sort("regso_kod")
    assert codes.to_dicts() == [
        {"regso_kod": "0180R001", "omradestyp": 1, "polisen_uso_2025": 2},
        {"regso_kod": "0180R002", "omradestyp": 2, "polisen_uso_2025": 0},
    ]
    flags = compare.reference_flags(Store()).sort("regso_kod")
    assert flags["omradestyp_1"].to_list() == [True, False] and flags["polisen_sarskilt_2025"].to_list() == [True, False]


def test_derived_factors_are_named_from_the_input_they_come_from():
    """SVI declares no [faktorer]: F_POV150's factor is named by EP_POV150's description, not a column id."""
    from utanforskap.methods import loader

    by_flag = {f.flagga: f for f in karta.factors(loader.load("cdc-svi-2022"))}
    assert by_flag["F_POV150"].namn == "Andel under 150 % av fattigdomsgränsen (procent)"
    assert all(not f.namn.startswith(("Epl", "EPL")) for f in by_flag.values())
