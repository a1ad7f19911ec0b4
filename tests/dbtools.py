"""PostgreSQL for tests: the embedded server (pgserver) by default, the server at
`DATABASE_URL` when it is set. Each test gets its own fresh database, cloned from a template
migrated once per session, so tests never see each other's rows."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hybridmarket.db.embedded import EmbeddedPostgres
from hybridmarket.db.migrate import migrate


def with_db(url: str, dbname: str, **extra: str) -> str:
    return make_conninfo(url, dbname=dbname, **extra)


def dbname_of(url: str) -> str:
    return str(conninfo_to_dict(url).get("dbname", ""))


@contextmanager
def server_url(tmp: Path | None = None) -> Iterator[str]:
    env = os.environ.get("DATABASE_URL")
    if env:
        yield env
        return
    with embedded_dir() as d, EmbeddedPostgres(d / "pgdata") as pg:
        yield pg.uri


@contextmanager
def embedded_dir() -> Iterator[Path]:
    """A directory for embedded PostgreSQL data outside pytest's tmp tree: on a machine running
    as root, pgserver runs the server as another user, and every pytest session resets
    /tmp/pytest-of-<user> to 0700, which would lock a running server out of its own data."""
    d = Path(tempfile.mkdtemp(prefix="hm-test-pg-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def create_template(admin_url: str) -> str:
    name = f"hm_template_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    migrate(with_db(admin_url, name))
    return name


@contextmanager
def fresh_database(admin_url: str, template: str | None) -> Iterator[str]:
    name = f"hm_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as c:
        if template:
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_db(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
