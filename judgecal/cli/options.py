"""The options every command shares, defined once.

Each ``add_*`` function adds one option with the same name, default and help in
every command that uses it. Old spellings (``--method`` for the calibrator,
``--human-col``, ``--n-boot``, ``--json``) stay as hidden aliases that print a
one-line deprecation note on stderr.

Examples
--------
>>> import argparse
>>> parser = argparse.ArgumentParser(prog="demo")
>>> add_level(parser)
>>> add_n_resamples(parser, default=200)
>>> args = parser.parse_args(["--n-resamples", "50"])
>>> (args.level, args.n_resamples)
(0.9, 50)
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

from judgecal.vocabulary import DEFAULT_LEVEL

__all__ = [
    "CALIBRATORS",
    "add_budgets",
    "add_bundled",
    "add_calibrator",
    "add_calibrators",
    "add_data",
    "add_deprecated",
    "add_format",
    "add_label_cols",
    "add_level",
    "add_n_resamples",
    "add_out",
    "add_record_cols",
    "add_seed",
    "level_value",
    "nonnegative_int",
    "positive_int",
]

#: Calibrators a command can fit, in the order shown in ``--help``.
CALIBRATORS: tuple[str, ...] = ("isotonic", "logistic", "bayes")


def _number_type(
    name: str, cast: Callable[[str], Any], ok: Callable[[Any], bool]
) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {name}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {name}, got {text!r}")
        return value

    convert.__name__ = name
    return convert


#: ``--level``: a float strictly between 0 and 1.
level_value = _number_type("a number between 0 and 1", float, lambda v: 0.0 < v < 1.0)
#: ``--seed``, ``--n-resamples``: an integer >= 0.
nonnegative_int = _number_type("an integer >= 0", int, lambda v: v >= 0)
#: counts that must be at least 1.
positive_int = _number_type("an integer >= 1", int, lambda v: v >= 1)
#: a finite float.
finite_float = _number_type("a finite number", float, math.isfinite)


class _DeprecatedAlias(argparse.Action):
    """Store or append like the new flag, after a one-line note on stderr."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        self.new_flag: str = kwargs.pop("new_flag")
        self.append: bool = kwargs.pop("append", False)
        self.const_value: Any = kwargs.pop("const_value", None)
        nargs = 0 if self.const_value is not None else None
        super().__init__(option_strings, dest, nargs=nargs, help=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(
            f"warning: {option_string} is deprecated; use {self.new_flag}",
            file=sys.stderr,
        )
        value = self.const_value if self.const_value is not None else values
        if self.append:
            value = [*(getattr(namespace, self.dest, None) or []), value]
        setattr(namespace, self.dest, value)


def add_deprecated(
    parser: argparse.ArgumentParser, old: str, new: str, dest: str, **kwargs: Any
) -> None:
    """Add ``old`` as a hidden alias of ``new`` (same ``dest``).

    Keyword arguments: ``append=True`` for repeatable flags, ``const_value`` for
    switches (``--json`` means ``--format json``), ``type`` and ``choices``.
    """
    parser.add_argument(old, dest=dest, action=_DeprecatedAlias, new_flag=new, **kwargs)


def add_data(parser: argparse.ArgumentParser, *, optional: bool = False, help: str = "") -> None:
    """The data file: positional ``DATA`` or ``--data``."""
    text = help or "CSV or JSONL file"
    parser.add_argument("data", nargs="?" if optional else None, default=None, help=text)
    if optional:
        parser.add_argument("--data", dest="data_flag", default=None, help=argparse.SUPPRESS)


def add_record_cols(parser: argparse.ArgumentParser, *, file_only: bool = False) -> None:
    """``--score-col``, ``--stage-col``, ``--item-col`` and ``--scale``."""
    tag = "file: " if file_only else ""
    parser.add_argument(
        "--score-col",
        default=None,
        help=f"{tag}column with the judge's score (agree and bias: several judges, "
        "comma-separated)",
    )
    parser.add_argument(
        "--stage-col", default=None, help=f"{tag}column with the stage (one fit per stage)"
    )
    parser.add_argument(
        "--item-col", default="item_id", help=f"{tag}column with the item id (default item_id)"
    )
    parser.add_argument(
        "--scale",
        default=None,
        help=f"{tag}judge scale: likert:K, numeric:LOW:HIGH or verdict:W1,W2 (default likert:5)",
    )


def add_label_cols(parser: argparse.ArgumentParser, *, file_only: bool = False) -> None:
    """``--label-col`` (repeatable), ``--label-kind``, ``--levels`` and ``--pairwise-codes``."""
    tag = "file: " if file_only else ""
    parser.add_argument(
        "--label-col",
        action="append",
        default=None,
        help=f"{tag}human label column(s), one per rater; repeat or comma-separate",
    )
    parser.add_argument("--label-kind", choices=("binary", "ordinal", "pairwise"), default="binary")
    parser.add_argument(
        "--levels", type=positive_int, default=None, help=f"{tag}number of ordinal levels"
    )
    parser.add_argument("--pairwise-codes", default=None, help=f"{tag}e.g. 2=first,0=second,1=tie")
    parser.add_argument(
        "--labels",
        default=None,
        help=f"{tag}human label words, declared once: yes=1,no=0 or A=first,B=second,tie=tie",
    )
    parser.add_argument(
        "--label-threshold",
        type=finite_float,
        default=None,
        help=f"{tag}averaged human scores (2.2 on 1-5): labels are 1 at or above this",
    )


def add_calibrator(
    parser: argparse.ArgumentParser,
    *,
    choices: tuple[str, ...] = CALIBRATORS,
    default: str = "isotonic",
    old_method: bool = True,
) -> None:
    """``--calibrator`` (old spelling ``--method`` where it picked the calibrator)."""
    parser.add_argument(
        "--calibrator", choices=choices, default=default, help=f"calibrator (default {default})"
    )
    if old_method:
        add_deprecated(parser, "--method", "--calibrator", "calibrator", choices=choices)


def _name_list(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def convert(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in choices]
        if not names or unknown:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated names among {{{', '.join(choices)}}}, got {text!r}"
            )
        return list(dict.fromkeys(names))

    convert.__name__ = "calibrator names"
    return convert


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 2:
        raise argparse.ArgumentTypeError(f"expected integers >= 2 like 50,100,200; got {text!r}")
    return sorted(set(values))


def add_calibrators(
    parser: argparse.ArgumentParser, *, default: tuple[str, ...] = CALIBRATORS
) -> None:
    """``--calibrators``: several calibrators to compare, comma-separated."""
    text = ",".join(default)
    parser.add_argument(
        "--calibrators",
        type=_name_list(CALIBRATORS),
        default=list(default),
        help=f"calibrators to compare, comma-separated (default {text})",
    )


def add_budgets(parser: argparse.ArgumentParser, *, default: tuple[int, ...]) -> None:
    """``--budgets``: numbers of human labels to fit on, comma-separated."""
    text = ",".join(str(value) for value in default)
    parser.add_argument(
        "--budgets",
        type=_int_list,
        default=list(default),
        help=f"labels to fit on per split, comma-separated (default {text})",
    )


def add_n_resamples(parser: argparse.ArgumentParser, *, default: int) -> None:
    """``--n-resamples`` (old spelling ``--n-boot``)."""
    parser.add_argument(
        "--n-resamples",
        type=nonnegative_int,
        default=default,
        help=f"bootstrap resamples (0: none; default {default})",
    )
    add_deprecated(parser, "--n-boot", "--n-resamples", "n_resamples", type=nonnegative_int)


def add_level(parser: argparse.ArgumentParser) -> None:
    """``--level``, default 0.9 everywhere."""
    parser.add_argument(
        "--level",
        type=level_value,
        default=DEFAULT_LEVEL,
        help=f"interval level (default {DEFAULT_LEVEL})",
    )


def add_threshold(parser: argparse.ArgumentParser, *, help: str) -> None:
    """``--threshold``: for ordinal labels, the lowest level that counts as yes."""
    parser.add_argument("--threshold", type=int, default=None, help=help)


def add_ties(
    parser: argparse.ArgumentParser,
    *,
    allowed: tuple[str, ...] = ("half", "drop", "loss"),
    help: str = "pairwise tie policy (default half)",
    old_names: bool = False,
) -> None:
    """``--ties``: a tie policy of :mod:`judgecal.vocabulary`, default ``half``.

    With ``old_names``, ``negative`` (0.1's name for ``loss``) is accepted, unlisted.
    """
    choices = (*allowed, "negative") if old_names else allowed
    metavar = "{" + ",".join(allowed) + "}"
    parser.add_argument("--ties", choices=choices, default="half", metavar=metavar, help=help)


def add_seed(parser: argparse.ArgumentParser) -> None:
    """``--seed``: an integer >= 0, default 0."""
    parser.add_argument("--seed", type=nonnegative_int, default=0, help="random seed (default 0)")


def add_format(
    parser: argparse.ArgumentParser, choices: tuple[str, ...], *, default: str | None = None
) -> None:
    """``--format`` with the formats this command can write."""
    first = default or choices[0]
    parser.add_argument(
        "--format", choices=choices, default=first, help=f"output format (default {first})"
    )


def add_out(parser: argparse.ArgumentParser, *, required: bool = False, help: str = "") -> None:
    """``--out``: where to write (written atomically)."""
    text = help or "write the output here (default: stdout)"
    parser.add_argument("--out", required=required, default=None, help=text)


def add_bundled(parser: argparse.ArgumentParser, *, default: str) -> None:
    """``--dataset`` and ``--judge``: the bundled data used when no file is given."""
    parser.add_argument(
        "--dataset",
        choices=("hanna", "pandalm"),
        default=None,
        help=f"bundled dataset used when no file is given (default {default})",
    )
    parser.add_argument(
        "--judge", default=None, help="bundled judge (HANNA: e.g. ChatGPT_p1; PandaLM: gpt35)"
    )
