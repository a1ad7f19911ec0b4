"""PostgreSQL for tests: the embedded server (pgserver) by default, the server at
`DATABASE_URL` when it is set. Each test gets its own fresh database, cloned from a template
migrated once per session, so tests never see each other's rows."""

from __future__ import annotations

import os
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
def server_url(tmp: Path) -> Iterator[str]:
    env = os.environ.get("DATABASE_URL")
    if env:
        yield env
        return
    with EmbeddedPostgres(tmp / "pgdata") as pg:
        yield pg.uri


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
