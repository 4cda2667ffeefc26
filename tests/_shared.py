"""Where the shared open data lie (../shared beside the repository), for importer tests."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SE = SHARED_DATA / "se"


def need_shared() -> Path:
    """Skip the calling test when the shared data folder is absent (CI has it at ../shared)."""
    if not (SE / "keys").is_dir():
        pytest.skip(f"{SHARED_DATA} saknas (källfilerna behövs bara för importtesterna)")
    return SE
