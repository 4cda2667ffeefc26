"""The uncertainty spec: from the method's `[osakerhet]` table or a separate TOML file,
checked against the method (a name it lacks is an error), and the label cut-offs."""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import Field

from utanforskap.errors import InputError, MethodError
from utanforskap.methods import model as m
from utanforskap.methods.loader import LoadedMethod, check_uncertainty
from utanforskap.tomlmodel import Strict, load_toml_model

CUTOFF_FILE = "robusthet.toml"


class _SpecFile(Strict):
    osakerhet: m.Uncertainty


class Cutoffs(Strict):
    """When a listing is called sure (data/robusthet.toml)."""

    sakert_listad: float = Field(gt=0.5, le=1.0)
    sakert_ej_listad: float = Field(ge=0.0, lt=0.5)
    motivering: str = Field(min_length=1)


class _CutoffFile(Strict):
    etiketter: Cutoffs


@lru_cache(maxsize=1)
def cutoffs() -> Cutoffs:
    text = resources.files("utanforskap.data").joinpath(CUTOFF_FILE).read_text(encoding="utf-8")
    return load_toml_model(text, f"utanforskap/data/{CUTOFF_FILE}", _CutoffFile).etiketter


def label(probability, cut: Cutoffs | None = None):
    """säkert listad / osäker / säkert ej listad for a probability (numpy array or float)."""
    import numpy as np

    cut = cut or cutoffs()
    p = np.asarray(probability, dtype=float)
    return np.where(p >= cut.sakert_listad, "säkert listad", np.where(p <= cut.sakert_ej_listad, "säkert ej listad", "osäker"))


def load_spec(loaded: LoadedMethod, path: str | os.PathLike[str] | None = None) -> m.Uncertainty:
    """The uncertainty to simulate: a file's `[osakerhet]` table if given, else the method's
    own, else nothing uncertain. Every name must exist in the method."""
    if path is None:
        spec = loaded.method.osakerhet or m.Uncertainty()
        source = loaded.source
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError(f"{p}: osäkerhetsfilen finns inte")
        text = p.read_text(encoding="utf-8")
        try:
            has_table = "osakerhet" in tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{p}: ogiltig TOML: {exc}") from exc
        if not has_table:
            raise InputError(f"{p}: filen saknar tabellen [osakerhet]; se docs/robusthet.md")
        spec = load_toml_model(text, str(p), _SpecFile, MethodError).osakerhet
        source = str(p)
    check_uncertainty(loaded.method, spec, source)
    return spec


def undeclared(loaded: LoadedMethod, spec: m.Uncertainty) -> list[str]:
    """Parameters that are not official and have no stated range (held at their value)."""
    return [
        name
        for name, p in loaded.method.parametrar.items()
        if p.proveniens != "officiell" and name not in spec.parametrar and not isinstance(p.varde, list)
    ]


def is_empty(spec: m.Uncertainty) -> bool:
    return not (spec.parametrar or spec.alternativ or spec.indata)
