"""The Kolada side of the fake API: v3 endpoints with paging, over synthetic values.

Municipalities are the 290 real kommun codes (type K), 21 regions (00LL, type L) and
the country (0000). Values are made up but deterministic; some rows are absent and some
values null, as in Kolada. `style = "v2"` answers with v2's next_page and a per-page count.
"""

from __future__ import annotations

import csv
from pathlib import Path
from urllib.parse import urlencode

from .common import Fault, Reply, json_reply, problem

YEARS = [str(y) for y in range(2015, 2025)]


class FakeKolada:
    def __init__(self, data_dir: Path):
        with (data_dir / "kommuner.csv").open(encoding="utf-8") as fh:
            kommuner = [(r["Kommun"], r["Kommunnamn"]) for r in csv.DictReader(fh)]
        lan = sorted({k[:2] for k, _ in kommuner})
        self.municipalities = (
            [{"id": "0000", "title": "Riket", "type": "L"}]
            + [{"id": f"00{ll}", "title": f"Region {ll}", "type": "L"} for ll in lan]
            + [{"id": k, "title": n, "type": "K"} for k, n in kommuner]
        )
        self.kpis = [
            {"id": f"N{i:05d}", "title": f"Testnyckeltal {i}", "description": "Syntetiskt nyckeltal för test",
             "is_divided_by_gender": i % 2 == 0, "municipality_type": "K", "operating_area": "Test"}
            for i in range(1, 41)
        ]
        self.kpis.append({"id": "N01951", "title": "Invånare totalt, antal", "description": "Syntetiskt",
                          "is_divided_by_gender": True, "municipality_type": "K", "operating_area": "Befolkning"})
        # The catalogue's context KPIs (katalog.toml), with made-up values like the rest.
        self.kpis += [{"id": i, "title": t, "description": "Syntetiskt", "is_divided_by_gender": False,
                       "municipality_type": "K", "operating_area": "Test"}
                      for i, t in (("N31816", "Vuxna med långvarigt ekonomiskt bistånd, andel (%)"),
                                   ("N02797", "Unga 16-24 år som varken arbetar eller studerar, andel (%)"))]
        self.style = "v3"
        self.empty_years: set[str] = set()  # years for which the data endpoints answer nothing
        self.deleted: set[str] = set()  # municipalities whose values come back with isdeleted: true

    def handle(self, method: str, path: str, query: list, fault: Fault | None, base: str) -> Reply:
        if method != "GET":
            return problem(405, "Method not allowed")
        q = dict(query)
        parts = [p for p in path.split("/") if p]
        for p in parts:
            if len(p.split(",")) > 25:
                return problem(400, "Too many ids", "At most 25 ids per list")
        if parts[:1] == ["kpi"]:
            rows = self._filter(self.kpis, parts[1:], q.get("title"))
        elif parts[:1] == ["municipality"]:
            rows = self._filter(self.municipalities, parts[1:], q.get("title"))
        elif parts[:1] == ["data"]:
            dims = dict(zip(parts[1::2], parts[2::2], strict=False))
            if len(dims) < 2 or not set(dims) <= {"kpi", "municipality", "year"}:
                return problem(404, "Not found")
            rows = self._data(dims)
        else:
            return problem(404, "Not found")
        return self._page(rows, path, q, fault, base)

    @staticmethod
    def _filter(rows: list[dict], ids: list[str], title: str | None) -> list[dict]:
        if ids:
            wanted = ids[0].split(",")
            rows = [r for r in rows if r["id"] in wanted]
        if title:
            rows = [r for r in rows if title.lower() in r["title"].lower()]
        return rows

    def _data(self, dims: dict[str, str]) -> list[dict]:
        known = {k["id"]: k for k in self.kpis}
        kpis = [k for k in dims.get("kpi", ",".join(known)).split(",") if k in known]
        munis = dims.get("municipality", ",".join(m["id"] for m in self.municipalities)).split(",")
        years = dims.get("year", ",".join(YEARS)).split(",")
        rows = []
        for kpi in kpis:
            genders = ["T", "K", "M"] if known[kpi]["is_divided_by_gender"] else ["T"]
            for m in munis:
                for y in years:
                    if not m.isdigit() or y not in YEARS or y in self.empty_years or (m.endswith("9") and y == "2019"):
                        continue  # no row at all: Kolada has no figure
                    seed = int(m) * 31 + int(y) * 7 + int(kpi[1:]) * 13
                    values = []
                    for g, gender in enumerate(genders):
                        value = None if (int(m) + int(y) + g) % 29 == 0 else round(((seed + g) % 1000) / 10, 1)
                        values.append({"gender": gender, "status": "", "value": value, "count": 1,
                                       "isdeleted": m in self.deleted})
                    rows.append({"kpi": kpi, "municipality": m, "period": int(y), "values": values})
        return rows

    def _page(self, rows: list[dict], path: str, q: dict, fault: Fault | None, base: str) -> Reply:
        per_page = int(q.get("per_page", 5000))
        page = int(q.get("page", 1))
        chunk = rows[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(rows)
        extra = {k: v for k, v in q.items() if k not in ("page", "per_page")}

        def link(n: int) -> str:
            return f"{base}{path}?{urlencode({**extra, 'page': n, 'per_page': per_page})}"

        count = len(rows) if self.style == "v3" else len(chunk)
        if fault is not None and fault.kind == "bad_count":
            count += fault.count
        step = 1
        if fault is not None and fault.kind == "skip_page":
            step, count = 2, len(chunk)
            more = (page + 1) * per_page < len(rows)
        doc: dict = {"count": count, "values": chunk}
        if self.style == "v3":
            doc["next_url"] = link(page + step) if more else None
            doc["previous_url"] = link(page - 1) if page > 1 else None
        else:
            if more:
                doc["next_page"] = link(page + step)
            if page > 1:
                doc["previous_page"] = link(page - 1)
        return json_reply(doc)
