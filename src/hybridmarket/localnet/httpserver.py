"""A lean HTTP/1.1 keep-alive server for JSON-RPC, on bare asyncio protocols.

Why not uvicorn/starlette: at 1,000+ transactions per second on two cores the per-request
overhead of an ASGI stack (scope dicts, receive/send coroutines, a task per request) costs more
than verifying a signature. Here a request is parsed, answered and written inside
`data_received`, with no task and no await, unless a test fault asks for a delay. Pipelined
requests are answered in order. Supported: `POST` with `Content-Length` (JSON-RPC), `GET
/health`, `OPTIONS` (CORS preflight, so a browser wallet can call the RPC directly).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

import orjson

from hybridmarket.localnet import errors as errs
from hybridmarket.localnet.rpc import TEST_CONTROL_PREFIX

if TYPE_CHECKING:
    from hybridmarket.localnet.validator import LocalValidator

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_CORS = (
    b"Access-Control-Allow-Origin: *\r\n"
    b"Access-Control-Allow-Methods: POST, GET, OPTIONS\r\n"
    b"Access-Control-Allow-Headers: content-type, solana-client\r\n"
)


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def _response(
    status: int, body: bytes, *, keep_alive: bool, extra: bytes = b"", ctype: bytes = b""
) -> bytes:
    head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s%s%s\r\n" % (
        status,
        _REASONS.get(status, "Unknown").encode(),
        ctype or b"application/json",
        len(body),
        _CORS,
        extra,
        b"" if keep_alive else b"Connection: close\r\n",
    )
    return head + body


def _is_test_control(payload: Any) -> bool:
    items = payload if isinstance(payload, list) else [payload]
    return bool(items) and all(
        isinstance(i, dict) and str(i.get("method", "")).startswith(TEST_CONTROL_PREFIX)
        for i in items
    )


class HttpRpcProtocol(asyncio.Protocol):
    def __init__(self, validator: LocalValidator, on_close: Callable[[HttpRpcProtocol], None]):
        self.v = validator
        self.on_close = on_close
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.held = False
        self.pending: list[asyncio.TimerHandle] = []
        self.out: list[bytes] | None = None  # answers batched while a read is handled

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        for h in self.pending:
            h.cancel()
        self.pending.clear()
        self.transport = None
        self.on_close(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _write(self, data: bytes, keep_alive: bool) -> None:
        t = self.transport
        if t is None or t.is_closing():
            return
        if self.out is not None:
            # Inside data_received: answers to pipelined requests leave in one write.
            self.out.append(data)
            if not keep_alive:
                self._flush()
                t.close()
            return
        t.write(data)
        if not keep_alive:
            t.close()

    def _flush(self) -> None:
        out, self.out = self.out, None
        t = self.transport
        if out and t is not None and not t.is_closing():
            t.write(b"".join(out) if len(out) > 1 else out[0])

    def data_received(self, data: bytes) -> None:
        if self.held:
            return
        self.out = []
        try:
            self._receive(data)
        finally:
            self._flush()

    def _receive(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while self.transport is not None and not self.held:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEADER_BYTES:
                    self._write(_response(431, b"", keep_alive=False), False)
                return
            try:
                head = bytes(buf[:end]).decode("latin-1")
                lines = head.split("\r\n")
                method, _target, version = lines[0].split(" ", 2)
            except ValueError:
                self._write(_response(400, b"", keep_alive=False), False)
                return
            clen = 0
            conn_hdr = ""
            chunked = False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                lname = name.strip().lower()
                if lname == "content-length":
                    try:
                        clen = int(value.strip())
                    except ValueError:
                        clen = -1
                elif lname == "connection":
                    conn_hdr = value.strip().lower()
                elif lname == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
                elif lname == "expect" and "100-continue" in value.lower():
                    self._write(b"HTTP/1.1 100 Continue\r\n\r\n", True)
            if chunked or clen < 0:
                self._write(_response(411, b"", keep_alive=False), False)
                return
            if clen > MAX_BODY_BYTES:
                self._write(_response(413, b"", keep_alive=False), False)
                return
            total = end + 4 + clen
            if len(buf) < total:
                return
            body = bytes(buf[end + 4 : total])
            del buf[:total]
            keep_alive = conn_hdr != "close" if version == "HTTP/1.1" else conn_hdr == "keep-alive"
            self._handle(method, body, keep_alive)

    def _handle(self, method: str, body: bytes, keep_alive: bool) -> None:
        stats = self.v.stats
        t0 = perf_counter()
        self._handle_inner(method, body, keep_alive)
        stats.http += perf_counter() - t0
        stats.requests += 1

    def _handle_inner(self, method: str, body: bytes, keep_alive: bool) -> None:
        if method == "GET":
            self._write(
                _response(200, b"ok", keep_alive=keep_alive, ctype=b"text/plain"), keep_alive
            )
            return
        if method == "OPTIONS":
            self._write(_response(200, b"", keep_alive=keep_alive), keep_alive)
            return
        if method != "POST":
            self._write(_response(405, b"", keep_alive=keep_alive), keep_alive)
            return
        stats = self.v.stats
        t0 = perf_counter()
        try:
            payload = orjson.loads(body)
        except (ValueError, UnicodeDecodeError):
            err = {
                "jsonrpc": "2.0",
                "error": errs.RpcError(errs.PARSE_ERROR, "Parse error").to_json(),
                "id": None,
            }
            self._write(_response(200, _dumps(err), keep_alive=keep_alive), keep_alive)
            return
        faults = self.v.faults
        if faults.http_active and not _is_test_control(payload):
            kind = faults.pick_http()
            if kind is not None:
                self._fault(kind, payload, keep_alive)
                return
        t1 = perf_counter()
        result = self.v.rpc.handle_payload(payload)
        t2 = perf_counter()
        out = _dumps(result)
        stats.json += (t1 - t0) + (perf_counter() - t2)
        self._write(_response(200, out, keep_alive=keep_alive), keep_alive)

    def _fault(self, kind: str, payload: Any, keep_alive: bool) -> None:
        faults = self.v.faults
        req_id = payload.get("id") if isinstance(payload, dict) else None
        if kind == "429":
            body = _dumps(
                {
                    "jsonrpc": "2.0",
                    "error": {"code": 429, "message": "Too many requests for a specific RPC call"},
                    "id": req_id,
                }
            )
            extra = b"Retry-After: %d\r\n" % int(faults.retry_after)
            self._write(_response(429, body, keep_alive=keep_alive, extra=extra), keep_alive)
        elif kind == "5xx":
            body = _dumps(
                {
                    "jsonrpc": "2.0",
                    "error": {"code": -32603, "message": "Internal error"},
                    "id": req_id,
                }
            )
            self._write(_response(faults.http5xx_status, body, keep_alive=False), False)
        else:  # timeout: hold the request, never answer, then drop the connection
            self.held = True
            loop = asyncio.get_running_loop()
            self.pending.append(loop.call_later(faults.timeout_seconds, self.close))


class HttpRpcServer:
    """Owns the listening socket and its connections (so `stop()` closes everything)."""

    def __init__(self, validator: LocalValidator):
        self.v = validator
        self.server: asyncio.Server | None = None
        self.conns: set[HttpRpcProtocol] = set()

    def _factory(self) -> HttpRpcProtocol:
        proto = HttpRpcProtocol(self.v, self.conns.discard)
        self.conns.add(proto)
        return proto

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._factory, host, port, reuse_address=True)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is None:
            return
        self.server.close()
        for proto in list(self.conns):
            proto.close()
        await self.server.wait_closed()
        self.server = None
