"""Cron scheduling for the worker's jobs, safe with several worker replicas.

Each job has a cron expression (UTC; croniter syntax, an optional sixth field for seconds). At
each tick, a replica first claims the (job, tick) row in `job_runs` (only one insert wins), then
takes a PostgreSQL advisory lock for the job so that a long run never overlaps the next tick's.
So each job runs once per tick however many replicas there are. On SIGTERM the scheduler starts
nothing new and lets the job in hand finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from croniter import croniter
from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool

from hybridmarket.db.queries import jobs as q_jobs

log = structlog.get_logger(__name__)

RUNS = Counter("hybridmarket_job_runs", "Job runs by outcome", ["job", "outcome"])
LAST_RUN = Gauge(
    "hybridmarket_job_last_run_timestamp", "Unix time of each job's last finished run", ["job"]
)


@dataclass(frozen=True)
class Job:
    name: str
    cron: str
    run: Callable[[], Awaitable[dict[str, Any]]]

    def next_tick(self, after: datetime) -> datetime:
        nxt: datetime = croniter(self.cron, after).get_next(datetime)
        return nxt


def validate_cron(expr: str) -> str:
    if not croniter.is_valid(expr):
        raise ValueError(f"not a cron expression: {expr!r}")
    return expr


def _lock_key(job: str) -> int:
    return 0x686D_0000_0000 + zlib.crc32(job.encode())


class Scheduler:
    def __init__(
        self, pool: AsyncConnectionPool, jobs: list[Job], *, worker: str | None = None
    ) -> None:
        self.pool = pool
        self.jobs = jobs
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"

    async def run_tick(self, job: Job, tick: datetime) -> str:
        """Run `job` for `tick` unless another replica claimed it: 'ran', 'claimed' or 'busy'."""
        async with self.pool.connection() as conn:
            if not await q_jobs.claim_tick(conn, job.name, tick, self.worker):
                return "claimed"
            got = await (
                await conn.execute("SELECT pg_try_advisory_lock(%s)", (_lock_key(job.name),))
            ).fetchone()
            if not got or not got[0]:
                await q_jobs.finish(conn, job.name, tick, error="previous run still in progress")
                return "busy"
            try:
                try:
                    summary = await job.run()
                except Exception as e:  # a job failure is recorded and alerted, never fatal
                    RUNS.labels(job.name, "error").inc()
                    log.error("job failed", job=job.name, error=f"{type(e).__name__}: {e}")
                    await q_jobs.finish(conn, job.name, tick, error=f"{type(e).__name__}: {e}")
                    return "ran"
                RUNS.labels(job.name, "ok").inc()
                LAST_RUN.labels(job.name).set(datetime.now(UTC).timestamp())
                await q_jobs.finish(conn, job.name, tick, summary=summary)
                log.info(
                    "job ran",
                    job=job.name,
                    tick=tick.isoformat(),
                    **{k: v for k, v in summary.items() if not isinstance(v, dict)},
                )
                return "ran"
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(job.name),))

    async def run(self, stop: asyncio.Event) -> None:
        now = datetime.now(UTC)
        ticks = {j.name: j.next_tick(now) for j in self.jobs}
        by_name = {j.name: j for j in self.jobs}
        running: set[asyncio.Task[str]] = set()
        while not stop.is_set():
            name = min(ticks, key=lambda n: ticks[n])
            delay = (ticks[name] - datetime.now(UTC)).total_seconds()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                if stop.is_set():
                    break
            tick = ticks[name]
            ticks[name] = by_name[name].next_tick(tick)
            task = asyncio.create_task(self.run_tick(by_name[name], tick))
            running.add(task)
            task.add_done_callback(running.discard)
        if running:
            log.info("stopping: letting the jobs in hand finish", jobs=len(running))
            await asyncio.gather(*running, return_exceptions=True)
