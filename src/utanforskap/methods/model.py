"""The method file format: what a method declares, validated with pydantic.

A method is a TOML file (documented in docs/metoder.md). Keys are Swedish because the
people who review methods read them. Every step names the column it produces (`namn`);
later steps and the outputs refer to columns by name.

Values that are choices (thresholds, weights, counts) may be written literally, in which
case they carry the method's own provenance (`proveniens`), or as a reference to a
declared parameter, `{ parameter = "namn" }`, which carries its own provenance.
"""

# No `from __future__ import annotations` here: pydantic would evaluate every annotation
# string at import (about 10 ms of each command's start-up); validators return Self.
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from utanforskap.tomlmodel import Strict

Provenance = Literal["officiell", "antagen", "kalibrerad", "syntetisk", "fixerad"]
Direction = Literal["hogt_ar_daligt", "hogt_ar_bra", "neutral"]
TieRule = Literal["min", "max", "medel", "tat", "ordning"]
MissingRule = Literal["sprid", "hoppa"]
Operator = Literal[">=", ">", "<=", "<"]


# Empty defaults. Not `default_factory=list`: pydantic reads a builtin's signature by
# tokenizing its text form, once per field of each of the 38 models (about 15 ms at import).
def _no_items() -> list[Any]:
    return []


def _no_entries() -> dict[str, Any]:
    return {}


class ParamRef(Strict):
    """A reference to a declared parameter: `{ parameter = "namn" }`."""

    parameter: str


# A number written in the method, or a parameter reference.
# A parameter's value: a number, or a list of numbers (e.g. weights).
ParameterValue = float | list[float]
Number = float | ParamRef
# A number, a parameter reference, or (as a string) the name of a column.
NumberOrColumn = float | ParamRef | str


class FixedFrom(Strict):
    """Where a frozen ("fixerad") threshold came from: a relative threshold computed in a base year."""

    basar: int = Field(description="The base year the value was computed in")
    steg: str = Field(description="The step whose relative value was frozen")
    rikets_varde: float | None = Field(default=None, description="The national (reference) value in the base year")
    multipel: float | None = Field(default=None, description="The multiple of the national value the flag uses")
    percentil: float | None = Field(default=None, description="The percentile threshold the flag used")


class Parameter(Strict):
    varde: ParameterValue
    proveniens: Provenance
    motivering: str = Field(default="", description="Why this value; required unless official")
    kalla: str = Field(default="", description="Where an official value is published")
    enhet: str = ""
    fixerad: FixedFrom | None = Field(default=None, description="For provenance 'fixerad': base year and origin")

    @model_validator(mode="after")
    def _reasoned(self) -> Self:
        if self.proveniens != "officiell" and not self.motivering.strip():
            raise ValueError("en parameter som inte är officiell måste ha en motivering")
        if self.proveniens == "officiell" and not (self.kalla.strip() or self.motivering.strip()):
            raise ValueError("en officiell parameter måste ange kalla (var värdet är publicerat)")
        if (self.proveniens == "fixerad") != (self.fixerad is not None):
            raise ValueError("en fixerad parameter (och bara en sådan) måste ha tabellen fixerad med basar och steg")
        return self


class Input(Strict):
    typ: Literal["tal", "text"] = "tal"
    riktning: Direction = "neutral"
    saknas: list[float | str] = Field(default_factory=_no_items, description="Codes meaning missing, e.g. -999")
    beskrivning: str = ""
    enhet: str = ""
    status: Literal["verklig", "proxy", "saknas", "syntetisk"] = "verklig"
    proxy_for: str = ""
    # How the input is read from an observation store (utanforskap karta); a file given to
    # `berakna` must simply have a column with the input's name.
    variabel: str | None = Field(default=None, description="Store variable (default: the input's name)")
    falt: Literal["varde", "taljare", "namnare"] = Field(default="varde", description="Which field of it")
    perioder: list[int] = Field(
        default_factory=lambda: [0], description="Years relative to the map's year, summed (e.g. [-2, -1, 0])"
    )


class _Step(Strict):
    namn: str
    beskrivning: str = ""
    grupp: list[str] = Field(default_factory=_no_items, description="Compute within groups of these columns")
    grind: str | None = Field(
        default=None, description="Boolean column; where false the step treats inputs as missing"
    )


