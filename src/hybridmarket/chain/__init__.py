"""The Solana side at the edge: one RPC gateway, the program client, event parsing, keypairs.

Everything here speaks only Solana JSON-RPC, so it runs unchanged against the embedded local
validator, devnet or mainnet.
"""

from hybridmarket.chain.client import ChainClient, SentTransaction, TransactionInfo
from hybridmarket.chain.errors import (
    ChainError,
    PreflightFailed,
    RateLimited,
    RpcError,
    RpcUnavailable,
    TransactionExpired,
    TransactionFailed,
)
from hybridmarket.chain.events import ParsedEvent, parse_program_events
from hybridmarket.chain.gateway import RetryPolicy, RpcGateway
from hybridmarket.chain.keys import load_keypair, write_keypair

__all__ = [
    "ChainClient",
    "ChainError",
    "ParsedEvent",
    "PreflightFailed",
    "RateLimited",
    "RetryPolicy",
    "RpcError",
    "RpcGateway",
    "RpcUnavailable",
    "SentTransaction",
    "TransactionExpired",
    "TransactionFailed",
    "TransactionInfo",
    "load_keypair",
    "parse_program_events",
    "write_keypair",
]
