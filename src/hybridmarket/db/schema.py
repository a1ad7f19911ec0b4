"""The schema the code expects: every table and its columns, assembled from the column lists
the query modules write. `verify` compares a live database against it (services call it at
start-up; a test checks a freshly migrated database matches exactly)."""

from __future__ import annotations

from typing import Any

import psycopg

from hybridmarket.db import migrate
from hybridmarket.db.queries import indexer as q_indexer
from hybridmarket.db.queries import trades as q_trades
from hybridmarket.db.queries import votes as q_votes
from hybridmarket.db.rows import MARKET_COLUMNS, POSITION_COLUMNS

_EVENT_KEY = {"slot", "tx_signature", "instruction_index", "event_index"}

EXPECTED_TABLES: dict[str, frozenset[str]] = {
    "schema_migrations": frozenset({"version", "name", "checksum", "applied_at"}),
    "market_metadata": frozenset(
        {
            "market_id",
            "document",
            "canonical_json",
            "question",
            "description",
            "category",
            "resolution_criteria",
            "closes_at",
            "creator_wallet",
            "created_at",
        }
    ),
    "markets": frozenset(MARKET_COLUMNS)
    | {"question", "description", "category", "closes_at", "updated_at"},
    "users": frozenset(
        {"wallet", "created_at", "last_seen_at", "twitter_handle", "reputation_score", "avatar_url"}
    ),
    "proposal_votes": frozenset(q_votes.VOTE_COLUMNS),
    "dispute_votes": frozenset(q_votes.VOTE_COLUMNS),
    "vote_tallies": frozenset(q_votes.TALLY_COLUMNS),
    "trades": frozenset(q_trades.TRADE_COLUMNS) | {"id", "seq", "realized_pnl"},
    "positions": frozenset(POSITION_COLUMNS),
    "price_history": frozenset(q_trades.PRICE_COLUMNS) | {"seq"},
    "discussions": frozenset(
        {
            "id",
            "market_id",
            "user_wallet",
            "content",
            "created_at",
            "deleted_at",
            "deleted_by",
            "delete_reason",
            "signed_message",
            "signature",
            "delete_message",
            "delete_signature",
        }
    ),
    "ipfs_anchors": frozenset(
        {
            "id",
            "market_id",
            "snapshot_date",
            "ipfs_hash",
            "discussions_count",
            "size_bytes",
            "created_at",
        }
    ),
    "program_config": frozenset(
        {"program_id", "admin", "params", "is_paused", "slot", "updated_at"}
    ),
    "indexer_cursors": frozenset(
        {"program_id", "commitment", "last_signature", "last_slot", "synced_slot", "updated_at"}
    ),
    "indexed_transactions": frozenset(q_indexer.TX_COLUMNS) | {"indexed_at"},
    "dead_letters": frozenset(
        {
            "id",
            "event_name",
            "payload",
            "error",
            "attempts",
            "next_attempt_at",
            "created_at",
            "resolved_at",
        }
    )
    | _EVENT_KEY,
    "reconcile_runs": frozenset(
        {
            "id",
            "started_at",
            "finished_at",
            "chain_slot",
            "markets_checked",
            "discrepancies",
            "repaired",
            "error",
        }
    ),
    "reconcile_discrepancies": frozenset(
        {"id", "run_id", "market_id", "field", "cached_value", "chain_value", "found_at"}
    ),
    "audit_log": frozenset(
        {
            "id",
            "at",
            "actor",
            "action",
            "market_id",
            "arguments",
            "reason",
            "tx_signature",
            "outcome",
            "error",
            "tx_wire",
            "last_valid_block_height",
        }
    ),
    "auth_nonces": frozenset({"nonce", "wallet", "purpose", "issued_at", "expires_at", "used_at"}),
    "published_tallies": frozenset(
        {
            "id",
            "market_id",
            "kind",
            "yes_votes",
            "no_votes",
            "document",
            "sha256",
            "cid",
            "audit_id",
            "created_at",
        }
    ),
    "position_costs": frozenset(
        {"user_wallet", "market_id", "outcome", "shares", "cost_basis", "realized_pnl"}
    ),
    "trader_stats": frozenset({"wallet", "realized_pnl", "volume", "trades"}),
    "trader_weeks": frozenset({"week", "wallet", "realized_pnl", "volume", "trades"}),
    "settlements": frozenset({"user_wallet", "market_id", "payout", "realized_pnl", "week"}),
    "follows": frozenset({"wallet", "market_id", "created_at", "signed_message", "signature"}),
    "notifications": frozenset(
        {
            "id",
            "wallet",
            "market_id",
            "kind",
            "deadline",
            "outcome",
            "comment_id",
            "author",
            "created_at",
            "read_at",
        }
    ),
    "job_runs": frozenset(
        {"job", "tick", "worker", "started_at", "finished_at", "outcome", "summary", "error"}
    ),
}


class SchemaMismatch(RuntimeError):
    pass


def live_tables(conn: psycopg.Connection[Any]) -> dict[str, frozenset[str]]:
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema()"
    ).fetchall()
    out: dict[str, set[str]] = {}
    for table, column in rows:
        out.setdefault(table, set()).add(column)
    return {t: frozenset(c) for t, c in out.items()}


def differences(conn: psycopg.Connection[Any]) -> list[str]:
    live = live_tables(conn)
    problems = []
    for table, cols in sorted(EXPECTED_TABLES.items()):
        have = live.get(table)
        if have is None:
            problems.append(f"missing table {table}")
            continue
        if missing := sorted(cols - have):
            problems.append(f"{table}: missing columns {missing}")
        if extra := sorted(have - cols):
            problems.append(f"{table}: unexpected columns {extra}")
    problems += [f"unexpected table {t}" for t in sorted(set(live) - set(EXPECTED_TABLES))]
    return problems


def verify(url: str) -> int:
    """Raise unless the database is migrated to this code's head and has its tables; returns
    the schema version."""
    with psycopg.connect(url) as conn:
        version = migrate.check(conn)
        if problems := differences(conn):
            raise SchemaMismatch("database schema differs from the code: " + "; ".join(problems))
    return version
