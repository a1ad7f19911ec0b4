"""Solana's WebSocket PubSub: logs, signature, account and slot subscriptions.

Notifications are produced from the bank's hooks and delivered per commitment, as Agave does:
a `processed` subscription hears of a transaction when it executes, a `confirmed` one when its
slot closes (and is on disk), a `finalized` one when the slot is `finalize_depth` slots deep.
Shapes are Agave's, with the outer `{"jsonrpc":"2.0","method":"…Notification","params":
{"result":…, "subscription": id}}` wrapper. `logsNotification` carries the transaction's exact
log lines (the same list as `meta.logMessages`).

Each connection has one ordered outbound queue drained by one writer task, so answers and
notifications keep their order; test faults (drop, delay, close) are applied there, to
notifications only.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from solders.pubkey import Pubkey
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from hybridmarket.localnet import errors as errs
from hybridmarket.localnet.bank import (
    CONFIRMED,
    FINALIZED,
    PROCESSED,
    SlotState,
    TxRecord,
)
from hybridmarket.localnet.errors import RpcError, invalid_params
from hybridmarket.localnet.executor import EMPTY_ACCOUNT, Account
from hybridmarket.localnet.rpc import (
    API_VERSION,
    _config,
    _params,
    commitment_of,
    encode_account,
    parse_pubkey,
    parse_signature,
)

if TYPE_CHECKING:
    from hybridmarket.localnet.validator import LocalValidator

log = logging.getLogger(__name__)

_LEVEL = {PROCESSED: 0, CONFIRMED: 1, FINALIZED: 2}


@dataclass(eq=False, slots=True)
class Sub:
    id: int
    conn: Conn
    kind: str  # logs | signature | account | slot
    commitment: str = FINALIZED
    key: Any = None  # Pubkey (account, logs mentions), bytes (signature), None (logs all)
    encoding: str | None = None
    data_slice: dict[str, Any] | None = None


@dataclass(eq=False)
class Conn:
    ws: ServerConnection
    hub: PubSub
    queue: deque[tuple[str, bool]] = field(default_factory=deque)  # (text, is_notification)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    subs: dict[int, Sub] = field(default_factory=dict)
    closed: bool = False

    def push(self, text: str, notification: bool = True) -> None:
        if self.closed:
            return
        self.queue.append((text, notification))
        self.ready.set()

    async def writer(self) -> None:
        ws = self.ws
        try:
            while not self.closed:
                if not self.queue:
                    self.ready.clear()
                    await self.ready.wait()
                    continue
                text, notification = self.queue.popleft()
                faults = self.hub.v.faults
                if notification and faults.ws_active:
                    kind = faults.pick_ws()
                    if kind == "drop":
                        continue
                    if kind == "close":
                        self.closed = True
                        await ws.close(1011, "fault injected")
                        return
                    if faults.ws_delay_ms:
                        await asyncio.sleep(faults.ws_delay_ms / 1000)
                await ws.send(text)
        except ConnectionClosed:
            pass


def _wrap(method: str, result_json: str, sub_id: int) -> str:
    return (
        f'{{"jsonrpc":"2.0","method":"{method}","params":{{"result":{result_json},'
        f'"subscription":{sub_id}}}}}'
    )


def _ctx_value(slot: int, value: Any) -> str:
    return json.dumps(
        {"context": {"slot": slot, "apiVersion": API_VERSION}, "value": value},
        separators=(",", ":"),
    )


class PubSub:
    """The subscription registry and the bank listener that feeds it."""

    def __init__(self, validator: LocalValidator):
        self.v = validator
        self.ids = itertools.count(1)
        self.logs_all: list[dict[int, Sub]] = [{}, {}, {}]
        self.logs_mentions: list[dict[Pubkey, dict[int, Sub]]] = [{}, {}, {}]
        self.sig_subs: list[dict[bytes, dict[int, Sub]]] = [{}, {}, {}]
        self.acct_subs: list[dict[Pubkey, dict[int, Sub]]] = [{}, {}, {}]
        self.slot_subs: dict[int, Sub] = {}
        self.conns: set[Conn] = set()
        self.server: Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    # --- server -------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> int:
        self.server = await serve(
            self._handler, host, port, max_size=1 << 20, compression=None, ping_interval=None
        )
        return int(next(iter(self.server.sockets)).getsockname()[1])

    async def stop(self) -> None:
        if self.server is None:
            return
        self.server.close(close_connections=True)
        await self.server.wait_closed()
        self.server = None

    async def _handler(self, ws: ServerConnection) -> None:
        conn = Conn(ws, self)
        self.conns.add(conn)
        writer = asyncio.create_task(conn.writer())
        try:
            async for message in ws:
                for reply in self._handle_message(conn, message):
                    conn.push(reply, notification=False)
        except ConnectionClosed:
            pass
        finally:
            conn.closed = True
            conn.ready.set()
            self.conns.discard(conn)
            for sub in list(conn.subs.values()):
                self._remove(sub)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def _handle_message(self, conn: Conn, message: str | bytes) -> list[str]:
        try:
            payload = json.loads(message)
        except (ValueError, UnicodeDecodeError):
            err = RpcError(errs.PARSE_ERROR, "Parse error")
            return [json.dumps({"jsonrpc": "2.0", "error": err.to_json(), "id": None})]
        items = payload if isinstance(payload, list) else [payload]
        out: list[str] = []
        after: list[str] = []
        replies = [self._handle_one(conn, item, after) for item in items]
        if isinstance(payload, list):
            out.append(json.dumps(replies))
        else:
            out.append(json.dumps(replies[0]))
        return out + after

    def _handle_one(self, conn: Conn, req: Any, after: list[str]) -> dict[str, Any]:
        if not isinstance(req, dict):
            return {"jsonrpc": "2.0", "error": errs.invalid_request().to_json(), "id": None}
        req_id = req.get("id")
        method = req.get("method")
        try:
            if req.get("jsonrpc") != "2.0" or not isinstance(method, str):
                raise errs.invalid_request()
            result = self._dispatch(conn, method, req.get("params"), after)
        except RpcError as err:
            return {"jsonrpc": "2.0", "error": err.to_json(), "id": req_id}
        except Exception:
            log.exception("pubsub error in %s", method)
            return {"jsonrpc": "2.0", "error": errs.internal_error().to_json(), "id": req_id}
        return {"jsonrpc": "2.0", "result": result, "id": req_id}

    def _dispatch(self, conn: Conn, method: str, params: Any, after: list[str]) -> Any:
        if method.endswith("Unsubscribe"):
            p = _params(params)
            sid = p[0] if p else None
            kind = method[: -len("Unsubscribe")]
            sub = conn.subs.get(sid) if isinstance(sid, int) else None
            if sub is None or sub.kind != kind:
                raise invalid_params("Invalid subscription id.")
            self._remove(sub)
            return True
        p = _params(params)
        if method == "slotSubscribe":
            sub = self._add(conn, "slot")
            self.slot_subs[sub.id] = sub
            return sub.id
        if method == "logsSubscribe":
            flt = p[0] if p else None
            cfg = _config(p, 1)
            commitment = commitment_of(cfg)
            if flt in ("all", "allWithVotes"):
                sub = self._add(conn, "logs", commitment)
                self.logs_all[_LEVEL[commitment]][sub.id] = sub
                return sub.id
            if isinstance(flt, dict) and isinstance(flt.get("mentions"), list):
                mentions = flt["mentions"]
                if len(mentions) != 1:
                    raise invalid_params("Invalid Request: Only 1 address supported")
                pk = parse_pubkey(mentions[0])
                sub = self._add(conn, "logs", commitment, pk)
                self.logs_mentions[_LEVEL[commitment]].setdefault(pk, {})[sub.id] = sub
                return sub.id
            raise invalid_params("Invalid params: unknown logs filter")
        if method == "signatureSubscribe":
            sig = bytes(parse_signature(p[0] if p else None))
            cfg = _config(p, 1)
            commitment = commitment_of(cfg)
            sub = self._add(conn, "signature", commitment, sig)
            status = self._signature_status(sig, commitment)
            if status is not None:
                slot, err = status
                after.append(_wrap("signatureNotification", _ctx_value(slot, {"err": err}), sub.id))
                self._remove(sub)
            else:
                if cfg.get("enableReceivedNotification"):
                    pass  # a transaction is received and executed at once; nothing to add
                self.sig_subs[_LEVEL[commitment]].setdefault(sig, {})[sub.id] = sub
            return sub.id
        if method == "accountSubscribe":
            pk = parse_pubkey(p[0] if p else None)
            cfg = _config(p, 1)
            commitment = commitment_of(cfg)
            sub = self._add(conn, "account", commitment, pk)
            sub.encoding = cfg.get("encoding") or "binary"
            sub.data_slice = cfg.get("dataSlice")
            if sub.encoding not in ("binary", "base58", "base64", "jsonParsed"):
                self._remove(sub)
                raise invalid_params(f"Invalid params: unsupported encoding `{sub.encoding}`")
            self.acct_subs[_LEVEL[commitment]].setdefault(pk, {})[sub.id] = sub
            return sub.id
        raise errs.method_not_found()

    def _signature_status(self, sig: bytes, commitment: str) -> tuple[int, Any] | None:
        bank = self.v.bank
        status = bank.get_status(sig)
        if status is None:
            status = bank.store.get_status(sig)
        if status is None or status[0] > bank.slot_for(commitment):
            return None
        return status

    def _add(self, conn: Conn, kind: str, commitment: str = FINALIZED, key: Any = None) -> Sub:
        sub = Sub(next(self.ids), conn, kind, commitment, key)
        conn.subs[sub.id] = sub
        return sub

    def _remove(self, sub: Sub) -> None:
        sub.conn.subs.pop(sub.id, None)
        level = _LEVEL[sub.commitment]
        if sub.kind == "slot":
            self.slot_subs.pop(sub.id, None)
        elif sub.kind == "logs":
            if sub.key is None:
                self.logs_all[level].pop(sub.id, None)
            else:
                self._drop(self.logs_mentions[level], sub)
        elif sub.kind == "signature":
            self._drop(self.sig_subs[level], sub)
        elif sub.kind == "account":
            self._drop(self.acct_subs[level], sub)

    @staticmethod
    def _drop(index: dict[Any, dict[int, Sub]], sub: Sub) -> None:
        subs = index.get(sub.key)
        if subs is not None:
            subs.pop(sub.id, None)
            if not subs:
                del index[sub.key]

    # --- bank listener ------------------------------------------------------------------------

    def _notify_tx(self, level: int, rec: TxRecord, slot: int) -> None:
        logs_all = self.logs_all[level]
        mentions = self.logs_mentions[level]
        if logs_all or mentions:
            targets = list(logs_all.values())
            if mentions:
                for key in rec.ptx.keys:
                    subs = mentions.get(key)
                    if subs:
                        targets.extend(subs.values())
            if targets:
                value = {
                    "signature": str(rec.ptx.signature),
                    "err": rec.outcome.err,
                    "logs": rec.outcome.logs,
                }
                body = _ctx_value(slot, value)
                for sub in targets:
                    sub.conn.push(_wrap("logsNotification", body, sub.id))
        sig_index = self.sig_subs[level]
        if sig_index:
            subs = sig_index.pop(rec.sig_bytes, None)
            if subs:
                body = _ctx_value(slot, {"err": rec.outcome.err})
                for sub in list(subs.values()):
                    sub.conn.push(_wrap("signatureNotification", body, sub.id))
                    sub.conn.subs.pop(sub.id, None)

    def _notify_accounts(self, level: int, keys: Any, slot: int, state_at: Any) -> None:
        index = self.acct_subs[level]
        if not index:
            return
        for pk in keys:
            subs = index.get(pk)
            if not subs:
                continue
            acct: Account | None = state_at(pk)
            shown = EMPTY_ACCOUNT if acct is None else acct
            for sub in list(subs.values()):
                try:
                    value = encode_account(shown, sub.encoding, sub.data_slice)
                except RpcError:
                    value = encode_account(shown, "base64", sub.data_slice)
                sub.conn.push(_wrap("accountNotification", _ctx_value(slot, value), sub.id))

    def on_transaction(self, rec: TxRecord) -> None:
        if not self.conns:
            return
        self._notify_tx(0, rec, rec.slot)
        if self.acct_subs[0]:
            accounts = self.v.bank.accounts
            self._notify_accounts(0, rec.outcome.writes, rec.slot, accounts.get)

    def on_new_slot(self, slot: int, parent: int, root: int) -> None:
        if not self.slot_subs:
            return
        body = json.dumps({"parent": parent, "root": root, "slot": slot}, separators=(",", ":"))
        for sub in list(self.slot_subs.values()):
            sub.conn.push(_wrap("slotNotification", body, sub.id))

    def on_slot_confirmed(self, st: SlotState) -> None:
        if not self.conns:
            return
        for rec in st.txs:
            self._notify_tx(1, rec, st.slot)
        if self.acct_subs[1]:
            self._notify_accounts(1, list(st.before), st.slot, self.v.bank.accounts.get)

    def on_slots_finalized(self, slots: list[SlotState]) -> None:
        if not self.conns:
            return
        for st in slots:
            for rec in st.txs:
                self._notify_tx(2, rec, st.slot)
        if self.acct_subs[2]:
            bank = self.v.bank
            last = slots[-1].slot
            keys: dict[Pubkey, None] = {}
            for st in slots:
                keys.update(dict.fromkeys(st.before))
            self._notify_accounts(2, keys, last, lambda pk: bank.account_at(pk, last))
