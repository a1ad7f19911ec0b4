"""Run the validator as a child process (for restart and `kill -9` tests).

    proc = ValidatorProcess(ledger_dir, enable_test_controls=True, slot_ms=100).start()
    proc.rpc_url, proc.ws_url, proc.info
    proc.kill()            # SIGKILL, as a crash
    proc = proc.restart()  # same ledger, same ports
    proc.stop()            # SIGTERM, clean shutdown

The child writes a ready file (JSON: URLs, program id, key paths, pid) once it serves; its
stdout/stderr go to `validator.log` in the ledger directory, so no pipe can fill up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any


class ValidatorProcess:
    def __init__(
        self,
        ledger_dir: str | os.PathLike[str],
        *,
        rpc_port: int = 0,
        ws_port: int | None = None,
        slot_ms: int = 400,
        finalize_depth: int = 32,
        enable_test_controls: bool = False,
        reset: bool = False,
        extra_args: tuple[str, ...] = (),
        python: str = sys.executable,
    ):
        self.ledger_dir = Path(ledger_dir)
        self.rpc_port = rpc_port
        self.ws_port = ws_port if ws_port is not None else (0 if rpc_port == 0 else rpc_port + 1)
        self.slot_ms = slot_ms
        self.finalize_depth = finalize_depth
        self.enable_test_controls = enable_test_controls
        self.reset = reset
        self.extra_args = extra_args
        self.python = python
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    @property
    def ready_file(self) -> Path:
        return self.ledger_dir / "ready.json"

    @property
    def rpc_url(self) -> str:
        return str(self.info["rpc_url"])

    @property
    def ws_url(self) -> str:
        return str(self.info["ws_url"])

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def args(self) -> list[str]:
        args = [
            self.python,
            "-m",
            "hybridmarket.localnet",
            "--ledger",
            str(self.ledger_dir),
            "--rpc-port",
            str(self.rpc_port),
            "--ws-port",
            str(self.ws_port),
            "--slot-ms",
            str(self.slot_ms),
            "--finalize-depth",
            str(self.finalize_depth),
            "--ready-file",
            str(self.ready_file),
            "--quiet",
        ]
        if self.enable_test_controls:
            args.append("--enable-test-controls")
        if self.reset:
            args.append("--reset")
        return args + list(self.extra_args)

    def start(self, timeout: float = 60.0) -> ValidatorProcess:
        self.ledger_dir.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
        with open(self.ledger_dir / "validator.log", "ab") as logf:
            self.proc = subprocess.Popen(
                self.args(), stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"validator exited with {self.proc.returncode}; see "
                    f"{self.ledger_dir / 'validator.log'}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError("validator did not become ready")
            time.sleep(0.02)
        self.info = json.loads(self.ready_file.read_text())
        # Later restarts reuse the ports, like a real node coming back on its address.
        self.rpc_port = int(self.rpc_url.rsplit(":", 1)[1])
        self.ws_port = int(self.ws_url.rsplit(":", 1)[1])
        self.reset = False
        return self

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed beyond what was committed."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.wait()

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM: a clean shutdown (the open slot is confirmed and written)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.wait()

    def wait(self) -> int | None:
        if self.proc is None:
            return None
        return self.proc.wait()

    def restart(self, timeout: float = 60.0) -> ValidatorProcess:
        self.wait()
        return self.start(timeout)

    def __enter__(self) -> ValidatorProcess:
        return self.start() if self.proc is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
