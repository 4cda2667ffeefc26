"""The shipped methods other than the conformance ones, on small tables computed by hand.

The tables here are SYNTETISKA DATA made up for the tests, not statistics of real areas.
"""

import polars as pl
import pytest

from utanforskap.errors import InputError
from utanforskap.methods import data, engine, loader


def run(method_id, table, **params):
    loaded = loader.load(method_id)
    prepared = data.prepare(loaded, table, "test")
    return engine.run(loaded, prepared, parameters=params or None)


def test_every_shipped_method_loads_and_declares_provenance():
    ids = loader.builtin_ids()
    assert {"cdc-svi-2022", "england-imd-2025", "dk-udsatte-boligomraader", "folkpartiet-2004", "se-utanforskap-2024"} <= set(ids)
    for mid in ids:
        method = loader.load(mid).method
        for name, p in method.parametrar.items():
            assert p.proveniens in ("officiell", "antagen", "kalibrerad", "syntetisk"), (mid, name)


def dk_panel():
    rows = []
    national = 0.01
    for year in range(2019, 2024):
        # A: large; 2 criteria (work, convictions); 60 % non-Western every year -> parallelsamfund 5 years
        rows.append(dict(omrade="A", ar=year, invanare=2000, invanare_18_64=1000, utan_arbete_utbildning_18_64=450,
                         invanare_18plus=1500, domda_18plus=60, landsandel_domda=national,
                         invanare_30_59=800, enbart_grundskola_30_59=400, medelinkomst_15_64=60000,
                         region_medelinkomst_15_64=100000, icke_vastliga=1200))
        # B: every criterion, but under 1 000 residents
        rows.append(dict(omrade="B", ar=year, invanare=900, invanare_18_64=500, utan_arbete_utbildning_18_64=400,
                         invanare_18plus=700, domda_18plus=70, landsandel_domda=national,
                         invanare_30_59=400, enbart_grundskola_30_59=300, medelinkomst_15_64=40000,
                         region_medelinkomst_15_64=100000, icke_vastliga=800))
        # C: work share 50 % in 2022 but 28 % in 2023: the 2023 two-year mean is 0.39, not above 0.40;
        # income criterion every year, so 2 criteria in 2022 only
        work = {2022: 500, 2023: 280}.get(year, 300)
        rows.append(dict(omrade="C", ar=year, invanare=1500, invanare_18_64=1000, utan_arbete_utbildning_18_64=work,
                         invanare_18plus=1200, domda_18plus=12, landsandel_domda=national,
                         invanare_30_59=600, enbart_grundskola_30_59=100, medelinkomst_15_64=50000,
                         region_medelinkomst_15_64=100000, icke_vastliga=300))
    return pl.DataFrame(rows)


def test_denmark_classes_over_years():
    out = run("dk-udsatte-boligomraader", dk_panel())
    get = lambda area, year, col: out.filter((pl.col("omrade") == area) & (pl.col("ar") == year))[col].item()
    # A: a parallelsamfund from 2020 (2019 has no two-year mean, so only one criterion is known
    # false/unknown there); omdannelse needs five years running
    assert get("A", 2019, "udsat") is None  # two criteria unknown in the first year, one known
    assert get("A", 2023, "domda_mot_landet_2ar") == pytest.approx(4.0)
    assert get("A", 2023, "udsat") is True and get("A", 2023, "parallelsamfund") is True
    assert get("A", 2023, "omdannelse") is None  # 2019 undecided, so five years running is unknown
    assert get("A", 2023, "klass") == "parallelsamfund"
    # B: too small, never listed whatever its criteria
    assert get("B", 2023, "antal_kriterier") == 4
    assert get("B", 2023, "udsat") is False and get("B", 2023, "klass") is None
    # C: two-year mean of 0.50 and 0.30 is 0.40, not above 0.40; of 0.50 and 0.28 it is 0.39
    assert get("C", 2022, "andel_utan_arbete_2ar") == pytest.approx(0.40)
    assert get("C", 2022, "kriterium_arbete") is False
    assert get("C", 2023, "andel_utan_arbete_2ar") == pytest.approx(0.39)
    assert get("C", 2023, "udsat") is False


