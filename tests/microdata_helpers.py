"""Hand-made microdata rows for the microdata tests."""

from __future__ import annotations

import polars as pl

DEFAULTS = dict(
    ar=2022, alder=40, kon="kvinna", bakgrund="svensk", fodelseregion="sverige", sysselsattning="sysselsatt",
    bistand_manader=0, trangbodd=False, rostberattigad=True, rostat=True, lamnat_ak9=False, behorig_gymnasiet=None,
    misstankt_brott=False, ohalsodagar=0.0, utbildning="gymnasial", lag_ekonomisk_standard=False,
    hushallstyp="sammanboende_utan_barn", hushallsreferens=False,
)
SCHEMA = {
    "ar": pl.Int16, "deso": pl.String, "alder": pl.Int16, "kon": pl.String, "bakgrund": pl.String,
    "fodelseregion": pl.String, "sysselsattning": pl.String, "bistand_manader": pl.Int8, "trangbodd": pl.Boolean,
    "rostberattigad": pl.Boolean, "rostat": pl.Boolean, "lamnat_ak9": pl.Boolean, "behorig_gymnasiet": pl.Boolean,
    "misstankt_brott": pl.Boolean, "ohalsodagar": pl.Float64, "utbildning": pl.String,
    "lag_ekonomisk_standard": pl.Boolean, "hushallstyp": pl.String, "hushallsreferens": pl.Boolean,
}


def persons_frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{**DEFAULTS, **r} for r in rows], schema=SCHEMA)
