"""Which data a map is computed on: the bundled open data, the synthetic population or a store.

    source = open_source("paket")      # or "syntetisk", or a store directory
    source.store, source.description, source.synthetic

This sits above `sources` and `microdata` (it opens what they build) and below `results`,
so that results never pick a data source themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from utanforskap.errors import InputError
from utanforskap.observations.store import ObservationStore

SYNTHETIC_LABEL = "SYNTETISKA DATA"


@dataclass(frozen=True)
class DataSource:
    store: ObservationStore
    description: str  # shown to users beside every result
    synthetic: bool


def open_source(data: str | os.PathLike[str] = "paket") -> DataSource:
    """`paket` (bundled open data), `syntetisk` (synthetic population) or a store directory."""
    if str(data) == "paket":
        from utanforskap.sources import bundle

        return DataSource(bundle.default_store(), "Öppna data som följer med programmet (SCB, Polisen m.fl.)", False)
    if str(data) == "syntetisk":
        from utanforskap.microdata.panel import panel_store, panel_years

        years = panel_years()
        return DataSource(
            panel_store(years),
            f"{SYNTHETIC_LABEL}: syntetisk befolkning {years[0]}–{years[-1]} (samma personer varje år), inte verkliga personer",
            True,
        )
    path = Path(data)
    if not (path / "manifest.json").is_file():
        raise InputError(f"{path}: inget observationslager här (manifest.json saknas); ange paket, syntetisk eller en lagerkatalog")
    store = ObservationStore(path)
    synthetic = any("SYNTETISK" in k.upper() for e in store.datasets().values() for k in e.get("kallor", []))
    label = f"{SYNTHETIC_LABEL}: observationslager {path}" if synthetic else f"Observationslager {path}"
    return DataSource(store, label, synthetic)
