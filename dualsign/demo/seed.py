"""Demo installation: a four-level site network, one user per role, and real sample exams.

Every demo account uses the password printed by `dualsign serve --demo`; change it before real use.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

from sqlalchemy import select

from dualsign.accounts import service as accounts
from dualsign.accounts.models import Site, User
from dualsign.audit import service as audit
from dualsign.clock import china_today
from dualsign.exams import service as exams
from dualsign.patients import service as patients
from dualsign.runtime import Runtime
from dualsign.worker import service as worker

DEMO_PASSWORD = "dualsign-demo-2026"

SITES = [  # code, name, level, parent
    ("CN-GD", "广东省人民医院 Guangdong Provincial People's Hospital", "province", None),
    ("CN-GD-SZ", "深圳市人民医院 Shenzhen People's Hospital", "city", "CN-GD"),
    ("CN-GD-SZ-LG", "龙岗区人民医院 Longgang District People's Hospital", "county", "CN-GD-SZ"),
    ("CN-GD-SZ-LG-PX", "坪地街道社区卫生服务中心 Pingdi Community Health Centre", "township", "CN-GD-SZ-LG"),
]

# username, full name, role, site, qualified modalities (physicians)
USERS = [
    ("dr.zhang", "张伟 Zhang Wei", "physician", "CN-GD-SZ-LG", ["ecg", "chest_ct"]),
    ("dr.li", "李娜 Li Na", "physician", "CN-GD-SZ", ["ecg", "chest_ct", "fundus"]),
    ("tech.wang", "王芳 Wang Fang", "technologist", "CN-GD-SZ-LG-PX", []),
    ("tech.liu", "刘洋 Liu Yang", "technologist", "CN-GD-SZ-LG", []),
    ("qc.chen", "陈静 Chen Jing", "qc_officer", "CN-GD-SZ-LG", []),
    ("billing.yang", "杨磊 Yang Lei", "billing", "CN-GD-SZ-LG", []),
    ("auditor.zhao", "赵敏 Zhao Min", "auditor", "CN-GD-SZ", []),
    ("admin", "系统管理员 Administrator", "admin", "CN-GD", []),
]


def seed_accounts(rt: Runtime) -> bool:
    """Create the demo sites and users; False when the database already has sites."""
    with rt.db.session() as session:
        if session.scalar(select(Site.id).limit(1)) is not None:
            return False
        by_code: dict[str, Site] = {}
        for code, name, level, parent in SITES:
            by_code[code] = accounts.create_site(session, code=code, name=name, level=level,
                                                 parent=by_code[parent] if parent else None)
        today = china_today()
        for i, (username, full_name, role, site, modalities) in enumerate(USERS):
            physician = role == "physician"
            accounts.create_user(
                session, username=username, full_name=full_name, role=role, site=by_code[site],
                password=DEMO_PASSWORD, qualified_modalities=modalities,
                licence_number=f"1104403000{i:05d}" if physician else None,
                licence_valid_from=today.replace(year=today.year - 5) if physician else None,
                licence_valid_to=today.replace(year=today.year + 5) if physician else None,
            )
        audit.record(session, audit.SYSTEM, "create", "demo", None, detail={"sites": len(SITES),
                                                                          "users": len(USERS)})
    return True


def seed_exams(rt: Runtime) -> int:
    """Upload the sample exams as the technologists would; the worker analyses them."""
    samples = resources.files("dualsign.demo") / "samples"
    manifest = json.loads((samples / "manifest.json").read_text(encoding="utf-8"))
    created = 0
    for entry in manifest:
        with rt.db.session() as session:
            site = session.scalar(select(Site).where(Site.code == entry["site"]))
            tech = session.scalar(select(User).where(User.site_id == site.id, User.role == "technologist")) \
                if site else None
            if site is None or tech is None:
                raise LookupError(f"demo site {entry['site']} or its technologist is missing")
            actor = audit.Actor(tech.id, tech.username, tech.role, tech.site_id, "demo")
            p = entry["patient"]
            patient = patients.find_or_create(
                session, actor, site_id=site.id, mrn=p["mrn"], name=p["name"], sex=p["sex"],
                birth_date=dt.date.fromisoformat(p["birth_date"]), insurance_number=p["insurance_number"])
            # An entry names its files, or a folder whose every file is one exam (a CT series).
            paths = sorted(Path(str(samples / entry["folder"])).iterdir()) if "folder" in entry \
                else [Path(str(samples / name)) for name in entry["files"]]
            with ExitStack() as stack:
                files = [exams.IncomingFile(path.name, stack.enter_context(path.open("rb"))) for path in paths]
                exam, new = exams.receive(session, rt.store, files=files, modality=entry["modality"], site=site,
                                          patient=patient, actor=actor)
            if new:
                worker.queue_received(session, rt.store, exam)
                created += 1
    return created
