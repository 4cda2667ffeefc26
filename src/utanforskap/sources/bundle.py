"""The bundled data package: every open source converted to Parquet inside the package.

Layout of ``utanforskap/data/paket/``::

    manifest.json                 sources (origin, licence, sha256) and derived files (sha256)
    geografi/deso.parquet         the area hierarchy, one row per DeSO
    observationer/                an ObservationStore: DeSO rows and aggregated RegSO,
                                  kommun, län and riket rows, one dataset per source
    referens/<namn>.parquet       reference tables (schools, police lists)

Built by ``utanforskap importera --fran ../shared/data``; a fresh clone reads it offline.
The manifest has no timestamps, so a rebuild from the same files gives the same manifest
(the observation store's own manifest.json records when each dataset was written and is
therefore not listed among the derived files).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from utanforskap.atomic import atomic_path, write_text
from utanforskap.atomic import sha256_file as sha256
from utanforskap.errors import InputError
from utanforskap.observations.store import ObservationStore, bundled_store
from utanforskap.sources.result import SourceResult

MANIFEST = "manifest.json"
STORE_DIR = "observationer"
GEO_FILE = "geografi/deso.parquet"
REF_DIR = "referens"


@dataclass(frozen=True)
class Origin:
    repo: str
    commit: str
    licens: str
    innehall: str


_SCB = "CC0 (SCB:s statistikdatabas). Källa: SCB"
# Where each source folder under shared/data/se came from (see shared/data/README.md).
ORIGINS: dict[str, Origin] = {
    "se/keys": Origin(
        "addegezon/deso_socioeconomic_index", "3baf363", _SCB, "SCB:s nyckel DeSO 2018 -> RegSO 2020 -> kommun"
    ),
    "se/scb_deso_2022": Origin(
        "jkawalerowicz/2022-Sweden-riots", "dcf8aa8", _SCB, "SCB Statistikdatabasen, export per DeSO (xlsx)"
    ),
    "se/crime_polisen_deso": Origin(
        "jkawalerowicz/2022-Sweden-riots",
        "dcf8aa8",
        "Öppna data från Polismyndigheten. Källa: Polisen",
        "Anmälda brott, en rad per brott, sex brottskoder, DeSO-kodade",
    ),
    "se/schools_skolverket": Origin(
        "meysamaghighi/skolverket-data-extractor",
        "ed6c801",
        "Öppna data från Skolverket. Källa: Skolverket",
        "Slutbetyg årskurs 9 per skolenhet, läsåret 2024/25",
    ),
    "se/segregation_index": Origin(
        "addegezon/deso_socioeconomic_index", "3baf363", _SCB, "Segregationsbarometerns områdestyp per RegSO, 2022 och 2023"
    ),
    "se/police_utsatta_omraden/uso_2023": Origin(
        "jkawalerowicz/2022-Sweden-riots",
        "dcf8aa8",
        "Öppna data från Polismyndigheten. Källa: Polisen",
        "Polisens utsatta områden 2023, polygoner (EPSG:3006)",
    ),
    "se/police_utsatta_omraden/polisen_uso_2025": Origin(
        "real-estate-war-lord/am-dashboard-se (avskriven sida för sida)",
        "f082209",
        "Öppna data från Polismyndigheten. Källa: Polisen",
        "Polisens utsatta områden 2025 överlagda på DeSO 2025, RegSO 2025 och kommun (ytandelar)",
    ),
"se/valmyndigheten_valdistrikt": Origin(
        "sidebo/valresultat",
        "f7f4e97",
        "Öppna data från Valmyndigheten (tabellerna framställda av SCB). Källa: Valmyndigheten",
        "Slutligt valresultat per valdistrikt, riksdagsvalen 2018 och 2022",
    ),
}
KEY_FILE = "se/keys/koppling-deso2018-regso2020.csv"
SCHOOL_FILE = "se/schools_skolverket/Grundskola_Slutbetyg_ak9_samtliga_elever_2024-25_Skolenhet.csv"
SEG_REGSO = "se/segregation_index/regso_socioekonomisk_index_2022.csv"
SEG_DESO = "se/segregation_index/deso_with_index_2022.csv"
# Områdestyp per year: (RegSO file, DeSO file); 2023 is the latest year bundled.
SEG_YEARS = {
    year: (f"se/segregation_index/regso_socioekonomisk_index_{year}.csv", f"se/segregation_index/deso_with_index_{year}.csv")
    for year in (2022, 2023)
}
USO_2025 = "se/police_utsatta_omraden/polisen_uso_2025_overlap_deso2025_regso2025_kommun.csv"
USO_2023 = "se/police_utsatta_omraden/uso_2023.shp"
ELECTIONS = "se/valmyndigheten_valdistrikt"


def package_dir() -> Path:
    """The bundled package directory inside the installed utanforskap package."""
    return Path(str(resources.files("utanforskap.data").joinpath("paket")))


def default_store() -> ObservationStore:
    """The bundled observation store (all sources, all levels), its package checked once per process."""
    check_package()
    return bundled_store()


@lru_cache(maxsize=1)
def check_package() -> None:
    """Every derived file of the package against the package manifest's sha256 (see verify)."""
    root = package_dir()
    if not (root / MANIFEST).exists():
        return  # not built yet; bundled_store says how to build it
    problems = verify(root)
    if problems:
        more = f" (och {len(problems) - 1} till)" if len(problems) > 1 else ""
        raise InputError(
            f"{root}: det paketerade datat stämmer inte med manifestet: {problems[0]}{more}; "
            "installera om paketet eller kör `utanforskap importera --fran ../shared/data`"
        )


