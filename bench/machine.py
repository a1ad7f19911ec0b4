"""What every benchmark says about the machine it ran on: its cores and the load average at the
start and at the end of the run (issue 17: a p99 means little without the load it was measured
under; docs/benchmarks.md records both with each figure). Printed to stderr, so that a bench's
machine-readable stdout (e.g. `bench/localnet.py --json`) stays what it was."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


@contextlib.contextmanager
def measured(name: str) -> Iterator[None]:
    """Around a whole benchmark run: the load average when it starts and when it ends."""
    t0 = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    print(
        f"{name}: {os.cpu_count()} cores, load average at the start ({t0}): {load_average()}",
        file=sys.stderr,
        flush=True,
    )
    try:
        yield
    finally:
        t1 = time.strftime("%H:%M:%S UTC", time.gmtime())
        print(
            f"{name}: load average at the end ({t1}): {load_average()}",
            file=sys.stderr,
            flush=True,
        )
