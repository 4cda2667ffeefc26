"""The lägesbild reports: national, kommun and area, as HTML and PDF, on the bundled open data."""

import io
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from pypdf import PdfReader
from reports_helpers import no_wfs  # noqa: F401 (autouse fixture)

from utanforskap import reports
from utanforskap.errors import InputError
from utanforskap.formatting import format_number
from utanforskap.reports import views
from utanforskap.results import karta


@pytest.fixture(scope="module")
def prep(result):
    return reports.prepared(result)


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), re.sub(r"[\u202f\u00a0]", " ", text)


def plain(value) -> str:
    return format_number(value).replace("\u202f", " ")


class Structure(HTMLParser):
    """Headings, images, tables and the html element's language, for accessibility checks."""

    def __init__(self):
        super().__init__()
        self.lang = None
        self.headings: list[int] = []
        self.images: list[dict] = []
        self.tables = 0
        self.captions = 0
        self.th: list[dict] = []
        self.in_thead = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "img":
            self.images.append(a)
        elif tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "th":
            self.th.append(a)


def structure(html: str) -> Structure:
    s = Structure()
    s.feed(html)
    return s


def assert_accessible(html: str) -> None:
    s = structure(html)
    assert s.lang == "sv"
    assert s.headings[0] == 1 and s.headings.count(1) == 1
    for prev, cur in zip(s.headings, s.headings[1:], strict=False):
        assert cur <= prev + 1, f"rubriknivå hoppar från h{prev} till h{cur}"
    assert s.images, "rapporten ska ha bilder"
    for img in s.images:
        assert img["src"].startswith("data:image/svg+xml;base64,"), "bilder ska vara inbäddade vektorbilder"
        assert len(img.get("alt", "")) > 40, f"alt-texten säger för lite: {img.get('alt')!r}"
    assert s.tables and s.captions == s.tables, "varje tabell ska ha caption"
    assert all(th.get("scope") in ("col", "row") for th in s.th), "varje th ska ha scope"
    assert not re.search(r'<(img|script|link)[^>]+(src|href)="https?:', html), "inget laddas utifrån"


# ---- riket ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_national_html_has_the_maps_totals_and_is_accessible(result, prep):
    html = reports.render("riket", None, "html", result).decode("utf-8")
    assert_accessible(html)
    s = prep.summary.riket
    assert f"<dd>{format_number(s['omraden'])}</dd>" in html
    assert f"<dd>{format_number(s['befolkning'])}</dd>" in html
    assert f"<dd>{format_number(s['barn'])}</dd>" in html
    # by län and kommun, the distribution of every measured indicator, drivers, fit, comparison, provenance
    assert "Listade områden per län (21 län)" in html
    assert f"{prep.summary.per_kommun.filter(pl.col('omraden') > 0).height} kommuner, flest listade områden först" in html
    assert html.count("Histogram över") == len(prep.measured)
    assert "Vanligaste kombinationerna av flaggor" in html
    assert "Passning mot de publicerade totalerna" in html and "Segregationsbarometern områdestyp 1 (2022)" in html
    for spec in prep.specs:
        assert spec.namn in html
    assert "saknas i data" in html and "ersättningsmått (proxy)" in html


@pytest.mark.slow
def test_national_rows_and_captions_are_computed_from_the_map_and_its_data(prep):
    ctx = views.riket(prep)
    assert [r["spec"].id for r in ctx["factor_rows"]] == [f.id for f in prep.measured]
    assert all(r["flaggor"]["spec"].id == r["spec"].id for r in ctx["factor_rows"])  # matched by id, not position
    assert ctx["listing_threshold"] == prep.result.parameters["flaggor_stor"]  # the klass step's last rule
    assert ctx["crime"]["left_out"] == ["2019 (uppgift saknas för alla områden)", "2024K1 (inte ett helt år)"]
    assert views._population_note(prep) == "; befolkningen 2022 som nämnare för 2020 och 2021"


@pytest.mark.slow
def test_national_pdf_pages_and_text(result, prep):
    data = reports.render("riket", None, "pdf", result)
    assert data.startswith(b"%PDF")
    pages, text = pdf_text(data)
    assert 8 <= pages <= 30
    assert "Lägesbild för riket 2022" in text
    assert plain(prep.summary.riket["befolkning"]) in text
    assert "Sida 1 av" in text


