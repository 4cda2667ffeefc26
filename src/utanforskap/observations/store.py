"""The observation store: Parquet files queried with DuckDB, committed atomically.

Layout of a store directory::

    manifest.json          what the store holds: dataset name -> file, rows, sha256, source
    data/<name>-<sha>.parquet

Files are content-addressed and never modified. A write (one or several datasets)
writes new files, then replaces manifest.json in one os.replace: readers see the old
store or the new one, never a mix, and a failure part-way leaves the store as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from utanforskap.atomic import cache_root, output_errors, sha256_bytes, sha256_file, write_bytes, write_text
from utanforskap.errors import InputError
from utanforskap.observations import schema

if TYPE_CHECKING:
    import duckdb

MANIFEST = "manifest.json"
# What the store itself writes into a dataset's manifest entry; the rest is the writer's metadata.
ENTRY_FIELDS = ("fil", "rader", "sha256", "kallor", "skriven")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class ObservationStore:
    """A directory of observation datasets; see the module docstring."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    # ---- reading -------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not path.exists():
            return {"version": 0, "dataset": {}}
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: trasig manifest ({_first_line(exc)}); återställ från säkerhetskopia") from None
        except OSError as exc:
            raise InputError(f"{path}: kan inte läsas ({exc.strerror})") from None
        _check_manifest(manifest, path)
        checked: dict[str, Any] = manifest
        return checked

    def datasets(self) -> dict[str, dict[str, Any]]:
        datasets: dict[str, dict[str, Any]] = self.manifest()["dataset"]
        return datasets

    def files(self, names: Iterable[str] | None = None) -> list[Path]:
        """The data files of `names` (default every dataset), each verified against the manifest.

        A path that leaves the store, a missing file, a file whose sha256 differs from the
        manifest's, a file that is not Parquet or not in the observation schema: each is an
        error naming the file. Verified files are remembered by size, mtime and inode, so a
        process hashes each file once.
        """
        entries = self.datasets()
        if names is not None:
            names = list(names)
            unknown = [n for n in names if n not in entries]
            if unknown:
                raise InputError(f"{self.root}: okänt dataset i observationslagret: {', '.join(unknown)}")
            entries = {n: entries[n] for n in names}
        return [self._verified(name, entry) for name, entry in entries.items()]

    def _verified(self, name: str, entry: dict[str, Any]) -> Path:
        where = f"{self.root / MANIFEST}: dataset {name}"
        rel = Path(entry["fil"])
        if rel.is_absolute() or ".." in rel.parts:
            raise InputError(f"{where}: filen {entry['fil']!r} ligger utanför observationslagret; manifestet är ändrat eller trasigt")
        path = self.root / rel
        try:
            resolved = path.resolve(strict=True)
            st = resolved.stat()
        except FileNotFoundError:
            raise InputError(f"{path}: datafilen saknas (dataset {name}); återställ lagret eller hämta/bygg om det") from None
        except OSError as exc:
            raise InputError(f"{path}: kan inte läsas ({exc.strerror})") from None
        if not resolved.is_relative_to(self.root.resolve()):
            raise InputError(f"{where}: filen {entry['fil']!r} pekar utanför observationslagret (symbolisk länk)")
        if not resolved.is_file():
            raise InputError(f"{path}: är inte en fil (dataset {name})")
        key = (str(resolved), st.st_size, st.st_mtime_ns, st.st_ino)
        if _VERIFIED.get(key) != entry["sha256"] and _verified_before().get(_key_text(key)) != entry["sha256"]:
            if sha256_file(resolved) != entry["sha256"]:
                raise InputError(
                    f"{path}: sha256 stämmer inte med manifestet (dataset {name}); filen är ändrad eller skadad. "
                    "Återställ lagret eller bygg om det"
                )
            _check_parquet(resolved, name)
            _remember_verified(key, entry["sha256"])
        _VERIFIED[key] = entry["sha256"]
        return path

    def dataset(self, name: str) -> pl.DataFrame:
        """Every row of the dataset `name`, in the observation schema."""
        (path,) = self.files([name])
        return pl.read_parquet(path).select(pl.col(c).cast(t) for c, t in schema.COLUMNS.items())

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with the view `observationer` over every dataset."""
        con = connect_duckdb()
        files = self.files()
        if files:
            listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            con.execute(f"CREATE VIEW observationer AS SELECT * FROM read_parquet([{listing}])")
        else:
            cols = ", ".join(f"CAST(NULL AS {_duck_type(t)}) AS {c}" for c, t in schema.COLUMNS.items())
            con.execute(f"CREATE VIEW observationer AS SELECT {cols} WHERE FALSE")
        return con

    def sql(self, query: str, params: Sequence[object] | None = None) -> pl.DataFrame:
        """Run SQL against the view `observationer` and return a polars frame."""
        con = self.connect()
        try:
            frame: pl.DataFrame = con.sql(query, params=list(params or [])).pl()
            return frame
        finally:
            con.close()

    def variables(self, niva: str | None = None) -> set[str]:
        """The variables the store holds (at level `niva` when given)."""
        files = self.files()
        if not files:
            return set()
        if niva is not None:
            return set(_level(_identity(files), niva)["variabel"].unique().to_list())
        frame = pl.concat([pl.scan_parquet(f).select(pl.col("variabel").cast(pl.String)) for f in files], how="vertical")
        return set(frame.select(pl.col("variabel").unique()).collect()["variabel"].to_list())

    def read(
        self,
        *,
        niva: str | None = None,
        period: str | Sequence[str] | None = None,
        variabler: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """Observations filtered by level, period(s) and variables."""
        files = self.files()
        if not files:
            return pl.DataFrame(schema={c: t for c, t in schema.COLUMNS.items()})
        if niva is not None:
            frame = _level(_identity(files), niva).lazy()
        else:
            frame = _scan(files)
        if period is not None:
            frame = frame.filter(pl.col("period").is_in([period] if isinstance(period, str) else list(period)))
        if variabler is not None:
            frame = frame.filter(pl.col("variabel").is_in(list(variabler)))
        return frame.sort(["variabel", "omrade", "period"], nulls_last=True, maintain_order=True).collect()

    def wide(
        self,
        niva: str,
        period: str,
        variabler: Sequence[str],
        falt: Sequence[str] = ("varde",),
    ) -> pl.DataFrame:
        """One row per area, one column per variable and field.

        The field `varde` gives a column named as the variable; `taljare` and `namnare`
        give `<variabel>__taljare` and `<variabel>__namnare`. Variables the store lacks
        for this level and period raise an error naming them.
        """
        obs = self.read(niva=niva, period=period, variabler=variabler)
        present = set(obs["variabel"].unique().to_list())
        absent = [v for v in variabler if v not in present]
        if absent:
            raise InputError(
                f"{self.root}: observationslagret saknar {', '.join(absent)} för nivå {niva} och period {period}"
            )
        frames = []
        for field in falt:
            suffix = "" if field == "varde" else f"__{field}"
            frames.append(
                obs.with_columns(pl.concat_str(pl.col("variabel"), pl.lit(suffix)).alias("kolumn"))
                .pivot(on="kolumn", index="omrade", values=field)
            )
        out = frames[0]
        for f in frames[1:]:
            out = out.join(f, on="omrade", how="full", coalesce=True)
        ordered = [f"{v}{'' if f == 'varde' else '__' + f}" for v in variabler for f in falt]
        return out.select(["omrade", *ordered]).sort("omrade")

    # ---- writing -------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Collect writes; commit them together at the end, or none on error."""
        with output_errors(self.root):
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / "data").mkdir(exist_ok=True)
            lock = open(self.root / ".lock", "w")  # noqa: SIM115 - held for the whole transaction
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            tx = Transaction(self)
            yield tx
            tx._commit()

    def write(self, datasets: dict[str, pl.DataFrame], *, meta: dict[str, dict[str, Any]] | None = None) -> None:
        """Write (replace) several datasets in one atomic commit."""
        with self.transaction() as tx:
            for name, df in datasets.items():
                tx.put(name, df, **((meta or {}).get(name, {})))


