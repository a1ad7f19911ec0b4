"""The program's address and its PDA seeds (DESIGN.md §2)."""

from __future__ import annotations

from solders.pubkey import Pubkey

# sha256(b"hybridmarket:program:v1"): a fixed id for the model; a deployed Rust program keeps its own.
PROGRAM_ID = Pubkey.from_string("HuYJ8B2NjTFFpgaX9opWNbdoQ4oWyJnKwTr3uF4ziH7R")

CONFIG_SEED = b"global_config"
MARKET_SEED = b"market"
POSITION_SEED = b"position"
VOTE_SEED = b"vote"


def config_pda(program_id: Pubkey = PROGRAM_ID) -> tuple[Pubkey, int]:
    """GlobalConfig: `["global_config"]`."""
    return Pubkey.find_program_address([CONFIG_SEED], program_id)


def market_pda(market_id: bytes, program_id: Pubkey = PROGRAM_ID) -> tuple[Pubkey, int]:
    """MarketAccount: `["market", market_id]` (market_id is the 32-byte sha256 of the metadata)."""
    if len(market_id) != 32:
        raise ValueError(f"market_id must be 32 bytes, got {len(market_id)}")
    return Pubkey.find_program_address([MARKET_SEED, market_id], program_id)


def position_pda(
    market: Pubkey, user: Pubkey, program_id: Pubkey = PROGRAM_ID
) -> tuple[Pubkey, int]:
    """UserPosition: `["position", market, user]`."""
    return Pubkey.find_program_address([POSITION_SEED, bytes(market), bytes(user)], program_id)


def vote_pda(
    market: Pubkey, user: Pubkey, kind: int, program_id: Pubkey = PROGRAM_ID
) -> tuple[Pubkey, int]:
    """VoteRecord: `["vote", market, user, [kind]]`, kind 0 = proposal, 1 = dispute."""
    if kind not in (0, 1):
        raise ValueError(f"vote kind must be 0 (proposal) or 1 (dispute), got {kind!r}")
    return Pubkey.find_program_address(
        [VOTE_SEED, bytes(market), bytes(user), bytes([kind])], program_id
    )
