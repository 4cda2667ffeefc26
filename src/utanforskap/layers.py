"""The layer table: which package may import which. docs/arkitektur.md explains it;
tests/test_architecture.py enforces it on every import in the source tree.

A module may import from its own layer's package and from any package of a lower layer,
never from a higher one, and never sideways into another package of the same layer.
"""

from __future__ import annotations

# Bottom to top. Each entry: the layer's packages (a module at the top of `utanforskap`,
# e.g. `errors`, counts as a package of its own).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "layers", "data"),  # data: files only
    ("atomic", "validation", "formatting"),
    ("settings", "tomlmodel"),
    ("catalogue",),
    ("catalogue_doc",),
    ("geography", "methods"),
    ("observations",),
    ("sources", "microdata"),
    ("datasets",),
    ("results",),
    ("followup", "robustness", "metodbank", "labourmarket"),
    ("effects",),
    ("reports",),
    ("web",),
    ("cli",),
    ("__main__",),
)

# Imports allowed against the table, each with its reason. Keep it short.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def layer_of(package: str) -> int:
    """The index of `package`'s layer; KeyError for a package the table does not know."""
    for i, layer in enumerate(LAYERS):
        if package in layer:
            return i
    raise KeyError(package)


def allowed(importer: str, imported: str) -> bool:
    """May a module of package `importer` import from package `imported`?"""
    if importer == imported or (importer, imported) in EXCEPTIONS:
        return True
    return layer_of(imported) < layer_of(importer)
