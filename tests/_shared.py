"""Where the shared open data lie (../shared beside the repository), for importer tests."""

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SE = SHARED_DATA / "se"


def in_ci() -> bool:
    """True when the environment variable CI is set to a true value (not empty, 'false', '0' or 'no')."""
    return os.environ.get("CI", "").strip().lower() not in ("", "false", "0", "no")


def need_shared() -> Path:
    """The shared data's `se` folder; the calling test is skipped without it, and fails in CI (which has it)."""
    if not (SE / "keys").is_dir():
        message = f"{SHARED_DATA} saknas (källfilerna behövs bara för importtesterna)"
        if in_ci():
            pytest.fail(f"{message}; i CI ska de finnas, så testet underkänns i stället för att hoppas över")
        pytest.skip(message)
    return SE
