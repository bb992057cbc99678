"""One command line: the same flags and defaults everywhere, old spellings as deprecated aliases."""

from __future__ import annotations

import argparse

import pytest

from judgecal.cli.app import build_parser, main

COMMANDS = ("fit", "apply", "compare", "demo", "bias", "agree", "estimate", "cache", "report")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {
        flag: action
        for action in parser._actions
        if action.help != argparse.SUPPRESS
        for flag in action.option_strings
    }


def test_every_command_is_imported_explicitly() -> None:
    assert sorted(_subparsers(build_parser())) == sorted(COMMANDS)
    import judgecal.cli.app as app

    assert not hasattr(app, "_PLUGINS")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_ends_with_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    tail = capsys.readouterr().out.rstrip().splitlines()
    example_at = max(i for i, line in enumerate(tail) if line.startswith("example"))
    assert any(line.strip().startswith("judgecal ") for line in tail[example_at:])


SHARED = {
    "--calibrator": ("fit", "demo", "estimate"),
    "--label-col": ("fit", "bias", "agree", "estimate"),
    "--n-resamples": ("bias", "agree"),
    "--level": ("apply", "bias", "agree", "estimate"),
    "--format": ("bias", "agree", "estimate"),
    "--seed": ("fit", "demo", "bias", "agree", "estimate"),
    "--score-col": ("fit", "apply", "bias", "agree", "estimate"),
}


@pytest.mark.parametrize("flag", sorted(SHARED))
def test_shared_flags_have_one_name_and_default(flag: str) -> None:
    parsers = _subparsers(build_parser())
    defaults = set()
    for command in SHARED[flag]:
        action = _flags(parsers[command]).get(flag)
        assert action is not None, f"{command} lacks {flag}"
        if flag not in ("--calibrator", "--format", "--n-resamples"):
            defaults.add(repr(action.default))
    assert len(defaults) <= 1
    if flag == "--level":
        assert defaults == {"0.9"}


def test_old_spellings_are_hidden() -> None:
    parsers = _subparsers(build_parser())
    for command, old in [
        ("fit", "--method"),
        ("demo", "--method"),
        ("estimate", "--method"),
        ("bias", "--human-col"),
        ("agree", "--n-boot"),
    ]:
        assert old not in _flags(parsers[command])
    cache_stats = _subparsers(parsers["cache"])["stats"]
    assert "--json" not in _flags(cache_stats) and "--format" in _flags(cache_stats)


@pytest.mark.parametrize(
    ("argv", "dest", "value", "new"),
    [
        (
            ["fit", "d.csv", "--out", "o", "--method", "logistic"],
            "calibrator",
            "logistic",
            "--calibrator",
        ),
        (["demo", "--method", "bayes"], "calibrator", "bayes", "--calibrator"),
        (["estimate", "--method", "human"], "estimator", "human", "--estimator"),
        (["bias", "--human-col", "a", "--human-col", "b"], "label_col", ["a", "b"], "--label-col"),
        (["agree", "--n-boot", "7"], "n_resamples", 7, "--n-resamples"),
        (["cache", "stats", "c.sqlite", "--json"], "format", "json", "--format json"),
    ],
)
def test_deprecated_alias_works_and_says_so(
    argv: list[str], dest: str, value: object, new: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == value
    err = capsys.readouterr().err.strip().splitlines()
    assert err and all(line.startswith("warning: ") and f"use {new}" in line for line in err)


def test_estimate_separates_estimator_and_calibrator() -> None:
    args = build_parser().parse_args(["estimate", "--estimator", "ppi", "--calibrator", "none"])
    assert (args.estimator, args.calibrator) == ("ppi", "none")


def test_bias_level_default_is_0_9() -> None:
    assert build_parser().parse_args(["bias"]).level == 0.9


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["demo", "--seed", "-1"], "--seed"),
        (["agree", "--level", "2"], "--level"),
        (["bias", "--n-resamples", "-3"], "--n-resamples"),
        (["estimate", "--n-labelled", "0"], "--n-labelled"),
    ],
)
def test_bad_numbers_are_refused_naming_the_flag(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err and "Traceback" not in err
