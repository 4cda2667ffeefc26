"""Report speed: the national PDF (target under 20 s) and all 290 kommun HTML reports (under 5 min).

The map is computed once and reused, as `utanforskap rapport --alla-kommuner` does. The
national PDF is timed end to end (map, preparation, drawing, WeasyPrint) in a fresh
preparation, then again with the preparation reused (as the web application does).
SCB's WFS is switched off so that the timing does not depend on the network. Import time
is not measured: the drawing modules are imported first (`reports` itself loads them lazily).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import report  # noqa: E402

os.environ["UTANFORSKAP_GEOMETRI_WFS"] = ""

from utanforskap import reports  # noqa: E402
from utanforskap.reports import views  # noqa: E402,F401  (matplotlib, geopandas: imported before timing, not timed)
from utanforskap.results import karta  # noqa: E402

t0 = time.perf_counter()
result = karta.compute()
t_map = time.perf_counter() - t0
report("report_map_compute", t_map, "s")

t0 = time.perf_counter()
pdf = reports.render("riket", None, "pdf", result)
t_riket = time.perf_counter() - t0
report("report_riket_pdf_with_preparation", t_riket, "s")
report("report_riket_pdf_end_to_end", t_map + t_riket, "s")
assert pdf.startswith(b"%PDF")

t0 = time.perf_counter()
reports.render("riket", None, "pdf", result)
report("report_riket_pdf_prepared", time.perf_counter() - t0, "s")

with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    written = reports.render_all_kommuner("html", tmp, result)
    total = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in written) / len(written)
report("report_all_kommuner_html_total", total, "s")
report("report_all_kommuner_html_per_report", total / len(written), "s")
report("report_kommun_html_mean_size", size / 1024, "KiB")
print(f"# {len(written)} kommunrapporter (html) på {total:.1f} s", flush=True)
