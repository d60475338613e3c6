"""`Detector.set_condition`: conditions seen outside the signal join the stream's alerts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from detector import Block, Detector, DetectorConfig, StreamMeta

META = StreamMeta("bed-1", "amp-1", ("C3", "O1"), 100.0)


def test_reported_condition_shares_ids_with_signal_alerts() -> None:
    det = Detector(META)
    data = np.zeros((2, 300), dtype=np.float32)  # both channels flat
    flat = det.process(Block(data, np.arange(300) / 100.0, 0)).alerts
    failed = det.set_condition("recording_failed", True, 3.0, "Disk full.", {"errno": 28.0}).alerts
    assert [a.id for a in flat] == ["flatline-1"]
    assert [(a.id, a.kind, a.severity, a.channels) for a in failed] == [
        ("recording_failed-2", "recording_failed", "high", [])
    ]
    assert {a.kind for a in det.active_alerts()} == {"flatline", "recording_failed"}
    assert det.active_alerts()[0].kind == "recording_failed", "high severity sorts first"


def test_new_message_updates_the_same_alert() -> None:
    det = Detector(META)
    first = det.set_condition("recording_failed", True, 1.0, "Disk full.").alerts[0]
    second = det.set_condition("recording_failed", True, 5.0, "Permission denied.").alerts[0]
    assert second.id == first.id
    assert second.onset == 1.0
    assert second.message == "Permission denied."


def test_unknown_kind_and_bad_time_are_refused() -> None:
    det = Detector(META)
    with pytest.raises(ValueError, match="unknown alert kind 'disk'"):
        det.set_condition("disk", True, 1.0, "x")
    with pytest.raises(ValueError, match="finite"):
        det.set_condition("recording_failed", True, float("nan"), "x")


def test_a_failure_that_ends_stays_until_acknowledged() -> None:
    """High severity latches: a recording that failed and resumed left a hole someone must see."""
    det = Detector(META)
    failed = det.set_condition("recording_failed", True, 1.0, "Disk full.").alerts[0]
    over = det.set_condition("recording_failed", False, 30.0, "").alerts
    assert [(a.id, a.state, a.ended_at) for a in over] == [(failed.id, "active", 30.0)]
    assert [a.id for a in det.active_alerts()] == [failed.id]
    cleared = det.acknowledge(failed.id, "night tech", 40.0)
    assert cleared is not None
    assert (cleared.state, cleared.cleared_at) == ("cleared", 30.0)
    assert det.active_alerts() == []


ACTIONS = st.one_of(
    st.tuples(st.just("report"), st.booleans(), st.sampled_from(["a", "b"])),
    st.tuples(st.just("ack"), st.just(False), st.just("")),
)


@given(st.lists(ACTIONS, max_size=30))
def test_report_sequences_follow_the_latching_model(actions: list[tuple[str, bool, str]]) -> None:
    """Against a reference: one alert at a time, latched until acknowledged, never revived."""
    det = Detector(META, DetectorConfig(refractory_s=0.0))
    current: dict[str, object] | None = None  # the reference's alert: id, ongoing, acknowledged
    ids: list[str] = []
    for t, (action, active, message) in enumerate(actions):
        if action == "ack":
            if current is None:
                continue
            det.acknowledge(str(current["id"]), "tech", float(t))
            current["acknowledged"] = True
            if not current["ongoing"]:
                current = None
        else:
            changed = det.set_condition("recording_failed", active, float(t), message).alerts
            if active:
                if current is None:
                    assert len(changed) == 1
                    assert changed[0].id not in ids, "a new alert"
                    ids.append(changed[0].id)
                    current = {"id": changed[0].id, "acknowledged": False}
                current["ongoing"] = True
            elif current is not None and current["ongoing"]:
                current["ongoing"] = False
                if current["acknowledged"]:
                    assert [a.state for a in changed] == ["cleared"]
                    current = None
                else:
                    assert [(a.state, a.ended_at) for a in changed] == [("active", float(t))]
            assert all(a.id in ids for a in changed)
        assert [a.id for a in det.active_alerts()] == ([current["id"]] if current else [])
