"""The ledger on disk: one SQLite database in WAL mode, written once per slot.

Why SQLite in WAL mode, committed per slot:
- One database transaction per closed slot makes every slot atomic on disk: after a crash
  (`kill -9` included) the ledger holds whole slots, so a transaction either landed with its
  slot or not at all, never half. The validator marks a slot *confirmed* only after its commit,
  so everything a client ever saw as confirmed survives a restart.
- WAL lets readers (getTransaction, getSignaturesForAddress) run while the next slot is being
  written, and `synchronous=NORMAL` in WAL mode loses nothing on a process crash (the OS has the
  pages); only a power cut can drop the last slots, which a local validator may lose.
- Batching per slot (not per transaction) keeps persistence a small share of the cost of a
  transaction at 1,000+ tx/s: a few `executemany` calls every 400 ms.

Tables: `accounts` (current state; all accounts are also held in memory), `slots` (blockhash,
parent, block time), `transactions` (wire bytes + meta JSON, appended in slot order, with a
unique index by signature: rows of a kilobyte or two land at the end of the table instead of at
random places of a B-tree keyed by signature), and
`address_signatures` (every account key of every transaction, ordered by (slot, index in slot))
which serves getSignaturesForAddress paging. `meta` holds the genesis hash, the clock offset and
the like.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from hybridmarket.localnet.executor import Account, MetaParts, meta_json_from_parts

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    pubkey BLOB PRIMARY KEY, lamports INTEGER NOT NULL, owner BLOB NOT NULL,
    data BLOB NOT NULL, executable INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS slots (
    slot INTEGER PRIMARY KEY, parent INTEGER NOT NULL, blockhash BLOB NOT NULL,
    block_time INTEGER NOT NULL, block_height INTEGER NOT NULL, tx_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS transactions (
    signature BLOB NOT NULL UNIQUE, slot INTEGER NOT NULL, idx INTEGER NOT NULL,
    raw BLOB NOT NULL, version INTEGER, err TEXT, meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS address_signatures (
    address BLOB NOT NULL, slot INTEGER NOT NULL, idx INTEGER NOT NULL, signature BLOB NOT NULL,
    PRIMARY KEY (address, slot, idx)
) WITHOUT ROWID;
"""


# 2: the program is a binary deployed by the upgradeable loader and run by the SVM; the
# transactions table is appended to. Version-1 ledgers hold a stand-in program account the SVM
# cannot run.
LEDGER_VERSION = "2"


class LedgerVersionError(RuntimeError):
    """The ledger on disk was written by another version of the validator."""


@dataclass(slots=True)
class SlotRow:
    slot: int
    parent: int
    blockhash: Hash
    block_time: int
    block_height: int
    tx_count: int


# A recorded transaction: signature, slot, index in the slot, wire bytes, version, meta parts.
TxRow = tuple[bytes, int, int, bytes, int | None, MetaParts]
# The arguments of `LedgerStore.commit_slot`, all builtins.
SlotRows = tuple[
    tuple[int, int, bytes, int, int, int],
    list[tuple[bytes, int, bytes, bytes, int]],
    list[tuple[bytes]],
    list[TxRow],
    dict[str, str],
]


def slot_rows(
    slot: SlotRow,
    accounts: Iterable[tuple[Pubkey, Account | None]],
    txs: list[TxRow],
    meta: dict[str, str],
) -> SlotRows:
    """A closed slot as `commit_slot`'s rows: accounts at zero lamports (or None) are deleted."""
    upserts = []
    deletes = []
    for pk, acct in accounts:
        if acct is None or acct.lamports == 0:
            deletes.append((bytes(pk),))
        else:
            upserts.append(
                (bytes(pk), acct.lamports, bytes(acct.owner), acct.data, int(acct.executable))
            )
    head = (
        slot.slot,
        slot.parent,
        bytes(slot.blockhash),
        slot.block_time,
        slot.block_height,
        slot.tx_count,
    )
    return head, upserts, deletes, txs, meta


@dataclass(slots=True)
class StoredTx:
    signature: bytes
    slot: int
    idx: int
    raw: bytes
    version: int | None
    err: Any
    meta: dict[str, Any]
    block_time: int | None


