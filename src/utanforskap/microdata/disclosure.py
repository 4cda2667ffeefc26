"""Disclosure control (röjandekontroll) for counts aggregated from person-level microdata.

Rules (docs/mikrodata.md says the same in Swedish):

1. Primary suppression (status ``skyddad``): a figure resting on fewer than N persons is
   not published. N is ``min_antal`` (settings.min_antal, env UTANFORSKAP_MIN_ANTAL,
   default 5). The persons behind a count are the count itself (so 0 to N-1 are
   suppressed; a zero is a figure too); behind a sum of days, the persons with at least one
   day (column ``bakom``).
2. Secondary suppression (status ``skyddad_sekundar``): no protected figure may be
   computable from the published ones, by any linear combination. The relations an
   attacker can use:
   * the hierarchy: each area at one published level = the sum of its children at the
     next published level below (DeSO -> RegSO -> kommun -> län -> riket), per variable;
   * categories that sum to a total in the same area (a `Partition`), e.g. the age
     bands of befolkning_0_19. A remainder that is not published (persons 20-64 without
     bistånd = befolkning_20_64 - ekonomiskt_bistand_20_64) is a hidden member (``dold``),
     protected like a count: from 0 to N-1 persons, since a zero remainder says that
     everyone in the group has the property (all 15+ suspected of crime), just as a zero
     count says that nobody has it. A partition with ``protect_zero=False`` protects its
     remainder from 1: for remainders that only say how complete a register is (persons
     without a labour-market status), whose zero says nothing about anyone.
   Partitions may nest and overlap; their combinations are equations too (befolkning_15_19
   = befolkning_0_19 + befolkning_15plus - befolkning). The test is exact linear algebra:
   a protected figure is computable iff its functional lies in the row space of the
   published figures, the category equations and the hierarchy (see `_free_spaces`).
   While one is, more figures are suppressed: first, in rounds over every equation at once,
   the smallest published member of any equation whose only unknown member is protected
   (parts before the total); then, for what the exact test still finds, a smallest set of
   published figures (preferring small values) whose suppression makes the figure free.
3. Suppressed figures are empty (null), never zero, and carry their status.

Not covered: intervals (a protected count can still be bounded, e.g. 0 <= x <= 4 from
published totals and non-negativity), dominance (one person with most of the days), and
relations not declared as partitions or the hierarchy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from utanforskap.errors import InputError
from utanforskap.microdata import cores

SKYDDAD = "skyddad"
SKYDDAD_SEKUNDAR = "skyddad_sekundar"
_AREA = ["omrade", "niva", "period"]
_MAX_ROUNDS = 10_000
_TOL = 1e-7  # eigenvalues of sums of projectors: exact structure, so far from round-off
_EIGH_SPLIT = 64  # a stack of at least this many eigenproblems is shared among the cores
_SPAN_SPLIT = 512  # a _Span of at least this many rows is extended on every core
_SAME_BITS = 33  # two matrices of a stack count as the same on a grid of 2^-33 (see _projector)


@dataclass(frozen=True)
class Partition:
    """total = sum(parts) (+ the unpublished remainder `dold`, when named) in every area.

    `protect_zero`: the remainder is protected from 0 persons (default), or only from 1.
    """

    total: str
    parts: tuple[str, ...]
    dold: str | None = None
    protect_zero: bool = True


def protect(
    cells: pl.DataFrame,
    *,
    edges: pl.DataFrame,
    partitions: tuple[Partition, ...] | list[Partition] = (),
    min_antal: int,
) -> pl.DataFrame:
    """Apply the rules of the module docstring.

    `cells`: omrade, niva, period, variabel, varde (a count or sum), bakom (persons behind
    it; null means varde). `edges`: barn, barn_niva, foralder, foralder_niva (child area ->
    parent area between consecutive published levels). Returns `cells` with varde null for
    suppressed figures and a column status (null, skyddad or skyddad_sekundar).
    """
    primary, hidden = suppression(cells, edges=edges, partitions=partitions, min_antal=min_antal)
    if cells.is_empty():
        return cells.with_columns(status=pl.lit(None, dtype=pl.String))
    status = pl.Series("status", np.where(primary, 1, np.where(hidden, 2, 0))).replace_strict(
        {0: None, 1: SKYDDAD, 2: SKYDDAD_SEKUNDAR}, return_dtype=pl.String)
    out = cells.with_columns(bakom=pl.coalesce("bakom", "varde"), status=status)
    return out.with_columns(varde=pl.when(pl.col("status").is_null()).then(pl.col("varde")))


def suppression(
    cells: pl.DataFrame,
    *,
    edges: pl.DataFrame,
    partitions: tuple[Partition, ...] | list[Partition] = (),
    min_antal: int,
) -> tuple[np.ndarray, np.ndarray]:
    """`protect`'s decision per row of `cells`: suppressed as primary, and suppressed at all
    (primary or secondary), as two boolean arrays."""
    if min_antal < 1:
        raise InputError(f"röjandekontroll: min_antal måste vara minst 1, inte {min_antal}")
    if cells.is_empty():
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    if cells["varde"].null_count():
        raise InputError("röjandekontroll: cellerna får inte sakna värde före skyddet")
    t = _Table.build(cells, edges, list(partitions), min_antal)
    suppressed = t.primary.copy()
    retest = None  # the first round tests every target
    with cores.one_blas_thread():
        for _ in range(_MAX_ROUNDS):
            _single_unknowns(t, suppressed)
            tests = [test for c in t.components if (test := c.leaks(t, suppressed, retest)) is not None]
            if not tests:
                break
            # Suppressing more figures only adds changes, so a target found free stays free:
            # the next round tests again only the targets this one repairs.
            retest = np.zeros(suppressed.shape, dtype=bool)
            for test in tests:
                retest[test.areas, test.component.cols[test.cols]] = True
                test.component.free(t, suppressed, test)
        else:  # pragma: no cover - every round suppresses at least one more figure
            raise InputError("röjandekontroll: sekundärt skydd konvergerade inte")
    return t.per_row(suppressed)


# ---- the cells as arrays -----------------------------------------------------------------
@dataclass
class _Table:
    """Cells as (area x coordinate) arrays: the published variables, then one hidden remainder per partition with `dold`."""

    aid: np.ndarray  # the area row of each input row
    vid: np.ndarray  # the variable column of each input row
    n_vars: int
    value: np.ndarray  # (A, M); nan where the area has no such cell
    present: np.ndarray  # (A, M)
    primary: np.ndarray  # (A, M): below N (only variables)
    protected: np.ndarray  # (A, M): primary, or a remainder below N
    tree: _Tree
    equations: list[tuple[int, np.ndarray]]  # (total column, member columns with the total first)
    components: list[_Component]

    @classmethod
    def build(cls, cells: pl.DataFrame, edges: pl.DataFrame, partitions: list[Partition], n: int) -> _Table:
        cells = cells.with_columns(bakom=pl.coalesce("bakom", "varde"))
        # The areas in order of appearance, and each row's, from one grouping (no join back).
        grouped = cells.select(_AREA).with_row_index("_i").group_by(_AREA, maintain_order=True).agg("_i")
        areas = grouped.select(_AREA).with_row_index("_aid")
        a = np.empty(cells.height, dtype=np.int64)
        a[grouped["_i"].explode().to_numpy()] = np.repeat(np.arange(grouped.height), grouped["_i"].list.len().to_numpy())
        names = cells["variabel"].unique(maintain_order=True).to_list()
        known = set(names)
        for p in partitions:
            unknown = [v for v in (p.total, *p.parts) if v not in known]
            names += list(dict.fromkeys(unknown))  # absent everywhere: an unknown member
            known.update(unknown)
        vid = {v: i for i, v in enumerate(names)}
        v = cells["variabel"].replace_strict(vid, return_dtype=pl.Int64).to_numpy()
        n_areas, n_vars = areas.height, len(names)
        m = n_vars + sum(p.dold is not None for p in partitions)
        cell = a * m + v
        twice = np.bincount(cell, minlength=n_areas * m)[cell] > 1
        if twice.any():
            row = cells.row(int(np.flatnonzero(twice)[0]), named=True)
            raise InputError(f"röjandekontroll: cellen {row['omrade']} {row['variabel']} {row['period']} förekommer två gånger")
        value = np.full((n_areas, m), np.nan)
        value[a, v] = cells["varde"].to_numpy()
        bakom = np.full((n_areas, n_vars), np.inf)
        bakom[a, v] = cells["bakom"].to_numpy()
        present = ~np.isnan(value)
        primary = np.zeros((n_areas, m), dtype=bool)
        primary[:, :n_vars] = present[:, :n_vars] & (bakom < n)
        protected = primary.copy()
        equations = []
        col = n_vars  # the hidden remainders' columns follow the variables'
        for p in partitions:
            members = [vid[p.total], *(vid[x] for x in p.parts)]
            if p.dold is not None:
                rest = value[:, members[0]] - value[:, members[1:]].sum(axis=1)
                if (rest < 0).any():
                    row = areas.row(int(np.flatnonzero(rest < 0)[0]), named=True)
                    raise InputError(
                        f"röjandekontroll: delarna är större än totalen {p.total} i {row['omrade']} ({row['niva']}, "
                        f"{row['period']}); kategorierna summerar inte"
                    )
                value[:, col] = rest
                present[:, col] = ~np.isnan(rest)
                protected[:, col] = present[:, col] & (rest >= (0 if p.protect_zero else 1)) & (rest < n)
                members.append(col)
                col += 1
            equations.append((members[0], np.array(members, dtype=np.int64)))
        tree = _Tree.build(_parents(areas, edges))
        return cls(a, v, n_vars, value, present, primary, protected, tree, equations,
                   _components(m, equations, tree))

    def per_row(self, suppressed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Primary, and any, suppression of each row of the input."""
        return self.primary[self.aid, self.vid], suppressed[self.aid, self.vid]

    def published(self, suppressed: np.ndarray) -> np.ndarray:
        pub = self.present & ~suppressed
        pub[:, self.n_vars :] = False
        return pub


