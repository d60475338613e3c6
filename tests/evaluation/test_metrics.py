"""Event matching, the metrics and the baseline, on events and detections assembled by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector import Alert
from detector.types import Block, StreamMeta
from evaluation.baseline import LineLengthBaseline
from evaluation.metrics import Detection, Event, detections, score


def test_detected_localized_late_and_false():
    events = [
        Event(100.0, 20.0, "seizure_suspect", ("C3",)),
        Event(500.0, 10.0, "flatline", ("O1",)),
        Event(900.0, 10.0, "flatline", ("O2",)),
    ]
    found = [
        Detection("seizure_suspect", ("C3", "C4"), 99.0, 103.0, 121.0),  # detected, localized
        Detection("flatline", ("O1",), 500.0, 501.5, 511.0),  # detected
        Detection("flatline", ("F3",), 900.5, 902.0, 911.0),  # detected, wrong channel
        Detection("flatline", ("F4",), 2000.0, 2001.0, 2010.0),  # overlaps nothing: false
        Detection("anomaly", (), 101.0, 104.0, 118.0),  # overlaps the seizure: not false
        Detection("flatline", ("O1",), 530.0, 531.0, 540.0),  # after the event + tolerance
    ]
    s = score(events, found, duration_s=3600.0, tolerance_s=2.0)
    seizure, flat, anomaly = s["seizure_suspect"], s["flatline"], s["anomaly"]
    assert (seizure.events, seizure.detected, seizure.localized) == (1, 1, 1)
    assert seizure.latency_median == pytest.approx(3.0)
    assert (flat.events, flat.detected, flat.localized, flat.false_alarms) == (2, 2, 1, 2)
    assert flat.latency_median == pytest.approx(1.75)
    assert anomaly.false_alarms == 0
    # false alarms per hour count the time outside every event (with its tolerance)
    outside = 3600.0 - (24.0 + 14.0 + 14.0)
    assert flat.false_alarms_per_hour == pytest.approx(2 / (outside / 3600.0))


def test_detection_must_start_within_the_event():
    events = [Event(100.0, 10.0, "flatline", ("O1",))]
    before = [Detection("flatline", ("O1",), 50.0, 51.0, None)]  # still active, started before
    assert score(events, before, 3600.0)["flatline"].detected == 0


@settings(max_examples=200, deadline=None)
@given(
    onsets=st.lists(st.floats(0, 3000), min_size=1, max_size=8, unique=True),
    found=st.lists(st.tuples(st.floats(0, 3600), st.floats(0, 10)), max_size=12),
)
def test_counts_are_consistent(onsets, found):
    events = [Event(t, 10.0, "flatline", ("O1",)) for t in onsets]
    dets = [Detection("flatline", ("O1",), t, t + d, t + d + 5) for t, d in found]
    s = score(events, dets, 3600.0)["flatline"]
    assert 0 <= s.localized <= s.detected <= s.events == len(events)
    assert len(s.latencies) == s.detected
    assert all(lat >= 0 for lat in s.latencies)
    assert s.false_alarms <= len(dets)
    hits = sum(
        any(e.onset - 2 <= d.onset <= e.end + 2 and d.detected_at <= e.end + 2 for d in dets)
        for e in events
    )
    assert s.detected == hits


def _alert(**kw) -> Alert:
    base = {
        "id": "seizure_suspect-1",
        "stream": "s",
        "source_id": "s",
        "kind": "seizure_suspect",
        "severity": "high",
        "channels": ["C3"],
        "onset": 10.0,
        "detected_at": 13.0,
        "latency_s": 0.0,
        "score": 1.0,
        "message": "",
    }
    return Alert(**{**base, **kw})


def test_a_latched_alert_seeing_its_condition_again_is_a_second_detection():
    back = {"episode": 2, "episode_onset": 296.0, "episode_detected_at": 299.5}
    snapshots = [
        (_alert(), 13.0),
        (_alert(ended_at=40.0), 40.0),  # condition over, latched
        (_alert(channels=["C3", "C4"], **back), 300.0),  # the condition is back
        (_alert(channels=["C3", "C4", "Cz"], **back), 310.0),  # Cz joins
        (_alert(channels=["C3", "C4", "Cz"], ended_at=330.0, **back), 330.0),
    ]
    found = detections(snapshots)
    assert [(d.onset, d.detected_at, d.end, d.channels, d.joins) for d in found] == [
        (10.0, 13.0, 40.0, ("C3",), ()),
        (296.0, 299.5, 330.0, ("C3", "C4", "Cz"), (("Cz", 310.0),)),
    ]


def test_line_length_baseline_flags_a_burst_and_ignores_a_flat_channel():
    rng = np.random.default_rng(3)
    rate = 128.0
    x = rng.normal(scale=15.0, size=(2, round(120 * rate)))
    x[0, round(80 * rate) : round(90 * rate)] *= 5.0
    x[1, round(100 * rate) :] = 0.0
    base = LineLengthBaseline(StreamMeta("s", "s", ("A", "B"), rate))
    stamps = np.arange(x.shape[1]) / rate
    alerts = base.process(Block(x.astype(np.float32), stamps, 0))
    assert [(a.state, a.channels) for a in alerts] == [("active", ["A"]), ("cleared", ["A"])]
    assert 79.5 <= alerts[0].onset <= 80.5
