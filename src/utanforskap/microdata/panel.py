"""SYNTETISKA DATA over several years: the same persons year after year (a panel), and the
checks a panel of microdata must pass.

    for year, table in draw_panel([2019, ..., 2024], personer=None, seed=2022): ...
    check_panel(path_or_table)     # a person id twice in one year, years overlapping across files

The model year (`ar` in data/syntetisk_modell.toml, 2022) is drawn by synthetic.draw, so it
is the same population as the single-year draw; the other years are simulated from it,
forwards and backwards in time, with the rates in the model file's [panel] table: ageing,
deaths, births, emigration and immigration, moves between DeSO (selective: movers go where
people of their labour-market status live), labour-market transitions, benefit spells,
suspicion of crime, sickness spells, voting in election years, school leaving. Every person
carries a stable `lopnr` (as in SCB's MONA). Vectorised numpy; the only loops run over
years and over the three labour-market statuses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from utanforskap.errors import InputError
from utanforskap.microdata import schema as ms
from utanforskap.microdata import synthetic as sy
from utanforskap.observations.store import connect_duckdb

LOPNR = "lopnr"
_STATE = ("area", "alder", "man", "bg", "status", "months", "trang", "eligible", "voted", "left", "behorig",
          "suspected", "days", "edu", "lag", "hh", "ref", "lopnr")


def panel_config() -> dict:
    cfg = sy.model()
    panel = cfg.get("panel")
    if not panel:
        raise InputError(f"{sy.MODEL_FILE}: tabellen [panel] saknas")
    return panel


def panel_years() -> list[int]:
    return [int(y) for y in panel_config()["ar"]]


def parse_years(text: str) -> list[int]:
    """'2019-2024' or '2022' or '2019,2021' -> years; an error naming the flag otherwise."""
    try:
        if "-" in text:
            a, b = (int(x) for x in text.split("-", 1))
            years = list(range(a, b + 1))
        else:
            years = sorted({int(x) for x in text.split(",")})
    except ValueError:
        raise InputError(f"--ar {text!r}: skriv ett år (2022), ett intervall (2019-2024) eller år med komma (2019,2022)") from None
    if not years:
        raise InputError(f"--ar {text!r}: intervallet är tomt; skriv t.ex. 2019-2024")
    if len(years) > 30 or any(y < 1990 or y > 2100 for y in years):
        raise InputError(f"--ar {text!r}: högst 30 år mellan 1990 och 2100")
    return years


# ---- state <-> Arrow ---------------------------------------------------------------------
def _codes(col: pa.ChunkedArray, missing: int, dtype) -> np.ndarray:
    arr = col.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        idx = arr.indices.cast(pa.int32()).fill_null(missing) if arr.null_count else arr.indices
        return idx.to_numpy(zero_copy_only=False).astype(dtype)
    if pa.types.is_boolean(arr.type):
        values = arr.fill_null(False).to_numpy(zero_copy_only=False).astype(dtype)
        if arr.null_count:
            values[arr.is_null().to_numpy(zero_copy_only=False)] = missing
        return values
    return arr.to_numpy(zero_copy_only=False).astype(dtype)


def _state(table: pa.Table) -> dict[str, np.ndarray]:
    fodelse = _codes(table["fodelseregion"], 0, np.uint8)
    bakgrund = _codes(table["bakgrund"], 0, np.uint8)
    bg = np.where(fodelse == 1, 2, np.where(fodelse == 2, 3, np.where(bakgrund == 1, 1, 0))).astype(np.uint8)
    n = table.num_rows
    return {
        "area": _codes(table["deso"], 0, np.int32),
        "alder": _codes(table["alder"], 0, np.int16),
        "man": _codes(table["kon"], 0, np.uint8) == 0,
        "bg": bg,
        "status": _codes(table["sysselsattning"], sy.STATUS_NONE, np.uint8),
        "months": _codes(table["bistand_manader"], 0, np.int8),
        "trang": _codes(table["trangbodd"], 2, np.uint8),
        "eligible": _codes(table["rostberattigad"], 0, bool),
        "voted": _codes(table["rostat"], 0, bool),
        "left": _codes(table["lamnat_ak9"], 0, bool),
        "behorig": _codes(table["behorig_gymnasiet"], 2, np.uint8),
        "suspected": _codes(table["misstankt_brott"], 0, bool),
        "days": _codes(table["ohalsodagar"], 0, np.int16),
        "edu": _codes(table["utbildning"], 4, np.uint8),
        "lag": _codes(table["lag_ekonomisk_standard"], 2, np.uint8),
        "hh": _codes(table["hushallstyp"], 255, np.uint8),
        "ref": _codes(table["hushallsreferens"], 0, bool),
        "lopnr": np.arange(1, n + 1, dtype=np.int64),
    }


def _to_table(state: dict, year: int, marg: sy.Marginals, n_drawn: int, seed: int, cfg: dict) -> pa.Table:
    n = state["area"].shape[0]
    table = sy._table(marg, n, seed, cfg, **{k: v for k, v in state.items() if k != "lopnr"})
    table = table.set_column(table.schema.get_field_index("ar"), "ar", pa.array(np.full(n, year, dtype=np.int16)))
    meta = dict(table.schema.metadata or {})
    meta[ms.META_KALLA] = panel_label(n_drawn, seed).encode("utf-8")
    return table.append_column(LOPNR, pa.array(state["lopnr"])).replace_schema_metadata(meta)


def panel_label(n: int, seed: int) -> str:
    return (
        f"{sy.LABEL}: syntetisk panel ({n} personer år {sy.model()['ar']}, seed {seed}, modell {sy.model()['version']}), "
        "kalibrerad mot SCB:s DeSO-tabeller 2022, övriga år simulerade"
    )


# ---- one year's events ---------------------------------------------------------------------
def _take(state: dict, keep: np.ndarray) -> dict:
    return {k: v[keep] for k, v in state.items()}


def _concat(a: dict, b: dict) -> dict:
    return {k: np.concatenate([a[k], b[k]]) for k in a}


def _area_rates(area: np.ndarray, value: np.ndarray, mask: np.ndarray, n_areas: int, prior: float, weight: float = 20.0) -> np.ndarray:
    """Per DeSO: the share of `value` among persons in `mask`, shrunk towards `prior`."""
    num = np.bincount(area[mask], weights=value[mask].astype(np.float64), minlength=n_areas)
    den = np.bincount(area[mask], minlength=n_areas).astype(np.float64)
    return (num + prior * weight) / (den + weight)


class _Rates:
    """What the simulation keeps from the drawn model year: area patterns of things the
    model does not simulate person by person (school eligibility, overcrowding, suspicion)."""

    def __init__(self, s: dict, n_areas: int):
        a = s["area"]
        in_hh = s["trang"] != 2
        self.trang = _area_rates(a, s["trang"] == 1, in_hh, n_areas, float((s["trang"][in_hh] == 1).mean()))
        left = s["left"]
        self.behorig = _area_rates(a, s["behorig"] == 1, left, n_areas, float((s["behorig"][left] == 1).mean()) if left.any() else 0.85)
        # Suspicion: by (DeSO, sex, age group 15-24 / 25-44 / 45+).
        grp = self.group(s)
        cells = a.astype(np.int64) * 6 + grp
        ok = s["alder"] >= 15
        num = np.bincount(cells[ok], weights=s["suspected"][ok].astype(np.float64), minlength=n_areas * 6)
        den = np.bincount(cells[ok], minlength=n_areas * 6).astype(np.float64)
        nat = np.bincount(grp[ok], weights=s["suspected"][ok].astype(np.float64), minlength=6) / np.maximum(np.bincount(grp[ok], minlength=6), 1)
        self.suspect = ((num + np.tile(nat, n_areas) * 20) / (den + 20)).astype(np.float32)
        # Labour-market status per (DeSO, age group 16-19 / 20-24 / 25-64): the model year's distribution.
        work = (s["status"] != sy.STATUS_NONE)
        cell = a.astype(np.int64) * 3 + self.work_group(s["alder"])
        counts = np.zeros((n_areas * 3, 3))
        np.add.at(counts, (cell[work], s["status"][work].astype(np.int64)), 1.0)
        nat = counts.reshape(n_areas, 3, 3).sum(axis=0)
        nat = nat / np.maximum(nat.sum(axis=1, keepdims=True), 1)
        self.status = (counts + 5 * np.tile(nat, (n_areas, 1))) / (counts.sum(axis=1, keepdims=True) + 5)
        # Benefit: the share of 18+ with benefit per DeSO.
        adult = s["alder"] >= 18
        self.bistand = _area_rates(a, s["months"] > 0, adult, n_areas, float((s["months"][adult] > 0).mean()))
        spells = s["days"][(s["days"] > 0) & (s["days"] < 365)]
        self.spells = spells if spells.shape[0] else np.array([30], dtype=np.int16)

    @staticmethod
    def work_group(age: np.ndarray) -> np.ndarray:
        return np.where(age < 20, 0, np.where(age < 25, 1, 2)).astype(np.int64)

    @staticmethod
    def group(s: dict) -> np.ndarray:
        age = s["alder"]
        band = np.where(age < 25, 0, np.where(age < 45, 1, 2))
        return (band * 2 + s["man"].astype(np.int64)).astype(np.int64)


def _step(s: dict, p: dict, rates: _Rates, year: int, direction: int, next_id: int, rng: np.random.Generator, n_areas: int):
    """The state one year later (direction +1) or earlier (-1)."""
    n = s["area"].shape[0]
    age = s["alder"]
    # Leaving: deaths and emigration forwards; backwards the reverse of births and immigration.
    if direction > 0:
        death = np.asarray(p["dodlighet"], dtype=np.float32)
        p_die = np.where(age < 65, death[0], np.where(age < 85, death[1], death[2]))
        p_emig = np.where(s["bg"] >= 2, p["utvandring"] * p["utvandring_utrikes_fodda_faktor"], p["utvandring"])
        stay = rng.random(n, dtype=np.float32) >= (p_die + p_emig)
    else:
        p_imm = np.where(s["bg"] >= 2, p["invandring"] * 2.0, 0.0)  # immigrants are foreign born
        stay = (rng.random(n, dtype=np.float32) >= p_imm) & (age > 0)
    s = _take(s, stay)
    n = s["area"].shape[0]
    # Arriving: births and immigrants forwards; backwards the dead and emigrated come back.
    if direction > 0:
        parents = np.flatnonzero((s["alder"] >= 25) & (s["alder"] <= 40))
        born = _clone(s, parents[rng.integers(0, parents.shape[0], round(n * p["fodda"]))])
        k = born["area"].shape[0]
        born.update(alder=np.full(k, -1, np.int16), man=rng.random(k) < 0.512, bg=np.where(born["bg"] > 0, 1, 0).astype(np.uint8),
                    status=np.full(k, sy.STATUS_NONE, np.uint8), months=np.zeros(k, np.int8), eligible=np.zeros(k, bool),
                    voted=np.zeros(k, bool), left=np.zeros(k, bool), behorig=np.full(k, 2, np.uint8), suspected=np.zeros(k, bool),
                    days=np.zeros(k, np.int16), edu=np.full(k, 4, np.uint8), ref=np.zeros(k, bool))
        foreign = np.flatnonzero((s["bg"] >= 2) & (s["alder"] < 65))
        imm = _clone(s, foreign[rng.integers(0, foreign.shape[0], round(n * p["invandring"]))])
        imm.update(eligible=np.zeros(imm["area"].shape[0], bool), voted=np.zeros(imm["area"].shape[0], bool))
        new = _concat(born, imm)
    else:
        old = np.flatnonzero(s["alder"] >= 65)
        death = np.asarray(p["dodlighet"], dtype=np.float64)
        back = _clone(s, old[rng.integers(0, old.shape[0], round(n * death[1] * 0.6))])
        emig = _clone(s, rng.integers(0, n, round(n * p["utvandring"] * 1.5)))
        new = _concat(back, emig)
    k = new["area"].shape[0]
    new["lopnr"] = np.arange(next_id, next_id + k, dtype=np.int64)
    next_id += k
    s = _concat(s, new)
    n = s["area"].shape[0]
    s["alder"] = np.clip(s["alder"] + direction, 0, 130).astype(np.int16)
    age = s["alder"]

    # Moves: selective, to an area where someone of the same labour-market group lives.
    p_move = np.where((age >= 20) & (age <= 34), p["flyttar"] * p["flyttar_20_34_faktor"], p["flyttar"]).astype(np.float32)
    movers = np.flatnonzero(rng.random(n, dtype=np.float32) < p_move)
    group = np.minimum(s["status"], 3)
    for g in range(4):
        who = movers[group[movers] == g]
        pool = np.flatnonzero(group == g)
        if who.shape[0] and pool.shape[0]:
            s["area"][who] = s["area"][pool[rng.integers(0, pool.shape[0], who.shape[0])]]
    moved = np.zeros(n, bool)
    moved[movers] = True

    # Labour-market status 16-64.
    old_status = s["status"].copy()
    work = (age >= 16) & (age <= 64)
    redraw = work & ((old_status == sy.STATUS_NONE) | (rng.random(n, dtype=np.float32) < p["sysselsattning_omdragning"]))
    idx = np.flatnonzero(redraw)
    cell = s["area"][idx].astype(np.int64) * 3 + _Rates.work_group(age[idx])
    s["status"][idx] = sy.draw_categories(rates.status, cell, rng)
    s["status"][~work] = sy.STATUS_NONE
    # Low economic standard follows work.
    u = rng.random(n, dtype=np.float32)
    got_job = (s["status"] == 0) & (old_status != 0) & (old_status != sy.STATUS_NONE)
    lost_job = (s["status"] != 0) & (old_status == 0) & work
    s["lag"][got_job & (s["lag"] == 1) & (u < p["lag_ekonomisk_standard_till_arbete"])] = 0
    s["lag"][lost_job & (s["lag"] == 0) & (u < p["lag_ekonomisk_standard_fran_arbete"])] = 1
    # Education: drawn at 25 (national pattern), unknown outside 25-64.
    turned25 = np.flatnonzero(age == 25) if direction > 0 else np.flatnonzero(age == 64)
    edu_p = np.asarray([sy.model()["utbildning"]["startvarden"]])
    s["edu"][turned25] = sy.draw_categories(edu_p, np.zeros(turned25.shape[0], np.int64), rng)
    s["edu"][(age < 25) | (age > 64)] = 4

    # Ekonomiskt bistånd 18+.
    had = s["months"] > 0
    keep = had & (rng.random(n, dtype=np.float32) < p["bistand_kvar"])
    b = rates.bistand[s["area"]]
    q = p["bistand_kvar"]
    mult = np.asarray(p["bistand_ny_status"], dtype=np.float64)[np.minimum(s["status"], 3)]
    could = ~had & (age >= 18)
    mult = mult / max(float(mult[could].mean()), 1e-9) if could.any() else mult
    new_rate = (1 - q) * b / np.maximum(1 - b, 1e-6) * mult
    start = could & (rng.random(n, dtype=np.float32) < new_rate)
    months = np.where(keep, s["months"], 0).astype(np.int8)
    starts = np.flatnonzero(start)
    months[starts] = (1 + rng.binomial(10, 0.4, starts.shape[0])).astype(np.int8)
    months[age < 18] = 0
    s["months"] = months

    # Overcrowding: movers and new persons take their new area's level; others keep theirs.
    redraw = np.flatnonzero((moved | (s["trang"] == 2)) & (s["hh"] != 255))
    s["trang"][redraw] = (rng.random(redraw.shape[0], dtype=np.float32) < rates.trang[s["area"][redraw]]).astype(np.uint8)
    s["trang"][s["hh"] == 255] = 2

    # Suspicion of crime 15+.
    g = _Rates.group(s)
    cell = rates.suspect[s["area"].astype(np.int64) * 6 + g]
    q = p["misstankt_kvar"]
    p_sus = np.where(s["suspected"], q, (1 - q) * cell / np.maximum(1 - cell, 1e-6))
    s["suspected"] = (age >= 15) & (rng.random(n, dtype=np.float32) < p_sus)

    # Sickness days 16-64.
    d = s["days"]
    u = rng.random(n, dtype=np.float32)
    whole = ((d == 365) & (u < p["ohalsa_helar_kvar"])) | ((d < 365) & (u > 1 - p["ohalsa_ny_helar"]))
    spell_keep = (d > 0) & (d < 365) & (u < p["ohalsa_period_kvar"])
    spell_new = (d == 0) & (u < p["ohalsa_ny_period"])
    new_days = np.where(whole, 365, np.where(spell_keep, d, 0)).astype(np.int16)
    fresh = np.flatnonzero(spell_new)
    new_days[fresh] = rates.spells[rng.integers(0, rates.spells.shape[0], fresh.shape[0])]
    new_days[(age < 16) | (age > 64)] = 0
    s["days"] = new_days

    # School leaving (year-end age 16 mostly) and eligibility by the area's level.
    al = sy.model()["lank"]["lamnat_ak9"]
    p_left = np.where(age == 16, al["andel_alder_16"], np.where(age == 15, al["andel_alder_15"], np.where(age == 17, al["andel_alder_17"], 0.0)))
    s["left"] = rng.random(n, dtype=np.float32) < p_left
    s["behorig"] = np.where(s["left"], (rng.random(n, dtype=np.float32) < rates.behorig[s["area"]]).astype(np.uint8), 2).astype(np.uint8)

    # Voting: eligibility and turnout change in election years only ("senaste riksdagsvalet").
    if year in {int(v) for v in p["valar"]}:
        rl = sy.model()["lank"]["rostberattigad"]
        p_cit = np.array([1.0, 1.0, rl["andel_medborgare_europa"], rl["andel_medborgare_ovriga_varlden"]], dtype=np.float32)
        was = s["eligible"].copy()
        s["eligible"] = (age >= 18) & (was | (rng.random(n, dtype=np.float32) < p_cit[s["bg"]]))
        u = rng.random(n, dtype=np.float32)
        p_vote = np.where(~was, p["rostat_forstagang"], np.where(s["voted"], p["rostat_igen"], p["rostat_ny"]))
        s["voted"] = s["eligible"] & (u < p_vote)
    s["eligible"] &= age >= 18
    s["voted"] &= s["eligible"]
    s["ref"] &= s["hh"] != 255
    return s, next_id


def _clone(s: dict, idx: np.ndarray) -> dict:
    return {k: v[idx].copy() for k, v in s.items()}


def draw_panel(years: list[int], personer: int | None = None, seed: int = 2022) -> Iterator[tuple[int, pa.Table]]:
    """SYNTETISKA DATA: (year, persons) for every year, the same persons (lopnr) across years.

    The model year is drawn; the years after it are simulated forwards, the years before it
    backwards. Yields in ascending year order."""
    years = sorted({int(y) for y in years})
    cfg = sy.model()
    p = panel_config()
    base_year = int(cfg["ar"])
    marg = sy.marginals()
    n_drawn = marg.total if personer is None else int(personer)
    base = _state(sy.draw(n_drawn, seed, marg))
    n_areas = marg.deso.shape[0]
    rates = _Rates(base, n_areas)
    rng = np.random.default_rng([seed, 1])
    out: dict[int, dict] = {}
    before = [y for y in years if y < base_year]
    after = [y for y in years if y > base_year]
    next_id = int(base["lopnr"].max()) + 1
    if base_year in years:
        out[base_year] = base
    # Backwards first (yielded in order), then the model year, then forwards.
    if before:
        s = base
        for y in range(base_year - 1, min(before) - 1, -1):
            s, next_id = _step(s, p, rates, y, -1, next_id, rng, n_areas)
            if y in before:
                out[y] = s
        for y in sorted(before):
            yield y, _to_table(out.pop(y), y, marg, n_drawn, seed, cfg)
    if base_year in years:
        yield base_year, _to_table(out.pop(base_year), base_year, marg, n_drawn, seed, cfg)
    s = base
    for y in range(base_year + 1, (max(after) if after else base_year) + 1):
        s, next_id = _step(s, p, rates, y, +1, next_id, rng, n_areas)
        if y in after:
            yield y, _to_table(s, y, marg, n_drawn, seed, cfg)


# ---- checks for panels of real or synthetic microdata -------------------------------------
def check_panel(source: str | os.PathLike[str] | pa.Table, where: str | None = None) -> None:
    """In a panel (files with lopnr): a person id that appears twice in one year, or a year
    found in two files of a folder, is an error naming the file(s), the year and the id.
    Files without lopnr are not a panel (a year may be split over several files)."""
    con = connect_duckdb()
    try:
        if isinstance(source, pa.Table):
            files = [(where or "mikrodata i minnet", source)]
        else:
            files = [(str(f), f) for f in ms.parquet_files(Path(source))]
        seen: dict[int, str] = {}
        for name, f in files:
            rel = con.from_arrow(f) if isinstance(f, pa.Table) else con.read_parquet(str(f))
            cols = rel.columns
            if LOPNR not in cols:
                continue  # not a panel: one year may be split over several files
            years = [r[0] for r in rel.aggregate("ar", "ar").fetchall()]
            for y in years:
                if y in seen and seen[y] != name:
                    raise InputError(
                        f"{name}: år {y} finns också i {seen[y]}; en panel har varje år i en enda fil (ta bort dubbletten)"
                    )
                seen[y] = name
            if LOPNR in cols:
                rows = con.sql(
                    "SELECT ar, lopnr, count(*) AS n FROM rel WHERE lopnr IS NOT NULL GROUP BY ar, lopnr HAVING count(*) > 1 "
                    "ORDER BY ar, lopnr LIMIT 1"
                ).fetchall()
                dup = rows[0] if rows else None
                if dup:
                    raise InputError(
                        f"{name}: lopnr {dup[1]} förekommer {dup[2]} gånger år {dup[0]}; en person har en rad per år (kolumnen lopnr)"
                    )
    finally:
        con.close()


# ---- the cached observation store of the panel ----------------------------------------------
def panel_store(years: list[int] | None = None, personer: int | None = None, seed: int = 2022):
    """SYNTETISKA DATA: an observation store with the panel aggregated year by year, with
    disclosure control (as synthetic.synthetic_store, one period per year). Built once under
    $XDG_CACHE_HOME/utanforskap/syntetisk-panel-<seed>-<n>-<first>-<last>."""
    import hashlib

    from utanforskap.observations.store import ObservationStore
    from utanforskap.settings import load as load_settings

    years = sorted(set(years or panel_years()))
    min_antal = load_settings().min_antal
    h = hashlib.sha256(sy.cache_key(min_antal).encode() + Path(__file__).read_bytes() + repr(years).encode())
    key = h.hexdigest()[:16]
    root = sy.cache_root() / f"syntetisk-panel-{seed}-{'alla' if personer is None else int(personer)}-{years[0]}-{years[-1]}"
    store = ObservationStore(root)
    if sy._is_current(store, key):
        return store
    root.mkdir(parents=True, exist_ok=True)
    with sy._build_lock(root):
        if sy._is_current(store, key):
            return store
        import polars as pl

        from utanforskap.microdata.aggregate import aggregate

        parts, n = [], None
        for _year, table in draw_panel(years, personer, seed):
            n = n or table.num_rows
            parts.append(aggregate(table, "deso", where=table.schema.metadata[ms.META_KALLA].decode(), min_antal=min_antal))
        label = panel_label(personer or sy.marginals().total, seed)
        store.write(
            {sy.DATASET: pl.concat(parts)},
            meta={sy.DATASET: {"nyckel": key, "modell": sy.model_digest(), "min_antal": min_antal, "personer": personer,
                               "seed": seed, "syntetisk": True, "beskrivning": label, "ar": years}},
        )
    return store
