"""Voting and trading: each endpoint returns the quote (where there is one) and a base64 unsigned
v0 transaction with a fresh blockhash for the user's wallet to sign (the Solana Actions
convention); `POST /api/transactions` relays a signed one. The server never holds user keys."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from solders.instruction import Instruction
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from hybridmarket.api.common import MarketIdPath, Wallet, program_config, rate_limit
from hybridmarket.api.errors import CHAIN_RETRY_AFTER_S, ApiError, chain_unavailable, not_found
from hybridmarket.api.models import (
    Activation,
    BuyOrder,
    BuyQuote,
    Quote,
    RelayConfirmed,
    Relayed,
    RelayExpired,
    RelayFailed,
    RelaySubmitted,
    SellOrder,
    SellQuote,
    UnsignedTransaction,
)
from hybridmarket.api.routes import error_responses
from hybridmarket.api.routes.markets import load_market, make_quote
from hybridmarket.api.state import ApiState, state
from hybridmarket.chain.errors import (
    PreflightFailed,
    RpcError,
    RpcUnavailable,
    TransactionExpired,
    TransactionFailed,
)
from hybridmarket.program import builders as b
from hybridmarket.program.accounts import GlobalConfig

router = APIRouter(
    prefix="/api", tags=["trading"], responses=error_responses(400, 403, 404, 409, 422, 429, 503)
)


class VoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wallet: Wallet
    kind: Literal["proposal", "dispute"]
    vote: bool = Field(description="proposal: true = like; dispute: true = the outcome is wrong")


class TradeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wallet: Wallet
    outcome: Literal["yes", "no"]
    shares: int | None = Field(None, ge=1, le=10**18, description="Share units")
    amount: int | None = Field(None, ge=1, le=2**63 - 1, description="Lamports to spend (buy only)")
    slippage_bps: int = Field(100, ge=0, le=5000)


class WalletBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wallet: Wallet


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wallet: Wallet
    outcome: Literal["yes", "no", "invalid"]
    evidence_cid: str = Field(min_length=46, max_length=100, description="CID of the evidence")


async def _unsigned(st: ApiState, ix: Instruction, payer: str) -> UnsignedTransaction:
    tx, last_valid = await st.client.build_unsigned([ix], Pubkey.from_string(payer))
    return UnsignedTransaction(transaction=tx, last_valid_block_height=last_valid, signer=payer)


async def _market_in(st: ApiState, market_id: str, *states: str) -> dict[str, Any]:
    m = await load_market(st, market_id)
    if m["state"] not in states:
        raise ApiError(
            409, "invalid_market_state", f"market is {m['state']}; this needs {' or '.join(states)}"
        )
    return m


@router.post("/markets/{market_id}/vote", summary="Build a proposal or dispute vote transaction")
async def vote(
    market_id: MarketIdPath,
    body: VoteBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> UnsignedTransaction:
    await rate_limit(st, request, response, "votes", body.wallet)
    await _market_in(st, market_id, "PROPOSED" if body.kind == "proposal" else "DISPUTED")
    user, mid = Pubkey.from_string(body.wallet), bytes.fromhex(market_id)
    pid = st.client.program_id
    if body.kind == "proposal":
        ix = b.submit_proposal_vote(user, mid, body.vote, program_id=pid)
    else:
        ix = b.submit_dispute_vote(user, mid, body.vote, program_id=pid)
    return await _unsigned(st, ix, body.wallet)


async def _quote(
    st: ApiState, market_id: str, body: TradeBody, side: Literal["buy", "sell"]
) -> tuple[Quote, bool, GlobalConfig]:
    """The market's quote for the trade (ACTIVE markets only), its outcome and the config."""
    await _market_in(st, market_id, "ACTIVE")
    if (body.shares is None) == (body.amount is None):
        raise ApiError(422, "invalid_request", "give exactly one of shares or amount")
    if side == "sell" and body.shares is None:
        raise ApiError(422, "invalid_request", "shares: required for a sale")
    outcome = body.outcome == "yes"
    quote, _acc = await make_quote(st, market_id, side, outcome, body.shares, body.amount)
    return quote, outcome, await program_config(st)


