"""The embedded validator: wires Agave's SVM (with the program binary deployed at genesis), the
bank, the ledger store, JSON-RPC over HTTP, PubSub over WebSocket and the slot clock into one
object that runs on the caller's event loop.

In-process (tests, `hybridmarket up`)::

    async with LocalValidator(ledger_dir, rpc_port=0, slot_ms=100, finalize_depth=4,
                              enable_test_controls=True) as v:
        client = AsyncClient(v.rpc_url); ws = SolanaWsClient(v.ws_url)

As a separate process (crash tests): `ValidatorProcess` in `hybridmarket.localnet.process`.

Everything runs on one asyncio loop: requests are answered synchronously inside the protocol
callbacks, the slot clock closes a slot every `slot_ms` (persisting it, then confirming it),
and WebSocket writers drain their queues. No locks are needed because nothing else touches
the bank.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from hybridmarket.localnet.bank import Bank
from hybridmarket.localnet.executor import SvmExecutor, parse_wire
from hybridmarket.localnet.faults import Faults
from hybridmarket.localnet.genesis import (
    GenesisKeys,
    config_transaction,
    deploy_transactions,
    funding_transaction,
    genesis_accounts,
    load_config_file,
    prepare_keys,
)
from hybridmarket.localnet.httpserver import HttpRpcServer
from hybridmarket.localnet.pubsub import PubSub
from hybridmarket.localnet.rpc import RpcHandler
from hybridmarket.localnet.store import LedgerStore, LedgerWriter
from hybridmarket.program.ids import PROGRAM_ID
from hybridmarket.sbf import program_binary

log = logging.getLogger(__name__)

DEFAULT_LEDGER = Path(".hybridmarket/ledger")
DEFAULT_RPC_PORT = 8899
LEDGER_DB = "ledger.sqlite"


@dataclass(slots=True)
class Stats:
    """Seconds spent per stage, for the benchmark's cost breakdown (`hybridmarket_getStats`)."""

    requests: int = 0
    transactions: int = 0
    slots: int = 0
    http: float = 0.0  # whole request handling, including the stages below except persist
    json: float = 0.0  # JSON decode of bodies and encode of answers
    decode: float = 0.0  # base64/base58 and wire parsing of transactions
    execute: float = 0.0  # checks, the SVM (signatures included), commit, processed notifications
    svm: float = 0.0  # of which the SVM itself (kept by the executor, copied in by getStats)
    persist: float = 0.0  # closing slots on the loop: their rows, confirmed/finalized notifications
    persist_wait: float = 0.0  # waiting for the writer process's SQLite commits (not CPU)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class LocalValidator:
    def __init__(
        self,
        ledger_dir: str | os.PathLike[str] = DEFAULT_LEDGER,
        *,
        host: str = "127.0.0.1",
        rpc_port: int = DEFAULT_RPC_PORT,
        ws_port: int | None = None,
        reset: bool = False,
        slot_ms: int = 400,
        finalize_depth: int = 32,
        enable_test_controls: bool = False,
        config_file: str | os.PathLike[str] | None = None,
        admin_keypair: str | os.PathLike[str] | None = None,
        backend_keypair: str | os.PathLike[str] | None = None,
        program_id: Pubkey = PROGRAM_ID,
        program: bytes | bool = True,
    ):
        """`program`: the ELF deployed at `program_id` at genesis (True: the shipped binary;
        False: none, for a deploy through `hybridmarket deploy`)."""
        self.ledger_dir = Path(ledger_dir)
        self.host = host
        self.requested_rpc_port = rpc_port
        self.requested_ws_port = (
            ws_port if ws_port is not None else (0 if rpc_port == 0 else rpc_port + 1)
        )
        self.reset = reset
        self.slot_ms = slot_ms
        self.finalize_depth = finalize_depth
        self.enable_test_controls = enable_test_controls
        self.config_file = Path(config_file) if config_file is not None else None
        self.admin_keypair = Path(admin_keypair) if admin_keypair is not None else None
        self.backend_keypair = Path(backend_keypair) if backend_keypair is not None else None
        self.program_id = program_id
        self.program_elf: bytes | None = (
            program_binary() if program is True else (bytes(program) if program else None)
        )
        self.executor = SvmExecutor()
        self.faults = Faults()
        self.stats = Stats()
        self.rpc_port = 0
        self.ws_port = 0
        self.identity = Pubkey.default()
        self.keys: GenesisKeys | None = None
        self.faucet: Keypair | None = None
        self._store: LedgerStore | None = None
        self._bank: Bank | None = None
        self._rpc: RpcHandler | None = None
        self._http: HttpRpcServer | None = None
        self._pubsub: PubSub | None = None
        self._slot_task: asyncio.Task[None] | None = None
        self._writer: LedgerWriter | None = None
        self.fatal: BaseException | None = None

    # --- accessors ----------------------------------------------------------------------------

    @property
    def bank(self) -> Bank:
        assert self._bank is not None, "validator not started"
        return self._bank

    @property
    def rpc(self) -> RpcHandler:
        assert self._rpc is not None, "validator not started"
        return self._rpc

    @property
    def rpc_url(self) -> str:
        return f"http://{self.host}:{self.rpc_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}"

    @property
    def key_paths(self) -> dict[str, Path]:
        return dict(self.keys.paths) if self.keys is not None else {}

    def stats_json(self) -> dict[str, Any]:
        self.stats.svm = self.executor.busy
        return self.stats.to_json()

    def info(self) -> dict[str, Any]:
        return {
            "program_id": str(self.program_id),
            "rpc_url": self.rpc_url,
            "ws_url": self.ws_url,
            "ledger": str(self.ledger_dir),
            "keys": {k: str(v) for k, v in self.key_paths.items()},
            "genesis_hash": str(self.bank.genesis_hash),
            "slot": self.bank.current.slot,
            "test_controls": self.enable_test_controls,
        }

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> LocalValidator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _open_ledger(self) -> None:
        if self.reset and self.ledger_dir.exists():
            shutil.rmtree(self.ledger_dir)
        self.ledger_dir.mkdir(parents=True, exist_ok=True)
        self._store = LedgerStore(self.ledger_dir / LEDGER_DB)
        try:
            self._store.check_version()
        except BaseException:
            self._close_store()
            raise
        self._bank = Bank(self._store, self.executor, finalize_depth=self.finalize_depth)
        self.keys = prepare_keys(
            self.ledger_dir, admin_keypair=self.admin_keypair, backend_keypair=self.backend_keypair
        )
        self.faucet = self.keys.faucet
        if self._store.is_empty():
            self._genesis()
        else:
            self._bank.load()
        seed = hashlib.sha256(b"identity" + bytes(self._bank.genesis_hash)).digest()
        self.identity = Keypair.from_seed(seed).pubkey()

    def _genesis(self) -> None:
        assert self._bank is not None and self.keys is not None
        bank = self._bank
        keys = self.keys
        elf = self.program_elf
        genesis_hash = Hash(hashlib.sha256(os.urandom(32)).digest())
        program = self.program_id if elf is not None else None
        bank.create_genesis(genesis_accounts(keys.faucet.pubkey(), program), genesis_hash)
        blockhash = bank.current.blockhash
        txs = [funding_transaction(keys, blockhash)]
        if elf is not None:
            txs += deploy_transactions(keys, self.program_id, elf, blockhash)
        for tx in txs:
            self._genesis_tx(tx, "funding and deploy")
        bank.close_slot()
        if elf is not None:
            # A deployed program can be invoked from the next slot on.
            overrides = load_config_file(self.config_file)
            init = config_transaction(keys, self.program_id, overrides, bank.current.blockhash)
            if init is not None:
                self._genesis_tx(init, "initialize_config")
            bank.close_slot()

    def _genesis_tx(self, tx: VersionedTransaction, what: str) -> None:
        outcome, _ = self.bank.process(parse_wire(bytes(tx)))
        if outcome.err is not None:
            raise RuntimeError(f"genesis {what} failed: {outcome.err}\n" + "\n".join(outcome.logs))

    async def start(self) -> None:
        self._open_ledger()
        self._rpc = RpcHandler(self)
        self._pubsub = PubSub(self)
        self.bank.listeners.append(self._pubsub)
        self._http = HttpRpcServer(self)
        try:
            self.rpc_port = await self._http.start(self.host, self.requested_rpc_port)
            self.ws_port = await self._pubsub.start(self.host, self.requested_ws_port)
        except BaseException:
            await self._http.stop()
            await self._pubsub.stop()
            self._close_store()
            raise
        try:
            self._writer = await asyncio.to_thread(LedgerWriter, self.ledger_dir / LEDGER_DB)
        except BaseException:
            await self._http.stop()
            await self._pubsub.stop()
            self._close_store()
            raise
        self._slot_task = asyncio.create_task(self._slot_loop(), name="localnet-slots")

    async def stop(self) -> None:
        if self._slot_task is not None:
            self._slot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._slot_task
            self._slot_task = None
        if self._writer is not None:
            # A slot being written when the clock stopped is finished first: it is on disk
            # before the open slot below.
            await asyncio.to_thread(self._writer.close)
            self._writer = None
        if self._http is not None:
            await self._http.stop()
            self._http = None
        if self._pubsub is not None:
            await self._pubsub.stop()
            self._pubsub = None
        if self._bank is not None and self.fatal is None and self._bank.current.txs:
            # A clean stop confirms what was processed, so nothing a client saw is lost.
            self._bank.close_slot()
        self._close_store()

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    async def _slot_loop(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.slot_ms / 1000
        deadline = loop.time() + period
        bank = self.bank
        writer = self._writer
        assert writer is not None
        while True:
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            try:
                t0 = time.perf_counter()
                frozen = bank.freeze_slot()
                t1 = time.perf_counter()
                await writer.commit(frozen.rows)
                t2 = time.perf_counter()
                bank.confirm_slot(frozen)
                self.stats.persist += (t1 - t0) + (time.perf_counter() - t2)
                self.stats.persist_wait += t2 - t1
                self.stats.slots += 1
            except Exception as exc:
                self.fatal = exc
                log.exception("closing a slot failed; the validator stops producing slots")
                raise
            deadline += period
            now = loop.time()
            if now - deadline > 5 * period:
                deadline = now + period

    async def wait_for_slot(self, slot: int, commitment: str = "confirmed") -> None:
        """Wait until `slot` has reached `commitment` (test helper)."""
        while self.bank.slot_for(commitment) < slot:
            await asyncio.sleep(self.slot_ms / 4000)
