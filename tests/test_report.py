"""``judgecal report``: the HTML file, its sections, and a real headless browser opening it.

The browser is Debian's ``chromium`` (installed by ``.ci/run``). Without it the
browser tests skip, except under CI (``CI=true``), where they must run.
Set ``JUDGECAL_UPDATE_SCREENSHOT=1`` to copy the screenshot to
``docs/report-screenshot.png``.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import judgecal
from judgecal import InputError, InputTypeError, IsotonicCalibrator, PersistenceError
from judgecal.cli import main
from judgecal.report import build_report, write_report

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium")
UNDER_CI = os.environ.get("CI", "").lower() == "true"
MARKER_SCRIPT = """<script>
window.addEventListener("load", function () {
  var images = Array.from(document.images);
  var loaded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute("data-figures", loaded.length + "/" + images.length);
});
</script>"""


def _offline_prefix() -> list[str]:
    """``unshare -n`` (no network at all) where this machine allows it, else nothing."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    done = subprocess.run([unshare, "-n", "true"], capture_output=True, check=False)
    return [unshare, "-n"] if done.returncode == 0 else []


OFFLINE = _offline_prefix()


def needs_chromium() -> None:
    if CHROMIUM is None:
        if UNDER_CI:
            pytest.fail("chromium is required under CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does it)")


def open_in_browser(page: Path, folder: Path) -> tuple[str, list[str]]:
    """Open a copy of ``page`` with the marker script: ``(data-figures, console lines)``.

    The browser runs without a network (``unshare -n``) where the machine allows it.
    """
    probe = folder / f"probe-{page.name}"
    probe.write_text(
        page.read_text(encoding="utf-8").replace("</body>", MARKER_SCRIPT + "</body>"),
        encoding="utf-8",
    )
    flags = ["--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={folder / 'p'}"]
    done = subprocess.run(
        [
            *OFFLINE,
            str(CHROMIUM),
            *flags,
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.search(r'data-figures="(\d+/\d+)"', done.stdout)
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return (found.group(1) if found else "no marker"), console


def screenshot(page: Path, target: Path, folder: Path) -> None:
    flags = ["--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={folder / 's'}"]
    subprocess.run(
        [
            str(CHROMIUM),
            *flags,
            "--hide-scrollbars",
            f"--screenshot={target}",
            "--window-size=1280,3000",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )


@pytest.fixture(scope="module")
def bundled_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``judgecal report`` with no data arguments: the bundled HANNA data."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", "--n-resamples", "20", "--out", str(path)]) == 0
    return path


def test_bundled_report_has_every_section(bundled_page: Path) -> None:
    page = bundled_page.read_text(encoding="utf-8")
    for anchor in ("reliability", "metrics", "agreement", "bias", "estimate"):
        assert f'<section id="{anchor}">' in page
    assert page.count('<img src="data:image/png;base64,') == 6 + 1  # six stages + forest plot
    assert "human-human" in page and "judge-human" in page and "judge-judge" in page
    assert "the judge was worth about" in page
    assert "beyond what humans do" in page or "no clear effect" in page
    cells = re.search(r"<td>all</td>((?:<td[^>]*>[^<]*</td>){5})", page)
    assert cells is not None
    n_items, raw_ece, cal_ece, raw_brier, cal_brier = re.findall(r">([^<]*)</td>", cells.group(1))
    assert int(n_items) > 5000  # held-out items: everything outside the 200-label budget
    assert float(cal_ece) < float(raw_ece) and float(cal_brier) < float(raw_brier)


def test_report_needs_no_network(bundled_page: Path) -> None:
    page = bundled_page.read_text(encoding="utf-8")
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "@import" not in page and "url(" not in page


def test_browser_opens_report_without_errors(bundled_page: Path, tmp_path: Path) -> None:
    needs_chromium()
    figures, console = open_in_browser(bundled_page, tmp_path)
    assert figures == "7/7"
    assert console == []
    shot = tmp_path / "report-screenshot.png"
    screenshot(bundled_page, shot, tmp_path)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    if os.environ.get("JUDGECAL_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "report-screenshot.png")


def test_browser_check_catches_errors_and_broken_figures(tmp_path: Path) -> None:
    """The checks above can fail: a script error and a broken image are both seen."""
    needs_chromium()
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!DOCTYPE html><html><body><img src="data:image/png;base64,AAAA">'
        "<script>not_defined();</script></body></html>",
        encoding="utf-8",
    )
    figures, console = open_in_browser(broken, tmp_path)
    assert figures == "0/1"
    assert any("Uncaught ReferenceError" in line for line in console)


def simulated_file(folder: Path, rng: np.random.Generator) -> tuple[Path, Path]:
    """A CSV (two stages, 400 items, 150 labelled) and a calibrator fitted on other items."""

    def draw(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        stage = rng.choice(["extract", "select"], size=n)
        truth = rng.uniform(size=n)
        score = np.clip(np.rint(1 + 4 * truth + rng.normal(0, 0.7, n)), 1, 5)
        label = (rng.uniform(size=n) < truth**2).astype(int)
        return stage, score, label

    stage, score, label = draw(400)
    path = folder / "judged.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item_id", "stage", "judge", "human", "length"])
        for i in range(400):
            writer.writerow([f"i{i}", stage[i], score[i], label[i] if i < 150 else "", 100 + i])
    fit_stage, fit_score, fit_label = draw(300)
    calibrator = IsotonicCalibrator().fit(fit_score, fit_label, stages=fit_stage)
    cal_path = folder / "cal.json"
    judgecal.save(calibrator, cal_path)
    return path, cal_path


