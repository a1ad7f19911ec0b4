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

from hybridmarket.authority import Signer, backend_key_source
from hybridmarket.context import Context
from hybridmarket.indexer.reconcile import Reconciler
from hybridmarket.indexer.service import Indexer
from hybridmarket.ipfs.backends import backend_from_settings
from hybridmarket.worker import jobs
from hybridmarket.worker.scheduler import Job, Scheduler, validate_cron
from hybridmarket.worker.sender import AuthoritySender

log = structlog.get_logger(__name__)
JOB_NAMES = ("proposals", "disputes", "monitor", "reconcile", "snapshots", "backups")


class Worker:
    def __init__(self, ctx: Context, *, ws_url: str | None, signer: Signer | None = None) -> None:
        s = ctx.settings
        self.ctx = ctx
        self.signer = signer or backend_key_source(s).load()
        self.sender = AuthoritySender(ctx.pool, ctx.client, self.signer)
        self.indexer = Indexer(ctx.pool, ctx.client, ws_url=ws_url, signals=ctx.signals)
        self.reconciler = Reconciler(ctx.pool, ctx.client, self.indexer)
        self.indexer.on_reconcile = self.reconciler.run
        self.indexer.on_repair = lambda ids: self.reconciler.run(only=ids)
        self.services = jobs.Services(
            ctx.pool,
            ctx.client,
            self.sender,
            backend_from_settings(s),
            proposal_window=s.proposal_voting_window,
            stuck_grace=s.monitor_stuck_grace,
        )
        self.runs: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
            "proposals": self._guarded(jobs.aggregate_proposals),
            "disputes": self._guarded(jobs.aggregate_disputes),
            "monitor": self._guarded(jobs.monitor_markets),
            "reconcile": self._reconcile,
            "snapshots": self._snapshots,
            "backups": self._backups,
        }
        self.crons = {
            "proposals": validate_cron(s.cron_proposals),
            "disputes": validate_cron(s.cron_disputes),
            "monitor": validate_cron(s.cron_monitor),
            "reconcile": validate_cron(s.cron_reconcile),
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

    async def _snapshots(self) -> dict[str, Any]:
        # Yesterday (UTC) and any earlier day of the last week left unfinished.
        from hybridmarket.worker.snapshots import snapshot_recent

        return await snapshot_recent(self.ctx.pool, self.services.ipfs)

    async def _backups(self) -> dict[str, Any]:
        """A daily archive (database, ledger, IPFS blocks, keys), keeping the newest N."""
        from hybridmarket.backup import backup, prune

        s = self.ctx.settings
        # The database URL this worker uses: never open the embedded server a second time.
        shared = s.model_copy(update={"database_url": self.ctx.db_url})
        archive = await asyncio.to_thread(backup, shared)
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
