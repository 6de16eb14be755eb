"""The README's run command on a fresh clone: `dualsign serve --demo` serves the API, analyses the demo
exams and lists them; the critical township ECG heads the county physician's worklist; SIGTERM stops it."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from dualsign.demo.seed import DEMO_PASSWORD
from tests.conftest import REPO
from tests.core.procs import Proc, free_port, login, service_env, wait_healthy

DONE = {"preliminary", "qc_failed", "analysis_failed"}
MANIFEST = json.loads((REPO / "dualsign" / "demo" / "samples" / "manifest.json").read_text(encoding="utf-8"))


def _record(exam: dict[str, Any]) -> str:
    return Path(exam["files"][0]["filename"]).stem


def _exams(base: str, headers: dict[str, str], timeout: float = 240) -> dict[str, dict[str, Any]]:
    """The caller's exams by record name, once every one has been analysed."""
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(f"{base}/api/exams", headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if items and all(e["status"] in DONE for e in items):
            return {_record(e): e for e in items}
        if time.monotonic() > deadline:
            raise AssertionError(f"demo exams not analysed after {timeout} s: {items}")
        time.sleep(0.3)


def test_fresh_clone_serves_demo(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    assert not (clone / "var").exists()
    # `python -m` from the clone runs the clone's code (its directory comes first on sys.path) with the
    # dependencies already installed here; the command is the README's `dualsign serve --demo`.
    which = subprocess.run([sys.executable, "-c", "import dualsign; print(dualsign.__file__)"], cwd=clone,
                           capture_output=True, text=True, check=True)
    assert Path(which.stdout.strip()).is_relative_to(clone), which.stdout

    port = free_port()
    env = {k: v for k, v in service_env(clone / "var", "").items()
           if k not in ("DUALSIGN_HOME", "DUALSIGN_DATABASE_URL")}  # embedded defaults, as on a fresh machine
    env["DUALSIGN_PORT"] = str(port)
    proc = Proc(["serve", "--demo"], env, tmp_path / "serve.log", cwd=clone,
                command=[sys.executable, "-m", "dualsign.cli"])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, timeout=90)
        assert (clone / "var" / "dualsign.db").exists()  # the embedded SQLite default, under ./var

        township = _exams(base, login(base, "tech.wang", DEMO_PASSWORD))
        county = _exams(base, login(base, "tech.liu", DEMO_PASSWORD))
        by_site: dict[str, set[str]] = {}
        modality: dict[str, str] = {}
        for entry in MANIFEST:
            # An entry names its files, or a folder of them (a CT series): the exam's first file names it.
            first = sorted((clone / "dualsign" / "demo" / "samples" / entry["folder"]).iterdir())[0].name \
                if "folder" in entry else entry["files"][0]
            by_site.setdefault(entry["site"], set()).add(Path(first).stem)
            modality[Path(first).stem] = entry["modality"]
        assert set(township) == by_site["CN-GD-SZ-LG-PX"], township
        assert set(county) == by_site["CN-GD-SZ-LG"], county
        for exam in (*township.values(), *county.values()):
            assert exam["status"] == "preliminary", exam

        vt = township["mitdb223_vt"]
        assert vt["reading_site"] == "CN-GD-SZ-LG", vt  # routed up: the township has no physician
        r = httpx.get(f"{base}/api/worklist", headers=login(base, "dr.zhang", DEMO_PASSWORD), timeout=10)
        assert r.status_code == 200, r.text
        worklist = r.json()["items"]
        assert worklist[0]["id"] == vt["id"], [(_record(e), e["urgency"]) for e in worklist]
        # dr.zhang reads ECG and chest CT; the county's fundus photographs go up to the city's dr.li.
        mine = {r for r in set(township) | set(county) if modality[r] in ("ecg", "chest_ct")}
        assert {_record(e) for e in worklist} == mine
        assert "chest_ct" in {modality[r] for r in mine}
        r = httpx.get(f"{base}/api/worklist", headers=login(base, "dr.li", DEMO_PASSWORD), timeout=10)
        fundus = {r for r in county if modality[r] == "fundus"}
        assert fundus and fundus <= {_record(e) for e in r.json()["items"]}

        # SIGTERM: a clean shutdown. Uvicorn finishes the lifespan (stopping the worker pool), then
        # re-raises the signal it caught, so the status is 0 or "terminated by SIGTERM", never a crash.
        code = proc.stop()
        out = proc.output()
        assert code in (0, -signal.SIGTERM), out
        assert "Application shutdown complete" in out and "Traceback" not in out, out
    finally:
        proc.kill()
        shutil.rmtree(clone, ignore_errors=True)
    # The demo's point: a ventricular tachycardia recorded at a township reaches the county reader first,
    # flagged critical by the AI (MIT-BIH 223, VT from 8.3 s into the excerpt).
    assert vt["urgency"] == "critical", (vt["urgency"], vt["ai_summary"])
