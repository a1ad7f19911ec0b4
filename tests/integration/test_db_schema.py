"""The database: migrations, the schema the code expects, constraints, and row-level security
tested by connecting as each role (real PostgreSQL: embedded, or DATABASE_URL)."""

from __future__ import annotations

import contextlib
import hashlib
import uuid

import psycopg
import pytest
from solders.keypair import Keypair

from hybridmarket.db import migrate as m
from hybridmarket.db.schema import differences, verify

from ..dbtools import with_db

pytestmark = pytest.mark.integration


def _wallet() -> str:
    return str(Keypair().pubkey())


def _insert_market(c: psycopg.Connection, mid: str | None = None) -> str:
    mid = mid or hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    c.execute(
        "INSERT INTO markets (id, on_chain_address, creator_wallet, resolver_wallet, state, "
        "b_parameter, current_price, initial_liquidity, created_at, last_slot) "
        "VALUES (%s, %s, %s, %s, 'ACTIVE', 1000000, 0.5, 700000, now(), 1)",
        (mid, _wallet(), _wallet(), _wallet()),
    )
    return mid


def test_fresh_database_migrates_to_the_schema_the_code_expects(empty_db_url: str) -> None:
    with psycopg.connect(empty_db_url) as c, pytest.raises(m.MigrationError, match="migrate"):
        m.check(c)
    applied = m.migrate(empty_db_url)
    assert [x.version for x in applied] == list(range(1, m.HEAD + 1))
    assert m.migrate(empty_db_url) == []  # idempotent
    assert verify(empty_db_url) == m.HEAD
    with psycopg.connect(empty_db_url) as c:
        assert differences(c) == []


def test_migrating_in_steps_equals_migrating_at_once(empty_db_url: str) -> None:
    assert [x.version for x in m.migrate(empty_db_url, target=1)] == [1]
    with psycopg.connect(empty_db_url) as c, pytest.raises(m.MigrationError, match="version 1"):
        m.check(c)
    assert [x.version for x in m.migrate(empty_db_url)] == list(range(2, m.HEAD + 1))
    verify(empty_db_url)


