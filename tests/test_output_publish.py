"""Issue 9, "Outputs and files": an output set is published whole, even when the writer is killed.

Real processes are killed (SIGKILL, SIGTERM) while they write; the output folder then holds
the old set or the new set, never a mix, and the next run removes what the killed one left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_helpers import cli

from utanforskap import atomic
from utanforskap.errors import InputError

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from utanforskap import atomic
    target, mode = sys.argv[1], sys.argv[2]
    if mode == "between":
        # The two-rename fallback, killed between its renames.
        atomic._exchange = lambda a, b: False
        real = os.rename
        def slow(a, b):
            real(a, b)
            if str(b).startswith(str(Path(target).parent / ("." + Path(target).name + ".old-"))):
                print("between", flush=True); time.sleep(60)
        os.rename = slow
    with atomic.atomic_dir(target) as stage:
        (stage / "lista.csv").write_text("ny\\n")
        (stage / "karta.gpkg").write_text("ny\\n")
        if mode != "between":
            print("writing", flush=True)
            time.sleep(60)
    """
)


def _old_set(target: Path) -> dict[str, str]:
    target.mkdir()
    (target / "lista.csv").write_text("gammal\n")
    (target / "karta.csv").write_text("gammal\n")
    return _files(target)


def _files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir())}


def _siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


def _start_and_kill(target: Path, mode: str, sig: int) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target), mode], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() in ("writing", "between")
        proc.send_signal(sig)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_writer_leaves_the_old_set_and_the_next_run_cleans_up(tmp_path, sig):
    target = tmp_path / "resultat"
    before = _old_set(target)
    _start_and_kill(target, "writing", sig)
    assert _files(target) == before, "the old set is untouched"
    assert _siblings(target), "the killed run's staging folder is there (it was killed)"
    with atomic.atomic_dir(target) as stage:
        (stage / "lista.csv").write_text("tredje\n")
    assert _siblings(target) == [], "the next run removed the stale staging folder"
    assert _files(target) == {"karta.csv": "gammal\n", "lista.csv": "tredje\n"}


def test_killed_between_the_fallback_renames_the_next_run_restores_the_old_set(tmp_path):
    target = tmp_path / "resultat"
    before = _old_set(target)
    _start_and_kill(target, "between", signal.SIGKILL)
    assert not target.exists()  # the fallback's window: the old set is beside it, under .resultat.old-*
    atomic.clean_stale(target)
    assert _files(target) == before and _siblings(target) == []


def test_the_swap_is_one_step_on_linux(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("a")
    (b / "x").write_text("b")
    if not atomic._exchange(a, b):
        pytest.skip("renameat2 finns inte här; reservvägen testas ovan")
    assert (a / "x").read_text() == "b" and (b / "x").read_text() == "a"


def test_the_new_set_replaces_the_old_whole_and_keeps_other_files(tmp_path):
    target = tmp_path / "resultat"
    _old_set(target)
    (target / "jamforelse_listor.csv").write_text("annan körning\n")
    with atomic.atomic_dir(target) as stage:
        (stage / "lista.csv").write_text("ny\n")
        (stage / "karta.gpkg").write_text("ny\n")
    assert _files(target) == {
        "jamforelse_listor.csv": "annan körning\n", "karta.csv": "gammal\n", "karta.gpkg": "ny\n", "lista.csv": "ny\n",
    }


def test_staging_folders_of_earlier_versions_inside_the_target_are_removed(tmp_path):
    target = tmp_path / "resultat"
    _old_set(target)
    (target / ".staging-abc123").mkdir()
    (target / ".staging-abc123" / "kommuner.geojson").write_text('{"type": "Feat')
    with atomic.atomic_dir(target) as stage:
        (stage / "lista.csv").write_text("ny\n")
    assert not (target / ".staging-abc123").exists()


@pytest.mark.parametrize("bad", ["fil", "fil/under"])
def test_an_output_folder_that_cannot_be_a_folder_is_one_line(tmp_path, bad):
    (tmp_path / "fil").write_text("x")
    with pytest.raises(InputError, match="fil"), atomic.atomic_dir(tmp_path / bad):
        pass


@pytest.mark.slow
def test_karta_killed_while_writing_keeps_the_old_map(tmp_path):
    """The real command, killed (SIGKILL) once its staging folder exists; then run again."""
    target = tmp_path / "resultat"
    assert cli("karta", "--ut", target).returncode == 0
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    env = {**os.environ, "COLUMNS": "200"}
    # The killed run computes another map (another threshold), so a half-published set would show.
    proc = subprocess.Popen([sys.executable, "-m", "utanforskap", "karta", "--ut", str(target), "-p", "multipel_brott=1.5"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 120
        while not _siblings(target) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "karta finished before it could be killed"
        time.sleep(0.2)
        proc.kill()
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    after = {p.name: p.read_bytes() for p in target.iterdir()}
    assert after == before, "a killed run leaves the whole old set"
    assert cli("karta", "--ut", target, "-p", "multipel_brott=1.5").returncode == 0
    changed = {p.name: p.read_bytes() for p in target.iterdir()}
    assert changed["listade_omraden.csv"] != before["listade_omraden.csv"], "the other map differs (the test can see a mix)"
    assert cli("karta", "--ut", target).returncode == 0
    assert _siblings(target) == [] and not list(target.glob(".staging-*"))


def test_the_current_folder_as_output_is_written_in_place(tmp_path, monkeypatch):
    """`karta --ut .`: a swap would leave the user's shell in a removed folder; files are replaced one by one."""
    target = tmp_path / "resultat"
    _old_set(target)
    monkeypatch.chdir(target)
    with atomic.atomic_dir(".") as stage:
        (stage / "lista.csv").write_text("ny\n")
    assert Path.cwd().exists() and _files(target) == {"karta.csv": "gammal\n", "lista.csv": "ny\n"}
    assert _siblings(target) == []


def test_a_link_to_the_output_folder_stays_a_link(tmp_path):
    real = tmp_path / "verklig"
    _old_set(real)
    link = tmp_path / "resultat"
    link.symlink_to(real)
    with atomic.atomic_dir(link) as stage:
        (stage / "lista.csv").write_text("ny\n")
    assert link.is_symlink() and _files(link)["lista.csv"] == "ny\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["resultat", "verklig"]
