"""Atomic output: a file appears whole or not at all, so a failure never leaves half a file.

Also the one sha256 of a file or of bytes, as the manifests record it (hex digest), and the
user's output cache (`cached_files`): files that are a pure function of their inputs (a map
image, the kommun layer, the Excel file) are kept under $XDG_CACHE_HOME/utanforskap and
copied on the next run with the same inputs, code and library versions.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
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


# ---- the output cache ---------------------------------------------------------------------------------------------------
# Entries kept per namespace (the oldest, by last use, are removed beyond this).
CACHE_ENTRIES = 8


def cache_root() -> Path:
    """$XDG_CACHE_HOME/utanforskap (default ~/.cache/utanforskap)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "utanforskap"


def cache_key(*parts: str | bytes, sources: Iterable[str | os.PathLike[str]] = (), packages: Iterable[str] = ()) -> str:
    """A hex digest of `parts`, the bytes of the `sources` files (the code that makes the
    output) and the installed versions of `packages` (the libraries that do)."""
    from importlib.metadata import PackageNotFoundError, version

    h = hashlib.sha256()

    def add(data: bytes) -> None:
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)

    for part in parts:
        add(part if isinstance(part, bytes) else part.encode("utf-8"))
    for src in sources:
        add(Path(src).read_bytes())
    for name in packages:
        try:
            add(f"{name}={version(name)}".encode())
        except PackageNotFoundError:
            add(f"{name}=-".encode())
    return h.hexdigest()


def cached_files(namespace: str, key: str, names: Iterable[str], make: Callable[[Path], None], dest: str | os.PathLike[str]) -> bool:
    """Put the files `names` into `dest`: copied from the cache entry `namespace/key` when
    it holds them all, otherwise written by `make(dest)` and then kept in the cache.
    Returns True on a cache hit. A cache that cannot be written is logged and skipped:
    the output is the same either way."""
    names, dest = list(names), Path(dest)
    entry = cache_root() / namespace / key
    try:
        if all((entry / n).is_file() for n in names):
            for n in names:
                shutil.copyfile(entry / n, dest / n)
            os.utime(entry)  # last use, for pruning
            return True
    except OSError as exc:
        _log.info("utdatacachen %s kunde inte läsas (%s); skriver filerna på nytt", entry, exc)
    make(dest)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".ny-"))
        for n in names:
            shutil.copyfile(dest / n, staging / n)
        try:
            os.rename(staging, entry)
        except OSError:  # another process kept the same entry first
            shutil.rmtree(staging, ignore_errors=True)
        _prune(entry.parent)
    except OSError as exc:
        _log.info("utdatacachen %s kunde inte skrivas (%s); utdata är ändå skrivna", entry, exc)
    return False


def cached_bytes(namespace: str, key: str, make: Callable[[], bytes]) -> bytes:
    """`make()`, or its bytes from an earlier run with the same `key` (see cached_files)."""
    def write(folder: Path) -> None:
        (folder / "data").write_bytes(make())

    with tempfile.TemporaryDirectory(prefix="utanforskap-") as tmp:
        cached_files(namespace, key, ["data"], write, tmp)
        return (Path(tmp) / "data").read_bytes()


def _prune(folder: Path) -> None:
    entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[CACHE_ENTRIES:]:
        shutil.rmtree(old, ignore_errors=True)


_log = logging.getLogger(__name__)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
