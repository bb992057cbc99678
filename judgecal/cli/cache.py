"""``judgecal cache``: inspect and prune a judge-call cache.

::

    judgecal cache stats calls.sqlite [--json]
    judgecal cache prune calls.sqlite [--older-than 30d] [--judge NAME] [--fingerprint PREFIX]
                                      [--status unparseable] [--all] [--vacuum] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

from judgecal._exceptions import InputError
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
        raise InputError("path", "an existing judgecal cache file", path, where="judgecal cache")
    return JudgeCache(path)


def _when(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _cmd_stats(args: argparse.Namespace) -> int:
    with _open(args.path) as cache:
        st = cache.stats()
    if args.json:
        print(json.dumps(st, indent=2, sort_keys=True))
        return 0
    print(f"{st['path']}: {st['entries']} entries, {st['size_bytes'] / 1024:.1f} KiB")
    if st["by_status"]:
        print("by status: " + ", ".join(f"{k}={v}" for k, v in st["by_status"].items()))
    if st["usage"]:
        print("usage: " + ", ".join(f"{k}={v:g}" for k, v in sorted(st["usage"].items())))
    if st["judges"]:
        print(
            f"{'judge':<28} {'version':<12} {'fingerprint':<12} {'entries':>8}  {'first':<16}  last"
        )
        for j in st["judges"]:
            print(
                f"{j['name'][:28]:<28} {j['version'][:12]:<12} {j['fingerprint'][:12]:<12} {j['entries']:>8}  "
                f"{_when(j['first']):<16}  {_when(j['last'])}"
            )
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


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``cache`` subcommand (``stats`` and ``prune``)."""
    p = subparsers.add_parser("cache", help="inspect or prune a judge-call cache (SQLite)")
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    stats = sub.add_parser("stats", help="entries, size, statuses, judges")
    stats.add_argument("path", help="the cache file")
    stats.add_argument("--json", action="store_true", help="print JSON")
    stats.set_defaults(func=_cmd_stats)
    prune = sub.add_parser("prune", help="delete entries matching all the given criteria")
    prune.add_argument("path", help="the cache file")
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
    prune.set_defaults(func=_cmd_prune)
