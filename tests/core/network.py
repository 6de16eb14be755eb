"""A small four-level network with one user per role at two counties, for API tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from dualsign.accounts import service as accounts
from dualsign.accounts.models import Site
from dualsign.runtime import Runtime

PASSWORD = "correct-horse-battery"


@dataclass
class Network:
    sites: dict[str, int] = field(default_factory=dict)  # code -> id
    users: dict[str, int] = field(default_factory=dict)  # username -> id


def build_network(rt: Runtime) -> Network:
    """province P > city C > counties A and B; township T under A (no physician: reads go up to A).

    Users: at A and B one of every role ('<role>.a', '<role>.b'; physician.a reads ECG and chest CT,
    physician.b ECG only); at A also an ECG physician with an expired licence and a physician qualified
    for CT only. Nobody reads fundus photographs.
    """
    net = Network()
    today = dt.date.today()
    with rt.db.session() as s:
        p = accounts.create_site(s, code="P", name="Province hospital", level="province")
        c = accounts.create_site(s, code="C", name="City hospital", level="city", parent=p)
        a = accounts.create_site(s, code="A", name="County A hospital", level="county", parent=c)
        b = accounts.create_site(s, code="B", name="County B hospital", level="county", parent=c)
        t = accounts.create_site(s, code="T", name="Township clinic under A", level="township", parent=a)
        for site in (p, c, a, b, t):
            net.sites[site.code] = site.id

        def user(name: str, role: str, site: Site, mods: Iterable[str] = (), valid_to: dt.date | None = None,
                 algorithm: str = "SM2-SM3") -> None:
            physician = role == "physician"
            valid_to = valid_to or today.replace(year=today.year + 3)
            u = accounts.create_user(
                s, username=name, full_name=name.title(), role=role, site=site, password=PASSWORD,
                qualified_modalities=mods, licence_number=f"LIC-{name}" if physician else None,
                licence_valid_from=today.replace(year=today.year - 3) if physician else None,
                licence_valid_to=valid_to if physician else None, key_algorithm=algorithm)
            net.users[name] = u.id

        for suffix, site in (("a", a), ("b", b)):
            user(f"physician.{suffix}", "physician", site, ["ecg", "chest_ct"] if suffix == "a" else ["ecg"],
                 algorithm="SM2-SM3" if suffix == "a" else "Ed25519")
            for role in ("technologist", "qc_officer", "billing", "auditor", "admin"):
                user(f"{role}.{suffix}", role, site)
        user("physician.a2", "physician", a, ["ecg"])
        user("expired.a", "physician", a, ["ecg"], valid_to=today - dt.timedelta(days=1))
        user("ctonly.a", "physician", a, ["chest_ct"])
        user("tech.t", "technologist", t)
    return net
