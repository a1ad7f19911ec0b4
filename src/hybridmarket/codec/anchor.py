"""Anchor's 8-byte discriminators and name conventions (SOLANA.md §1.1)."""

from __future__ import annotations

import hashlib
import re

DISCRIMINATOR_LEN = 8


def _disc(namespace: str, name: str) -> bytes:
    return hashlib.sha256(f"{namespace}:{name}".encode()).digest()[:DISCRIMINATOR_LEN]


def account_discriminator(struct_name: str) -> bytes:
    """`sha256("account:<StructName>")[:8]`."""
    return _disc("account", struct_name)


def instruction_discriminator(snake_name: str) -> bytes:
    """`sha256("global:<snake_name>")[:8]`: the name must be snake_case, as Anchor hashes it."""
    if snake_name != to_snake(snake_name):
        raise ValueError(f"instruction names are hashed in snake_case, not {snake_name!r}")
    return _disc("global", snake_name)


def event_discriminator(struct_name: str) -> bytes:
    """`sha256("event:<StructName>")[:8]`."""
    return _disc("event", struct_name)


def to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def to_upper_camel(snake: str) -> str:
    """`buy_shares` -> `BuyShares`, as Anchor prints it in `Program log: Instruction: …`."""
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))