def test_summary_page_shows_each_factor_value_by_its_kind(result):
    from utanforskap.formatting import format_percent
    from utanforskap.reports.sammanfattning import render_summary

    html = render_summary(result, karta.summarize(result), None)
    row = result.listed.sort(["lan_kod", "kommun_kod", "regso_kod"]).row(0, named=True)
    assert f'<td class="tal">{format_percent(row["andel_sysselsatta"])}</td>' in html  # 0.653 reads 65,3 %, not 0,65
    assert f'<td class="tal">{format_number(row["andel_sysselsatta"])}</td>' not in html
    most = karta.summarize(result).per_kommun.sort(["omraden", "befolkning"], descending=True)["kommun_namn"][0]
    assert f"flest i {most}" in html and "storstadslänen" not in html
    assert html.count("Källa:") <= 1


# ---- kommun -------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_kommun_figures_equal_the_map(result, prep):
    listed = result.listed.filter(pl.col("kommun_kod") == "0180")
    ctx = views.kommun(prep, "0180")
    assert ctx["n_listed"] == listed.height > 0
    assert ctx["listed_pop"] == listed["befolkning"].sum()
    assert ctx["listed_kids"] == listed["barn"].sum()
    assert ctx["pop"] == result.areas.filter(pl.col("kommun_kod") == "0180")["befolkning"].sum()
    html = reports.render("kommun", "0180", "html", result).decode("utf-8")
    assert_accessible(html)
    assert f"<dd>{format_number(listed.height)}</dd>" in html
    assert f"<dd>{format_number(listed['befolkning'].sum())}</dd>" in html
    for name in listed["regso_namn"]:
        assert name in html


@pytest.mark.slow
def test_kommun_pdf_has_name_and_figures(result):
    data = reports.render("kommun", "1280", "pdf", result)
    assert data.startswith(b"%PDF")
    pages, text = pdf_text(data)
    assert 3 <= pages <= 14
    listed = result.listed.filter(pl.col("kommun_kod") == "1280")
    assert "Lägesbild: Malmö" in text
    assert plain(listed["befolkning"].sum()) in text
    assert "Arbetsmarknadsetablering" in text and "Händelser" in text


def test_kommun_values_are_ratios_of_sums_not_averages(result, prep):
    store = result.source.store
    obs = store.read(niva="kommun", period="2022", variabler=["sysselsatta_16_64", "befolkning_16_64"]).filter(pl.col("omrade") == "0180")
    v = dict(zip(obs["variabel"], obs["varde"], strict=False))
    whole = prep.ratios.filter((pl.col("omrade") == "0180") & (pl.col("grupp") == "kommun"))
    assert whole["arbetsmarknadsetablering"][0] == pytest.approx(v["sysselsatta_16_64"] / v["befolkning_16_64"], rel=1e-12)
    areas = result.areas.filter(pl.col("kommun_kod") == "0180")
    mean_of_rates = areas["andel_sysselsatta"].mean()
    assert abs(whole["arbetsmarknadsetablering"][0] - mean_of_rates) > 1e-4  # they differ: it is not a mean
    riket = prep.ratios.filter(pl.col("grupp") == "riket")
    assert riket["arbetsmarknadsetablering"][0] == pytest.approx(0.7775, abs=1e-4)


def test_kommun_without_listed_areas_says_so_and_shows_its_figures(result, prep):
    none = prep.summary.per_kommun.filter(pl.col("omraden") == 0).sort("kommun_kod")
    kod = "2584" if "2584" in none["kommun_kod"].to_list() else none["kommun_kod"][0]
    html = reports.render("kommun", kod, "html", result).decode("utf-8")
    name = prep.kommuner.filter(pl.col("kommun_kod") == kod)["kommun_namn"][0]
    assert f"{name} har inga områden med stor sammanvägd problematik" in html
    pop = result.areas.filter(pl.col("kommun_kod") == kod)["befolkning"].sum()
    assert f"<dd>{format_number(pop)}</dd>" in html
    assert "Hela kommunen" in html and "Riket" in html
    assert_accessible(html)


def test_labour_market_says_plainly_that_the_open_data_have_no_breakdown(result, prep):
    ctx = views.kommun(prep, "0180")
    assert [m[0] for m in prep.labour_measures] == ["sysselsatta_16_64"]
    assert "bara för alla i åldersgruppen" in ctx["labour"]["note"]
    assert "kön" in ctx["labour"]["note"] and "bakgrund" in ctx["labour"]["note"]


