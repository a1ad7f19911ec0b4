"""Stopping `hybridmarket up --demo` as processes: Ctrl-C while the demo seeds (SIGINT to the
whole process group, as a terminal sends it, so the validator and PostgreSQL get it too) and
SIGTERM to `up` alone while it runs; each with a client holding the live stream open. Every part
is gone within 5 s of the signal, the stream ends cleanly, and `up` exits with status 0."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.e2e.test_up import _free_port, _processes_using, _start, _wait

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STOP_WITHIN_S = 5.0  # the contract: every part, in every phase, with clients connected


class _Up:
    """`up --demo` in its own session (so that a signal can go to its whole group)."""

    def __init__(self, data: Path, log: Path, redis_url: str | None = None) -> None:
        self.data, self.log = data, log
        self.rpc, api = _free_port(pair=True), _free_port()
        self.base = f"http://127.0.0.1:{api}"
        self.proc = _start(data, self.rpc, api, log, new_session=True, redis_url=redis_url)

    def wait_for(self, text: str, timeout: float) -> None:
        _wait(lambda: text in self.log.read_text(), timeout, repr(text), self.log)

    def stop_and_check(self, sig: signal.Signals, *, group: bool, stream: _Stream) -> None:
        sent = time.monotonic()
        if group:
            os.killpg(self.proc.pid, sig)
        else:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=STOP_WITHIN_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"up still runs {STOP_WITHIN_S:.0f}s after {sig.name}; log:\n"
                + self.log.read_text()[-4000:]
            ) from None
        assert code == 0, self.log.read_text()[-4000:]
        left = STOP_WITHIN_S - (time.monotonic() - sent)
        assert stream.done.wait(max(left, 0.1)), "the live stream did not end"
        assert stream.outcome == "ended", stream.outcome
        while _processes_using(self.data) and time.monotonic() - sent < STOP_WITHIN_S:
            time.sleep(0.1)
        assert _processes_using(self.data) == [], "validator or PostgreSQL outlived up"
        assert "Stopped; data kept" in self.log.read_text()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for p in _processes_using(self.data):
            p.kill()


class _Stream:
    """A client holding `GET /api/stream` open, as a browser tab does."""

    def __init__(self, base: str) -> None:
        self.outcome = "running"
        self.opened, self.done = threading.Event(), threading.Event()
        threading.Thread(target=self._hold, args=(base,), daemon=True).start()
        assert self.opened.wait(30), self.outcome

    def _hold(self, base: str) -> None:
        try:
            timeout = httpx2.Timeout(10, read=60)
            with httpx2.stream("GET", f"{base}/api/stream", timeout=timeout) as r:
                r.raise_for_status()
                for _ in r.iter_raw():
                    self.opened.set()
            self.outcome = "ended"
        except httpx2.HTTPError as e:
            self.outcome = f"{type(e).__name__}: {e}"
        finally:
            self.opened.set()
            self.done.set()


@pytest.fixture
def up_dir(tmp_path: Path) -> Iterator[Path]:
    data = Path(os.environ.get("HM_E2E_DIR", "/tmp")) / f"hm-e2e-stop-{os.getpid()}"
    yield data
    import shutil

    shutil.rmtree(data, ignore_errors=True)


def _healthy(base: str) -> bool:
    return httpx2.get(f"{base}/api/health", timeout=5).status_code == 200


def test_ctrl_c_while_the_demo_seeds_stops_every_part(up_dir: Path, tmp_path: Path) -> None:
    up = _Up(up_dir, tmp_path / "up.log")
    try:
        _wait(lambda: _healthy(up.base), 120, "health", up.log)
        stream = _Stream(up.base)
        up.wait_for("demo         seeding", 120)
        up.stop_and_check(signal.SIGINT, group=True, stream=stream)
    finally:
        up.kill()


def test_sigterm_while_running_stops_every_part(up_dir: Path, tmp_path: Path) -> None:
    up = _Up(up_dir, tmp_path / "up.log")
    try:
        up.wait_for("demo         live", 300)
        assert "demo         failed" not in up.log.read_text()
        stream = _Stream(up.base)
        up.stop_and_check(signal.SIGTERM, group=False, stream=stream)
    finally:
        up.kill()


def test_sigterm_stops_one_api_process_per_core(up_dir: Path, tmp_path: Path) -> None:
    """With REDIS_URL (shared rate limits) `up` serves the API with one process per core; they
    stop with the rest, ending their live streams."""
    redis_url = _redis_or_skip()
    up = _Up(up_dir, tmp_path / "up.log", redis_url=redis_url)
    try:
        up.wait_for("demo         live", 300)
        cores = os.cpu_count() or 1
        if cores > 1:
            assert f"; {cores} processes)" in up.log.read_text()
        stream = _Stream(up.base)
        up.stop_and_check(signal.SIGTERM, group=False, stream=stream)
    finally:
        up.kill()


def _redis_or_skip() -> str:
    from tests.integration.test_deployment_redis import LOCAL_REDIS, _server
    from tests.integration.test_ratelimit_redis import _answers

    return _server("REDIS_URL", LOCAL_REDIS.replace("/14", "/13"), _answers, "Redis")
