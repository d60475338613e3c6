"""Split versus whole: a long file cut into warm segments raises what one pass raises."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector import DetectorConfig
from streamer.offline.archive import overlap_s, plan_spans, scan_archive
from streamer.offline.scan import FileScan
from tests.archive.recordings import write_night

RULE_KINDS = {"flatline", "saturation", "line_noise", "bad_values", "electrode_pop", "artifact"}


def key(alert: dict[str, Any]) -> tuple[Any, ...]:
    return (alert["kind"], alert["channels"], alert["onset"], alert["end"], alert["severity"])


#: The default detector, but nothing latches: offline nobody acknowledges, so a latched
#: alert's channels may come from another episode when split (see streamer.offline.archive).
CONFIG = DetectorConfig(latch=())
SEGMENT_S = 1800.0


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two hours: a fault or a discharge every 10 minutes, some across segment borders.

    And the EEG suppressed twice: inside the third segment's warm-up, and after its border.
    """
    path = tmp_path_factory.mktemp("night") / "long.edf"
    return write_night(path, 7200.0, seed=5, every_s=600.0, suppressed_at=(2100.0, 4300.0))


def scan(path: Path, segment_s: float) -> FileScan:
    [outcome] = scan_archive([str(path)], CONFIG, segment_s=segment_s)
    assert outcome.scan is not None, outcome.failure
    return outcome.scan


def test_split_scan_raises_the_alerts_of_the_whole_scan(night: Path) -> None:
    """Every alert equals exactly (kind, channels, onset, end, severity), `anomaly` included.

    The detector's memory is finite and exact (streamer.offline.archive), so once a
    segment's warm-up has learned what one pass learned, both decide alike.
    """
    spans = plan_spans(7200 * 128, 128.0, CONFIG, segment_s=SEGMENT_S)
    assert [s.start for s in spans] == [0.0, 1800.0, 3600.0, 5400.0]
    assert spans[2].warmup == overlap_s(CONFIG) == 2580.0  # later segments start mid-file
    whole, split = scan(night, 1e9), scan(night, SEGMENT_S)
    assert whole.analysed_s == 7200.0
    assert split.analysed_s > 7200.0 + 2 * 2580.0  # warm-ups (and run-ons) were analysed
    kinds = {a["kind"] for a in whole.alerts}
    assert kinds >= {"flatline", "saturation", "seizure_suspect", "anomaly"}
    borders = [s.start for s in spans[2:]]
    decided_after_a_border = {a["kind"] for a in whole.alerts if a["onset"] > borders[0]}
    assert decided_after_a_border >= {"seizure_suspect", "saturation", "anomaly"}
    assert [key(a) for a in split.alerts] == [key(a) for a in whole.alerts]
    assert split.series is not None
    assert whole.series is not None
    assert split.series.t == whole.series.t == [30.0 * i for i in range(240)]
    assert split.series.quality == whole.series.quality
    assert split.series.score == whole.series.score
    assert split.series.threshold == whole.series.threshold
    assert split.series.spectrum == whole.series.spectrum


@settings(max_examples=60, deadline=None)
@given(
    seconds=st.floats(10.0, 60 * 3600.0),
    rate=st.sampled_from([100.0, 128.0, 160.0, 173.61, 256.0, 512.0]),
    segment_s=st.floats(600.0, 8 * 3600.0),
)
def test_segments_tile_the_file_on_the_window_grid(
    seconds: float, rate: float, segment_s: float
) -> None:
    config = DetectorConfig()
    n_samples = round(seconds * rate)
    spans = plan_spans(n_samples, rate, config, segment_s)
    hop = round(config.hop_s * rate)
    assert (spans[0].start, spans[0].warmup, spans[-1].stop) == (0.0, 0.0, math.inf)
    for before, after in itertools.pairwise(spans):
        assert before.stop == after.start
        assert after.start - before.start >= segment_s / 2
        assert overlap_s(config) <= after.warmup < overlap_s(config) + 31.0
        first = max(0, round((after.start - after.warmup) * rate))
        assert first % hop == 0  # windows of the segment are the whole scan's
    if seconds >= 1.5 * segment_s:
        assert len(spans) == max(1, round(n_samples / rate / segment_s))
    else:
        assert len(spans) == 1