@router.post("/markets/{market_id}/buy", summary="Quote and build a buy")
async def buy(
    market_id: MarketIdPath,
    body: TradeBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> BuyOrder:
    await rate_limit(st, request, response, "trades", body.wallet)
    quote, outcome, cfg = await _quote(st, market_id, body, "buy")
    max_cost = quote.total + quote.total * body.slippage_bps // 10_000
    if body.amount is not None:
        max_cost = min(max_cost, body.amount) if body.slippage_bps == 0 else max_cost
    ix = b.buy_shares(
        Pubkey.from_string(body.wallet),
        bytes.fromhex(market_id),
        outcome,
        quote.shares,
        max_cost,
        cfg.protocol_fee_wallet,
        program_id=st.client.program_id,
    )
    tx = await _unsigned(st, ix, body.wallet)
    return BuyOrder(quote=BuyQuote(**quote.model_dump(), max_cost=max_cost), **tx.model_dump())


@router.post("/markets/{market_id}/sell", summary="Quote and build a sale")
async def sell(
    market_id: MarketIdPath,
    body: TradeBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> SellOrder:
    await rate_limit(st, request, response, "trades", body.wallet)
    quote, outcome, cfg = await _quote(st, market_id, body, "sell")
    min_proceeds = quote.total - quote.total * body.slippage_bps // 10_000
    ix = b.sell_shares(
        Pubkey.from_string(body.wallet),
        bytes.fromhex(market_id),
        outcome,
        quote.shares,
        min_proceeds,
        cfg.protocol_fee_wallet,
        program_id=st.client.program_id,
    )
    tx = await _unsigned(st, ix, body.wallet)
    return SellOrder(
        quote=SellQuote(**quote.model_dump(), min_proceeds=min_proceeds), **tx.model_dump()
    )


@router.post("/markets/{market_id}/resolve", summary="Build the resolver's resolution")
async def resolve(
    market_id: MarketIdPath,
    body: ResolveBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> UnsignedTransaction:
    from hybridmarket.ipfs.cid import cid_to_bytes

    await rate_limit(st, request, response, "trades", body.wallet)
    m = await _market_in(st, market_id, "ACTIVE")
    if m["resolver"] != body.wallet:
        raise ApiError(403, "not_resolver", "only the market's resolver can resolve it")
    try:
        cid = cid_to_bytes(body.evidence_cid)
    except ValueError:
        raise ApiError(422, "invalid_request", "evidence_cid: not a CID") from None
    outcome = {"yes": True, "no": False, "invalid": None}[body.outcome]
    ix = b.resolve_market(
        Pubkey.from_string(body.wallet),
        bytes.fromhex(market_id),
        outcome,
        cid,
        program_id=st.client.program_id,
    )
    return await _unsigned(st, ix, body.wallet)


@router.post("/markets/{market_id}/initiate-dispute", summary="Build a dispute of the resolution")
async def initiate_dispute(
    market_id: MarketIdPath,
    body: WalletBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> UnsignedTransaction:
    await rate_limit(st, request, response, "trades", body.wallet)
    await _market_in(st, market_id, "RESOLVING")
    ix = b.initiate_dispute(
        Pubkey.from_string(body.wallet), bytes.fromhex(market_id), program_id=st.client.program_id
    )
    return await _unsigned(st, ix, body.wallet)


@router.post(
    "/markets/{market_id}/activate",
    summary="Build the creator's activation (deposits the liquidity)",
)
async def activate(
    market_id: MarketIdPath,
    body: WalletBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> Activation:
    await rate_limit(st, request, response, "trades", body.wallet)
    m = await _market_in(st, market_id, "APPROVED")
    if m["creator"] != body.wallet:
        raise ApiError(403, "not_creator", "only the market's creator can activate it")
    ix = b.activate_market(
        Pubkey.from_string(body.wallet), bytes.fromhex(market_id), program_id=st.client.program_id
    )
    tx = await _unsigned(st, ix, body.wallet)
    return Activation(deposit=m["initial_liquidity"], **tx.model_dump())


@router.post("/markets/{market_id}/claim", summary="Build a claim of winnings")
async def claim(
    market_id: MarketIdPath,
    body: WalletBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> UnsignedTransaction:
    await rate_limit(st, request, response, "trades", body.wallet)
    await _market_in(st, market_id, "FINALIZED", "CANCELLED")
    acc = await st.client.get_position(bytes.fromhex(market_id), Pubkey.from_string(body.wallet))
    if acc is None:
        raise not_found("position", f"of {body.wallet} in {market_id}")
    if acc.has_claimed:
        raise ApiError(409, "already_claimed", "this position has already been claimed")
    ix = b.claim_winnings(
        Pubkey.from_string(body.wallet), bytes.fromhex(market_id), program_id=st.client.program_id
    )
    return await _unsigned(st, ix, body.wallet)


@router.post("/markets/{market_id}/withdraw", summary="Build the creator's liquidity withdrawal")
async def withdraw(
    market_id: MarketIdPath,
    body: WalletBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> UnsignedTransaction:
    await rate_limit(st, request, response, "trades", body.wallet)
    m = await _market_in(st, market_id, "FINALIZED", "CANCELLED")
    if m["creator"] != body.wallet:
        raise ApiError(403, "not_creator", "only the market's creator can withdraw its liquidity")
    ix = b.withdraw_liquidity(
        Pubkey.from_string(body.wallet), bytes.fromhex(market_id), program_id=st.client.program_id
    )
    return await _unsigned(st, ix, body.wallet)


class RelayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    transaction: str = Field(min_length=1, max_length=2000, description="base64 signed transaction")
    wait: Literal["none", "confirmed"] = "confirmed"


@router.post(
    "/transactions",
    summary="Relay a signed transaction",
    description="`status` says what became of it: submitted (wait=none), confirmed (with its "
    "slot), failed (it landed and the program refused it: the error's name and code) or "
    "expired (its blockhash expired first). A transaction the chain's simulation refuses is "
    "a 400 instead.",
    response_model=Relayed,
)
async def relay(
    body: RelayBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> RelaySubmitted | RelayConfirmed | RelayFailed | RelayExpired:
    await rate_limit(st, request, response, "relay")
    try:
        raw = base64.b64decode(body.transaction, validate=True)
        tx = VersionedTransaction.from_bytes(raw)
    except (binascii.Error, ValueError):
        raise ApiError(
            422, "invalid_transaction", "transaction: not a base64 Solana transaction"
        ) from None
    if not tx.signatures or not all(tx.verify_with_results()):
        raise ApiError(422, "unsigned_transaction", "the transaction is not (fully) signed")
    sig = str(tx.signatures[0])
    try:
        await st.client.send_raw(raw)
        if body.wait == "none":
            return RelaySubmitted(signature=sig, status="submitted")
        # Confirmed as soon as the node's signatureSubscribe says so (polling is the fallback).
        slot = await asyncio.wait_for(st.client.confirm(sig), timeout=60)
        return RelayConfirmed(signature=sig, status="confirmed", slot=slot)
    except PreflightFailed as e:
        raise ApiError(
            400,
            "transaction_rejected",
            f"simulation failed: {e.name or e}",
            {"error": e.name, "code": e.code, "logs": e.logs[-20:]},
        ) from None
    except TransactionFailed as e:
        return RelayFailed(signature=sig, status="failed", error=e.name or str(e), code=e.code)
    except TransactionExpired:
        return RelayExpired(signature=sig, status="expired")
    except TimeoutError:
        raise ApiError(
            503,
            "chain_unavailable",
            "the Solana RPC is not answering: TimeoutError",
            headers={"Retry-After": str(CHAIN_RETRY_AFTER_S)},
        ) from None
    except RpcUnavailable as e:
        raise chain_unavailable(e) from None
    except RpcError as e:
        raise ApiError(400, "transaction_rejected", str(e)) from None
