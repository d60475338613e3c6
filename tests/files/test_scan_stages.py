"""`eegmon scan --out`: each file's hypnogram beside its alerts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from detector.types import Block, StreamMeta
from staging import STAGES
from streamer.offline.stages import COLUMNS
from streamer.recordings.recorder import Recorder
from tests.files.dreams import dreams_edf
from tests.files.test_bad_input import run_cli


@pytest.mark.slow
def test_a_sleep_excerpt_gets_one_row_per_epoch(
    test_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    night = dreams_edf(test_data / "dreams_spindles" / "excerpt4.txt", tmp_path / "n4.edf", 10.25)
    out = tmp_path / "out"
    code, _, err = run_cli(["scan", str(night), "--out", str(out)], capsys)
    assert code == 0, err
    assert "not staged" not in err
    header, *rows = (out / "n4.edf.stages.tsv").read_text().splitlines()
    assert header.split("\t") == list(COLUMNS)
    assert len(rows) == 20  # 10.25 min: 20 whole epochs
    for index, row in enumerate(rows):
        onset, duration, stage, live_stage, confidence = row.split("\t")
        assert float(onset) == 30.0 * index
        assert float(duration) == 30.0
        assert stage in STAGES
        assert live_stage in STAGES
        assert 0.0 < float(confidence) <= 1.0
    # the scan judged each window in its stage, as the monitor does: sleep raises nothing
    staged = [json.loads(line) for line in (out / "n4.edf.alerts.jsonl").read_text().splitlines()]
    assert not [a for a in staged if a["kind"] in ("seizure_suspect", "anomaly")], staged
    code, unstaged, err = run_cli(["scan", str(night), "--no-staging", "--jsonl", "-"], capsys)
    assert code == 0, err
    kinds = {json.loads(line)["kind"] for line in unstaged.splitlines()}
    assert kinds & {"seizure_suspect", "anomaly"}, "without stages the same sleep alarms"
    report = (out / "n4.edf.html").read_text()
    assert "<h2>Sleep</h2>" in report
    assert "sleep efficiency" in report
    minutes = re.findall(r"<tr><td>(W|REM|N1|N2|N3)</td><td class='num'>([0-9.]+)</td>", report)
    assert [stage for stage, _ in minutes] == ["W", "REM", "N1", "N2", "N3"]
    assert sum(float(m) for _, m in minutes) == pytest.approx(10.0)  # 20 epochs of 30 s


def test_a_file_without_eeg_gets_unscored_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rate = 100.0
    meta = StreamMeta("polygraph", "polygraph", ("ECG", "Resp"), rate)
    recorder = Recorder(tmp_path / "heart.edf", meta)
    recorder.block(Block(np.zeros((2, 6500), np.float32), np.arange(6500) / rate, 0))
    recorder.close()
    out = tmp_path / "out"
    code, _, err = run_cli(["scan", str(recorder.path), "--out", str(out)], capsys)
    assert code == 0, err
    assert f"{recorder.path}: sleep not staged: no EEG channel among the labels" in err
    rows = (out / "heart.edf.stages.tsv").read_text().splitlines()[1:]
    assert rows == ["0.0\t30.0\t?\t?\t?", "30.0\t30.0\t?\t?\t?"]
    assert "<h2>Sleep</h2>" not in (out / "heart.edf.html").read_text()
