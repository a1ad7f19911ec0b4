"""Sign-In-With-Solana: how every signed write to the API (post or delete a comment, admin
actions) proves which wallet asked for it.

The server issues a single-use nonce and hands the client the exact text to sign
(`build_message(...).to_text()`); the wallet signs those UTF-8 bytes with ed25519 (SOLANA.md §5:
no prefix, no hashing); `check` then verifies the text, the signature and consumes the nonce.

Decisions, and why:
- The text is the one `@solana/wallet-standard-util` `createSignInMessageText` writes, so a
  wallet's `solana:signIn` and a plain `signMessage` of our text are the same bytes. `parse` is
  its exact inverse: one text, one message, anything else is refused (`malformed_message`).
- Nonces must have been issued by this server (`issue_nonce`): a client cannot pick its own, so
  an old signed message cannot be replayed after its row is purged (it is then unknown). Each
  nonce is single-use, bound to one purpose and, when issued for a wallet, to that wallet.
- The signature is checked before the nonce is consumed, so nobody without the key can burn
  someone else's nonce.
- Messages name the action and its subject in the statement (`statement_for`) and carry the
  hash of the content they authorise as a resource (`content_resource`), so a signature for one
  comment cannot post another.
- `SiwsError` carries a stable `code` for the API to map to a status, and a message for humans
  that never repeats the signature.

The SQL lives here, next to the only code that uses it; it is three statements on one table.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

import base58
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from psycopg import AsyncConnection

from hybridmarket.canonical import sha256_hex

__all__ = [
    "ACTION_STATEMENTS",
    "ADDRESS_CHARS",
    "CLOCK_SKEW",
    "DEFAULT_CHAIN_ID",
    "ERROR_CODES",
    "MAX_TEXT_CHARS",
    "SIGNATURE_CHARS",
    "SiwsError",
    "SiwsMessage",
    "build_message",
    "check",
    "content_resource",
    "decode_address",
    "decode_signature",
    "format_timestamp",
    "issue_nonce",
    "parse",
    "parse_timestamp",
    "purge_expired",
    "statement_for",
    "verify_signature",
]

# Every code `SiwsError` can carry; the API maps each to a status code in one place.
ERROR_CODES: Final = frozenset(
    {
        "malformed_message",  # not SIWS text, or missing a field the server needs
        "malformed_signature",  # not base58/base64, or not 64 bytes
        "malformed_address",  # not base58 of 32 bytes
        "bad_signature",  # well formed, but not this wallet's signature of this text
        "wrong_domain",
        "wrong_chain",  # the Chain ID is not this deployment's cluster (or is missing)
        "wrong_wallet",  # the message's wallet, or the wallet the nonce was issued to
        "wrong_statement",
        "content_mismatch",  # a required resource (content hash) is missing
        "not_yet_valid",  # issued_at / not_before in the future beyond the clock skew
        "expired",  # no expiration time, or it has passed
        "ttl_too_long",
        "unknown_nonce",  # never issued by this server (or purged)
        "replayed_nonce",  # already used
        "expired_nonce",  # issued, never used, but its row has expired
        "wrong_purpose",  # issued for another kind of action
    }
)

DEFAULT_CHAIN_ID: Final = "localnet"
CLOCK_SKEW: Final = timedelta(seconds=60)
# Longer texts are refused before any parsing or decoding work is done.
MAX_TEXT_CHARS: Final = 8192
# Base58 costs the square of its length to decode, so lengths are checked before decoding:
# 64 bytes are 64 (all zero) to 88 base58 characters, or 88 base64; 32 bytes are 32 to 44.
SIGNATURE_CHARS: Final = (64, 88)
ADDRESS_CHARS: Final = (32, 44)

_HEADER: Final = " wants you to sign in with your Solana account:\n"
# The optional fields in the order the text must list them: (attribute, label).
_FIELDS: Final = (
    ("uri", "URI: "),
    ("version", "Version: "),
    ("chain_id", "Chain ID: "),
    ("nonce", "Nonce: "),
    ("issued_at", "Issued At: "),
    ("expiration_time", "Expiration Time: "),
    ("not_before", "Not Before: "),
    ("request_id", "Request ID: "),
)
_TIME_FIELDS: Final = frozenset({"issued_at", "expiration_time", "not_before"})
_RESOURCES: Final = "Resources:"
_LABELS: Final = (*(label for _, label in _FIELDS), _RESOURCES)

_BASE58: Final = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")
_BASE64: Final = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_NO_SPACE: Final = re.compile(r"\S+")
_NONCE: Final = re.compile(r"[A-Za-z0-9]{8,128}")
_TIMESTAMP: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)


class SiwsError(Exception):
    """A refused sign-in message: `code` (one of `ERROR_CODES`) for machines, `message` for
    people. Never built from the signature, so logging it cannot leak one."""

    def __init__(self, code: str, message: str) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown SIWS error code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _malformed(message: str) -> SiwsError:
    return SiwsError("malformed_message", message)


# --- timestamps ---------------------------------------------------------------------------


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and `Z`, as JavaScript's `Date.toISOString()`."""
    if value.tzinfo is None:
        raise ValueError("SIWS timestamps must be timezone-aware")
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
        f".{v.microsecond // 1000:03d}Z"
    )


