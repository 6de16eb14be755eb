"""C-STORE ingest speed: dualsign's SCP vs dcmtk's storescp on the same CT files, in the same run.

    python benchmarks/dicom_ingest.py [--data /work/shared/data/ct] [--rounds 3] [--associations 4]

Each round sends every CT instance under --data with dcmtk's storescu, split over N concurrent
associations (one storescu process each), first to `storescp --fork` (writes plain files) and then to
dualsign's SCP (content-addressed store with fsync, one SQLite transaction per instance), alternating the
order each round. Prints instances/s and MB/s per receiver, the best round of each, the ratio
dualsign / storescp (target >= 0.80), and checks that dualsign recorded every instance (none lost),
assembled them into one exam per study, and (last round, untimed) that each exam is analysed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from dualsign import migrate
from dualsign.accounts import service as accounts
from dualsign.exams.models import Exam
from dualsign.gateway import service
from dualsign.gateway.models import DicomInstance, DicomStudy
from dualsign.gateway.scp import DicomServer
from dualsign.gateway.settings import GatewaySettings
from dualsign.runtime import build_runtime
from dualsign.settings import Settings
from dualsign.worker import service as worker


def dcmtk(tool: str) -> str:
    """dcmtk's binary, not pynetdicom's same-named app in the venv."""
    for candidate in (f"/usr/bin/{tool}", f"/usr/local/bin/{tool}"):
        if Path(candidate).exists():
            return candidate
    found = shutil.which(tool)
    if not found:
        sys.exit(f"dcmtk's {tool} is needed: apt-get install dcmtk")
    return found


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def send(port: int, called: str, groups: list[list[Path]]) -> float:
    t0 = time.perf_counter()
    procs = [subprocess.Popen([dcmtk("storescu"), "-aet", "BENCH", "-aec", called, "127.0.0.1", str(port),
                               *map(str, g)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for g in groups]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            sys.exit(f"storescu failed: {err.decode()[-500:]}")
    return time.perf_counter() - t0


def run_storescp(files: list[Path], groups: list[list[Path]], work: Path) -> float:
    out = work / "storescp"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    port = free_port()
    proc = subprocess.Popen([dcmtk("storescp"), "--fork", "-aet", "STORESCP", "-od", str(out), str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        elapsed = send(port, "STORESCP", groups)
    finally:
        proc.terminate()
        proc.wait()
    stored = sum(1 for _ in out.iterdir())
    if stored != len(files):
        sys.exit(f"storescp stored {stored} of {len(files)}")
    return elapsed


def run_dualsign(files: list[Path], groups: list[list[Path]], work: Path, round_no: int, analyse: bool = False
                 ) -> float:
    home = work / f"dualsign-{round_no}"
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'bench.db'}", store_dir=home / "store",
                        keys_dir=home / "keys", worker="inprocess", worker_threads=1, broker_url="", token_secret="",
                        token_minutes=15, service_key_algorithm="Ed25519", catalogue_path=None, host="127.0.0.1",
                        port=0)
    home.mkdir(parents=True)
    migrate.upgrade(settings.database_url)
    rt = build_runtime(settings)
    with rt.db.session() as s:
        accounts.create_site(s, code="BENCH", name="Benchmark hospital", level="county")
    gw = GatewaySettings(ae_title="DUALSIGN", bind="127.0.0.1", port=free_port(), peers={"BENCH": "BENCH"})
    server = DicomServer(rt, gw)
    server.start()
    try:
        elapsed = send(gw.port, "DUALSIGN", groups)
    finally:
        server.stop()
    with rt.db.session() as s:
        stored = s.scalar(select(func.count()).select_from(DicomInstance))
    if stored != len(files):
        sys.exit(f"dualsign lost instances: recorded {stored} of {len(files)}")
    exams = [service.assemble(rt.db, rt.store, sid, 0) for sid in service.due_studies(rt.db, 0)]
    with rt.db.session() as s:
        studies = s.scalar(select(func.count()).select_from(DicomStudy).where(DicomStudy.status == "exam"))
    if not all(exams) or studies != len(exams):
        sys.exit("dualsign did not turn every study into an exam")
    if analyse:  # outside the timing: the exams the SCP made are analysed like any other
        for exam_id in exams:
            assert exam_id is not None
            status = worker.analyze_exam(rt.db, rt.store, rt.service_key, exam_id)
            with rt.db.session() as s:
                exam = s.get(Exam, exam_id)
                assert exam is not None
                print(f"exam {exam.accession} ({exam.modality}, {len(exam.files)} files): {status}; "
                      f"{exam.ai_summary or '; '.join(exam.qc_reasons)}")
            if status not in ("preliminary", "qc_failed"):
                sys.exit(f"exam {exam_id} was not analysed: {status}")
    rt.db.engine.dispose()
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "ct")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--associations", type=int, default=4)
    args = ap.parse_args()
    files = sorted(p for p in args.data.rglob("*.dcm"))
    if not files:
        sys.exit(f"no .dcm files under {args.data}")
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    groups = [files[i::args.associations] for i in range(args.associations)]
    print(f"{len(files)} instances, {size_mb:.1f} MB, {args.associations} concurrent associations")
    times: dict[str, list[float]] = {"storescp": [], "dualsign": []}
    with tempfile.TemporaryDirectory(prefix="dicom-ingest-") as tmp:
        work = Path(tmp)
        for r in range(args.rounds):
            order = ["storescp", "dualsign"] if r % 2 == 0 else ["dualsign", "storescp"]
            for name in order:
                t = run_storescp(files, groups, work) if name == "storescp" \
                    else run_dualsign(files, groups, work, r, analyse=r == args.rounds - 1)
                times[name].append(t)
                print(f"round {r + 1} {name:9s} {t:6.2f} s  {len(files) / t:7.1f} inst/s  {size_mb / t:6.1f} MB/s")
    best = {k: min(v) for k, v in times.items()}
    ratio = best["storescp"] / best["dualsign"]
    print(f"best: storescp {size_mb / best['storescp']:.1f} MB/s, dualsign {size_mb / best['dualsign']:.1f} MB/s; "
          f"dualsign/storescp throughput = {ratio:.2f} (target >= 0.80); no instance lost")
    return 0 if ratio >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