class PercentileRank(_Step):
    typ: Literal["percentilrang"]
    indata: str
    band: TieRule = "min"
    vand: bool | None = Field(default=None, description="Reverse as 1 - p (required when high is good)")


class Rank(_Step):
    typ: Literal["rang"]
    indata: str
    ordning: Literal["stigande", "fallande"]
    band: TieRule = "min"


class QuantileBand(_Step):
    typ: Literal["kvantilgrupp"]
    indata: str = Field(description="A rank column (1 = first)")
    antal: Number = 10


class Reverse(_Step):
    typ: Literal["vand"]
    indata: str


class Round(_Step):
    typ: Literal["avrunda"]
    indata: str
    decimaler: int
    satt: Literal["halv_jamn", "halv_upp"] = "halv_jamn"


class Sum(_Step):
    typ: Literal["summa", "medel"]
    indata: list[str]
    saknade: MissingRule


class WeightedSum(_Step):
    typ: Literal["viktad_summa"]
    indata: list[str]
    vikter: list[Number]
    saknade: MissingRule
    normera: bool = Field(default=False, description="Divide by the sum of the weights used")

    @model_validator(mode="after")
    def _same_length(self) -> Self:
        if len(self.vikter) != len(self.indata):
            raise ValueError(f"vikter har {len(self.vikter)} värden men indata har {len(self.indata)} kolumner")
        return self


class Ratio(_Step):
    typ: Literal["kvot"]
    taljare: str
    namnare: str
    skala: float = 1.0
    andel: bool = Field(default=False, description="A share: a numerator above its denominator is an error")


class Reference(_Step):
    typ: Literal["referens"]
    taljare: str | None = None
    namnare: str | None = None
    indata: str | None = None
    varde: Number | None = None
    metod: Literal["kvot_av_summor", "medel", "median", "konstant"] = "kvot_av_summor"
    skala: float = 1.0

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.metod == "kvot_av_summor" and not (self.taljare and self.namnare):
            raise ValueError("metod kvot_av_summor kräver taljare och namnare")
        if self.metod in ("medel", "median") and not self.indata:
            raise ValueError(f"metod {self.metod} kräver indata")
        if self.metod == "konstant" and self.varde is None:
            raise ValueError("metod konstant kräver varde")
        return self


class Relative(_Step):
    typ: Literal["relativ"]
    indata: str
    referens: NumberOrColumn
    satt: Literal["kvot", "differens"] = "kvot"


class ZScore(_Step):
    typ: Literal["z"]
    indata: str
    ddof: int = 1


class MinMax(_Step):
    typ: Literal["minmax"]
    indata: str


class Log(_Step):
    typ: Literal["log"]
    indata: str
    forskjutning: Number = 0.0
    bas: Literal["e", "10", "2"] = "e"


class Winsorise(_Step):
    typ: Literal["winsorisera"]
    indata: str
    nedre: Number | None = Field(default=None, description="Lower quantile in [0, 1]")
    ovre: Number | None = Field(default=None, description="Upper quantile in [0, 1]")


class ExponentialRank(_Step):
    """The IMD's exponential transform of a rank (1 = most deprived)."""

    typ: Literal["exponentiell"]
    indata: str
    konstant: Number = 23.0


class Flag(_Step):
    typ: Literal["flagga", "grind"]
    indata: str
    operator: Operator
    grans: NumberOrColumn


class FlagCount(_Step):
    typ: Literal["antal_flaggor"]
    indata: list[str]
    saknade: MissingRule


class MissingCount(_Step):
    """How many of the inputs are missing (for reporting data gaps)."""

    typ: Literal["antal_saknade"]
    indata: list[str]


class KOfM(_Step):
    typ: Literal["k_av_m"]
    indata: list[str]
    k: Number
    saknade: Literal["kleene", "hoppa", "sprid"] = "kleene"


class Logic(_Step):
    typ: Literal["och", "eller", "inte"]
    indata: list[str]


