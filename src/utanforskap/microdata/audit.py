"""The intruder's audit (granskning) of a protected table: linear programming over everything published.

Threat model (docs/mikrodata.md says the same in Swedish): the intruder has every figure
published from the same data (all levels, variables and breakdowns), the public area
hierarchy, and logical knowledge:

* every cell is a non-negative number (counts are integers; intervals are rounded inwards);
* the hierarchy: a parent = the sum of its children, for every variable and every hidden group;
* the category equations (`Partition`): total = parts (+ the unpublished remainder `dold`),
  so a numerator lies within its denominator (the remainder is >= 0), nested numerators
  within each other, and groups nobody publishes (15-year-olds) are differences of published
  ones; a remainder that is zero at a published total is zero in every area below it;
* declared bounds on magnitudes (`Magnitude`: sick days <= 366 per person of the group);
* what a status code says, when the file has more than one (`skyddad` = below N,
  `skyddad_sekundar` = at least N).

For every cell the intruder does not see (every suppressed figure, and every hidden group
in every area) the audit derives the interval [lo, hi] the intruder can prove. First exact
propagation: an equation with one unknown gives it away, and an equation whose unknowns all
have the same sign and whose known part is zero pins them all to 0. Then what is left
splits into independent components (cells linked by equations through unknown cells;
published cells are constants), and each cell is minimised and maximised by linear
programming (HiGHS). Components are solved together in one LP per round (their objectives
are independent, so one LP minimises every component's target at once). This is the
global LP over all published figures, not an approximation by blocks.

Violations (rules in data/rojandekontroll.toml):

* with true values (when protecting): a sensitive cell with value v (a count or hidden group
  below N persons, or a dominated or few-person sum of days) must have lo <= max(0, v - d)
  and hi >= v + d, with d = skyddsmarginal for counts, and for days max(x1 / k - v,
  dagar_minsta_marginal) (x1 the largest person's days, k the dominance share);
* without true values (`granska` of a published file): every hidden or suppressed count
  that may be below N (lo < N) must have hi - lo >= skyddsmarginal (so it is never exact
  nor pinned to 0 or its denominator), every hidden sum of days hi - lo >=
  dagar_minsta_marginal, no published count below N, one status for every suppressed cell.

Not covered: knowledge beyond the declared equations and bounds (e.g. a person's own
record, other registers), the intruder's knowledge of how suppression chose its cells, and
integer programming (an LP interval rounded inwards can be wider than the integer one).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from utanforskap.errors import InputError

try:  # highspy's bindings when installed; else the same HiGHS bindings scipy ships (scipy is pinned in requirements.lock)
    from highspy import _core as _hs
except ImportError:
    from scipy.optimize._highspy import _core as _hs  # scipy's bundled HiGHS
from utanforskap.microdata import cores, disclosure
from utanforskap.microdata.disclosure import SKYDDAD, SKYDDAD_SEKUNDAR, Partition, _parents
from utanforskap.microdata.disclosure import ranges as _ranges
from utanforskap.tomlmodel import Strict, load_toml_model

_AREA = ["omrade", "niva", "period"]
_BIG = 1e10  # an upper bound for cells nothing else bounds (the LP stays bounded)
_EPS = 1e-6
_BANNER_SHOWN = False
_MAX_PUSHES = 16  # LPs pushing many cells at once, per audit
_MAX_SINGLE = 40  # cells of one component bounded one by one (two LPs each, every component in the same LPs); more: suppress more first
_BATCH_COLUMNS = 4_000  # independent components solved together up to about this many columns per LP
_DEBUG = bool(os.environ.get("UTANFORSKAP_GRANSKA_DEBUG"))
# The batches of one LP are independent and HiGHS releases the GIL while it solves: one
# thread per core (microdata.cores). Each batch keeps its own solver (and warm start), so the
# result does not depend on the number of threads.


def _highs():
    """A silent HiGHS instance. HiGHS prints its licence banner to stdout (fd 1, from C++) the first
    time one is made in a process, before any option can be set: that first one is made with fd 1
    pointed at /dev/null, so the CLI's output stays clean."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = _hs._Highs()
    else:
        sys.stdout.flush()
        saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = _hs._Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


# ---- rules -----------------------------------------------------------------------------------
class _Rule(Strict):
    varde: float
    kalla: str


class _RulesFile(Strict):
    skyddsmarginal: _Rule
    dominans_k: _Rule
    dagar_minsta_marginal: _Rule
    dagar_per_person: _Rule
    hogsta_primarandel: _Rule


@dataclass(frozen=True)
class Rules:
    """The protection requirements (data/rojandekontroll.toml)."""

    skyddsmarginal: int = 2
    dominans_k: float = 0.6
    dagar_minsta_marginal: int = 30
    dagar_per_person: int = 366
    hogsta_primarandel: float = 0.05


def _solve_batch(job):
    """Solve one batch of an LP with its new costs (in a worker thread): status, solution, iterations."""
    h, cost, _, _ = job
    h.changeColsCost(cost.size, np.arange(cost.size, dtype=np.int32), cost)
    h.run()
    return h.getModelStatus(), h.getSolution(), int(h.getInfo().simplex_iteration_count)


def load_rules(text: str | None = None, where: str = "utanforskap/data/rojandekontroll.toml") -> Rules:
    if text is None:
        text = resources.files("utanforskap.data").joinpath("rojandekontroll.toml").read_text("utf-8")
    f = load_toml_model(text, where, _RulesFile)
    rules = Rules(int(f.skyddsmarginal.varde), float(f.dominans_k.varde), int(f.dagar_minsta_marginal.varde),
                  int(f.dagar_per_person.varde), float(f.hogsta_primarandel.varde))
    if (rules.skyddsmarginal < 1 or not 0 < rules.dominans_k < 1 or rules.dagar_per_person < 1
            or not 0 < rules.hogsta_primarandel <= 1):
        raise InputError(f"{where}: skyddsmarginal ska vara minst 1, dominans_k mellan 0 och 1, dagar_per_person minst 1, "
                         "hogsta_primarandel större än 0 och högst 1")
    return rules


@dataclass(frozen=True)
class Magnitude:
    """A sum over persons (days): at most `per_person` (rules.dagar_per_person) times the count `persons`."""

    name: str
    persons: str


# ---- the result ------------------------------------------------------------------------------
@dataclass
class Audit:
    """Intervals the intruder can derive, the violations, and what it cost."""

    intervals: pl.DataFrame  # omrade niva period variabel dold lo hi (every cell the intruder does not see)
    violations: pl.DataFrame  # omrade niva period variabel lo hi skal
    n_lp: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.violations.is_empty()

    def message(self, limit: int = 5) -> str:
        """One Swedish line naming the first violations."""
        rows = self.violations.head(limit).iter_rows(named=True)
        shown = "; ".join(f"{r['omrade']} ({r['niva']}, {r['period']}) {r['variabel']}: {r['skal']}" for r in rows)
        more = f" (och {self.violations.height - limit} till)" if self.violations.height > limit else ""
        return f"röjandekontrollen underkänner tabellen: {self.violations.height} brister: {shown}{more}"