class Transaction:
    """Pending writes to a store; see ObservationStore.transaction."""

    def __init__(self, store: ObservationStore):
        self.store = store
        self._put: dict[str, tuple[pl.DataFrame, dict[str, Any]]] = {}
        self._delete: set[str] = set()

    def put(self, name: str, df: pl.DataFrame, **meta: object) -> None:
        if not _NAME.match(name):
            raise InputError(f"ogiltigt datasetnamn {name!r}: använd bokstäver, siffror, _ . -")
        self._put[name] = (schema.conform(df, f"dataset {name}"), dict(meta))
        self._delete.discard(name)

    def delete(self, name: str) -> None:
        self._put.pop(name, None)
        self._delete.add(name)

    def _commit(self) -> None:
        if not self._put and not self._delete:
            return
        root = self.store.root
        data_dir = root / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        manifest = self.store.manifest()
        entries = dict(manifest["dataset"])
        for name in self._delete:
            entries.pop(name, None)
        old_files = {root / e["fil"] for e in manifest["dataset"].values()}
        created: list[Path] = []
        try:
            for name, (df, meta) in self._put.items():
                df = df.sort(list(schema.KEY))
                # The file is named by its content, so it is hashed before it is written.
                buffer = io.BytesIO()
                df.write_parquet(buffer, compression="zstd", statistics=True)
                data = buffer.getvalue()
                digest = sha256_bytes(data)
                final = data_dir / f"{name}-{digest[:16]}.parquet"
                write_bytes(final, data)
                created.append(final)
                entries[name] = {
                    "fil": str(final.relative_to(root)),
                    "rader": df.height,
                    "sha256": digest,
                    "kallor": sorted(df["kalla"].unique().to_list()),
                    "skriven": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    **meta,
                }
            new = {"version": int(manifest.get("version", 0)) + 1, "dataset": dict(sorted(entries.items()))}
            _check_keys_unique_across(root, new, written=set(self._put))
            write_text(root / MANIFEST, json.dumps(new, ensure_ascii=False, indent=2) + "\n")
        except BaseException:
            # Leave the directory as it was: drop files this commit added.
            for f in created:
                if f not in old_files:
                    f.unlink(missing_ok=True)
            raise
        _collect_garbage(root, new)


