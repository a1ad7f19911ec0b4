"""Sign-In-With-Solana text and signatures: the exact text a wallet signs (written out by hand
here, not by the code under test), its parser, and ed25519 signatures made two independent ways
(PyNaCl and solders) in both transport encodings, with the refusals that matter."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import base58
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.signing import SigningKey
from solders.keypair import Keypair

from hybridmarket.api.siws import (
    SiwsError,
    SiwsMessage,
    build_message,
    content_resource,
    decode_signature,
    format_timestamp,
    parse,
    parse_timestamp,
    statement_for,
    verify_signature,
)

pytestmark = pytest.mark.unit

SEED = bytes(range(32))
NACL_KEY = SigningKey(SEED)
ADDRESS = base58.b58encode(bytes(NACL_KEY.verify_key)).decode()
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
HASH = "sha256:" + "ab" * 32

FULL = SiwsMessage(
    domain="market.example:8443",
    address=ADDRESS,
    statement="Post a comment on market 00ff",
    uri="https://market.example:8443",
    version="1",
    chain_id="devnet",
    nonce="3f2a9c4d5e6b7a8c",
    issued_at=T0,
    expiration_time=T0 + timedelta(minutes=5),
    resources=(HASH, "https://market.example:8443/markets/00ff"),
)
FULL_TEXT = (
    "market.example:8443 wants you to sign in with your Solana account:\n"
    f"{ADDRESS}\n"
    "\n"
    "Post a comment on market 00ff\n"
    "\n"
    "URI: https://market.example:8443\n"
    "Version: 1\n"
    "Chain ID: devnet\n"
    "Nonce: 3f2a9c4d5e6b7a8c\n"
    "Issued At: 2026-11-24T10:00:00.000Z\n"
    "Expiration Time: 2026-11-24T10:05:00.000Z\n"
    "Resources:\n"
    f"- {HASH}\n"
    "- https://market.example:8443/markets/00ff"
)

# Published by a third party (memo.io's API documentation): a wallet-signed SIWS message with
# a base64 signature and a timestamp without milliseconds.
MEMO_ADDRESS = "C1LSdxAezPHMdaEhLnjGfCkXNKKwwVJA7rq63AKSRwUU"
MEMO_TEXT = (
    f"memo.io wants you to sign in with your Solana account:\n{MEMO_ADDRESS}\n\n"
    "The message is only used for login\n\nURI: https://memo.io\nVersion: 1\n"
    "Chain ID: mainnet\n"
    "Nonce: 0e1b9cb8678063e79e93f78001954d8fd8d66dbcfaf4e58dfbde1e88ade3d452\n"
    "Issued At: 2024-01-17T08:09:15Z"
)
MEMO_SIGNATURE = (
    "4liJmTB4mJ2n9gvA3ow5sldghrn+1vMMkPHzt7CAJ+0nWpQc5Ywvm9FNSJzr9AOR/AzKCDm1RLhXyFub9CKvAQ=="
)


def nacl_sign(text: str, key: SigningKey = NACL_KEY) -> bytes:
    return key.sign(text.encode("utf-8")).signature


def b58(raw: bytes) -> str:
    return base58.b58encode(raw).decode()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def refused(code: str, address: str, text: str, signature: str) -> None:
    with pytest.raises(SiwsError) as e:
        verify_signature(address, text, signature)
    assert e.value.code == code
    if signature.strip():
        assert signature.strip() not in str(e.value)


# --- the text ------------------------------------------------------------------------------


def test_full_message_text_is_exactly_the_wallet_standard_form() -> None:
    assert FULL.to_text() == FULL_TEXT
    assert not FULL_TEXT.endswith("\n")
    assert parse(FULL_TEXT) == FULL
    assert SiwsMessage.parse(FULL_TEXT) == FULL


def test_message_without_statement_goes_straight_to_the_fields() -> None:
    m = SiwsMessage(
        domain="localhost:8000",
        address=ADDRESS,
        chain_id="localnet",
        nonce="abcdefgh12345678",
        issued_at=datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC),
        not_before=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        request_id="req-1",
    )
    text = (
        "localhost:8000 wants you to sign in with your Solana account:\n"
        f"{ADDRESS}\n"
        "\n"
        "Version: 1\n"
        "Chain ID: localnet\n"
        "Nonce: abcdefgh12345678\n"
        "Issued At: 2026-01-02T03:04:05.678Z\n"
        "Not Before: 2026-01-02T03:04:05.000Z\n"
        "Request ID: req-1"
    )
    assert m.to_text() == text
    assert parse(text) == m
    assert m.issued_at == datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)  # cut to ms


def test_minimal_messages_address_only_and_statement_only() -> None:
    bare = SiwsMessage("example.com", ADDRESS, version=None)
    assert (
        bare.to_text() == f"example.com wants you to sign in with your Solana account:\n{ADDRESS}"
    )
    assert parse(bare.to_text()) == bare
    said = SiwsMessage("example.com", ADDRESS, statement="Hello", version=None)
    assert said.to_text() == (
        f"example.com wants you to sign in with your Solana account:\n{ADDRESS}\n\nHello"
    )
    assert parse(said.to_text()) == said


def test_build_message_gives_the_server_text() -> None:
    m = build_message(
        "market.example:8443",
        ADDRESS,
        statement_for("post_comment", "00ff"),
        "3f2a9c4d5e6b7a8c",
        resources=(HASH, "https://market.example:8443/markets/00ff"),
        uri="https://market.example:8443",
        chain_id="devnet",
        now=T0 + timedelta(microseconds=999),
    )
    assert m == FULL
    assert m.to_text() == FULL_TEXT
    assert build_message("d", ADDRESS, "s", "n0nce123", now=T0).chain_id == "localnet"
    with pytest.raises(ValueError):
        build_message("d", ADDRESS, "s", "n0nce123", ttl_seconds=0)


def test_statements_and_content_resources() -> None:
    assert statement_for("post_comment", "ab12") == "Post a comment on market ab12"
    assert statement_for("delete_comment", "42") == "Delete comment 42"
    assert statement_for("cancel_market", "ab12") == "Cancel market ab12"
    with pytest.raises(ValueError):
        statement_for("steal_funds", "ab12")
    with pytest.raises(ValueError):
        statement_for("post_comment", "ab 12\nURI: x")
    # sha256("hello") written out, not computed by the code under test.
    assert content_resource("hello") == (
        "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    )
    assert content_resource("\u00e9") != content_resource("e\u0301")  # bytes, not meaning


def test_timestamps_are_read_leniently_and_written_as_javascript_does() -> None:
    expected = datetime(2026, 11, 24, 10, 0, 0, 123_000, tzinfo=UTC)
    for text in (
        "2026-11-24T10:00:00.123Z",
        "2026-11-24T10:00:00.123+00:00",
        "2026-11-24T10:00:00.123456789Z",
        "2026-11-24T12:00:00.123+02:00",
    ):
        assert parse_timestamp(text) == expected, text
    assert parse_timestamp("2026-11-24T10:00:00Z") == T0
    assert parse_timestamp("2026-11-24T10:00:00+00:00") == T0
    assert format_timestamp(expected) == "2026-11-24T10:00:00.123Z"
    assert format_timestamp(datetime(2026, 11, 24, 11, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-11-24T10:00:00.000Z"
    )
    for bad in (
        "2026-11-24",
        "2026-11-24T10:00:00",  # naive
        "2026-11-24 10:00:00Z",
        "2026-02-30T10:00:00Z",
        "2026-11-24T10:00:00.Z",
        "２０２６-11-24T10:00:00Z",  # full-width digits
    ):
        with pytest.raises(SiwsError) as e:
            parse_timestamp(bad)
        assert e.value.code == "malformed_message"


def test_lenient_timestamps_parse_to_the_canonical_text() -> None:
    m = parse(MEMO_TEXT)
    assert m.domain == "memo.io"
    assert m.statement == "The message is only used for login"
    assert m.chain_id == "mainnet"
    assert m.issued_at == datetime(2024, 1, 17, 8, 9, 15, tzinfo=UTC)
    assert m.to_text() == MEMO_TEXT.replace("08:09:15Z", "08:09:15.000Z")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        FULL_TEXT + "\n",
        FULL_TEXT + "\n\n",
        "\n" + FULL_TEXT,
        FULL_TEXT.replace("\n\nURI", "\n\n\nURI"),
        FULL_TEXT.replace("\n\nURI", "\nURI"),
        FULL_TEXT.replace("market.example:8443 wants", "market.example:8443  wants"),
        FULL_TEXT.replace("wants you to sign in", "wants you to log in"),
        FULL_TEXT.replace("Version: 1\nChain ID: devnet", "Chain ID: devnet\nVersion: 1"),
        FULL_TEXT.replace("Version: 1\n", "Version: 1\nVersion: 1\n"),
        FULL_TEXT.replace("Chain ID: devnet", "Chain Id: devnet"),
        FULL_TEXT.replace("Nonce: 3f2a9c4d5e6b7a8c", "Nonce: "),
        FULL_TEXT.replace("Issued At: 2026-11-24T10:00:00.000Z", "Issued At: yesterday"),
        FULL_TEXT.replace(f"- {HASH}", HASH),
        FULL_TEXT.replace(f"- {HASH}", "- "),
        FULL_TEXT.split("\n- ", maxsplit=1)[0],  # "Resources:" with none listed
        FULL_TEXT.replace("Resources:", "URI: again\nResources:"),
        FULL_TEXT.replace("00ff\n\nURI", "00ff\nmore statement\n\nURI"),
        FULL_TEXT.replace("00ff\n\nURI", "00ff\n\nextra block\n\nURI"),
        f"example.com wants you to sign in with your Solana account:\n{ADDRESS}\n",
        f"example.com wants you to sign in with your Solana account:\n{ADDRESS}\n\n",
        f"example.com wants you to sign in with your Solana account:\n{ADDRESS}\nHello",
        f"example.com wants you to sign in with your Solana account:\n{ADDRESS} x",
        "x" * 10_000,
    ],
)
def test_malformed_text_is_refused(text: str) -> None:
    with pytest.raises(SiwsError) as e:
        parse(text)
    assert e.value.code == "malformed_message"


def test_messages_the_text_could_not_carry_are_refused() -> None:
    for kwargs in (
        {"statement": "two\nlines"},
        {"statement": ""},
        {"statement": "URI: looks like a field"},
        {"uri": "https://x\r"},
        {"nonce": ""},
        {"resources": ("a\nb",)},
        {"resources": "sha256:abc"},
        {"issued_at": datetime(2026, 1, 1)},  # naive
    ):
        with pytest.raises(SiwsError) as e:
            SiwsMessage("example.com", ADDRESS, **kwargs)
        assert e.value.code == "malformed_message", kwargs
    with pytest.raises(SiwsError):
        SiwsMessage("exa mple.com", ADDRESS)


line = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\n\r"),
    min_size=1,
    max_size=30,
)
token = st.text(
    alphabet="abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ123456789:.-", min_size=1
)
moment = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)
LABELS = (
    "URI: ",
    "Version: ",
    "Chain ID: ",
    "Nonce: ",
    "Issued At: ",
    "Expiration Time: ",
    "Not Before: ",
    "Request ID: ",
    "Resources:",
)
messages = st.builds(
    SiwsMessage,
    domain=token,
    address=token,
    statement=st.none() | line.filter(lambda s: not s.startswith(LABELS)),
    uri=st.none() | line,
    version=st.none() | line,
    chain_id=st.none() | line,
    nonce=st.none() | line,
    issued_at=st.none() | moment,
    expiration_time=st.none() | moment,
    not_before=st.none() | moment,
    request_id=st.none() | line,
    resources=st.lists(line, max_size=4).map(tuple),
)


@given(messages)
def test_parse_is_the_exact_inverse_of_to_text(m: SiwsMessage) -> None:
    text = m.to_text()
    assert parse(text) == m
    assert parse(text).to_text() == text


@given(st.text(max_size=300))
def test_parse_never_fails_with_anything_but_siws_error(text: str) -> None:
    try:
        m = parse(text)
    except SiwsError as e:
        assert e.code == "malformed_message"
    else:
        assert parse(m.to_text()) == m


# --- signatures ----------------------------------------------------------------------------


def test_pynacl_and_solders_signatures_verify_in_base58_and_base64() -> None:
    text = FULL_TEXT
    by_nacl = nacl_sign(text)
    keypair = Keypair.from_seed(SEED)
    assert str(keypair.pubkey()) == ADDRESS
    by_solders = bytes(keypair.sign_message(text.encode("utf-8")))
    assert by_solders == by_nacl  # ed25519 is deterministic
    for raw in (by_nacl, by_solders):
        verify_signature(ADDRESS, text, b58(raw))
        verify_signature(ADDRESS, text, b64(raw))
    verify_signature(ADDRESS, text, str(keypair.sign_message(text.encode("utf-8"))))

    other = Keypair()
    other_text = text.replace(ADDRESS, str(other.pubkey()))
    sig = other.sign_message(other_text.encode("utf-8"))
    verify_signature(str(other.pubkey()), other_text, str(sig))
    verify_signature(str(other.pubkey()), other_text, b64(bytes(sig)))


def test_a_third_party_wallet_signature_verifies() -> None:
    verify_signature(MEMO_ADDRESS, MEMO_TEXT, MEMO_SIGNATURE)
    verify_signature(MEMO_ADDRESS, MEMO_TEXT, b58(base64.b64decode(MEMO_SIGNATURE)))
    refused("bad_signature", MEMO_ADDRESS, MEMO_TEXT + "\n", MEMO_SIGNATURE)


def test_non_ascii_text_is_signed_as_utf8_bytes_exactly() -> None:
    text = FULL_TEXT.replace("Post a comment on market 00ff", "Commenter \u00e7a \U0001f680")
    verify_signature(ADDRESS, text, b58(nacl_sign(text)))
    decomposed = text.replace("\u00e7", "c\u0327")  # looks the same, other bytes
    refused("bad_signature", ADDRESS, decomposed, b58(nacl_sign(text)))
    refused("malformed_message", ADDRESS, "\ud800", b58(nacl_sign(text)))


def test_one_flipped_bit_is_a_bad_signature() -> None:
    raw = bytearray(nacl_sign(FULL_TEXT))
    for bit in (0, 7, 255, 511):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        refused("bad_signature", ADDRESS, FULL_TEXT, b58(bytes(flipped)))
        refused("bad_signature", ADDRESS, FULL_TEXT, b64(bytes(flipped)))


def test_someone_elses_key_is_a_bad_signature() -> None:
    mallory = SigningKey.generate()
    refused("bad_signature", ADDRESS, FULL_TEXT, b58(nacl_sign(FULL_TEXT, mallory)))
    # ...and claiming to be mallory with the victim's signature fails too.
    mallory_address = b58(bytes(mallory.verify_key))
    refused("bad_signature", mallory_address, FULL_TEXT, b58(nacl_sign(FULL_TEXT)))


def test_altered_messages_are_bad_signatures() -> None:
    sig = b58(nacl_sign(FULL_TEXT))
    refused("bad_signature", ADDRESS, FULL_TEXT + "\n", sig)
    refused("bad_signature", ADDRESS, FULL_TEXT.replace("00ff", "00fe", 1), sig)
    refused("bad_signature", ADDRESS, FULL_TEXT.replace("10:05", "10:06"), sig)
    refused("bad_signature", ADDRESS, FULL_TEXT[:-1], sig)
    refused("bad_signature", ADDRESS, FULL_TEXT.replace("\n", "\r\n"), sig)


def test_malformed_signatures() -> None:
    raw = nacl_sign(FULL_TEXT)
    good58 = b58(raw)
    for bad in (
        "",
        "0OIl" + good58[4:],  # characters outside the base58 alphabet
        good58 + "0",
        good58[:-2],  # 62-63 bytes
        good58 + "11",  # leading-zero digits make it longer than 64 bytes
        b58(raw + b"\x00"),
        b58(raw[:32]),
        b64(raw)[:-2],  # padding removed: not strict base64
        b64(raw)[:-4] + "====",
        "*" + b64(raw)[1:],
        b64(raw) + "\n",
        " " + good58,
        b64(raw + b"\x00"),  # 65 bytes
        b64(raw[:63]),
        "A" * 500,
        "é" * 88,
    ):
        refused("malformed_signature", ADDRESS, FULL_TEXT, bad)
    assert decode_signature(good58) == raw
    assert decode_signature(b64(raw)) == raw


def test_malformed_addresses() -> None:
    sig = b58(nacl_sign(FULL_TEXT))
    for bad in (
        "",
        "0OIl" + ADDRESS[4:],
        ADDRESS[:-3],
        ADDRESS + "zzz",
        b58(bytes(31)),
        b58(bytes(33)),
        " " + ADDRESS,
    ):
        refused("malformed_address", bad, FULL_TEXT, sig)


def test_errors_never_echo_the_signature() -> None:
    sig = b58(nacl_sign(FULL_TEXT, SigningKey.generate()))
    with pytest.raises(SiwsError) as e:
        verify_signature(ADDRESS, FULL_TEXT, sig)
    assert sig not in repr(e.value) and sig not in e.value.message
    assert e.value.code == "bad_signature"
