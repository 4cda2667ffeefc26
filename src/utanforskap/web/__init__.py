"""The web application and open API over one computed map.

    from utanforskap.results import karta
    from utanforskap.web import build, create_app

    app = create_app(build(karta.compute()))      # serve with uvicorn

`utanforskap webb` does the same from the command line (docs/webb.md).
"""

from utanforskap.web.app import create_app
from utanforskap.web.state import AppData, build

__all__ = ["AppData", "build", "create_app"]