# ---- the system of equations -----------------------------------------------------------------
class System:
    """Cells (area x coordinate) of a table and every equation and bound the intruder knows.

    Coordinates: the variables of `cells`, then every other name the partitions use (hidden
    groups). Cell id = area * M + coordinate.
    """

    def __init__(self, cells: pl.DataFrame, *, edges: pl.DataFrame, partitions, min_antal: int, rules: Rules,
                 magnitudes: tuple[Magnitude, ...] = ()) -> None:
        self.n, self.rules = min_antal, rules
        self.areas = cells.select(_AREA).unique(maintain_order=True).with_row_index("_aid")
        variables = cells["variabel"].unique(maintain_order=True).to_list()
        names = list(variables)
        zero_from: dict[str, int] = {}
        for p in partitions:
            for name in (p.total, *p.parts, *([p.dold] if p.dold else [])):
                if name not in names:
                    names.append(name)
            if p.dold:
                zero_from[p.dold] = 0 if p.protect_zero else 1
        self.names, self.n_vars = names, len(variables)
        vid = {v: i for i, v in enumerate(names)}
        a_n, m = self.areas.height, len(names)
        self.m, self.size = m, a_n * m
        j = cells.join(self.areas, on=_AREA, how="left").with_columns(
            _vid=pl.col("variabel").replace_strict(vid, return_dtype=pl.Int64))
        ids = j["_aid"].to_numpy().astype(np.int64) * m + j["_vid"].to_numpy()
        self.ids = ids
        coord = np.tile(np.arange(m), a_n)
        self.hidden = coord >= self.n_vars
        self.exists = self.hidden.copy()
        self.exists[ids] = True
        self.value = np.full(self.size, np.nan)
        self.value[ids] = j["varde"].cast(pl.Float64).to_numpy()

        def column(name: str) -> np.ndarray | None:
            if name not in j.columns:
                return None
            out = np.full(self.size, np.nan)
            out[ids] = j[name].cast(pl.Float64).fill_null(np.nan).to_numpy()
            return out

        self.truth, self.bakom, self.storst = column("sant"), column("bakom"), column("storst")
        mag = np.zeros(m, dtype=bool)
        mag[[vid[g.name] for g in magnitudes if g.name in vid]] = True
        self.magnitude = mag[coord]
        zf = np.zeros(m)
        for name, z in zero_from.items():
            zf[vid[name]] = z
        self.zero_from = zf[coord]
        # What the status codes tell: only when there are two of them.
        self.lo0 = np.zeros(self.size)
        self.hi0 = np.full(self.size, _BIG)
        self.statuses = set(j["status"].drop_nulls().unique().to_list()) if "status" in j.columns else set()
        if SKYDDAD_SEKUNDAR in self.statuses:
            status = np.full(self.size, "", dtype=object)
            status[ids] = j["status"].fill_null("").to_numpy()
            self.hi0[(status == SKYDDAD) & ~self.magnitude] = min_antal - 1
            self.lo0[status == SKYDDAD_SEKUNDAR] = min_antal
        # Equations: partitions in every area, then the hierarchy for every coordinate.
        rows, cols, vals = [], [], []
        base = 0
        area_ids = np.arange(a_n, dtype=np.int64) * m
        for p in partitions:
            members = [(p.total, 1.0), *((x, -1.0) for x in p.parts), *([(p.dold, -1.0)] if p.dold else [])]
            for name, sign in members:
                rows.append(base + np.arange(a_n))
                cols.append(area_ids + vid[name])
                vals.append(np.full(a_n, sign))
            base += a_n
        self.n_partition_rows = base  # rows below this: partitions within an area; then the hierarchy
        parent = _parents(self.areas, edges)
        kids = np.flatnonzero(parent >= 0)
        if kids.size:
            pars, prow = np.unique(parent[kids], return_inverse=True)
            n_par = pars.size
            r_par = base + np.arange(n_par)[:, None] * m + np.arange(m)[None, :]
            rows.append(r_par.ravel())
            cols.append((pars[:, None] * m + np.arange(m)[None, :]).ravel())
            vals.append(np.ones(r_par.size))
            rows.append((base + prow[:, None] * m + np.arange(m)[None, :]).ravel())
            cols.append((kids[:, None] * m + np.arange(m)[None, :]).ravel())
            vals.append(np.full(kids.size * m, -1.0))
            base += n_par * m
        self.n_eq = base
        for g in magnitudes:
            if g.name in vid and g.persons in vid:
                rows += [base + np.arange(a_n)] * 2
                cols += [area_ids + vid[g.name], area_ids + vid[g.persons]]
                vals += [np.ones(a_n), np.full(a_n, -float(rules.dagar_per_person))]
                base += a_n
        r, c, v = (np.concatenate(x) if x else np.zeros(0) for x in (rows, cols, vals))
        a = sp.csr_matrix((v, (r.astype(np.int64), c.astype(np.int64))), shape=(base, self.size))
        # An equation over a variable missing in some area is no equation there.
        missing = ~self.exists
        if missing.any():
            bad = np.asarray(a[:, np.flatnonzero(missing)].getnnz(axis=1) > 0).ravel()
            a = sp.diags((~bad).astype(float)) @ a
            a.eliminate_zeros()
        self.a = a.tocsr()
        self.eq = self.a[: self.n_eq]
        self._entries: tuple[np.ndarray, ...] | None = None  # the equations' entries, sorted (_sorted_entries)
        self._opened: tuple[np.ndarray, ...] | None = None  # presuppress: free groups, suppressed, unknown, by_row
        self._by_col: np.ndarray | None = None  # the sorted entries by column (_entries_by_column)
        self._col_start = np.zeros(0, dtype=np.int64)
        # True values of the hidden groups (when true values are given): propagated exactly.
        if self.truth is not None:
            known = ~self.hidden & self.exists
            x = np.where(known, self.truth, 0.0)
            known, x, _ = self._propagate(known, x)
            self.truth = np.where(known, x, np.nan)
        self.cost = self._costs()
        self.sweeps = 0  # sweeps of the first guess (presuppress)
        self.escalate = 1  # cells suppressed per failing cell and round (raised when rounds drag on)
        self._memo: dict[str, np.ndarray] | None = None  # what the last audit proved (protecting)

    def _costs(self) -> np.ndarray:
        """The information lost by suppressing a cell: the persons behind it (its value for a count)."""
        behind = self.bakom if self.bakom is not None else None
        v = self.truth if self.truth is not None else self.value
        cost = np.where(np.isnan(v), np.inf, v)
        if behind is not None:
            cost = np.where(np.isnan(behind), cost, behind)
        return cost

    # ---- the protection's first guess ------------------------------------------------------
    def need(self) -> np.ndarray:
        """Per cell: the protection level d its interval must leave on each side (0: not sensitive)."""
        n, r = self.n, self.rules
        assert self.truth is not None
        v = self.truth
        with np.errstate(invalid="ignore"):
            behind = self._behind()
            storst = np.nan_to_num(self.storst) if self.storst is not None else np.zeros(self.size)
            ok = self.exists & ~np.isnan(v)
            sens = ok & ~self.magnitude & (behind < n) & (v >= self.zero_from)
            sens |= ok & self.magnitude & ((behind < n) | (storst > r.dominans_k * v))
            d = np.where(self.magnitude, np.maximum(storst / r.dominans_k - v, r.dagar_minsta_marginal), r.skyddsmarginal)
        return np.where(sens, d, 0.0)

    def presuppress(self, suppressed: np.ndarray, need: np.ndarray, changed: np.ndarray | None = None) -> int:
        """Suppress more (in place) until every equation leaves room for its sensitive cells; returns the sweeps.

        Per equation (total = parts, a partition in one area or a parent and its children), in
        sweeps over every equation at once: a sensitive unknown part must be able to move up by
        its protection level d (another unknown part holding at least d, or an unknown total)
        and down (another unknown part, or an unknown total); a sensitive unknown total must be
        able to move up (an unknown part) and down by min(v, d) (unknown parts holding that
        much); and a suppressed figure must never be the only unknown of an equation. Where an
        equation falls short, its smallest published part that covers the shortfall is
        suppressed (else its largest part, else its total), and it inherits the equation's need
        (it has to move as far as the sensitive cell it protects: `need` is updated in place). This is local (one equation at a
        time), so it does not prove anything: the audit decides, and repairs what is left.

        Suppressing more only adds room (more unknowns), so an equation that had room keeps it
        unless one of its own cells was suppressed or had its need raised: each sweep looks only
        at the equations that fell short in the last sweep and those holding a cell chosen since.
        `changed` (cells suppressed or given more need since the last call) starts that list;
        without it, every equation holding a suppressed or sensitive cell.
        """
        r_all, c_all, sign_all, starts_all = self._sorted_entries()
        if r_all.size == 0:
            return 0
        n_rows = self.eq.shape[0]
        assert self.truth is not None
        truth = self.truth
        value_all = np.nan_to_num(truth, nan=0.0)[c_all]
        seed = changed if changed is not None else (need > 0) | suppressed
        live = np.bincount(r_all, weights=seed[c_all], minlength=n_rows) > 0
        # Hidden groups never get suppressed and keep their need: the same ones are free in every sweep.
        free = self.hidden & (need <= 0) & ~suppressed
        gives_away = (np.bincount(r_all, weights=free[c_all], minlength=n_rows) > 0)[r_all]
        giving = (r_all[gives_away], c_all[gives_away], sign_all[gives_away], value_all[gives_away])
        seg_of_row = np.full(n_rows, -1, dtype=np.int64)
        seg_of_row[r_all[starts_all]] = np.arange(starts_all.size)
        ends_all = np.r_[starts_all[1:], r_all.size]
        chosen = np.zeros(0, dtype=np.int64)  # the cells suppressed in the last sweep
        for sweep in range(1, 10_001):
            # A hidden group the intruder can derive (its equation's other cells known) is not room to move.
            if sweep == 1:
                last = self._opened
                if last is not None and np.array_equal(last[0], free) and not (last[1] & ~suppressed).any():
                    open_cells, by_row = last[2], last[3]  # from the last call: only what was suppressed since
                    self._reopen(giving, open_cells, by_row, np.flatnonzero(suppressed & ~last[1]), free, n_rows)
                else:
                    open_cells, by_row = self._open_hidden(*giving, suppressed, free, n_rows)
            else:  # only what the cells suppressed since gave away changes
                self._reopen(giving, open_cells, by_row, chosen, free, n_rows)
            self._opened = (free, suppressed.copy(), open_cells, by_row)
            segs = seg_of_row[np.flatnonzero(live)]
            segs = segs[segs >= 0]
            keep = _ranges(starts_all[segs], ends_all[segs])  # the live equations' entries (few after the first sweeps)
            r, c, sign, value = r_all[keep], c_all[keep], sign_all[keep], value_all[keep]
            if r.size == 0:
                return sweep
            first_of_row = np.r_[True, r[1:] != r[:-1]]
            starts, segment = np.flatnonzero(first_of_row), np.cumsum(first_of_row) - 1
            part, total = sign < 0, sign > 0
            nd, hidden, exists = need[c], self.hidden[c], self.exists[c]
            position = np.arange(r.size)
            unknown = open_cells[c]
            n_part = np.bincount(r, weights=unknown & part, minlength=n_rows)[r]
            n_total = np.bincount(r, weights=unknown & total, minlength=n_rows)[r]
            s_part = np.bincount(r, weights=np.where(unknown & part, value, 0.0), minlength=n_rows)[r]
            others = s_part - value
            part_short = np.where(n_total > 0, 0.0, np.maximum(nd - others, np.where(n_part >= 2, 0.0, 0.5)))
            total_short = np.maximum(np.where(n_part >= 1, 0.0, 0.5), np.minimum(value, nd) - s_part)
            short = np.where(unknown & (nd > 0), np.where(part, part_short, total_short), 0.0)
            alone = unknown & ~hidden & (n_part + n_total == 1)
            short = np.maximum(short, np.where(alone, 0.5, 0.0))
            row_short = np.maximum.reduceat(short, starts)[segment]
            row_need = np.maximum.reduceat(np.where(unknown, nd, 0.0), starts)
            bad = row_short > 0
            if not bad.any():
                return sweep
            published = exists & ~unknown & ~hidden & bad
            score = np.where(published & part, np.where(value >= row_short, value, 1e12 - value), np.inf)
            score = np.where(published & total, 1e15, score)
            best = np.minimum.reduceat(score, starts)[segment]
            pick = np.where(np.isfinite(score) & (score == best), position, r.size)
            first = np.minimum.reduceat(pick, starts)
            chosen_per_row = np.where(first < r.size, c[np.minimum(first, r.size - 1)], -1)
            # No published cell in the equation: open a derived hidden group in it instead, by
            # suppressing the cheapest published cell of the equation that gave it away.
            derived = exists & hidden & ~unknown & bad & (by_row[c] >= 0)
            d_score = np.where(derived, np.where(value >= row_short, value, 1e12 - value), np.inf)
            d_best = np.minimum.reduceat(d_score, starts)[segment]
            d_pick = np.minimum.reduceat(np.where(np.isfinite(d_score) & (d_score == d_best), position, r.size), starts)
            via = (chosen_per_row < 0) & (d_pick < r.size)
            if via.any():  # the equation that gave the group away may lie outside the list: look in it
                gave, at = np.unique(seg_of_row[by_row[c[d_pick[via]]]], return_inverse=True)
                lengths = ends_all[gave] - starts_all[gave]
                e = _ranges(starts_all[gave], ends_all[gave])  # its entries, in order
                ce = c_all[e]
                pub_score = np.where(self.exists[ce] & ~open_cells[ce] & ~self.hidden[ce], self.cost[ce], np.inf)
                local = np.r_[0, np.cumsum(lengths)[:-1]]
                p_best = np.repeat(np.minimum.reduceat(pub_score, local), lengths)
                p_pick = np.minimum.reduceat(np.where(np.isfinite(pub_score) & (pub_score == p_best), np.arange(e.size), e.size),
                                             local)
                alt = p_pick[at.ravel()]
                chosen_per_row[np.flatnonzero(via)] = np.where(alt < e.size, ce[np.minimum(alt, e.size - 1)], -1)
            got = chosen_per_row >= 0
            if not got.any():
                return sweep
            # A figure suppressed for a sensitive one must move as far itself: it inherits the need.
            chosen = chosen_per_row[got]
            suppressed[chosen] = True
            np.maximum.at(need, chosen, np.minimum(row_need[got], np.maximum(truth[chosen], 0.0)))
            # Next sweep: the equations still short, and every equation holding a chosen cell.
            live = np.zeros(n_rows, dtype=bool)
            live[self._rows_of(chosen)] = True
            live[r[bad]] = True
        return 10_000

    def _open_hidden(self, r, c, sign, value, suppressed, free, n_rows):
        """Per cell: unknown to the intruder after exact propagation, where only the `free` hidden
        groups (not sensitive) can become known (suppressed and sensitive cells stay unknown: their
        equations are checked for room instead). Also, per cell, the equation that gave it away (-1: none).

        Equations (sorted COO r, c, sign, only those holding a free group; `value` the true value
        per entry) with one unknown give it away, and so do equations whose unknowns all have the
        same sign and sum to zero.
        """
        unknown = (suppressed | self.hidden) & self.exists
        by_row = np.full(self.size, -1, dtype=np.int64)
        self._derive(r, c, sign, value, unknown, by_row, free, n_rows)
        return unknown, by_row

    def _reopen(self, giving, unknown, by_row, newly, free, n_rows) -> None:
        """`_open_hidden` after `newly` (published cells) were suppressed, in place: the groups whose
        derivation went through an equation holding a newly unknown cell (and, in turn, through an
        equation holding such a group) are unknown again, then derived anew where they still can be.
        Knowing less never lets more be derived, so the rest stands: the same result as from scratch."""
        r, c, sign, value = giving
        unknown[newly] = True
        row_hot = np.zeros(n_rows, dtype=bool)
        derived = np.flatnonzero(by_row >= 0)
        affected = np.zeros(self.size, dtype=bool)
        hot_cells = np.asarray(newly).ravel()
        for _ in range(10_000):
            row_hot[self._rows_of(hot_cells)] = True
            lost = derived[row_hot[by_row[derived]] & ~affected[derived]]
            if lost.size == 0:
                break
            affected[lost] = True
            hot_cells = lost
        if not affected.any():
            return
        unknown[affected] = True
        by_row[affected] = -1
        again = np.zeros(n_rows, dtype=bool)
        again[self._rows_of(np.flatnonzero(affected))] = True
        keep = again[r]
        self._derive(r[keep], c[keep], sign[keep], value[keep], unknown, by_row, free, n_rows)

    @staticmethod
    def _derive(r, c, sign, value, unknown, by_row, free, n_rows) -> None:
        """Equations with one unknown give it away, and so do those whose unknowns all have the same
        sign and sum to zero; only `free` cells become known (in place, with the equation in by_row)."""
        magnitude, positive = np.abs(value * sign), sign > 0
        for _ in range(1_000):
            u = unknown[c]
            cnt = np.bincount(r, weights=u, minlength=n_rows)
            pos = np.bincount(r, weights=u & positive, minlength=n_rows)
            total = np.bincount(r, weights=np.where(u, magnitude, 0.0), minlength=n_rows)
            gives = (cnt == 1) | ((cnt > 1) & (total == 0) & ((pos == 0) | (pos == cnt)))
            hit = u & gives[r] & free[c]
            if not hit.any():
                break
            unknown[c[hit]] = False
            by_row[c[hit]] = r[hit]

    # ---- exact propagation -------------------------------------------------------------
    def _propagate(self, known: np.ndarray, x: np.ndarray):
        """Equations with one unknown, and zero-sum equations with same-sign unknowns; returns known, x, row.

        Counts per equation are kept up to date as cells become known, so each step looks only at
        the equations holding a cell that became known in the step before.
        """
        known, x = known.copy(), x.copy()
        by_row = np.full(self.size, -1, dtype=np.int64)
        r, c, coef, starts = self._sorted_entries()
        n_rows = self.eq.shape[0]
        if r.size == 0:
            return known, x, by_row
        by_col = self._entries_by_column()
        ends = np.r_[starts[1:], r.size]
        row_start, row_end = np.zeros(n_rows, dtype=np.int64), np.zeros(n_rows, dtype=np.int64)
        row_start[r[starts]], row_end[r[starts]] = starts, ends
        positive = coef > 0
        u = ~known[c]
        count = np.bincount(r, weights=u, minlength=n_rows)
        pos = np.bincount(r, weights=u & positive, minlength=n_rows)
        residual = -np.bincount(r, weights=np.where(u, 0.0, coef * x[c]), minlength=n_rows)
        rows = np.arange(n_rows)
        for _ in range(10_000):
            cnt = count[rows]
            one = rows[cnt == 1]
            zero = rows[(cnt > 1) & (np.abs(residual[rows]) < _EPS) & ((pos[rows] == 0) | (pos[rows] == cnt))]
            if one.size == 0 and zero.size == 0:
                break
            e = _ranges(row_start[one], row_end[one])
            e = e[~known[c[e]]]
            col, row = c[e], r[e]
            x[col] = residual[row] / coef[e]
            known[col] = True
            by_row[col] = row
            e = _ranges(row_start[zero], row_end[zero])
            e = e[~known[c[e]]]
            x[c[e]] = 0.0
            known[c[e]] = True
            by_row[c[e]] = r[e]
            # Every entry of the cells that became known: its equation has one unknown fewer.
            fresh = np.unique(np.r_[col, c[e]])
            f = by_col[_ranges(self._col_start[fresh], self._col_start[fresh + 1])]
            fewer = np.bincount(r[f], minlength=n_rows)
            count -= fewer
            pos -= np.bincount(r[f], weights=positive[f], minlength=n_rows)
            residual -= np.bincount(r[f], weights=coef[f] * x[c[f]], minlength=n_rows)
            rows = np.flatnonzero(fewer)
        return known, x, by_row

    def _rows_of(self, cells: np.ndarray) -> np.ndarray:
        """The equations (row numbers, with repeats) holding these cells."""
        by_col = self._entries_by_column()
        return self._sorted_entries()[0][by_col[_ranges(self._col_start[cells], self._col_start[cells + 1])]]

    def _entries_by_column(self) -> np.ndarray:
        """The sorted entries' positions ordered by column (with self._col_start: each column's first)."""
        if self._by_col is None:
            c = self._sorted_entries()[1]
            self._by_col = np.argsort(c, kind="stable")
            self._col_start = np.searchsorted(c[self._by_col], np.arange(self.size + 1))
        return self._by_col

    def _sorted_entries(self) -> tuple[np.ndarray, ...]:
        """The equations' nonzero entries sorted by row then column: row, column, coefficient and
        first entry of each row (the equations do not change: once)."""
        if self._entries is None:
            eq = self.eq.tocsr(copy=True)
            eq.sum_duplicates()  # canonical: one entry per (row, column), columns sorted within a row
            r = np.repeat(np.arange(eq.shape[0], dtype=np.int64), np.diff(eq.indptr))
            keep = eq.data != 0
            r, c = r[keep], eq.indices[keep].astype(np.int64)
            first = np.r_[True, r[1:] != r[:-1]] if r.size else np.zeros(0, dtype=bool)
            self._entries = (r, c, eq.data[keep], np.flatnonzero(first))
        return self._entries

    # ---- the audit -----------------------------------------------------------------------
    def audit(self, suppressed: np.ndarray | None = None, exact: bool = False) -> tuple[Audit, np.ndarray]:
        """Audit with `suppressed` (bool per cell; default: the cells without a value).

        Returns the audit and the cells to suppress next (one per violating component,
        the cheapest published cell that limits the intruder's interval).
        """
        t0 = time.perf_counter()
        if suppressed is None:
            suppressed = np.isnan(self.value) & self.exists
        published = self.exists & ~self.hidden & ~suppressed
        source = self.truth if self.truth is not None else self.value
        x0 = np.where(published, source, 0.0)
        known, x, by_row = self._propagate(published, x0)
        lo = np.where(known, x, np.nan)
        hi = lo.copy()
        lp_cols = np.flatnonzero(~known & self.exists)
        repair: list[np.ndarray] = []
        n_lp = 0
        if lp_cols.size:
            n_lp, fixes = self._solve(lp_cols, known, x, lo, hi, published, exact)
            repair.append(fixes)
        # Integers: intervals rounded inwards (every cell here is a count or a sum of whole days).
        lo, hi = np.ceil(lo - _EPS), np.floor(hi + _EPS)
        target = self.exists & ~published
        viol, reason = self._violations(target, published, lo, hi)
        # Exactly derived cells that violate: a published cell of the equation that gave them away.
        derived = np.flatnonzero(viol & known & target)
        derived = derived[by_row[derived] >= 0]
        if derived.size:
            repair.append(self._trace(derived, by_row, published))
        prim = np.flatnonzero(viol & published)
        repair.append(prim)
        if self.truth is not None:  # hidden groups without room: open a sibling that has some
            repair.append(self._sibling_room(np.flatnonzero(viol & self.hidden & target), published))
        fix = np.unique(np.concatenate(repair)).astype(np.int64)
        cells = np.flatnonzero(target)
        exakt = known.copy()
        if lp_cols.size:
            exakt |= self.last_exact
        intervals = self._frame(cells, lo=lo[cells], hi=hi[cells], dold=self.hidden[cells], exakt=exakt[cells])
        v = np.flatnonzero(viol)
        violations = self._frame(v, lo=lo[v], hi=hi[v], skal=pl.Series("skal", reason[v].tolist(), dtype=pl.String))
        return Audit(intervals, violations, n_lp, time.perf_counter() - t0), fix

    def _frame(self, cells: np.ndarray, **cols) -> pl.DataFrame:
        a, c = cells // self.m, cells % self.m
        areas = self.areas.drop("_aid")[a] if cells.size else self.areas.drop("_aid").clear()
        names = np.array(self.names, dtype=object)
        return areas.with_columns(variabel=pl.Series(names[c].tolist(), dtype=pl.String),
                                  **{k: pl.Series(k, v) for k, v in cols.items()})

    def _violations(self, target, published, lo, hi):
        """Per cell: does it break a rule, and why (Swedish)."""
        n, r = self.n, self.rules
        reason = np.full(self.size, "", dtype=object)
        count = ~self.magnitude
        width = hi - lo
        # Without true values: anything that may be below N must keep an interval of at least p.
        narrow = target & count & (lo < n) & (hi >= self.zero_from) & (width < r.skyddsmarginal)
        narrow_days = target & self.magnitude & (width < r.dagar_minsta_marginal)
        reason[narrow] = "härleds till ett för smalt intervall (kan vara färre än N)"
        reason[narrow & (width == 0)] = "kan räknas fram exakt (färre än N)"
        reason[narrow & (hi == 0)] = "låst till 0"
        reason[narrow & (hi == 0) & self.hidden] = "dold rest låst till 0 (alla i gruppen har egenskapen)"
        reason[narrow_days] = "dold summa dagar härleds till ett för smalt intervall"
        small_pub = published & count & ~np.isnan(self.value) & (self.value < n) & (self.value >= 0)
        if self.truth is not None:
            small_pub = published & count & (self._behind() < n)
        reason[small_pub] = "publicerad uppgift bygger på färre än N personer"
        viol = narrow | narrow_days | small_pub
        if self.truth is not None:
            v = self.truth
            behind = self._behind()
            sens_count = target & count & (behind < n) & (v >= self.zero_from)
            storst = self.storst if self.storst is not None else np.zeros(self.size)
            dominated = target & self.magnitude & ((behind < n) | (storst > r.dominans_k * v))
            d = np.where(self.magnitude, np.maximum(storst / r.dominans_k - v, r.dagar_minsta_marginal), r.skyddsmarginal)
            sens = sens_count | dominated
            fail = sens & ((lo > np.maximum(self.zero_from, v - d) + _EPS) | (hi < v + d - _EPS))
            fresh = fail & (reason == "")
            reason[fresh] = "det härledda intervallet når inte skyddsnivån"
            days_pub = published & self.magnitude & ((behind < n) | (storst > r.dominans_k * v))
            reason[days_pub] = "publicerad summa domineras av en person eller bygger på färre än N personer"
            viol |= fail | days_pub
        return viol, reason

    def _behind(self) -> np.ndarray:
        """Persons behind each cell: `bakom` where given (days), else the true count."""
        v = self.truth
        assert v is not None
        if self.bakom is None:
            return v
        return np.where(np.isnan(self.bakom), v, self.bakom)

    def _trace(self, cells: np.ndarray, by_row: np.ndarray, published: np.ndarray) -> np.ndarray:
        """For each exactly derived cell: the cheapest published cell it was derived from (nearest first).

        Follows the equations that gave the cell away back through the other derived cells.
        """
        out = []
        for c in cells:  # the violations only: few
            frontier, seen = np.array([c]), {int(c)}
            for _ in range(50):
                rows = by_row[frontier]
                rows = rows[rows >= 0]
                if rows.size == 0:
                    break
                members = np.unique(self.a[rows].indices)
                pub = members[published[members]]
                if pub.size:
                    out.append(pub[np.argmin(self.cost[pub])])
                    break
                frontier = np.array([m for m in members if int(m) not in seen], dtype=np.int64)
                seen.update(int(m) for m in frontier)
                if frontier.size == 0:
                    break
        return np.array(out, dtype=np.int64)

    # ---- linear programming ----------------------------------------------------------------
    def _solve(self, cols, known, x, lo, hi, published, exact: bool = False):
        """Bounds on every unknown cell by LP, every component in one LP; fills lo/hi in place.

        Every LP solution is a table the intruder cannot rule out, so each one widens the
        interval seen for every cell. A cell is settled when what is seen already meets its
        requirement. After the LPs that push every cell up and down at once, LPs push a random
        half of the cells still unsettled (each the way it lacks) while that settles cells.
        The others are minimised and maximised on their own (one cell per component per
        round, all components in the same LP), which gives their exact interval; when
        protecting (true values given) and more than _MAX_SINGLE are left in one component, they are not
        bounded but reported as violations at once, with a neighbour to suppress. With `exact`, every cell gets its exact interval. lo/hi are the exact
        interval or, for settled cells, an inner bound (the intruder's interval is at least
        as wide). Returns the number of LPs and the cells to suppress next.
        """
        a = self.a
        sub = a[:, cols].tocsr()
        rows = np.flatnonzero(np.diff(sub.indptr) > 0)
        sub = sub[rows]
        rhs = -(a[rows] @ np.where(known, x, 0.0))
        is_eq = rows < self.n_eq
        nr, nc = sub.shape
        b = sp.bmat([[None, sub.T.astype(bool)], [sub.astype(bool), None]]).tocsr()
        _, label = connected_components(b, directed=False)
        ids, comp_col = np.unique(label[:nc], return_inverse=True)
        comp_row = np.searchsorted(ids, label[nc:])
        col_lo, col_hi = self.lo0[cols], np.minimum(self.hi0[cols], _BIG)
        row_lo = np.where(is_eq, rhs, -_hs.kHighsInf)
        state: dict[str, Any] = {"n_lp": 0, "model": None}

        def build(active_cols: np.ndarray, capped: np.ndarray | None = None) -> None:
            """LPs over these columns (whole components) and their rows, components batched
            into LPs of about _BATCH_COLUMNS columns (the simplex's work per iteration grows with
            the LP's size, so thousands of independent components are cheaper in batches).

            With `capped` (positions in active_cols): two more columns per such cell, u <= x and
            u <= its required upper end, w <= -x and w <= -(its required lower end), so that
            maximising u (or w) pushes the cell up (or down) only as far as it needs to go.
            """
            comp = comp_col[active_cols]
            order = np.argsort(comp, kind="stable")
            first = np.r_[True, comp[order][1:] != comp[order][:-1]] if comp.size else np.zeros(0, dtype=bool)
            sizes = np.diff(np.r_[np.flatnonzero(first), comp.size])
            # A component starts a new batch when the batch would pass the size (one LP per batch).
            batch_of_comp = np.zeros(sizes.size, dtype=np.int64)
            if sizes.size:
                batch_of_comp = (np.cumsum(sizes) - sizes) // _BATCH_COLUMNS
            batch = np.empty(comp.size, dtype=np.int64)
            batch[order] = np.repeat(batch_of_comp, sizes)
            comp_batch = np.full(ids.size, -1, dtype=np.int64)
            comp_batch[comp] = batch
            row_batch = comp_batch[comp_row]
            row_order = np.argsort(row_batch, kind="stable")
            row_bounds = np.searchsorted(row_batch[row_order], np.arange(batch.max(initial=-1) + 2))
            k = capped.size if capped is not None else 0
            cap_batch = batch[capped] if capped is not None else np.zeros(0, dtype=np.int64)
            models = []
            for b in np.unique(batch):
                mine = batch == b
                local_pos = np.cumsum(mine) - 1
                which = np.flatnonzero(cap_batch == b)
                local_capped = local_pos[capped[which]] if capped is not None else None
                act_rows = row_order[row_bounds[b] : row_bounds[b + 1]]
                h, n_cols = model(active_cols[mine], act_rows, local_capped)
                models.append((h, active_cols[mine], act_rows, n_cols, np.r_[which, k + which].astype(np.int64)))
            state["model"] = models
            state["n_active"] = active_cols.size

        def model(active_cols: np.ndarray, act_rows: np.ndarray, capped: np.ndarray | None):
            """One HiGHS LP over these columns (whole components) and their rows."""
            csc = sub[act_rows][:, active_cols].tocsc()
            n_x, n_r = active_cols.size, act_rows.size
            c_lo, c_hi = col_lo[active_cols], col_hi[active_cols]
            r_lo, r_hi = row_lo[act_rows], rhs[act_rows]
            if capped is not None and capped.size:
                k = capped.size
                cell = active_cols[capped]
                aux = np.arange(2 * k)
                link = sp.csr_matrix(
                    (np.r_[np.ones(2 * k), -np.ones(k), np.ones(k)],
                     (np.r_[aux, np.arange(k), k + np.arange(k)], np.r_[n_x + aux, capped, capped])),
                    shape=(2 * k, n_x + 2 * k))
                csc = sp.vstack([sp.hstack([csc, sp.csc_matrix((n_r, 2 * k))]), link]).tocsc()
                c_lo = np.r_[c_lo, np.full(2 * k, -_hs.kHighsInf)]
                c_hi = np.r_[c_hi, np.minimum(goal_hi[cell], _BIG), -np.maximum(goal_lo[cell], -_BIG)]
                r_lo = np.r_[r_lo, np.full(2 * k, -_hs.kHighsInf)]
                r_hi = np.r_[r_hi, np.zeros(2 * k)]
            lp = _hs.HighsLp()
            lp.num_col_, lp.num_row_ = csc.shape[1], csc.shape[0]
            lp.col_cost_ = np.zeros(csc.shape[1])
            lp.col_lower_, lp.col_upper_ = c_lo, c_hi
            lp.row_lower_, lp.row_upper_ = r_lo, r_hi
            lp.a_matrix_.format_ = _hs.MatrixFormat.kColwise
            lp.a_matrix_.start_ = csc.indptr
            lp.a_matrix_.index_ = csc.indices
            lp.a_matrix_.value_ = csc.data
            h = _highs()
            h.setOptionValue("presolve", "off")  # warm starts: only the costs change between solves
            h.passModel(lp)
            return h, csc.shape[1]

        def run(cost: np.ndarray, aux_cost: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
            """Solve with these costs (full length; `aux_cost` for the capped columns); values (nan
            outside the model, and in batches whose costs are all zero: their last solution is
            still optimal and already seen) and row duals (0 outside)."""
            value = np.full(nc, np.nan)
            dual = np.zeros(nr)
            t_run = time.perf_counter()
            jobs = []
            for h, active_cols, act_rows, n_cols, aux_index in state["model"]:
                full = np.zeros(n_cols)
                full[: active_cols.size] = cost[active_cols]
                if aux_cost is not None:
                    full[active_cols.size :] = aux_cost[aux_index]
                if full.any():
                    jobs.append((h, full, active_cols, act_rows))
            results = cores.map_threads(_solve_batch, jobs)
            iterations = 0
            for (h, _, active_cols, act_rows), (status, sol, its) in zip(jobs, results, strict=True):
                if status != _hs.HighsModelStatus.kOptimal:
                    raise InputError(f"röjandekontroll: LP-lösaren misslyckades ({h.modelStatusToString(status)})")
                iterations += its
                value[active_cols] = np.asarray(sol.col_value)[: active_cols.size]
                dual[act_rows] = np.asarray(sol.row_dual)[: act_rows.size]
            state["n_lp"] += 1
            if _DEBUG:
                print(f"  LP {state['n_lp']}: {state['n_active']} kolumner i {len(state['model'])} delar, "
                      f"{time.perf_counter() - t_run:.1f} s, {iterations} iterationer", file=sys.stderr)
            return value, dual

        req_lo, req_hi = self._required(cols)
        count = ~self.magnitude[cols]
        zero_from = self.zero_from[cols]
        seen_lo, seen_hi = np.full(nc, np.inf), np.full(nc, -np.inf)
        done = np.zeros(nc, dtype=bool)  # exact interval known
        # How far the capped LPs push each cell: its required ends, else (cells that are not
        # sensitive but must not be narrow) its true value plus and minus the minimal width.
        goal_lo, goal_hi = req_lo.copy(), req_hi.copy()
        if self.truth is not None:  # the true table is one the intruder cannot rule out
            seen_lo = seen_hi = np.nan_to_num(self.truth[cols])
            width = np.where(count, self.rules.skyddsmarginal, self.rules.dagar_minsta_marginal)
            v = np.nan_to_num(self.truth[cols])
            goal_hi = np.where(np.isfinite(req_hi), req_hi, v + width)
            goal_lo = np.where(np.isfinite(req_lo), req_lo, np.maximum(v - width, 0.0))

        # A narrow interval only matters for a count that may be below N: one whose interval
        # reaches below N while narrower than p holds at most N + p - 2 (its true value is inside).
        if self.truth is not None:
            may_be_small = ~count | (np.nan_to_num(self.truth[cols]) < self.n + self.rules.skyddsmarginal - 1)
        else:
            may_be_small = np.ones(nc, dtype=bool)

        def settled_now() -> np.ndarray:
            s_lo, s_hi = np.ceil(seen_lo - _EPS), np.floor(seen_hi + _EPS)
            settled = (s_hi >= req_hi - _EPS) & (s_lo <= req_lo + _EPS)
            wide = np.where(count, s_hi - s_lo >= self.rules.skyddsmarginal, s_hi - s_lo >= self.rules.dagar_minsta_marginal)
            return settled & (wide | ~may_be_small)

        # Protecting, round after round: a component with no cell that was known in the last round
        # is the same component with the same published neighbours, so what was proved holds.
        memo = self._memo if (self.truth is not None and not exact) else None
        reuse = np.zeros(nc, dtype=bool)
        if memo is not None and nc:
            dirty = np.zeros(ids.size, dtype=bool)
            dirty[comp_col[~memo["unknown"][cols]]] = True
            reuse = ~dirty[comp_col]
            seen_lo = np.where(reuse, memo["lo"][cols], seen_lo)
            seen_hi = np.where(reuse, memo["hi"][cols], seen_hi)
            done[reuse] = memo["done"][cols[reuse]]

        def remember() -> None:
            if self.truth is not None and not exact:
                unknown = np.zeros(self.size, dtype=bool)
                unknown[cols] = True
                lo_c, hi_c, done_c = np.full(self.size, np.nan), np.full(self.size, np.nan), np.zeros(self.size, dtype=bool)
                lo_c[cols], hi_c[cols], done_c[cols] = seen_lo, seen_hi, done
                self._memo = {"unknown": unknown, "lo": lo_c, "hi": hi_c, "done": done_c}

        if nc and not reuse.all():
            build(np.flatnonzero(~reuse))
            # Every cell that still lacks a proof up at once, then down (a cell that needs nothing,
            # e.g. a large count protected by no rule, would only cost pivots).
            lacking = ~settled_now()
            for sense in (-1.0, 1.0):
                value, _ = run(np.where(lacking, sense, 0.0))
                seen_lo, seen_hi = np.fmin(seen_lo, value), np.fmax(seen_hi, value)
        dual = np.zeros(nr)
        if nc:
            todo = ~settled_now()
            if not exact and self.truth is not None and todo.any():
                # Feasible tables certify many cells at once: maximise, over the unsettled cells,
                # how far each gets towards its required end (capped there, so that a cell that
                # has gone far enough stops competing with its neighbours), up and then down,
                # until that stops settling cells.
                active = np.flatnonzero(np.isin(comp_col, np.unique(comp_col[todo])))
                pos = np.full(nc, -1, dtype=np.int64)
                pos[active] = np.arange(active.size)
                capped = np.flatnonzero(todo)
                build(active, pos[capped])
                k = capped.size
                for _ in range(_MAX_PUSHES):
                    before = int((~settled_now()).sum())
                    for side in (0, 1):
                        s_lo, s_hi = np.ceil(seen_lo - _EPS), np.floor(seen_hi + _EPS)
                        lacks = (s_hi[capped] < goal_hi[capped] - _EPS) if side == 0 else (s_lo[capped] > goal_lo[capped] + _EPS)
                        lacks &= ~settled_now()[capped]
                        if not lacks.any():
                            continue
                        aux = np.zeros(2 * k)
                        aux[side * k + np.flatnonzero(lacks)] = -1.0
                        value, _ = run(np.zeros(nc), aux)
                        seen_lo, seen_hi = np.fmin(seen_lo, value), np.fmax(seen_hi, value)
                    after = int((~settled_now()).sum())
                    if after == 0 or after > 0.9 * before:
                        break
            # Without true values: push a random half of the unsettled cells, each the way it
            # still lacks (cells tied by one equation would cancel each other if all were pushed
            # together), until that stops settling cells.
            rng = np.random.default_rng(17)
            stalls = 0
            for _ in range(_MAX_PUSHES if self.truth is None else 0):
                todo = ~settled_now()
                if exact or todo.sum() < 4 or stalls >= 3:
                    break
                s_lo, s_hi = np.ceil(seen_lo - _EPS), np.floor(seen_hi + _EPS)
                cost = np.where(todo & (s_hi < req_hi - _EPS), -1.0, np.where(todo & (s_lo > req_lo + _EPS), 1.0, 0.0))
                cost[todo & (cost == 0)] = -1.0  # too narrow: widen upwards
                cost *= (rng.random(nc) < 0.5) * rng.uniform(1.0, 2.0, nc)
                value, dual = run(cost)
                seen_lo, seen_hi = np.fmin(seen_lo, value), np.fmax(seen_hi, value)
                stalls = stalls + 1 if (~settled_now()).sum() > 0.95 * todo.sum() else 0
        todo = ~settled_now()
        if _DEBUG:
            per = np.bincount(comp_col[todo], minlength=ids.size) if nc else np.zeros(1, dtype=np.int64)
            print(f"granska: {ids.size} komponenter (störst {np.bincount(comp_col).max() if nc else 0}), "
                  f"{int(todo.sum())} av {nc} utan bevis efter {state['n_lp']} LP, högst {per.max()} per komponent, "
                  f"i {int((per > 0).sum())} komponenter", file=sys.stderr)
        most = np.bincount(comp_col[todo]).max(initial=0) if nc else 0
        if not exact and self.truth is not None and most > _MAX_SINGLE:
            # Too many cells without a certificate to bound each on its own: protecting, each of
            # them counts as a violation and gets a cheap published neighbour suppressed.
            lo[cols], hi[cols] = seen_lo, seen_hi
            self.last_exact = np.zeros(self.size, dtype=bool)
            remember()
            t = np.flatnonzero(todo)
            return state["n_lp"], self._by_duals(cols[t], comp_col[t], rows, comp_row, dual, published)
        fixes = []
        for _ in range(nc + 1):
            settled = settled_now()
            todo = np.flatnonzero(~done & (exact | ~settled))
            if todo.size == 0:
                break
            # One cell per component: the first still to do.
            active = np.flatnonzero(np.isin(comp_col, np.unique(comp_col[todo])))
            if active.size < 0.7 * state["n_active"]:
                build(active)
            order = todo[np.argsort(comp_col[todo], kind="stable")]
            here = order[np.r_[True, comp_col[order][1:] != comp_col[order][:-1]]]
            got = {}
            for sense in (-1.0, 1.0):
                cost = np.zeros(nc)
                cost[here] = sense
                got[sense] = run(cost)
                seen_lo, seen_hi = np.fmin(seen_lo, got[sense][0]), np.fmax(seen_hi, got[sense][0])
            lo_here, hi_here = got[1.0][0][here], got[-1.0][0][here]
            seen_lo[here], seen_hi[here] = lo_here, hi_here
            done[here] = True
            lo_r, hi_r = np.ceil(lo_here - _EPS), np.floor(hi_here + _EPS)
            up_fail = hi_r < req_hi[here] - _EPS
            down_fail = lo_r > req_lo[here] + _EPS
            c = count[here]
            narrow = np.where(c, (lo_r < self.n) & (hi_r >= zero_from[here]) & (hi_r - lo_r < self.rules.skyddsmarginal),
                              hi_r - lo_r < self.rules.dagar_minsta_marginal)
            up_fail |= narrow
            for fail, sense in ((up_fail, -1.0), (down_fail & ~up_fail, 1.0)):
                if fail.any():
                    fixes.append(self._by_duals(cols[here[fail]], comp_col[here[fail]], rows, comp_row,
                                                got[sense][1], published))
        lo[cols], hi[cols] = seen_lo, seen_hi
        self.last_exact = np.zeros(self.size, dtype=bool)
        self.last_exact[cols[done]] = True
        remember()
        return state["n_lp"], (np.concatenate(fixes) if fixes else np.zeros(0, dtype=np.int64))

    def _required(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per LP column: the interval the intruder's bounds must reach (lo at most, hi at least)."""
        n, r = self.n, self.rules
        req_lo = np.full(cols.size, np.inf)
        req_hi = np.full(cols.size, -np.inf)
        count = ~self.magnitude[cols]
        # Without true values: whatever may be small must keep a width of p; enforced on the high side
        # (the repair suppresses what caps the maximum), checked exactly in _violations.
        if self.truth is not None:
            v = self.truth[cols]
            behind = self._behind()[cols]
            storst = self.storst[cols] if self.storst is not None else np.zeros(cols.size)
            sens = (count & (behind < n) & (v >= self.zero_from[cols])) | (
                ~count & ((behind < n) | (storst > r.dominans_k * v)))
            d = np.where(count, r.skyddsmarginal, np.maximum(storst / r.dominans_k - v, r.dagar_minsta_marginal))
            req_lo = np.where(sens, np.maximum(self.zero_from[cols], v - d), req_lo)
            req_hi = np.where(sens, v + d, req_hi)
        return req_lo, req_hi

    def _sibling_room(self, cells: np.ndarray, published: np.ndarray) -> np.ndarray:
        """For each hidden group that violates (a remainder such as persons without a known
        dwelling, mostly 0): it can only move up if a sibling area's same group moves down, and a
        sibling can move only if its own group is open. Per cell: among its siblings whose group
        holds at least the protection level, the cheapest published cell of that sibling's own
        partitions (suppressing it opens the sibling's group)."""
        if cells.size == 0:
            return np.zeros(0, dtype=np.int64)
        assert self.truth is not None
        if not hasattr(self, "_eq_csc"):
            self._eq_csc = self.eq.tocsc()
        csc, eq, truth, room = self._eq_csc, self.eq, self.truth, self.rules.skyddsmarginal

        def opener(cell: int, depth: int) -> np.ndarray:
            """Published cells whose suppression lets this group move: in its own partitions; when
            those are hidden already, in the partitions of its sub-areas that have room (a group is
            the sum of its sub-areas' groups)."""
            rows_c = csc.indices[csc.indptr[cell] : csc.indptr[cell + 1]]
            coef_c = csc.data[csc.indptr[cell] : csc.indptr[cell + 1]]
            own = rows_c[rows_c < self.n_partition_rows]
            near = np.unique(np.concatenate([eq.indices[eq.indptr[r] : eq.indptr[r + 1]] for r in own])) \
                if own.size else np.zeros(0, dtype=np.int64)
            near = near[published[near]]
            if near.size or depth == 0:
                return near
            found = [np.zeros(0, dtype=np.int64)]
            for row in rows_c[(rows_c >= self.n_partition_rows) & (coef_c > 0)]:  # cell as the parent
                kids = eq.indices[eq.indptr[row] : eq.indptr[row + 1]][eq.data[eq.indptr[row] : eq.indptr[row + 1]] < 0]
                for kid in kids[np.nan_to_num(truth[kids]) >= room]:
                    found.append(opener(int(kid), depth - 1))
            return np.concatenate(found)

        out = []
        for t in cells:  # the violations only: few
            lo_i, hi_i = csc.indptr[t], csc.indptr[t + 1]
            rows, coef = csc.indices[lo_i:hi_i], csc.data[lo_i:hi_i]
            best, best_cost = -1, np.inf
            for row in rows[(rows >= self.n_partition_rows) & (coef < 0)]:  # the hierarchy: t as a child
                members = eq.indices[eq.indptr[row] : eq.indptr[row + 1]]
                signs = eq.data[eq.indptr[row] : eq.indptr[row + 1]]
                siblings = members[(signs < 0) & (members != t)]
                siblings = siblings[np.nan_to_num(truth[siblings]) >= room]
                for sib in siblings:
                    near = opener(int(sib), 2)
                    if near.size and self.cost[near].min() < best_cost:
                        best, best_cost = int(near[np.argmin(self.cost[near])]), float(self.cost[near].min())
            if best >= 0:
                out.append(best)
        return np.array(out, dtype=np.int64)

    def _by_duals(self, targets, comps, rows, comp_row, dual, published) -> np.ndarray:
        """Per failing cell: a published cell whose value limits the optimum (row duals), in the
        cell's own equations if one is, else anywhere in its component; the cheapest of those.
        Without a limiting cell: the cheapest published cell of its own equations, else of its component.
        (`escalate` cells per failing cell, in that order.)"""
        if not hasattr(self, "_a_csc"):
            self._a_csc = self.a.tocsc()
        limiting = np.abs(np.asarray(self.a[rows].T @ dual).ravel()) > 1e-9
        order = np.argsort(comp_row, kind="stable")
        starts = np.searchsorted(comp_row[order], comps, side="left")
        ends = np.searchsorted(comp_row[order], comps, side="right")
        ranked: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # per component: its published cells, limiting / not, by cost
        k = self.escalate
        out = []
        for t, comp, lo_i, hi_i in zip(targets, comps, starts, ends, strict=True):  # the violations only
            own = self._a_csc.indices[self._a_csc.indptr[t] : self._a_csc.indptr[t + 1]]
            near = np.unique(self.a[own].indices)
            pub = near[published[near]]
            pub = pub[np.argsort(self.cost[pub], kind="stable")]
            if limiting[pub].any():  # in its own equations: the limiting ones first
                out.extend(np.r_[pub[limiting[pub]], pub[~limiting[pub]]][:k])
                continue
            if comp not in ranked:  # once per component, however many of its cells fail
                members = np.unique(self.a[rows[order[lo_i:hi_i]]].indices)
                members = members[published[members]]
                members = members[np.argsort(self.cost[members], kind="stable")]
                ranked[comp] = (members[limiting[members]], members[~limiting[members]])
            lim, rest = ranked[comp]
            # Limiting cells of the component, then its own equations' cells, then the component's others.
            rest = rest[: k + near.size]
            out.extend(np.r_[lim[:k], pub, rest[~np.isin(rest, near)]][:k])
        return np.array(out, dtype=np.int64)


def audit(cells: pl.DataFrame, *, edges: pl.DataFrame, partitions, min_antal: int, rules: Rules | None = None,
          magnitudes: tuple[Magnitude, ...] = (), exact: bool = False) -> Audit:
    """Audit a table: `cells` has omrade niva period variabel varde (null: suppressed), and optionally
    sant (true values: check the protection levels too), bakom, storst and status."""
    rules = rules or load_rules()
    system = System(cells, edges=edges, partitions=partitions, min_antal=min_antal, rules=rules, magnitudes=magnitudes)
    result, _ = system.audit(exact=exact)
    if len(system.statuses) > 1:
        extra = pl.DataFrame({"omrade": ["*"], "niva": ["*"], "period": ["*"], "variabel": ["status"],
                              "lo": [np.nan], "hi": [np.nan],
                              "skal": [f"flera statuskoder ({', '.join(sorted(system.statuses))}) avslöjar storleken"]})
        result.violations = pl.concat([result.violations, extra.cast(result.violations.schema)])
    return result


# ---- protection that passes the audit -----------------------------------------------------------
@dataclass
class Protection:
    """The protected cells and how they were reached (for aggregera's summary; never published).

    `audit` is None when the intruder's audit was not run (`protect(..., granska=False)`):
    then only the linear protection of microdata.disclosure holds.
    """

    # The input with varde null where suppressed, status (skyddad or null), skal (local only: primar,
    # sekundar, or niva for the cells of a level that is not published; `published` leaves those out).
    cells: pl.DataFrame
    audit: Audit | None
    rounds: int
    n_lp: int
    seconds_first: float  # primary suppression and the first guess (or the linear protection)
    seconds_audit: float
    withheld: tuple[str, ...] = ()  # levels not published at all (rules.hogsta_primarandel), finest first
    rules: Rules = Rules()

    @property
    def published(self) -> pl.DataFrame:
        """What may be published: the cells without the levels that are withheld, and without `skal`."""
        return self.cells.filter(~pl.col("niva").is_in(list(self.withheld))).drop("skal")


def protect(cells: pl.DataFrame, *, edges: pl.DataFrame, partitions, min_antal: int, rules: Rules | None = None,
            magnitudes: tuple[Magnitude, ...] = (), max_rounds: int = 100, granska: bool = True) -> Protection:
    """Suppress until the intruder's audit passes.

    0. a finest level where more than rules.hogsta_primarandel of the figures are below N is
       not published at all (finest first; `Protection.withheld`);
    1. primary suppression: every count below N persons, every sum of days with fewer than
       N persons behind it or dominated by one person (rules.dominans_k);
    2. a first guess at the secondary suppression, equation by equation (`System.presuppress`:
       every equation leaves room for its sensitive cells to move by their protection level);
    3. rounds of audit -> suppress, for each violating cell, the cheapest published cell
       (fewest persons) that limits the intruder's interval (LP duals), and for a hidden group
       without room one that opens a sibling with room, until nothing violates.

    Every suppressed cell gets the one status `skyddad`; column `skal` (primar, sekundar,
    niva) is for a local log only.

    With `granska=False` the protection is the linear one of microdata.disclosure instead
    (primary suppression, and secondary suppression so that no protected figure is
    computable exactly by equations; intervals are not checked): what the synthetic store
    and `aggregera --utan-granskning` use; not for publishing.
    """
    rules = rules or load_rules()
    t0 = time.perf_counter()
    if "storst" not in cells.columns:
        cells = cells.with_columns(storst=pl.lit(None, dtype=pl.Float64))
    if not granska:
        mags = {g.name for g in magnitudes}
        dominated = pl.col("variabel").is_in(list(mags)) & (pl.col("storst") > rules.dominans_k * pl.col("varde"))
        first = cells.with_columns(bakom=pl.when(dominated).then(0.0).otherwise(pl.coalesce("bakom", "varde")))
        names = set(cells["variabel"].unique().to_list())
        top = cells.filter(pl.col("niva") == _top_level(cells["niva"].unique().to_list()))
        wide = top.pivot(on="variabel", index=["omrade", "niva", "period"], values="varde")
        linear = [_known_remainder(p, wide) for p in partitions if {p.total, *p.parts} <= names]
        primary, hidden = (pl.lit(pl.Series(x)) for x in disclosure.suppression(
            first.drop("storst"), edges=edges, partitions=linear, min_antal=min_antal))
        done = cells.with_columns(
            varde=pl.when(hidden).then(None).otherwise(pl.col("varde")),
            status=pl.when(hidden).then(pl.lit(SKYDDAD)).otherwise(pl.lit(None, dtype=pl.String)),
            skal=pl.when(primary).then(pl.lit("primar")).when(hidden).then(pl.lit("sekundar"))
            .otherwise(pl.lit(None, dtype=pl.String)),
        )
        return Protection(done, None, 0, 0, time.perf_counter() - t0, 0.0, rules=rules)
    if min_antal < 1:
        raise InputError(f"röjandekontroll: min_antal måste vara minst 1, inte {min_antal}")
    cells = cells.with_row_index("_rad")
    everything = cells

    def build(cells: pl.DataFrame, edges: pl.DataFrame) -> System:
        return System(cells.rename({"varde": "sant"}).with_columns(varde=pl.col("sant")), edges=edges,
                      partitions=partitions, min_antal=min_antal, rules=rules, magnitudes=magnitudes)

    system = build(cells, edges)
    need = system.need()
    withheld = _withheld_levels(system, need, rules.hogsta_primarandel)
    primary_everywhere = ((need > 0) & ~system.hidden)[system.ids]
    if withheld:
        # A finest level with too many figures below N is not published at all (no rows). The intruder
        # knows only that its areas sum to the levels above, which any non-negative table below
        # does: it adds nothing to audit.
        cells = cells.filter(~pl.col("niva").is_in(withheld))
        edges = edges.filter(~pl.col("barn_niva").is_in(withheld))
        if cells.is_empty():  # nothing is published: nothing to audit, and nothing for the intruder
            nothing = Audit(pl.DataFrame(), pl.DataFrame(), 0, 0.0)
            return Protection(_with_status(everything, np.ones(everything.height, dtype=bool), primary_everywhere, withheld),
                              nothing, 0, 0, time.perf_counter() - t0, 0.0, withheld, rules)
        system = build(cells, edges)
        need = system.need()
    assert system.truth is not None
    truth = system.truth
    primary_cells = (need > 0) & ~system.hidden
    suppressed = primary_cells.copy()
    system.sweeps = system.presuppress(suppressed, need)
    if _DEBUG:
        print(f"primärt {int(primary_cells.sum())}, efter första gissningen {int(suppressed.sum())} "
              f"({system.sweeps} svep, {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    seconds_first = time.perf_counter() - t0
    t1 = time.perf_counter()
    n_lp = 0
    last = np.inf
    for rounds in range(1, max_rounds + 1):  # noqa: B007
        result, fix = system.audit(suppressed)
        n_lp += result.n_lp
        if _DEBUG:
            print(f"varv {rounds}: {result.violations.height} brister, {result.n_lp} LP, {result.seconds:.1f} s, "
                  f"{int(suppressed.sum())} dolda", file=sys.stderr)
            if not result.ok:
                print(result.violations.group_by("variabel", "niva", "skal").len().sort("len", descending=True).head(8),
                      file=sys.stderr)
        if result.ok:
            break
        fix = fix[~suppressed[fix]]
        if fix.size == 0:
            raise InputError(f"röjandekontroll: kan inte skydda tabellen: {result.message()}")
        suppressed[fix] = True
        need[fix] = np.maximum(need[fix], np.minimum(rules.skyddsmarginal, np.nan_to_num(truth[fix])))
        changed = np.zeros(system.size, dtype=bool)
        changed[fix] = True
        system.presuppress(suppressed, need, changed)
        if result.violations.height >= last:  # no progress: suppress more per violation from now on
            system.escalate *= 2
        last = result.violations.height
    else:
        raise InputError(f"röjandekontroll: skyddet blev inte klart på {max_rounds} varv: {result.message()}")
    hidden = suppressed[system.ids]
    primary = primary_cells[system.ids]
    order = cells["_rad"].to_numpy()
    hidden_all, primary_all = np.ones(everything.height, dtype=bool), primary_everywhere.copy()
    hidden_all[order], primary_all[order] = hidden, primary
    return Protection(_with_status(everything, hidden_all, primary_all, withheld), result, rounds, n_lp, seconds_first,
                      time.perf_counter() - t1, withheld, rules)


def _with_status(cells: pl.DataFrame, hidden: np.ndarray, primary: np.ndarray, withheld: tuple[str, ...]) -> pl.DataFrame:
    """The cells (with row index `_rad`) with varde null where hidden, one status, and the local reason
    (primar, sekundar, or niva: the rest of a level that is not published)."""
    level = pl.col("niva").is_in(list(withheld))
    return cells.drop("_rad").with_columns(
        varde=pl.when(pl.Series(hidden)).then(None).otherwise(pl.col("varde")),
        status=pl.when(pl.Series(hidden)).then(pl.lit(SKYDDAD)).otherwise(pl.lit(None, dtype=pl.String)),
        skal=pl.when(pl.Series(primary)).then(pl.lit("primar")).when(level).then(pl.lit("niva"))
        .when(pl.Series(hidden)).then(pl.lit("sekundar")).otherwise(pl.lit(None, dtype=pl.String)),
    )


def _withheld_levels(system: System, need: np.ndarray, max_share: float) -> tuple[str, ...]:
    """The finest levels, in order, where more than `max_share` of the published cells are below N
    (primary): such a level is mostly empty and would cost the most to protect."""
    published = system.exists & ~system.hidden
    level = system.areas["niva"].to_numpy()[np.arange(system.size) // system.m]
    out: list[str] = []
    for name in [lv for lv in _LEVEL_ORDER if lv in set(level.tolist())]:
        here = published & (level == name)
        if not here.any() or (need[here] > 0).mean() <= max_share:
            break
        out.append(name)
    return tuple(out)


def _known_remainder(p: Partition, wide: pl.DataFrame) -> Partition:
    """The partition without its remainder when that is zero in every area of the top level (so known everywhere).

    `wide`: the cells of the table's top level, a column per variable (a few rows: the check reads nothing else).
    """
    if p.dold is None:
        return p
    wide = wide.select(*(v for v in (p.total, *p.parts) if v in wide.columns))
    if wide.is_empty() or any(v not in wide.columns for v in (p.total, *p.parts)):
        return p
    rest = wide[p.total] - sum(wide[x] for x in p.parts)
    if (rest == 0).all():
        return Partition(p.total, p.parts)
    return p


_LEVEL_ORDER = ("deso", "regso", "kommun", "lan", "riket")


def _top_level(levels: list[str]) -> str:
    known = [lv for lv in _LEVEL_ORDER if lv in levels]
    return known[-1] if known else levels[0]