def _parents(areas: pl.DataFrame, edges: pl.DataFrame) -> np.ndarray:
    parent = np.full(areas.height, -1, dtype=np.int64)
    if edges.is_empty():
        return parent
    links = areas.join(edges, left_on=["omrade", "niva"], right_on=["barn", "barn_niva"]).join(
        areas.rename({"_aid": "_paid", "omrade": "foralder", "niva": "foralder_niva"}),
        on=["foralder", "foralder_niva", "period"],
    )
    parent[links["_aid"].to_numpy()] = links["_paid"].to_numpy()
    return parent


# ---- phase 1: equations with a single unknown member --------------------------------------
def _single_unknowns(t: _Table, suppressed: np.ndarray) -> None:
    """Rounds over every category and hierarchy equation at once (cheap, and it settles most cells).

    An equation whose only unknown member is protected gives it away; its smallest published
    part (the total when no part is left) is suppressed. Modifies `suppressed` in place.
    """
    for _ in range(_MAX_ROUNDS):
        pub = t.published(suppressed)
        unknown = ~pub
        exposed = unknown & t.protected
        changed = False
        for total, members in t.equations:
            complete = t.present[:, members].all(axis=1)
            n_unknown = unknown[:, members].sum(axis=1)
            rows = np.flatnonzero(complete & (n_unknown == 1) & exposed[:, members].any(axis=1))
            if rows.size == 0:
                continue
            parts = members[members != total]
            key = np.where(pub[np.ix_(rows, parts)], t.value[np.ix_(rows, parts)], np.inf)
            best = key.argmin(axis=1)
            col = np.where(np.isfinite(key[np.arange(rows.size), best]), parts[best], total)
            suppressed[rows, col] = True
            changed = True
        if t.tree.kids.size:
            changed |= _hierarchy_round(t, pub, exposed, suppressed)
        if not changed:
            return
    raise InputError("röjandekontroll: sekundärt skydd konvergerade inte")  # pragma: no cover


