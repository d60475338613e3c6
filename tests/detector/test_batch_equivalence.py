"""Windows analysed in batches (offline scan blocks) give what they give one at a time (live)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
from numpy.typing import NDArray

from detector import Block, Detector, DetectorConfig, StreamMeta
from tests.detector.conftest import LABELS_19, RATE, synthetic_eeg

SECONDS = 180.0


def faulty_eeg() -> NDArray[np.float64]:
    """Three minutes of EEG with every kind of fault, a seizure-like rhythm and a changed state."""
    data = synthetic_eeg(len(LABELS_19), SECONDS, RATE, seed=7)
    t = np.arange(data.shape[1]) / RATE

    def span(a: float, b: float) -> slice:
        return slice(round(a * RATE), round(b * RATE))

    data[17, span(10, 18)] = 3.0  # flat
    data[8, span(25, 33)] = np.clip(data[8, span(25, 33)] * 60, -2000, 2000)  # clipping
    data[5, span(40, 47)] += 200 * np.sin(2 * np.pi * 50 * t[span(40, 47)])  # mains
    data[3, span(55, 57)] += 400.0  # a lasting step: electrode pop
    data[:4, span(62, 65)] += 900 * np.sin(2 * np.pi * 0.7 * t[span(62, 65)])  # movement
    data[14, span(70, 72)] = np.nan
    data[15, span(71, 71.2)] = 1e9  # beyond 10 V: bad values too
    data[9:13, span(80, 95)] += 250 * np.sin(2 * np.pi * 4 * t[span(80, 95)])  # rhythmic
    data[:, span(150, 170)] *= 6.0  # the whole stream unlike before: anomaly
    return data


def run(data: NDArray[np.float64], block: int, gap_at: int | None = None) -> tuple[list, list]:
    """Alerts and window scores from blocks of `block` samples (a gap of 1000 at `gap_at`)."""
    detector = Detector(StreamMeta("eq", "eq-1", LABELS_19, RATE), DetectorConfig())
    alerts, windows = [], []
    for pos in range(0, data.shape[1], block):
        first = pos + (1000 if gap_at is not None and pos >= gap_at else 0)
        chunk = data[:, pos : pos + block].astype(np.float32)
        out = detector.process(Block(chunk, (first + np.arange(chunk.shape[1])) / RATE, first))
        alerts += [asdict(a) for a in out.alerts]
        windows += [asdict(w) for w in out.windows]
    return alerts, windows


@pytest.fixture(scope="module")
def data() -> NDArray[np.float64]:
    return faulty_eeg()


@pytest.fixture(scope="module")
def one_at_a_time(data: NDArray[np.float64]) -> tuple[list, list]:
    """Blocks of one hop: every window is analysed alone, as live."""
    return run(data, round(DetectorConfig().hop_s * RATE))


def test_the_signal_raises_every_kind_of_alert(one_at_a_time: tuple[list, list]) -> None:
    kinds = {a["kind"] for a in one_at_a_time[0]}
    assert kinds >= {
        "flatline",
        "saturation",
        "line_noise",
        "electrode_pop",
        "artifact",
        "bad_values",
        "seizure_suspect",
        "anomaly",
    }


@pytest.mark.parametrize("seconds", [10.0, 3.3, 60.0])
def test_batches_equal_windows_one_at_a_time(
    data: NDArray[np.float64], one_at_a_time: tuple[list, list], seconds: float
) -> None:
    alerts, windows = run(data, round(seconds * RATE))
    assert len(windows) == len(one_at_a_time[1])
    assert windows == one_at_a_time[1]  # scores, thresholds, quality: exactly
    assert alerts == one_at_a_time[0]


def test_batches_equal_windows_one_at_a_time_across_a_gap(data: NDArray[np.float64]) -> None:
    hop = round(DetectorConfig().hop_s * RATE)
    alone = run(data, hop, gap_at=80 * hop)
    batched = run(data, 40 * hop, gap_at=80 * hop)  # the gap falls between blocks in both
    assert "samples_dropped" in {a["kind"] for a in alone[0]}
    assert batched == alone
