"""The shipped SVI and IMD methods reproduce every official output cell of the published files."""

import polars as pl
from conftest import TEST_DATA

from utanforskap.methods import conformance, data, engine, loader

SVI_FILE = TEST_DATA / "conformance" / "SVI_2022_US_county.csv"
IMD_FILE = TEST_DATA / "conformance" / "imd2025_england_lsoa21.csv"


def _run(method_id, path):
    loaded = loader.load(method_id)
    table = data.read_table(path)
    result = engine.output_frame(loaded, engine.run(loaded, data.prepare(loaded, table, str(path))))
    return loaded, table, result


def test_svi_2022_every_official_cell():
    agreement = conformance.check_published("cdc-svi-2022", SVI_FILE)
    cells = sum(a.celler for a in agreement)
    equal = sum(a.lika for a in agreement)
    print(f"SVI 2022: {equal} / {cells} celler lika")
    # 16 EPL, 4+1 SPL, 4+1 RPL, 16 F + 4 F_THEME + F_TOTAL, all in the method's outputs
    assert {a.kolumn for a in agreement} == set(loader.load("cdc-svi-2022").method.utdata.kolumner)
    assert cells == 3144 * 47
    assert [a for a in agreement if a.lika != a.celler] == []


def test_imd_2025_every_official_cell():
    agreement = conformance.check_published("england-imd-2025", IMD_FILE)
    cells = sum(a.celler for a in agreement)
    equal = sum(a.lika for a in agreement)
    print(f"IMD 2025: {equal} / {cells} celler lika")
    assert cells == 33755 * 3
    assert [a for a in agreement if a.lika != a.celler] == []


def test_imd_ties_need_average_rank():
    """Two LSOAs share Education rank 4881: treating them as 4881 (not 4881.5) breaks two scores."""
    loaded = loader.load("england-imd-2025")
    raw = loaded.method.model_dump()
    for step in raw["steg"]:
        if step["typ"] == "rang" and step["namn"].startswith("rang_"):
            step["band"] = "min"
    changed = loader.load_dict(raw, "test")
    official = data.read_table(IMD_FILE)
    ours = engine.output_frame(changed, engine.run(changed, data.prepare(changed, official, "imd")))
    agreement = conformance.compare(ours, official, "lsoa21_code", {"IMD_score": 3})
    assert agreement[0].celler - agreement[0].lika == 2


def test_compare_detects_a_changed_cell():
    _, official, ours = _run("cdc-svi-2022", SVI_FILE)
    broken = ours.with_columns(
        pl.when(pl.col("FIPS") == "1001").then(pl.col("EPL_POV150") + 0.0001).otherwise(pl.col("EPL_POV150")).alias("EPL_POV150")
    )
    agreement = conformance.compare(broken, official, "FIPS", {"EPL_POV150": 4})
    assert agreement[0].lika == agreement[0].celler - 1
    assert agreement[0].forsta_avvikelse.startswith("1001: officiell 0.3621")


def test_svi_missing_values_propagate_as_minus_999():
    """-999 in one EP_ column: its EPL, flag, theme sums and totals become -999; others keep ranking without it."""
    loaded = loader.load("cdc-svi-2022")
    table = data.read_table(SVI_FILE).with_columns(
        pl.when(pl.col("FIPS") == "1001").then(pl.lit("-999")).otherwise(pl.col("EP_POV150")).alias("EP_POV150")
    )
    out = engine.output_frame(loaded, engine.run(loaded, data.prepare(loaded, table, "svi")))
    row = out.filter(pl.col("FIPS") == "1001").row(0, named=True)
    for col in ("EPL_POV150", "F_POV150", "SPL_THEME1", "RPL_THEME1", "F_THEME1", "SPL_THEMES", "RPL_THEMES", "F_TOTAL"):
        assert row[col] == -999, col
    assert row["EPL_UNEMP"] != -999 and row["SPL_THEME2"] != -999
    # n is now 3143: the top POV150 area still gets exactly 1, the bottom 0
    epl = out.filter(pl.col("EPL_POV150") != -999)["EPL_POV150"]
    assert epl.len() == 3143 and epl.max() == 1.0 and epl.min() == 0.0