# ---- area ------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_area_profile_is_one_page(result):
    area = result.listed.sort("befolkning", descending=True).row(0, named=True)
    html = reports.render("omrade", area["regso_kod"], "html", result).decode("utf-8")
    assert_accessible(html)
    assert area["regso_namn"] in html and format_number(area["befolkning"]) in html
    data = reports.render("omrade", area["regso_kod"], "pdf", result)
    pages, text = pdf_text(data)
    assert pages == 1
    assert area["regso_namn"] in text.replace("\n", " ") or area["regso_namn"].split("-")[0] in text
    assert "Områdets värden jämförda med kommunen och riket" in text


def test_area_profile_names_the_other_lists(prep):
    ctx = views.omrade(prep, "0380R033")
    assert any("områdestyp" in line for line in ctx["other_lists"])
    assert any("Polisens lista 2025" in line for line in ctx["other_lists"])


# ---- errors --------------------------------------------------------------------------------------------------------
def test_unknown_codes_raise_input_error_naming_them(result):
    with pytest.raises(InputError, match=r"okänd kommunkod 9999; ange en av Sveriges 290 kommunkoder, t\.ex\. 0180 för Stockholm"):
        reports.render("kommun", "9999", "html", result)
    with pytest.raises(InputError, match=r"Malmö har kod 1280"):
        reports.render("kommun", "Malmö", "pdf", result)
    with pytest.raises(InputError, match=r"okänd områdeskod 0180X999"):
        reports.render("omrade", "0180X999", "html", result)
    with pytest.raises(InputError, match=r"DeSO-kod; den ligger i RegSO 0180R"):
        reports.render("omrade", "0180C1010", "html", result)
    with pytest.raises(InputError, match="okänt format"):
        reports.render("riket", None, "docx", result)
    with pytest.raises(InputError, match="okänd rapporttyp"):
        reports.render("valkrets", "01", "html", result)  # "lan" is a report since issue 15


# ---- synthetic data --------------------------------------------------------------------------------------------------
@pytest.mark.slow  # builds the synthetic store of the whole population in this session's cache
def test_synthetic_data_are_labelled_on_every_page(result):
    synthetic = karta.compute(data="syntetisk")
    assert synthetic.source.synthetic
    html = reports.render("kommun", "0380", "html", synthetic).decode("utf-8")
    assert '<p class="syntetisk" role="note">SYNTETISKA DATA' in html
    assert "<title>SYNTETISKA DATA" in html
    pages, text = pdf_text(reports.render("kommun", "0380", "pdf", synthetic))
    assert text.count("SYNTETISKA DATA – inte verkliga personer eller områden") >= pages > 1
    national = reports.render("riket", None, "html", synthetic).decode("utf-8")
    assert "Jämförelsen med andra listor görs bara på verkliga data" in national
    real = reports.render("kommun", "0380", "html", result).decode("utf-8")
    assert "SYNTETISKA DATA" not in real


@pytest.mark.slow  # builds the synthetic store of the whole population in this session's cache
def test_synthetic_map_reports_the_methods_seven_factors_with_thresholds():
    synthetic = karta.compute(data="syntetisk")
    assert [f.id for f in synthetic.factors] == list(synthetic.method.method.faktorer)  # se-utanforskap-2024's table
    prep = reports.prepared(synthetic)
    assert [s.flagga for s in prep.measured] == [
        s.namn for s in synthetic.method.method.steg if s.namn.startswith("flagga_")
    ]
    by_id = {s.id: s for s in prep.measured}
    assert by_id["arbetsmarknadsetablering"].grans == pytest.approx(synthetic.parameters["grans_sysselsattning"])
    assert by_id["arbetsmarknadsetablering"].operator == "<"
    assert all(s.aggregable for s in prep.measured)