def _hierarchy_round(t: _Table, pub: np.ndarray, exposed: np.ndarray, suppressed: np.ndarray) -> bool:
    """Parent = sum of children, per variable: the single-unknown rule of `_single_unknowns`."""
    v, tree = t.n_vars, t.tree
    kids, starts, sums = tree.kids, tree.starts, tree.sums
    missing = sums @ (~t.present[kids, :v]).astype(np.int64)
    complete = (missing == 0) & t.present[tree.parents, :v]
    unknown = ~pub[:, :v]
    n_unknown = sums @ unknown[kids].astype(np.int64) + unknown[tree.parents]
    n_exposed = sums @ exposed[kids, :v].astype(np.int64) + exposed[tree.parents, :v]
    bad = complete & (n_unknown == 1) & (n_exposed == 1)
    if not bad.any():
        return False
    # The smallest published child in each bad (parent, variable); else the parent itself. Only the
    # bad pairs' children are read: one segment per pair.
    g, col = np.nonzero(bad)
    size = np.diff(np.append(starts, kids.size))[g]
    seg = np.cumsum(size) - size
    at = np.repeat(starts[g] - seg, size) + np.arange(int(size.sum()))  # position in kids
    c = np.repeat(col, size)
    key = np.where(pub[kids[at], c], t.value[kids[at], c], np.inf)
    smallest = np.minimum.reduceat(key, seg)
    pick = np.minimum.reduceat(np.where((key == np.repeat(smallest, size)) & np.isfinite(key), at, kids.size), seg)
    has_child = pick < kids.size
    suppressed[kids[pick[has_child]], col[has_child]] = True
    suppressed[tree.parents[g[~has_child]], col[~has_child]] = True
    return True


# ---- phase 2: exact linear algebra -----------------------------------------------------------
@dataclass
class _Tree:
    """The areas as a forest: children grouped by parent, and areas by depth."""

    parent: np.ndarray
    kids: np.ndarray  # children, grouped by parent
    starts: np.ndarray  # where each parent's group begins in `kids`
    parents: np.ndarray  # the parent of each group
    kid_parent: np.ndarray  # parent of each entry of kids
    depth: np.ndarray
    has_kids: np.ndarray
    first_at: np.ndarray  # kids[first_at[a]:last_at[a]] are the children of area a
    last_at: np.ndarray
    first: list[int]  # the same as plain ints, to read one area at a time
    last: list[int]
    sums: sp.csr_array  # (groups x kids): sums @ x[kids] sums x over each parent's children

    @classmethod
    def build(cls, parent: np.ndarray) -> _Tree:
        kids = np.flatnonzero(parent >= 0)
        kids = kids[np.argsort(parent[kids], kind="stable")]
        kid_parent = parent[kids]
        starts = np.flatnonzero(np.r_[True, kid_parent[1:] != kid_parent[:-1]]) if kids.size else np.zeros(0, np.int64)
        parents = kid_parent[starts] if kids.size else np.zeros(0, np.int64)
        depth = np.zeros(parent.size, dtype=np.int64)
        up = parent.copy()
        while (up >= 0).any():
            depth += up >= 0
            up = np.where(up >= 0, parent[np.maximum(up, 0)], -1)
        has_kids = np.zeros(parent.size, dtype=bool)
        has_kids[parents] = True
        areas = np.arange(parent.size)
        first = np.searchsorted(kid_parent, areas, side="left")
        last = np.searchsorted(kid_parent, areas, side="right")
        group = np.cumsum(np.r_[False, kid_parent[1:] != kid_parent[:-1]]) if kids.size else np.zeros(0, np.int64)
        # Sums over groups of rows as a sparse product: reduceat along the first axis is 5x slower.
        sums = sp.csr_array((np.ones(kids.size, dtype=np.int64), (group, np.arange(kids.size))), shape=(starts.size, kids.size))
        return cls(parent, kids, starts, parents, kid_parent, depth, has_kids, first, last, first.tolist(), last.tolist(), sums)

    def children(self, area: int) -> np.ndarray:
        return self.kids[self.first[area] : self.last[area]]


def _components(m: int, equations: list, tree: _Tree) -> list[_Component]:
    """Coordinates linked by category equations form a component; each is solved on its own."""
    root = list(range(m))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for _, members in equations:
        for x in members[1:]:
            root[find(int(x))] = find(int(members[0]))
    groups: dict[int, list[int]] = {}
    for i in range(m):
        groups.setdefault(find(i), []).append(i)
    singles = [g[0] for g in groups.values() if len(g) == 1]
    blocks = [g for g in groups.values() if len(g) > 1]
    if singles:  # coordinates in no equation: one block, each its own dimension
        blocks.append(singles)
    out = []
    for cols in blocks:
        cols = np.array(sorted(cols), dtype=np.int64)
        where = {c: i for i, c in enumerate(cols)}
        rows = []
        for _, members in equations:
            if int(members[0]) in where:
                r = np.zeros(cols.size)
                r[where[int(members[0])]] = 1.0
                for x in members[1:]:
                    r[where[int(x)]] -= 1.0
                rows.append(r)
        out.append(_Component(cols, np.array(rows).reshape(-1, cols.size), tree))
    return out


