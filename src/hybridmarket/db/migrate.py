"""Versioned migrations: ordered plain SQL files in `migrations/` (NNNN_name.sql), each applied
in its own transaction and recorded with its checksum in `schema_migrations`.

An advisory lock makes concurrent `migrate` runs (several replicas starting at once) safe; an
applied migration whose file changed is refused rather than silently diverging.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x686D_6D69  # "hmmi": the migration advisory lock


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations() -> list[Migration]:
    out = []
    for entry in resources.files("hybridmarket.db").joinpath("migrations").iterdir():
        m = _FILE.match(entry.name)
        if m:
            out.append(Migration(int(m.group(1)), m.group(2), entry.read_text()))
    out.sort(key=lambda x: x.version)
    if [m.version for m in out] != list(range(1, len(out) + 1)):
        raise MigrationError(
            f"migration versions must be 1..N without gaps: {[m.version for m in out]}"
        )
    return out


HEAD = len(migrations())


def _ensure_table(conn: psycopg.Connection) -> None:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL,
             checksum TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"""
    )


def applied(conn: psycopg.Connection) -> dict[int, tuple[str, str]]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return {}
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
    return {v: (n, c) for v, n, c in rows}


def check(conn: psycopg.Connection) -> int:
    """The database's schema version; raises if it is behind the code or was altered."""
    done = applied(conn)
    for m in migrations():
        if m.version in done and done[m.version][1] != m.checksum:
            raise MigrationError(
                f"migration {m.version:04d}_{m.name} was applied from a different file"
            )
    version = max(done, default=0)
    if version < HEAD:
        raise MigrationError(
            f"database schema is at version {version}, the code needs {HEAD}: "
            "run `hybridmarket migrate`"
        )
    if version > HEAD:
        raise MigrationError(
            f"database schema is at version {version}, newer than this code ({HEAD})"
        )
    return version


def migrate(url: str, *, target: int | None = None) -> list[Migration]:
    """Apply every pending migration up to `target` (default: the newest); returns those applied."""
    target = HEAD if target is None else target
    done_now: list[Migration] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            _ensure_table(conn)
            done = applied(conn)
            for m in migrations():
                if m.version in done:
                    if done[m.version][1] != m.checksum:
                        raise MigrationError(
                            f"migration {m.version:04d}_{m.name} was applied from a different file"
                        )
                    continue
                if m.version > target:
                    break
                with conn.transaction():
                    conn.execute(m.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                        (m.version, m.name, m.checksum),
                    )
                done_now.append(m)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return done_now
