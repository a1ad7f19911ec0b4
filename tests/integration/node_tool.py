"""The pinned JavaScript clients (@solana/web3.js, @coral-xyz/anchor) in tools/anchor-check,
installed once per lock-file change, for the tests that drive the validator with them."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "anchor-check"


def _install_digest(tool: Path) -> str:
    h = hashlib.sha256()
    for name in ("package.json", "package-lock.json", ".npmrc"):
        h.update((tool / name).read_bytes())
    return h.hexdigest()


def npm_tool(tool: Path, what: str) -> str:
    """`node`, with the npm project in `tool` installed (`npm ci`, redone only when its lock
    changes; one install at a time across test processes). Skips without node and npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip(f"node and npm are needed to run {what}")
    stamp = tool / "node_modules" / ".hybridmarket-installed"
    digest = _install_digest(tool)
    with open(tool / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (stamp.is_file() and stamp.read_text() == digest):
                proc = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                    cwd=tool,
                    capture_output=True,
                    text=True,
                    timeout=600,
                    check=False,
                )
                if proc.returncode != 0:
                    pytest.fail(
                        f"npm ci in {tool} failed ({proc.returncode}):\n"
                        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
                    )
                stamp.write_text(digest)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return node


@pytest.fixture(scope="session")
def anchor_check_tool() -> str:
    """`node`, with tools/anchor-check installed."""
    return npm_tool(TOOL, "the official Anchor TS client")
