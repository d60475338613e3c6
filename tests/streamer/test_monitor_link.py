"""The monitor's link with the feed and the other threads, and the alert records it publishes."""

from __future__ import annotations

import itertools
import threading
from typing import Any

from detector import Detector, DetectorConfig, StreamMeta
from protocol.feed import encode
from streamer.live.acquisition import AcquisitionStats
from streamer.live.link import MonitorLink
from streamer.live.monitor import Monitor
from tests.support import wait_for

META = StreamMeta("bed-4", "amp-1", ("Fp1", "Fp2", "O1"), 256.0)


class Quiet:
    """An acquisition whose stream is connected and silent within the stall timeout."""

    meta = META

    def __init__(self) -> None:
        self.stats = AcquisitionStats()

    def read(self, timeout: float) -> list[Any]:
        threading.Event().wait(timeout)
        return []

    def silent_for(self) -> float:
        return 0.0


def record(alert_id: str, severity: str, onset: float, state: str = "active") -> dict[str, Any]:
    return {"id": alert_id, "severity": severity, "onset": onset, "state": state}


def test_hello_before_the_monitor_exists_and_active_alerts_by_severity() -> None:
    link = MonitorLink(META, DetectorConfig(), stall_timeout=2.0)
    hello = link.hello()
    encode(hello)
    assert hello["stream"]["labels"] == ["Fp1", "Fp2", "O1"]
    assert hello["display_rate"] == 128.0
    assert hello["config"]["stall_timeout_s"] == 2.0
    assert hello["alerts"] == []
    link.keep(record("a", "low", 1.0))
    link.keep(record("b", "high", 5.0))
    link.keep(record("c", "high", 3.0))
    assert [a["id"] for a in link.hello()["alerts"]] == ["c", "b", "a"]
    link.keep(record("c", "high", 3.0, state="cleared"))
    assert [a["id"] for a in link.hello()["alerts"]] == ["b", "a"]
    assert sorted(link.active_severities()) == ["high", "low"]


def test_queued_acks_and_conditions_are_drained_once() -> None:
    link = MonitorLink(META, DetectorConfig(), stall_timeout=2.0)
    link.acknowledge("a-1", "nurse")
    link.set_condition("recording_failed", True, "Disk full.", {"errno": 28.0})
    assert list(link.acks()) == [("a-1", "nurse", {})]
    assert list(link.conditions()) == [("recording_failed", True, "Disk full.", {"errno": 28.0})]
    assert list(link.acks()) == []
    assert list(link.conditions()) == []


def test_alerts_keep_the_detectors_detected_at_and_add_when_published() -> None:
    ticks = itertools.count(1000.0, 0.5)  # every reading of the clock is later
    messages: list[dict[str, Any]] = []
    detector = Detector(META)
    link = MonitorLink(META, detector.config, stall_timeout=2.0)
    monitor = Monitor(
        Quiet(), detector, publish=messages.append, link=link, clock=lambda: next(ticks)
    )
    stop = threading.Event()
    thread = threading.Thread(target=monitor.run, args=(stop,))
    thread.start()
    try:
        link.set_condition("recording_failed", True, "Disk full.", {})
        wait_for(lambda: alert_events(messages), 5, "the condition raised")
        (raised,) = alert_events(messages)
        link.acknowledge(raised["alert"]["id"], "night tech")
        wait_for(lambda: len(alert_events(messages)) == 2, 5, "the acknowledgement")
    finally:
        stop.set()
        thread.join(5)
    first, acked = (m["alert"] for m in alert_events(messages))
    assert acked["state"] == "acknowledged"
    (held,) = detector.active_alerts()
    assert first["detected_at"] == acked["detected_at"] == held.detected_at
    assert first["published_at"] > first["detected_at"], "published after detection, not instead"
    assert acked["published_at"] == first["published_at"], "when the alert was first published"
    assert link.hello()["alerts"] == [acked]


def alert_events(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in list(messages) if m["type"] == "alert"]