def _scan(files: Sequence[Path]) -> pl.LazyFrame:
    """Every row of the verified `files`, each cast to the schema (a file may hold integers
    or dictionary-encoded text): polars over the files, no DuckDB connection per read."""
    cols = [pl.col(c).cast(t) for c, t in schema.COLUMNS.items()]
    return pl.concat([pl.scan_parquet(f).select(cols) for f in files], how="vertical")


def _identity(files: Sequence[Path]) -> tuple[tuple[Path, int, int], ...]:
    """The data files with size and mtime: the key of what was read from them."""
    return tuple((f, (st := f.stat()).st_size, st.st_mtime_ns) for f in files)


@functools.lru_cache(maxsize=2)
def _level(files: tuple[tuple[Path, int, int], ...], niva: str) -> pl.DataFrame:
    """Every row of one level, read once per process: a map reads the same level three or
    four times (variables, inputs, population, report figures), a follow-up once per year.
    Keyed by the data files (content-addressed, verified by `files()` before every read)
    with their size and mtime, so a commit that changes the store gives a new entry."""
    return _scan([f for f, _, _ in files]).filter(pl.col("niva") == niva).collect()


# Files verified in this process: (path, size, mtime_ns, inode) -> sha256.
_VERIFIED: dict[tuple[str, int, int, int], str] = {}
# The same, kept between processes in the user's cache (a rerun of `karta` hashes nothing).
VERIFIED_FILE = "kontrollerade-lagerfiler.json"
_VERIFIED_LIMIT = 4096


def _key_text(key: tuple[str, int, int, int]) -> str:
    return "|".join(map(str, key))


