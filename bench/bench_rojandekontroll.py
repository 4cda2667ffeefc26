"""Disclosure control against an intruder (issue 17): aggregation, linear protection and the audited one.

For SYNTETISKA DATA populations (default 150 000 and all 10 521 556 persons; others with
`python bench/bench_rojandekontroll.py 1000000 3000000`) published at every level from the
DeSO up, prints BENCH lines:

* rojandekontroll_aggregering_<n>: persons -> counts for every level (DuckDB);
* rojandekontroll_granskat_<n>: the protection that `aggregera` runs (primary suppression,
  levels withheld, the first guess, rounds of audit -> suppress), beside the aggregation's time
  (ratio = aggregation / protection; the linear protection of microdata.disclosure is no
  baseline here: at 150 000 persons on every level it takes minutes);
* rojandekontroll_granskning_<n>: the audit rounds' part of it;
* rojandekontroll_lp_<n> and rojandekontroll_varv_<n>: the LPs solved and the rounds, and
  rojandekontroll_dolda_<n>: the share of published-level cells suppressed.

The audited protection runs in a child process with a time limit (BENCH_GRANSKA_GRANS,
default 900 s); when it does not finish, the line says so instead of a figure. Target
(issue 17): protection plus audit for 10.5 million persons under 60 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import report  # noqa: E402

from utanforskap.microdata import aggregate as ag  # noqa: E402
from utanforskap.microdata import synthetic as sy  # noqa: E402

CHILD = textwrap.dedent(
    """
    import sys, time
    import polars as pl
    from utanforskap.microdata import aggregate as ag
    counts = pl.read_parquet(sys.argv[1])
    t = time.perf_counter()
    _, account = ag.protected_observations(counts, "SYNTETISKA DATA", min_antal=5, granska=True)
    seconds = time.perf_counter() - t
    shown = account.published
    print(seconds, account.seconds_audit, account.n_lp, account.rounds, shown["status"].is_not_null().mean(),
          ",".join(account.withheld) or "-", flush=True)
    """
)


def main(sizes: list[int]) -> None:
    limit = float(os.environ.get("BENCH_GRANSKA_GRANS", "900"))
    for n in sizes:
        persons = sy.draw(n, 2022)
        t0 = time.perf_counter()
        counts, source = ag.count(persons, "deso")
        aggregation = time.perf_counter() - t0
        report(f"rojandekontroll_aggregering_{n}", aggregation, "s")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "antal.parquet"
            counts.write_parquet(path)
            try:
                out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                                     timeout=limit, check=True)
            except subprocess.TimeoutExpired:
                print(f"BENCH rojandekontroll_granskat_{n} ej klar inom {limit:.0f} s", flush=True)
                continue
            except subprocess.CalledProcessError as exc:
                print(f"BENCH rojandekontroll_granskat_{n} misslyckades: {exc.stderr.strip().splitlines()[-1:]}",
                      flush=True)
                continue
        seconds, audit_seconds, n_lp, rounds, hidden, withheld = out.stdout.split()
        report(f"rojandekontroll_granskat_{n}", float(seconds), "s", baseline=aggregation,
               goal="< 60 s" if n >= 10_000_000 else None)
        report(f"rojandekontroll_granskning_{n}", float(audit_seconds), "s")
        report(f"rojandekontroll_lp_{n}", float(n_lp), "LP")
        report(f"rojandekontroll_varv_{n}", float(rounds), "varv")
        report(f"rojandekontroll_dolda_{n}", 100 * float(hidden), "%")
        if withheld != "-":
            print(f"# {n} personer: nivåerna {withheld} publiceras inte (hogsta_primarandel)", flush=True)


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [150_000, 10_521_556])
