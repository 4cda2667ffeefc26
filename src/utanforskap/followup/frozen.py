"""A method with its relative thresholds frozen at a base year's levels, checked on that year.

    raw, text = frozen_method("se-oppna-data-2022", 2022, "paket")
"""

from __future__ import annotations

import os

from utanforskap.errors import MethodError
from utanforskap.methods import engine, loader
from utanforskap.methods.freeze import freeze, to_toml
from utanforskap.results import karta


def frozen_method(method: str | os.PathLike[str], year: int, data="paket") -> tuple[dict, str]:
    """The frozen method (dict and TOML text). Run on `year` it gives exactly the relative
    method's flags and classes; that is checked here, and a difference is an error."""
    result = karta.compute(method, year, data)
    frame = karta.full_frame(result)
    raw = freeze(result.method, frame, year, result.parameters)
    frozen = loader.load_dict(raw, f"{result.method.id} fixerad {year}")
    again = engine.run(frozen, result._memo["inputs"], source=str(result.source.store.root))
    kinds = result.method.kinds
    check = [c for c in result.method.method.utdata.kolumner if c in again.columns and (kinds.get(c) == loader.BOOLEAN or c in ("klass", "antal_flaggor"))]
    key = result.method.method.nyckel
    before = result.areas.select(key, *check).sort(key)
    after = again.select(key, *check).sort(key)
    if not before.equals(after):
        diff = next(c for c in check if not before[c].equals(after[c]))
        raise MethodError(f"{result.method.source}: den fixerade metoden ger inte samma {diff} som den relativa år {year} (internt fel)")
    return raw, to_toml(raw)
