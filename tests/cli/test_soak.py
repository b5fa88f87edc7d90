"""`filter-playground bench --soak`: the live pipeline runs headless and reports its health."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from playground import cli


def figure(output: str, label: str) -> str:
    """The value after ``label:`` on its own line of the soak report."""
    found = re.findall(rf"^  {re.escape(label)}: (.+)$", output, re.MULTILINE)
    assert len(found) == 1, f"no single {label!r} line in:\n{output}"
    return found[0]


def number(output: str, label: str) -> float:
    match = re.match(r"[-+]?\d+(\.\d+)?", figure(output, label))
    assert match, figure(output, label)
    return float(match.group())


def test_a_short_soak_reports_a_healthy_pipeline(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "playground", "bench", "--soak", "0.1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "Traceback" not in done.stderr
    assert out.splitlines()[0].startswith("soak: 0.1 min")

    captured = number(out, "frames captured")
    displayed = number(out, "results displayed")
    dropped = number(out, "dropped frames")
    # 6 s of a 60 fps file: the capture keeps its pace, the panes keep up with most of it.
    assert 60 <= captured <= 6 * 60 * 1.5
    assert displayed > 0
    assert 0 <= dropped < captured
    assert 6 <= number(out, "edits made") <= 14  # one each 0.5 s
    assert number(out, "worker restarts") == 0
    start, end = number(out, "RSS at start"), number(out, "RSS at end")
    assert 20 < start < 4000 and 20 < end < 4000
    assert number(out, "RSS growth") == pytest.approx(end - start, abs=0.11)
    assert figure(out, "threads alive") == "capture yes, compute yes"
    assert figure(out, "result") == "ok"
    assert list(tmp_path.iterdir()) == []  # the video and settings lived in a temporary folder


@pytest.mark.parametrize("minutes", ["0", "-1", "1441", "nan", "ten"])
def test_soak_minutes_out_of_range_are_refused(capsys, minutes):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--soak", minutes])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    errors = [line for line in captured.err.splitlines() if "error:" in line]
    assert len(errors) == 1, captured.err
    assert errors[0].startswith("filter-playground bench: error: argument --soak")
    assert repr(minutes) in errors[0]
    assert captured.err.splitlines()[-1] == errors[0]  # after argparse's usage, one error line


def test_soak_and_live_are_exclusive(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--live", "--soak", "1"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_soak_minutes_accept_fractions():
    args = cli._parser().parse_args(["bench", "--soak", "0.2"])
    assert args.soak == 0.2 and not args.live
    assert cli._parser().parse_args(["bench", "--soak", "1440"]).soak == 1440.0