class ClassRule(Strict):
    klass: str
    minst: Number | None = Field(default=None, description="Class when the input is >= this")
    villkor: str | None = Field(default=None, description="Class when this boolean column is true")

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.minst is None) == (self.villkor is None):
            raise ValueError("ange exakt ett av minst och villkor")
        return self


class Classify(_Step):
    typ: Literal["klass"]
    indata: str | None = Field(default=None, description="Numeric column compared with each rule's `minst`")
    regler: list[ClassRule] = Field(description="First matching rule wins; none matching gives an empty class")

    @model_validator(mode="after")
    def _needs_input(self) -> Self:
        if any(r.minst is not None for r in self.regler) and self.indata is None:
            raise ValueError("regler med minst kräver indata")
        return self


class PeriodMean(_Step):
    typ: Literal["medel_perioder"]
    indata: str
    perioder: Number


class EveryPeriod(_Step):
    typ: Literal["alla_perioder"]
    indata: str
    perioder: Number


Step = Annotated[
    PercentileRank | Rank | QuantileBand | Reverse | Round | Sum | WeightedSum | Ratio | Reference | Relative | ZScore | MinMax | Log | Winsorise | ExponentialRank | Flag | FlagCount | MissingCount | KOfM | Logic | Classify | PeriodMean | EveryPeriod,  # noqa: E501
    Field(discriminator="typ"),
]

STEP_TYPES = sorted(
    {
        t
        for cls in Step.__args__[0].__args__
        for t in cls.model_fields["typ"].annotation.__args__
    }
)


# Steps for which `grupp` means something (an aggregate over areas).
GROUPABLE = (
    PercentileRank,
    Rank,
    QuantileBand,
    ExponentialRank,
    Reference,
    ZScore,
    MinMax,
    Winsorise,
)


class Output(Strict):
    kolumner: list[str]
    saknat_varde: float | str | None = Field(
        default=None, description="Written for missing values (e.g. -999); empty when not set"
    )


class Factor(Strict):
    """A factor the method judges, and whether the data measure it for real.

    Reports and the map read this table to say, beside every result, which factors are
    real, which are proxies (and for what) and which are missing.
    """

    namn: str
    status: Literal["verklig", "proxy", "saknas"]
    varde: str | None = Field(default=None, description="Column holding the indicator value")
    flagga: str | None = Field(default=None, description="Column holding the flag")
    matt: str = Field(default="", description="What the value measures, with unit")
    proxy_for: str = Field(default="", description="For a proxy: what it stands in for and why")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.status == "saknas" and (self.varde or self.flagga):
            raise ValueError("en saknad faktor har inga kolumner (varde, flagga)")
        if self.status != "saknas" and not self.flagga:
            raise ValueError("ange flagga (kolumnen med faktorns flagga)")
        if self.status == "proxy" and not self.proxy_for.strip():
            raise ValueError("en proxy måste säga vad den ersätter (proxy_for)")
        return self


# ---- uncertainty (robusthet) --------------------------------------------------------------
class ParameterUncertainty(Strict):
    """How uncertain a parameter's value is: a distribution the author states, with a reason.

    `likformig`: uniform on [min, max], or value ± `relativ` (a share of the value);
    `normal`: mean `medel` (default the value) and `sd`, or sd = `relativ` x value;
    `diskret`: one of `varden`, with `sannolikheter` (default equal), e.g. k = 3 or 4 of m.
    """

    fordelning: Literal["likformig", "normal", "diskret"]
    relativ: float | None = Field(default=None, gt=0, description="± share of the value (likformig) or sd as a share (normal)")
    min: float | None = None
    max: float | None = None
    medel: float | None = None
    sd: float | None = Field(default=None, gt=0)
    varden: list[float] = Field(default_factory=_no_items)
    sannolikheter: list[float] = Field(default_factory=_no_items)
    proveniens: Provenance
    motivering: str

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.motivering.strip():
            raise ValueError("ange motivering (varför just detta intervall)")
        if self.fordelning == "likformig":
            if (self.relativ is None) == (self.min is None or self.max is None):
                raise ValueError("likformig kräver antingen relativ eller både min och max")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError("min är större än max")
        elif self.fordelning == "normal":
            if (self.relativ is None) == (self.sd is None):
                raise ValueError("normal kräver antingen relativ eller sd")
        else:
            if len(self.varden) < 1:
                raise ValueError("diskret kräver varden (minst ett)")
            if self.sannolikheter:
                _check_probabilities(self.sannolikheter, len(self.varden))
        return self


