"""hybridmarket: a binary prediction market with critical state on Solana and the rest in PostgreSQL."""

__version__ = "0.1.0"
