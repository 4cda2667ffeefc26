"""The follow-up for a running application (the web app, the reports): computed once, lazily,
over every year the data allow, with the real open series beside it.

    svc = FollowUpService(method, source)
    svc.years()                      # years of the map (>= 2, or [] when the data have one)
    svc.changes(2019, 2024)          # the list's entries and exits between two years
    svc.area_series("0180R024")      # one area's values, flags and class per year
"""

from __future__ import annotations

import threading

import polars as pl

from utanforskap.datasets import DataSource
from utanforskap.errors import InputError, UtanforskapError
from utanforskap.followup import open_series
from utanforskap.followup import series as s
from utanforskap.methods import loader


def usable_years(loaded: loader.LoadedMethod, source: DataSource) -> list[int]:
    """The years in which every input of the method exists (with its declared offsets)."""
    skip = {"kommun_kod", "kommun_namn", "lan_kod", "lan_namn", "regso_kod", "regso_namn"}
    specs = {n: sp for n, sp in loaded.method.indata.items() if not (sp.typ == "text" and n in skip)}
    have = s._input_years(source.store, sorted({sp.variabel or n for n, sp in specs.items()} | {"befolkning"}))
    candidates = sorted(set().union(*have.values())) if have else []
    return [
        y for y in candidates
        if y in have.get("befolkning", set())
        and all(all(y + off in have.get(sp.variabel or n, set()) for off in sp.perioder) for n, sp in specs.items())
    ]


