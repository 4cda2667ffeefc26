"""Frozen thresholds: `utanforskap metoder --frys` and methods.freeze."""

import tomllib

import numpy as np
import polars as pl
import pytest
from cli_helpers import cli

from utanforskap.errors import MethodError
from utanforskap.methods import engine, loader
from utanforskap.methods.freeze import freeze
from utanforskap.results import karta


@pytest.mark.slow
def test_frozen_method_gives_the_same_list_on_the_base_year(tmp_path):
    out = tmp_path / "fixerad.toml"
    res = cli("metoder", "--frys", "se-oppna-data-2022", "--ar", "2022", "--ut", out)
    assert res.returncode == 0, res.stderr
    raw = tomllib.loads(out.read_text(encoding="utf-8"))
    fixed = {n: p for n, p in raw["parametrar"].items() if p["proveniens"] == "fixerad"}
    assert len(fixed) == 5
    employment = fixed["riket_sysselsatta_fixerad_2022"]
    assert employment["fixerad"]["basar"] == 2022 and employment["fixerad"]["multipel"] == 0.7
    assert abs(employment["fixerad"]["rikets_varde"] - 0.7775) < 1e-3 and "2022" in employment["motivering"]
    relative = karta.compute("se-oppna-data-2022", 2022)
    frozen = karta.compute(out, 2022)
    cols = ["regso_kod", "klass", "antal_flaggor", *[f.flagga for f in relative.factors if f.flagga]]
    assert frozen.areas.select(cols).equals(relative.areas.select(cols))
    assert relative.listed.height > 100
    # The frozen thresholds no longer follow the country: doubling every crime count moves
    # the relative method's national value with it, not the frozen one.
    inputs = relative._memo["inputs"].with_columns(pl.col("brott_3ar") * 2)
    rel2 = engine.run(relative.method, inputs)
    fro2 = engine.run(frozen.method, inputs)
    assert rel2["flagga_kriminalitet"].sum() == relative.areas["flagga_kriminalitet"].sum()
    assert fro2["flagga_kriminalitet"].sum() > relative.areas["flagga_kriminalitet"].sum()


PERCENTILE = """
id = "p"
titel = "p"
version = "1"
proveniens = "antagen"
nyckel = "k"
[parametrar.p90]
varde = 0.9
proveniens = "antagen"
motivering = "test"
[indata.x]
riktning = "hogt_ar_daligt"
[indata.y]
riktning = "hogt_ar_bra"
[indata.g]
typ = "text"
[[steg]]
namn = "px"
typ = "percentilrang"
indata = "x"
[[steg]]
namn = "rx"
typ = "avrunda"
indata = "px"
decimaler = 2
[[steg]]
namn = "fx"
typ = "flagga"
indata = "rx"
operator = ">="
grans = { parameter = "p90" }
[[steg]]
namn = "py"
typ = "percentilrang"
indata = "y"
vand = true
[[steg]]
namn = "fy"
typ = "flagga"
indata = "py"
operator = ">"
grans = 0.8
[utdata]
kolumner = ["fx", "fy"]
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentile_thresholds_freeze_to_the_boundary_value(seed):
    rng = np.random.default_rng(seed)
    n = 500
    data = pl.DataFrame({"k": [str(i) for i in range(n)], "x": rng.integers(0, 60, n).astype(float), "y": rng.normal(size=n), "g": ["a"] * n})
    data = data.with_columns(pl.when(pl.col("x") == 3).then(None).otherwise(pl.col("x")).alias("x"))
    loaded = loader.load_dict(tomllib.loads(PERCENTILE), "p.toml")
    frame = engine.run(loaded, data, keep_all=True)
    raw = freeze(loaded, frame, 2020, engine.resolve_parameters(loaded))
    frozen = loader.load_dict(raw, "fixerad")
    assert raw["parametrar"]["fx_fixerad_2020"]["fixerad"]["percentil"] == 0.9
    assert next(s for s in raw["steg"] if s["namn"] == "fy")["operator"] == "<="
    assert engine.run(frozen, data).equals(engine.run(loaded, data))
    # On other data the frozen flag compares the value itself.
    shifted = data.with_columns(pl.col("x") + 100)
    assert engine.run(frozen, shifted)["fx"].drop_nulls().all()


def test_a_threshold_that_cannot_be_frozen_names_the_step():
    text = PERCENTILE.replace('typ = "percentilrang"\nindata = "x"', 'typ = "percentilrang"\nindata = "x"\ngrupp = ["g"]', 1)
    loaded = loader.load_dict(tomllib.loads(text), "p.toml")
    data = pl.DataFrame({"k": ["1", "2", "3"], "x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0], "g": ["a", "a", "b"]})
    frame = engine.run(loaded, data, keep_all=True)
    with pytest.raises(MethodError, match="steget px .*inom grupper"):
        freeze(loaded, frame, 2020, engine.resolve_parameters(loaded))


@pytest.mark.slow
def test_frys_without_a_year_is_a_one_line_error(tmp_path):
    res = cli("metoder", "--frys", "se-oppna-data-2022", "--ut", tmp_path / "x.toml")
    assert res.returncode == 2 and "--ar" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "x.toml").exists()
