"""Atomic output: a file appears whole or not at all, so a failure never leaves half a file.

Also the one sha256 of a file or of bytes, as the manifests record it (hex digest).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from utanforskap.errors import InputError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `target`; move it onto `target` only on success."""
    target = Path(target)
    if target.is_dir():
        raise InputError(f"{target}: är en mapp; ange en fil att skriva till")
    with output_errors(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with output_errors(target):
            # mkstemp creates 0600; give the file the mode a plain open() would have.
            os.chmod(tmp_path, 0o666 & ~_umask())
            os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a staging directory; on success move each file in it onto `target`.

    Files are replaced one by one with os.replace, so every file is whole; on failure
    nothing in `target` is touched.
    """
    target = Path(target)
    with output_errors(target):
        if target.exists() and not target.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(target))
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target))
    try:
        yield staging
        for src in sorted(staging.rglob("*")):
            if src.is_file():
                dest = target / src.relative_to(staging)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def output_errors(target: str | os.PathLike[str]) -> Iterator[None]:
    """Turn an OSError while preparing or publishing `target` into one Swedish InputError."""
    try:
        yield
    except OSError as exc:
        raise InputError(describe_os_error(exc, target)) from exc


_OS_REASONS = {
    errno.EACCES: "saknar behörighet (skrivskyddad?)",
    errno.EPERM: "saknar behörighet (skrivskyddad?)",
    errno.EROFS: "filsystemet är skrivskyddat",
    errno.ENOTDIR: "en del av sökvägen är en fil, inte en mapp",
    errno.EISDIR: "är en mapp, inte en fil",
    errno.EEXIST: "finns redan som fil (en mapp behövs här)",
    errno.ENOENT: "finns inte",
    errno.ENOSPC: "disken är full",
    errno.ENAMETOOLONG: "namnet är för långt",
    errno.ELOOP: "för många symboliska länkar",
}


def describe_os_error(exc: OSError, target: str | os.PathLike[str] | None = None) -> str:
    """One Swedish line for an OSError: the path, the reason, what to do."""
    where = exc.filename if exc.filename is not None else target
    reason = _OS_REASONS.get(exc.errno or -1, exc.strerror or type(exc).__name__)
    return f"{where if where is not None else 'fil'}: {reason}; välj en annan sökväg eller ändra behörigheten"


def write_text(target: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
