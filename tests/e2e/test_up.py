"""`hybridmarket up --demo` as a user runs it: a subprocess that starts every part, seeds the
demo world, answers on every interface, stops on SIGINT leaving no process behind, and keeps its
data for the next start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import psutil
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _free_port(pair: bool = False) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not pair:
            return port
        with socket.socket() as s2:
            try:
                s2.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def _processes_using(path: Path) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(str(path) in arg for arg in p.info["cmdline"] or []):
                out.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def _start(
    data: Path,
    rpc: int,
    api: int,
    log: Path,
    *,
    new_session: bool = False,
    redis_url: str | None = None,
) -> subprocess.Popen[bytes]:
    """`up --demo` on embedded defaults (the outer environment's servers left out; Redis only
    when `redis_url` is given); `new_session` so that a signal can go to its whole group."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SOLANA_RPC_URL", "REDIS_URL")
    }
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    with log.open("ab") as f:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hybridmarket",
                "up",
                "--demo",
                "--data-dir",
                str(data),
                "--rpc-port",
                str(rpc),
                "--port",
                str(api),
            ],
            env=env,
            stdout=f,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )


def _wait(cond: object, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():  # type: ignore[operator]
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout:.0f}s; log:\n{log.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen[bytes], data: Path) -> None:
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    deadline = time.monotonic() + 20
    while _processes_using(data) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_using(data) == [], "every part must be gone after Ctrl-C"


def test_up_demo_runs_everything_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    data = Path(os.environ.get("HM_E2E_DIR", "/tmp")) / f"hm-e2e-{os.getpid()}"
    log = tmp_path / "up.log"
    rpc, api = _free_port(pair=True), _free_port()
    base = f"http://127.0.0.1:{api}"
    proc = _start(data, rpc, api, log)
    try:
        _wait(
            lambda: httpx2.get(f"{base}/api/health", timeout=5).status_code == 200,
            120,
            "health",
            log,
        )
        # Every part answers: the validator, the API, the web UI, and the seeded world.
        assert (
            httpx2.post(
                f"http://127.0.0.1:{rpc}", json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}
            ).json()["result"]
            == "ok"
        )
        _wait(
            lambda: "demo         live" in (t := log.read_text()) or "demo         failed" in t,
            300,
            "the demo world",
            log,
        )
        assert "demo         failed" not in log.read_text()
        listing = {"limit": 100, "status": "all"}
        markets = httpx2.get(f"{base}/api/markets", params=listing).json()["markets"]
        states = {m["state"] for m in markets}
        assert {"PROPOSED", "ACTIVE", "FINALIZED", "CANCELLED"} <= states, states
        assert any(m["question"] for m in markets)
        # Every resolution's evidence link opens the resolver's document through the gateway.
        cids = [m["resolution"]["evidence_cid"] for m in markets if m["resolution"]["evidence_cid"]]
        assert cids
        for cid in cids:
            doc = httpx2.get(f"{base}/ipfs/{cid}", timeout=10)
            assert doc.status_code == 200, (cid, doc.text)
            assert doc.json()["proposed_outcome"] in ("YES", "NO", "INVALID")
        assert httpx2.get(f"{base}/").status_code == 200
        text = log.read_text()
        for part in ("postgres", "validator", "indexer", "worker", "api", "web"):
            assert f"  {part}" in text, part
        _stop(proc, data)

        # Second start: the same data, the demo resumes instead of seeding again.
        proc = _start(data, rpc, api, log)
        _wait(
            lambda: httpx2.get(f"{base}/api/health", timeout=5).status_code == 200,
            120,
            "health again",
            log,
        )
        again = httpx2.get(f"{base}/api/markets", params=listing).json()["markets"]
        assert {m["id"] for m in again} >= {m["id"] for m in markets}
        _wait(lambda: "resumed" in log.read_text(), 60, "the demo resuming", log)
        _stop(proc, data)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in _processes_using(data):
            p.kill()
        import shutil

        shutil.rmtree(data, ignore_errors=True)
