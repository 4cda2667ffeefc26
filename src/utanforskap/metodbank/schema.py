"""What a measure and an evaluation may hold: one pydantic model each, used by the forms,
the API and the import, so that every way in is checked the same way and answers in Swedish.

    data = validate_insats({...})   # InsatsIn, or FieldErrors naming each bad field
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from utanforskap.errors import InputError
from utanforskap.metodbank.rules import rules, vocab
from utanforskap.validation import swedish_message

REGSO_VINTAGE = "RegSO 2020"

# How fields read in messages.
LABELS = {
    "namn": "Namn", "beskrivning": "Beskrivning", "niva": "Nivå", "agare_typ": "Typ av ägare",
    "agare_namn": "Ägare", "kommuner": "Kommuner", "omraden": "Områden (RegSO)", "malgrupp": "Målgrupp",
    "alder_fran": "Ålder från", "alder_till": "Ålder till", "kon": "Kön", "sektorer": "Sektorer",
    "problem": "Problemvariabler", "start": "Start", "slut": "Slut", "period_text": "Period (text)",
    "beslut_text": "Beslut", "deltagare": "Deltagare", "platser": "Platser", "kostnad_kr": "Kostnad (kr)",
    "belopp_text": "Belopp (text)", "finansiering": "Finansiering", "urval": "Urval", "samverkan": "Samverkan",
    "resultatmatt": "Resultatmått", "kallor": "Källor", "kallstatus": "Källans säkerhet", "exempel": "EXEMPEL",
    "design": "Design", "utvarderare": "Utvärderare", "oberoende": "Oberoende", "ar": "År",
    "utfallsmatt": "Utfallsmått", "resultat": "Resultat", "effekt": "Effektstorlek", "ki_lag": "Konfidensintervall, nedre",
    "ki_hog": "Konfidensintervall, övre", "antal": "Antal i studien", "uppfoljning_manader": "Uppföljning (månader)",
    "rapport_url": "Rapport (adress)", "extern_id": "Id",
}


class FieldErrors(InputError):
    """Validation failed; `errors` lists (field, Swedish message) pairs."""

    def __init__(self, errors: list[tuple[str, str]], where: str = "") -> None:
        self.errors = errors
        prefix = f"{where}: " if where else ""
        super().__init__(prefix + "; ".join(f"{LABELS.get(f, f)}: {m}" for f, m in errors))


@lru_cache(maxsize=1)
def known_codes() -> tuple[frozenset[str], dict[str, str]]:
    """Kommun codes, and RegSO code -> its kommun, from the bundled geography."""
    from utanforskap.geography import hierarchy

    kommuner = frozenset(hierarchy.areas("kommun")["kommun_kod"].to_list())
    regso = hierarchy.areas("regso").select("regso_kod", "kommun_kod")
    return kommuner, dict(zip(regso["regso_kod"].to_list(), regso["kommun_kod"].to_list(), strict=True))


def _one_of(value: str, allowed: dict[str, str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"okänd {what} {value!r}; tillåtna: {', '.join(allowed)}")
    return value


class Partner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    namn: str = Field(min_length=1, max_length=300)
    roll: str = Field(default="", max_length=300)


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    titel: str = Field(min_length=1, max_length=500)
    url: str = Field(default="", max_length=500)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        v = v.strip()
        if v and not v.startswith(("https://", "http://")):
            raise ValueError("en adress ska börja med https:// eller http://")
        return v


class InsatsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    extern_id: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    namn: str = Field(min_length=1, max_length=300)
    beskrivning: str = Field(default="", max_length=20_000)
    niva: str = "kommunal"
    agare_typ: str = "kommun"
    agare_namn: str = Field(default="", max_length=300)
    kommuner: list[str] = Field(default_factory=list, max_length=290)
    omraden: list[str] = Field(default_factory=list, max_length=3363)
    malgrupp: str = Field(default="", max_length=2000)
    alder_fran: int | None = Field(default=None, ge=0, le=120)
    alder_till: int | None = Field(default=None, ge=0, le=120)
    kon: str = "alla"
    sektorer: list[str] = Field(default_factory=list)
    problem: list[str] = Field(default_factory=list)
    start: date | None = None
    slut: date | None = None
    period_text: str = Field(default="", max_length=200)
    beslut_text: str = Field(default="", max_length=200)
    deltagare: int | None = Field(default=None, ge=0, le=100_000_000)
    platser: int | None = Field(default=None, ge=0, le=100_000_000)
    kostnad_kr: int | None = Field(default=None, ge=0, le=10**15)
    belopp_text: str = Field(default="", max_length=300)
    finansiering: str = Field(default="", max_length=2000)
    urval: str = Field(default="", max_length=2000)
    samverkan: list[Partner] = Field(default_factory=list, max_length=100)
    resultatmatt: list[str] = Field(default_factory=list, max_length=100)
    kallor: list[Source] = Field(default_factory=list, max_length=100)
    kallstatus: str = Field(default="", max_length=300)
    exempel: bool = False

    @field_validator("niva")
    @classmethod
    def _niva(cls, v: str) -> str:
        return _one_of(v, vocab().niva, "nivå")

    @field_validator("agare_typ")
    @classmethod
    def _agare(cls, v: str) -> str:
        return _one_of(v, vocab().agare_typ, "typ av ägare")

    @field_validator("kon")
    @classmethod
    def _kon(cls, v: str) -> str:
        return _one_of(v, vocab().kon, "värde")

    @field_validator("sektorer")
    @classmethod
    def _sektorer(cls, v: list[str]) -> list[str]:
        return sorted({_one_of(s.strip(), vocab().sektorer, "sektor") for s in v if s.strip()})

    @field_validator("problem")
    @classmethod
    def _problem(cls, v: list[str]) -> list[str]:
        return sorted({_one_of(s.strip(), vocab().problem, "problemvariabel") for s in v if s.strip()})

    @field_validator("kommuner")
    @classmethod
    def _kommuner(cls, v: list[str]) -> list[str]:
        known, _ = known_codes()
        out = sorted({k.strip() for k in v if k.strip()})
        for k in out:
            if k not in known:
                raise ValueError(f"okänd kommunkod {k!r}; en kommunkod är fyra siffror, t.ex. 0180 för Stockholm")
        return out

    @field_validator("omraden")
    @classmethod
    def _omraden(cls, v: list[str]) -> list[str]:
        _, regso = known_codes()
        out = sorted({k.strip() for k in v if k.strip()})
        for k in out:
            if k not in regso:
                raise ValueError(f"okänd områdeskod {k!r}; ange RegSO-koder (indelning 2020), t.ex. 0180R001")
        return out

    @field_validator("resultatmatt")
    @classmethod
    def _matt(cls, v: list[str]) -> list[str]:
        return [s.strip()[:500] for s in v if s.strip()]

    @model_validator(mode="after")
    def _consistent(self) -> InsatsIn:
        if self.start and self.slut and self.slut < self.start:
            raise ValueError(f"slut: slutet ({self.slut.isoformat()}) ligger före starten ({self.start.isoformat()})")
        if self.alder_fran is not None and self.alder_till is not None and self.alder_till < self.alder_fran:
            raise ValueError("alder_till: åldern till är lägre än åldern från")
        _, regso = known_codes()
        outside = [k for k in self.omraden if regso[k] not in self.kommuner]
        if outside:
            raise ValueError(f"omraden: området {outside[0]} ligger i kommun {regso[outside[0]]}, som inte är angiven bland kommunerna")
        return self


class UtvarderingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    design: str
    utvarderare: str = Field(default="", max_length=300)
    oberoende: str = "intern"
    ar: int | None = Field(default=None, ge=1950, le=2100)
    utfallsmatt: str = Field(default="", max_length=300)
    resultat: str = "ej-rapporterat"
    effekt: float | None = Field(default=None, allow_inf_nan=False)
    ki_lag: float | None = Field(default=None, allow_inf_nan=False)
    ki_hog: float | None = Field(default=None, allow_inf_nan=False)
    antal: int | None = Field(default=None, ge=0)
    uppfoljning_manader: int | None = Field(default=None, ge=0, le=600)
    rapport_url: str = Field(default="", max_length=500)
    beskrivning: str = Field(default="", max_length=10_000)

    @field_validator("design")
    @classmethod
    def _design(cls, v: str) -> str:
        return _one_of(v, vocab().design, "design")

    @field_validator("oberoende")
    @classmethod
    def _ob(cls, v: str) -> str:
        return _one_of(v, vocab().oberoende, "värde")

    @field_validator("resultat")
    @classmethod
    def _res(cls, v: str) -> str:
        return _one_of(v, vocab().resultat, "resultat")

    @field_validator("rapport_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("https://", "http://")):
            raise ValueError("en adress ska börja med https:// eller http://")
        return v

    @model_validator(mode="after")
    def _interval(self) -> UtvarderingIn:
        if (self.ki_lag is None) != (self.ki_hog is None):
            raise ValueError("ki_hog: ange båda gränserna i konfidensintervallet eller ingen")
        if self.ki_lag is not None and self.ki_hog is not None and self.ki_lag > self.ki_hog:
            raise ValueError("ki_hog: intervallets övre gräns är lägre än den nedre")
        if self.effekt is not None and self.ki_lag is not None and not (self.ki_lag <= self.effekt <= self.ki_hog):
            raise ValueError("effekt: effektstorleken ligger utanför sitt konfidensintervall")
        return self


class EffektskattningIn(BaseModel):
    """What `utanforskap effekt --spara` adds to an evaluation (see models.Effektskattning)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    skattare: str = Field(min_length=1, max_length=40)
    paket: str = Field(min_length=1, max_length=60)
    paketversion: str = Field(min_length=1, max_length=40)
    utfall: str = Field(min_length=1, max_length=300)
    riktning: Literal["hogt_ar_daligt", "hogt_ar_bra"]
    niva: str = Field(min_length=1, max_length=10)
    ar_fran: int = Field(ge=1950, le=2100)
    ar_till: int = Field(ge=1950, le=2100)
    jamforelse: str = Field(min_length=1, max_length=30)
    p_varde: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    antal_behandlade: int = Field(ge=1)
    antal_jamforelse: int = Field(ge=1)
    fortrend_p: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    placebo_i_tid_p: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    mde: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    datakalla: str = Field(min_length=1, max_length=500)
    etikett: str = Field(default="", max_length=200)
    begransningar: list[str] = Field(default_factory=list, max_length=50)
    bedomning: str = Field(default="", max_length=10_000)

    @field_validator("skattare")
    @classmethod
    def _skattare(cls, v: str) -> str:
        return _one_of(v, rules().skattningar.design, "skattare")


