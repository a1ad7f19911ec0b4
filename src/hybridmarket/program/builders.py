"""Build the program's instructions (solders `Instruction`s) with their accounts and PDAs.

Pure: these only compute addresses and bytes. The chain client signs and sends them; the API
wraps them in unsigned transactions for wallets. Account order comes from `instructions.py`.
"""

from __future__ import annotations

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from hybridmarket.codec.borsh import BorshStruct
from hybridmarket.program.accounts import ConfigParams, VoteKind
from hybridmarket.program.ids import PROGRAM_ID, config_pda, market_pda, position_pda, vote_pda
from hybridmarket.program.instructions import (
    BY_NAME,
    ApproveMarketArgs,
    BuySharesArgs,
    FinalizeMarketArgs,
    InitializeConfigArgs,
    NoArgs,
    ProposeMarketArgs,
    ResolveMarketArgs,
    SellSharesArgs,
    SetPausedArgs,
    UpdateConfigArgs,
    VoteArgs,
)
from hybridmarket.program.runtime import SYSTEM_PROGRAM_ID


def build(
    name: str, args: BorshStruct, keys: dict[str, Pubkey], program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    """Any instruction by name: `keys` maps each account name of the instruction to its key."""
    ix = BY_NAME[name]
    if not isinstance(args, ix.args):
        raise TypeError(f"{name} takes {ix.args.__name__}, not {type(args).__name__}")
    metas = []
    for spec in ix.accounts:
        key = spec.address if spec.address is not None else keys.get(spec.name)
        if key is None:
            raise ValueError(f"{name}: missing account {spec.name!r}")
        metas.append(AccountMeta(key, spec.signer, spec.writable))
    return Instruction(program_id, ix.discriminator + args.encode(), metas)


def _market_keys(market_id: bytes, program_id: Pubkey) -> dict[str, Pubkey]:
    return {
        "config": config_pda(program_id)[0],
        "market": market_pda(market_id, program_id)[0],
        "system_program": SYSTEM_PROGRAM_ID,
    }


def initialize_config(
    admin: Pubkey, params: ConfigParams, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    keys = {"config": config_pda(program_id)[0], "admin": admin}
    return build("initialize_config", InitializeConfigArgs(params), keys, program_id)


def update_config(
    admin: Pubkey, params: ConfigParams, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    keys = {"config": config_pda(program_id)[0], "admin": admin}
    return build("update_config", UpdateConfigArgs(params), keys, program_id)


def set_paused(admin: Pubkey, paused: bool, program_id: Pubkey = PROGRAM_ID) -> Instruction:
    keys = {"config": config_pda(program_id)[0], "admin": admin}
    return build("set_paused", SetPausedArgs(paused), keys, program_id)


def propose_market(
    creator: Pubkey,
    market_id: bytes,
    b_parameter: int,
    initial_liquidity: int,
    resolver: Pubkey,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    keys = _market_keys(market_id, program_id) | {"creator": creator}
    args = ProposeMarketArgs(market_id, b_parameter, initial_liquidity, resolver)
    return build("propose_market", args, keys, program_id)


def _vote(
    name: str, kind: VoteKind, voter: Pubkey, market_id: bytes, vote: bool, program_id: Pubkey
) -> Instruction:
    keys = _market_keys(market_id, program_id) | {"voter": voter}
    keys["vote_record"] = vote_pda(keys["market"], voter, int(kind), program_id)[0]
    return build(name, VoteArgs(vote), keys, program_id)


def submit_proposal_vote(
    voter: Pubkey, market_id: bytes, vote: bool, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    return _vote("submit_proposal_vote", VoteKind.Proposal, voter, market_id, vote, program_id)


def submit_dispute_vote(
    voter: Pubkey, market_id: bytes, vote: bool, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    return _vote("submit_dispute_vote", VoteKind.Dispute, voter, market_id, vote, program_id)


def approve_market(
    backend: Pubkey, market_id: bytes, likes: int, dislikes: int, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    keys = _market_keys(market_id, program_id) | {"backend": backend}
    return build("approve_market", ApproveMarketArgs(likes, dislikes), keys, program_id)


def activate_market(
    creator: Pubkey, market_id: bytes, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    keys = _market_keys(market_id, program_id) | {"creator": creator}
    return build("activate_market", NoArgs(), keys, program_id)


def _trade_keys(
    trader: Pubkey, market_id: bytes, fee_wallet: Pubkey, program_id: Pubkey
) -> dict[str, Pubkey]:
    keys = _market_keys(market_id, program_id)
    keys |= {"trader": trader, "protocol_fee_wallet": fee_wallet}
    keys["position"] = position_pda(keys["market"], trader, program_id)[0]
    return keys


def buy_shares(
    trader: Pubkey,
    market_id: bytes,
    outcome: bool,
    shares: int,
    max_cost: int,
    protocol_fee_wallet: Pubkey,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    keys = _trade_keys(trader, market_id, protocol_fee_wallet, program_id)
    return build("buy_shares", BuySharesArgs(outcome, shares, max_cost), keys, program_id)


def sell_shares(
    trader: Pubkey,
    market_id: bytes,
    outcome: bool,
    shares: int,
    min_proceeds: int,
    protocol_fee_wallet: Pubkey,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    keys = _trade_keys(trader, market_id, protocol_fee_wallet, program_id)
    return build("sell_shares", SellSharesArgs(outcome, shares, min_proceeds), keys, program_id)


def resolve_market(
    resolver: Pubkey,
    market_id: bytes,
    outcome: bool | None,
    evidence_cid: bytes,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    keys = _market_keys(market_id, program_id) | {"resolver": resolver}
    return build("resolve_market", ResolveMarketArgs(outcome, evidence_cid), keys, program_id)


def initiate_dispute(
    initiator: Pubkey, market_id: bytes, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    keys = _market_keys(market_id, program_id) | {"initiator": initiator}
    return build("initiate_dispute", NoArgs(), keys, program_id)


def finalize_market(
    backend: Pubkey,
    market_id: bytes,
    resolver: Pubkey,
    agree: int | None = None,
    disagree: int | None = None,
    program_id: Pubkey = PROGRAM_ID,
) -> Instruction:
    keys = _market_keys(market_id, program_id) | {"backend": backend, "resolver": resolver}
    return build("finalize_market", FinalizeMarketArgs(agree, disagree), keys, program_id)


def cancel_market(
    authority: Pubkey, market_id: bytes, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    keys = _market_keys(market_id, program_id) | {"authority": authority}
    return build("cancel_market", NoArgs(), keys, program_id)


def claim_winnings(owner: Pubkey, market_id: bytes, program_id: Pubkey = PROGRAM_ID) -> Instruction:
    market = market_pda(market_id, program_id)[0]
    keys = {
        "market": market,
        "owner": owner,
        "position": position_pda(market, owner, program_id)[0],
    }
    return build("claim_winnings", NoArgs(), keys, program_id)


def withdraw_liquidity(
    creator: Pubkey, market_id: bytes, program_id: Pubkey = PROGRAM_ID
) -> Instruction:
    keys = {"market": market_pda(market_id, program_id)[0], "creator": creator}
    return build("withdraw_liquidity", NoArgs(), keys, program_id)
