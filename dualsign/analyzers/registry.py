"""Analyzers register per modality through the `dualsign.analyzers` entry-point group.

The core never imports an analyzer by name: a new analyzer is a new folder plus one entry point.
"""

from __future__ import annotations

import functools
from importlib.metadata import entry_points
from pathlib import Path

from dualsign.analyzers.base import Analyzer

GROUP = "dualsign.analyzers"


@functools.cache
def available_analyzers() -> dict[str, Analyzer]:
    """Modality -> analyzer instance, loaded once per process (batch calls pay start-up once)."""
    found: dict[str, Analyzer] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        factory = ep.load()
        analyzer = factory()
        if not isinstance(analyzer, Analyzer):
            raise TypeError(f"entry point {ep.name!r} does not provide an Analyzer")
        if analyzer.modality in found:
            raise ValueError(f"two analyzers registered for modality {analyzer.modality!r}")
        found[analyzer.modality] = analyzer
    return found


class NoAnalyzer(LookupError):
    pass


def analyzer_for_modality(modality: str) -> Analyzer:
    analyzers = available_analyzers()
    try:
        return analyzers[modality]
    except KeyError:
        known = ", ".join(sorted(analyzers)) or "none installed"
        raise NoAnalyzer(f"no analyzer for modality {modality!r} (available: {known})") from None


def analyzer_for_path(path: Path) -> Analyzer:
    for analyzer in available_analyzers().values():
        if analyzer.can_read(path):
            return analyzer
    raise NoAnalyzer(f"{path}: no analyzer recognises this file or folder")