def _errors(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        msg = swedish_message(err)
        if str(err.get("type", "")).startswith("date"):
            msg = f"{err.get('input')!r} är inte ett datum; skriv ÅÅÅÅ-MM-DD, t.ex. 2025-08-15"
        field = loc[0] if loc else ""
        if err.get("type") == "value_error" and not loc and ": " in msg:
            field, msg = msg.split(": ", 1)
        elif len(loc) > 1 and not loc[1].isdigit():
            msg = f"{'.'.join(loc[1:])} {msg}"
        out.append((field, msg))
    return out


def _cross_field(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The checks between fields, on the raw input: pydantic runs them only when every field
    is valid, and a form should show every error at once."""
    out = []
    try:
        start, slut = (date.fromisoformat(str(data[k])) if data.get(k) else None for k in ("start", "slut"))
    except ValueError:
        return out
    if start and slut and slut < start:
        out.append(("slut", f"slutet ({slut.isoformat()}) ligger före starten ({start.isoformat()})"))
    return out


def validate_insats(data: dict[str, Any], where: str = "") -> InsatsIn:
    try:
        return InsatsIn.model_validate(data)
    except ValidationError as exc:
        errors = _errors(exc)
        errors += [e for e in _cross_field(data) if e[0] not in {f for f, _ in errors}]
        raise FieldErrors(errors, where) from exc


def validate_effektskattning(data: dict[str, Any], where: str = "") -> EffektskattningIn:
    try:
        return EffektskattningIn.model_validate(data)
    except ValidationError as exc:
        raise FieldErrors(_errors(exc), where) from exc


def validate_utvardering(data: dict[str, Any], where: str = "") -> UtvarderingIn:
    try:
        return UtvarderingIn.model_validate(data)
    except ValidationError as exc:
        raise FieldErrors(_errors(exc), where) from exc
