"""What every ingest of a source returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl


@dataclass
class SourceResult:
    """Observation rows, optional reference tables, and a report of what was read and set aside.

    `rapport` holds counts and notes (Swedish) that the importer prints and writes into the
    bundle manifest, so that nothing is dropped silently.
    """

    observationer: pl.DataFrame
    referens: dict[str, pl.DataFrame] = field(default_factory=dict)
    rapport: Mapping[str, object] = field(default_factory=dict)
