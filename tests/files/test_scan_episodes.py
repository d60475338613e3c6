"""`eegmon scan` lists every seizure: one line per episode of a latched alert."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tests.files.bonn import write_bonn_edf
from tests.files.test_bad_input import run_cli


@pytest.fixture(scope="module")
def three_seizures(test_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """400 s of Bonn: normal EEG (Z), a seizure (S) after the 8th, 10th and 12th segment."""
    path = tmp_path_factory.mktemp("bonn") / "bonn.edf"
    seizures = write_bonn_edf(path, test_data, ictal_after=[7, 9, 11], normal=16)
    assert len(seizures) == 3
    return path, seizures


def test_each_seizure_is_a_line_of_the_one_latched_alert(
    three_seizures, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, seizures = three_seizures
    out = tmp_path / "alerts.jsonl"
    reports = tmp_path / "reports"
    code, _, err = run_cli(["scan", str(path), "--jsonl", str(out), "--out", str(reports)], capsys)
    assert code == 0, err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    found = [line for line in lines if line["kind"] == "seizure_suspect"]
    assert len({line["id"] for line in found}) == 1  # latched: one alert, as live
    assert [line["episode"] for line in found] == [1, 2, 3]
    for line, (start, stop) in zip(found, seizures, strict=True):
        assert start - 2.0 <= line["onset"] <= line["detected_at"] <= start + 10.0
        assert line["end"] is not None
        assert line["detected_at"] <= line["end"] <= stop + 5.0  # window and clean hops
        assert line["end"] == line["ended_at"]
    for before, after in itertools.pairwise(found):
        assert before["end"] <= after["onset"]
    assert "seizure_suspect 3" in err  # the summary counts episodes
    report = (reports / "bonn.edf.html").read_text()
    assert report.count("<tr class=") == len(lines)
    for line in found:
        assert f"<td>{line['id']}</td><td class='num'>{line['episode']}</td>" in report
    assert (reports / "bonn.edf.alerts.jsonl").read_text() == out.read_text()
