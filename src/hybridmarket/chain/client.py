"""The program client: read and decode the program's accounts, build and send its transactions,
and read transactions back with their events.

Built on solana-py's `AsyncClient`, every call going through `RpcGateway` for retries and
error mapping. Instructions come from `hybridmarket.program.builders`; this module only adds
blockhashes, signatures, sending and confirmation. Confirmation waits on the node's
`signatureSubscribe` when given its WebSocket URL (one shared connection per URL), polling
`getSignatureStatuses` only as the fallback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import base58
import httpx2
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment, Confirmed
from solana.rpc.models import MemcmpOpts, TxOpts
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from hybridmarket.chain.errors import (
    RpcError,
    RpcUnavailable,
    TransactionExpired,
    TransactionFailed,
)
from hybridmarket.chain.events import ParsedEvent, parse_program_events
from hybridmarket.chain.gateway import RetryPolicy, RpcGateway
from hybridmarket.codec.borsh import BorshError
from hybridmarket.program.accounts import (
    AccountState,
    GlobalConfig,
    MarketAccount,
    MarketState,
    UserPosition,
    VoteKind,
    VoteRecord,
)
from hybridmarket.program.ids import PROGRAM_ID, config_pda, market_pda, position_pda

MAX_SIGNATURE_STATUSES = 256  # getSignatureStatuses' limit per call

A = TypeVar("A", bound=AccountState)
MAX_MULTIPLE_ACCOUNTS = 100
_COMMITMENT_RANK = {"processed": 0, "confirmed": 1, "finalized": 2}
# With a subscription, the status is still polled now and then: for the blockhash's expiry,
# and in case a notification is lost.
SUBSCRIBED_POLL = 2.0
SUBSCRIBE_TIMEOUT = 2.0  # connecting and subscribing; past it, confirm polls instead


@dataclass(frozen=True, slots=True)
class SentTransaction:
    signature: str
    slot: int | None


@dataclass(frozen=True, slots=True)
class TransactionInfo:
    """A transaction read back from the chain, with our program's events decoded."""

    signature: str
    slot: int
    block_time: int | None
    err: Any
    logs: tuple[str, ...]
    events: tuple[ParsedEvent, ...]
    truncated: bool
    fee: int

    @property
    def ok(self) -> bool:
        return self.err is None


def _status_name(value: Any) -> str:
    return str(value).rsplit(".", 1)[-1].lower() if value is not None else ""


