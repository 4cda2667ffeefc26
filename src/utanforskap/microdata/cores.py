"""The worker threads of disclosure control: one per core, shared by its linear algebra and its LPs.

HiGHS and LAPACK release the GIL while they work, so independent pieces (the batches of an
LP, the chunks of a stack of small eigenproblems) run on every core from threads. BLAS is
kept to one thread per call meanwhile (`one_blas_thread`): its own threads would compete
with ours and, on matrices this small, only cost.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

THREADS = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8))


@functools.lru_cache(maxsize=1)
def pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(THREADS, thread_name_prefix="rojandekontroll")


def map_threads(f: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """[f(x) for x in items], on the pool when there is more than one item (in order)."""
    if len(items) > 1 and THREADS > 1:
        return list(pool().map(f, items))
    return [f(x) for x in items]


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS (OpenBLAS in numpy's wheels) limited to one thread within the block."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield
