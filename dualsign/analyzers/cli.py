"""`dualsign analyze PATH [PATH ...] --json`: run analyzers outside the service, one JSON line per path."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dualsign.analyzers.base import Analyzer, AnalyzerError, ExamContext
from dualsign.analyzers.registry import NoAnalyzer, analyzer_for_modality, analyzer_for_path


def add_parser(sub: Any) -> None:
    p = sub.add_parser("analyze", help="analyse exam files with the registered analyzers")
    p.add_argument("paths", nargs="+", help="a WFDB record path (no extension), a file or a DICOM folder")
    p.add_argument("--json", action="store_true", help="print one findings JSON object per line")
    p.add_argument("--modality", help="force the analyzer for this modality instead of detecting it")
    p.add_argument("--laterality", choices=["R", "L"], help="eye, when the image file does not say (fundus)")
    p.add_argument("--prior", metavar="PATH",
                   help="the patient's previous exam of the same modality: findings are compared with it")
    p.set_defaults(func=run)


def _resolve(arg: str) -> Path:
    return Path(arg)


def _context(args: argparse.Namespace, analyzer: Analyzer, cache: dict[str, dict[str, Any]]) -> ExamContext:
    prior_raw = None
    if args.prior:
        # The prior is analysed once with the same analyzer; its findings JSON is what follow-up compares.
        if args.prior not in cache:
            cache[args.prior] = analyzer.analyze([_resolve(args.prior)],
                                                 ExamContext(laterality=args.laterality)).raw
        prior_raw = cache[args.prior]
    return ExamContext(laterality=args.laterality, prior_raw=prior_raw)


def run(args: argparse.Namespace) -> int:
    failures = 0
    priors: dict[str, dict[str, Any]] = {}
    for arg in args.paths:
        path = _resolve(arg)
        try:
            analyzer = analyzer_for_modality(args.modality) if args.modality else analyzer_for_path(path)
            result = analyzer.analyze([path], _context(args, analyzer, priors))
            out: dict[str, Any] = result.raw
        except (AnalyzerError, NoAnalyzer) as exc:
            # One line per path, in order, even for bad input: the error names the problem.
            failures += 1
            out = {"path": arg, "error": str(exc)}
        if args.json:
            sys.stdout.write(json.dumps(out, ensure_ascii=False, default=str) + "\n")
        else:
            sys.stdout.write(f"{arg}: {out.get('error') or out.get('summary', 'analysed')}\n")
        sys.stdout.flush()
    return 1 if failures else 0
