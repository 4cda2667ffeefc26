"""Area geography: the hierarchy DeSO 2018 -> RegSO 2020 -> kommun -> län -> riket, and area codes.

Public API::

    areas(level)                  polars frame, one row per area of the level with parents' codes/names
    mapping(from_level, to_level) child code -> parent code (columns <from>_kod, <to>_kod)
    parse_code(code)              AreaCode(kod, niva, argang), e.g. for "0114C1010_DeSO2025"
    parse_codes(series)           the same, vectorised
    default()                     the bundled Geography (check_codes, join_vintage ...)
    Geography.from_key_file(path) build from SCB's key CSV

Joining 2025-vintage codes: ``default().join_vintage(df, column)`` returns the rows whose
plain code exists in DeSO 2018 / RegSO 2020 (same code = same area) and, separately, every
row that could not be joined with its reason.
"""

from utanforskap.geography.codes import LEVELS, RIKET, AreaCode, parse_code, parse_codes
from utanforskap.geography.hierarchy import Geography, VintageJoin, areas, default, lan_names, mapping

__all__ = [
    "LEVELS",
    "RIKET",
    "AreaCode",
    "Geography",
    "VintageJoin",
    "areas",
    "default",
    "lan_names",
    "mapping",
    "parse_code",
    "parse_codes",
]
