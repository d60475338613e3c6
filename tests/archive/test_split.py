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
from streamer.archive import overlap_s, plan_spans, scan_archive
from streamer.scan import FileScan
from tests.archive.recordings import QUICK_CONFIG, write_night

RULE_KINDS = {"flatline", "saturation", "line_noise", "bad_values", "electrode_pop", "artifact"}


def key(alert: dict[str, Any]) -> tuple[Any, ...]:
    return (alert["kind"], alert["channels"], alert["onset"], alert["end"], alert["severity"])


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """15 minutes: a fault or a discharge every minute, two of them across segment borders."""
    return write_night(tmp_path_factory.mktemp("night") / "long.edf", 900.0, seed=5)


def scan(path: Path, segment_s: float) -> FileScan:
    [outcome] = scan_archive(
        [str(path)], DetectorConfig.from_dict(QUICK_CONFIG), segment_s=segment_s
    )
    assert outcome.scan is not None, outcome.failure
    return outcome.scan


def test_split_scan_raises_the_alerts_of_the_whole_scan(night: Path) -> None:
    """Rule and seizure alerts equal exactly (kind, channels, onset, end, severity).

    The quick config forgets within a minute, so a 150 s warm-up covers the
    filters, the amplitude baseline and the alert state; `latch` is off, as a
    latched alert's channels may come from another episode when split (see
    streamer.archive). `anomaly` is equal only in the first segment: the
    model's quantile threshold never forgets, so after a border it is learned
    from another history (the known difference).
    """
    config = DetectorConfig.from_dict(QUICK_CONFIG)
    spans = plan_spans(900 * 128, 128.0, config, segment_s=180.0)
    assert len(spans) == 5
    assert spans[1].warmup == overlap_s(config) == 150.0
    whole, split = scan(night, 1e9), scan(night, 180.0)
    assert whole.analysed_s == 900.0
    assert split.analysed_s > 900.0 + 4 * 150.0  # warm-ups (and run-ons) were analysed
    exact = [key(a) for a in whole.alerts if a["kind"] != "anomaly"]
    assert {a["kind"] for a in whole.alerts} >= {"flatline", "saturation", "seizure_suspect"}
    borders = [s.start for s in spans[1:]]
    assert any(  # an alert that runs across a border is one alert, not two
        a["onset"] < b < (a["end"] or math.inf) for a in whole.alerts for b in borders
    )
    assert [key(a) for a in split.alerts if a["kind"] != "anomaly"] == exact
    first = [
        [key(a) for a in s.alerts if a["kind"] == "anomaly" and a["onset"] < borders[0]]
        for s in (whole, split)
    ]
    assert first[0] == first[1] != []
    assert split.series is not None
    assert whole.series is not None
    assert split.series.t == whole.series.t == [30.0 * i for i in range(30)]
    assert split.series.quality == whole.series.quality
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
