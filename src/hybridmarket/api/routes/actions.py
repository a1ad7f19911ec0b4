"""Solana Actions (and so blinks) for every tradable market, to the Actions specification
(@solana/actions-spec 2.4): `GET /actions.json` at the root maps the web UI's `/market/<id>`
and `/market/<id>/<slug>` URLs to `/api/actions/markets/<id>`, whose `GET` describes the market (question, price, state,
an icon) with Buy YES / Buy NO buttons taking an amount in SOL, and whose `POST {"account"}`
answers the unsigned buy transaction for that wallet to sign.

The transaction is the one `POST /api/markets/{id}/buy` builds (the same route function is
called: its quote, slippage bound, rate limit and state check), so a blink and the web UI can
never trade differently. Every answer here, errors included, carries the Actions CORS headers
(`Access-Control-Allow-Origin: *` on these routes only), `X-Action-Version` and
`X-Blockchain-Ids` (the cluster's CAIP-2 id, from its genesis hash); errors are the spec's
`{"message": ...}` with a 4xx (503 when a dependency is down), not the API's envelope."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable, Coroutine
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final, Literal

import psycopg
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from psycopg_pool import PoolTimeout
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException

from hybridmarket.api.common import MarketIdPath, Wallet, rate_limit
from hybridmarket.api.errors import ApiError, chain_unavailable, database_unavailable
from hybridmarket.api.routes import trading
from hybridmarket.api.routes.markets import load_market
from hybridmarket.api.routes.share import base_url
from hybridmarket.api.state import ApiState, state
from hybridmarket.chain.errors import ChainError

ACTION_VERSION: Final = "2.4"  # the @solana/actions-spec version these answers follow
LAMPORTS_PER_SOL: Final = 10**9
# What @solana/actions' ACTIONS_CORS_HEADERS (1.6) sends, byte for byte.
CORS_HEADERS: Final = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET,POST,PUT,OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization, Content-Encoding, "
    "Accept-Encoding, X-Accept-Action-Version, X-Accept-Blockchain-Ids",
    "Access-Control-Expose-Headers": "X-Action-Version, X-Blockchain-Ids",
}
TRADABLE: Final = "ACTIVE"
# An amount of SOL as a blink sends it: a decimal, at most 9 places (one lamport).
SOL_AMOUNT: Final = r"^[0-9]{1,12}(\.[0-9]{1,9})?$"


# ---- the specification's shapes (field names as in @solana/actions-spec) ---------------------


class ActionError(BaseModel):
    """The spec's error: a message to show the user."""

    model_config = ConfigDict(extra="forbid")
    message: str


class ActionRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pathPattern: str = Field(  # noqa: N815 (the spec's names)
        description="A website path (`*`: one segment, `**`: any)"
    )
    apiPath: str = Field(description="The Actions API path it maps to")  # noqa: N815


class ActionsJson(BaseModel):
    """`/actions.json`: which website URLs have an Action, and where its API is."""

    model_config = ConfigDict(extra="forbid")
    rules: list[ActionRule]


class ActionParameter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["number"] = "number"
    name: str
    label: str
    required: bool
    min: float
    pattern: str
    patternDescription: str  # noqa: N815


class LinkedAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["transaction"] = "transaction"
    href: str = Field(description="The POST URL; `{amount}` is replaced by the user's input")
    label: str
    parameters: list[ActionParameter]


