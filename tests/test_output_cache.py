"""The user's output cache (atomic.cached_files): a file that is a pure function of its inputs
is made once and copied on the next run with the same key; `karta` keeps its map image,
kommun layer, Excel file and summary page there and gives the same files from the cache."""

from __future__ import annotations

import polars as pl

from utanforskap import atomic
from utanforskap.observations import store as store_module


def _maker(calls: list[str], text: str):
    def make(folder):
        calls.append(text)
        (folder / "a.txt").write_text(text)
        (folder / "b.txt").write_text(text * 2)

    return make


def test_a_second_call_with_the_same_key_copies_without_making(tmp_path):
    calls: list[str] = []
    key = atomic.cache_key("inputs", sources=[atomic.__file__], packages=["polars"])
    for i in range(2):
        out = tmp_path / f"ut{i}"
        out.mkdir()
        hit = atomic.cached_files("prov", key, ["a.txt", "b.txt"], _maker(calls, "x"), out)
        assert hit is (i == 1)
        assert (out / "a.txt").read_text() == "x" and (out / "b.txt").read_text() == "xx"
    assert calls == ["x"]


def test_another_key_makes_the_files_again(tmp_path):
    calls: list[str] = []
    for text in ("x", "y"):
        out = tmp_path / text
        out.mkdir()
        atomic.cached_files("prov", atomic.cache_key(text), ["a.txt", "b.txt"], _maker(calls, text), out)
        assert (out / "a.txt").read_text() == text
    assert calls == ["x", "y"]
    assert atomic.cache_key("a", "b") != atomic.cache_key("ab")


def test_an_unwritable_cache_still_writes_the_output(tmp_path, monkeypatch):
    blocked = tmp_path / "fil"
    blocked.write_text("inte en mapp")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    calls: list[str] = []
    out = tmp_path / "ut"
    out.mkdir()
    assert atomic.cached_files("prov", "k", ["a.txt", "b.txt"], _maker(calls, "z"), out) is False
    assert (out / "a.txt").read_text() == "z" and calls == ["z"]


def test_the_cache_keeps_a_bounded_number_of_entries(tmp_path):
    for i in range(atomic.CACHE_ENTRIES + 3):
        out = tmp_path / f"ut{i}"
        out.mkdir()
        atomic.cached_files("prov", f"k{i}", ["a.txt", "b.txt"], _maker([], str(i)), out)
    assert len([p for p in (atomic.cache_root() / "prov").iterdir() if not p.name.startswith(".")]) == atomic.CACHE_ENTRIES


def test_karta_gives_the_same_files_from_the_cache(result, tmp_path):
    from utanforskap.reports.sammanfattning import render_summary
    from utanforskap.results import calibrate, export, karta

    summary = karta.summarize(result)
    fit = calibrate.published_fit(result)
    first = export.write_all(result, summary, fit, tmp_path / "a", summary_page=render_summary)
    entries = {p.name for p in atomic.cache_root().iterdir()}
    assert {"karta-sammanfattning", "karta-sammanfattningssida", "karta-kommunlager", "karta-excel"} <= entries
    second = export.write_all(result, summary, fit, tmp_path / "b", summary_page=render_summary)
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name
    # Another map (one kommun more listed) is not served the cached layer.
    changed = karta.Summary(**{**summary.__dict__, "per_kommun": summary.per_kommun.with_columns(pl.col("omraden") + 1)})
    third = export.write_all(result, changed, fit, tmp_path / "c", summary_page=render_summary)
    assert third["kommuner_geojson"].read_bytes() != first["kommuner_geojson"].read_bytes()
    assert third["sammanfattning"].read_bytes() != first["sammanfattning"].read_bytes()
    # Nor a page whose national figure changed while the map stayed the same.
    recounted = karta.Summary(**{**summary.__dict__, "riket": {**summary.riket, "befolkning": summary.riket["befolkning"] + 1}})
    page = render_summary(result, recounted, fit)
    assert page != first["sammanfattning"].read_text(encoding="utf-8")
    assert page == render_summary(result, recounted, fit)


def test_verified_store_files_are_remembered_between_processes(tmp_path, monkeypatch):
    """A later process trusts a store file verified before (same path, size, time and inode)
    without hashing it again."""
    from utanforskap.sources import bundle

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(store_module, "_VERIFIED", {})
    monkeypatch.setattr(store_module, "_VERIFIED_DISK", None)
    st = bundle.default_store()
    files = st.files()
    assert (tmp_path / "utanforskap" / store_module.VERIFIED_FILE).is_file()
    # As a new process: nothing in memory; hashing would fail the test.
    monkeypatch.setattr(store_module, "_VERIFIED", {})
    monkeypatch.setattr(store_module, "_VERIFIED_DISK", None)

    def no_hashing(path):
        raise AssertionError(f"{path} hashed again")

    monkeypatch.setattr(store_module, "sha256_file", no_hashing)
    assert st.files() == files
