"""Clients we did not write, against the validator running the program binary in the SVM:
@solana/web3.js 1.x and @coral-xyz/anchor's `Program` (pinned in tools/anchor-check) over HTTP
and WebSocket. An airdrop confirmed through web3.js's blockhash strategy, a transfer through
`sendAndConfirmTransaction`, `onLogs` on the program, a buy through `program.methods`,
`getProgramAccounts`, `program.account.*.all()` and `getParsedTransaction`; every answer is
checked against what the chain holds, read back with our own client."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from hybridmarket.chain import ChainClient
from hybridmarket.chain.keys import load_keypair
from hybridmarket.localnet.validator import LocalValidator
from hybridmarket.program import builders as b
from hybridmarket.program.accounts import MarketState
from hybridmarket.program.ids import PROGRAM_ID, config_pda, market_pda, position_pda
from hybridmarket.program.lmsr import buy_cost

from .localnet_fixtures import SOL
from .node_tool import TOOL, run_script

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
IDL = TOOL.parents[1] / "idl" / "hybridmarket.json"
SYSTEM = "11111111111111111111111111111111"


async def _active_market(validator: LocalValidator, client: ChainClient) -> bytes:
    """A market proposed, liked by enough wallets, approved by the backend and activated."""
    cfg = await client.get_config()
    assert cfg is not None
    creator = Keypair()
    await client.request_airdrop(creator.pubkey(), 500 * SOL)
    mid = hashlib.sha256(b"traded from TypeScript").digest()
    await client.send(
        [b.propose_market(creator.pubkey(), mid, 100 * SOL, 70 * SOL, creator.pubkey())], creator
    )
    for _ in range(cfg.min_proposal_votes):
        voter = Keypair()
        await client.request_airdrop(voter.pubkey(), SOL)
        await client.send([b.submit_proposal_vote(voter.pubkey(), mid, True)], voter)
    backend = load_keypair(validator.key_paths["backend_authority"])
    await client.send([b.approve_market(backend.pubkey(), mid, cfg.min_proposal_votes, 0)], backend)
    await client.send([b.activate_market(creator.pubkey(), mid)], creator)
    return mid


async def test_web3js_and_anchor_program_drive_the_validator(
    validator: LocalValidator, client: ChainClient, anchor_check_tool: str
) -> None:
    mid = await _active_market(validator, client)
    market = market_pda(mid)[0]
    cfg = await client.get_config()
    before = await client.get_market(mid)
    assert cfg is not None and before is not None and before.state == MarketState.Active
    trader = Keypair()
    position = position_pda(market, trader.pubkey())[0]
    shares = 3 * SOL
    cost = buy_cost(before.shares_yes, before.shares_no, before.b_parameter, True, shares)
    request = {
        "url": validator.rpc_url,
        "wsUrl": validator.ws_url,
        "idl": str(IDL),
        "traderSecret": list(bytes(trader)),
        "market": str(market),
        "position": str(position),
        "config": str(config_pda()[0]),
        "feeWallet": str(cfg.protocol_fee_wallet),
        "shares": str(shares),
        "maxCost": str(2 * cost),
    }
    result: dict[str, Any] = await run_script(anchor_check_tool, "live.mjs", request)
    assert "error" not in result, f"{result['step']}: {result['error']}"

    # The airdrop and the transfer landed, as our client reads them.
    assert result["airdrop"]["trader"] == str(trader.pubkey())
    assert result["airdrop"]["balance"] == 5 * SOL
    dest = result["transfer"]["dest"]
    assert result["transfer"]["balance"] == 1_234_567
    assert await client.get_balance(Pubkey.from_string(dest)) == 1_234_567

    # The buy through program.methods is the buy our builder makes, and it traded.
    after = await client.get_market(mid)
    assert after is not None and after.shares_yes == before.shares_yes + shares
    held = await client.get_position(mid, trader.pubkey())
    assert held is not None and held.shares_yes == shares
    buy_sig = result["buy"]["signature"]
    status = await client.signature_status(buy_sig)
    assert status is not None and status[1] is None

    # onLogs reported that transaction, with the program's event Anchor decodes.
    logs = result["onLogs"]
    assert logs["signature"] == buy_sig
    assert any(f"Program {PROGRAM_ID} consumed " in line for line in logs["logs"])
    (event,) = [e for e in logs["events"] if e["name"] == "sharesBought"]
    assert event["data"]["shares"] == str(shares)
    assert event["data"]["trader"] == str(trader.pubkey())

    # getProgramAccounts and program.account.*.all() see what the chain holds.
    owned = {a["pubkey"] for a in result["programAccounts"]}
    assert {str(config_pda()[0]), str(market), str(position)} <= owned
    markets = {m["publicKey"]: m["account"] for m in result["markets"]}
    assert markets[str(market)]["sharesYes"] == str(after.shares_yes)
    assert markets[str(market)]["marketId"] == list(mid)
    (pos,) = result["positions"]
    assert pos["publicKey"] == str(position) and pos["account"]["sharesYes"] == str(shares)

    # getParsedTransaction: the program's instruction raw, its CPI (the system program moving
    # the trader's lamports) parsed, the SVM's compute units.
    parsed = result["parsed"]
    assert parsed["err"] is None and parsed["programIds"] == [str(PROGRAM_ID)]
    assert SYSTEM in parsed["innerPrograms"]
    assert parsed["computeUnitsConsumed"] > 10_000