def test_an_edited_migration_is_refused(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
        with pytest.raises(m.MigrationError, match="different file"):
            m.check(c)
    with pytest.raises(m.MigrationError, match="different file"):
        m.migrate(db_url)


def test_a_missing_column_is_reported(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as c:
        c.execute("ALTER TABLE trades DROP COLUMN lp_fee")
        assert differences(c) == ["trades: missing columns ['lp_fee']"]


def test_constraints(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as c:
        mid = _insert_market(c)
        w = _wallet()
        # 1000 characters (not bytes) is the limit.
        c.execute(
            "INSERT INTO discussions (market_id, user_wallet, content, signed_message, signature) "
            "VALUES (%s, %s, %s, 'm', 's')",
            (mid, w, "é" * 1000),
        )
        for bad in ("", "x" * 1001):
            with pytest.raises(psycopg.errors.CheckViolation):
                c.execute(
                    "INSERT INTO discussions (market_id, user_wallet, content, signed_message, "
                    "signature) VALUES (%s, %s, %s, 'm', 's')",
                    (mid, w, bad),
                )
        vote = (
            "INSERT INTO proposal_votes (market_id, user_wallet, vote, voted_at, vote_record, "
            "slot, tx_signature, instruction_index, event_index) "
            "VALUES (%s, %s, true, now(), %s, 1, %s, 0, %s)"
        )
        sig = "1" * 64
        c.execute(vote, (mid, w, _wallet(), sig, 0))
        with pytest.raises(psycopg.errors.UniqueViolation):  # one vote per wallet and market
            c.execute(vote, (mid, w, _wallet(), "2" * 64, 0))
        with pytest.raises(psycopg.errors.UniqueViolation):  # one row per event
            c.execute(vote, (mid, _wallet(), _wallet(), sig, 0))
        c.execute(vote, (mid, _wallet(), _wallet(), sig, 1))  # same tx, next event: fine
        # u64 amounts are exact up to 2^64 - 1 and refuse anything outside.
        c.execute("UPDATE markets SET total_volume = 18446744073709551615 WHERE id = %s", (mid,))
        with pytest.raises(psycopg.errors.CheckViolation):
            c.execute(
                "UPDATE markets SET total_volume = 18446744073709551616 WHERE id = %s", (mid,)
            )
        with pytest.raises(psycopg.errors.CheckViolation):
            c.execute("UPDATE markets SET state = 'OPEN' WHERE id = %s", (mid,))
        with pytest.raises(psycopg.errors.CheckViolation):
            c.execute("UPDATE markets SET creator_wallet = 'not-a-wallet' WHERE id = %s", (mid,))


def test_metadata_fills_the_market_question(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as c:
        mid = _insert_market(c)
        assert c.execute("SELECT question FROM markets WHERE id = %s", (mid,)).fetchone() == (None,)
        c.execute(
            "INSERT INTO market_metadata (market_id, document, canonical_json, question, category, "
            "creator_wallet) VALUES (%s, '{}', '{}', 'Will it rain?', 'weather', %s)",
            (mid, _wallet()),
        )
        assert c.execute(
            "SELECT question, category FROM markets WHERE id = %s", (mid,)
        ).fetchone() == ("Will it rain?", "weather")
        # And the other way round: metadata first, market indexed later.
        mid2 = hashlib.sha256(b"second").hexdigest()
        c.execute(
            "INSERT INTO market_metadata (market_id, document, canonical_json, question, "
            "creator_wallet) VALUES (%s, '{}', '{}', 'Second?', %s)",
            (mid2, _wallet()),
        )
        _insert_market(c, mid2)
        assert c.execute("SELECT question FROM markets WHERE id = %s", (mid2,)).fetchone() == (
            "Second?",
        )


def _login_role(admin: psycopg.Connection, name: str, member_of: str) -> None:
    exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    if not exists:
        with contextlib.suppress(psycopg.errors.DuplicateObject):
            admin.execute(f'CREATE ROLE "{name}" LOGIN IN ROLE {member_of}')


def test_row_level_security_by_role(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as admin:
        mid = _insert_market(admin)
        w = _wallet()
        admin.execute(
            "INSERT INTO discussions (market_id, user_wallet, content, deleted_at, signed_message, "
            "signature) VALUES (%s, %s, 'visible', NULL, 'm', 's'), (%s, %s, 'deleted', now(), 'm', 's')",
            (mid, w, mid, w),
        )
        admin.execute(
            "INSERT INTO auth_nonces (nonce, purpose, expires_at) VALUES ('n0nce-secret', 'x', now())"
        )
        _login_role(admin, "hm_test_anon", "anon")
        _login_role(admin, "hm_test_service", "service_role")
    dbname = psycopg.conninfo.conninfo_to_dict(db_url)["dbname"]
    assert isinstance(dbname, str)

    with psycopg.connect(with_db(db_url, dbname, user="hm_test_anon"), autocommit=True) as anon:
        assert anon.execute("SELECT count(*) FROM markets").fetchone() == (1,)
        assert anon.execute("SELECT content FROM discussions").fetchall() == [("visible",)]
        for table in ("auth_nonces", "dead_letters", "indexer_cursors"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                anon.execute(f"SELECT * FROM {table}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            anon.execute("UPDATE markets SET state = 'CANCELLED'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            anon.execute(
                "INSERT INTO discussions (market_id, user_wallet, content, signed_message, signature) "
                "VALUES (%s, %s, 'x', 'm', 's')",
                (mid, w),
            )

    with psycopg.connect(with_db(db_url, dbname, user="hm_test_service"), autocommit=True) as svc:
        assert svc.execute("SELECT count(*) FROM discussions").fetchone() == (2,)
        assert svc.execute("SELECT nonce FROM auth_nonces").fetchall() == [("n0nce-secret",)]
        svc.execute(
            "INSERT INTO discussions (market_id, user_wallet, content, signed_message, signature) "
            "VALUES (%s, %s, 'svc', 'm', 's')",
            (mid, w),
        )
        svc.execute("UPDATE markets SET state = 'CANCELLED' WHERE id = %s", (mid,))
