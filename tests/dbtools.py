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

from hybridmarket.db.admin import drop_database, recreate_database, server, with_dbname

with_db = with_dbname
server_url = server
__all__ = [
    "create_template",
    "drop_database",
    "embedded_dir",
    "fresh_database",
    "server_url",
    "with_db",
]


@contextmanager
def embedded_dir() -> Iterator[Path]:
    """A directory for embedded PostgreSQL data outside pytest's tmp tree (see `server`)."""
    d = Path(tempfile.mkdtemp(prefix="hm-test-pg-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def create_template(admin_url: str) -> str:
    name = f"hm_template_{os.getpid()}"
    recreate_database(admin_url, name)
    return name


@contextmanager
def fresh_database(admin_url: str, template: str | None) -> Iterator[str]:
    name = f"hm_test_{uuid.uuid4().hex[:12]}"
    url = recreate_database(admin_url, name, template=template, migrated=False)
    try:
        yield url
    finally:
        drop_database(admin_url, name)
