"""The key between area vintages (DeSO 2018 -> DeSO 2025, RegSO 2020 -> RegSO 2025) from SCB's
aggregation codelists, or from a key file, into the store directory (`omradesnyckel.csv`).

    key = from_codelists(PxWebClient(...))        # GET /codelists/{id} for the two aggregations
    key = from_key_file("nyckel.xlsx")
    write(key, store_dir)

The codelist ids are data (`[omradesnyckel]` in data/seriebrott.toml). The change codes are
geography.vintages.classify's.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import polars as pl

from utanforskap.atomic import write_bytes
from utanforskap.errors import SourceError
from utanforskap.geography import vintages
from utanforskap.sources.pxweb import PxWebClient
from utanforskap.tomlmodel import parse_toml

KEY_FILE = "omradesnyckel.csv"


def codelist_ids() -> dict[str, str]:
    where = "utanforskap/data/seriebrott.toml"
    text = resources.files("utanforskap.data").joinpath("seriebrott.toml").read_text(encoding="utf-8")
    cfg = parse_toml(text, where).get("omradesnyckel") or {}
    if not isinstance(cfg, dict) or not cfg.get("regso_fran") or not cfg.get("regso_till"):
        raise SourceError(f"{where}: tabellen [omradesnyckel] behöver regso_fran och regso_till (kodlistornas id)")
    return {"regso_fran": str(cfg["regso_fran"]), "regso_till": str(cfg["regso_till"])}


def _members(client: PxWebClient, codelist_id: str) -> pl.DataFrame:
    cl = client.codelist(codelist_id)
    if not cl.value_map or not any(cl.value_map.values()):
        raise SourceError(f"SCB-kodlista {codelist_id}: ingen valueMap; nyckeln behöver en aggregering (typ Aggregation) från DeSO till RegSO")
    rows = [(r, d) for r, ds in cl.value_map.items() for d in ds]
    return pl.DataFrame(rows, schema={"regso_kod": pl.String, "deso_kod": pl.String}, orient="row")


def from_codelists(client: PxWebClient, ids: dict[str, str] | None = None) -> pl.DataFrame:
    """Both levels' keys from the two aggregation codelists."""
    ids = ids or codelist_ids()
    old, new = _members(client, ids["regso_fran"]), _members(client, ids["regso_till"])
    deso = vintages.classify(vintages.deso_links(old["deso_kod"], new["deso_kod"]), "deso")
    regso = vintages.classify(vintages.regso_links(deso, old, new), "regso", members=(deso, old, new))
    return pl.concat([deso, regso])


def from_key_file(path: str | os.PathLike[str]) -> pl.DataFrame:
    return vintages.read_key_file(path)


def write(key: pl.DataFrame, store_dir: str | os.PathLike[str]) -> Path:
    path = Path(store_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, key.write_csv().encode("utf-8"))
    return path


def read(store_dir: str | os.PathLike[str]) -> pl.DataFrame | None:
    """The stored key, or None when the store has none."""
    path = Path(store_dir) / KEY_FILE
    if not path.is_file():
        return None
    key = pl.read_csv(path, schema_overrides=vintages.KEY_COLUMNS, infer_schema_length=0)
    return vintages.check_key(key, str(path))
