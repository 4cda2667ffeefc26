"""Atomic output: a file appears whole or not at all, so a failure never leaves half a file.

Also the one sha256 of a file or of bytes, as the manifests record it (hex digest).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
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
    """Yield a fresh staging directory; on success it becomes `target` in one step.

    The staging directory is a sibling, ``.<name>.staging-<pid>-<random>``. On success, files
    already in `target` that the new set does not replace are carried over (hard links),
    and the staging directory is swapped with `target` in one atomic rename (Linux
    renameat2 RENAME_EXCHANGE; elsewhere two renames, repaired by the next run if killed
    between them). Readers see the old set or the new set, never a mix. Staging folders
    left by killed runs are removed on the next call.
    """
    target = Path(target)
    if target.is_symlink() or not target.name or target.name == "..":
        target = Path(os.path.realpath(target))  # swap the folder a link points to, never the link
    with output_errors(target):
        if target.exists() and not target.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(target))
        if _holds_cwd(target):
            # The user works inside it (`--ut .`): a swap would leave their shell in a removed folder.
            with _file_by_file(target) as staging:
                yield staging
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(target)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-{os.getpid()}-", dir=target.parent))
    try:
        yield staging
        with output_errors(target):
            os.chmod(staging, 0o777 & ~_umask())
            if target.is_dir():
                _carry_over(target, staging)
            _publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _holds_cwd(target: Path) -> bool:
    try:
        return target.exists() and Path.cwd().resolve().is_relative_to(target.resolve())
    except OSError:
        return False


@contextlib.contextmanager
def _file_by_file(target: Path) -> Iterator[Path]:
    """The fallback when `target` cannot be swapped: each file replaced whole, one by one."""
    clean_stale(target)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target))
    try:
        yield staging
        with output_errors(target):
            for src in sorted(staging.rglob("*")):
                if src.is_file():
                    dest = target / src.relative_to(staging)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(src, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def clean_stale(target: str | os.PathLike[str]) -> list[Path]:
    """Remove staging folders of `target` left by runs that were killed; return them.

    A folder is stale when the process that made it (its pid is in the name) is gone. If a
    run was killed between the two renames of the fallback swap, the old set is put back.
    Also removes ``target/.staging-*`` folders of earlier versions, which wrote inside target.
    """
    target = Path(target)
    removed: list[Path] = []
    for path in sorted(target.parent.glob(f".{glob_escape(target.name)}.*-*")):
        kind, pid = _owner(path.name, target.name)
        if kind is None or _alive(pid):
            continue
        if kind == "old" and not target.exists():
            os.rename(path, target)  # killed between the fallback's two renames: restore the old set
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    if target.is_dir():
        for path in target.glob(".staging-*"):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


def _owner(name: str, target_name: str) -> tuple[str | None, int]:
    rest = name[len(target_name) + 2 :]
    kind, _, tail = rest.partition("-")
    pid = tail.split("-", 1)[0]
    if kind not in ("staging", "old") or not pid.isdigit():
        return None, 0
    return kind, int(pid)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _carry_over(target: Path, staging: Path) -> None:
    """Files in `target` the new set does not replace stay (hard-linked into the staging folder)."""
    for src in target.iterdir():
        dest = staging / src.name
        if dest.exists() or src.name.startswith(".staging-"):
            continue
        if src.is_dir() and not src.is_symlink():
            shutil.copytree(src, dest, copy_function=_link_or_copy, symlinks=True)
        else:
            _link_or_copy(src, dest)


def _link_or_copy(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    try:
        os.link(src, dest, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dest, follow_symlinks=False)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _publish(staging: Path, target: Path) -> None:
    """Make `staging` the new `target`; the old one ends at `staging` (and is removed by the caller)."""
    if not target.exists():
        os.rename(staging, target)
        return
    if _exchange(staging, target):
        return
    old = target.parent / f".{target.name}.old-{os.getpid()}-{staging.name.rsplit('-', 1)[-1]}"
    os.rename(target, old)
    os.rename(staging, target)
    os.rename(old, staging)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    libc = _libc()
    fn = getattr(libc, "renameat2", None) if libc is not None else None
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


@functools.lru_cache(maxsize=1)
def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


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


def check_output(target: str | os.PathLike[str], *, folder: bool) -> None:
    """Before a long computation: refuse an output that cannot be written, in one Swedish line.

    `folder`: the target is a directory to write into (else a file). Checks that the target
    (if it exists) is of the right kind, that the nearest existing ancestor is a directory,
    and that it is writable.
    """
    target = Path(target)
    if target.exists():
        if folder and not target.is_dir():
            raise InputError(f"{target}: finns redan som fil; ange en mapp att skriva till")
        if not folder and target.is_dir():
            raise InputError(f"{target}: är en mapp; ange en fil att skriva till")
    probe = target if folder and target.is_dir() else target.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{probe}: är en fil, inte en mapp; {target} kan inte skrivas dit")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{probe}: saknar skrivbehörighet (skrivskyddad?); {target} kan inte skrivas dit")


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
