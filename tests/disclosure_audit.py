"""An independent audit of disclosure control: can a protected figure be computed exactly?

Written without microdata.disclosure (no code and no equations shared with it). Every
area has the same base cells: disjoint counts such as "persons aged 16-19 who are
unemployed". Every published figure is a linear functional of its area's base cells (a
0/1 or +-1 combination), and an area's base cells are the sums of its children's
(the hierarchy). A protected figure with functional t in area a can be computed from
the published figures, combining any number of them across areas and categories,
exactly when t lies in the row space of all published functionals. Equivalently: when
t . x_a = 0 for every x in the null space N of the published figures (every way to change
the base cells of all areas consistently without changing a published figure).

`recoverable` computes, for every area, the space T_a = {x_a : x in N} by passing null
spaces along the area tree (exact linear algebra, no sampling):

* bottom-up, S_a = the changes of a's base cells its own subtree allows:
  S_leaf = null(F_leaf); S_p = (sum of S_c over p's children) meet null(F_p);
* top-down, T_root = S_root; T_c = S_c meet (T_p + sum of S_s over c's siblings s).

`recoverable_dense` is the definition itself (one matrix over the leaves' base cells: is
the target in its row space?), for small trees; the tests check that the two agree.

`microdata_problem` states the real configuration of microdata.aggregate in base cells
written out here from the variables' definitions in docs/mikrodata.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

TOL = 1e-8


@dataclass
class Problem:
    """Areas 0..n-1 with parents (-1 for a root), k base cells each, published rows and targets."""

    k: int
    parent: list[int]
    published: list[list[np.ndarray]]  # per area: functionals (length k) of its published figures
    targets: list[tuple[int, np.ndarray, object]] = field(default_factory=list)  # (area, functional, label)


# ---- linear algebra ---------------------------------------------------------------------
def _orth(m: np.ndarray) -> np.ndarray:
    """Orthonormal basis (columns) of the column space of m."""
    if m.shape[1] == 0:
        return m
    u, s, _ = np.linalg.svd(m, full_matrices=False)
    return u[:, : int((s > TOL * max(1.0, s[0] if s.size else 0.0)).sum())]


def _kernel(m: np.ndarray) -> np.ndarray:
    """Orthonormal basis (columns) of {y : m y = 0}."""
    _, s, vt = np.linalg.svd(m, full_matrices=True)
    return vt[int((s > TOL).sum()) :].T


def _null(f: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Orthonormal basis of {q y : f q y = 0} (q orthonormal): the part of range(q) that f does not see."""
    if q.shape[1] == 0 or f.shape[0] == 0:
        return q
    return q @ _kernel(f @ q)