def ranges(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """The concatenated ranges start[i]..stop[i]-1, vectorised."""
    length = stop - start
    total = int(length.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offset = np.repeat(start - np.r_[0, np.cumsum(length)[:-1]], length)
    return np.arange(total, dtype=np.int64) + offset


def _kernel(e: np.ndarray) -> np.ndarray:
    """Orthonormal basis (columns) of {x : e x = 0}."""
    if e.shape[0] == 0:
        return np.eye(e.shape[1])
    _, s, vt = np.linalg.svd(e, full_matrices=True)
    return vt[int((s > 1e-9).sum()) :].T


def _null_projector(m: np.ndarray) -> np.ndarray:
    """Projector onto the null space of each symmetric positive semidefinite matrix of a stack."""
    return _projector(m, null=True)


def _range_projector(m: np.ndarray) -> np.ndarray:
    return _projector(m, null=False)


def _projector(m: np.ndarray, *, null: bool) -> np.ndarray:
    """Null- or range-space projector of each matrix of a stack, each distinct matrix once.

    Areas with the same pattern of published figures give the same matrix up to round-off
    (sums taken in another order), so a stack repeats most of its matrices: at 10.5 M
    persons a third are distinct. Matrices equal on a grid of 2^-_SAME_BITS share one
    eigendecomposition (the dear part); the structure's eigenvalues are 0 or far from it,
    so the projectors differ by round-off only and the test against _TOL is the same.
    Grouped by a hash of the grid values, and the groups checked whole (the entries are
    sums of projectors and Gram matrices of orthonormal bases, each entry at most a few
    hundred in size, so the grid fits in int64 with room to spare).
    """
    n = m.shape[0]
    if n > 1:
        flat = m.reshape(n, -1)
        weights = np.random.default_rng(flat.shape[1]).integers(1, 2**63, size=flat.shape[1], dtype=np.uint64) | np.uint64(1)
        grid = np.empty(flat.shape, dtype=np.int64)
        keys = np.empty(n, dtype=np.uint64)

        def hash_rows(rows: slice) -> None:
            grid[rows] = np.rint(flat[rows] * 2.0**_SAME_BITS)
            keys[rows] = (grid[rows].view(np.uint64) * weights).sum(axis=1)

        # In blocks, one per core: the temporaries stay small (and the cores share the work).
        blocks = _blocks(n, flat.shape[1])
        cores.map_threads(hash_rows, blocks)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        if first.size < n and all(cores.map_threads(lambda rows: bool((grid[first[inverse[rows]]] == grid[rows]).all()), blocks)):
            return _each_projector(m[first], null=null)[inverse]
    return _each_projector(m, null=null)


def _blocks(n: int, width: int) -> list[slice]:
    """Row blocks of a stack of n rows of `width` numbers: a few hundred kB each, one per core at least
    when the stack is large (threads cost more than they save on a small one)."""
    size = n * width
    parts = max(cores.THREADS if size >= 262_144 else 1, size // 65_536)
    bounds = np.linspace(0, n, min(parts, n) + 1).astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _each_projector(m: np.ndarray, *, null: bool) -> np.ndarray:
    """Null- or range-space projector of every matrix of the stack, from its eigendecomposition."""
    w, v = _eigh(m)
    keep = w < _TOL if null else w > _TOL
    return (v * keep[:, None, :]) @ v.transpose(0, 2, 1)


def _weighted_gram(pub: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """basis^T diag(pub[a]) basis for every row a of pub: the sum of the published rows' outer
    products, as one matrix product over all rows (a stack of small products is 8x slower)."""
    m, k = basis.shape
    outer = (basis[:, :, None] * basis[:, None, :]).reshape(m, k * k)
    return (pub.astype(np.float64) @ outer).reshape(pub.shape[0], k, k)


def _eigh(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.linalg.eigh of a stack, a large one in a chunk per core (see microdata.cores)."""
    if m.shape[0] < _EIGH_SPLIT or cores.THREADS == 1:
        return np.linalg.eigh(m)
    parts = cores.map_threads(np.linalg.eigh, np.array_split(m, cores.THREADS))
    return np.concatenate([w for w, _ in parts]), np.concatenate([v for _, v in parts])


def _is_free(b: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Is functional b (rows) not orthogonal to the space with projector p (stacks)?"""
    # b p b per row as a batched product: a three-operand einsum runs a naive loop.
    return (np.matmul(b[:, None, :], p)[:, 0, :] * b).sum(axis=1) > _TOL * (b * b).sum(axis=1)


@dataclass
class _Component:
    """Coordinates `cols` linked by the category equations `equations` (rows over cols).

    The unknown of an area is x in the null space of the equations, x = basis @ y with
    `basis` orthonormal: every way to change the area's figures that keeps its equations.
    A published figure fixes its coordinate at 0.
    """

    cols: np.ndarray
    equations: np.ndarray
    tree: _Tree

    def __post_init__(self) -> None:
        self.basis = _kernel(self.equations)

    def leaks(self, t: _Table, suppressed: np.ndarray, only: np.ndarray | None = None) -> _Test | None:
        """The exact test: protected coordinates that the published figures determine, or None.

        `only` (areas x every coordinate of the table): test just these targets.
        """
        pub = t.published(suppressed)[:, self.cols]
        target = ~pub & t.protected[:, self.cols]
        if only is not None:
            target &= only[:, self.cols]
        if not target.any():
            return None
        # A coordinate published in every area is 0 in every change: leave it out of the basis.
        m = self.cols.size
        reduced = _kernel(np.vstack([self.equations, np.eye(m)[pub.all(axis=0)]]))
        # An area with every variable published has no free change (its remainders follow).
        active = np.flatnonzero((~pub[:, self.cols < t.n_vars]).any(axis=1))
        gram = _weighted_gram(pub[active], reduced)
        rows = np.flatnonzero(target.any(axis=1))
        spaces = _free_spaces(gram, active, self.tree, rows)
        # diag(reduced T reduced^T) per area, as one product with the coordinates' outer products
        k = reduced.shape[1]
        free = spaces.get("T", rows).reshape(rows.size, k * k) @ (reduced[:, :, None] * reduced[:, None, :]).reshape(m, k * k).T
        norm = (reduced**2).sum(axis=1)
        r, cols = np.nonzero(target[rows] & (free <= _TOL * np.maximum(norm, 1.0)[None, :]))
        if r.size == 0:
            return None
        return _Test(self, rows[r], cols, pub, self.basis.T @ reduced, spaces)

    def free(self, t: _Table, suppressed: np.ndarray, test: _Test) -> None:
        """Suppress more figures so that each leaking coordinate becomes free (in place).

        Where the rest of the tree leaves room, a small set of the area's own published
        figures is enough; otherwise a change through the target is built across areas
        (`_witness`). Either way the target is free afterwards, whatever else is suppressed
        (suppressing more only adds changes).
        """
        a, j = test.areas, test.cols
        k = self.basis.shape[1]
        eye = np.eye(k)
        room = test.room(a)
        local = _is_free(self.basis[j], room)
        pub = test.pub[a]
        # A witness starts from the equations alone: only the local rows have something fixed.
        rows = np.flatnonzero(local)
        taken, span = self._fewest(self.basis[j], eye - room[rows], t.value[np.ix_(a, self.cols)], pub, rows)
        rows, cols = np.nonzero(taken)
        suppressed[a[rows], self.cols[cols]] = True
        far = np.flatnonzero(~local)
        if far.size:
            directions = self._sparse(t, a[far], j[far], span.subset(far), ~(pub[far] & ~taken[far]))
            _Witnesses(self, t, suppressed, test, a[far], directions).build()

    def _fewest(self, b: np.ndarray, fixed: np.ndarray, values: np.ndarray,
                pub: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, _Span]:
        """Per row: published coordinates to give up so that functional b is free, and the span kept.

        The space is the complement of span(range(fixed), the published coordinates kept).
        Giving up coordinates from the smallest value until b is free, then taking each back
        (largest first) while b stays free, keeps exactly what one pass from the largest
        value keeps when it keeps a coordinate only if b stays free (b free is monotone in
        what is given up), so that pass is what runs. Rows in lockstep.
        """
        order = np.argsort(np.where(pub, values, np.inf), axis=1, kind="stable")
        n_pub = pub.sum(axis=1)
        span = _Span(self.basis, b, fixed, rows)
        kept = span.extend(order, np.arange(int(n_pub.max(initial=0)))[::-1], n_pub)
        return pub & ~kept, span

    def _sparse(self, t: _Table, a: np.ndarray, j: np.ndarray, span: _Span, unknown: np.ndarray) -> np.ndarray:
        """Per row, a direction y through coordinate j that changes few coordinates of the area.

        Starting from the area's unknown coordinates (`span`: what stays fixed), the other
        unknown coordinates are fixed one by one (variables largest first, the
        never-published remainders last) while j stays free. Rows in lockstep; returns y in
        basis coordinates: the part of j's functional that the fixed coordinates leave.
        """
        n, m = unknown.shape
        unknown = unknown.copy()
        unknown[np.arange(n), j] = False
        hidden = (self.cols >= t.n_vars)[None, :]
        rank = np.where(hidden, -np.inf, np.nan_to_num(t.value[np.ix_(a, self.cols)], nan=-1.0))
        order = np.argsort(np.where(unknown, -rank, np.inf), axis=1, kind="stable")
        n_unknown = unknown.sum(axis=1)
        span.extend(order, np.arange(int(n_unknown.max(initial=0))), n_unknown)
        return span.rest

class _Witnesses:
    """Changes through the far targets of one test that no published figure notices, suppressing on the way.

    Each target's direction y is carried down a chain of the cheapest children while the
    children cannot carry it yet, and cancelled by the cheapest sibling (also carried
    down), or, without siblings, passed to the parent and on up. The cost of an area is
    its published figures that y touches, plus its cheapest child's while the children
    cannot carry y.

    The targets are taken in order, and each sees what the earlier ones suppressed. Where
    a target goes up and whether a child can carry y does not depend on what is
    suppressed, so each target's reach (the subtree it reads and writes) is known first;
    targets whose reaches are apart do not see each other, so they run together, in waves
    that keep the order where reaches meet: the same suppression as one target at a time.
    The figures are whole numbers, so the costs are exact sums in any order.
    """

    def __init__(self, component: _Component, t: _Table, suppressed: np.ndarray, test: _Test,
                 areas: np.ndarray, directions: np.ndarray) -> None:
        self.tree, self.cols, self.test = component.tree, component.cols, test
        self.suppressed, self.areas, self.y = suppressed, areas, directions
        self.value = np.where(test.pub, t.value[:, component.cols], 0.0)  # what suppressing a figure costs
        self.below = test.below_every()
        x = np.abs(directions @ component.basis.T)
        self.support = x > 1e-6 * x.max(axis=1, keepdims=True)
        self.size = (directions * directions).sum(axis=1)
        self.z = directions @ test.lift  # y in the test's reduced coordinates

    def carried(self, w: np.ndarray, projectors: np.ndarray) -> np.ndarray:
        """Does each projector (in the test's reduced coordinates) keep its target's y (|y - p y| <= 1e-6 |y|, squared)?"""
        y = self.y[w]
        rest = y - np.matmul(projectors, self.z[w][:, :, None])[:, :, 0] @ self.test.lift.T
        return (rest * rest).sum(axis=1) <= 1e-12 * self.size[w]

    def build(self) -> None:
        tree, n = self.tree, self.areas.size
        # Upward, statically: the ancestors each target passes (suppressed), and where it stops.
        at, root, sibling = self.areas.copy(), self.areas.copy(), np.full(n, -1)
        passed: list[tuple[np.ndarray, np.ndarray]] = []
        live = np.arange(n)
        while live.size:
            p = tree.parent[at[live]]
            live, p = live[p >= 0], p[p >= 0]
            go = ~self.carried(live, self.test.above(at[live]))
            live, p = live[go], p[go]
            many = tree.last_at[p] - tree.first_at[p] > 1
            sibling[live[many]] = root[live[many]] = p[many]
            live, p = live[~many], p[~many]
            at[live] = root[live] = p
            passed.append((live, p))
        wave = _waves(tree, root)
        for k in range(int(wave.max(initial=-1)) + 1):
            w = np.flatnonzero(wave == k)
            self.carry_down(w, self.areas[w])
            for who, area in passed:
                mine = wave[who] == k
                if mine.any():
                    self.suppress(who[mine], area[mine])
            w = w[sibling[w] >= 0]
            if w.size:
                p = sibling[w]
                kids, owner = _children(tree, p)
                keep = kids != at[w][owner]
                self.carry_down(w, self.cheapest(w, kids[keep], owner[keep]))

    def suppress(self, w: np.ndarray, areas: np.ndarray) -> None:
        r, c = np.nonzero(self.support[w] & self.test.pub[areas])
        self.suppressed[areas[r], self.cols[c]] = True

    def carry_down(self, w: np.ndarray, areas: np.ndarray) -> None:
        tree = self.tree
        while w.size:
            self.suppress(w, areas)
            go = np.flatnonzero(tree.has_kids[areas])
            go = go[~self.carried(w[go], self.below[areas[go]])]
            w, areas = w[go], areas[go]
            if w.size:
                kids, owner = _children(tree, areas)
                areas = self.cheapest(w, kids, owner)

    def cheapest(self, w: np.ndarray, areas: np.ndarray, owner: np.ndarray) -> np.ndarray:
        """For each w[i], its cheapest area among areas[owner == i] (the first when tied)."""
        cost = self.costs(w[owner], areas)
        starts = np.searchsorted(owner, np.arange(w.size))
        low = np.minimum.reduceat(cost, starts)
        first = np.minimum.reduceat(np.where(cost == low[owner], np.arange(cost.size), cost.size), starts)
        return areas[first]

    def costs(self, w: np.ndarray, areas: np.ndarray) -> np.ndarray:
        """What carrying each w's y down from each area costs, one tree level at a time."""
        tree = self.tree
        own = (self.value[areas] * ~self.suppressed[areas[:, None], self.cols] * self.support[w]).sum(axis=1)
        deeper = np.flatnonzero(tree.has_kids[areas])
        deeper = deeper[~self.carried(w[deeper], self.below[areas[deeper]])]
        if deeper.size:
            kids, owner = _children(tree, areas[deeper])
            below = self.costs(w[deeper][owner], kids)
            own[deeper] += np.minimum.reduceat(below, np.searchsorted(owner, np.arange(deeper.size)))
        return own


def _children(tree: _Tree, areas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The children of each area, concatenated, and the position in `areas` each belongs to."""
    first, last = tree.first_at[areas], tree.last_at[areas]
    return tree.kids[ranges(first, last)], np.repeat(np.arange(areas.size), last - first)


def _waves(tree: _Tree, root: np.ndarray) -> np.ndarray:
    """Wave of each target: one after every earlier target whose subtree (at `root`) meets its own.

    Subtrees meet when one root is the other's ancestor or the same area: the latest wave
    rooted inside a subtree is kept at its root and each ancestor (a few levels), the
    latest rooted at an area at that area.
    """
    parent = tree.parent.tolist()
    inside: dict[int, int] = {}
    at: dict[int, int] = {}
    out = []
    for r in root.tolist():
        up, a = [], parent[r]
        while a >= 0:
            up.append(a)
            a = parent[a]
        k = max([inside.get(r, -1), *(at.get(a, -1) for a in up)]) + 1
        out.append(k)
        at[r] = max(at.get(r, -1), k)
        for a in (r, *up):
            inside[a] = max(inside.get(a, -1), k)
    return np.array(out, dtype=np.int64)


class _Span:
    """Per row, an orthonormal basis of what is fixed, grown coordinate by coordinate while functional b stays free.

    `q[row, :rank[row]]` is the basis (vectors as rows) and `rest` = b minus its projection
    onto the span, the part of b that nothing fixed determines: b is free while
    |rest|^2 > _TOL |b|^2 (as `_is_free` tests against a null-space projector). A
    coordinate is added by one Gram-Schmidt step, projected once more when most of it
    cancels, so that round-off does not build up; one already in the span changes nothing.
    Rows in lockstep, with no eigendecomposition.
    """

    def __init__(self, basis: np.ndarray, b: np.ndarray, fixed: np.ndarray, rows: np.ndarray | None = None) -> None:
        """`fixed`: a projector per row onto what is fixed from the start, or one per row of `rows` (none elsewhere)."""
        n, k = b.shape
        self.basis, self.b = basis, b
        self.limit = _TOL * (b * b).sum(axis=1)
        self.q = np.zeros((n, k, k))
        self.rank = np.zeros(n, dtype=np.int64)
        if rows is None:
            rows = np.flatnonzero(np.abs(fixed).max(axis=(1, 2), initial=0.0) > 0)
            fixed = fixed[rows]
        if rows.size:  # fixed is a projector: its range is spanned already
            w, v = _eigh(fixed)
            on = w > 0.5
            self.rank[rows] = on.sum(axis=1)
            # eigh sorts ascending: the eigenvalue-1 vectors are the last rank ones; move them first.
            self.q[rows] = np.flip(v * on[:, None, :], axis=2).transpose(0, 2, 1)
        self.rest = b - self._project(b, np.arange(n))

    def _project(self, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The projection of x[i] onto the span of row rows[i] (rows a prefix or an index)."""
        top = int(self.rank[rows].max(initial=0))
        q = self.q[rows, :top]
        return np.matmul(np.matmul(q, x[:, :, None]).transpose(0, 2, 1), q)[:, 0, :]

    def subset(self, rows: np.ndarray) -> _Span:
        out = object.__new__(_Span)
        out.basis, out.b, out.limit = self.basis, self.b[rows], self.limit[rows]
        out.q, out.rank, out.rest = self.q[rows], self.rank[rows], self.rest[rows]
        return out

    def extend(self, order: np.ndarray, steps: np.ndarray, count: np.ndarray) -> np.ndarray:
        """Try coordinate order[row, step] for each step in turn (rows with step < count); returns what was added.

        The rows are independent: many rows are shared among the cores (numpy's products and
        element-wise loops release the GIL), every other row by count to each, so that the
        parts take about as long.
        """
        if count.size < _SPAN_SPLIT or cores.THREADS == 1:
            return self._extend(order, steps, count)
        by = np.argsort(-count, kind="stable")
        parts = [by[i :: cores.THREADS] for i in range(cores.THREADS)]
        spans = [self.subset(rows) for rows in parts]
        added = cores.map_threads(lambda i: spans[i]._extend(order[parts[i]], steps, count[parts[i]]), range(len(parts)))
        out = np.zeros(order.shape, dtype=bool)
        for rows, span, got in zip(parts, spans, added, strict=True):
            self.q[rows], self.rank[rows], self.rest[rows] = span.q, span.rank, span.rest
            out[rows] = got
        return out

    def _extend(self, order: np.ndarray, steps: np.ndarray, count: np.ndarray) -> np.ndarray:
        # Rows by count, most first: the rows of a step are then a prefix, a view instead of a copy.
        by = np.argsort(-count, kind="stable")
        self._permute(by)
        order, count = order[by], count[by]
        added = np.zeros(order.shape, dtype=bool)
        for step in steps:
            n = int(np.searchsorted(-count, -step, side="left"))  # rows with count > step
            if n == 0:
                continue
            rows = slice(0, n)
            col = order[:n, step]
            u = self.basis[col]
            v = u - self._project(u, rows)
            vv = (v * v).sum(axis=1)
            uu = (u * u).sum(axis=1)
            again = np.flatnonzero((vv > _TOL * uu) & (vv < 0.25 * uu))  # much cancelled: project once more
            if again.size:
                v[again] -= self._project(v[again], again)
                vv[again] = (v[again] * v[again]).sum(axis=1)
            inside = vv <= _TOL * uu
            rest = self.rest[:n]
            along = (v * rest).sum(axis=1) / np.where(inside, 1.0, vv)
            left = rest - along[:, None] * v
            keep = inside | ((left * left).sum(axis=1) > self.limit[:n])
            added[np.flatnonzero(keep), col[keep]] = True
            g = np.flatnonzero(keep & ~inside)
            if g.size:
                self.q[g, self.rank[g]] = v[g] / np.sqrt(vv[g])[:, None]
                self.rank[g] += 1
                self.rest[g] = left[g]
        back = np.empty_like(by)
        back[by] = np.arange(by.size)
        self._permute(back)
        return added[back]

    def _permute(self, rows: np.ndarray) -> None:
        self.b, self.limit, self.q, self.rank, self.rest = (
            self.b[rows], self.limit[rows], self.q[rows], self.rank[rows], self.rest[rows])


@dataclass
class _Test:
    """The result of one exact test of a component: the leaks, and the spaces to repair them with.

    The spaces are in the test's reduced coordinates; `lift` maps them to the component's.
    """

    component: _Component
    areas: np.ndarray
    cols: np.ndarray  # coordinate within the component
    pub: np.ndarray  # (A, m) published, at the test
    lift: np.ndarray  # (k, k') the reduced basis in the component's coordinates
    spaces: _Spaces

    def __post_init__(self) -> None:
        self._below: np.ndarray | None = None

    def below_every(self) -> np.ndarray:
        """`below` of every area with children (computed once: a witness looks deep into the tree)."""
        if self._below is None:
            self._below = self.below(np.arange(self.pub.shape[0]))
        return self._below

    def _identities(self, n: int) -> np.ndarray:
        k = self.lift.shape[1]
        return np.broadcast_to(np.eye(k), (n, k, k)).copy()

    def below(self, a: np.ndarray) -> np.ndarray:
        """Projectors onto what the children of each area can change together, in reduced coordinates
        (the identity for an area without children); mostly the R the test computed (`_free_spaces`)."""
        has = self.component.tree.has_kids[a]
        s = self.spaces
        out = self._identities(a.size)
        known = has & (s.row[a] >= 0)  # active: the test computed R
        out[known] = s.get("R", a[known])
        new = has & ~known
        out[new] = _range_projector(s.get("total", a[new]))
        return out

    def above(self, a: np.ndarray) -> np.ndarray:
        """Projectors onto what the rest of the tree lets each area change by, in reduced coordinates
        (the identity for a top area). Each area is one the test tested or an ancestor of one, so
        that its parent's T was computed (`_free_spaces`: `up`)."""
        p = self.component.tree.parent[a]
        has = p >= 0
        s = self.spaces
        out = self._identities(a.size)
        known = has & s.up[a]  # the test computed these (`_free_spaces`: U)
        out[known] = s.get("U", a[known])
        new = has & ~known
        out[new] = _range_projector(s.get("T", p[new]) + s.get("total", p[new]) - s.get("S", a[new]))
        return out

    def room(self, a: np.ndarray) -> np.ndarray:
        """Projectors (in the component's coordinates) onto what each area can change by that its
        children can make up for and the rest of the tree lets it: null((I - below) + (I - above)).

        Outside the reduced coordinates (figures published everywhere) nothing can change, except
        in an area with neither children nor parent, which is free in every coordinate.
        """
        eye = np.eye(self.lift.shape[1])
        tree = self.component.tree
        # Without children below is the identity, and null(I - above) is above itself.
        has = tree.has_kids[a]
        inner = self.above(a)
        inner[has] = _null_projector((eye - self.below(a[has])) + (eye - inner[has]))
        room = self.lift @ inner @ self.lift.T
        room[~has & (tree.parent[a] < 0)] = np.eye(self.lift.shape[0])
        return room


@dataclass
class _Spaces:
    """What `_free_spaces` found, stored for the areas it concerns only (most areas publish everything).

    S, R, T and U have a row per active area (`row`), total one per area with children
    (`group`); `get` gives any areas' projectors, zero where an area has none.
    """

    row: np.ndarray  # area -> its row in S, R, T, U, or -1
    group: np.ndarray  # area -> its row in total, or -1
    S: np.ndarray
    R: np.ndarray  # set for active areas with children
    T: np.ndarray  # set where `up`, zero elsewhere
    U: np.ndarray  # set where `up` and the area has a parent
    total: np.ndarray
    up: np.ndarray  # active areas whose T and U were computed

    def get(self, name: str, areas: np.ndarray) -> np.ndarray:
        at = (self.group if name == "total" else self.row)[areas]
        stack = getattr(self, name)
        out = np.zeros((areas.size, *stack.shape[1:]))
        have = at >= 0
        out[have] = stack[at[have]]
        return out


def _free_spaces(gram: np.ndarray, active: np.ndarray, tree: _Tree, need: np.ndarray) -> _Spaces:
    """For every area, projectors onto the changes that no published figure notices.

    `gram[i]` = basis^T diag(published) basis for area active[i], whose null space is what the
    area's own published figures allow (an area that is not active allows nothing: every
    space of it is zero). Children before parents (bottom-up):

    * total[a]: the sum of the children's S; its range R[a] is what the children allow together;
    * S[a]: what a's subtree allows: null(gram[a]) within range(total[a]) (everything for
      an area without children).

    Parents before children (top-down):

    * U[a]: what the rest of the tree lets a change by: range(T[parent] + the siblings' S)
      (everything for a top area);
    * T[a] = S[a] meet U[a]: the changes of a that keep every published figure anywhere.

    A target with functional b in area a is computable exactly iff b is orthogonal to T[a].
    T and U are computed for the areas `need` and their ancestors (`up`), R for the active
    areas, total for every area with children.
    """
    n = tree.parent.size
    k = gram.shape[1]
    eye = np.eye(k)
    on = np.zeros(n, dtype=bool)
    on[active] = True
    row = np.full(n, -1, dtype=np.int64)
    row[active] = np.arange(active.size)
    group = np.full(n, -1, dtype=np.int64)
    group[tree.parents] = np.arange(tree.parents.size)
    S = np.zeros(gram.shape)
    R = np.empty(gram.shape)  # read only where set
    total = np.zeros((tree.parents.size, k, k))
    depth = tree.depth
    for d in range(int(depth.max(initial=0)), -1, -1):
        at = np.flatnonzero(on & (depth == d))
        leaves = at[~tree.has_kids[at]]
        if leaves.size:
            S[row[leaves]] = _null_projector(gram[row[leaves]])
        # The active children of the parents at depth d (the others add nothing), summed per parent.
        sel = np.flatnonzero((depth[tree.kid_parent] == d) & on[tree.kids])
        if sel.size:
            groups = np.flatnonzero(depth[tree.parents] == d)
            sums = tree.sums[groups][:, sel]
            total[groups] = (sums @ S[row[tree.kids[sel]]].reshape(sel.size, k * k)).reshape(groups.size, k, k)
        p = at[tree.has_kids[at]]
        if p.size:
            R[row[p]] = _range_projector(total[group[p]])
            S[row[p]] = _null_projector((eye - R[row[p]]) + gram[row[p]])
    # Top-down only where T is needed: T[a] reads T of a's parent, and so on up to the top.
    up = np.zeros(n, dtype=bool)
    above = np.asarray(need)
    while above.size:
        up[above] = True
        above = tree.parent[above]
        above = np.unique(above[above >= 0])
    up &= on
    T = np.zeros(gram.shape)
    U = np.empty(gram.shape)
    tops = row[np.flatnonzero(up & (tree.parent < 0))]
    T[tops] = S[tops]
    for d in range(1, int(depth.max(initial=0)) + 1):
        at = np.flatnonzero(up & (depth == d))
        if at.size == 0:
            continue
        p = tree.parent[at]
        t_p = np.zeros((at.size, k, k))  # T of a parent that is not active is zero
        t_p[on[p]] = T[row[p[on[p]]]]
        # An only child changes exactly as its parent does: total[p] is its S, so U = range(T[p])
        # = T[p], and T = S meet T[p] = T[p], since T[p] lies in S[p], within range(total[p]).
        only = tree.last_at[p] - tree.first_at[p] == 1
        U[row[at[only]]] = T[row[at[only]]] = t_p[only]
        at, p, t_p = at[~only], p[~only], t_p[~only]
        a = row[at]
        U[a] = _range_projector(t_p + total[group[p]] - S[a])
        T[a] = _null_projector((eye - S[a]) + (eye - U[a]))
    return _Spaces(row, group, S, R, T, U, total, up)
