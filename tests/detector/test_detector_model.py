"""The anomaly model: protected learning, determinism, and seizures on real EEG."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from detector import Block, Detector, DetectorConfig, StreamMeta

BONN_RATE = 173.61


def bonn(path: Path) -> np.ndarray:
    return np.loadtxt(path, dtype=np.float64)[None, :]


def run_segment(det: Detector, x: np.ndarray, first_index: int) -> list[float]:
    ts = (first_index + np.arange(x.shape[1])) / BONN_RATE
    out = det.process(Block(x.astype(np.float32), ts, first_index))
    return [w.score for w in out.windows]


@pytest.mark.parametrize("model", ["deviation", "hst"])
def test_bonn_seizures_score_higher_than_healthy_eeg(data_dir, model):
    """Learn on healthy Z (eyes open) and O (eyes closed); score held-out ones and seizures (S)."""
    folder = data_dir / "bonn"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent")
    z, o, s = (sorted((folder / k).glob("*.txt")) for k in "ZOS")
    meta = StreamMeta("bonn", "bonn", ("ch",), BONN_RATE)
    det = Detector(meta, DetectorConfig(model=model, warmup_windows=60))
    index = 0
    for a, b in zip(z[:25], o[:25], strict=True):
        for path in (a, b):
            x = bonn(path)
            run_segment(det, x, index)
            index += x.shape[1] + 1000  # a gap between segments: filters and windows restart
    assert not det.warming_up
    frozen = pickle.dumps(det)

    def mean_score(path: Path) -> float:
        fresh = pickle.loads(frozen)
        return float(np.mean(run_segment(fresh, bonn(path), index)[4:]))

    healthy = [mean_score(p) for p in z[25:35] + o[25:35]]
    seizure = [mean_score(p) for p in s[:20]]
    auc = np.mean([[si > hi for hi in healthy] for si in seizure])
    assert auc >= 0.85, f"{model}: AUC {auc:.2f}"
    if model == "deviation":
        assert auc >= 0.95
        assert np.median(seizure) > 2 * np.median(healthy)


def test_anomaly_alert_on_sustained_change_then_model_is_protected(meta19, eeg19, feed_blocks):
    det = Detector(meta19)
    out = feed_blocks(det, eeg19(40.0, seed=21), seed=1)
    assert not det.warming_up
    learned = det.learned_windows
    burst = eeg19(10.0, seed=22) * 8.0  # a sustained, high-amplitude change on every channel
    out = feed_blocks(det, burst, seed=2, first_index=40 * 256)
    anomaly = [a for a in out.alerts if a.kind == "anomaly"]
    assert anomaly
    assert anomaly[0].state == "active"
    assert anomaly[0].channels == []
    assert anomaly[0].severity == "medium"
    assert anomaly[0].score > anomaly[0].evidence["threshold"]
    assert det.learned_windows == learned  # nothing learned during the anomaly


def test_no_model_alert_while_warming_up(meta19, eeg19, feed_blocks):
    det = Detector(meta19, DetectorConfig(warmup_windows=1000))
    data = np.concatenate([eeg19(20.0, seed=3), eeg19(10.0, seed=4) * 10.0], axis=1)
    out = feed_blocks(det, data)
    assert det.warming_up
    assert all(w.warming_up for w in out.windows)
    assert not any(a.kind == "anomaly" for a in out.alerts)


def test_normal_eeg_gives_no_model_alert(meta19, eeg19, feed_blocks):
    out = feed_blocks(Detector(meta19), eeg19(180.0, seed=5), seed=5)
    assert [a for a in out.alerts if a.kind == "anomaly"] == []
