"""The demo faucet: `POST /api/faucet {wallet}` airdrops 10 SOL on the local validator, so the web
UI's demo wallet (a keypair kept in the browser) can trade without any outside wallet or funds.
`GET /api/faucet?wallet=` tells whether the faucet is there and the wallet's balance.

Only on `SOLANA_CHAIN_ID=localnet`: on any other cluster the faucet answers 404
`faucet_unavailable`, since SOL there is real (or comes from that cluster's own faucet). Rate
limited with the relay's limits, per IP and per wallet."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict
from solders.pubkey import Pubkey

from hybridmarket.api.common import Wallet, rate_limit
from hybridmarket.api.errors import ApiError
from hybridmarket.api.models import Airdrop, FaucetInfo
from hybridmarket.api.routes import error_responses
from hybridmarket.api.state import ApiState, state
from hybridmarket.chain.errors import ChainError

router = APIRouter(
    prefix="/api/faucet", tags=["faucet"], responses=error_responses(400, 404, 422, 429, 503)
)
AIRDROP_LAMPORTS = 10 * 1_000_000_000


class FaucetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wallet: Wallet


def _available(st: ApiState) -> bool:
    return st.settings.chain_id == "localnet"


@router.get("", summary="Whether the faucet is available here, and a wallet's balance")
async def faucet_info(
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
    wallet: Annotated[Wallet, Query()],
) -> FaucetInfo:
    await rate_limit(st, request, response, "reads", wallet)
    balance = await st.client.get_balance(Pubkey.from_string(wallet))
    return FaucetInfo(
        wallet=wallet,
        balance=balance,
        available=_available(st),
        airdrop=AIRDROP_LAMPORTS,
        chain_id=st.settings.chain_id,
    )


@router.post("", summary="Airdrop 10 SOL to a wallet (local validator only)")
async def faucet(
    body: FaucetBody,
    request: Request,
    response: Response,
    st: Annotated[ApiState, Depends(state)],
) -> Airdrop:
    if not _available(st):
        raise ApiError(
            404,
            "faucet_unavailable",
            f"the faucet only runs on the local validator; this API is on {st.settings.chain_id!r}",
        )
    await rate_limit(st, request, response, "relay", body.wallet)
    key = Pubkey.from_string(body.wallet)
    try:
        signature = await st.client.request_airdrop(key, AIRDROP_LAMPORTS)
        balance = await st.client.get_balance(key)
    except ChainError as e:
        raise ApiError(503, "chain_unavailable", f"the airdrop failed: {e}") from None
    return Airdrop(
        wallet=body.wallet, signature=signature, lamports=AIRDROP_LAMPORTS, balance=balance
    )
