"""Settings read from the environment (prefix UTANFORSKAP_) with sensible defaults.

One small module others can extend: add a field here and it is read from
`UTANFORSKAP_<FIELD NAME IN CAPITALS>`. Described for users in docs/datakallor.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from utanforskap.errors import InputError
from utanforskap.validation import swedish_message


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UTANFORSKAP_", extra="ignore", frozen=True)

    # Data services
    scb_url: str = Field(default="https://statistikdatabasen.scb.se/api/v2", description="SCB PxWebApi 2.0")
    kolada_url: str = Field(default="https://api.kolada.se/v3", description="Kolada API v3")

    # Where things are kept
    cache_dir: Path = Field(default=Path("cache"), description="Raw API responses (for offline replay)")
    store_dir: Path = Field(default=Path("lager"), description="The observation store")

    # HTTP behaviour
    http_timeout: float = Field(default=60.0, gt=0, description="Seconds before one request times out")
    http_max_tries: int = Field(default=6, ge=1, description="Tries per request (5xx, timeout, 429)")
    http_backoff_base: float = Field(default=1.0, ge=0, description="First wait after a failure; doubles per try")
    http_backoff_cap: float = Field(default=60.0, ge=0, description="Longest wait between two tries")
    http_retry_after_cap: float = Field(default=300.0, ge=0, description="Longest Retry-After honoured")

    # Map geometry for reports (utanforskap rapport): RegSO/DeSO polygons beyond the bundled ones
    regso_geometri: Path | None = Field(default=None, description="GeoPackage (or any OGR file) with RegSO or DeSO polygons")
    geometri_wfs: str = Field(default="https://geodata.scb.se/geoserver/stat/wfs", description="SCB's WFS; empty to never ask")
    geometri_wfs_timeout: float = Field(default=4.0, gt=0, description="Seconds before the WFS is given up for this run")

    # Disclosure control for microdata: cells built on fewer persons are protected.
    min_antal: int = Field(default=5, ge=1, description="Disclosure threshold N")
    # Microdata: persons 20-64 with at least this many months of ekonomiskt bistånd receive it.
    bistand_min_manader: int = Field(default=1, ge=1, le=12, description="Months of ekonomiskt bistånd (1–12)")

    # The metodbank's database: a SQLAlchemy URL (sqlite:///FIL or postgresql://...); empty:
    # a SQLite file in the user's data directory. The secret that signs login cookies (empty:
    # one is generated and kept beside the SQLite file, or in the database).
    databas: str | None = Field(default=None, description="The metodbank's database URL")
    hemlighet: str | None = Field(default=None, description="Secret for signed session cookies")


_loaded: dict[tuple[tuple[str, str], ...], Settings] = {}


def load(**overrides: Any) -> Settings:
    """Settings from the environment, with `overrides` on top; errors name the variable.

    Without overrides the Settings (frozen) are read once per set of UTANFORSKAP_ variables:
    reading them cost some 8 ms, and a kommun report asked four times (290 reports: 10 s)."""
    if overrides:
        return _read(**overrides)
    key = tuple(sorted((k.upper(), v) for k, v in os.environ.items() if k.upper().startswith("UTANFORSKAP_")))
    hit = _loaded.get(key)
    if hit is None:
        if len(_loaded) >= 32:  # tests set many environments; keep the memory bounded
            _loaded.clear()
        hit = _loaded[key] = _read()
    return hit


def _read(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "UTANFORSKAP_" + str(first["loc"][0]).upper() if first["loc"] else "UTANFORSKAP_*"
        raise InputError(f"ogiltig inställning {name}: {swedish_message(first)}") from exc