class InputNoise(Strict):
    """A noise model for a count input.

    `poisson`: the count is a Poisson draw around the observed count (rare events, e.g. crimes);
    `binomial`: the count is Binomial(`namnare`, observed share) given its denominator input;
    `cellnyckel`: SCB's cell-key noise, a declared distribution of integers added to the count
    (`varden`, `sannolikheter`), never below zero.
    """

    brus: Literal["poisson", "binomial", "cellnyckel"]
    namnare: str | None = Field(default=None, description="binomial: the input holding the denominator")
    varden: list[int] = Field(default_factory=_no_items)
    sannolikheter: list[float] = Field(default_factory=_no_items)
    proveniens: Provenance
    motivering: str

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.motivering.strip():
            raise ValueError("ange motivering (varför denna brusmodell)")
        if self.brus == "binomial" and not self.namnare:
            raise ValueError("binomial kräver namnare (indata med nämnaren)")
        if self.brus != "binomial" and self.namnare:
            raise ValueError("namnare gäller bara brus = binomial")
        if self.brus == "cellnyckel":
            if not self.varden:
                raise ValueError("cellnyckel kräver varden (heltal som läggs till, t.ex. [-2, -1, 0, 1, 2])")
            _check_probabilities(self.sannolikheter or [1.0] * len(self.varden), len(self.varden), normalised=bool(self.sannolikheter))
        elif self.varden or self.sannolikheter:
            raise ValueError("varden och sannolikheter gäller bara brus = cellnyckel")
        return self


class StepAlternative(Strict):
    """Alternative rules as a discrete choice: one field of a step takes one of several
    columns (e.g. proxy A or B for a factor's value)."""

    steg: str = Field(description="The step's namn")
    falt: str = Field(description="The field that varies, e.g. indata")
    val: list[str] = Field(min_length=2, description="The columns it may name; the first is usually the method's own")
    sannolikheter: list[float] = Field(default_factory=_no_items)
    proveniens: Provenance
    motivering: str

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not self.motivering.strip():
            raise ValueError("ange motivering (varför alternativen är rimliga)")
        if self.sannolikheter:
            _check_probabilities(self.sannolikheter, len(self.val))
        return self


class Uncertainty(Strict):
    """The `[osakerhet]` table: what is uncertain in the method and how much.

    Nothing is uncertain by default: an official parameter is taken as published, and a
    calibrated or assumed one is uncertain only by the range its author states here.
    """

    beskrivning: str = ""
    parametrar: dict[str, ParameterUncertainty] = Field(default_factory=_no_entries)
    alternativ: list[StepAlternative] = Field(default_factory=_no_items)
    indata: dict[str, InputNoise] = Field(default_factory=_no_entries)


def _check_probabilities(probs: list[float], n: int, normalised: bool = True) -> None:
    if len(probs) != n:
        raise ValueError(f"sannolikheter har {len(probs)} värden men det finns {n} alternativ")
    if any(p < 0 for p in probs):
        raise ValueError("sannolikheter kan inte vara negativa")
    if normalised and abs(sum(probs) - 1.0) > 1e-9:
        raise ValueError(f"sannolikheterna summerar till {sum(probs):g}, inte 1")


class Method(Strict):
    id: str
    titel: str
    version: str
    beskrivning: str = ""
    kalla: str = Field(default="", description="Where the method is published")
    proveniens: Provenance = Field(description="Provenance of values written literally in the steps")
    nyckel: str = Field(description="The area id column")
    period: str | None = Field(default=None, description="Period column for methods over several periods")
    parametrar: dict[str, Parameter] = Field(default_factory=_no_entries)
    indata: dict[str, Input]
    steg: list[Step]
    utdata: Output
    faktorer: dict[str, Factor] = Field(
        default_factory=_no_entries, description="Factor id -> how the method judges it (for maps and reports)"
    )
    osakerhet: Uncertainty | None = Field(default=None, description="What is uncertain, for utanforskap robusthet")
