"""`hybridmarket worker`: the indexer, the reconciler and the backend authority jobs in one
process, each job also runnable once from the command line."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog

from hybridmarket.bootstrap import Context
from hybridmarket.indexer.reconcile import Reconciler
from hybridmarket.indexer.service import Indexer
from hybridmarket.worker import jobs
from hybridmarket.worker.scheduler import Job, Scheduler, validate_cron

log = structlog.get_logger(__name__)
JOB_NAMES = ("proposals", "disputes", "monitor", "reconcile", "tallies", "snapshots", "backups")


class Worker:
    """Runs the jobs on their schedules next to the indexer; built by `bootstrap.worker`."""

    def __init__(
        self, ctx: Context, *, indexer: Indexer, reconciler: Reconciler, services: jobs.Services
    ) -> None:
        s = ctx.settings
        self.ctx = ctx
        self.indexer = indexer
        self.reconciler = reconciler
        self.services = services
        self.sender = services.sender
        self.signer = services.sender.signer
        self.runs: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
            "proposals": self._guarded(jobs.aggregate_proposals),
            "disputes": self._guarded(jobs.aggregate_disputes),
            "monitor": self._guarded(jobs.monitor_markets),
            "reconcile": self._reconcile,
            "tallies": self._recount_tallies,
            "snapshots": self._snapshots,
            "backups": self._backups,
        }
        self.crons = {
            "proposals": validate_cron(s.cron_proposals),
            "disputes": validate_cron(s.cron_disputes),
            "monitor": validate_cron(s.cron_monitor),
            "reconcile": validate_cron(s.cron_reconcile),
            # The recount of the kept vote counts runs on the reconciler's schedule.
            "tallies": validate_cron(s.cron_reconcile),
            "snapshots": validate_cron(s.cron_snapshots),
            "backups": validate_cron(s.cron_backups),
        }

    def _guarded(
        self, fn: Callable[[jobs.Services], Awaitable[dict[str, Any]]]
    ) -> Callable[[], Awaitable[dict[str, Any]]]:
        async def run() -> dict[str, Any]:
            # Settle what a crash may have left in flight before deciding anything new.
            await self.sender.resolve_unfinished()
            return await fn(self.services)

        return run

    async def _reconcile(self) -> dict[str, Any]:
        return (await self.reconciler.run()).summary()

    async def _recount_tallies(self) -> dict[str, Any]:
        return await jobs.recount_tallies(self.ctx.pool)

    async def _snapshots(self) -> dict[str, Any]:
        # Yesterday (UTC) and any earlier day of the last week left unfinished.
        from hybridmarket.worker.snapshots import snapshot_recent

        return await snapshot_recent(self.ctx.pool, self.services.ipfs)

    async def _backups(self) -> dict[str, Any]:
        """A daily archive (database, ledger, IPFS blocks, keys), keeping the newest N."""
        from hybridmarket.backup import backup, prune

        s = self.ctx.settings  # its database_url is the database this worker has open
        archive = await asyncio.to_thread(backup, s)
        removed = await asyncio.to_thread(prune, archive.parent, s.backup_retention)
        return {
            "archive": str(archive),
            "bytes": archive.stat().st_size,
            "removed": [p.name for p in removed],
        }

    async def run_once(self, job: str) -> dict[str, Any]:
        await self.indexer.sync()  # decide on an up-to-date copy of the chain
        return await self.runs[job]()

    async def run(self, stop: asyncio.Event, *, with_indexer: bool = True) -> None:
        log.info("worker starting", backend_authority=str(self.signer.pubkey()))
        await self.sender.resolve_unfinished()
        scheduler = Scheduler(
            self.ctx.pool, [Job(n, self.crons[n], self.runs[n]) for n in JOB_NAMES]
        )
        tasks = [asyncio.create_task(scheduler.run(stop))]
        if with_indexer:
            tasks.append(asyncio.create_task(self.indexer.run(stop)))
        await asyncio.gather(*tasks)
        log.info("worker stopped")


@asynccontextmanager
async def stop_on_signals() -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    yield stop