class SignatureWatcher:
    """`signatureSubscribe` over one WebSocket shared by every confirmation waiting on it.

    `subscribe` answers, once the node has acknowledged the subscription, the subscription id
    and a future of the notification's (slot, err); the reader registers that future before it
    reads the next message, so a notification right after its acknowledgement is never missed.
    A lost connection fails every pending future with RpcUnavailable (their callers poll
    instead); the next `subscribe` connects again.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._connecting = asyncio.Lock()
        self._ids = itertools.count(1)
        self._acks: dict[int, asyncio.Future[tuple[int, asyncio.Future[tuple[int, Any]]]]] = {}
        self._waiters: dict[int, asyncio.Future[tuple[int, Any]]] = {}

    async def _connection(self) -> ClientConnection:
        async with self._connecting:
            if self._ws is None:
                self._ws = await ws_connect(self.url, max_size=2**20, compression=None)
                self._reader = asyncio.create_task(self._read(self._ws))
            return self._ws

    async def subscribe(
        self, signature: str, commitment: str
    ) -> tuple[int, asyncio.Future[tuple[int, Any]]]:
        """(subscription id, future of the notification's (slot, err))."""
        try:
            ws = await self._connection()
            req = next(self._ids)
            ack: asyncio.Future[tuple[int, asyncio.Future[tuple[int, Any]]]]
            ack = asyncio.get_running_loop().create_future()
            self._acks[req] = ack
            try:
                await ws.send(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "id": req,
                            "method": "signatureSubscribe",
                            "params": [signature, {"commitment": commitment}],
                        }
                    )
                )
                return await ack
            finally:
                self._acks.pop(req, None)
        except (OSError, TimeoutError) as e:
            raise RpcUnavailable(f"signatureSubscribe {self.url}: {e}") from e
        except Exception as e:  # websockets' ConnectionClosed, InvalidURI, InvalidHandshake
            if type(e).__module__.startswith("websockets"):
                raise RpcUnavailable(f"signatureSubscribe {self.url}: {type(e).__name__}") from e
            raise

    async def unsubscribe(self, sub_id: int) -> None:
        """Best effort: the node forgets a subscription its waiter gave up on."""
        if self._waiters.pop(sub_id, None) is None or self._ws is None:
            return
        with contextlib.suppress(Exception):
            await self._ws.send(
                json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": next(self._ids),
                        "method": "signatureUnsubscribe",
                        "params": [sub_id],
                    }
                )
            )

    async def _read(self, ws: ClientConnection) -> None:
        loop = asyncio.get_running_loop()
        error = RpcUnavailable(f"signatureSubscribe {self.url}: connection closed")
        try:
            async for raw in ws:
                msg = json.loads(raw)
                if "id" in msg:  # the answer to a subscribe (or an unsubscribe: no ack waits)
                    ack = self._acks.get(msg["id"])
                    if ack is None or ack.done():
                        continue
                    if "error" in msg:
                        ack.set_exception(RpcError(str(msg["error"].get("message"))))
                        continue
                    waiter: asyncio.Future[tuple[int, Any]] = loop.create_future()
                    self._waiters[int(msg["result"])] = waiter
                    ack.set_result((int(msg["result"]), waiter))
                elif msg.get("method") == "signatureNotification":
                    params = msg["params"]
                    found = self._waiters.pop(params["subscription"], None)
                    if found is not None and not found.done():
                        result = params["result"]
                        found.set_result((int(result["context"]["slot"]), result["value"]["err"]))
        except Exception as e:  # the connection failed: everyone waiting falls back to polling
            error = RpcUnavailable(f"signatureSubscribe {self.url}: {type(e).__name__}: {e}")
        finally:
            if self._ws is ws:
                self._ws = None
            pending: list[asyncio.Future[Any]] = [*self._acks.values(), *self._waiters.values()]
            self._acks.clear()
            self._waiters.clear()
            for f in pending:
                if not f.done():
                    f.set_exception(error)

    async def close(self) -> None:
        ws, reader = self._ws, self._reader
        self._ws = None
        if ws is not None:
            await ws.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


