"""The reports API: one report as bytes, or every kommun's report into a directory.

    render("riket", None, "pdf")                      # national report, default map
    render("kommun", "0180", "html", result=result)   # one kommun, a map computed earlier
    render("omrade", "0180R001", "pdf")               # one area's profile
    render_all_kommuner("html", "ut/", result=result, progress=callback)

HTML is self-contained (images as data URIs, no external requests); PDF is WeasyPrint's
rendering of the same HTML with print styles (A4, page numbers, SYNTETISKA DATA on every
page when the data are synthetic).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Literal

from utanforskap import geography
from utanforskap.errors import InputError
from utanforskap.reports import content
from utanforskap.reports.formatting import environment
from utanforskap.results import karta
from utanforskap.results.karta import DEFAULT_YEAR, MapResult, memo

Kind = Literal["riket", "lan", "kommun", "omrade"]
Format = Literal["html", "pdf"]
KINDS = ("riket", "lan", "kommun", "omrade")
FORMATS = ("html", "pdf")

def prepared(
    result: MapResult | None = None,
    handelser: str | os.PathLike[str] | None = None,
    geometri: str | os.PathLike[str] | None = None,
) -> content.Prepared:
    """The Prepared for `result` (default map when None): made once per map, events file and
    geometry, and kept with the map (the web app and the batch render many reports from it)."""
    result = result if result is not None else default_result()
    key = ("reports.prepared", str(handelser) if handelser else None, str(geometri) if geometri else None)
    return memo(result, key, lambda: content.prepare(result, handelser=handelser, geometri=geometri))


@lru_cache(maxsize=1)
def default_result() -> MapResult:
    """karta.compute() with its defaults (bundled open data), computed once per process."""
    return karta.compute()


def render(
    kind: Kind,
    code: str | None,
    fmt: Format,
    result: MapResult | None = None,
    *,
    handelser: str | os.PathLike[str] | None = None,
    geometri: str | os.PathLike[str] | None = None,
    databas: str | None = None,
) -> bytes:
    """A complete report: HTML (UTF-8) or PDF bytes.

    kind: "riket" (code ignored), "lan" (code = länskod, e.g. "01"), "kommun" (code = kommunkod, e.g. "0180") or "omrade"
    (code = RegSO 2020 code, e.g. "0180R001"). An unknown code raises InputError with a
    Swedish message naming it. `handelser`: a user's events file; `geometri`: a user's
    RegSO/DeSO polygon file (otherwise UTANFORSKAP_REGSO_GEOMETRI, SCB's WFS, the bundle);
    `databas`: the metodbank whose measures and gaps the riket and kommun reports show.
    """
    if kind not in KINDS:
        raise InputError(f"okänd rapporttyp {kind!r}; välj riket, lan, kommun eller omrade")
    if fmt not in FORMATS:
        raise InputError(f"okänt format {fmt!r}; välj html eller pdf")
    prep = prepared(result, handelser, geometri)
    html = render_html(prep, kind, code, databas)
    return html.encode("utf-8") if fmt == "html" else html_to_pdf(html)


def render_html(prep: content.Prepared, kind: Kind, code: str | None, databas: str | None = None) -> str:
    """`databas`: the metodbank for the section on measures and gaps (default:
    UTANFORSKAP_DATABAS or the local file; without one the section says so)."""
    from utanforskap.reports import insatser, views  # charts and maps: matplotlib, geopandas

    if kind == "riket":
        ctx = views.riket(prep)
    elif kind == "lan":
        ctx = views.lan(prep, code or "")
    elif kind == "kommun":
        ctx = views.kommun(prep, code or "")
    else:
        ctx = views.omrade(prep, code or "")
    if kind in ("riket", "kommun"):
        ctx["mb"] = insatser.section(prep.result, kind, ctx["k"]["kommun_kod"] if kind == "kommun" else None, databas)
    return environment().get_template(f"{kind}.html.j2").render(**ctx)


def html_to_pdf(html: str) -> bytes:
    """WeasyPrint's PDF of `html`, set up once per process (reports.pdf)."""
    from utanforskap.reports.pdf import html_to_pdf as convert

    return convert(html)


# ---- file names and the batch -----------------------------------------------------------------------------------------
def slug(text: str) -> str:
    """Malmö -> malmo, Upplands Väsby -> upplands-vasby."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def file_name(kind: Kind, code: str | None, fmt: Format, result: MapResult | None = None) -> str:
    """riket-2022.pdf, lan-01-stockholms-lan.pdf, kommun-0180-stockholm.pdf, omrade-0180R001-<name>.pdf.

    Needs no prepared map: names come from the geography (the area's from `result` when
    given), the year from `result` (or the default map's year). An unknown code raises
    InputError as render() does.
    """
    if kind == "riket":
        return f"riket-{result.year if result is not None else DEFAULT_YEAR}.{fmt}"
    if kind == "lan":
        from utanforskap.geography.codes import restore_zeros

        kod = restore_zeros(code or "", "lan")
        names = dict(geography.lan_names().iter_rows())
        if kod not in names:
            raise InputError(f"okänd länskod {code}; ange en av Sveriges 21 länskoder, t.ex. 01 för Stockholms län")
        return f"lan-{kod}-{slug(names[kod])}.{fmt}"
    if kind == "kommun":
        k = content.kommun_row(geography.areas("kommun"), code)
        return f"kommun-{k['kommun_kod']}-{slug(k['kommun_namn'])}.{fmt}"
    a = content.area_row(result.areas if result is not None else geography.areas("regso"), code)
    return f"omrade-{a['regso_kod']}-{slug(a['regso_namn'])}.{fmt}"


# Below this many reports the batch renders in this process: starting workers costs more.
POOL_MIN_REPORTS = 12


def batch_workers() -> int:
    """Processes for a batch: the cores this process may use (UTANFORSKAP_RAPPORT_PROCESSER overrides)."""
    env = os.environ.get("UTANFORSKAP_RAPPORT_PROCESSER", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise InputError(f"UTANFORSKAP_RAPPORT_PROCESSER={env!r}: ange ett heltal, t.ex. 2") from None
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def render_all_kommuner(
    fmt: Format,
    out_dir: str | os.PathLike[str],
    result: MapResult | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    *,
    handelser: str | os.PathLike[str] | None = None,
    geometri: str | os.PathLike[str] | None = None,
    kommuner: list[str] | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Write every kommun's report into `out_dir` (each file atomically); return the paths.

    The map is prepared once and reused for all 290. `progress(done, total, kommun_namn)`
    is called after each report. `kommuner` restricts the batch to those codes.
    `workers` processes share the batch (default: batch_workers(), one per core); each
    gets the prepared map once, pickled, and writes its reports itself; what every report
    shares from outside the map (the metodbank's measures and gaps) is read once, here,
    while the workers start, and handed to them. Workers are started fresh (spawn), not
    forked: Polars' thread pool does not survive a fork.
    """
    if fmt not in FORMATS:
        raise InputError(f"okänt format {fmt!r}; välj html eller pdf")
    prep = prepared(result, handelser, geometri)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = prep.kommuner.sort("kommun_kod").to_dicts()
    if kommuner is not None:
        rows = [content.kommun_row(prep.kommuner, code) for code in kommuner]
    n = min(workers if workers is not None else batch_workers(), len(rows))
    codes = [k["kommun_kod"] for k in rows]
    written = []
    with _batch():
        payload = _payload(prep) if n > 1 and len(rows) >= POOL_MIN_REPORTS else None
        done = (
            _render_pooled(payload, codes, fmt, out, n, lambda: _shared_reads(prep)) if payload
            else (_write_kommun(prep, code, fmt, out) for code in codes)
        )
        for i, (k, path) in enumerate(zip(rows, done, strict=True), start=1):
            written.append(path)
            if progress is not None:
                progress(i, len(rows), k["kommun_namn"])
    return written


def _batch(read: dict | None = None):
    """What the reports of one batch share is read once: the metodbank's measures and gaps."""
    from utanforskap.reports import insatser

    return insatser.one_read(read)


def _shared_reads(prep: content.Prepared) -> dict:
    from utanforskap.reports import insatser

    return insatser.batch_reads(prep.result)


def _write_kommun(prep: content.Prepared, code: str, fmt: Format, out: Path) -> Path:
    from utanforskap.atomic import atomic_path

    html = render_html(prep, "kommun", code)
    data = html.encode("utf-8") if fmt == "html" else html_to_pdf(html)
    path = out / file_name("kommun", code, fmt, prep.result)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def _payload(prep: content.Prepared) -> bytes | None:
    """The prepared map pickled for the workers; None (render in this process) when a
    caller's map holds something that cannot be pickled."""
    import pickle

    try:
        return pickle.dumps(prep, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None


def _render_pooled(payload: bytes, codes: list[str], fmt: Format, out: Path, workers: int, shared: Callable[[], dict]):
    """Paths of the written reports, in the order of `codes`, rendered by `workers` processes.
    `shared()` reads what every report shares (the metodbank) while the workers start."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    n = len(codes)
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(payload,)) as pool:
        with _caller_main_hidden():
            # Each submit starts a worker: they load the drawing libraries while this process reads.
            warm = [pool.submit(_warm_worker, fmt) for _ in range(workers)]
            reads = shared()
            # Small chunks keep both processes busy to the end (reports differ in size).
            paths = pool.map(_worker_write, codes, [fmt] * n, [out] * n, [reads] * n, chunksize=2)
        for f in warm:
            f.result()
        yield from paths


@contextlib.contextmanager
def _caller_main_hidden():
    """A spawned worker normally re-imports the caller's main script, which would run a
    script without an `if __name__ == "__main__"` guard again in every worker. The workers
    need only this module: hide the main module's origin while they start."""
    main = sys.modules.get("__main__")
    if main is None:  # pragma: no cover - embedded interpreters
        yield
        return
    saved = {name: main.__dict__[name] for name in ("__spec__", "__file__") if name in main.__dict__}
    main.__spec__ = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


_worker_prep: content.Prepared | None = None
_worker_reads: dict | None = None


def _init_worker(payload: bytes) -> None:
    import pickle

    global _worker_prep
    _worker_prep = pickle.loads(payload)


def _warm_worker(fmt: Format) -> None:
    """Load what every report of the batch needs (the drawing modules, templates, fonts)."""
    from utanforskap.reports import views  # noqa: F401  (matplotlib, geopandas)

    environment()
    if fmt == "pdf":
        from utanforskap.reports.pdf import font_config

        font_config()


def _worker_write(code: str, fmt: Format, out: Path, reads: dict) -> Path:
    global _worker_reads
    assert _worker_prep is not None, "_init_worker has not run"
    if _worker_reads is None:
        # A worker lives for one batch: what the batch shares was read by the process that started it.
        _worker_reads = reads
        _batch(reads).__enter__()
    return _write_kommun(_worker_prep, code, fmt, out)
