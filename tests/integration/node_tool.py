"""The pinned JavaScript clients (@solana/web3.js, @coral-xyz/anchor) in tools/anchor-check,
installed once per lock-file change, for the tests that drive the validator with them."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

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


async def run_script(node: str, script: str, request: Any, *, timeout: float = 180) -> Any:
    """Run tools/anchor-check's `script` with `request` as JSON on its stdin; its stdout's
    JSON. Fails the test with the script's stderr if it exits non-zero."""
    proc = await asyncio.create_subprocess_exec(
        node,
        str(TOOL / script),
        cwd=TOOL,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(request).encode()), timeout)
    assert proc.returncode == 0, err.decode()[-3000:]
    return json.loads(out)