def parse_timestamp(text: str) -> datetime:
    """The inverse of `format_timestamp`, lenient as wallets differ: with or without fractional
    seconds, `Z` or a numeric offset (converted to UTC). Dates alone and naive times are
    refused. Precision is cut to milliseconds, the precision of the text form."""
    m = _TIMESTAMP.fullmatch(text)
    if m is None:
        raise _malformed(f"not an ISO 8601 UTC timestamp: {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, zone = m.group(7) or "", m.group(8)
    millis = int((fraction + "000")[:3])
    if zone == "Z":
        tz = UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        hh, mm = int(zone[1:3]), int(zone[4:6])
        if hh > 23 or mm > 59:
            raise _malformed(f"bad UTC offset in timestamp {text!r}")
        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
    try:
        value = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=tz)
        return value.astimezone(UTC)
    except (ValueError, OverflowError) as e:
        raise _malformed(f"invalid timestamp {text!r}") from e


def _to_millis(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise _malformed("SIWS timestamps must be timezone-aware")
    v = value.astimezone(UTC)
    return v.replace(microsecond=v.microsecond // 1000 * 1000)


# --- the message --------------------------------------------------------------------------


@dataclass(frozen=True)
class SiwsMessage:
    """One Sign-In-With-Solana message. Optional fields are `None` when absent (then they are
    left out of the text); `resources` is empty when absent. Construction refuses what the
    text form could not carry unambiguously (newlines, empty values, a statement that reads
    like a field), so `parse(m.to_text()) == m` always holds. Timestamps are stored in UTC,
    cut to milliseconds."""

    domain: str
    address: str
    statement: str | None = None
    uri: str | None = None
    version: str | None = "1"
    chain_id: str | None = None
    nonce: str | None = None
    issued_at: datetime | None = None
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.domain, str) or not _NO_SPACE.fullmatch(self.domain):
            raise _malformed("domain must be non-empty, without spaces or newlines")
        if not isinstance(self.address, str) or not _NO_SPACE.fullmatch(self.address):
            raise _malformed("address must be non-empty, without spaces or newlines")
        if self.statement is not None:
            _check_value("statement", self.statement)
            if self.statement.startswith(_LABELS):
                raise _malformed("statement must not begin like a field (e.g. 'URI: ')")
        for name in ("uri", "version", "chain_id", "nonce", "request_id"):
            value = getattr(self, name)
            if value is not None:
                _check_value(name, value)
        for name in _TIME_FIELDS:
            value = getattr(self, name)
            if value is not None:
                if not isinstance(value, datetime):
                    raise _malformed(f"{name} must be a datetime")
                object.__setattr__(self, name, _to_millis(value))
        if isinstance(self.resources, str):
            raise _malformed("resources must be a sequence of strings, not one string")
        resources = tuple(self.resources)
        for r in resources:
            _check_value("resource", r)
        object.__setattr__(self, "resources", resources)

    def to_text(self) -> str:
        """The exact text to sign: `createSignInMessageText` of wallet-standard-util, no
        trailing newline."""
        text = f"{self.domain}{_HEADER}{self.address}"
        if self.statement is not None:
            text += f"\n\n{self.statement}"
        fields: list[str] = []
        for name, label in _FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            fields.append(label + (format_timestamp(value) if name in _TIME_FIELDS else value))
        if self.resources:
            fields.append(_RESOURCES)
            fields.extend(f"- {r}" for r in self.resources)
        if fields:
            text += "\n\n" + "\n".join(fields)
        return text

    @classmethod
    def parse(cls, text: str) -> SiwsMessage:
        return parse(text)


def _check_value(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise _malformed(f"{name} must be a non-empty string")
    if "\n" in value or "\r" in value:
        raise _malformed(f"{name} must not contain a line break")


def parse(text: str) -> SiwsMessage:
    """Read SIWS text back into a `SiwsMessage`: the exact inverse of `SiwsMessage.to_text`
    (timestamps excepted, which are read leniently). Fields must appear once each, in the
    standard order; no blank lines beyond the two separators, no trailing newline.

    Raises `SiwsError("malformed_message")` on anything else."""
    if not isinstance(text, str):
        raise _malformed("message must be text")
    if len(text) > MAX_TEXT_CHARS:
        raise _malformed(f"message longer than {MAX_TEXT_CHARS} characters")
    domain, sep, rest = text.partition(_HEADER)
    if not sep:
        raise _malformed("missing the 'wants you to sign in with your Solana account:' line")
    address, newline, rest = rest.partition("\n")
    statement: str | None = None
    values: dict[str, Any] = {}
    resources: list[str] = []
    if newline:
        if not rest.startswith("\n") or len(rest) == 1:
            raise _malformed("the address must be followed by a blank line and more text")
        blocks = rest[1:].split("\n\n")
        if len(blocks) > 2 or any(not b for b in blocks):
            raise _malformed("unexpected blank line")
        if len(blocks) == 2 or not blocks[0].startswith(_LABELS):
            statement = blocks[0]
            if "\n" in statement:
                raise _malformed("the statement must be one line")
            blocks = blocks[1:]
        if blocks:
            _parse_fields(blocks[0], values, resources)
    return SiwsMessage(
        domain=domain,
        address=address,
        statement=statement,
        uri=values.get("uri"),
        version=values.get("version"),
        chain_id=values.get("chain_id"),
        nonce=values.get("nonce"),
        issued_at=values.get("issued_at"),
        expiration_time=values.get("expiration_time"),
        not_before=values.get("not_before"),
        request_id=values.get("request_id"),
        resources=tuple(resources),
    )


def _parse_fields(block: str, values: dict[str, Any], resources: list[str]) -> None:
    lines = block.split("\n")
    position = 0  # fields before this index in _FIELDS can no longer appear
    for i, line in enumerate(lines):
        if line == _RESOURCES:
            items = lines[i + 1 :]
            if not items:
                raise _malformed("'Resources:' lists no resource")
            for item in items:
                if not item.startswith("- ") or len(item) == 2:
                    raise _malformed("each resource line must read '- <resource>'")
                resources.append(item[2:])
            return
        for j in range(position, len(_FIELDS)):
            name, label = _FIELDS[j]
            if line.startswith(label):
                value = line[len(label) :]
                if not value:
                    raise _malformed(f"empty {label.strip()} field")
                values[name] = parse_timestamp(value) if name in _TIME_FIELDS else value
                position = j + 1
                break
        else:
            raise _malformed(f"unknown, repeated or out-of-order field: {line[:40]!r}")


# --- building messages for clients -------------------------------------------------------

# The statement of each signed action, naming what is done and to what. The API and the
# client both form it from the action and its subject, so a signature says what it allows.
ACTION_STATEMENTS: Final[dict[str, str]] = {
    "post_comment": "Post a comment on market {}",
    "delete_comment": "Delete comment {}",
    "create_market": "Publish the metadata of market {}",
    "approve_market": "Approve market {}",
    "finalize_market": "Finalize market {}",
    "cancel_market": "Cancel market {}",
    "follow_market": "Follow market {}",
    "unfollow_market": "Unfollow market {}",
    "read_notifications": "Mark my notifications read up to {}",
}
_SUBJECT: Final = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def statement_for(action: str, subject: str) -> str:
    """The statement for `action` (a key of `ACTION_STATEMENTS`) on `subject`: a market id for
    market actions, a comment id for `delete_comment`. E.g. `statement_for("post_comment",
    "ab12…")` == "Post a comment on market ab12…"."""
    template = ACTION_STATEMENTS.get(action)
    if template is None:
        raise ValueError(f"unknown signed action {action!r}")
    subject = str(subject)
    if not _SUBJECT.fullmatch(subject):
        raise ValueError("subject must be 1-128 characters of [A-Za-z0-9_.:-]")
    return template.format(subject)


def content_resource(content: str) -> str:
    """The resource binding a message to the content it authorises: 'sha256:' + hex digest of
    the UTF-8 bytes. The client signs the hash, the server recomputes it from what it got."""
    return "sha256:" + sha256_hex(content.encode("utf-8"))


def build_message(
    domain: str,
    address: str,
    statement: str,
    nonce: str,
    *,
    ttl_seconds: int = 300,
    resources: Sequence[str] = (),
    uri: str | None = None,
    chain_id: str | None = DEFAULT_CHAIN_ID,
    now: datetime | None = None,
) -> SiwsMessage:
    """The message the server asks a wallet to sign: issued now, expiring `ttl_seconds` later
    (match the nonce's ttl from `issue_nonce`). Give the client `.to_text()`, verbatim."""
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    issued = _to_millis(now if now is not None else datetime.now(UTC))
    return SiwsMessage(
        domain=domain,
        address=address,
        statement=statement,
        uri=uri,
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        issued_at=issued,
        expiration_time=issued + timedelta(seconds=ttl_seconds),
        resources=tuple(resources),
    )


# --- signatures ---------------------------------------------------------------------------


def decode_address(address: str) -> bytes:
    """The 32 bytes of a wallet address (base58), or `SiwsError("malformed_address")`."""
    if (
        not isinstance(address, str)
        or not ADDRESS_CHARS[0] <= len(address) <= ADDRESS_CHARS[1]
        or not _BASE58.fullmatch(address)
    ):
        raise SiwsError("malformed_address", "wallet address is not base58")
    raw = base58.b58decode(address)
    if len(raw) != 32:
        raise SiwsError("malformed_address", "wallet address is not 32 bytes")
    return raw


def decode_signature(signature: str) -> bytes:
    """The 64 bytes of a signature given in base58 or base64. Base64 is recognised by `=`,
    `+` or `/` (absent from base58; a 64-byte base64 string always ends in `==`) and decoded
    strictly; anything else must be base58."""
    if (
        not isinstance(signature, str)
        or not SIGNATURE_CHARS[0] <= len(signature) <= SIGNATURE_CHARS[1]
    ):
        raise SiwsError(
            "malformed_signature",
            f"signature is not {SIGNATURE_CHARS[0]}-{SIGNATURE_CHARS[1]} characters",
        )
    if any(c in signature for c in "=+/"):
        if not _BASE64.fullmatch(signature):
            raise SiwsError("malformed_signature", "signature is not valid base64")
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError) as e:
            raise SiwsError("malformed_signature", "signature is not valid base64") from e
    else:
        if not _BASE58.fullmatch(signature):
            raise SiwsError("malformed_signature", "signature is neither base58 nor base64")
        raw = base58.b58decode(signature)
    if len(raw) != 64:
        raise SiwsError("malformed_signature", f"signature is {len(raw)} bytes, not 64")
    return raw


def verify_signature(address: str, message_text: str, signature: str) -> None:
    """Check that `signature` (base58 or base64) is the ed25519 signature by wallet `address`
    of exactly the UTF-8 bytes of `message_text` (what a wallet's signMessage signs). Returns
    nothing; raises `SiwsError` with code malformed_address, malformed_signature,
    malformed_message or bad_signature."""
    key = decode_address(address)
    sig = decode_signature(signature)
    try:
        payload = message_text.encode("utf-8")
    except (UnicodeEncodeError, AttributeError) as e:
        raise _malformed("message is not encodable as UTF-8") from e
    try:
        VerifyKey(key).verify(payload, sig)
    except BadSignatureError as e:
        raise SiwsError("bad_signature", "signature does not match the message and wallet") from e


# --- nonces and the full check ------------------------------------------------------------

_ISSUE_SQL: Final = (
    "INSERT INTO auth_nonces (nonce, wallet, purpose, expires_at) "
    "VALUES (%s, %s, %s, now() + make_interval(secs => %s)) RETURNING expires_at"
)
# Consumes the nonce atomically: of two concurrent checks, exactly one gets the row.
_CONSUME_SQL: Final = (
    "UPDATE auth_nonces SET used_at = now() "
    "WHERE nonce = %s AND used_at IS NULL AND expires_at > now() "
    "AND (wallet IS NULL OR wallet = %s) AND purpose = %s RETURNING nonce"
)
_DIAGNOSE_SQL: Final = (
    "SELECT wallet, purpose, used_at IS NOT NULL, expires_at <= now() "
    "FROM auth_nonces WHERE nonce = %s"
)


async def issue_nonce(
    conn: AsyncConnection[Any], *, wallet: str | None, purpose: str, ttl_seconds: int = 300
) -> tuple[str, datetime]:
    """Issue a fresh nonce (32 hex characters, 128 random bits: alphanumeric as EIP-4361
    asks) for `purpose`, bound to `wallet` when given; returns it and its expiry (database
    clock). A check accepts it once, for that purpose and wallet, until it expires."""
    if wallet is not None:
        decode_address(wallet)
    if not purpose:
        raise ValueError("purpose must be non-empty")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    nonce = secrets.token_hex(16)
    cur = await conn.execute(_ISSUE_SQL, (nonce, wallet, purpose, ttl_seconds))
    row = await cur.fetchone()
    assert row is not None
    expires_at: datetime = row[0]
    return nonce, expires_at


async def purge_expired(conn: AsyncConnection[Any], *, grace_seconds: int = 0) -> int:
    """Delete nonces expired more than `grace_seconds` ago, used or not; returns how many.
    Safe at any time: a message whose nonce row is gone is refused as `unknown_nonce`, and
    no message outlives its nonce by more than `check`'s max_ttl."""
    cur = await conn.execute(
        "DELETE FROM auth_nonces WHERE expires_at <= now() - make_interval(secs => %s)",
        (grace_seconds,),
    )
    return cur.rowcount


async def check(
    conn: AsyncConnection[Any],
    *,
    text: str,
    signature: str,
    expected_domain: str,
    expected_address: str,
    expected_statement: str,
    required_resources: Sequence[str] = (),
    purpose: str,
    expected_chain_id: str | None = None,
    now: datetime | None = None,
    max_ttl: int = 600,
) -> SiwsMessage:
    """Accept a signed write request or raise `SiwsError`. Checks, in this order: the text
    holds no NUL and parses with a nonce (alphanumeric, 8-128) and issued-at, version 1 if
    given; domain; the chain id, when `expected_chain_id` is given; wallet; statement; each required resource; issued-at and not-before no
    later than now + 60 s; an expiration time after now; at most `max_ttl` seconds after
    issued-at; the signature; then consumes the nonce, which must have been issued by `issue_nonce` for
    `purpose` (and this wallet, if bound), be unused and unexpired.

    `now` (default: the system clock) judges the message's timestamps; the nonce's expiry is
    judged by the database clock. Run it inside the transaction that performs the action to
    make the nonce's use atomic with it: a rollback then leaves the nonce unused."""
    if isinstance(text, str) and "\x00" in text:
        # SIWS text may hold one (`parse` reads it), but the API stores what was signed, and
        # PostgreSQL text cannot hold NUL.
        raise _malformed("message contains a NUL character")
    msg = parse(text)
    if msg.nonce is None or not _NONCE.fullmatch(msg.nonce):
        raise _malformed("message needs a nonce of 8-128 letters and digits")
    if msg.issued_at is None:
        raise _malformed("message needs an Issued At time")
    if msg.version is not None and msg.version != "1":
        raise _malformed("only SIWS version 1 is understood")
    if msg.expiration_time is not None and msg.expiration_time <= msg.issued_at:
        raise _malformed("expiration time is not after the issued-at time")
    if msg.domain != expected_domain:
        raise SiwsError("wrong_domain", f"message is for {msg.domain!r}, not {expected_domain!r}")
    if expected_chain_id is not None and msg.chain_id != expected_chain_id:
        raise SiwsError(
            "wrong_chain", f"message is for chain {msg.chain_id!r}, not {expected_chain_id!r}"
        )
    if msg.address != expected_address:
        raise SiwsError("wrong_wallet", "message is signed in with another wallet")
    if msg.statement != expected_statement:
        raise SiwsError("wrong_statement", f"statement must read {expected_statement!r}")
    for resource in required_resources:
        if resource not in msg.resources:
            raise SiwsError("content_mismatch", f"message does not cover {resource!r}")
    current = _to_millis(now if now is not None else datetime.now(UTC))
    if msg.issued_at > current + CLOCK_SKEW or (
        msg.not_before is not None and msg.not_before > current + CLOCK_SKEW
    ):
        raise SiwsError("not_yet_valid", "message is not valid yet; check the clock")
    if msg.expiration_time is None:
        raise SiwsError("expired", "message has no expiration time")
    if msg.expiration_time <= current:
        raise SiwsError("expired", "message has expired; sign a new one")
    if msg.expiration_time - msg.issued_at > timedelta(seconds=max_ttl):
        raise SiwsError("ttl_too_long", f"message may be valid for at most {max_ttl} s")
    verify_signature(msg.address, text, signature)
    await _consume_nonce(conn, msg.nonce, msg.address, purpose)
    return msg


async def _consume_nonce(conn: AsyncConnection[Any], nonce: str, wallet: str, purpose: str) -> None:
    cur = await conn.execute(_CONSUME_SQL, (nonce, wallet, purpose))
    if await cur.fetchone() is not None:
        return
    cur = await conn.execute(_DIAGNOSE_SQL, (nonce,))
    row = await cur.fetchone()
    if row is None:
        raise SiwsError("unknown_nonce", "nonce was not issued by this server; ask for one")
    bound_wallet, issued_purpose, used, expired = row
    if used:
        raise SiwsError("replayed_nonce", "nonce was already used; ask for a new one")
    if expired:
        raise SiwsError("expired_nonce", "nonce has expired; ask for a new one")
    if issued_purpose != purpose:
        raise SiwsError("wrong_purpose", "nonce was issued for another action")
    if bound_wallet is not None and bound_wallet != wallet:
        raise SiwsError("wrong_wallet", "nonce was issued to another wallet")
    # Only reachable if the row changed between the two statements (e.g. it just expired).
    raise SiwsError("expired_nonce", "nonce is no longer valid; ask for a new one")
