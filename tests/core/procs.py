"""Real `dualsign` processes for the crash, Celery and serve tests: start, wait, kill the whole group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import numpy as np

from tests.conftest import REPO, TEST_DATA

# The installed console script, as a user runs it.
_SCRIPT = Path(sys.executable).parent / "dualsign"
DUALSIGN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "dualsign.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def service_env(home: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUALSIGN_")}
    env.update(DUALSIGN_HOME=str(home), DUALSIGN_DATABASE_URL=database_url, PYTHONUNBUFFERED="1",
               DUALSIGN_SERVICE_KEY_ALGORITHM="SM2")
    env.update({f"DUALSIGN_{k.upper()}": v for k, v in extra.items()})
    return env


class Proc:
    """A `dualsign` command in its own process group, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, cwd: Path = REPO,
                 command: list[str] = DUALSIGN) -> None:
        self.log = log
        self._out: IO[bytes] = log.open("ab")
        self.popen = subprocess.Popen(command + args, env=env, cwd=cwd, stdout=self._out,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None or sig == signal.SIGKILL:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
        if sig == signal.SIGKILL:
            self.popen.wait(timeout=10)
            self._out.close()

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, then SIGKILL for whatever is left of the group; the command's exit status."""
        self.kill(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout=timeout)
        finally:
            self.kill(signal.SIGKILL)
        return code


def serve(home: Path, database_url: str, *flags: str, **extra: str) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc(["serve", "--port", str(port), *flags], service_env(home, database_url, **extra),
                home / f"serve-{port}.log")
    base = f"http://127.0.0.1:{port}"
    wait_healthy(proc, base)
    return proc, base


def wait_healthy(proc: Proc, base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise AssertionError(f"server exited with {proc.popen.returncode}:\n{proc.output()}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not healthy after {timeout} s:\n{proc.output()}")


def login(base: str, username: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/auth/token", data={"username": username, "password": password}, timeout=30)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def upload(base: str, headers: dict[str, str], paths: list[Path], mrn: str) -> httpx.Response:
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    data = {"modality": "ecg", "patient_mrn": mrn, "patient_name": "Test Patient", "patient_sex": "F",
            "patient_birth_date": "1960-01-01", "insurance_number": "INS-123456"}
    return httpx.post(f"{base}/api/exams", headers=headers, files=files, data=data, timeout=60)


def long_records(directory: Path, count: int, first_minutes: int = 6) -> list[list[Path]]:
    """Distinct WFDB records of several minutes, tiled from a real MIT-BIH excerpt (record 106).

    Each has its own name and length, hence its own bytes and its own exam; minutes of signal make
    analysis take long enough to be caught in 'analyzing' without any sleep in product code."""
    import wfdb

    src = wfdb.rdrecord(str(TEST_DATA / "ecg" / "mitdb106_150s_60s"), physical=False)
    directory.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(count):
        name = f"long{i:02d}"
        signal_ = np.tile(src.d_signal, (first_minutes + i, 1))
        wfdb.wrsamp(name, fs=src.fs, units=src.units, sig_name=src.sig_name, d_signal=signal_, fmt=src.fmt,
                    adc_gain=src.adc_gain, baseline=src.baseline, write_dir=str(directory))
        records.append(sorted(directory.glob(f"{name}.*")))
    return records


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(DUALSIGN + args, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