def test_report_from_calibrator_and_file(tmp_path: Path) -> None:
    data, cal = simulated_file(tmp_path, np.random.default_rng(3))
    out = tmp_path / "out.html"
    code = main(
        [
            "report",
            str(data),
            "--score-col",
            "judge",
            "--label-col",
            "human",
            "--stage-col",
            "stage",
            "--feature-col",
            "length",
            "--calibrator-file",
            str(cal),
            "--n-resamples",
            "20",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert "The given calibrator on all 150 labelled items" in page
    assert "With 150 human labels and the judge on 250 more items" in page
    assert page.count("<img ") == 2 + 1  # two stages + forest plot


def test_worth_sentence_matches_the_estimate() -> None:
    report = build_report(judgecal.load_hanna(criteria=("Coherence",)), n_resamples=0)
    result = report.estimate
    assert result is not None and result.n_labelled == 200
    page = report.to_html()
    assert f"about {result.effective_labels:.0f} labels" in page
    assert f"worth about {result.labels_gained:.0f} human labels" in page
    # what "worth" means: a human-only interval from effective_labels labels is as wide
    ratio = (result.human_only.width / result.width) ** 2
    assert result.effective_labels == pytest.approx(result.n_labelled * ratio, rel=0.05)


def test_write_report_is_atomic_and_refuses_a_directory(tmp_path: Path) -> None:
    hanna = judgecal.load_hanna(criteria=("Empathy",))
    with pytest.raises(PersistenceError, match="directory"):
        write_report(tmp_path, hanna, n_resamples=0)
    assert write_report(tmp_path / "r.html", hanna, n_resamples=0).stat().st_size > 10_000
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_bad_inputs_name_the_parameter() -> None:
    with pytest.raises(InputTypeError, match="records"):
        build_report([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="dataset"):
        build_report(dataset="mmlu")
    unlabelled = judgecal.load_hanna(criteria=("Empathy",)).unlabelled()
    with pytest.raises(InputError, match="records"):
        build_report(unlabelled)


def test_cli_missing_calibrator_file_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--calibrator-file", "/no/such/cal.json"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "--calibrator-file" in err
