"""The variable and indicator catalogue (machine-readable side of docs/indikatorer.md).

Two tables, in `utanforskap/data/katalog.toml`:

* `variabel.<id>`: one variable of the observation store (usually a count), how it
  aggregates up the area hierarchy, and where it is published (SCB table / Kolada KPI).
* `indikator.<id>`: a problem or background indicator: a ratio of two variables (or one
  variable), which official factor it measures, and whether the bundled data hold it
  for real, as a named proxy, or not at all.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from utanforskap.errors import InputError
from utanforskap.tomlmodel import Strict, load_toml_model

# The official problem variables of the 2024 map, plus ill health (see docs/doman.md).
FACTORS = {
    "kriminalitet": "Kriminalitet",
    "bidragsberoende": "Bidragsberoende",
    "trangboddhet": "Trångboddhet",
    "valdeltagande": "Lågt valdeltagande",
    "skolresultat": "Svaga skolresultat",
    "arbetsmarknadsetablering": "Svag arbetsmarknadsetablering",
    "ohalsa": "Ohälsa",
    "bakgrund": "Bakgrundsvariabel (ingen problemvariabel)",
}


class ScbSource(Strict):
    """Where SCB's PxWebApi 2.0 publishes a variable."""

    tabell: str = Field(description="Table id, e.g. TAB6680")
    innehall: str = Field(description="ContentsCode value")
    urval: dict[str, str | list[str]] = Field(
        default_factory=dict, description="Other dimensions: variable code -> value code(s)"
    )
    region_variabel: str = "Region"
    tid_variabel: str = "Tid"
    kodlistor: dict[str, str] = Field(
        default_factory=dict,
        description="Level -> region codelist, e.g. {regso = 'vs_RegSO2020', deso = 'vs_DeSO2018'}",
    )
    verifierad: bool = Field(
        default=False, description="True when table, contents code and filters were checked against SCB's metadata"
    )
    ar: str = Field(default="", description="Years the table publishes, as text (e.g. '2018, 2022' or '2011–2023')")
    ursprung: str = Field(
        default="", description="Where table, codes and filters come from when not verified (third-party code)"
    )


class KoladaSource(Strict):
    kpi: str = Field(description="Kolada KPI id, e.g. N00945")
    kon: Literal["T", "K", "M"] = "T"
    verifierad: bool = False
    ursprung: str = Field(default="", description="Where the KPI id comes from when not verified")


class Variable(Strict):
    namn: str
    enhet: str = "antal"
    aggregering: Literal["summa", "kvot", "ej"] = Field(
        description="summa: counts add up; kvot: sum numerators and denominators; ej: cannot aggregate (median)"
    )
    kalla: str = Field(description="Source named in the store's `kalla` column, e.g. 'SCB 000007A8'")
    beskrivning: str = ""
    harledning: str = Field(
        default="", description="How the value was derived when it is not read directly (e.g. from a rounded percent)"
    )
    scb: ScbSource | None = None
    kolada: KoladaSource | None = None


class Indicator(Strict):
    namn: str
    faktor: str
    taljare: str | None = None
    namnare: str | None = None
    variabel: str | None = Field(default=None, description="For a single-variable indicator (no ratio)")
    riktning: Literal["hogt_ar_daligt", "hogt_ar_bra"]
    officiellt_matt: str = Field(description="What the official method most likely measures")
    i_paketerad_data: Literal["verklig", "proxy", "saknas"]
    proxy_for: str = Field(default="", description="For a proxy: what it stands in for and why")
    anmarkning: str = ""

    @model_validator(mode="after")
    def _one_form(self) -> Indicator:
        if self.faktor not in FACTORS:
            raise ValueError(f"okänd faktor {self.faktor!r}; tillåtna: {', '.join(FACTORS)}")
        if self.variabel is None and self.i_paketerad_data != "saknas" and self.taljare is None:
            raise ValueError("ange antingen taljare (och namnare) eller variabel")
        if self.i_paketerad_data == "proxy" and not self.proxy_for:
            raise ValueError("en proxy måste säga vad den ersätter (proxy_for)")
        return self


class Catalogue(Strict):
    variabel: dict[str, Variable] = Field(default_factory=dict)
    indikator: dict[str, Indicator] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references_exist(self) -> Catalogue:
        for iid, ind in self.indikator.items():
            for ref in (ind.taljare, ind.namnare, ind.variabel):
                if ref is not None and ref not in self.variabel:
                    raise ValueError(f"indikator.{iid} hänvisar till okänd variabel {ref!r}")
        return self


def load(path: str | Path | None = None) -> Catalogue:
    """Load and validate a catalogue file (the bundled one by default)."""
    if path is None:
        return _bundled()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: katalogfilen finns inte") from exc
    except UnicodeDecodeError:
        raise InputError(f"{path}: kan inte läsa katalogfilen som UTF-8; spara den som UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path}: kan inte läsa katalogfilen ({exc.strerror})") from None
    return load_toml_model(text, str(path), Catalogue)


@lru_cache(maxsize=1)
def _bundled() -> Catalogue:
    ref = resources.files("utanforskap.data").joinpath("katalog.toml")
    return load_toml_model(ref.read_text(encoding="utf-8"), "utanforskap/data/katalog.toml", Catalogue)