def _verified_before() -> dict[str, str]:
    """Files verified by earlier processes (empty when the cache is absent or unreadable)."""
    global _VERIFIED_DISK
    if _VERIFIED_DISK is None:
        try:
            loaded = json.loads((cache_root() / VERIFIED_FILE).read_text(encoding="utf-8"))
            _VERIFIED_DISK = {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            _VERIFIED_DISK = {}
    return _VERIFIED_DISK


def _remember_verified(key: tuple[str, int, int, int], sha: str) -> None:
    known = _verified_before()
    known[_key_text(key)] = sha
    while len(known) > _VERIFIED_LIMIT:
        known.pop(next(iter(known)))
    try:
        cache_root().mkdir(parents=True, exist_ok=True)
        write_text(cache_root() / VERIFIED_FILE, json.dumps(known))
    except OSError:  # no writable cache: the next process verifies again, nothing else changes
        pass


_VERIFIED_DISK: dict[str, str] | None = None


def _check_manifest(manifest: object, path: Path) -> None:
    """The manifest's shape: {"dataset": {name: {"fil": str, "sha256": str, ...}}}."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("dataset"), dict):
        raise InputError(f"{path}: manifestet saknar tabellen 'dataset'; det är inte ett observationslager eller är trasigt")
    for name, entry in manifest["dataset"].items():
        if not isinstance(entry, dict):
            raise InputError(f"{path}: dataset {name}: ska vara en tabell med fil och sha256")
        for field in ("fil", "sha256"):
            if not isinstance(entry.get(field), str) or not entry[field]:
                raise InputError(f"{path}: dataset {name}: {field} saknas; manifestet är trasigt")


def _check_parquet(path: Path, name: str) -> None:
    """A data file is Parquet in the observation schema (its columns, text or numbers as declared)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        found = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path}: inte en läsbar Parquet-fil (dataset {name}): {_first_line(exc)}") from None
    columns = {f.name: f.type for f in found}
    missing = [c for c in schema.COLUMNS if c not in columns]
    if missing:
        raise InputError(f"{path}: fel schema (dataset {name}): kolumn saknas: {', '.join(missing)}")
    extra = [c for c in columns if c not in schema.COLUMNS]
    if extra:
        raise InputError(f"{path}: fel schema (dataset {name}): okänd kolumn: {', '.join(extra)}")
    for column, dtype in schema.COLUMNS.items():
        t = columns[column]
        if pa.types.is_dictionary(t):
            t = t.value_type
        numeric = pa.types.is_floating(t) or pa.types.is_integer(t)
        text = pa.types.is_string(t) or pa.types.is_large_string(t)
        ok = pa.types.is_null(t) or (numeric if dtype == pl.Float64() else text)
        if not ok:
            raise InputError(f"{path}: fel schema (dataset {name}): kolumnen {column} har typen {t}")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _check_keys_unique_across(root: Path, manifest: dict[str, Any], written: set[str]) -> None:
    """No observation key may stand in two datasets: a read would not know which to trust.

    Checked before the manifest is replaced, so a clash leaves the store as it was; the
    new data files are then unreferenced and collected by the next commit.
    """
    entries = manifest["dataset"]
    if len(entries) < 2 or not written:
        return
    selects = [
        f"SELECT {', '.join(schema.KEY)}, '{name}' AS dataset FROM read_parquet('{_quote(root / e['fil'])}')"
        for name, e in entries.items()
    ]
    query = (
        f"SELECT {', '.join(schema.KEY)}, list(dataset ORDER BY dataset) AS dataset FROM ({' UNION ALL '.join(selects)}) "
        f"GROUP BY {', '.join(schema.KEY)} HAVING count(*) > 1 LIMIT 1"
    )
    con = connect_duckdb()
    try:
        clash = con.sql(query).fetchall()
    finally:
        con.close()
    if clash:
        omrade, niva, period, variabel, datasets = clash[0]
        raise InputError(
            f"{root}: {omrade} {niva} {period} {variabel} finns redan i dataset {', '.join(d for d in datasets if d not in written) or datasets[0]}; "
            f"samma observation kan inte ligga i två dataset ({', '.join(datasets)}). Ta bort det ena eller skriv till ett annat lager."
        )


def _collect_garbage(root: Path, manifest: dict[str, Any]) -> None:
    """Remove data files no longer named by the manifest (after the commit succeeded)."""
    keep = {root / e["fil"] for e in manifest["dataset"].values()}
    for f in (root / "data").glob("*.parquet"):
        if f not in keep:
            f.unlink(missing_ok=True)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _duck_type(t: pl.DataType) -> str:
    return "DOUBLE" if t == pl.Float64() else "VARCHAR"


def bundled_store() -> ObservationStore:
    """The observation store that ships inside the package (all sources, all levels).

    Built by `utanforskap importera` (sources.bundle); opened here so that every layer above
    the store can read it without importing the sources that built it.
    """
    from importlib import resources

    root = Path(str(resources.files("utanforskap.data").joinpath("paket"))) / "observationer"
    if not (root / "manifest.json").exists():
        raise InputError(f"{root}: det paketerade observationslagret saknas; kör `utanforskap importera --fran ../shared/data`")
    return ObservationStore(root)


QUIET_DUCKDB = "SET enable_progress_bar = false"


def connect_duckdb() -> duckdb.DuckDBPyConnection:
    """An in-process DuckDB connection without DuckDB's own progress bar, which it prints on
    stdout for a query over 2 s, into a pipe too: in the middle of a command's output."""
    import duckdb

    con = duckdb.connect()
    con.execute(QUIET_DUCKDB)
    return con
