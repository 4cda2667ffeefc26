"""The map's defaults (method, year), in a module of their own so the command line can name
them in its help without importing the map's machinery (polars, DuckDB, the method engine)."""

DEFAULT_METHOD = "se-oppna-data-2022"
DEFAULT_SYNTHETIC_METHOD = "se-utanforskap-2024"
DEFAULT_YEAR = 2022
# Chosen for a store that holds SCB's official measures per RegSO (fetched by `utanforskap hamta`).
REGISTERDATA_METHOD = "se-utanforskap-registerdata"
REGISTERDATA_VARIABLES = (
    "andel_forvarvsarbetande", "andel_ekonomiskt_bistand", "andel_behoriga_gymnasiet",
    "andel_valdeltagande_riksdag", "ohalsotal_dagar",
)
