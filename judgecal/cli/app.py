"""The ``judgecal`` command line.

``judgecal fit DATA ...``     fit a calibrator on a CSV/JSONL file and save it as JSON
``judgecal apply CAL DATA``   add calibrated probabilities to a CSV/JSONL file
``judgecal compare DATA``     calibrators x label budgets x splits: held-out metrics vs raw
``judgecal demo``             calibrate a real judge on the bundled HANNA data
``judgecal bias``             surface-feature bias of a judge (default: bundled PandaLM)
``judgecal agree``            agreement report per stage (default: bundled HANNA)
``judgecal estimate``         human rate with a valid interval (default: bundled PandaLM)
``judgecal cache``            inspect and prune a judge-call cache
``judgecal report``           one self-contained HTML report (default: bundled HANNA)

Errors are one line on stderr naming the flag, exit code 2, never a traceback.
Ctrl-C exits 130 with one line; a closed output pipe exits quietly.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from judgecal._exceptions import JudgecalError
from judgecal._version import __version__
from judgecal.cli import agree, apply, bias, cache, compare, demo, estimate, fit
from judgecal.cli import report as report_command
from judgecal.cli.errors import describe, interrupted_message

__all__ = ["build_parser", "main"]

#: The command modules, in the order ``--help`` lists them.
COMMANDS = (fit, apply, compare, demo, bias, agree, estimate, cache, report_command)

EXAMPLE = """example:
  judgecal demo
  judgecal fit labels.csv --score-col gpt4 --label-col human --out calibrator.json
"""


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2
        raise _UsageError(f"{self.prog}: error: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    parser = _Parser(
        prog="judgecal",
        description="Calibrate LLM judges against human labels.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"judgecal {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        module.register(sub)
    return parser


def _tolerant_streams() -> None:
    """Characters the terminal cannot show become '?' instead of an error."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if isinstance(stream, io.TextIOWrapper) and encoding != "utf8":
            stream.reconfigure(errors="replace")


def _quiet_closed_pipe() -> None:
    """Point stdout at devnull so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def _run(args: argparse.Namespace) -> int:
    try:
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _quiet_closed_pipe()
        return 0
    except KeyboardInterrupt as exc:
        print(interrupted_message(exc, getattr(args, "cache", None)), file=sys.stderr)
        return 130
    except (JudgecalError, OSError, json.JSONDecodeError) as exc:
        print(f"judgecal: error: {describe(exc, args)}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 error, 130 interrupted)."""
    _tolerant_streams()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return _run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
