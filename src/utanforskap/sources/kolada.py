"""Client for the Kolada API v3 (https://api.kolada.se/v3), kommun and region key figures.

Lists of ids (KPIs, municipalities, years) are sent at most 25 at a time; longer lists
are split and the answers joined. Every answer is followed page by page (`next_url`,
or v2's `next_page`): each next link must be the same listing's following page
(page n+1, never a jump), every page but the last must be full, and the rows must add
up to `count`. Pages that skip or do not add up, overlapping pages, rows nobody asked
for or malformed rows raise SourceError. Values Kolada marks `isdeleted` are dropped
(they are missing, not values).
Retries, Retry-After, the raw-response cache and offline replay come from
sources/http.py, as for SCB.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import polars as pl

from utanforskap.errors import InputError, SourceError
from utanforskap.observations import schema
from utanforskap.settings import Settings
from utanforskap.sources.http import ServiceClient, short_list

MAX_IDS = 25  # Kolada refuses longer id lists
MAX_PAGES = 10_000
GENDERS = ("T", "K", "M")

_VALUES = pl.List(pl.Struct({"gender": pl.String, "status": pl.String, "value": pl.Float64, "count": pl.Int64,
                             "isdeleted": pl.Boolean}))
_ROW_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {"kpi": pl.String, "municipality": pl.String, "period": pl.String, "values": _VALUES,
               "isdeleted": pl.Boolean}


class KoladaClient(ServiceClient):
    """See the module docstring. Options as for every service client
    (sources.http.ServiceClient): settings, offline, cache_dir, transport, clock, sleep."""

    service = "kolada"
    setting = "UTANFORSKAP_KOLADA_URL"

    def __init__(self, base_url: str | None = None, *, per_page: int | None = None, **options: Any):
        super().__init__(base_url, **options)
        self.per_page = per_page
        self._municipalities: list[dict[str, Any]] | None = None

    @staticmethod
    def default_url(settings: Settings) -> str:
        return settings.kolada_url

    # ---- metadata ------------------------------------------------------------------
    def kpis(self, title: str | None = None, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """KPIs whose title contains `title` (`/kpi?title=`), or those with `ids` (`/kpi/{ids}`)."""
        if ids:
            out = []
            for chunk in _id_chunks(ids):
                out.extend(self._pages(f"kpi/{','.join(chunk)}", [], what=f"Kolada KPI {short_list(chunk)}"))
            return out
        params = [("title", title)] if title else []
        return self._pages("kpi", params, what=f"Kolada KPI-sökning {title!r}")

    def municipalities(self, title: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        """Municipalities and regions (`/municipality`); `kind` 'K' for kommuner, 'L' for regions."""
        if title:
            rows = self._pages("municipality", [("title", title)], what=f"Kolada kommunsökning {title!r}")
        else:
            if self._municipalities is None:
                self._municipalities = self._pages("municipality", [], what="Kolada kommunlista")
            rows = self._municipalities
        bad = [r for r in rows if not isinstance(r, dict) or "id" not in r]
        if bad:
            raise SourceError("Kolada kommunlista: poster utan 'id' i svaret")
        return [r for r in rows if kind is None or r.get("type") == kind]

    # ---- data ----------------------------------------------------------------------
    def data(
        self,
        kpis: str | Sequence[str],
        municipalities: str | Sequence[str] | None = None,
        years: int | str | Sequence[int | str] | None = None,
    ) -> pl.DataFrame:
        """Values as rows: kpi, municipality, period, gender, status, value, count.

        Uses `/data/kpi/{kpi}/municipality/{m}/year/{y}` or the forms without municipality
        or year; each id list is split into pieces of at most 25.
        """
        kpis = _as_list(kpis)
        munis = _as_list(municipalities) if municipalities is not None else None
        yrs = [str(y) for y in _as_list(years)] if years is not None else None
        if not kpis:
            raise InputError("Kolada: ange minst ett nyckeltal")
        if munis is None and yrs is None:
            raise InputError("Kolada: ange kommuner eller år (API:t kräver två av nyckeltal, kommun och år)")
        frames = []
        for k, m, y in itertools.product(_id_chunks(kpis), _chunks(munis), _chunks(yrs)):
            path = f"data/kpi/{','.join(k)}"
            if m is not None:
                path += f"/municipality/{','.join(m)}"
            if y is not None:
                path += f"/year/{','.join(y)}"
            what = f"Kolada data {path}"
            rows = self._pages(path, [], what=what)
            frames.append(_rows(rows, what, kpis=k, municipalities=m, years=y))
        out = pl.concat(frames, how="vertical")
        dup = out.select("kpi", "municipality", "period", "gender").is_duplicated()
        if dup.any():
            row = out.filter(dup).row(0, named=True)
            raise SourceError(
                f"Kolada data: samma värde levererades två gånger ({row['kpi']} {row['municipality']} "
                f"{row['period']} {row['gender']}); sidorna överlappar"
            )
        return out.sort("kpi", "municipality", "period", "gender")

    def observations(
        self,
        kpi: str,
        years: Sequence[int | str],
        *,
        variabel: str,
        kon: str = "T",
        enhet: str | None = None,
        kommuner: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """Observations (level `kommun`) of one KPI for `years`, for every kommun by default."""
        if kon not in GENDERS:
            raise InputError(f"Kolada: okänt kön {kon!r}; använd T, K eller M")
        if kommuner is None:
            kommuner = [str(r["id"]) for r in self.municipalities(kind="K")]
            frame = self.data(kpi, years=years)  # one paged request instead of 12 per 25 kommuner
        else:
            frame = self.data(kpi, kommuner, years)
        frame = frame.filter((pl.col("gender") == kon) & pl.col("municipality").is_in(list(kommuner)))
        suppressed = pl.col("status").fill_null("").str.to_lowercase().str.contains(r"sekretess|undertryck|\.\.")
        status = (
            pl.when(pl.col("value").is_not_null())
            .then(pl.lit(None, dtype=pl.String))
            .when(suppressed)
            .then(pl.lit("undertryckt"))
            .otherwise(pl.lit("saknas"))
        )
        out = frame.select(
            pl.col("municipality").alias("omrade"),
            pl.lit("kommun").alias("niva"),
            pl.col("period"),
            pl.lit(variabel).alias("variabel"),
            pl.lit(None, dtype=pl.Float64).alias("taljare"),
            pl.lit(None, dtype=pl.Float64).alias("namnare"),
            pl.col("value").alias("varde"),
            pl.lit(enhet, dtype=pl.String).alias("enhet"),
            pl.lit(f"Kolada {kpi}").alias("kalla"),
            status.alias("status"),
        )
        return schema.conform(out, f"Kolada {kpi}")

    # ---- paging --------------------------------------------------------------------
    def _pages(self, path: str, params: list[tuple[str, str]], *, what: str) -> list[dict[str, Any]]:
        """All rows of a listing, following next_url/next_page; checked page by page and against `count`."""
        if self.per_page:
            params = [*params, ("per_page", str(self.per_page))]
        rows: list[dict[str, Any]] = []
        pages: list[tuple[object, int]] = []
        url: str | None = path
        listing = urlsplit(self.http.url(path)).path
        page, per_page = 1, self.per_page
        style = "v2"
        while url is not None:
            response = self.http.get(url, params, what=what)
            where = f"{what}: GET {response.url}"
            doc = response.json(where)
            if not isinstance(doc, dict) or not isinstance(doc.get("values"), list):
                raise SourceError(f"{where}: svaret saknar listan 'values'")
            if "next_url" in doc or "previous_url" in doc:
                style = "v3"
            pages.append((doc.get("count"), len(doc["values"])))
            rows.extend(doc["values"])
            nxt = doc.get("next_url") or doc.get("next_page")
            if nxt:
                nxt = self.http.url(self._absolute(str(nxt)))
                number, size = _page_of(nxt, listing, where)
                if number != page + 1:
                    raise SourceError(
                        f"{where}: nästa sida är sida {number} ({nxt}); svaret hoppar över sida {page + 1}"
                        if number > page + 1 else
                        f"{where}: sidorna går i cirkel (nästa sida {nxt} är sida {number}, efter sida {page})"
                    )
                per_page = size or per_page
                if per_page and len(doc["values"]) != per_page:
                    raise SourceError(
                        f"{where}: sida {page} har {len(doc['values'])} poster men sidorna har {per_page}; "
                        "svaret är ofullständigt"
                    )
                if len(pages) >= MAX_PAGES:
                    raise SourceError(f"{where}: fler än {MAX_PAGES} sidor")
                page += 1
                url, params = nxt, []  # the next URL carries its own query
            else:
                url = None
        _check_counts(pages, what, style)
        return rows

    def _absolute(self, url: str) -> str:
        if url.startswith("/"):
            base = urlsplit(self.http.base_url)
            return urlunsplit((base.scheme, base.netloc, url, "", ""))
        return url


def _page_of(url: str, listing: str, where: str) -> tuple[int, int | None]:
    """The page number and page size of a next link, which must be a page of `listing`."""
    parts = urlsplit(url)
    if parts.path.rstrip("/") != listing.rstrip("/"):
        raise SourceError(f"{where}: nästa sida {url} hör till en annan lista än {listing}")
    query = dict(parse_qsl(parts.query))
    page, size = query.get("page", ""), query.get("per_page", "")
    if not page.isdigit():
        raise SourceError(f"{where}: nästa sida {url} saknar sidnummer; sidornas ordning kan inte kontrolleras")
    return int(page), int(size) if size.isdigit() and int(size) > 0 else None


def _check_counts(pages: list[tuple[object, int]], what: str, style: str) -> None:
    """`count` is the total over all pages (v3: next_url) or each page's length (v2: next_page)."""
    counts = [c for c, _ in pages]
    if any(not isinstance(c, int) or isinstance(c, bool) for c in counts):
        raise SourceError(f"{what}: svaret saknar ett giltigt 'count'; sidorna kan inte kontrolleras")
    got = sum(n for _, n in pages)
    per_page = all(c == n for c, n in pages)
    total = len(set(counts)) == 1 and counts[0] == got
    if not (total if style == "v3" else per_page or total):
        meaning = "summan över alla sidor" if style == "v3" else "sidans längd"
        raise SourceError(
            f"{what}: sidorna gav {got} poster ({', '.join(str(n) for _, n in pages)} per sida) "
            f"men 'count' säger {', '.join(str(c) for c in counts)} ({meaning}); svaret är ofullständigt"
        )


