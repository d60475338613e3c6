"""`Detector.report`: conditions seen outside the signal join the stream's alerts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from detector import Block, Detector, StreamMeta

META = StreamMeta("bed-1", "amp-1", ("C3", "O1"), 100.0)


def test_reported_condition_shares_ids_with_signal_alerts() -> None:
    det = Detector(META)
    data = np.zeros((2, 300), dtype=np.float32)  # both channels flat
    flat = det.process(Block(data, np.arange(300) / 100.0, 0)).alerts
    failed = det.report("recording_failed", True, 3.0, "Disk full.", {"errno": 28.0}).alerts
    assert [a.id for a in flat] == ["flatline-1"]
    assert [(a.id, a.kind, a.severity, a.channels) for a in failed] == [
        ("recording_failed-2", "recording_failed", "high", [])
    ]
    assert {a.kind for a in det.active_alerts()} == {"flatline", "recording_failed"}
    assert det.active_alerts()[0].kind == "recording_failed", "high severity sorts first"


def test_new_message_updates_the_same_alert() -> None:
    det = Detector(META)
    first = det.report("recording_failed", True, 1.0, "Disk full.").alerts[0]
    second = det.report("recording_failed", True, 5.0, "Permission denied.").alerts[0]
    assert second.id == first.id
    assert second.onset == 1.0
    assert second.message == "Permission denied."


def test_unknown_kind_and_bad_time_are_refused() -> None:
    det = Detector(META)
    with pytest.raises(ValueError, match="unknown alert kind 'disk'"):
        det.report("disk", True, 1.0, "x")
    with pytest.raises(ValueError, match="finite"):
        det.report("recording_failed", True, float("nan"), "x")


@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["a", "b"])), max_size=30))
def test_report_sequences_keep_one_alert_at_a_time(reports: list[tuple[bool, str]]) -> None:
    det = Detector(META)
    active_id: str | None = None
    ids: list[str] = []
    for t, (active, message) in enumerate(reports):
        for alert in det.report("recording_failed", active, float(t), message).alerts:
            if alert.state == "cleared":
                assert alert.id == active_id
                assert not active
                active_id = None
            else:
                assert active
                assert active_id in (None, alert.id)
                if active_id is None:
                    assert alert.id not in ids, "a cleared alert never comes back"
                    ids.append(alert.id)
                active_id = alert.id
        assert [a.id for a in det.active_alerts()] == ([active_id] if active_id else [])