class ChainClient:
    """Async client for the market program over Solana JSON-RPC."""

    def __init__(
        self,
        rpc_url: str,
        *,
        program_id: Pubkey = PROGRAM_ID,
        commitment: Commitment = Confirmed,
        policy: RetryPolicy | None = None,
        ws_url: str | None = None,
    ) -> None:
        """`ws_url`: the node's PubSub endpoint, which `confirm` waits on (signatureSubscribe);
        without it, `confirm` polls."""
        self.rpc_url = rpc_url
        self.ws_url = ws_url
        self.program_id = program_id
        self.commitment = commitment
        self.gateway = RpcGateway(policy)
        self.rpc = AsyncClient(rpc_url, commitment=commitment, timeout=self.gateway.policy.timeout)
        self._http: httpx2.AsyncClient | None = None  # raw JSON-RPC (batch requests)
        self._watcher: SignatureWatcher | None = None  # on ws_url, opened by the first confirm

    async def __aenter__(self) -> ChainClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.rpc.close()
        if self._http is not None:
            await self._http.aclose()
        if self._watcher is not None:
            await self._watcher.close()
            self._watcher = None

    # ---- basic reads -------------------------------------------------------------------------
    async def get_slot(self, commitment: Commitment | None = None) -> int:
        resp = await self.gateway.call(
            "getSlot", lambda: self.rpc.get_slot(commitment or self.commitment)
        )
        return int(resp.value)

    async def chain_time(self) -> int:
        """The chain's clock: the unix time of the latest confirmed block (what the program's
        Clock sysvar reads, give or take a slot)."""
        slot = await self.get_slot()
        resp = await self.gateway.call("getBlockTime", lambda: self.rpc.get_block_time(slot))
        if resp.value is None:
            raise RpcError(f"getBlockTime: no time for slot {slot}")
        return int(resp.value)

    async def get_balance(self, key: Pubkey, commitment: Commitment | None = None) -> int:
        resp = await self.gateway.call(
            "getBalance", lambda: self.rpc.get_balance(key, commitment or self.commitment)
        )
        return int(resp.value)

    async def is_healthy(self) -> bool:
        try:
            resp = await self.gateway.call("getHealth", self.rpc.is_connected)
        except Exception:
            return False
        return bool(resp)

    async def block_height(self) -> int:
        resp = await self.gateway.call(
            "getBlockHeight", lambda: self.rpc.get_block_height(self.commitment)
        )
        return int(resp.value)

    async def latest_blockhash(self) -> tuple[Hash, int]:
        resp = await self.gateway.call(
            "getLatestBlockhash", lambda: self.rpc.get_latest_blockhash(self.commitment)
        )
        return resp.value.blockhash, resp.value.last_valid_block_height

    async def request_airdrop(self, key: Pubkey, lamports: int, *, confirm: bool = True) -> str:
        resp = await self.gateway.call(
            "requestAirdrop", lambda: self.rpc.request_airdrop(key, lamports, self.commitment)
        )
        sig = str(resp.value)
        if confirm:
            await self.confirm(sig)
        return sig

    # ---- accounts ----------------------------------------------------------------------------
    async def get_account_data(self, key: Pubkey) -> tuple[int, Pubkey, bytes] | None:
        """(lamports, owner, data) of an account, None if it does not exist."""
        resp = await self.gateway.call(
            "getAccountInfo",
            lambda: self.rpc.get_account_info(key, self.commitment, encoding="base64"),
        )
        acc = resp.value
        return None if acc is None else (acc.lamports, acc.owner, bytes(acc.data))

    async def get_multiple_raw(
        self, keys: Sequence[Pubkey]
    ) -> list[tuple[int, Pubkey, bytes] | None]:
        out: list[tuple[int, Pubkey, bytes] | None] = []
        for i in range(0, len(keys), MAX_MULTIPLE_ACCOUNTS):
            batch = list(keys[i : i + MAX_MULTIPLE_ACCOUNTS])
            resp = await self.gateway.call(
                "getMultipleAccounts",
                lambda batch=batch: self.rpc.get_multiple_accounts(batch, self.commitment),  # type: ignore[misc]
            )
            out.extend(
                None if a is None else (a.lamports, a.owner, bytes(a.data)) for a in resp.value
            )
        return out

    def _decode(self, raw: tuple[int, Pubkey, bytes] | None, cls: type[A]) -> A | None:
        if raw is None:
            return None
        _lamports, owner, data = raw
        if owner != self.program_id:
            raise RpcError(f"account is owned by {owner}, not the program {self.program_id}")
        try:
            return cls.from_account_data(data)
        except BorshError as e:
            raise RpcError(f"cannot decode {cls.__name__}: {e}") from None

    async def get_config(self) -> GlobalConfig | None:
        return self._decode(
            await self.get_account_data(config_pda(self.program_id)[0]), GlobalConfig
        )

    async def get_market(self, market_id: bytes) -> MarketAccount | None:
        key = market_pda(market_id, self.program_id)[0]
        return self._decode(await self.get_account_data(key), MarketAccount)

    async def get_markets(self, market_ids: Sequence[bytes]) -> list[MarketAccount | None]:
        """Markets by id, in order, through getMultipleAccounts in batches of 100."""
        keys = [market_pda(m, self.program_id)[0] for m in market_ids]
        return [self._decode(r, MarketAccount) for r in await self.get_multiple_raw(keys)]

    async def get_position(self, market_id: bytes, user: Pubkey) -> UserPosition | None:
        market = market_pda(market_id, self.program_id)[0]
        key = position_pda(market, user, self.program_id)[0]
        return self._decode(await self.get_account_data(key), UserPosition)

    async def _program_accounts(
        self, cls: type[A], memcmp: Sequence[tuple[int, bytes]] = ()
    ) -> list[tuple[Pubkey, A]]:
        filters: list[int | MemcmpOpts] = [
            cls.SPACE,
            MemcmpOpts(offset=0, bytes=base58.b58encode(cls.DISCRIMINATOR).decode()),
            *(MemcmpOpts(offset=o, bytes=base58.b58encode(v).decode()) for o, v in memcmp),
        ]
        resp = await self.gateway.call(
            "getProgramAccounts",
            lambda: self.rpc.get_program_accounts(
                self.program_id, self.commitment, encoding="base64", filters=filters
            ),
        )
        out = []
        for item in resp.value:
            decoded = self._decode(
                (item.account.lamports, item.account.owner, bytes(item.account.data)), cls
            )
            assert decoded is not None
            out.append((item.pubkey, decoded))
        return out

    async def list_markets(
        self, state: MarketState | None = None
    ) -> list[tuple[Pubkey, MarketAccount]]:
        memcmp = [] if state is None else [(MarketAccount.OFFSET_STATE, bytes([int(state)]))]
        return await self._program_accounts(MarketAccount, memcmp)

    async def list_positions(
        self, *, market_id: bytes | None = None, user: Pubkey | None = None
    ) -> list[tuple[Pubkey, UserPosition]]:
        memcmp: list[tuple[int, bytes]] = []
        if market_id is not None:
            memcmp.append(
                (UserPosition.OFFSET_MARKET, bytes(market_pda(market_id, self.program_id)[0]))
            )
        if user is not None:
            memcmp.append((UserPosition.OFFSET_USER, bytes(user)))
        return await self._program_accounts(UserPosition, memcmp)

    async def list_vote_records(
        self, market_id: bytes, kind: VoteKind | None = None
    ) -> list[tuple[Pubkey, VoteRecord]]:
        memcmp = [(VoteRecord.OFFSET_MARKET, bytes(market_pda(market_id, self.program_id)[0]))]
        if kind is not None:
            memcmp.append((VoteRecord.OFFSET_KIND, bytes([int(kind)])))
        return await self._program_accounts(VoteRecord, memcmp)

    # ---- transactions ------------------------------------------------------------------------
    @staticmethod
    def build_signed(
        instructions: Sequence[Instruction],
        payer: Keypair,
        signers: Sequence[Keypair],
        blockhash: Hash,
    ) -> VersionedTransaction:
        msg = MessageV0.try_compile(payer.pubkey(), list(instructions), [], blockhash)
        unique = {k.pubkey(): k for k in (payer, *signers)}
        return VersionedTransaction(msg, list(unique.values()))

    async def build_unsigned(
        self, instructions: Sequence[Instruction], payer: Pubkey
    ) -> tuple[str, int]:
        """A base64 v0 transaction with a fresh blockhash and empty signatures, for a wallet to
        sign (the Solana Actions convention), and the last block height at which it is valid."""
        blockhash, last_valid = await self.latest_blockhash()
        msg = MessageV0.try_compile(payer, list(instructions), [], blockhash)
        tx = VersionedTransaction.populate(
            msg, [Signature.default()] * msg.header.num_required_signatures
        )
        return base64.b64encode(bytes(tx)).decode(), last_valid

    async def send_raw(self, raw: bytes, *, skip_preflight: bool = False) -> str:
        """Send a signed wire transaction; PreflightFailed if its simulation fails."""
        opts = TxOpts(skip_preflight=skip_preflight, preflight_commitment=self.commitment)
        resp = await self.gateway.call(
            "sendTransaction", lambda: self.rpc.send_raw_transaction(raw, opts)
        )
        return str(resp.value)

    async def send(
        self,
        instructions: Sequence[Instruction],
        payer: Keypair,
        signers: Sequence[Keypair] = (),
        *,
        commitment: str = "confirmed",
        skip_preflight: bool = False,
        timeout: float = 60.0,
    ) -> SentTransaction:
        """Sign, send and confirm; raises TransactionFailed if it executed and failed."""
        blockhash, last_valid = await self.latest_blockhash()
        tx = self.build_signed(instructions, payer, signers, blockhash)
        sig = await self.send_raw(bytes(tx), skip_preflight=skip_preflight)
        slot = await self.confirm(
            sig, commitment=commitment, last_valid_block_height=last_valid, timeout=timeout
        )
        return SentTransaction(sig, slot)

    async def signature_status(self, signature: str) -> tuple[int, Any, str] | None:
        """(slot, err JSON, confirmation status) of a signature, None if the node has not seen it."""
        return (await self.signature_statuses([signature]))[0]

    async def signature_statuses(
        self, signatures: Sequence[str]
    ) -> list[tuple[int, Any, str] | None]:
        """`signature_status` of many signatures, in order, MAX_SIGNATURE_STATUSES to a
        getSignatureStatuses call (the method's limit): for confirming in bulk."""
        out: list[tuple[int, Any, str] | None] = []
        for i in range(0, len(signatures), MAX_SIGNATURE_STATUSES):
            chunk = [Signature.from_string(s) for s in signatures[i : i + MAX_SIGNATURE_STATUSES]]
            resp = await self.gateway.call(
                "getSignatureStatuses",
                functools.partial(self.rpc.get_signature_statuses, chunk, True),
            )
            values = json.loads(resp.to_json())["result"]["value"]
            for st, raw in zip(resp.value, values, strict=True):
                out.append(
                    None
                    if st is None
                    else (st.slot, raw["err"], _status_name(st.confirmation_status))
                )
        return out

    async def confirm(
        self,
        signature: str,
        *,
        commitment: str = "confirmed",
        last_valid_block_height: int | None = None,
        timeout: float = 60.0,
        poll: float = 0.2,
    ) -> int:
        """Wait until `signature` reaches `commitment`; returns its slot.

        With the client's `ws_url` (the node's PubSub endpoint) it waits on `signatureSubscribe`
        (one connection for all the client's waits) and answers
        as soon as the node notifies, reading the status only right after subscribing (for a
        transaction that landed before) and every SUBSCRIBED_POLL seconds (the blockhash's
        expiry, a lost notification). Without it, or when the subscription cannot be made or
        its connection drops, it polls every `poll` seconds.

        Raises TransactionFailed if it landed with an error (with its logs), TransactionExpired
        if its blockhash expired first, and RpcUnavailable if `timeout` passes.
        """
        want = _COMMITMENT_RANK[commitment]
        deadline = time.monotonic() + timeout
        watcher: SignatureWatcher | None = None
        sub: tuple[int, asyncio.Future[tuple[int, Any]]] | None = None
        if self.ws_url is not None:
            if self._watcher is None:
                self._watcher = SignatureWatcher(self.ws_url)
            watcher = self._watcher
            with contextlib.suppress(RpcUnavailable, RpcError, TimeoutError):
                sub = await asyncio.wait_for(
                    watcher.subscribe(signature, commitment), SUBSCRIBE_TIMEOUT
                )
        try:
            while True:
                if sub is not None and sub[1].done():
                    try:
                        slot, err = sub[1].result()
                    except RpcUnavailable:
                        sub = None  # the connection dropped: poll
                    else:
                        if err is not None:
                            info = await self.get_transaction(signature)
                            raise TransactionFailed(err, list(info.logs) if info else [], signature)
                        return slot
                st = await self.signature_status(signature)
                if st is not None:
                    slot, err, status = st
                    reached = _COMMITMENT_RANK.get(status, -1) >= want
                    if err is not None and _COMMITMENT_RANK.get(status, -1) >= 1:
                        info = await self.get_transaction(signature)
                        raise TransactionFailed(err, list(info.logs) if info else [], signature)
                    if reached and err is None:
                        return slot
                elif (
                    last_valid_block_height is not None
                    and await self.block_height() > last_valid_block_height
                ):
                    raise TransactionExpired(f"{signature}: blockhash expired before it landed")
                left = deadline - time.monotonic()
                if left < 0:
                    raise RpcUnavailable(f"{signature}: not {commitment} after {timeout:.0f}s")
                if sub is None:
                    await asyncio.sleep(min(poll, left))
                else:
                    await asyncio.wait([sub[1]], timeout=min(SUBSCRIBED_POLL, left))
        finally:
            if sub is not None and watcher is not None and not sub[1].done():
                await watcher.unsubscribe(sub[0])

    async def get_transaction(
        self, signature: str, commitment: Commitment = Confirmed
    ) -> TransactionInfo | None:
        resp = await self.gateway.call(
            "getTransaction",
            lambda: self.rpc.get_transaction(
                Signature.from_string(signature),
                "json",
                commitment,
                max_supported_transaction_version=0,
            ),
        )
        if resp.value is None:
            return None
        return self._tx_info(signature, json.loads(resp.to_json())["result"])

    async def get_transactions(
        self, signatures: Sequence[str], *, batch: int = 100
    ) -> list[TransactionInfo | None]:
        """Many `getTransaction` at once, as JSON-RPC batch requests of `batch` calls (one HTTP
        round trip each, retried as a whole); None where the node does not have it (yet)."""
        out: list[TransactionInfo | None] = []
        for i in range(0, len(signatures), batch):
            chunk = list(signatures[i : i + batch])
            body = [
                {
                    "jsonrpc": "2.0",
                    "id": n,
                    "method": "getTransaction",
                    "params": [
                        sig,
                        {
                            "encoding": "json",
                            "commitment": "confirmed",
                            "maxSupportedTransactionVersion": 0,
                        },
                    ],
                }
                for n, sig in enumerate(chunk)
            ]
            replies = await self.gateway.call(
                "getTransaction (batch)", functools.partial(self._post, body)
            )
            if not isinstance(replies, list) or len(replies) != len(chunk):
                raise RpcError("getTransaction batch: the node did not answer every request")
            by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
            for n, sig in enumerate(chunk):
                r = by_id.get(n)
                if r is None or "error" in r:
                    err = (r or {}).get("error") or {}
                    raise RpcError(
                        f"getTransaction {sig}: {err.get('message', err)}", code=err.get("code")
                    )
                out.append(None if r.get("result") is None else self._tx_info(sig, r["result"]))
        return out

    async def _post(self, body: Any) -> Any:
        if self._http is None:
            self._http = httpx2.AsyncClient(timeout=self.gateway.policy.timeout)
        resp = await self._http.post(self.rpc_url, json=body)
        resp.raise_for_status()
        return resp.json()

    def _tx_info(self, signature: str, raw: dict[str, Any]) -> TransactionInfo:
        meta = raw.get("meta") or {}
        logs = list(meta.get("logMessages") or [])
        err = meta.get("err")
        parsed = parse_program_events(logs, self.program_id)
        return TransactionInfo(
            signature=signature,
            slot=int(raw["slot"]),
            block_time=raw.get("blockTime"),
            err=err,
            logs=tuple(logs),
            # A failed transaction's events were rolled back with it.
            events=parsed.events if err is None else (),
            truncated=parsed.truncated,
            fee=int(meta.get("fee") or 0),
        )

    async def signatures_for_program(
        self, *, before: str | None = None, until: str | None = None, limit: int = 1000
    ) -> list[tuple[str, int, Any, int | None]]:
        """One page of (signature, slot, err, blockTime) for the program, newest first."""
        resp = await self.gateway.call(
            "getSignaturesForAddress",
            lambda: self.rpc.get_signatures_for_address(
                self.program_id,
                before=Signature.from_string(before) if before else None,
                until=Signature.from_string(until) if until else None,
                limit=limit,
                commitment=self.commitment,
            ),
        )
        rows = json.loads(resp.to_json())["result"]
        return [(r["signature"], r["slot"], r["err"], r.get("blockTime")) for r in rows]
