"""A monitor whose step keeps failing raises `monitor_failed`, and clears it once it recovers."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pylsl
import pytest

from detector import Detector, DetectorConfig
from detector.types import Block
from streamer.live import monitor as monitor_module
from streamer.live.acquisition import Acquisition
from streamer.live.lsl import Selector, resolve
from streamer.live.monitor import Monitor
from tests.support import wait_for

pytestmark = pytest.mark.slow
RATE = 128.0


class FailingSink:
    """A sink that breaks on every block while `failing` is set (a disk, a driver...)."""

    def __init__(self) -> None:
        self.failing = threading.Event()

    def block(self, block: Block) -> None:
        if self.failing.is_set():
            raise OSError(28, "No space left on device")

    def alert(self, event: str, alert: dict[str, Any]) -> None:
        pass

    def status(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


def monitor_failed(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        m["alert"]
        for m in list(messages)
        if m["type"] == "alert" and m["alert"]["kind"] == "monitor_failed"
    ]


def test_repeated_step_failures_are_an_alarm_that_clears_after(
    unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor_module, "FAIL_LOUD", False)  # production behaviour
    info = pylsl.StreamInfo(unique_name, "EEG", 2, RATE, "float32", f"{unique_name}-amp")
    outlet = pylsl.StreamOutlet(info)
    acquisition = Acquisition(resolve(Selector("name", unique_name), timeout=5))
    sink = FailingSink()
    messages: list[dict[str, Any]] = []
    detector = Detector(acquisition.meta, DetectorConfig(refractory_s=1.0))
    runner = Monitor(acquisition, detector, publish=messages.append, sinks=[sink])
    stop, pushing = threading.Event(), threading.Event()

    def push() -> None:
        rng = np.random.default_rng(0)
        while not pushing.wait(1 / 16):
            outlet.push_chunk(rng.normal(0, 20, (8, 2)).astype(np.float32))

    threads = [threading.Thread(target=runner.run, args=(stop,)), threading.Thread(target=push)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: runner.windows > 0, 10, "monitoring to start")
        assert monitor_failed(messages) == []
        sink.failing.set()
        raised = wait_for(lambda: monitor_failed(messages), 10, "monitor_failed")[0]
        assert raised["severity"] == "high"
        assert raised["state"] == "active"
        assert "No space left on device" in raised["message"]
        assert "NOT monitored" in raised["message"]
        sink.failing.clear()
        wait_for(
            lambda: any(a["state"] == "cleared" for a in monitor_failed(messages)),
            20,
            "monitor_failed to clear once steps succeed",
        )
        assert len({a["id"] for a in monitor_failed(messages)}) == 1, "one alert, not a storm"
    finally:
        pushing.set()
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        acquisition.close()
