"""Issue 9: `karta --data DIR` verifies the store it opens (sha256, paths, Parquet, schema, manifest).

Before, a modified data file or a wrong checksum ran with exit 0, and a manifest entry
"../../etc/passwd" opened a file outside the store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from cli_helpers import cli

from utanforskap.atomic import sha256_file
from utanforskap.errors import InputError
from utanforskap.observations import store as store_module
from utanforskap.observations.store import ObservationStore


def _store(root: Path) -> tuple[ObservationStore, Path]:
    df = pl.DataFrame({
        "omrade": ["0114A0010", "0114A0020"], "niva": ["deso", "deso"], "period": ["2022", "2022"],
        "variabel": ["befolkning", "befolkning"], "taljare": [None, None], "namnare": [None, None],
        "varde": [100.0, 200.0], "enhet": ["antal", "antal"], "kalla": ["test", "test"], "status": [None, None],
    })
    store = ObservationStore(root)
    store.write({"test": df})
    return store, root / store.datasets()["test"]["fil"]


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def _set_manifest(root: Path, manifest: dict) -> None:
    (root / "manifest.json").write_text(json.dumps(manifest))


def _forget_verified():
    store_module._VERIFIED.clear()


def _modify_file(root, data):
    data.write_bytes(data.read_bytes()[:-20] + b"\0" * 20)


def _wrong_checksum(root, data):
    m = _manifest(root)
    m["dataset"]["test"]["sha256"] = "0" * 64
    _set_manifest(root, m)


def _outside(root, data):
    m = _manifest(root)
    m["dataset"]["test"]["fil"] = "../../etc/passwd"
    _set_manifest(root, m)


def _symlink_outside(root, data):
    data.unlink()
    data.symlink_to("/etc/passwd")
    m = _manifest(root)
    m["dataset"]["test"]["sha256"] = sha256_file("/etc/passwd")
    _set_manifest(root, m)


def _corrupt_parquet(root, data):
    data.write_bytes(b"PAR1 inte parquet alls")
    m = _manifest(root)
    m["dataset"]["test"]["sha256"] = sha256_file(data)
    _set_manifest(root, m)


def _missing(root, data):
    data.unlink()


def _wrong_schema(root, data):
    pl.DataFrame({"omrade": ["0114A0010"], "annat": [1]}).write_parquet(data)
    m = _manifest(root)
    m["dataset"]["test"]["sha256"] = sha256_file(data)
    _set_manifest(root, m)


def _empty_manifest(root, data):
    _set_manifest(root, {})


def _entry_without_file(root, data):
    m = _manifest(root)
    del m["dataset"]["test"]["fil"]
    _set_manifest(root, m)


TAMPERING = {
    "andrad-fil": (_modify_file, "sha256 stämmer inte med manifestet"),
    "fel-kontrollsumma": (_wrong_checksum, "sha256 stämmer inte med manifestet"),
    "utanfor-lagret": (_outside, "ligger utanför observationslagret"),
    "symlank-utanfor": (_symlink_outside, "pekar utanför observationslagret"),
    "trasig-parquet": (_corrupt_parquet, "inte en läsbar Parquet-fil"),
    "fil-saknas": (_missing, "datafilen saknas"),
    "fel-schema": (_wrong_schema, "fel schema"),
    "tomt-manifest": (_empty_manifest, "manifestet saknar tabellen 'dataset'"),
    "post-utan-fil": (_entry_without_file, "fil saknas"),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_a_tampered_store_is_refused_in_one_line(tmp_path, case):
    tamper, expected = TAMPERING[case]
    root = tmp_path / "lager"
    store, data = _store(root)
    tamper(root, data)
    _forget_verified()
    with pytest.raises(InputError, match=expected):
        store.read(niva="deso")


@pytest.mark.slow
@pytest.mark.parametrize("case", ["andrad-fil", "utanfor-lagret", "tomt-manifest", "trasig-parquet"])
def test_karta_refuses_a_tampered_store(tmp_path, case):
    tamper, expected = TAMPERING[case]
    root = tmp_path / "lager"
    _, data = _store(root)
    tamper(root, data)
    res = cli("karta", "--data", root, "--ut", tmp_path / "ut")
    assert res.returncode == 2, res.stdout + res.stderr
    assert expected in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "ut").exists()


def test_a_verified_file_is_hashed_once_per_process(tmp_path, monkeypatch):
    root = tmp_path / "lager"
    store, data = _store(root)
    _forget_verified()
    calls = []
    real = store_module.sha256_file
    monkeypatch.setattr(store_module, "sha256_file", lambda p: calls.append(p) or real(p))
    for _ in range(3):
        store.read(niva="deso")
    assert len(calls) == 1
    _modify_file(root, data)  # a later change is seen: size/mtime differ
    os.utime(data, ns=(1, 1))
    with pytest.raises(InputError, match="sha256"):
        store.read(niva="deso")


def test_the_bundled_package_is_verified_on_open():
    from utanforskap.sources import bundle

    bundle.check_package.cache_clear()
    bundle.check_package()  # the shipped package is intact
    assert bundle.verify() == []
