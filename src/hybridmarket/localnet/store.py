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

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solders.hash import Hash
from solders.pubkey import Pubkey

from hybridmarket.localnet.executor import Account

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
            yield bytes(sig), s, (None if err is None else json.loads(err))

    # --- write a slot -------------------------------------------------------------------------

    def commit_slot(
        self,
        slot: SlotRow,
        accounts: Iterable[tuple[Pubkey, Account]],
        txs: list[tuple[bytes, int, int, bytes, int | None, str | None, str]],
        address_rows: list[tuple[bytes, int, int, bytes]],
        meta: dict[str, str] | None = None,
    ) -> None:
        """Write one closed slot atomically (one SQLite transaction)."""
        db = self.db
        upserts = []
        deletes = []
        for pk, acct in accounts:
            if acct.lamports == 0:
                deletes.append((bytes(pk),))
            else:
                upserts.append(
                    (bytes(pk), acct.lamports, bytes(acct.owner), acct.data, int(acct.executable))
                )
        db.execute("BEGIN")
        try:
            db.execute(
                "INSERT INTO slots(slot, parent, blockhash, block_time, block_height, tx_count) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    slot.slot,
                    slot.parent,
                    bytes(slot.blockhash),
                    slot.block_time,
                    slot.block_height,
                    slot.tx_count,
                ),
            )
            if upserts:
                db.executemany("INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?, ?)", upserts)
            if deletes:
                db.executemany("DELETE FROM accounts WHERE pubkey = ?", deletes)
            if txs:
                db.executemany("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?)", txs)
            if address_rows:
                db.executemany("INSERT INTO address_signatures VALUES (?, ?, ?, ?)", address_rows)
            for k, v in (meta or {}).items():
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
            None if err is None else json.loads(err),
            json.loads(meta),
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
            (bytes(sig), slot, None if err is None else json.loads(err), bt)
            for sig, slot, err, bt in self.db.execute(" ".join(sql), args)
        ]

    def get_status(self, signature: bytes) -> tuple[int, Any] | None:
        row = self.db.execute(
            "SELECT slot, err FROM transactions WHERE signature = ?", (signature,)
        ).fetchone()
        if row is None:
            return None
        return int(row[0]), (None if row[1] is None else json.loads(row[1]))

    def block_time(self, slot: int) -> int | None:
        row = self.db.execute("SELECT block_time FROM slots WHERE slot = ?", (slot,)).fetchone()
        return None if row is None else int(row[0])

    def transaction_count(self) -> int:
        row = self.db.execute("SELECT COALESCE(SUM(tx_count), 0) FROM slots").fetchone()
        return int(row[0])