# ---- batch and names ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_render_all_kommuner_writes_recognisable_names(tmp_path, result):
    calls = []
    written = reports.render_all_kommuner(
        "html", tmp_path, result, progress=lambda d, t, n: calls.append((d, t, n)), kommuner=["0180", "1280", "0305"]
    )
    assert [p.name for p in written] == ["kommun-0180-stockholm.html", "kommun-1280-malmo.html", "kommun-0305-habo.html"]
    assert calls == [(1, 3, "Stockholm"), (2, 3, "Malmö"), (3, 3, "Håbo")]
    assert all(p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") for p in written)
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_file_names(result, monkeypatch):
    def no_preparation(*args, **kwargs):
        raise AssertionError("file_name must not prepare the map")

    monkeypatch.setattr(reports.content, "prepare", no_preparation)
    assert reports.file_name("kommun", "0180", "html") == "kommun-0180-stockholm.html"  # no map needed
    with pytest.raises(InputError, match="okänd kommunkod 9999"):
        reports.file_name("kommun", "9999", "pdf", result)
    assert reports.file_name("kommun", "0114", "pdf", result) == "kommun-0114-upplands-vasby.pdf"
    assert reports.file_name("riket", None, "html", result) == "riket-2022.html"
    assert reports.file_name("omrade", "0380R033", "pdf", result) == "omrade-0380R033-sodra-valsatra-norra-gottsunda.pdf"


# ---- layering and imports --------------------------------------------------------------------------------------------------
def test_light_modules_do_not_load_the_drawing_libraries():
    code = (
        "import sys\n"
        "import utanforskap.results.export, utanforskap.reports.events, utanforskap.reports.sammanfattning\n"
        "from utanforskap import reports\n"
        "reports.file_name\n"
        "print(sorted(m for m in ('matplotlib', 'geopandas', 'utanforskap.reports.views') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_charts_leave_matplotlibs_settings_as_they_found_them():
    code = "import matplotlib; from utanforskap.reports import figures; print(matplotlib.rcParams['font.size'] == matplotlib.rcParamsDefault['font.size'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"  # importing does not restyle the caller's plots
    import matplotlib

    from utanforskap.reports import figures

    before = {k: matplotlib.rcParams[k] for k in figures.STYLE}
    png = figures.horizontal_bars(["a"], [("x", [0.5], "#000000", "")], "Titel", "andel", "Källa: test.", percent=True)
    assert b"<svg" in png[:400]
    assert {k: matplotlib.rcParams[k] for k in figures.STYLE} == before


def test_reports_share_one_template_environment():
    from utanforskap.reports.formatting import environment

    assert environment() is environment()


def test_results_do_not_depend_on_the_layers_above():
    results = Path(karta.__file__).parent
    for path in results.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "utanforskap.reports" not in text and "utanforskap.web" not in text, path.name


@pytest.mark.slow
def test_render_all_kommuner_in_worker_processes_writes_the_same_files(tmp_path, result, monkeypatch):
    """The batch split over processes (issue 16) writes byte for byte what one process writes."""
    from utanforskap.reports import api

    codes = ["0180", "1280", "0305"]
    serial = reports.render_all_kommuner("html", tmp_path / "ett", result, kommuner=codes, workers=1)
    monkeypatch.setattr(api, "POOL_MIN_REPORTS", 2)
    calls = []
    pooled = reports.render_all_kommuner(
        "html", tmp_path / "tva", result, progress=lambda d, t, n: calls.append((d, t, n)), kommuner=codes, workers=2
    )
    assert [p.name for p in pooled] == [p.name for p in serial]
    assert calls == [(1, 3, "Stockholm"), (2, 3, "Malmö"), (3, 3, "Håbo")]
    for a, b in zip(serial, pooled, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    assert not list((tmp_path / "tva").glob(".*"))


@pytest.mark.slow
def test_batch_workers_do_not_rerun_a_callers_script(tmp_path):
    """A script without `if __name__ == "__main__"` runs once, not again in every worker."""
    import os
    from pathlib import Path

    script = tmp_path / "skript.py"
    script.write_text(
        "import os\nos.environ['UTANFORSKAP_GEOMETRI_WFS'] = ''\nprint('SKRIPTET KÖRS', flush=True)\n"
        "from utanforskap import reports\nfrom utanforskap.reports import api\napi.POOL_MIN_REPORTS = 2\n"
        f"w = reports.render_all_kommuner('html', {str(tmp_path / 'ut')!r}, kommuner=['0180', '0305', '1280'], workers=2)\n"
        "print(len(w), 'RAPPORTER')\n",
        encoding="utf-8",
    )
    src = str(Path(reports.__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("SKRIPTET KÖRS") == 1
    assert "3 RAPPORTER" in out.stdout