class FollowUpService:
    def __init__(self, method: str, source: DataSource):
        self.method = method
        self.source = source
        self._lock = threading.Lock()
        self._fu: s.FollowUp | None = None
        self._done = False
        self._crime: pl.DataFrame | None = None
        self._types: pl.DataFrame | None = None
        self.note = ""

    def _ensure(self) -> None:
        if self._done:
            return
        with self._lock:
            if self._done:
                return
            loaded = loader.load(self.method)
            years = usable_years(loaded, self.source)
            if len(years) >= 2:
                self._fu = s.follow_up(self.method, years, self.source)
            else:
                self.note = (
                    f"Kartans alla faktorer finns bara för {s.year_span(years) or 'inga år'} i dessa data; "
                    "följ i stället de verkliga serierna nedan (kriminalitet per år, områdestyp)."
                )
            try:
                self._crime = open_series.crime_flags(self.source.store)
            except UtanforskapError:
                self._crime = None
            try:
                self._types = open_series.area_type_changes(self.source.store)
            except UtanforskapError:
                self._types = None
            self._done = True

    @property
    def follow_up(self) -> s.FollowUp | None:
        self._ensure()
        return self._fu

    def years(self) -> list[int]:
        fu = self.follow_up
        return fu.years if fu else []

    def crime_years(self) -> list[int]:
        self._ensure()
        return sorted(self._crime["ar"].unique().to_list()) if self._crime is not None else []

    def type_years(self) -> list[int]:
        self._ensure()
        if self._types is None:
            return []
        return sorted(set(self._types["fran_ar"].to_list()) | set(self._types["till_ar"].to_list()))

    def all_years(self) -> list[int]:
        return sorted(set(self.years()) | set(self.crime_years()) | set(self.type_years()))

    def breaks(self) -> list[dict]:
        """The declared breaks in the series (data/seriebrott.toml) that the years shown cross:
        id, ar, mellan, beskrivning, galler (False: not for these data, with `anmarkning`)."""
        from utanforskap.followup import breaks as br

        fu = self.follow_up
        if fu is not None:
            crossed = fu.breaks
        else:
            years = self.all_years()
            if len(years) < 2:
                return []
            vint = br.vintage_years(self.source.store, years)
            crossed = br.crossed(br.load(), {open_series.CRIME_VARIABLE, "befolkning", "omradestyp"}, years[0], years[-1], vintages=vint)
        return [{"id": c.brott.id, "ar": c.brott.ar, "mellan": f"{c.brott.ar - 1}–{c.brott.ar}", "beskrivning": c.brott.beskrivning,
                 "galler": c.applies, "anmarkning": c.note} for c in crossed]

    def changes(self, fran: int, till: int) -> dict:
        """Between two years: the list's changes (when the map exists both years), the crime
        flag's changes and områdestyp type-1 changes (when the real series have both years)."""
        if till <= fran:
            raise InputError(f"till ({till}) måste vara efter fran ({fran})")
        known = self.all_years()
        if fran not in known or till not in known:
            raise InputError(f"åren {fran} och {till} finns inte båda i dessa data; år som finns: {s.year_span(known) or 'inga'}")
        out: dict = {"lista": None, "kriminalitet": None, "omradestyp": None}
        fu = self.follow_up
        if fu and fran in fu.years and till in fu.years:
            areas = fu.areas.filter(pl.col("ar").is_in([fran, till]))
            classes = s.karta.classes(fu.maps[fu.years[0]])
            rank = {k: len(classes) - i for i, k in enumerate(classes)}
            out["lista"] = s._changes(areas, fu.factors, rank, fu.thresholds)
        if self._crime is not None and {fran, till} <= set(self.crime_years()):
            c = self._crime.filter(pl.col("ar").is_in([fran, till])).pivot(on="ar", index=["regso_kod", "regso_namn", "kommun_namn"], values="flagga_relativ")
            a, b = pl.col(str(fran)), pl.col(str(till))
            out["kriminalitet"] = c.with_columns(
                andring=pl.when(~a & b).then(pl.lit("in")).when(a & ~b).then(pl.lit("ut"))
            ).filter(pl.col("andring").is_not_null()).select("regso_kod", "regso_namn", "kommun_namn", "andring").sort("regso_kod")
        if self._types is not None and fran in self.type_years() and till in self.type_years():
            t = self._types.filter((pl.col("fran_ar") >= fran) & (pl.col("till_ar") <= till))
            if t.height:
                first = t.filter(pl.col("fran_ar") == fran).select("regso_kod", "regso_namn", "kommun_namn", "typ_fran")
                last = t.filter(pl.col("till_ar") == till).select("regso_kod", "typ_till")
                both = first.join(last, on="regso_kod")
                out["omradestyp"] = both.with_columns(
                    andring=pl.when((pl.col("typ_fran") != 1) & (pl.col("typ_till") == 1)).then(pl.lit("in"))
                    .when((pl.col("typ_fran") == 1) & (pl.col("typ_till") != 1)).then(pl.lit("ut"))
                ).filter(pl.col("andring").is_not_null()).sort("regso_kod")
        return out

    def area_series(self, code: str) -> dict:
        """One area: per year its class, flags and factor values (with each threshold), and the
        real series (crime per 1 000 and its flag; områdestyp)."""
        self._ensure()
        out: dict = {"karta": [], "kriminalitet": [], "omradestyp": [], "seriebrott": self.breaks()}
        fu = self._fu
        if fu is not None:
            rows = fu.areas.filter(pl.col("regso_kod") == code).sort("ar")
            th = {(r["ar"], r["faktor"]): r["grans"] for r in fu.thresholds.iter_rows(named=True)}
            for r in rows.iter_rows(named=True):
                out["karta"].append({
                    "ar": r["ar"], "klass": r["klass"], "antal_flaggor": r.get("antal_flaggor"),
                    "jamforbarhet": r.get("jamforbarhet", "jämförbar"), "seriebrott": r.get("seriebrott") or "",
                    "faktorer": {
                        f.id: {"varde": r.get(f.varde) if f.varde else None, "flagga": None if r.get(f.flagga) is None else bool(r[f.flagga]),
                               "grans": th.get((r["ar"], f.id))}
                        for f in fu.factors
                    },
                })
        if self._crime is not None:
            for r in self._crime.filter(pl.col("regso_kod") == code).sort("ar").iter_rows(named=True):
                out["kriminalitet"].append({
                    "ar": r["ar"], "brott": r["brott"], "brott_per_1000": r["brott_per_1000"], "riket_per_1000": r["riket_per_1000"],
                    "grans_relativ": r["grans_relativ"], "grans_fixerad": r["grans_fixerad"],
                    "flagga_relativ": r["flagga_relativ"], "flagga_fixerad": r["flagga_fixerad"],
                })
        if self._types is not None:
            t = self._types.filter(pl.col("regso_kod") == code).sort("till_ar")
            for i, r in enumerate(t.iter_rows(named=True)):
                if i == 0:
                    out["omradestyp"].append({"ar": r["fran_ar"], "typ": r["typ_fran"]})
                out["omradestyp"].append({"ar": r["till_ar"], "typ": r["typ_till"]})
        return out