class ActionLinks(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actions: list[LinkedAction]


class ActionGetResponse(BaseModel):
    """The Action of a tradable market: what a blink shows."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["action"] = "action"
    icon: str = Field(description="Absolute URL of the market's image (SVG)")
    title: str = Field(description="The market's question")
    description: str = Field(description="Prices and state")
    label: str
    links: ActionLinks


class ActionPostRequest(BaseModel):
    """What a blink client posts: the wallet that will sign (and, from newer clients, the
    parameter values, which the query string also carries)."""

    model_config = ConfigDict(extra="forbid")
    account: Wallet = Field(description="The signing wallet, base58")
    type: Literal["transaction"] | None = None
    data: dict[str, str | list[str]] | None = None


class ActionPostResponse(BaseModel):
    """The unsigned transaction (base64) for the wallet, and what it does."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["transaction"] = "transaction"
    transaction: str = Field(description="A v0 transaction, base64, signatures empty")
    message: str


# ---- errors and headers in the spec's form ----------------------------------------------------


def _message(exc: Exception) -> tuple[int, str, dict[str, str] | None]:
    """(status, message, headers) of a failure, as the API would answer it."""
    if isinstance(exc, ApiError):
        return exc.status, exc.message, exc.headers
    if isinstance(exc, RequestValidationError | ValidationError):
        errs = exc.errors()
        first = errs[0] if errs else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        return 422, f"{'.'.join(loc) or 'request'}: {first.get('msg', 'invalid')}", None
    if isinstance(exc, HTTPException):  # a body that is not JSON
        return exc.status_code, str(exc.detail), dict(exc.headers or {})
    if isinstance(exc, ChainError):
        e = chain_unavailable(exc)
        return e.status, e.message, e.headers
    e = database_unavailable(exc)
    return e.status, e.message, e.headers


async def _blockchain_id(app: Any) -> str | None:
    """The cluster's CAIP-2 id (`solana:` + the first 32 characters of its genesis hash)."""
    st: ApiState | None = getattr(app.state, "api", None)
    if st is None:
        return None
    client = st.client

    async def load() -> str:
        resp = await client.gateway.call("getGenesisHash", client.rpc.get_genesis_hash)
        return f"solana:{str(resp.value)[:32]}"

    try:
        chain: str = await st.cache.get("actions:blockchain_id", load, ttl=3600.0)
    except Exception:  # the header is informative; an unreachable chain fails the call itself
        return None
    return chain


def is_action_path(path: str) -> bool:
    return path == "/actions.json" or path.startswith("/api/actions/")


class ActionsHeaders:
    """The Actions headers on every answer of `/actions.json` and `/api/actions/*` (errors from
    anywhere in the stack included), and their CORS preflight answered for any origin. Installed
    outside the app's CORSMiddleware: with CORS_ORIGINS set, that one refuses the preflight of
    an unlisted origin and replaces Access-Control-Expose-Headers, and a blink client may run
    on any origin."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not is_action_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {**CORS_HEADERS, "X-Action-Version": ACTION_VERSION}
        chain = await _blockchain_id(scope["app"])
        if chain:
            headers["X-Blockchain-Ids"] = chain
        if scope["method"] == "OPTIONS":
            raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            await send({"type": "http.response.start", "status": 204, "headers": raw})
            await send({"type": "http.response.body", "body": b""})
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, with_headers)


class ActionsRoute(APIRoute):
    """Every failure of these routes as the spec's `{"message"}` with its status (the headers
    are ActionsHeaders')."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except (
                ApiError,
                HTTPException,
                RequestValidationError,
                ValidationError,
                ChainError,
                psycopg.OperationalError,
                PoolTimeout,
            ) as exc:
                status, message, headers = _message(exc)
                return JSONResponse(
                    ActionError(message=message).model_dump(), status, headers=headers
                )

        return route


_ERRORS: Final = {
    400: "The request could not be read",
    404: "No such market",
    409: "The market is not tradable now",
    422: "A parameter is invalid (the message names it)",
    429: "Rate limited: see Retry-After",
    503: "The chain, the database or the rate limiter is unavailable; see Retry-After",
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ActionError, "description": _ERRORS[s]} for s in statuses}


router = APIRouter(tags=["actions"], route_class=ActionsRoute)


# ---- routes ------------------------------------------------------------------------------------


@router.get("/actions.json", summary="Solana Actions: the website URLs that have an Action")
async def actions_json() -> ActionsJson:
    return ActionsJson(
        rules=[
            # The web UI's market URLs, with or without the question's slug (`*` is one path
            # segment; the API path takes the first, the market id).
            ActionRule(pathPattern="/market/*", apiPath="/api/actions/markets/*"),
            ActionRule(pathPattern="/market/*/*", apiPath="/api/actions/markets/*"),
            ActionRule(pathPattern="/api/actions/**", apiPath="/api/actions/**"),
        ]
    )


async def _tradable(st: ApiState, market_id: str) -> dict[str, Any]:
    m = await load_market(st, market_id)
    if m["state"] != TRADABLE:
        raise ApiError(
            409,
            "invalid_market_state",
            f"this market is {m['state']}, not open for trading",
        )
    return m


def _percent(price: str | None) -> str:
    value = Decimal(price or "0.5") * 100
    return f"{value.quantize(Decimal('0.1'))}%"


