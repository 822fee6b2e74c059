"""A real `vpatient serve` process for the tests (uvicorn on a free loopback port)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ServeProcess:
    def __init__(self, db_url: str, *extra: str, log: Path, timeout_s: float = 180.0):
        cmd = [sys.executable, "-m", "vpatient", "serve", "--port", "0", "--db", db_url, *extra]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
        self.log = log
        self._err = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err, text=True, env=env, cwd=ROOT)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        line = ""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line or "serving at" in line:
                break
        assert "serving at http://" in line, f"vpatient serve did not start: {line!r}; see {log}:\n{log.read_text()}"
        self.url = line.split("serving at ", 1)[1].split()[0]

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close()

    def _close(self) -> None:
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._err.close()
