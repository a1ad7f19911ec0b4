"""Borsh and Anchor codecs: known vectors, round trips of every account, event and instruction
argument type, and refusal of malformed bytes."""

from __future__ import annotations

import base64
from typing import Any

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from hybridmarket.codec import base58 as b58
from hybridmarket.codec import borsh as B  # noqa: N812 (short alias for a dense test)
from hybridmarket.codec.anchor import (
    account_discriminator,
    event_discriminator,
    instruction_discriminator,
    to_upper_camel,
)
from hybridmarket.program.accounts import ACCOUNT_TYPES, MarketAccount, decode_any_account
from hybridmarket.program.events import EVENT_TYPES, decode_event, decode_event_log
from hybridmarket.program.instructions import ARG_TYPES, INSTRUCTIONS

pytestmark = pytest.mark.unit


def test_known_discriminators_from_solana_md() -> None:
    assert account_discriminator("Vault").hex() == "d308e82b02987577"
    assert instruction_discriminator("deposit_funds").hex() == "ca2734d33514fa58"
    assert list(instruction_discriminator("initialize")) == [175, 175, 109, 31, 13, 152, 155, 237]
    assert event_discriminator("Deposited").hex() == "6f8d1a2da1236439"
    with pytest.raises(ValueError, match="snake_case"):
        instruction_discriminator("depositFunds")
    assert to_upper_camel("buy_shares") == "BuyShares"


def test_known_borsh_layout() -> None:
    out = bytearray()
    B.U64.encode(1_000_000, out)
    B.I64.encode(-5, out)
    B.U32.encode(7, out)
    B.U8.encode(254, out)
    B.BOOL.encode(True, out)
    B.Option(B.U64).encode(500, out)
    B.FixedBytes(4).encode(b"\x01\x02\x03\x04", out)
    assert out.hex() == ("40420f0000000000fbffffffffffffff07000000fe0101f40100000000000001020304")


def _strategy(t: B.BorshType[Any]) -> st.SearchStrategy[Any]:
    if isinstance(t, B._Int):
        return st.integers(t.lo, t.hi)
    if t is B.U128:
        return st.integers(0, (1 << 128) - 1)
    if t is B.BOOL:
        return st.booleans()
    if t is B.PUBKEY:
        return st.binary(min_size=32, max_size=32).map(Pubkey.from_bytes)
    if isinstance(t, B.FixedBytes):
        return st.binary(min_size=t.n, max_size=t.n)
    if isinstance(t, B.Bytes):
        return st.binary(max_size=t.max_len)
    if isinstance(t, B.Option):
        return st.none() | _strategy(t.inner)
    if isinstance(t, B.UnitEnum):
        return st.sampled_from(list(t.enum))
    if isinstance(t, B.Struct):
        return _struct_strategy(t.cls)
    raise AssertionError(f"no strategy for {t!r}")


def _struct_strategy(cls: type[B.BorshStruct]) -> st.SearchStrategy[Any]:
    return st.builds(cls, **{name: _strategy(t) for name, t in cls.SCHEMA})


ALL_STRUCTS = [*ACCOUNT_TYPES, *EVENT_TYPES, *ARG_TYPES]


@pytest.mark.parametrize("cls", ALL_STRUCTS, ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip(cls: type[B.BorshStruct], data: st.DataObject) -> None:
    value = data.draw(_struct_strategy(cls))
    raw = value.encode()
    assert len(raw) <= cls.max_size()
    assert cls.decode(raw) == value
    # Every strict prefix is refused with a typed error, never an IndexError or a wrong value.
    cut = data.draw(st.integers(0, max(0, len(raw) - 1)))
    if raw:
        with pytest.raises(B.BorshError):
            cls.decode(raw[:cut])
    with pytest.raises(B.BorshError, match="trailing"):
        cls.decode(raw + b"\x00")


@pytest.mark.parametrize("cls", ACCOUNT_TYPES, ids=lambda c: c.__name__)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_account_data_round_trip(cls: Any, data: st.DataObject) -> None:
    value = data.draw(_struct_strategy(cls))
    raw = value.to_account_data()
    assert len(raw) == cls.SPACE
    assert cls.from_account_data(raw) == value
    assert decode_any_account(raw) == value


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda c: c.__name__)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_event_log_round_trip(cls: Any, data: st.DataObject) -> None:
    value = data.draw(_struct_strategy(cls))
    line = value.to_log_line()
    assert line.startswith("Program data: ")
    assert decode_event_log(line) == value
    assert decode_event(base64.b64decode(line[14:])) == value


def test_bool_and_option_bytes_other_than_0_1_are_rejected() -> None:
    with pytest.raises(B.BorshError, match="Invalid bool representation: 2"):
        B.BOOL.decode(b"\x02", 0)
    with pytest.raises(B.BorshError, match="Invalid Option representation"):
        B.Option(B.U8).decode(b"\x02\x00", 0)


def test_encode_rejects_out_of_range_and_wrong_types() -> None:
    for t, v in [(B.U8, 256), (B.U64, -1), (B.U64, 1 << 64), (B.I64, 1 << 63), (B.U32, 1.0)]:
        with pytest.raises(B.BorshError):
            t.encode(v, bytearray())
    with pytest.raises(B.BorshError):
        B.BOOL.encode(1, bytearray())  # type: ignore[arg-type]
    with pytest.raises(B.BorshError):
        B.FixedBytes(32).encode(b"short", bytearray())
    with pytest.raises(B.BorshError, match="longer than the limit"):
        B.Bytes(4).encode(b"12345", bytearray())
    with pytest.raises(B.BorshError, match="longer than the limit"):
        B.Bytes(4).decode(b"\x05\x00\x00\x0012345", 0)


def test_unknown_discriminators_and_enum_variants() -> None:
    with pytest.raises(B.BorshError, match="unknown account discriminator"):
        decode_any_account(b"\x00" * 100)
    with pytest.raises(B.BorshError, match="unknown event discriminator"):
        decode_event(b"\x00" * 100)
    assert decode_event_log("Program data: !!notbase64") is None
    assert decode_event_log("Program log: hello") is None
    with pytest.raises(B.BorshError, match="discriminator mismatch"):
        MarketAccount.from_account_data(b"\x00" * MarketAccount.SPACE)
    m = bytearray(b"\x00" * MarketAccount.SPACE)
    m[:8] = MarketAccount.DISCRIMINATOR
    m[MarketAccount.OFFSET_STATE] = 7
    with pytest.raises(B.BorshError, match="unknown MarketState variant 7"):
        MarketAccount.from_account_data(bytes(m))


def test_instruction_discriminators_are_unique() -> None:
    discs = {ix.discriminator for ix in INSTRUCTIONS}
    assert len(discs) == len(INSTRUCTIONS)
    names = {c.__name__ for c in [*ACCOUNT_TYPES, *EVENT_TYPES]}
    assert len(names) == len(ACCOUNT_TYPES) + len(EVENT_TYPES)


def test_fixed_offsets_for_memcmp_filters() -> None:
    from hybridmarket.program.accounts import UserPosition, VoteRecord

    assert MarketAccount.OFFSET_STATE == 8 + 32 + 32
    for cls in (UserPosition, VoteRecord):
        assert cls.SCHEMA[0][0] == "market" and cls.OFFSET_MARKET == 8


@given(st.binary(max_size=1300), st.integers(min_value=0, max_value=4))
def test_base58_encode_is_the_base58_package_s(data: bytes, zeros: int) -> None:
    data = bytes(zeros) + data
    assert b58.encode(data) == base58.b58encode(data).decode()
