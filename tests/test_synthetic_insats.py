"""`utanforskap syntetisk --insats`: a made-up measure's known effect injected into the synthetic
panel, person by person, and recovered by the effect estimators end to end."""

from __future__ import annotations

import csv

import numpy as np
import pyarrow as pa
import pytest
from cli_helpers import cli

from utanforskap.errors import InputError
from utanforskap.microdata import insats
from utanforskap.microdata import schema as ms

TREATED, UNTREATED = "0180R002", "0180R001"
DESO = {TREATED: ["0180C6340", "0180C6410", "0180C6420"], UNTREATED: ["0180C4050", "0180C4190"]}


def spec_file(tmp_path, **kw) -> str:
    lines = [f"{k} = {v!r}".replace("'", '"') for k, v in {"utfall": "sysselsattning", "start": 2022, **kw}.items()]
    path = tmp_path / "insats.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def people(year: int, n: int = 200_000, seed: int = 1) -> pa.Table:
    """Persons in two RegSO (five DeSO), a stable lopnr, 70 % employed among 16-64, 5 % suspected."""
    rng = np.random.default_rng(seed)
    codes = DESO[TREATED] + DESO[UNTREATED]
    status = np.where(rng.random(n) < 0.7, 0, np.where(rng.random(n) < 0.5, 1, 2)).astype(np.int8)
    age = rng.integers(0, 90, n)
    status_arr = pa.DictionaryArray.from_arrays(pa.array(status, mask=(age < 16) | (age > 64)), pa.array(list(ms.SYSSELSATTNING)))
    table = pa.table({
        "ar": pa.array(np.full(n, year, np.int16)),
        "deso": pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, len(codes), n).astype(np.int32)), pa.array(codes)),
        "alder": pa.array(age.astype(np.int16)),
        "sysselsattning": status_arr,
        "misstankt_brott": pa.array(rng.random(n) < 0.05),
        "lopnr": pa.array(np.arange(1, n + 1, dtype=np.int64)),
    })
    return table.replace_schema_metadata({ms.META_KALLA: b"SYNTETISKA DATA: test"})


def shares(table: pa.Table, column: str, lo: int, hi: int, value=True) -> dict[str, float]:
    import polars as pl

    df = pl.from_arrow(table.select(["deso", "alder", column])).with_columns(pl.col("deso").cast(pl.String))
    df = df.filter(pl.col("alder").is_between(lo, hi))
    hit = (pl.col(column) == value) if value is not True else pl.col(column)
    return {r: df.filter(pl.col("deso").is_in(DESO[r])).select(hit.fill_null(False).mean()).item() for r in DESO}


def test_the_effect_moves_only_treated_areas_from_start_by_the_stated_amount(tmp_path):
    spec = insats.read_spec(spec_file(tmp_path, effekt=0.05, omraden=[TREATED]), [2020, 2021, 2022, 2023])
    assert spec.effect_per_thousand == pytest.approx(50.0)
    before = people(2021)
    same, capped = insats.inject(before, spec)
    assert capped == 0 and same["sysselsattning"].equals(before["sysselsattning"])  # before start: untouched
    assert "inlagd effekt" in same.schema.metadata[ms.META_KALLA].decode()  # but the label says what the file holds
    after = people(2022)
    treated, _ = insats.inject(after, spec)
    s0, s1 = shares(after, "sysselsattning", 16, 64, "sysselsatt"), shares(treated, "sysselsattning", 16, 64, "sysselsatt")
    assert s1[UNTREATED] == s0[UNTREATED]
    assert s1[TREATED] - s0[TREATED] == pytest.approx(0.05, abs=0.006)  # binomial noise on ~80 000 persons
    # outside the age band nobody changes; the type of the column is kept
    ages = after["alder"].to_numpy()
    changed = np.asarray(after["sysselsattning"].combine_chunks().indices.fill_null(-1)) != np.asarray(
        treated["sysselsattning"].combine_chunks().indices.fill_null(-1))
    assert changed.any() and ((ages[changed] >= 16) & (ages[changed] <= 64)).all()
    assert treated.schema.field("sysselsattning").type == after.schema.field("sysselsattning").type
    # the same persons are affected the next year (a stable number per lopnr)
    again, _ = insats.inject(people(2023), spec)
    changed_next = np.asarray(people(2023)["sysselsattning"].combine_chunks().indices.fill_null(-1)) != np.asarray(
        again["sysselsattning"].combine_chunks().indices.fill_null(-1))
    assert (changed & changed_next).sum() > 0.5 * changed.sum()


