"""Gateway configuration: DUALSIGN_DICOM_* environment variables over an optional JSON file.

Peers (calling AE title -> site code) and destinations are given either in the JSON file named by
DUALSIGN_DICOM_CONFIG ({"peers": {"CT1": "A"}, "destinations": [{"ae_title": "PACS", "host": ..,
"port": .., "sites": ["A"]}]}) or in the compact env forms DUALSIGN_DICOM_PEERS="CT1=A,ORTHANC=B" and
DUALSIGN_DICOM_DESTINATIONS="PACS@127.0.0.1:4242[=A+B]" (no sites: every site's results)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"DUALSIGN_DICOM_{name}", default)


@dataclass(frozen=True)
class Destination:
    ae_title: str
    host: str
    port: int
    sites: tuple[str, ...] = ()  # site codes whose results go here; empty: all

    @property
    def key(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"

    def serves(self, site_code: str) -> bool:
        return not self.sites or site_code in self.sites


@dataclass(frozen=True)
class GatewaySettings:
    ae_title: str = "DUALSIGN"
    bind: str = "0.0.0.0"
    port: int = 11112
    peers: dict[str, str] = field(default_factory=dict)  # calling AE title -> site code
    destinations: tuple[Destination, ...] = ()
    quiet_seconds: float = 30.0  # a study with no new instance for this long is complete
    poll_seconds: float = 2.0  # study assembly and outbound queue poll interval
    max_attempts: int = 8  # outbound sends before a message is given up as failed
    backoff_seconds: float = 5.0  # first retry delay; doubles each attempt
    send_preliminary: bool = False  # also send UNVERIFIED SRs of AI preliminary reports
    max_pdu: int = 0  # 0: unlimited
    with_api: bool = False  # `dualsign serve` also listens for DICOM (else: `dualsign dicom-scp`)

    @classmethod
    def from_env(cls) -> GatewaySettings:
        data: dict[str, object] = {}
        if path := _env("CONFIG"):
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        peers = {str(k).strip(): str(v).strip() for k, v in dict(data.get("peers", {})).items()}  # type: ignore[call-overload]
        peers.update(parse_peers(_env("PEERS")))
        dests = [Destination(d["ae_title"], d["host"], int(d["port"]), tuple(d.get("sites", ())))
                 for d in list(data.get("destinations", []))]  # type: ignore[call-overload]
        dests += parse_destinations(_env("DESTINATIONS"))
        return cls(
            ae_title=_env("AE_TITLE", str(data.get("ae_title", "DUALSIGN"))),
            bind=_env("BIND", str(data.get("bind", "0.0.0.0"))),
            port=int(_env("PORT", str(data.get("port", 11112)))),
            peers=peers,
            destinations=tuple(dests),
            quiet_seconds=float(_env("QUIET_SECONDS", str(data.get("quiet_seconds", 30)))),
            poll_seconds=float(_env("POLL_SECONDS", str(data.get("poll_seconds", 2)))),
            max_attempts=int(_env("MAX_ATTEMPTS", str(data.get("max_attempts", 8)))),
            backoff_seconds=float(_env("BACKOFF_SECONDS", str(data.get("backoff_seconds", 5)))),
            send_preliminary=_env("SEND_PRELIMINARY", str(data.get("send_preliminary", ""))).lower()
            in {"1", "true", "yes"},
            with_api=_env("WITH_API", str(data.get("with_api", ""))).lower() in {"1", "true", "yes"},
        )


def parse_peers(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        ae, _, site = item.partition("=")
        if not ae or not site:
            raise ValueError(f"DUALSIGN_DICOM_PEERS item {item!r} is not AE=SITE")
        out[ae.strip()] = site.strip()
    return out


def parse_destinations(text: str) -> list[Destination]:
    out = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        target, _, sites = item.partition("=")
        ae, _, hostport = target.partition("@")
        host, _, port = hostport.rpartition(":")
        if not ae or not host or not port.isdigit():
            raise ValueError(f"DUALSIGN_DICOM_DESTINATIONS item {item!r} is not AE@host:port[=SITE+SITE]")
        out.append(Destination(ae, host, int(port), tuple(s for s in sites.split("+") if s)))
    return out
