"""`eegmon scan`: JSON lines with file seconds, summaries, directories."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from detector.types import Alert
from tests.files.conftest import Faulty
from tests.files.test_bad_input import run_cli
from tests.support import ROOT

#: A line's onset and detected_at are its episode's, so it drops the episode's own fields.
ALERT_FIELDS = set(Alert.__dataclass_fields__) - {"episode_onset", "episode_detected_at"}


def test_scan_writes_alert_lines_in_file_seconds(
    faulty_edf: Faulty, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "alerts.jsonl"
    code, _, err = run_cli(["scan", str(faulty_edf.path), "--jsonl", str(out)], capsys)
    assert code == 0, err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines, "the faults raised nothing"
    for line in lines:
        assert set(line) >= ALERT_FIELDS
        assert line["file"] == str(faulty_edf.path)
        assert 0.0 <= line["onset"] <= line["detected_at"] <= 60.0
        assert line["end"] is None or line["onset"] < line["end"] <= 60.0
        assert line["end"] == line["ended_at"]  # when the episode's condition ended
        if line["state"] == "cleared":
            assert line["end"] == line["cleared_at"]
    flat = next(a for a in lines if a["kind"] == "flatline")
    assert flat["channels"] == [faulty_edf.flat_channel]
    assert faulty_edf.flat_s[0] <= flat["onset"] <= faulty_edf.flat_s[0] + 1.0
    assert faulty_edf.flat_s[1] <= flat["end"] <= faulty_edf.flat_s[1] + 3.0
    clip = next(a for a in lines if a["kind"] == "saturation")
    assert clip["channels"] == [faulty_edf.clipped_channel]
    [summary] = err.splitlines()
    kinds = {a["kind"] for a in lines}
    assert summary.startswith(f"eegmon scan: {faulty_edf.path}: 60.0 s, 64 ch @ 160 Hz; alerts: ")
    assert all(f"{k} " in summary for k in kinds)
    assert summary.endswith("x real time")


def test_scan_of_a_directory_to_stdout_and_per_file(
    faulty_edf: Faulty, eegmmidb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "archive" / "2024"
    folder.mkdir(parents=True)
    shutil.copy(faulty_edf.path, folder / "bed1.edf")
    shutil.copy(eegmmidb, tmp_path / "archive" / "bed2.edf")
    out_dir = tmp_path / "out"
    code, out, err = run_cli(
        ["scan", str(tmp_path / "archive"), "--jsonl", "-", "--out", str(out_dir)], capsys
    )
    assert code == 0, err
    files = [json.loads(line)["file"] for line in out.splitlines()]
    assert set(files) == {str(folder / "bed1.edf"), str(tmp_path / "archive" / "bed2.edf")}
    assert [line.split(":")[1].strip() for line in err.splitlines()] == [
        str(folder / "bed1.edf"),
        str(tmp_path / "archive" / "bed2.edf"),
    ]
    per_file = (out_dir / "bed1.edf.alerts.jsonl").read_text().splitlines()
    assert per_file == [line for line in out.splitlines() if "bed1.edf" in line]


def test_an_empty_directory_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["scan", str(tmp_path)], capsys)
    assert code == 2
    assert (
        err
        == f"eegmon: error: {tmp_path}: no recordings found (searched for EDF, BDF, FIF, XDF...)\n"
    )


def test_out_writes_reports_and_a_rerun_scans_only_what_is_new(
    faulty_edf: Faulty, eegmmidb: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    shutil.copy(faulty_edf.path, folder / "bed1.edf")
    (folder / "bed2.edf").write_bytes(b"\x00" * 300)
    out = tmp_path / "out"
    code, _, err = run_cli(["scan", str(folder), "--out", str(out)], capsys)
    assert code == 2, err
    first = (out / "bed1.edf.alerts.jsonl").read_text()
    report = (out / "bed1.edf.html").read_text()
    assert "<table id='alerts'>" in report
    assert report.count("<tr class=") == len(first.splitlines()) > 0
    index = (out / "index.html").read_text()
    assert "href='bed1.edf.html'" in index
    assert "failed: not an EDF or BDF file" in index
    assert len(list((out / ".eegmon-scan").glob("*.json"))) == 1  # a failure is not kept

    shutil.copy(eegmmidb, folder / "bed2.edf")  # the damaged file replaced by a good one
    code, _, err = run_cli(["scan", str(folder), "--out", str(out)], capsys)
    assert code == 0, err
    bed1, bed2 = err.splitlines()
    assert bed1.startswith(f"eegmon scan: {folder / 'bed1.edf'}: 60.0 s")
    assert bed1.endswith("; done before")
    assert bed2.endswith("x real time")
    assert (out / "bed1.edf.alerts.jsonl").read_text() == first
    assert (out / "bed1.edf.html").read_text() == report  # done before: not rendered again
    assert "href='bed2.edf.html'" in (out / "index.html").read_text()

    # Another recording under the same name: its report replaces the stale one.
    shutil.copy(eegmmidb, folder / "bed1.edf")
    code, _, err = run_cli(["scan", str(folder), "--out", str(out)], capsys)
    assert code == 0, err
    replaced = (out / "bed1.edf.html").read_text()
    assert replaced != report
    source = re.search(r"source (\S+)</span>", (out / "bed2.edf.html").read_text())
    assert source is not None
    assert f"source {source[1]}</span>" in replaced


def test_progress_bar_on_a_terminal_counts_files_hours_and_speed(eegmmidb: Path) -> None:
    """stderr on a pseudo-terminal gets the bar; elsewhere only the lines (the tests above)."""
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "eegmon", "scan", str(eegmmidb), str(eegmmidb)],
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        cwd=ROOT,
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            piece = os.read(master, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not piece:
            break
        shown += piece
    assert process.wait(60) == 0
    os.close(master)
    text = shown.decode()
    assert "| 2/2 [" in text
    assert "0.0 h of EEG" in text
    assert text.count(f"eegmon scan: {eegmmidb}: 60.0 s") == 2
    last_bar = text.rsplit("\r", 2)[-2]
    assert last_bar.startswith("100%")
    assert last_bar.rstrip().endswith("x real time]")