def test_a_negative_effect_on_a_true_false_outcome(tmp_path):
    spec = insats.read_spec(spec_file(tmp_path, utfall="misstankt_brott", effekt=-0.02, omraden=[TREATED]), [2021, 2022])
    after = people(2022)
    treated, _ = insats.inject(after, spec)
    s0, s1 = shares(after, "misstankt_brott", 15, 130), shares(treated, "misstankt_brott", 15, 130)
    assert s1[TREATED] - s0[TREATED] == pytest.approx(-0.02, abs=0.004) and s1[UNTREATED] == s0[UNTREATED]


@pytest.mark.parametrize(
    ("kw", "years", "words"),
    [
        ({"utfall": "lycka", "omraden": [TREATED]}, [2020, 2023], "utfall 'lycka' är okänt; välj sysselsattning"),
        ({"start": 2020, "omraden": [TREATED]}, [2020, 2023], "minst ett år före start"),
        ({"omraden": ["0180R999"]}, [2020, 2023], "okänd RegSO-kod '0180R999'"),
        ({}, [2020, 2023], "ange antingen omraden"),
        ({"omraden": [TREATED], "antal_omraden": 3}, [2020, 2023], "ange antingen omraden"),
        ({"omraden": [TREATED], "effekt": 1.5}, [2020, 2023], "effekt"),
    ],
)
def test_bad_measure_files(tmp_path, kw, years, words):
    with pytest.raises(InputError, match=words.replace("(", r"\(")) as exc:
        insats.read_spec(spec_file(tmp_path, **kw), years)
    assert "insats.toml" in str(exc.value) and "\n" not in str(exc.value)


def test_areas_drawn_at_random_are_reproducible(tmp_path):
    a = insats.read_spec(spec_file(tmp_path, antal_omraden=25, seed=4), [2020, 2023])
    b = insats.read_spec(spec_file(tmp_path, antal_omraden=25, seed=4), [2020, 2023])
    assert a.areas == b.areas and len(a.areas) == 25
    assert insats.treated_csv(a).splitlines()[1] == f"{a.areas[0]},2022"


@pytest.mark.slow  # draws a panel, aggregates it and runs the estimator in subprocesses
def test_the_effect_pipeline_recovers_the_injected_effect(tmp_path):
    """End to end on SYNTETISKA DATA: `syntetisk --insats` injects +50 per 1 000 in employment,
    `aggregera` counts the areas, `effekt` estimates it; the 95 % interval covers the truth."""
    spec = spec_file(tmp_path, effekt=0.05, antal_omraden=60, seed=3)
    panel, store, out = tmp_path / "panel", tmp_path / "lager", tmp_path / "ut"
    r = cli("syntetisk", "--ar", "2020-2023", "--personer", "400000", "--seed", "5", "--insats", spec, "--ut", panel, timeout=900)
    assert r.returncode == 0, r.stderr
    assert "SYNTETISKA DATA med inlagd effekt" in r.stdout and "+50,0" in r.stdout
    truth = insats.read_spec(panel / "insats.toml", [2020, 2023])  # the file beside the panel gives the same measure
    assert truth.effect_per_thousand == pytest.approx(50.0) and len(truth.areas) == 60
    r = cli("aggregera", "--mikrodata", panel, "--lager", store, "--niva", "regso", "--utan-rojandekontroll", timeout=900)
    assert r.returncode == 0, r.stderr
    r = cli("effekt", "--behandlade", panel / "behandlade.csv", "--utfall", "sysselsatta_16_64", "--per-tusen", "befolkning_16_64",
            "--data", store, "--metod", "did", "--ingen-rapport", "--ut", out, timeout=900)
    assert r.returncode == 0, r.stderr
    assert "SYNTETISKA DATA" in r.stdout
    rows = {row["metod"]: row for row in csv.DictReader((out / "effekt.csv").open(encoding="utf-8"))}
    for metod in ("callaway-santanna", "did2s"):
        lo, hi = float(rows[metod]["nedre_95"]), float(rows[metod]["ovre_95"])
        assert lo <= 50.0 <= hi, (metod, lo, hi)
        assert lo > 0  # and the effect is seen
