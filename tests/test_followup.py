"""`utanforskap uppfoljning`: the map year by year, entries and exits, on a multi-year store."""

import openpyxl
import polars as pl
import pytest
from cli_helpers import cli
from followup_helpers import multi_year_store

from utanforskap.errors import InputError
from utanforskap.followup.series import follow_up

STR = {"regso_kod": pl.String, "kommun_kod": pl.String, "lan_kod": pl.String}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("lager")
    multi_year_store(root, range(2019, 2025))
    return root


@pytest.fixture(scope="module")
def run(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("uppfoljning")
    res = cli("uppfoljning", "--fran", 2021, "--till", 2024, "--metod", "se-oppna-data-2022", "--data", store, "--ut", out)
    return res, out


@pytest.mark.slow
def test_writes_every_file_with_swedish_headers(run):
    res, out = run
    assert res.returncode == 0, res.stderr
    assert "2021–2024" in res.stdout and "kvar sedan föregående år" in res.stdout
    for name in ("omraden_per_ar.csv", "forandringar.csv", "kommuner_per_ar.csv", "sammanfattning.csv", "faktorer.csv", "uppfoljning.xlsx"):
        assert (out / name).is_file(), name
    om = pl.read_csv(out / "omraden_per_ar.csv", schema_overrides=STR)
    assert om.height == 4 * 3363 and sorted(om["ar"].unique()) == [2021, 2022, 2023, 2024]
    assert {"regso_kod", "ar", "antal_flaggor", "klass", "flagga_kriminalitet", "brott_per_1000", "faktorer_med_data"} <= set(om.columns)
    fak = pl.read_csv(out / "faktorer.csv")
    assert fak.filter(pl.col("faktor") == "kriminalitet")["ar_med_data"][0] == "2021–2024"
    wb = openpyxl.load_workbook(out / "uppfoljning.xlsx", read_only=True)
    assert {"Sammanfattning", "Förändringar", "Kommuner per år", "Områden per år", "Faktorer och år"} <= set(wb.sheetnames)
    header = [c.value for c in next(wb["Förändringar"].iter_rows(max_row=1))]
    assert "RegSO-kod" in header and "Förändring" in header and "Orsak till att området lämnade listan" in header


@pytest.mark.slow
def test_entries_exits_and_persistence_match_the_yearly_lists(run):
    _, out = run
    om = pl.read_csv(out / "omraden_per_ar.csv", schema_overrides=STR)
    ch = pl.read_csv(out / "forandringar.csv", schema_overrides=STR)
    summ = pl.read_csv(out / "sammanfattning.csv")
    listed = {y: set(om.filter((pl.col("ar") == y) & pl.col("klass").is_not_null())["regso_kod"]) for y in range(2021, 2025)}
    for y in range(2022, 2025):
        got_in = set(ch.filter((pl.col("till_ar") == y) & (pl.col("andring") == "in"))["regso_kod"])
        got_out = set(ch.filter((pl.col("till_ar") == y) & (pl.col("andring") == "ut"))["regso_kod"])
        assert got_in == listed[y] - listed[y - 1]
        assert got_out == listed[y - 1] - listed[y]
        row = summ.filter(pl.col("ar") == y).row(0, named=True)
        assert row["in"] == len(got_in) and row["ut"] == len(got_out) and row["omraden"] == len(listed[y])
        assert row["persistens_mot_foregaende_ar"] == pytest.approx(len(listed[y] & listed[y - 1]) / len(listed[y - 1]))
        assert row["persistens_mot_forsta_aret"] == pytest.approx(len(listed[y] & listed[2021]) / len(listed[2021]))
        exits = ch.filter((pl.col("till_ar") == y) & (pl.col("andring") == "ut"))
        assert exits["orsak"].null_count() == 0
        for code, status, flips in exits.select("regso_kod", "bekraftad", "vaxlar").iter_rows():
            if y == 2024:
                assert status.startswith("ej ännu")
            else:
                assert (status == "ja") == (code not in listed[y + 1])
                assert flips == (code in listed[y + 1])


@pytest.mark.slow
def test_bad_input_is_one_line_and_writes_nothing(store, tmp_path):
    out = tmp_path / "ut"
    for args in (["--fran", 2022, "--till", 2022], ["--fran", 2024, "--till", 2022], ["--fran", 2017, "--till", 2020]):
        res = cli("uppfoljning", *args, "--metod", "se-oppna-data-2022", "--data", store, "--ut", out)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) <= 3
        assert not out.exists()
    with pytest.raises(InputError, match="faktorn kriminalitet .*saknar data år 2019–2020.*brott_urval .*summerar.*finns för 2019–2024"):
        follow_up("se-oppna-data-2022", [2019, 2020], str(store))


def test_a_factor_missing_a_year_is_named(tmp_path):
    root = tmp_path / "lager"
    multi_year_store(root, range(2019, 2023), drop={"utb_forgymnasial_25_64": [2021]})
    with pytest.raises(InputError, match=r"faktorn skolresultat .*saknar data år 2021.*finns för 2019–2020, 2022"):
        follow_up("se-oppna-data-2022", [2021, 2022], str(root))


@pytest.mark.slow
def test_frozen_thresholds_over_years(store, tmp_path):
    frozen = tmp_path / "fixerad.toml"
    res = cli("metoder", "--frys", "se-oppna-data-2022", "--ar", 2022, "--ut", frozen, "--data", store)
    assert res.returncode == 0, res.stderr
    rel = follow_up("se-oppna-data-2022", [2022, 2023, 2024], str(store))
    fix = follow_up(frozen, [2022, 2023, 2024], str(store))
    # The base year: the same list; later years: the frozen thresholds stay put.
    assert rel.areas.filter(pl.col("ar") == 2022)["klass"].equals(fix.areas.filter(pl.col("ar") == 2022)["klass"])
    t = fix.thresholds.filter(pl.col("faktor") == "arbetsmarknadsetablering")["grans"]
    assert t.n_unique() == 1
    assert rel.thresholds.filter(pl.col("faktor") == "arbetsmarknadsetablering")["grans"].n_unique() == 3


def test_kommun_sums_with_hidden_counts_are_empty_not_undercounts_or_nan():
    """A kommun whose areas' population is hidden (disclosure control on a small sample) gets
    no total and no share: before, the total was 0 and the share 0/0, a NaN in the CSV."""
    from utanforskap.followup.series import _kommuner

    areas = pl.DataFrame({
        "ar": [2022] * 5,
        "kommun_kod": ["0001", "0001", "0002", "0002", "0003"],
        "kommun_namn": ["A", "A", "B", "B", "C"],
        "lan_kod": ["00"] * 5,
        "klass": ["stor", None, "stor", None, None],
        "befolkning": [None, None, 100, None, 50],
        "barn": [None, None, 30, None, 10],
    })
    changes = pl.DataFrame(schema={"till_ar": pl.Int64, "kommun_kod": pl.String, "andring": pl.String, "regso_kod": pl.String})
    out = {r["kommun_kod"]: r for r in _kommuner(areas, changes).iter_rows(named=True)}
    assert out["0001"]["befolkning_totalt"] is None and out["0001"]["befolkning"] is None and out["0001"]["andel_befolkning"] is None
    assert out["0002"]["befolkning"] == 100 and out["0002"]["befolkning_totalt"] is None and out["0002"]["andel_befolkning"] is None
    assert out["0003"]["befolkning"] == 0 and out["0003"]["barn"] == 0 and out["0003"]["andel_befolkning"] == 0.0
    assert out["0003"]["befolkning_totalt"] == 50