def _rows(
    rows: list[dict[str, Any]],
    what: str,
    *,
    kpis: Sequence[str],
    municipalities: Sequence[str] | None,
    years: Sequence[str] | None,
) -> pl.DataFrame:
    """Data rows (one per kpi, municipality, year) exploded to one row per gender."""
    if not rows:
        return pl.DataFrame(schema={"kpi": pl.String, "municipality": pl.String, "period": pl.String,
                                    "gender": pl.String, "status": pl.String, "value": pl.Float64, "count": pl.Int64})
    try:
        frame = pl.DataFrame(rows, schema=_ROW_SCHEMA, strict=False)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as exc:
        raise SourceError(f"{what}: trasiga datarader i svaret ({exc})") from exc
    for col in ("kpi", "municipality", "period", "values"):
        if frame[col].null_count():
            raise SourceError(f"{what}: en datarad saknar {col!r}")
    frame = frame.filter(~pl.col("isdeleted").fill_null(False))  # Kolada withdrew the row
    checks = [("kpi", kpis), ("municipality", municipalities), ("period", years)]
    for col, asked in checks:
        if asked is not None:
            extra = frame.filter(~pl.col(col).is_in(list(asked)))
            if extra.height:
                raise SourceError(f"{what}: svaret innehåller {col} {extra[col][0]!r} som inte begärdes")
    long = frame.drop("isdeleted").explode("values").filter(pl.col("values").is_not_null()).unnest("values")
    long = long.filter(~pl.col("isdeleted").fill_null(False))  # a withdrawn value is missing, not a value
    bad = long.filter(~pl.col("gender").is_in(list(GENDERS)))
    if bad.height:
        raise SourceError(f"{what}: okänt kön {bad['gender'][0]!r} i svaret")
    return long.select("kpi", "municipality", "period", "gender", "status", "value", "count")


def _as_list(value: object) -> list[str]:
    if isinstance(value, (str, int)):
        return [str(value)]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    raise SourceError(f"Kolada: väntade en lista, fick {value!r}")


def _id_chunks(ids: Sequence[str]) -> list[list[str]]:
    """`ids` in chunks of at most MAX_IDS (duplicates dropped)."""
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + MAX_IDS] for i in range(0, len(unique), MAX_IDS)]


def _chunks(ids: Sequence[str] | None) -> Iterable[list[str] | None]:
    """As `_id_chunks`; None (the API's "all") is one chunk of its own."""
    return [None] if ids is None else list(_id_chunks(ids))
