"""End-to-end behaviour of the quality rules on synthetic EEG fed in random blocks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from detector import Block, Detector, DetectorConfig, Output

RULE_KINDS = {"flatline", "saturation", "line_noise", "bad_values", "samples_dropped"}


def raised(out: Output, kind: str) -> list[str]:
    return [a.id for a in out.alerts if a.kind == kind and a.state == "active"]


def test_normal_eeg_stays_quiet(meta19, eeg19, feed_blocks):
    det = Detector(meta19)
    out = feed_blocks(det, eeg19(60.0), seed=3)
    assert [a for a in out.alerts if a.kind in RULE_KINDS] == []
    assert len(out.windows) == 119
    assert all(q == 1.0 for w in out.windows for q in w.quality)
    assert not det.warming_up


def test_flat_channel_raises_and_clears_flatline(meta19, eeg19, feed_blocks):
    data = eeg19(30.0)
    data[17, 10 * 256 : 20 * 256] = 12.5  # O1 electrode off between 10 s and 20 s
    det = Detector(meta19)
    out = feed_blocks(det, data, seed=4)
    flat = [a for a in out.alerts if a.kind == "flatline"]
    assert [(a.state, a.channels) for a in flat] == [("active", ["O1"]), ("cleared", ["O1"])]
    first, last = flat[0], flat[-1]
    assert first.id == last.id
    assert 10.0 <= first.onset < first.detected_at <= 12.0
    assert first.evidence["std_uv"] == 0.0
    assert first.message == "Flat signal on O1 for 1.5 s: electrode off or amplifier fault."
    assert 20.0 < last.cleared_at <= 22.0
    assert not any(a.kind in RULE_KINDS - {"flatline"} for a in out.alerts)
    assert det.active_alerts() == []


def test_clipped_channel_raises_saturation(meta19, eeg19, feed_blocks):
    data = eeg19(20.0)
    t = np.arange(data.shape[1]) / 256.0
    burst = slice(8 * 256, 14 * 256)
    data[3, burst] = np.clip(400.0 * np.sin(2 * np.pi * 2.0 * t[burst]), -300.0, 300.0)
    out = feed_blocks(Detector(meta19), data, seed=5)
    sat = [a for a in out.alerts if a.kind == "saturation"]
    assert [(a.state, a.channels) for a in sat] == [
        ("active", ["F3"]),
        ("active", ["F3"]),
        ("cleared", ["F3"]),
    ]
    assert sat[0].evidence["clip_fraction"] >= 0.05
    assert not any(a.kind in {"flatline", "line_noise", "bad_values"} for a in out.alerts)


def test_rail_value_raises_saturation_whatever_the_extremes(meta19, eeg19, feed_blocks):
    data = eeg19(10.0)
    data[0, 4 * 256 : 8 * 256 : 10] = 3500.0  # 10% of samples at the rail
    out = feed_blocks(Detector(meta19), data, seed=6)
    assert next(a.channels for a in out.alerts if a.kind == "saturation") == ["Fp1"]


def test_mains_on_one_channel_raises_line_noise_on_it_only(meta19, eeg19, feed_blocks):
    data = eeg19(20.0)
    t = np.arange(data.shape[1]) / 256.0
    data[9] += 100.0 * np.sin(2 * np.pi * 50.0 * t)
    out = feed_blocks(Detector(meta19), data, seed=7)
    noise = [a for a in out.alerts if a.kind == "line_noise"]
    assert [(a.state, a.channels) for a in noise] == [("active", ["Cz"])]
    assert noise[0].evidence["mains_ratio"] > 0.8
    assert noise[0].onset == 0.0


@pytest.mark.parametrize("mains_hz", [50.0, 60.0])
def test_realistic_eeg_mains_ratio_is_far_below_threshold(eeg19, mains_hz):
    from detector import compute_features

    data = eeg19(10.0)
    ratios = [
        compute_features(data[:, i : i + 256], data[:, i : i + 256], 256.0).mains_ratio
        for i in range(0, data.shape[1] - 256, 128)
    ]
    assert np.max(ratios) < DetectorConfig().line_noise_ratio / 5


def test_nan_burst_raises_bad_values_and_is_not_learned(meta19, eeg19):
    data = eeg19(50.0)
    data[5, 40 * 256 : 40 * 256 + 77] = np.nan
    data[6, 40 * 256 + 10] = np.inf
    det = Detector(meta19, DetectorConfig(refractory_s=0.0))
    hop = 128
    learned_during_bad: list[int] = []
    out = Output()
    for start in range(0, data.shape[1], hop):
        before = det.learned_windows
        step = det.process(
            Block(
                data[:, start : start + hop].astype(np.float32),
                np.arange(start, start + hop) / 256.0,
                start,
            )
        )
        out.extend(step)
        if any(w.quality[5] == 0.0 or w.quality[6] == 0.0 for w in step.windows):
            learned_during_bad.append(det.learned_windows - before)
    assert learned_during_bad
    assert set(learned_during_bad) == {0}
    bad = [a for a in out.alerts if a.kind == "bad_values"]
    assert [(a.state, a.channels) for a in bad] == [
        ("active", ["F4", "F8"]),
        ("cleared", ["F4", "F8"]),
    ]
    assert all(math.isfinite(w.score) for w in out.windows)
    assert out.windows[-1].quality == (1.0,) * 19
    assert not any(a.kind in {"flatline", "saturation", "line_noise"} for a in out.alerts)


def test_index_jump_raises_samples_dropped_with_exact_count(meta19, eeg19, feed_blocks):
    data = eeg19(20.0)
    det = Detector(meta19, DetectorConfig(refractory_s=0.0))
    out = feed_blocks(det, data[:, :2560], seed=8)
    out.extend(feed_blocks(det, data[:, 2600:], seed=9, first_index=2600))
    dropped = [a for a in out.alerts if a.kind == "samples_dropped"]
    assert [a.state for a in dropped] == ["active", "cleared"]
    assert dropped[0].evidence["missing"] == 40
    assert dropped[0].channels == []
    assert dropped[0].detected_at == pytest.approx(2600 / 256.0)
    assert dropped[0].message.startswith("40 samples (0.16 s) are missing")
    # windows restart after the gap: none straddles it
    ends = [w.end for w in out.windows]
    assert not any(2560 / 256.0 <= end < (2600 + 255) / 256.0 for end in ends)


def test_stall_raises_signal_lost_once_and_it_stays_until_acknowledged(meta19, eeg19, feed_blocks):
    data = eeg19(10.0)
    det = Detector(meta19)
    feed_blocks(det, data[:, :1280], seed=10)
    lost = det.stalled(at=12.0, silent_for=7.0)
    assert [(a.kind, a.state, a.severity, a.onset) for a in lost.alerts] == [
        ("signal_lost", "active", "high", 5.0)
    ]
    assert det.stalled(at=13.0, silent_for=8.0).alerts == []
    back = det.process(
        Block(data[:, 1280:1300].astype(np.float32), np.arange(1280, 1300) / 256.0, 1280)
    )
    # The stream is back, but the hole in the night stays on screen until someone has seen it.
    assert [(a.id, a.state, a.ended_at) for a in back.alerts] == [
        (lost.alerts[0].id, "active", 5.0)
    ]
    assert "is back" in back.alerts[0].message
    cleared = det.acknowledge(lost.alerts[0].id, "night tech", at=30.0)
    assert cleared is not None
    assert (cleared.state, cleared.cleared_at) == ("cleared", 5.0)
    again = det.stalled(at=40.0, silent_for=3.0).alerts
    assert [a.kind for a in again] == ["signal_lost"]
    assert again[0].id != lost.alerts[0].id


def test_outages_before_anyone_looks_keep_one_alert(meta19, eeg19, feed_blocks):
    """A stream that comes and goes gives one latched alert, raised again at each outage."""
    data = eeg19(10.0)
    det = Detector(meta19)
    feed_blocks(det, data[:, :1280], seed=12)
    first = det.stalled(at=8.0, silent_for=3.0).alerts[0]
    det.process(Block(data[:, 1280:1300].astype(np.float32), np.arange(1280, 1300) / 256.0, 1280))
    second = det.stalled(at=9.0, silent_for=3.0).alerts
    assert [(a.id, a.state, a.ended_at) for a in second] == [(first.id, "active", None)]
    assert det.stalled(at=9.5, silent_for=3.5).alerts == []


def test_gap_during_outage_is_attributed_to_signal_lost(meta19, eeg19, feed_blocks):
    data = eeg19(10.0)
    det = Detector(meta19)
    feed_blocks(det, data[:, :1280], seed=11)
    det.stalled(at=8.0, silent_for=3.0)
    back = det.process(
        Block(data[:, 1500:1600].astype(np.float32), np.arange(1500, 1600) / 256.0, 1500)
    )
    assert [(a.kind, a.state, a.evidence.get("gap_samples")) for a in back.alerts] == [
        ("signal_lost", "active", 220.0)
    ]
    assert back.alerts[0].evidence["lost_s"] == pytest.approx(221 / 256.0)
    assert "lost for 0.9 s" in back.alerts[0].message
    assert [a.kind for a in det.active_alerts()] == ["signal_lost"], "no samples_dropped besides"


def test_acknowledge_keeps_alert_active_until_cleared(meta19, eeg19, feed_blocks):
    data = eeg19(20.0)
    data[2, 2 * 256 :] = 0.0
    det = Detector(meta19, id_prefix="bed4:")
    out = feed_blocks(det, data[:, : 8 * 256], seed=12)
    alert_id = raised(out, "flatline")[0]
    assert alert_id == "bed4:flatline-1"
    acked = det.acknowledge(alert_id, "nurse", 9.0)
    assert acked is not None
    assert (acked.state, acked.acknowledged_by, acked.acknowledged_at) == (
        "acknowledged",
        "nurse",
        9.0,
    )
    assert [a.state for a in det.active_alerts()] == ["acknowledged"]
    assert det.acknowledge("bed4:flatline-99", "nurse", 9.0) is None
    data[2, 10 * 256 :] = data[3, 10 * 256 :]
    out = feed_blocks(det, data[:, 8 * 256 :], seed=13, first_index=8 * 256)
    # the condition ends within the refractory period: noted, then cleared after it
    changes = [(a.id, a.state, a.ended_at is not None) for a in out.alerts if a.kind == "flatline"]
    assert changes == [(alert_id, "acknowledged", True), (alert_id, "cleared", True)]
    assert det.acknowledge(alert_id, "nurse", 30.0) is None


def test_active_alerts_sorted_by_severity_then_onset(meta19, eeg19, feed_blocks):
    data = eeg19(10.0)
    t = np.arange(data.shape[1]) / 256.0
    data[1] += 100.0 * np.sin(2 * np.pi * 50.0 * t)  # low, from 0 s
    data[4, 3 * 256 :] = 0.0  # medium, from 3 s
    det = Detector(meta19)
    feed_blocks(det, data, seed=14)
    det.stalled(at=10.5, silent_for=0.5)  # high
    assert [a.kind for a in det.active_alerts()] == ["signal_lost", "flatline", "line_noise"]


def test_blocks_with_wrong_channel_count_are_refused(meta19):
    det = Detector(meta19)
    with pytest.raises(ValueError, match="block has 3 channels"):
        det.process(Block(np.zeros((3, 10), np.float32), np.arange(10.0), 0))


def _decaying_step(rate: float, seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return amplitude * np.exp(-t / 1.0)


def test_a_step_on_one_channel_is_a_pop_on_several_it_is_not(meta19, eeg19, feed_blocks):
    rate = 256.0
    data = eeg19(30.0, seed=8)
    at = round(10.0 * rate)
    step = _decaying_step(rate, 3.0, 300.0)
    data[5, at : at + len(step)] += step  # F4 alone: a pop
    later = round(20.0 * rate)
    data[:3, later : later + len(step)] += step  # Fp1, Fp2, F7 together: the eyes moved
    out = feed_blocks(Detector(meta19), data, seed=9)
    pops = [a for a in out.alerts if a.kind == "electrode_pop" and a.state == "active"]
    assert pops, "the single-channel step raised no electrode_pop"
    assert {ch for a in pops for ch in a.channels} == {meta19.labels[5]}
    assert all(a.onset < 19.0 for a in pops)


def test_a_step_that_neighbours_show_smaller_is_an_eye_movement(meta19, eeg19, feed_blocks):
    """Only Fp1 crosses the pop threshold, but Fp2 and F7 step by 70 % of it at the same time."""
    rate = 256.0
    data = eeg19(30.0, seed=8)
    at = round(15.0 * rate)
    data[0, at : at + round(3 * rate)] += _decaying_step(rate, 3.0, 200.0)
    data[1:3, at : at + round(3 * rate)] += _decaying_step(rate, 3.0, 140.0)
    out = feed_blocks(Detector(meta19), data, seed=9)
    assert DetectorConfig().pop_step_uv > 140.0
    assert [a for a in out.alerts if a.kind == "electrode_pop"] == []
