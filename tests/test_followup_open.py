"""Real series in the bundle: crime flags per year and områdestyp 2022-2023."""

import polars as pl
import pytest
from cli_helpers import cli

from utanforskap.followup import open_series as o
from utanforskap.sources import bundle


def test_crime_flags_per_year_from_the_bundle():
    store = bundle.default_store()
    years, notes = o.crime_years(store)
    assert years == [2020, 2021, 2022, 2023] and set(notes) == {2019, 2024}
    flags = o.crime_flags(store)
    assert flags.group_by("ar").len().sort("ar")["len"].to_list() == [3363] * 4
    # Fixed at 2022: the base year's flags are the relative ones; the threshold is one number.
    base = flags.filter(pl.col("ar") == 2022)
    assert base["flagga_fixerad"].equals(base["flagga_relativ"])
    assert flags["grans_fixerad"].n_unique() == 1 and flags["grans_relativ"].n_unique() == 4
    # The flag is the rate against the multiple of the year's national rate, computed independently.
    y = flags.filter(pl.col("ar") == 2021)
    rate = y["brott"].sum() / y.filter(pl.col("brott").is_not_null())["befolkning"].sum() * 1000
    assert y["riket_per_1000"][0] == rate
    assert (y["flagga_relativ"] == (y["brott_per_1000"] >= 3.0 * rate)).all()


def test_area_type_changes_2022_2023():
    types = o.area_type_changes(bundle.default_store())
    assert types.height == 3363
    counts = dict(types.group_by("andring").len().iter_rows())
    assert counts["in"] == 13 and counts["ut"] == 11
    row = types.filter(pl.col("regso_kod") == "1480R050").row(0, named=True)
    assert (row["typ_fran"], row["typ_till"], row["andring"]) == (2, 1, "in")


@pytest.mark.slow
def test_oppna_serier_cli(tmp_path):
    res = cli("uppfoljning", "--oppna-serier", "--ut", tmp_path)
    assert res.returncode == 0, res.stderr
    assert "2019: saknas" in res.stdout and "13 RegSO in, 11 ut" in res.stdout
    for name in ("brott_per_ar.csv", "brott_sammanfattning.csv", "omradestyp_forandringar.csv"):
        assert (tmp_path / name).is_file()
