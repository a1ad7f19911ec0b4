"""The composition root: how every process builds its parts from the one `Settings` object.

    settings → database (embedded or DATABASE_URL, verified against the code's schema) → pool
             → chain client → change signals (NOTIFY, and Redis with REDIS_URL) → IPFS backend
             → services: the indexer with its reconciler, the backend-authority sender and the
               worker's jobs, the API's state

`hybridmarket up`, `worker`, `indexer`, `reconcile`, `verify-tally`, `snapshot`, `api` (its admin
routes included) and the tests build through these functions, and nothing else constructs these
objects; hooks go to constructors, nothing is patched in afterwards. Heavy modules are imported
inside the functions so that a CLI's `--help` stays fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg_pool import AsyncConnectionPool

from hybridmarket.chain.client import ChainClient
from hybridmarket.ipfs.backends import IpfsBackend, backend_from_settings
from hybridmarket.settings import Settings
from hybridmarket.signals import Signals

if TYPE_CHECKING:
    from hybridmarket.api.state import ApiState
    from hybridmarket.authority import Signer
    from hybridmarket.indexer.reconcile import Reconciler
    from hybridmarket.indexer.service import Indexer
    from hybridmarket.worker.jobs import Services
    from hybridmarket.worker.runner import Worker


@dataclass(frozen=True)
class Context:
    """What a service process has open: the settings (with `database_url` set to the database
    it opened, so that a part started from it never opens the embedded server a second time),
    the pool, the chain client, the change signals and the IPFS backend."""

    settings: Settings
    db_url: str
    pool: AsyncConnectionPool
    client: ChainClient
    signals: Signals
    ipfs: IpfsBackend


@asynccontextmanager
async def open_context(
    settings: Settings,
    *,
    name: str,
    pool_size: int | None = None,
    rpc_policy: Any = None,
) -> AsyncIterator[Context]:
    """Open the database, the pool, the chain client, the signals and the IPFS backend; close
    them in reverse."""
    from hybridmarket.db.connect import database, make_pool
    from hybridmarket.db.schema import verify
    from hybridmarket.signals import signals_for

    async with AsyncExitStack() as stack:
        url = stack.enter_context(database(settings))
        verify(url)
        pool = await stack.enter_async_context(
            make_pool(
                url,
                max_size=pool_size or settings.db_pool_size,
                name=name,
                timeout=settings.db_timeout,
            )
        )
        extra = {} if rpc_policy is None else {"policy": rpc_policy}
        client = await stack.enter_async_context(
            ChainClient(
                settings.rpc_url(),
                program_id=settings.program_id,
                ws_url=settings.ws_url(),
                **extra,
            )
        )
        signals = await stack.enter_async_context(signals_for(settings.redis_url))
        ipfs = backend_from_settings(settings)
        stack.callback(ipfs.close)
        yield Context(
            settings.model_copy(update={"database_url": url}), url, pool, client, signals, ipfs
        )


def indexer(
    ctx: Context, *, ws_url: str | None = None, batch_size: int = 2000
) -> tuple[Indexer, Reconciler]:
    """The indexer and its reconciler: a full reconciliation when the indexer finds truncated
    logs, a repair of some markets for its dead letters."""
    from hybridmarket.indexer.reconcile import Reconciler
    from hybridmarket.indexer.service import Indexer

    async def reconcile_all() -> Any:
        return await reconciler.run()

    async def repair(ids: set[str]) -> Any:
        return await reconciler.run(only=ids)

    ix = Indexer(
        ctx.pool,
        ctx.client,
        ws_url=ws_url,
        batch_size=batch_size,
        signals=ctx.signals,
        on_reconcile=reconcile_all,
        on_repair=repair,
    )
    reconciler = Reconciler(ctx.pool, ctx.client, ix)
    return ix, reconciler


def services(
    settings: Settings,
    pool: AsyncConnectionPool,
    client: ChainClient,
    ipfs: IpfsBackend,
    signer: Signer,
) -> Services:
    """The backend authority's jobs (aggregators, monitor, admin actions) and their sender."""
    from hybridmarket.worker.jobs import Services
    from hybridmarket.worker.sender import AuthoritySender

    return Services(
        pool,
        client,
        AuthoritySender(pool, client, signer),
        ipfs,
        proposal_window=settings.proposal_voting_window,
        stuck_grace=settings.monitor_stuck_grace,
    )


def worker(ctx: Context, *, signer: Signer | None = None, batch_size: int = 2000) -> Worker:
    """`hybridmarket worker`: the indexer (`batch_size` transactions per database batch), the
    reconciler and the jobs, with the backend key (loaded from BACKEND_KEYPAIR*, Vault or the
    key file unless given)."""
    from hybridmarket.authority import backend_key_source
    from hybridmarket.worker.runner import Worker

    signer = signer or backend_key_source(ctx.settings).load()
    ix, reconciler = indexer(ctx, ws_url=ctx.settings.ws_url(), batch_size=batch_size)
    return Worker(
        ctx,
        indexer=ix,
        reconciler=reconciler,
        services=services(ctx.settings, ctx.pool, ctx.client, ctx.ipfs, signer),
    )


@asynccontextmanager
async def api_state(settings: Settings) -> AsyncIterator[ApiState]:
    """What the API's request handlers use: the context, a few connections for the market
    reads (`ApiState.reads`), the cache, the live hub, the rate limiter (memory, or Redis with
    REDIS_URL) and the wallet lists. Chain calls are bounded by
    API_RPC_DEADLINE: a request never waits on a hung chain longer than that."""
    from hybridmarket.api.cache import Cache
    from hybridmarket.api.ratelimit import limiter_from_url, limits_with
    from hybridmarket.api.state import ApiState
    from hybridmarket.api.stream import Hub
    from hybridmarket.chain.gateway import api_rpc_policy
    from hybridmarket.db.connect import GENERIC_PLANS, make_pool

    async with (
        open_context(settings, name="api", rpc_policy=api_rpc_policy(settings.rpc_deadline)) as ctx,
        AsyncExitStack() as stack,
    ):
        limiter = limiter_from_url(settings.redis_url)
        stack.push_async_callback(limiter.close)
        reads = await stack.enter_async_context(
            make_pool(
                ctx.db_url,
                max_size=min(4, settings.db_pool_size),
                name="api-reads",
                timeout=settings.db_timeout,
                session=GENERIC_PLANS,
            )
        )
        yield ApiState(
            settings=ctx.settings,
            db_url=ctx.db_url,
            pool=ctx.pool,
            reads=reads,
            client=ctx.client,
            cache=Cache(ttl=settings.cache_ttl, max_bytes=settings.cache_mb << 20),
            hub=Hub(),
            ipfs=ctx.ipfs,
            limiter=limiter,
            limits=limits_with(settings.rate_limits),
            admins=frozenset(settings.split(settings.admin_wallets)),
            moderators=frozenset(settings.split(settings.moderator_wallets)),
            signals=ctx.signals,
        )
