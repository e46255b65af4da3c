"""Start `payerlint serve` as a real process on a free loopback port, for tests and the
benchmark; stop it by its own pid."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def need(module: str, extra: str) -> None:
    """Skip when an optional package is missing, except under CI, where it must be there."""
    import importlib.util

    import pytest

    if importlib.util.find_spec(module) is None:
        message = f"{module} is needed: pip install -e '.[{extra}]'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message, allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, *args: str, token: str | None = None, log: Path | None = None, home: Path = ROOT):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {k: v for k, v in os.environ.items() if k not in ("PAYERLINT_TOKEN", "PAYERLINT_HOME")}
        if token:
            env["PAYERLINT_TOKEN"] = token
        self._log_file = open(log, "wb") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "payerlint", "serve", "--port", str(self.port), "--home", str(home), *args],
            stdout=self._log_file, stderr=self._log_file, env=env, cwd=ROOT)
        self._wait()

    def _wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"payerlint serve exited with {self.process.returncode}: "
                                   + (self.log.read_text() if self.log else ""))
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("payerlint serve did not answer /healthz in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log_file is not subprocess.DEVNULL:
            self._log_file.close()
