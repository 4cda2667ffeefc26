"""The layer rules of docs/arkitektur.md hold for every import in src/utanforskap."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import utanforskap
from utanforskap import layers

SRC = Path(utanforskap.__file__).parent


def _package(module: str) -> str | None:
    """`utanforskap.results.karta` -> `results`; None outside the project or for a name
    defined in utanforskap/__init__.py itself (e.g. __version__), which every layer may use."""
    parts = module.split(".")
    if parts[0] != "utanforskap" or len(parts) < 2 or parts[1].startswith("__"):
        return None
    return parts[1]


def imports_of(path: Path, root: Path = SRC) -> list[tuple[int, str]]:
    """Every `utanforskap.*` module imported anywhere in a file (also inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = Path("utanforskap") / path.relative_to(root).with_suffix("")
    here = list(rel.parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = here[: len(here) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod == "utanforskap":  # `from utanforskap import x`: x is the package
                found += [(node.lineno, f"utanforskap.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, mod))
    return found


def violations(root: Path = SRC) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        rel = path.relative_to(root)
        importer = rel.parts[0].removesuffix(".py")
        if importer == "__init__":
            continue
        for line, module in imports_of(path, root):
            imported = _package(module)
            if imported is None:
                continue
            if not layers.allowed(importer, imported):
                out.append(f"{rel}:{line}: {importer} importerar {module} (lager {layers.layer_of(imported)} över {layers.layer_of(importer)} eller bredvid)")
    return out


def test_every_package_is_in_the_layer_table():
    packages = {p.name.removesuffix(".py") for p in SRC.iterdir() if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.name != "__init__.py")}
    unknown = []
    for name in sorted(packages):
        try:
            layers.layer_of(name)
        except KeyError:
            unknown.append(name)
    assert not unknown, f"paket utan lager i utanforskap/layers.py: {unknown}"


@pytest.mark.slow
def test_no_import_goes_up_or_sideways():
    assert violations() == []


def test_the_check_catches_an_upward_import(tmp_path):
    # A copy of two real modules, one with an import the table forbids: the check must see it.
    pkg = tmp_path / "geography"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_text("from utanforskap.results.karta import MapResult\n")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "ok.py").write_text("from utanforskap.geography import areas\n")
    found = violations(tmp_path)
    assert len(found) == 1 and "geography/bad.py:1" in found[0] and "results.karta" in found[0]


def test_a_sideways_import_is_caught(tmp_path):
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "x.py").write_text("def f():\n    from utanforskap.microdata import synthetic\n")
    assert len(violations(tmp_path)) == 1


@pytest.mark.parametrize("name", sorted(
    m.name for m in pkgutil.iter_modules(utanforskap.__path__) if m.ispkg and m.name not in ("data",)
))
def test_each_package_declares_its_public_api(name):
    module = importlib.import_module(f"utanforskap.{name}")
    assert isinstance(getattr(module, "__all__", None), list | tuple), f"utanforskap.{name} saknar __all__"
    for attr in module.__all__:
        assert hasattr(module, attr) or importlib.util.find_spec(f"utanforskap.{name}.{attr}"), f"utanforskap.{name}.__all__ nämner {attr!r} som inte finns"