def _meet(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Orthonormal basis of range(q) intersected with range(r) (both orthonormal)."""
    if q.shape[1] == 0 or r.shape[1] == 0:
        return q[:, :0]
    return q @ _kernel(q - r @ (r.T @ q))


def recoverable(problem: Problem) -> list:
    """Labels of the targets that the published figures determine exactly.

    Base cells that no figure links split the problem into independent smaller ones.
    """
    found = []
    for cells in _groups(problem):
        part = Problem(
            len(cells), problem.parent,
            [[f[cells] for f in rows if f[cells].any()] for rows in problem.published],
            [(a, v[cells], label) for a, v, label in problem.targets if v[cells].any()],
        )
        found += _recoverable(part)
    return found


def _groups(problem: Problem) -> list[np.ndarray]:
    """Base cells linked by appearing together in a figure or a target."""
    root = list(range(problem.k))

    def find(i: int) -> int:
        while root[i] != i:
            i = root[i]
        return i

    vectors = [f for rows in problem.published for f in rows] + [v for _, v, _ in problem.targets]
    for support in {tuple(np.flatnonzero(v)) for v in vectors}:
        for x in support[1:]:
            root[find(x)] = find(support[0])
    groups: dict[int, list[int]] = {}
    for i in range(problem.k):
        groups.setdefault(find(i), []).append(i)
    return [np.array(g) for g in groups.values()]


def _recoverable(problem: Problem) -> list:
    n, k = len(problem.parent), problem.k
    children = _children(problem.parent)
    order = _topological(problem.parent, children)
    eye = np.eye(k)
    s: list[np.ndarray] = [eye[:, :0]] * n
    for a in reversed(order):  # children before parents
        below = _orth(np.hstack([s[c] for c in children[a]])) if children[a] else eye
        f = np.array(problem.published[a]).reshape(-1, k)
        s[a] = _null(f, below)
    t: list[np.ndarray] = [eye[:, :0]] * n
    for a in order:  # parents before children
        if problem.parent[a] < 0:
            t[a] = s[a]
        kids = children[a]
        if not kids:
            continue
        # Leave-one-out sums of the siblings' spaces, from prefix and suffix sums.
        prefix = [eye[:, :0]]
        for c in kids:
            prefix.append(_orth(np.hstack([prefix[-1], s[c]])))
        suffix = [eye[:, :0]]
        for c in reversed(kids):
            suffix.append(_orth(np.hstack([suffix[-1], s[c]])))
        suffix.reverse()
        for i, c in enumerate(kids):
            around = _orth(np.hstack([t[a], prefix[i], suffix[i + 1]]))
            t[c] = _meet(s[c], around)
    found = []
    for area, vector, label in problem.targets:
        if np.linalg.norm(vector @ t[area]) <= TOL * max(1.0, np.linalg.norm(vector)):
            found.append(label)
    return found


def _children(parent: list[int]) -> list[list[int]]:
    children: list[list[int]] = [[] for _ in parent]
    for a, p in enumerate(parent):
        if p >= 0:
            children[p].append(a)
    return children


def _topological(parent: list[int], children: list[list[int]]) -> list[int]:
    order = [a for a, p in enumerate(parent) if p < 0]
    i = 0
    while i < len(order):
        order.extend(children[order[i]])
        i += 1
    if len(order) != len(parent):  # pragma: no cover - a cycle in the test's own data
        raise ValueError("the areas do not form a tree")
    return order


def recoverable_dense(problem: Problem) -> list:
    """The definition, for small trees: a target is recoverable iff it lies in the row space of all figures."""
    n, k = len(problem.parent), problem.k
    children = _children(problem.parent)
    leaves = [a for a in range(n) if not children[a]]
    column = {leaf: i for i, leaf in enumerate(leaves)}

    def under(a: int) -> list[int]:
        return [a] if not children[a] else [x for c in children[a] for x in under(c)]

    def spread(a: int, f: np.ndarray) -> np.ndarray:
        row = np.zeros(len(leaves) * k)
        for leaf in under(a):
            row[column[leaf] * k : (column[leaf] + 1) * k] = f
        return row

    rows = [spread(a, f) for a in range(n) for f in problem.published[a]]
    space = _orth(np.array(rows).reshape(-1, len(leaves) * k).T)  # the row space, as columns
    found = []
    for area, vector, label in problem.targets:
        t = spread(area, vector)
        if np.linalg.norm(t - space @ (space.T @ t)) <= TOL * max(1.0, np.linalg.norm(t)):
            found.append(label)
    return found


# ---- the real configuration of microdata.aggregate ---------------------------------------
# Base cells, disjoint within the groups that a variable counts: age groups, and for other
# properties the persons with each value (the value "missing" or "not" is what is left of
# the age group, so it needs no cell of its own).
AGES = ("0_4", "5_9", "10_14", "15", "16_19", "20_24", "25_64", "65+")
WORKING_AGES = ("16_19", "20_24", "25_64")
BASE: tuple[str, ...] = (
    *(f"alder {a}" for a in AGES),
    *(f"{s} {a}" for s in ("sysselsatt", "arbetslos", "utanfor") for a in WORKING_AGES),
    *(f"bistand {a}" for a in ("20_24", "25_64")),
    *(f"utbildning {u}" for u in ("forgymnasial", "gymnasial", "eftergymnasial_kort", "eftergymnasial_lang")),
    *(f"misstankt {a}" for a in ("15", "16_19", "20_24", "25_64", "65+")),
    "bakgrund utlandsk fodd i sverige", "fodd europa", "fodd ovriga varlden",
    "lag standard", "ej lag standard",
    "trangbodd", "ej trangbodd",
    "rostberattigad ej rostat", "rostat",
    "ak9 ej behorig", "ak9 behorig",
    *(f"hushall {h}" for h in ("sammanboende_med_barn", "sammanboende_utan_barn", "ensamstaende_med_barn",
                               "ensamstaende_utan_barn", "ovriga")),
    "ohalsodagar",
)
_INDEX = {b: i for i, b in enumerate(BASE)}


def _f(plus=(), minus=()) -> np.ndarray:
    v = np.zeros(len(BASE))
    for b in plus:
        v[_INDEX[b]] += 1
    for b in minus:
        v[_INDEX[b]] -= 1
    return v


def _ages(*groups: str) -> list[str]:
    return [f"alder {a}" for a in groups]


_ALL = _ages(*AGES)
_FOREIGN = ["bakgrund utlandsk fodd i sverige", "fodd europa", "fodd ovriga varlden"]
_HH = [b for b in BASE if b.startswith("hushall ")]

# Every published variable of microdata.aggregate as its base cells (docs/mikrodata.md, "Variablerna").
FUNCTIONALS: dict[str, np.ndarray] = {
    "befolkning": _f(_ALL),
    "befolkning_0_4": _f(_ages("0_4")),
    "befolkning_5_9": _f(_ages("5_9")),
    "befolkning_10_14": _f(_ages("10_14")),
    "befolkning_15_19": _f(_ages("15", "16_19")),
    "befolkning_20_24": _f(_ages("20_24")),
    "befolkning_0_19": _f(_ages("0_4", "5_9", "10_14", "15", "16_19")),
    "befolkning_15plus": _f(_ages("15", "16_19", "20_24", "25_64", "65+")),
    "befolkning_16_64": _f(_ages(*WORKING_AGES)),
    "befolkning_20_64": _f(_ages("20_24", "25_64")),
    "befolkning_25_64": _f(_ages("25_64")),
    "svensk_bakgrund": _f(_ALL, _FOREIGN),
    "utlandsk_bakgrund": _f(_FOREIGN),
    "befolkning_bakgrund": _f(_ALL),
    "fodda_sverige": _f(_ALL, ["fodd europa", "fodd ovriga varlden"]),
    "fodda_europa_utom_sverige": _f(["fodd europa"]),
    "fodda_ovriga_varlden": _f(["fodd ovriga varlden"]),
    "befolkning_fodelseregion": _f(_ALL),
    "utrikes_fodda": _f(["fodd europa", "fodd ovriga varlden"]),
    "sysselsatta_16_64": _f([f"sysselsatt {a}" for a in WORKING_AGES]),
    "arbetslosa_16_64": _f([f"arbetslos {a}" for a in WORKING_AGES]),
    "utanfor_arbetskraften_16_64": _f([f"utanfor {a}" for a in WORKING_AGES]),
    "arbetskraften_16_64": _f([f"{s} {a}" for s in ("sysselsatt", "arbetslos") for a in WORKING_AGES]),
    "sysselsatta_20_64": _f(["sysselsatt 20_24", "sysselsatt 25_64"]),
    "ekonomiskt_bistand_20_64": _f(["bistand 20_24", "bistand 25_64"]),
    "utb_forgymnasial_25_64": _f(["utbildning forgymnasial"]),
    "utb_gymnasial_25_64": _f(["utbildning gymnasial"]),
    "utb_eftergymnasial_kort_25_64": _f(["utbildning eftergymnasial_kort"]),
    "utb_eftergymnasial_lang_25_64": _f(["utbildning eftergymnasial_lang"]),
    "utb_saknas_25_64": _f(_ages("25_64"), [b for b in BASE if b.startswith("utbildning ")]),
    "lag_ekonomisk_standard": _f(["lag standard"]),
    "personer_ekonomisk_standard": _f(["lag standard", "ej lag standard"]),
    **{f"hushall_{h.removeprefix('hushall ')}": _f([h]) for h in _HH},
    "hushall_med_barn": _f(["hushall sammanboende_med_barn", "hushall ensamstaende_med_barn"]),
    "hushall_totalt": _f(_HH),
    "trangbodda": _f(["trangbodd"]),
    "befolkning_i_bostad": _f(["trangbodd", "ej trangbodd"]),
    "rostande": _f(["rostat"]),
    "rostberattigade": _f(["rostberattigad ej rostat", "rostat"]),
    "elever_ak9": _f(["ak9 ej behorig", "ak9 behorig"]),
    "behoriga_gymnasiet": _f(["ak9 behorig"]),
    "misstankta_brott_15plus": _f([b for b in BASE if b.startswith("misstankt ")]),
    "ohalsodagar_16_64": _f(["ohalsodagar"]),
}

# Groups that are never published but must not be computable when they hold fewer than N
# persons, zero included (docs/mikrodata.md, "Röjandekontroll"): total minus parts.
REMAINDERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "befolkning_65plus": ("befolkning", ("befolkning_0_19", "befolkning_20_64")),
    "befolkning_16_19": ("befolkning_16_64", ("befolkning_20_64",)),
    "utlandsk_bakgrund_fodda_i_sverige": ("utlandsk_bakgrund", ("utrikes_fodda",)),
    "status_saknas_16_64": ("befolkning_16_64", ("sysselsatta_16_64", "arbetslosa_16_64", "utanfor_arbetskraften_16_64")),
    "sysselsatta_16_19": ("sysselsatta_16_64", ("sysselsatta_20_64",)),
    "ej_sysselsatta_20_64": ("befolkning_20_64", ("sysselsatta_20_64",)),
    "utan_bistand_20_64": ("befolkning_20_64", ("ekonomiskt_bistand_20_64",)),
    "ej_lag_ekonomisk_standard": ("personer_ekonomisk_standard", ("lag_ekonomisk_standard",)),
    "utan_ekonomisk_standard": ("befolkning", ("personer_ekonomisk_standard",)),
    "ej_trangbodda": ("befolkning_i_bostad", ("trangbodda",)),
    "utan_kand_bostad": ("befolkning", ("befolkning_i_bostad",)),
    "ej_rostande": ("rostberattigade", ("rostande",)),
    "ej_behoriga_gymnasiet": ("elever_ak9", ("behoriga_gymnasiet",)),
    "ej_misstankta_15plus": ("befolkning_15plus", ("misstankta_brott_15plus",)),
    # Differences of published figures that no partition used to name (issue 17): declared now.
    "befolkning_15": ("befolkning_15_19", ("befolkning_16_19",)),
    "ej_sysselsatta_16_19": ("befolkning_16_19", ("sysselsatta_16_19",)),
}


# ... except these, protected only from 1: their zero says only that a register covers everyone.
COVERAGE = {"status_saknas_16_64", "utan_ekonomisk_standard", "utan_kand_bostad"}

# The labour-market breakdowns by sex and birth region (…_kvinnor, …_man, …_inrikes_fodda,
# …_utrikes_fodda) are outside this checker's base cells: it audits every other variable.
# Their cells are protected by the same partitions (aggregate.PARTITIONS), but this
# independent check does not cover them yet (docs/mikrodata.md says so).
GROUP_SUFFIXES = ("_kvinnor", "_man", "_inrikes_fodda", "_utrikes_fodda")


def modelled(name: str) -> bool:
    """Whether the checker's base cells describe the variable `name`."""
    return not name.endswith(GROUP_SUFFIXES)


def remainder_functional(name: str) -> np.ndarray:
    """Total minus parts; a member may itself be a remainder."""
    total, parts = REMAINDERS[name]

    def f(x: str) -> np.ndarray:
        return FUNCTIONALS[x] if x in FUNCTIONALS else remainder_functional(x)

    return f(total) - sum(f(p) for p in parts)


def _remainder_value(r: dict, name: str) -> float:
    total, parts = REMAINDERS[name]

    def v(x: str) -> float:
        return r[x] if x not in REMAINDERS else _remainder_value(r, x)

    return v(total) - sum(v(p) for p in parts)


def microdata_problem(obs: pl.DataFrame, counts: pl.DataFrame, n: int, geo) -> Problem:
    """The audit of published observations `obs` (from aggregate.to_observations) of raw `counts`.

    Targets: every figure resting on fewer than `n` persons (a count below n; a sum of days
    with fewer than n persons behind it), and every remainder of REMAINDERS below n (from 0,
    or from 1 for COVERAGE). Labels are (omrade, niva, period, name).
    """
    key = ["omrade", "niva", "period"]
    areas = obs.select(key).unique().sort(key)
    aid = {tuple(r): i for i, r in enumerate(areas.iter_rows())}
    parent = [-1] * len(aid)
    levels = [lv for lv in ("deso", "regso", "kommun", "lan", "riket") if lv in set(areas["niva"])]
    for child, up in zip(levels[:-1], levels[1:], strict=True):
        for c, p in geo.mapping(child, up).iter_rows():
            for period in areas["period"].unique():
                if (c, child, period) in aid and (p, up, period) in aid:
                    parent[aid[(c, child, period)]] = aid[(p, up, period)]
    published: list[list[np.ndarray]] = [[] for _ in aid]
    ok = obs.filter(pl.col("status").is_null() & pl.col("variabel").map_elements(modelled, return_dtype=pl.Boolean))
    for r in ok.iter_rows(named=True):
        a = aid[(r["omrade"], r["niva"], r["period"])]
        if r["enhet"] == "andel":  # a share row publishes its numerator and denominator
            published[a].append(FUNCTIONALS[r["variabel"]])
            published[a].append(FUNCTIONALS["personer_ekonomisk_standard"])
        else:
            published[a].append(FUNCTIONALS[r["variabel"]])
    problem = Problem(len(BASE), parent, published)
    raw = counts.with_columns(period=pl.col("ar").cast(pl.String))
    for r in raw.iter_rows(named=True):
        a = aid.get((r["omrade"], r["niva"], r["period"]))
        if a is None:
            continue
        for v, f in FUNCTIONALS.items():
            behind = r["_bakom_ohalsodagar_16_64"] if v == "ohalsodagar_16_64" else r[v]
            if behind < n:
                problem.targets.append((a, f, (r["omrade"], r["niva"], r["period"], v)))
        for name in REMAINDERS:
            rest = _remainder_value(r, name)
            if (name not in COVERAGE or rest >= 1) and rest < n:
                problem.targets.append((a, remainder_functional(name), (r["omrade"], r["niva"], r["period"], name)))
    return problem
