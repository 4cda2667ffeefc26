"""Aggregation up the hierarchy: sums, ratios (never averaged), suppressed children, 'ej'."""

import polars as pl
import pytest

from utanforskap import catalogue, geography
from utanforskap.errors import InputError
from utanforskap.observations import schema
from utanforskap.observations.aggregate import aggregate
from utanforskap.sources.bundle import default_store

CAT = catalogue.load()
GEO = geography.default()
# The three DeSO of RegSO 0114R001 (Bollstanäs).
R001 = ["0114C1010", "0114C1030", "0114C1050"]


def obs(rows):
    base = {c: None for c in schema.COLUMNS}
    return pl.DataFrame([{**base, "niva": "deso", "period": "2022", "kalla": "test", **r} for r in rows], schema=schema.COLUMNS)


def all_deso(variabel, value, enhet="antal", **extra):
    return GEO.codes("deso").to_frame("omrade").with_columns(
        niva=pl.lit("deso"), period=pl.lit("2022"), variabel=pl.lit(variabel), taljare=pl.lit(None, pl.Float64),
        namnare=pl.lit(None, pl.Float64), varde=pl.lit(float(value)), enhet=pl.lit(enhet), kalla=pl.lit("test"),
        status=pl.lit(None, pl.String),
    ).with_columns(**extra).select(list(schema.COLUMNS))


def test_sum_reaches_every_level_and_riket_equals_total():
    out = aggregate(all_deso("befolkning", 2), CAT, GEO)
    per_level = out.group_by("niva").agg(pl.col("varde").sum(), pl.len()).sort("niva")
    assert dict(zip(per_level["niva"], per_level["len"], strict=True)) == {
        "deso": 5984, "kommun": 290, "lan": 21, "regso": 3363, "riket": 1,
    }
    assert set(per_level["varde"]) == {2 * 5984.0}
    assert GEO.mapping("deso", "regso").filter(pl.col("regso_kod") == "0114R001")["deso_kod"].to_list() == R001
    assert out.filter(pl.col("omrade") == "0114R001")["varde"][0] == 2 * len(R001)


def test_ratio_sums_numerators_and_denominators_never_averages():
    df = all_deso("lag_ekonomisk_standard", 0.0, enhet="andel", taljare=pl.lit(0.0), namnare=pl.lit(100.0))
    df = df.with_columns(
        taljare=pl.when(pl.col("omrade") == "0114C1010").then(90.0).otherwise(pl.col("taljare")),
        namnare=pl.when(pl.col("omrade") == "0114C1010").then(900.0).otherwise(pl.col("namnare")),
    ).with_columns(varde=pl.col("taljare") / pl.col("namnare"))
    out = aggregate(df, CAT, GEO).filter(pl.col("omrade") == "0114R001").row(0, named=True)
    assert (out["taljare"], out["namnare"]) == (90.0, 1100.0)
    assert out["varde"] == pytest.approx(90 / 1100)
    # The data tell the two rules apart: the mean of the three children's shares is another number.
    children = df.filter(pl.col("omrade").is_in(R001))
    assert children.height == 3 and children["varde"].mean() == pytest.approx(0.1 / 3)
    assert children["varde"].mean() != pytest.approx(out["varde"], rel=0.1)


def test_suppressed_child_makes_parents_unknown_not_zero():
    df = all_deso("befolkning", 5).with_columns(
        varde=pl.when(pl.col("omrade") == "0114C1030").then(None).otherwise(pl.col("varde")),
        status=pl.when(pl.col("omrade") == "0114C1030").then(pl.lit("undertryckt")),
    )
    out = aggregate(df, CAT, GEO)
    for code, level in (("0114R001", "regso"), ("0114", "kommun"), ("01", "lan"), ("SE", "riket")):
        row = out.filter((pl.col("omrade") == code) & (pl.col("niva") == level)).row(0, named=True)
        assert row["varde"] is None and row["status"] == "undertryckt", code
    sibling = out.filter(pl.col("omrade") == "0114R002").row(0, named=True)
    assert sibling["varde"] > 0 and sibling["status"] is None


