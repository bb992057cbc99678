"""``judgecal cache``: inspect and prune a judge-call cache.

::

    judgecal cache stats calls.sqlite [--format json]
    judgecal cache prune calls.sqlite [--older-than 30d] [--judge NAME] [--fingerprint PREFIX]
                                      [--status unparseable] [--all] [--vacuum] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgecal._exceptions import InputError
from judgecal.cli import options
from judgecal.cli.errors import FlagError

if TYPE_CHECKING:
    from judgecal.judging.cache import JudgeCache

__all__ = ["parse_duration", "register"]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: str) -> float:
    """Seconds in ``"90"``, ``"90s"``, ``"15m"``, ``"12h"``, ``"30d"`` or ``"2w"``.

    Examples
    --------
    >>> parse_duration("30d"), parse_duration("1.5h"), parse_duration("45")
    (2592000.0, 5400.0, 45.0)
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smhdw]?)\s*", str(text).lower())
    if not m:
        raise InputError(
            "--older-than",
            "a duration like 90s, 15m, 12h, 30d or 2w",
            text,
            where="judgecal cache prune",
        )
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def _open(path: str) -> JudgeCache:
    if not Path(path).is_file():
        raise InputError("PATH", "an existing judgecal cache file", path)
    from judgecal.judging.cache import JudgeCache

    return JudgeCache(path)


def _when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _stats(path: str) -> dict[str, Any]:
    with _open(path) as cache:
        try:
            return dict(cache.stats())
        except (AttributeError, TypeError, ValueError) as exc:  # e.g. a usage cell holding a list
            raise FlagError(
                "PATH", f"cannot summarise {path}: a cell of the cache is malformed ({exc})"
            ) from None


def _judge_lines(judges: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"{'judge':<28} {'version':<12} {'fingerprint':<12} {'entries':>8}  {'first':<16}  last"
    ]
    for judge in judges:
        lines.append(
            f"{judge['name'][:28]:<28} {judge['version'][:12]:<12} "
            f"{judge['fingerprint'][:12]:<12} {judge['entries']:>8}  "
            f"{_when(judge['first']):<16}  {_when(judge['last'])}"
        )
    return lines


def _cmd_stats(args: argparse.Namespace) -> int:
    st = _stats(args.path)
    if args.format == "json":
        print(json.dumps(st, indent=2, sort_keys=True))
        return 0
    print(f"{st['path']}: {st['entries']} entries, {st['size_bytes'] / 1024:.1f} KiB")
    if st["by_status"]:
        print("by status: " + ", ".join(f"{k}={v}" for k, v in st["by_status"].items()))
    if st["usage"]:
        print("usage: " + ", ".join(f"{k}={v:g}" for k, v in sorted(st["usage"].items())))
    if st["judges"]:
        print("\n".join(_judge_lines(st["judges"])))
    return 0


def _cmd_prune(args: argparse.Namespace) -> int:
    older = None if args.older_than is None else parse_duration(args.older_than)
    crit: dict[str, Any] = {
        "older_than": older,
        "judge": args.judge,
        "fingerprint": args.fingerprint,
        "status": args.status,
        "everything": args.all,
    }
    with _open(args.path) as cache:
        n = cache.prune(**crit, vacuum=args.vacuum, dry_run=args.dry_run)
        left = len(cache)
    verb = "would delete" if args.dry_run else "deleted"
    print(f"{verb} {n} entries; {left} left")
    return 0


EXAMPLE = """examples:
  judgecal cache stats calls.sqlite --format json
  judgecal cache prune calls.sqlite --older-than 30d --status unparseable --dry-run
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``cache`` subcommand (``stats`` and ``prune``)."""
    parser = subparsers.add_parser(
        "cache",
        help="inspect or prune a judge-call cache (SQLite)",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="cache_command", metavar="ACTION", required=True, parser_class=type(parser)
    )
    stats = sub.add_parser(
        "stats",
        help="entries, size, statuses, judges",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stats.add_argument("path", metavar="PATH", help="the cache file")
    options.add_format(stats, ("text", "json"))
    options.add_deprecated(stats, "--json", "--format json", "format", const_value="json")
    stats.set_defaults(func=_cmd_stats)
    prune = sub.add_parser(
        "prune",
        help="delete entries matching all the given criteria",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    prune.add_argument("path", metavar="PATH", help="the cache file")
    _add_prune_options(prune)
    prune.set_defaults(func=_cmd_prune)


def _add_prune_options(prune: argparse.ArgumentParser) -> None:
    prune.add_argument("--older-than", default=None, help="e.g. 30d, 12h, 15m, 90s")
    prune.add_argument("--judge", default=None, help="judge name (any version)")
    prune.add_argument(
        "--fingerprint", default=None, help="judge fingerprint or a prefix (>= 4 chars)"
    )
    prune.add_argument(
        "--status", default=None, choices=("ok", "unparseable", "refused"), help="parsed status"
    )
    prune.add_argument(
        "--all", action="store_true", help="delete everything (no other criterion needed)"
    )
    prune.add_argument(
        "--vacuum", action="store_true", help="give the space back to the file system"
    )
    prune.add_argument("--dry-run", action="store_true", help="only count")