@router.get(
    "/api/actions/markets/{market_id}",
    summary="Solana Action of a tradable market: Buy YES / Buy NO with an amount of SOL",
    responses=_errors(404, 409, 422, 429, 503),
)
async def get_action(
    market_id: MarketIdPath,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> ActionGetResponse:
    await rate_limit(st, request, response, "reads")
    m = await _tradable(st, market_id)
    base = base_url(request, st)
    href = f"{base}/api/actions/markets/{market_id}"
    parameter = ActionParameter(
        name="amount",
        label="Amount in SOL",
        required=True,
        min=1 / LAMPORTS_PER_SOL,
        pattern=SOL_AMOUNT,
        patternDescription="An amount of SOL, at most 9 decimal places",
    )
    closes = f" · closes {m['closes_at'][:10]}" if m.get("closes_at") else ""
    return ActionGetResponse(
        icon=f"{base}/api/actions/markets/{market_id}/icon.svg",
        title=m["question"] or f"Market {market_id[:8]}",
        description=f"YES {_percent(m['price_yes'])} · NO {_percent(m['price_no'])} · "
        f"{m['state']}{closes}. Buy shares of an outcome: each pays 1 SOL if it wins.",
        label="Buy",
        links=ActionLinks(
            actions=[
                LinkedAction(
                    href=f"{href}?outcome={side}&amount={{amount}}",
                    label=f"Buy {side.upper()}",
                    parameters=[parameter],
                )
                for side in ("yes", "no")
            ]
        ),
    )


def _lamports(text: str) -> int:
    try:
        value = Decimal(text) * LAMPORTS_PER_SOL
    except InvalidOperation:
        raise ApiError(422, "invalid_request", "amount: not an amount of SOL") from None
    if value != value.to_integral_value():
        raise ApiError(422, "invalid_request", "amount: at most 9 decimal places (a lamport)")
    if value < 1:
        raise ApiError(422, "invalid_request", "amount: must be more than 0 SOL")
    return int(value)


@router.post(
    "/api/actions/markets/{market_id}",
    summary="The unsigned buy transaction of a Solana Action, for `account` to sign",
    description="Built exactly as `POST /api/markets/{market_id}/buy` builds it (the amount in "
    "SOL is spent with its default slippage bound); the wallet signs and sends it.",
    responses=_errors(400, 404, 409, 422, 429, 503),
)
async def post_action(
    market_id: MarketIdPath,
    body: ActionPostRequest,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
    outcome: Annotated[Literal["yes", "no"], Query(description="The outcome to buy")],
    amount: Annotated[
        str | None,
        Query(pattern=SOL_AMOUNT, description="SOL to spend (else `data.amount` of the body)"),
    ] = None,
) -> ActionPostResponse:
    given = amount if amount is not None else (body.data or {}).get("amount")
    if not isinstance(given, str):
        raise ApiError(422, "invalid_request", "amount: required (SOL to spend)")
    lamports = _lamports(given)
    m = await _tradable(st, market_id)
    try:
        trade = trading.TradeBody(wallet=body.account, outcome=outcome, amount=lamports)
    except ValidationError as e:
        raise ApiError(422, "invalid_request", _message(e)[1]) from None
    order = await trading.buy(market_id, trade, request, response, st)
    q = order.quote
    sol = Decimal(q.max_cost) / LAMPORTS_PER_SOL
    return ActionPostResponse(
        transaction=order.transaction,
        message=f"Buy {Decimal(q.shares) / LAMPORTS_PER_SOL:f} {outcome.upper()} shares of "
        f"“{m['question'] or market_id}” for at most {sol:f} SOL (price "
        f"{q.price_before} → {q.price_after}).",
    )


def _icon(question: str, price_yes: str | None) -> str:
    """A 512×512 card: the question and the YES price."""
    lines = textwrap.wrap(question, 28)[:5]
    text = "".join(
        f'<text x="40" y="{110 + 52 * i}" font-size="40">{html.escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    yes = html.escape(_percent(price_yes))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">'
        '<rect width="512" height="512" rx="32" fill="#10141f"/>'
        f'<g fill="#f4f6fb" font-family="sans-serif">{text}</g>'
        '<text x="40" y="460" font-family="sans-serif" font-size="56" font-weight="bold" '
        f'fill="#3ddc97">YES {yes}</text>'
        "</svg>"
    )


@router.get("/api/actions/markets/{market_id}/icon.svg", include_in_schema=False)
async def action_icon(
    market_id: MarketIdPath,
    request: Request,
    st: Annotated[ApiState, Depends(state)],
) -> Response:
    await rate_limit(st, request, None, "reads")
    m = await load_market(st, market_id)
    return Response(
        _icon(m["question"] or f"Market {market_id[:8]}", m["price_yes"]),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=60"},
    )
