"""Split versus whole: a latched alert's episodes survive the join of segments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from detector import DetectorConfig
from evaluation.corpus import BONN_RATE
from streamer.offline.archive import overlap_s, plan_spans, scan_archive
from streamer.offline.scan import scan_recording
from streamer.recordings.files import open_recording
from tests.files.bonn import write_bonn_edf

#: Short memories, so a segment's warm-up is far shorter than the file; seizures latch.
CONFIG = DetectorConfig(memory_s=20.0, warmup_windows=20)
SEGMENT_S = 300.0


def key(line: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(line[k] for k in ("kind", "id", "episode", "onset", "detected_at", "end"))


@pytest.fixture(scope="module")
def seizures(test_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """2300 s of Bonn: seizures at about 185 s, 508 s and 2033 s."""
    path = tmp_path_factory.mktemp("bonn") / "long.edf"
    spans = write_bonn_edf(path, test_data, ictal_after=[7, 20, 85], normal=100)
    return path, spans


def test_episodes_of_a_latched_alert_are_the_same_split_or_whole(seizures) -> None:
    path, spans = seizures
    [whole] = scan_archive([str(path)], CONFIG, segment_s=1e9, series=False)
    [split] = scan_archive([str(path)], CONFIG, segment_s=SEGMENT_S, series=False)
    assert whole.scan is not None
    assert split.scan is not None
    assert [key(a) for a in split.scan.alerts] == [key(a) for a in whole.scan.alerts]
    found = [a for a in split.scan.alerts if a["kind"] == "seizure_suspect"]
    assert [a["episode"] for a in found] == [1, 2, 3]
    assert len({a["id"] for a in found}) == 1
    for line, (start, _) in zip(found, spans, strict=True):
        assert start - 2.0 <= line["onset"] <= line["detected_at"] <= start + 10.0


def test_a_segment_that_never_saw_the_latched_alert_starts_a_new_one(seizures) -> None:
    """What the join relies on: the last segment's warm-up misses the earlier seizures."""
    path, spans = seizures
    with open_recording(path) as recording:
        plan = plan_spans(recording.n_samples, BONN_RATE, CONFIG, segment_s=SEGMENT_S)
        last = plan[-1]
        assert last.start - overlap_s(CONFIG) > spans[1][1] + 30.0
        part = scan_recording(recording, str(path), CONFIG, span=last, series=False)
    [line] = [a for a in part.alerts if a["kind"] == "seizure_suspect"]
    assert line["episode"] == 1
    assert line["onset"] >= last.start
