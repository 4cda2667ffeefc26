"""The bundled data package: manifest checksums, origins, size, offline reading, rebuild."""

import json

import polars as pl
import pytest
from _shared import need_shared

from utanforskap.errors import InputError
from utanforskap.sources import bundle


def test_manifest_sha256_matches_every_derived_file():
    assert bundle.verify() == []
    m = bundle.manifest()
    listed = {e["fil"] for e in m["harledda_filer"]}
    on_disk = {str(p.relative_to(bundle.package_dir())) for p in bundle.package_dir().rglob("*.parquet")}
    assert listed == on_disk


def test_every_source_file_has_origin_licence_and_checksum():
    m = bundle.manifest()
    assert len(m["kallfiler"]) >= 30
    for s in m["kallfiler"]:
        assert s["ursprung"]["repository"] and len(s["ursprung"]["commit"]) >= 7, s["fil"]
        assert s["licens"] and len(s["sha256"]) == 64 and s["innehall"]
    names = {s["fil"] for s in m["kallfiler"]}
    assert "se/keys/koppling-deso2018-regso2020.csv" in names
    assert sum(n.startswith("se/scb_deso_2022/") for n in names) == 11


def test_bundle_is_small():
    total = sum(p.stat().st_size for p in bundle.package_dir().rglob("*") if p.is_file())
    assert total < 5 * 1024 * 1024


def test_default_store_reads_every_level_offline():
    store = bundle.default_store()
    assert set(store.datasets()) == {"scb", "polisen_brott", "skolverket", "omradestyp", "polisen_uso_2025", "valmyndigheten"}
    levels = store.sql("SELECT DISTINCT niva FROM observationer")["niva"].to_list()
    assert sorted(levels) == ["deso", "kommun", "lan", "regso", "riket"]
    assert bundle.reference("skolenheter_ak9").height == 1714


def test_source_checksums_match_shared_files():
    se = need_shared()
    for s in bundle.manifest()["kallfiler"]:
        assert bundle.sha256(se.parent / s["fil"]) == s["sha256"], s["fil"]


@pytest.mark.slow
def test_rebuild_reproduces_the_bundle(tmp_path):
    se = need_shared()
    built = bundle.build(se.parent, tmp_path)
    bundled = bundle.manifest()
    strip = lambda m: {e["fil"]: e["sha256"] for e in m["harledda_filer"]}  # noqa: E731
    assert strip(built) == strip(bundled)
    assert json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8")) == bundled
    assert pl.read_parquet(tmp_path / "geografi" / "deso.parquet").height == 5984


def test_indikatorer_md_matches_catalogue():
    from pathlib import Path

    from utanforskap import catalogue, catalogue_doc

    doc = Path(__file__).resolve().parents[1] / "docs" / "indikatorer.md"
    assert doc.read_text(encoding="utf-8") == catalogue_doc.render(), (
        "docs/indikatorer.md är inaktuell: kör python -m utanforskap.catalogue_doc > docs/indikatorer.md"
    )
    cat = catalogue.load()
    stored = set(bundle.default_store().sql("SELECT DISTINCT variabel FROM observationer")["variabel"].to_list())
    # Variables counted only from person-level microdata (utanforskap aggregera) are not bundled,
    # nor those only fetched from SCB's integration tables or Kolada (utanforskap hamta).
    bundled = {
        v for v, var in cat.variabel.items()
        if not var.kalla.startswith(("Mikrodata", "Kolada")) and not (var.scb and var.scb.tabell.startswith("IntGr"))
    }
    assert stored == bundled, "varje variabel i lagret ska stå i katalogen och tvärtom"
    for factor in ("kriminalitet", "bidragsberoende", "trangboddhet", "valdeltagande", "skolresultat", "arbetsmarknadsetablering", "ohalsa"):
        assert any(i.faktor == factor for i in cat.indikator.values()), factor


def test_build_without_crime_files_names_the_folder(tmp_path):
    se = need_shared()
    fran = tmp_path / "data"
    for folder in ("keys", "scb_deso_2022"):
        (fran / "se" / folder).mkdir(parents=True)
        for f in (se / folder).iterdir():
            (fran / "se" / folder / f.name).symlink_to(f)
    with pytest.raises(InputError, match=r"se/crime_polisen_deso: inga brottsfiler från Polisen"):
        bundle.build(fran, tmp_path / "paket")
    assert not (tmp_path / "paket").exists()


@pytest.mark.parametrize("ci, outcome", [(None, pytest.skip.Exception), ("false", pytest.skip.Exception),
                                         ("true", pytest.fail.Exception), ("1", pytest.fail.Exception)])
def test_missing_shared_data_skips_locally_and_fails_in_ci(monkeypatch, tmp_path, ci, outcome):
    import _shared

    monkeypatch.setattr(_shared, "SE", tmp_path / "saknas" / "se")
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="saknas"):
        _shared.need_shared()
