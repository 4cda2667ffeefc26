"""Disclosure control against an intruder (issue 17): aggregation, linear protection and the audited one.

For SYNTETISKA DATA populations (default 150 000 and 1 000 000 persons; more with
`python bench/bench_rojandekontroll.py 10521556`) published at every level from the DeSO
up, prints BENCH lines:

* rojandekontroll_aggregering_<n>: persons -> counts for every level (DuckDB);
* rojandekontroll_linjart_<n>: the linear protection alone (microdata.disclosure), the baseline;
* rojandekontroll_granskat_<n>: the protection that `aggregera --granska` runs (primary
  suppression, the first guess, rounds of audit -> suppress), with ratio = linear / audited;
* rojandekontroll_lp_<n> and rojandekontroll_varv_<n>: the LPs solved and the rounds.

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
    print(time.perf_counter() - t, account.n_lp, account.rounds, flush=True)
    """
)


def main(sizes: list[int]) -> None:
    limit = float(os.environ.get("BENCH_GRANSKA_GRANS", "900"))
    for n in sizes:
        persons = sy.draw(n, 2022)
        t0 = time.perf_counter()
        counts, source = ag.count(persons, "deso")
        report(f"rojandekontroll_aggregering_{n}", time.perf_counter() - t0, "s")
        t0 = time.perf_counter()
        ag.protected_observations(counts, source.kalla, min_antal=5, granska=False)
        linear = time.perf_counter() - t0
        report(f"rojandekontroll_linjart_{n}", linear, "s")
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
        seconds, n_lp, rounds = out.stdout.split()
        report(f"rojandekontroll_granskat_{n}", float(seconds), "s", baseline=linear)
        report(f"rojandekontroll_lp_{n}", float(n_lp), "LP")
        report(f"rojandekontroll_varv_{n}", float(rounds), "varv")


if __name__ == "__main__":
    main([int(x) for x in sys.argv[1:]] or [150_000, 1_000_000])