def reference(name: str, root: Path | None = None) -> pl.DataFrame:
    """A bundled reference table, e.g. 'skolenheter_ak9', 'polisen_uso_2025', 'valdistrikt_riksdag'."""
    path = (root or package_dir()) / REF_DIR / f"{name}.parquet"
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.parquet"))
        raise InputError(f"okänd referenstabell {name!r}; finns: {', '.join(known) or 'inga'}")
    return pl.read_parquet(path)


def manifest(root: Path | None = None) -> dict[str, Any]:
    path = (root or package_dir()) / MANIFEST
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def verify(root: Path | None = None) -> list[str]:
    """Check every derived file's sha256 against the manifest; return the mismatches (Swedish)."""
    root = root or package_dir()
    problems = []
    for entry in manifest(root)["harledda_filer"]:
        path = root / entry["fil"]
        if not path.exists():
            problems.append(f"{entry['fil']}: filen saknas")
        elif sha256(path) != entry["sha256"]:
            problems.append(f"{entry['fil']}: sha256 stämmer inte med manifestet")
    return problems


def build(fran: str | Path, till: str | Path | None = None) -> dict[str, Any]:
    """Read every source under `fran` (shared/data), write the package to `till`; return the manifest."""
    # The readers only here: opening the bundled store (default_store) needs none of them.
    from utanforskap import catalogue
    from utanforskap.geography.hierarchy import Geography
    from utanforskap.observations.aggregate import aggregate
    from utanforskap.sources import polisen, scb_export, segregation, skolverket, valmyndigheten

    fran = Path(fran)
    if (fran / "data" / "se").is_dir() and not (fran / "se").is_dir():
        fran = fran / "data"
    till = Path(till) if till is not None else package_dir()
    if not (fran / KEY_FILE).exists():
        raise InputError(f"{fran}: hittar inte {KEY_FILE}; ange mappen shared/data med --fran")
    cat = catalogue.load()
    geo = Geography.from_key_file(fran / KEY_FILE)

    scb_files = sorted((fran / "se/scb_deso_2022").glob("*.xlsx"))
    if not scb_files:
        raise InputError(f"{fran / 'se/scb_deso_2022'}: inga SCB-exporter (.xlsx)")
    crime_files = sorted((fran / "se/crime_polisen_deso").glob("*.csv"))
    if not crime_files:
        raise InputError(f"{fran / 'se/crime_polisen_deso'}: inga brottsfiler från Polisen (.csv)")
    results: dict[str, tuple[SourceResult, list[Path]]] = {
        "scb": (
            SourceResult(pl.concat([scb_export.read_export(f, geo) for f in scb_files]), rapport={"filer": len(scb_files)}),
            scb_files,
        ),
        "polisen_brott": (polisen.read_crimes(crime_files, geo), crime_files),
        "skolverket": (skolverket.read_grades(fran / SCHOOL_FILE, geo), [fran / SCHOOL_FILE]),
        "omradestyp": (
            segregation.read_area_types_years([(fran / r, fran / d) for r, d in SEG_YEARS.values()], geo),
            [fran / f for pair in SEG_YEARS.values() for f in pair],
        ),
        "polisen_uso_2025": (polisen.read_uso_2025(fran / USO_2025, geo), [fran / USO_2025]),
        "polisen_uso_2023": (
            polisen.read_uso_2023(fran / USO_2023, geo),
            sorted((fran / USO_2023).parent.glob("uso_2023.*")),
        ),
        "valmyndigheten": (
            valmyndigheten.read_turnout(fran / ELECTIONS, geo),
            [fran / ELECTIONS / f for f in valmyndigheten.FILES.values()],
        ),
    }

    datasets = {
        name: aggregate(res.observationer, cat, geo, where=name)
        for name, (res, _) in results.items()
        if not res.observationer.is_empty()
    }
    till.mkdir(parents=True, exist_ok=True)
    store = ObservationStore(till / STORE_DIR)
    with store.transaction() as tx:
        for old in set(store.datasets()) - set(datasets):
            tx.delete(old)
        for name, df in datasets.items():
            tx.put(name, df, niva=sorted(df["niva"].unique().to_list()), perioder=sorted(df["period"].unique().to_list()))

    derived: list[dict[str, Any]] = []
    geo_path = till / GEO_FILE
    geo.write_parquet(geo_path)
    derived.append(_entry(till, geo_path, "Områdeshierarkin DeSO 2018 -> RegSO 2020 -> kommun -> län -> riket", [KEY_FILE]))
    ref_names = set()
    for name, (res, files) in results.items():
        for ref_name, ref in res.referens.items():
            path = till / REF_DIR / f"{ref_name}.parquet"
            with atomic_path(path) as tmp:
                ref.write_parquet(tmp, compression="zstd")
            ref_names.add(ref_name)
            derived.append(_entry(till, path, f"Referenstabell ({name})", [_rel(fran, f) for f in files]))
    for stale in (till / REF_DIR).glob("*.parquet"):
        if stale.stem not in ref_names:
            stale.unlink()
    for name, meta in sorted(store.datasets().items()):
        files = results[name][1]
        derived.append(
            _entry(till, store.root / meta["fil"], f"Observationer ({name}), {meta['rader']} rader", [_rel(fran, f) for f in files])
        )

    sources = [_source(fran, fran / KEY_FILE)]
    for _, files in results.values():
        sources.extend(_source(fran, f) for f in files)
    out = {
        "paket": "utanforskap dataset",
        "beskrivning": "Öppna data om svenska områden omvandlade till Parquet; se docs/indikatorer.md.",
        "bygg": "utanforskap importera --fran ../shared/data",
        "kallfiler": sorted(sources, key=lambda s: s["fil"]),
        "harledda_filer": sorted(derived, key=lambda d: d["fil"]),
        "rapport": {name: res.rapport for name, (res, _) in results.items()},
    }
    write_text(till / MANIFEST, json.dumps(out, ensure_ascii=False, indent=2, default=str) + "\n")
    return out


def _origin(rel: str) -> Origin:
    best = max((k for k in ORIGINS if rel.startswith(k)), key=len, default=None)
    if best is None:
        raise InputError(f"{rel}: ursprunget är okänt; lägg till det i ORIGINS i sources/bundle.py")
    return ORIGINS[best]


def _source(fran: Path, path: Path) -> dict[str, Any]:
    rel = _rel(fran, path)
    o = _origin(rel)
    return {
        "fil": rel,
        "ursprung": {"repository": o.repo, "commit": o.commit},
        "licens": o.licens,
        "innehall": o.innehall,
        "sha256": sha256(path),
        "bytes": path.stat().st_size,
    }


def _entry(root: Path, path: Path, innehall: str, fran: list[str]) -> dict[str, Any]:
    return {
        "fil": str(path.relative_to(root)),
        "innehall": innehall,
        "sha256": sha256(path),
        "bytes": path.stat().st_size,
        "fran_kallfiler": sorted(fran),
    }


def _rel(fran: Path, path: Path) -> str:
    return str(Path(path).resolve().relative_to(fran.resolve()))