def test_missing_child_row_makes_parent_saknas():
    df = all_deso("befolkning", 1).filter(pl.col("omrade") != "0114C1050")
    out = aggregate(df, CAT, GEO)
    row = out.filter(pl.col("omrade") == "0114R001").row(0, named=True)
    assert row["varde"] is None and row["status"] == "saknas"


def test_ej_variable_gets_explicit_ej_aggregerbar_rows():
    out = aggregate(all_deso("nettoinkomst_median_tkr", 300, enhet="tkr"), CAT, GEO)
    kommun = out.filter(pl.col("niva") == "kommun")
    assert kommun.height == 290
    assert kommun["varde"].null_count() == 290 and set(kommun["status"]) == {"ej_aggregerbar"}
    assert out.filter(pl.col("niva") == "deso")["varde"].null_count() == 0


def test_higher_level_rows_add_to_their_parents():
    kommun = GEO.codes("kommun").to_frame("omrade").with_columns(
        niva=pl.lit("kommun"), period=pl.lit("2022"), variabel=pl.lit("brott_1210_utan_deso"),
        taljare=pl.lit(None, pl.Float64), namnare=pl.lit(None, pl.Float64), varde=pl.lit(1.0), enhet=pl.lit("antal"),
        kalla=pl.lit("test"), status=pl.lit("saknas"),
    ).select(list(schema.COLUMNS))
    extra = obs([dict(omrade="01", niva="lan", variabel="brott_1210_utan_deso", varde=4.0, enhet="antal", status="saknas")])
    out = aggregate(pl.concat([kommun, extra]), CAT, GEO)
    stockholm = out.filter((pl.col("niva") == "lan") & (pl.col("omrade") == "01")).row(0, named=True)
    n_kommun_01 = GEO.areas("kommun").filter(pl.col("lan_kod") == "01").height
    assert stockholm["varde"] == n_kommun_01 + 4 and stockholm["status"] == "saknas"
    assert out.filter(pl.col("niva") == "riket")["varde"][0] == 290 + 4


def test_unknown_variable_and_unknown_code_raise():
    with pytest.raises(InputError, match="variabeln 'okand' finns inte i katalogen"):
        aggregate(obs([dict(omrade="0114C1010", variabel="okand", varde=1.0, enhet="antal")]), CAT, GEO)
    with pytest.raises(InputError, match="okänd deso-kod '0114C9999'"):
        aggregate(obs([dict(omrade="0114C9999", variabel="befolkning", varde=1.0, enhet="antal")]), CAT, GEO)


# ---- the bundled store against hand computation ------------------------------------------
def test_bundled_regso_and_kommun_equal_hand_sums_of_deso():
    store = default_store()
    deso = store.read(niva="deso", period="2022", variabler=["sysselsatta_16_64", "lag_ekonomisk_standard"])
    key = GEO.mapping("deso", "regso")
    hand_r = deso.filter(pl.col("omrade").is_in(key.filter(pl.col("regso_kod") == "0180R100")["deso_kod"].implode()))
    got = store.read(niva="regso", period="2022", variabler=["sysselsatta_16_64", "lag_ekonomisk_standard"]).filter(
        pl.col("omrade") == "0180R100"
    )
    s = hand_r.filter(pl.col("variabel") == "sysselsatta_16_64")["varde"].sum()
    assert got.filter(pl.col("variabel") == "sysselsatta_16_64")["varde"][0] == s
    lag = hand_r.filter(pl.col("variabel") == "lag_ekonomisk_standard")
    row = got.filter(pl.col("variabel") == "lag_ekonomisk_standard").row(0, named=True)
    assert row["varde"] == pytest.approx(lag["taljare"].sum() / lag["namnare"].sum())
    hand_k = deso.filter(pl.col("omrade").str.starts_with("1480") & (pl.col("variabel") == "sysselsatta_16_64"))
    k = store.read(niva="kommun", period="2022", variabler=["sysselsatta_16_64"]).filter(pl.col("omrade") == "1480")
    assert k["varde"][0] == hand_k["varde"].sum() and hand_k.height == GEO.areas("deso").filter(pl.col("kommun_kod") == "1480").height
