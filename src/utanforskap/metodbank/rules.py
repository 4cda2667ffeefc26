"""The metodbank's word lists and evidence-grading rules, read from data files.

    VOCAB.sektorer["skola"]            # "Skola"
    grade(evaluations) -> Grade        # the first rule (evidensregler.toml) an evaluation set meets

Methods are data: the rules live in data/evidensregler.toml with their provenance; the code
only knows how to test a rule's conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from pydantic import Field

from utanforskap.catalogue import FACTORS
from utanforskap.tomlmodel import Strict, load_toml_model


class Vocab(Strict):
    proveniens: str
    sektorer: dict[str, str]
    niva: dict[str, str]
    agare_typ: dict[str, str]
    kon: dict[str, str]
    status: dict[str, str]
    svarsstatus: dict[str, str]
    omgangsstatus: dict[str, str]
    design: dict[str, str]
    oberoende: dict[str, str]
    resultat: dict[str, str]

    @property
    def problem(self) -> dict[str, str]:
        """The problem variables: the catalogue's factors (not the background variable)."""
        return {k: v for k, v in FACTORS.items() if k != "bakgrund"}


class Rule(Strict):
    id: str
    grad: str
    namn: str
    beskrivning: str
    designer: list[str]
    min_antal: int = Field(ge=0)
    min_oberoende: int = Field(default=0, ge=0)
    kraver_gynnsam: bool = False
    kraver_ogynnsam: bool = False
    min_uppfoljning_manader: int | None = None


class EstimateRules(Strict):
    """How an estimate saved by `utanforskap effekt --spara` becomes an evaluation's result."""

    proveniens: str
    signifikans: float = Field(gt=0, lt=1)
    min_fortrend_p: float = Field(ge=0, lt=1)
    resultat_vid_avvikande_fortrend: str
    etiketter_raknas: bool
    oberoende: str
    design: dict[str, str]


class Rules(Strict):
    proveniens: str
    kalla: str
    regel: list[Rule]
    grader: dict[str, str]
    skattningar: EstimateRules


def _read(name: str) -> str:
    return resources.files("utanforskap.metodbank").joinpath("data", name).read_text("utf-8")


@lru_cache(maxsize=1)
def vocab() -> Vocab:
    return load_toml_model(_read("ordlistor.toml"), "utanforskap/metodbank/data/ordlistor.toml", Vocab)


@lru_cache(maxsize=1)
def rules() -> Rules:
    loaded = load_toml_model(_read("evidensregler.toml"), "utanforskap/metodbank/data/evidensregler.toml", Rules)
    designs = vocab().design
    for rule in loaded.regel:
        unknown = [d for d in rule.designer if d not in designs]
        if unknown or rule.grad not in loaded.grader:
            from utanforskap.errors import InputError

            raise InputError(f"utanforskap/metodbank/data/evidensregler.toml: regel {rule.id}: okänd design eller grad {unknown or rule.grad!r}")
    est = loaded.skattningar
    bad = [d for d in est.design.values() if d not in designs]
    if bad or est.resultat_vid_avvikande_fortrend not in vocab().resultat or est.oberoende not in vocab().oberoende:
        from utanforskap.errors import InputError

        raise InputError(f"utanforskap/metodbank/data/evidensregler.toml: [skattningar]: okänd design, resultat eller oberoende {bad or ''}")
    if not loaded.regel or loaded.regel[-1].min_antal != 0:
        from utanforskap.errors import InputError

        raise InputError("utanforskap/metodbank/data/evidensregler.toml: sista regeln måste gälla alla (min_antal = 0)")
    return loaded


@dataclass(frozen=True)
class Grade:
    grad: str
    regel: str

    @property
    def text(self) -> str:
        return rules().grader[self.grad]


def _favourable(ev) -> bool:
    if ev.resultat != "gynnsam":
        return False
    if ev.ki_lag is not None and ev.ki_hog is not None:
        return ev.ki_lag > 0 or ev.ki_hog < 0  # the interval excludes zero
    return True


def grade(evaluations, *, count_labelled: bool | None = None) -> Grade:
    """The evidence grade of a measure with these evaluations (objects with design,
    oberoende, resultat, ki_lag, ki_hog, uppfoljning_manader, optionally etikett) and the rule
    that gave it. Evaluations computed on SYNTETISKA DATA or as a DEMONSTRATION (a non-empty
    `etikett`) count only when the rules file says so, or when `count_labelled` is True (the
    grade an evaluation would get on its own)."""
    if not (rules().skattningar.etiketter_raknas if count_labelled is None else count_labelled):
        evaluations = [e for e in evaluations if not getattr(e, "etikett", "")]
    for rule in rules().regel:
        pool = [e for e in evaluations if e.design in rule.designer]
        if rule.kraver_ogynnsam:
            pool = [e for e in pool if e.resultat == "ogynnsam"]
        if rule.kraver_gynnsam:
            pool = [e for e in pool if _favourable(e)]
        if len(pool) < rule.min_antal:
            continue
        if sum(e.oberoende != "intern" for e in pool) < rule.min_oberoende:
            continue
        if rule.min_uppfoljning_manader is not None and not any(
            (e.uppfoljning_manader or 0) >= rule.min_uppfoljning_manader for e in pool
        ):
            continue
        return Grade(rule.grad, rule.id)
    raise AssertionError("the last rule matches everything")  # checked when the rules are read


def estimate_result(estimate: float, lo: float | None, hi: float | None, p: float | None, pretrend_p: float | None,
                    high_is_bad: bool) -> str:
    """The result (vocabulary `resultat`) of a computed estimate, by the rules' [skattningar]:
    a difference is established when the interval excludes zero (without an interval: p below
    `signifikans`); it is favourable when it goes the good way for the outcome; a pre-trend test
    that rejects makes the result `resultat_vid_avvikande_fortrend`."""
    r = rules().skattningar
    if pretrend_p is not None and pretrend_p < r.min_fortrend_p:
        return r.resultat_vid_avvikande_fortrend
    if lo is not None and hi is not None:
        established = lo > 0 or hi < 0
    else:
        established = p is not None and p < r.signifikans
    if not established or estimate == 0:
        return "ingen-skillnad"
    return "gynnsam" if (estimate < 0) == high_is_bad else "ogynnsam"