class LedgerStore:
    """SQLite persistence. All calls come from the validator's event loop thread."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA cache_size=-65536")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # --- meta ---------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM slots LIMIT 1").fetchone() is None

    def check_version(self) -> None:
        """Stamp a new ledger with `LEDGER_VERSION`; refuse an existing one of another version."""
        found = self.get_meta("ledger_version")
        if self.is_empty():
            self.set_meta("ledger_version", LEDGER_VERSION)
        elif found != LEDGER_VERSION:
            raise LedgerVersionError(
                f"{self.path.parent} holds a ledger of version {found or 1} and this validator "
                f"reads version {LEDGER_VERSION}; start a fresh one with --reset "
                "(`hybridmarket localnet --reset` or `hybridmarket up --reset`)"
            )

    # --- load ---------------------------------------------------------------------------------

    def load_accounts(self) -> Iterator[tuple[Pubkey, Account]]:
        for pk, lamports, owner, data, executable in self.db.execute(
            "SELECT pubkey, lamports, owner, data, executable FROM accounts"
        ):
            yield (
                Pubkey.from_bytes(pk),
                Account(lamports, Pubkey.from_bytes(owner), bytes(data), bool(executable)),
            )

    def load_recent_slots(self, count: int) -> list[SlotRow]:
        rows = self.db.execute(
            "SELECT slot, parent, blockhash, block_time, block_height, tx_count FROM slots "
            "ORDER BY slot DESC LIMIT ?",
            (count,),
        ).fetchall()
        return [
            SlotRow(s, p, Hash.from_bytes(h), bt, bh, n) for s, p, h, bt, bh, n in reversed(rows)
        ]

    def load_statuses_since(self, slot: int) -> Iterator[tuple[bytes, int, Any]]:
        for sig, s, err in self.db.execute(
            "SELECT signature, slot, err FROM transactions WHERE slot >= ?", (slot,)
        ):
            yield bytes(sig), s, (None if err is None else orjson.loads(err))

    # --- write a slot -------------------------------------------------------------------------

    def commit_slot(
        self,
        slot: tuple[int, int, bytes, int, int, int],
        upserts: list[tuple[bytes, int, bytes, bytes, int]],
        deletes: list[tuple[bytes]],
        transactions: list[TxRow],
        meta: dict[str, str],
    ) -> None:
        """Write one closed slot atomically (one SQLite transaction). The arguments are plain
        tuples (`slot_rows` makes them), so that they can be sent to the writer process; each
        transaction's meta JSON and its address rows are made here."""
        dumps = orjson.dumps
        txs = []
        address_rows = []
        for sig, slot_no, idx, raw, version, parts in transactions:
            err = parts[0]
            txs.append(
                (
                    sig,
                    slot_no,
                    idx,
                    raw,
                    version,
                    None if err is None else dumps(err).decode(),
                    dumps(meta_json_from_parts(parts)).decode(),
                )
            )
            for key in VersionedTransaction.from_bytes(raw).message.account_keys:
                address_rows.append((bytes(key), slot_no, idx, sig))
            for key_bytes in (*parts[6], *parts[7]):  # addresses loaded from lookup tables
                address_rows.append((key_bytes, slot_no, idx, sig))
        db = self.db
        db.execute("BEGIN")
        try:
            db.execute(
                "INSERT INTO slots(slot, parent, blockhash, block_time, block_height, tx_count) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                slot,
            )
            if upserts:
                db.executemany("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?, ?)", upserts)
            if deletes:
                db.executemany("DELETE FROM accounts WHERE pubkey = ?", deletes)
            if txs:
                db.executemany("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?)", txs)
            if address_rows:
                db.executemany("INSERT INTO address_signatures VALUES (?, ?, ?, ?)", address_rows)
            for k, v in meta.items():
                db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (k, v))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # --- queries ------------------------------------------------------------------------------

    def get_transaction(self, signature: bytes) -> StoredTx | None:
        row = self.db.execute(
            "SELECT t.signature, t.slot, t.idx, t.raw, t.version, t.err, t.meta, s.block_time "
            "FROM transactions t LEFT JOIN slots s ON s.slot = t.slot WHERE t.signature = ?",
            (signature,),
        ).fetchone()
        if row is None:
            return None
        sig, slot, idx, raw, version, err, meta, bt = row
        return StoredTx(
            bytes(sig),
            slot,
            idx,
            bytes(raw),
            version,
            None if err is None else orjson.loads(err),
            orjson.loads(meta),
            bt,
        )

    def tx_position(self, signature: bytes) -> tuple[int, int] | None:
        row = self.db.execute(
            "SELECT slot, idx FROM transactions WHERE signature = ?", (signature,)
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def signatures_for_address(
        self,
        address: bytes,
        *,
        max_slot: int,
        before: tuple[int, int] | None,
        until: tuple[int, int] | None,
        limit: int,
    ) -> list[tuple[bytes, int, Any, int | None]]:
        """(signature, slot, err, block_time), newest first; `before`/`until` exclusive."""
        sql = [
            "SELECT a.signature, a.slot, t.err, s.block_time FROM address_signatures a "
            "JOIN transactions t ON t.signature = a.signature "
            "LEFT JOIN slots s ON s.slot = a.slot "
            "WHERE a.address = ? AND a.slot <= ?"
        ]
        args: list[Any] = [address, max_slot]
        if before is not None:
            sql.append("AND (a.slot, a.idx) < (?, ?)")
            args.extend(before)
        if until is not None:
            sql.append("AND (a.slot, a.idx) > (?, ?)")
            args.extend(until)
        sql.append("ORDER BY a.slot DESC, a.idx DESC LIMIT ?")
        args.append(limit)
        return [
            (bytes(sig), slot, None if err is None else orjson.loads(err), bt)
            for sig, slot, err, bt in self.db.execute(" ".join(sql), args)
        ]

    def get_status(self, signature: bytes) -> tuple[int, Any] | None:
        row = self.db.execute(
            "SELECT slot, err FROM transactions WHERE signature = ?", (signature,)
        ).fetchone()
        if row is None:
            return None
        return int(row[0]), (None if row[1] is None else orjson.loads(row[1]))

    def block_time(self, slot: int) -> int | None:
        row = self.db.execute("SELECT block_time FROM slots WHERE slot = ?", (slot,)).fetchone()
        return None if row is None else int(row[0])

    def transaction_count(self) -> int:
        row = self.db.execute("SELECT COALESCE(SUM(tx_count), 0) FROM slots").fetchone()
        return int(row[0])


# --- the writer process -----------------------------------------------------------------------


class LedgerWriterError(RuntimeError):
    """The ledger's writer process failed or went away."""


def _die_with_parent() -> None:
    """Have the kernel kill this process when the validator dies (`kill -9` included), so no
    orphan can write a slot the validator never confirmed into a ledger being restarted."""
    if sys.platform == "linux":
        import ctypes
        import signal

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _writer_main(path: str, conn: Connection) -> None:
    _die_with_parent()
    store = LedgerStore(Path(path))
    try:
        conn.send(("ready", None))
        while True:
            try:
                rows = conn.recv()
            except EOFError:
                return
            if rows is None:
                conn.send(("closed", None))
                return
            try:
                store.commit_slot(*rows)
            except Exception as e:  # reported to the validator, which stops producing slots
                conn.send(("error", f"{type(e).__name__}: {e}"))
                return
            conn.send(("ok", rows[0][0]))
    finally:
        store.close()


class LedgerWriter:
    """Writes closed slots in a process of its own, so that SQLite's work (a third of a
    transaction's cost on the event loop, measured by bench/localnet.py) runs beside the
    event loop instead of on it. A thread cannot do this: the writes hold the GIL between
    rows, and every hand-back waits for the loop's switch interval.

    The process is `python -m hybridmarket.localnet.store PATH FD` (not `multiprocessing`,
    whose spawn would run the caller's `__main__` again); it talks over a socket pair with
    multiprocessing's `Connection` framing. `commit` sends a slot's rows (plain tuples) and
    resolves when the process answers that its SQLite transaction committed; one slot at a
    time, in order. The process dies with the validator."""

    def __init__(self, path: Path, timeout: float = 60.0):
        parent, child = socket.socketpair()
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "hybridmarket.localnet.store",
                    str(path),
                    str(child.fileno()),
                ],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            child.close()
        self.conn = Connection(parent.detach())
        if not self.conn.poll(timeout):
            self.proc.kill()
            raise LedgerWriterError(f"the ledger writer process did not start in {timeout:.0f}s")
        kind, _ = self.conn.recv()
        if kind != "ready":
            raise LedgerWriterError(f"the ledger writer process said {kind!r}")

    async def commit(self, rows: SlotRows) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[tuple[str, Any]] = loop.create_future()
        fd = self.conn.fileno()

        def readable() -> None:
            loop.remove_reader(fd)
            try:
                answer = self.conn.recv()
            except (EOFError, OSError) as e:
                if not done.done():
                    done.set_exception(LedgerWriterError(f"the ledger writer went away: {e}"))
                return
            if not done.done():
                done.set_result(answer)

        self.conn.send(rows)
        loop.add_reader(fd, readable)
        try:
            kind, detail = await done
        finally:
            loop.remove_reader(fd)
        if kind != "ok":
            raise LedgerWriterError(f"the ledger writer failed: {detail}")

    def close(self, timeout: float = 30.0) -> None:
        """Let a write in flight finish, then stop the process."""
        with contextlib.suppress(OSError, EOFError):
            self.conn.send(None)
            while self.conn.poll(timeout):
                kind, _ = self.conn.recv()
                if kind in ("closed", "error"):
                    break
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.conn.close()


if __name__ == "__main__":
    _writer_main(sys.argv[1], Connection(int(sys.argv[2])))
