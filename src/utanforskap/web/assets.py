"""The front-end files the pages load: our own (committed) and the map library (built).

maplibre-gl (and swagger-ui-dist for /docs) is installed from the npm registry and copied into static/vendor by
`npm run bygg` (see web/frontend/package.json); it is never committed nor loaded from a CDN.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from utanforskap.errors import UtanforskapError

FRONTEND_DIR = Path(str(resources.files("utanforskap.web").joinpath("frontend")))
STATIC_DIR = Path(str(resources.files("utanforskap.web").joinpath("static")))
VENDOR = "vendor/maplibre-gl"
SWAGGER = "vendor/swagger-ui"
REQUIRED = (
    f"{VENDOR}/maplibre-gl.mjs", f"{VENDOR}/maplibre-gl-worker.mjs", f"{VENDOR}/maplibre-gl.css",
    f"{SWAGGER}/swagger-ui-bundle.js", f"{SWAGGER}/swagger-ui.css",
    "app.css", "karta.js", "sok.js", "docs.js",
)


class AssetsMissing(UtanforskapError):
    """The built front-end files are not in the static folder."""


def check(static_dir: Path = STATIC_DIR) -> None:
    missing = [name for name in REQUIRED if not (static_dir / name).is_file()]
    if missing:
        raise AssetsMissing(
            f"webbens filer saknas i {static_dir}: {', '.join(missing)}. Kartbiblioteket installeras från npm vid "
            f"bygget: kör `make` i repots rot, eller `npm ci && npm run bygg` i {FRONTEND_DIR}"
        )


def axe_script(frontend_dir: Path = FRONTEND_DIR) -> Path:
    """axe-core from the npm install (used by the browser tests, not served)."""
    return frontend_dir / "node_modules" / "axe-core" / "axe.min.js"
