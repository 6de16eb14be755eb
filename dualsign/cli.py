"""The `dualsign` command. Each domain contributes its own sub-commands through add_parser()."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dualsign.analyzers import cli as analyze_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dualsign", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    analyze_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