def test_denmark_omdannelse_after_five_decided_years():
    panel = dk_panel().filter(pl.col("omrade") == "A")
    # Make 2019 decidable: the first-year means are unknown, so give A three criteria that need no mean.
    panel = panel.with_columns(enbart_grundskola_30_59=pl.lit(700), medelinkomst_15_64=pl.lit(50000))
    out = run("dk-udsatte-boligomraader", panel)
    years = dict(zip(out["ar"].to_list(), out["klass"].to_list(), strict=False))
    assert years[2019] == "parallelsamfund" and years[2022] == "parallelsamfund"
    assert years[2023] == "omdannelsesområde"


def test_folkpartiet_rule():
    table = pl.DataFrame(
        dict(
            omrade=["a", "b", "c", "d", "e"],
            forvarvsfrekvens=[0.60, 0.60, 0.61, 0.50, 0.55],
            valdeltagande=[0.69, 0.80, 0.50, 0.70, None],
            fullstandiga_betyg=[0.90, 0.69, 0.50, 0.70, 0.60],
        )
    )
    out = run("folkpartiet-2004", table)
    assert out["utanforskap"].to_list() == [True, True, False, False, True]
    assert out["klass"].to_list() == ["utanförskapsområde", "utanförskapsområde", None, None, "utanförskapsområde"]


def se_table():
    base = dict(
        sysselsatta_20_64=800, befolkning_20_64=1000, ekonomiskt_bistand_20_64=20, trangbodda=100,
        befolkning_i_bostad=2000, rostande=850, rostberattigade=1000, behoriga_gymnasiet=90, elever_ak9=100,
        misstankta_brott_15plus=10, befolkning_15plus=1600, ohalsodagar_16_64=25000, befolkning_16_64=1100,
    )
    rows = [
        dict(base, regso_kod="ingen"),
        # exactly three: employment, benefits, overcrowding
        dict(base, regso_kod="tre", sysselsatta_20_64=600, ekonomiskt_bistand_20_64=150, trangbodda=700),
        # five: and turnout, crime; school has 5 pupils only, so it is not judged
        dict(base, regso_kod="fem", sysselsatta_20_64=600, ekonomiskt_bistand_20_64=150, trangbodda=700,
             rostande=600, misstankta_brott_15plus=80, behoriga_gymnasiet=1, elever_ak9=5),
        # two flags and a missing factor
        dict(base, regso_kod="tva", sysselsatta_20_64=600, ekonomiskt_bistand_20_64=150, rostande=None),
    ]
    return pl.DataFrame(rows)


def test_sweden_2024_flags_and_classes():
    out = run("se-utanforskap-2024", se_table())
    by = {r["regso_kod"]: r for r in out.to_dicts()}
    assert by["ingen"]["antal_flaggor"] == 0 and by["ingen"]["klass"] is None
    assert by["tre"]["antal_flaggor"] == 3 and by["tre"]["klass"] == "stor"
    assert by["fem"]["flagga_skolresultat"] is None and by["fem"]["skolresultat"] is None
    assert by["fem"]["antal_flaggor"] == 5 and by["fem"]["klass"] == "särskilt stor"
    assert by["tva"]["antal_saknade"] == 1 and by["tva"]["klass"] is None
    # the thresholds are parameters: lowering the class limit lists "tva"
    out2 = run("se-utanforskap-2024", se_table(), flaggor_stor=2)
    assert out2.filter(pl.col("regso_kod") == "tva")["klass"].item() == "stor"


def test_sweden_2024_numerator_above_denominator_is_an_error():
    table = se_table().with_columns(
        pl.when(pl.col("regso_kod") == "tre").then(1200).otherwise(pl.col("sysselsatta_20_64")).alias("sysselsatta_20_64")
    )
    with pytest.raises(InputError, match="täljaren sysselsatta_20_64 = 1200 är större än nämnaren befolkning_20_64 = 1000 för regso_kod tre"):
        run("se-utanforskap-2024", table)


def test_every_assumed_parameter_says_why():
    method = loader.load("se-utanforskap-2024").method
    assert method.parametrar, "the Swedish method must expose its thresholds"
    for name, p in method.parametrar.items():
        assert p.proveniens == "antagen" and len(p.motivering) > 40, name
