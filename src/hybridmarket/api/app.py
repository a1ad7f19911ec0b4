"""The FastAPI application: `create_app(settings)`; `hybridmarket api` serves it with uvicorn.

The lifespan opens the database (DATABASE_URL or the embedded server, verified against the
code's schema), the chain client, IPFS, the rate limiter (memory, or Redis with REDIS_URL) and
the change follower that invalidates the cache and feeds the live stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from hybridmarket import __version__
from hybridmarket.api import errors
from hybridmarket.api.bodylimit import BodyLimit
from hybridmarket.api.cache import Cache, CachedReads
from hybridmarket.api.routes import error_responses
from hybridmarket.api.state import ApiState
from hybridmarket.api.stream import Hub, follow_changes
from hybridmarket.settings import Settings

ROUTERS = (
    "markets",
    "trading",
    "users",
    "ops",
    "stream",
    "discussions",
    "ipfs_gateway",
    "admin",
    "auth",
    "faucet",
)
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from hybridmarket.api.ratelimit import limiter_from_url, limits_with
        from hybridmarket.chain.client import ChainClient
        from hybridmarket.chain.gateway import api_rpc_policy
        from hybridmarket.db.connect import database, make_pool
        from hybridmarket.db.schema import verify
        from hybridmarket.ipfs.backends import backend_from_settings
        from hybridmarket.signals import signals_for

        async with AsyncExitStack() as stack:
            url = stack.enter_context(database(settings))
            verify(url)
            pool = await stack.enter_async_context(
                make_pool(url, max_size=settings.db_pool_size, name="api")
            )
            client = await stack.enter_async_context(
                ChainClient(
                    settings.rpc_url(),
                    program_id=settings.program_id,
                    policy=api_rpc_policy(settings.rpc_deadline),
                )
            )
            limiter = limiter_from_url(settings.redis_url)
            stack.push_async_callback(limiter.close)
            signals = await stack.enter_async_context(signals_for(settings.redis_url))
            cache = Cache(ttl=settings.cache_ttl)
            hub = Hub()
            app.state.api = ApiState(
                settings=settings,
                db_url=url,
                pool=pool,
                client=client,
                cache=cache,
                hub=hub,
                ipfs=backend_from_settings(settings),
                limiter=limiter,
                limits=limits_with(settings.rate_limits),
                admins=frozenset(settings.split(settings.admin_wallets)),
                moderators=frozenset(settings.split(settings.moderator_wallets)),
                signals=signals,
            )
            stop = asyncio.Event()
            follower = asyncio.create_task(
                follow_changes(url, settings.redis_url, cache, hub, stop)
            )
            try:
                yield
            finally:
                stop.set()
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower

    app = FastAPI(
        title="hybridmarket API",
        version=__version__,
        description=(
            "A binary prediction market: markets, LMSR quotes, unsigned transactions for your "
            "wallet and a relay, discussions signed with Sign-In-With-Solana, live updates. "
            "Amounts are integers (lamports, share units); prices are decimal strings. Errors: "
            '`{"error": {"code", "message", "details"}}`.'
        ),
        lifespan=lifespan,
        responses=error_responses(413),  # any request's body may be too large (BodyLimit)
        # FastAPI's own /docs and /redoc load their scripts from a CDN, so they are blank
        # offline; /docs is served below from the vendored Swagger UI.
        docs_url=None,
        redoc_url=None,
    )
    errors.install(app)
    app.add_middleware(
        CachedReads, cache=lambda: getattr(getattr(app.state, "api", None), "cache", None)
    )
    # Not FastAPI's max_body_size: its 413 is plain text, outside the error envelope.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    origins = settings.split(settings.cors_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Content-Type"],
            expose_headers=[
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "Retry-After",
            ],
        )
    import importlib

    for name in ROUTERS:
        app.include_router(importlib.import_module(f"hybridmarket.api.routes.{name}").router)
    _mount_web(app)
    return app


def server_config(
    app: FastAPI, settings: Settings, *, host: str | None = None, port: int | None = None
) -> uvicorn.Config:
    """How every server runs the app. X-Forwarded-For counts only from TRUSTED_PROXIES (uvicorn
    would trust it from loopback, so anyone on the machine could pick their rate-limit bucket);
    behind them, the client is the right-most address not of a trusted proxy."""
    return uvicorn.Config(
        app,
        host=settings.api_host if host is None else host,
        port=settings.api_port if port is None else port,
        log_level="warning",
        forwarded_allow_ips=settings.split(settings.trusted_proxies),
    )


def _mount_web(app: FastAPI) -> None:
    """The web UI: `/` is the single page, its files under `/static` (no build step)."""
    index = WEB_DIR / "index.html"
    if not index.exists():
        return
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")

    @app.get("/docs", include_in_schema=False)
    async def _docs() -> HTMLResponse:
        """Swagger UI over /openapi.json, from the package's own copy (static/vendor)."""
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} · docs",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui-favicon-32x32.png",
        )

    @app.get("/", include_in_schema=False)
    async def _index() -> HTMLResponse:
        return HTMLResponse(
            index.read_text(encoding="utf-8"), headers={"Cache-Control": "no-cache"}
        )
