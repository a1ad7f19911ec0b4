"""The FastAPI application: `create_app(settings)`; `hybridmarket api` serves it with uvicorn.

The lifespan builds the request handlers' state (`bootstrap.api_state`: the database, the chain
client, IPFS, the rate limiter, the cache) and runs the change follower that invalidates the
cache and feeds the live stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from hybridmarket import __version__
from hybridmarket.api import chainclock, errors
from hybridmarket.api.bodylimit import BodyLimit
from hybridmarket.api.cache import CachedReads
from hybridmarket.api.routes import error_responses
from hybridmarket.api.routes.actions import ActionsHeaders
from hybridmarket.api.stream import follow_changes
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
    "evidence",
    "actions",
    "archive",
    "activity",
    "leaderboards",
    "follows",
    "share",
    "receipts",
)
WEB_DIR = Path(__file__).resolve().parent.parent / "web"


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from hybridmarket import bootstrap

        async with bootstrap.api_state(settings) as st:
            app.state.api = st
            stop = asyncio.Event()
            follower = asyncio.create_task(
                follow_changes(st.db_url, settings.redis_url, st.cache, st.hub, stop)
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
    app.add_middleware(CachedReads, state=lambda: getattr(app.state, "api", None))
    # Not FastAPI's max_body_size: its 413 is plain text, outside the error envelope.
    from hybridmarket.api.routes.evidence import EVIDENCE_MAX_BYTES, EVIDENCE_PATH

    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        allowances={EVIDENCE_PATH: EVIDENCE_MAX_BYTES},  # a file, not small JSON
    )
    chainclock.install(app)  # X-Chain-Time on every /api/* response, cached ones too
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
                chainclock.HEADER,
            ],
        )
    app.add_middleware(ActionsHeaders)  # outside CORSMiddleware: blinks come from any origin
    import importlib

    for name in ROUTERS:
        app.include_router(importlib.import_module(f"hybridmarket.api.routes.{name}").router)
    _mount_web(app)
    return app


def app_from_environment() -> FastAPI:
    """The app of each `hybridmarket api --workers N` process, from the settings its parent
    put in the environment (`Settings.export`)."""
    return create_app(Settings())


def server_config(
    app: FastAPI | str,
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    **options: Any,
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
        **options,
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
