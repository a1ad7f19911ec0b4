"""The pinned JavaScript clients (@solana/web3.js, @coral-xyz/anchor) in tools/anchor-check,
installed once per lock-file change, for the tests that drive the validator with them."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "anchor-check"
STAMP = TOOL / "node_modules" / ".hybridmarket-installed"


def _install_digest() -> str:
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json", ".npmrc"):
        h.update((TOOL / name).read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="session")
def anchor_check_tool() -> Iterator[str]:
    """`node`, with tools/anchor-check installed (`npm ci`, redone only when the lock changes)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run the official Anchor TS client")
    digest = _install_digest()
    with open(TOOL / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (STAMP.is_file() and STAMP.read_text() == digest):
                proc = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                    cwd=TOOL,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                if proc.returncode != 0:
                    pytest.fail(
                        f"npm ci in {TOOL} failed ({proc.returncode}):\n"
                        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
                    )
                STAMP.write_text(digest)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    yield node
