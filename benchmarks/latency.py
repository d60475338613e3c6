"""Sample-to-alert latency through the real monitor: LSL outlet → monitor → feed → client.

A paced outlet sends EEG in which one channel goes flat for 2 s every 13 s.
Each episode raises one ``flatline`` alert. For each alert we take

* ``latency_s`` as the monitor reports it: the last sample of the triggering
  window acquired → the alert handed to the feed;
* feed transit: the alert handed to the feed → received by a websockets client
  (same clock, same machine);

and report p50/p99 of their sum. The per-block processing latency of every
block (acquired → published) is reported beside them: it bounds what an
alert can cost, over thousands of blocks instead of a few dozen alerts.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import numpy as np
import pylsl
from websockets.sync.client import connect

from detector import Detector
from streamer.live.acquisition import Acquisition
from streamer.live.feed import Feed
from streamer.live.link import MonitorLink
from streamer.live.lsl import Selector, resolve
from streamer.live.monitor import Monitor

CONFIGS = [(19, 256.0), (64, 1000.0)]
EPISODES = 12
PERIOD_S, FLAT_S = 13.0, 2.0  # an alert lasts at least its refractory period (10 s)


def measure(n_channels: int, rate: float) -> dict[str, Any]:
    name = f"bench-latency-{uuid.uuid4().hex[:8]}"
    info = pylsl.StreamInfo(name, "EEG", n_channels, rate, "float32", name)
    outlet = pylsl.StreamOutlet(info)
    acquisition = Acquisition(resolve(Selector("name", name), timeout=5))
    detector = Detector(acquisition.meta)
    received: list[tuple[float, dict[str, Any]]] = []
    link = MonitorLink(acquisition.meta, detector.config, stall_timeout=2.0)
    feed = Feed("127.0.0.1", 0, hello=link.hello, on_ack=link.acknowledge)
    feed.start()
    monitor = Monitor(acquisition, detector, publish=feed.publish, link=link, stall_timeout=2.0)
    stop = threading.Event()
    threads = [
        threading.Thread(target=monitor.run, args=(stop,)),
        threading.Thread(target=play, args=(outlet, n_channels, rate, stop)),
    ]
    with connect(feed.url) as client:
        for thread in threads:
            thread.start()
        try:
            while sum(1 for _, m in received if m["event"] == "raised") < EPISODES:
                message = json.loads(client.recv(timeout=PERIOD_S * 3))
                if message["type"] == "alert" and message["alert"]["kind"] == "flatline":
                    received.append((pylsl.local_clock(), message))
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            feed.stop()
            acquisition.close()
    raised = [(t, m["alert"]) for t, m in received if m["event"] == "raised"]
    system = np.array([a["latency_s"] for _, a in raised])
    transit = np.array([t - a["published_at"] for t, a in raised])
    total = system + transit
    block_p50, block_p99 = monitor.latency.percentiles()
    return {
        "channels": n_channels,
        "rate_hz": rate,
        "alerts": len(raised),
        "alert_p50_ms": round(float(np.percentile(total, 50)) * 1e3, 2),
        "alert_p99_ms": round(float(np.percentile(total, 99)) * 1e3, 2),
        "feed_transit_p50_ms": round(float(np.percentile(transit, 50)) * 1e3, 2),
        "block_p50_ms": round((block_p50 or 0) * 1e3, 2),
        "block_p99_ms": round((block_p99 or 0) * 1e3, 2),
        "target_p99_ms": 100,
    }


def play(
    outlet: pylsl.StreamOutlet,
    n_channels: int,
    rate: float,
    stop: threading.Event,
    period_s: float = PERIOD_S,
    flat_s: float = FLAT_S,
) -> None:
    """Real-time paced noise; channel 0 flat `flat_s` of every `period_s`."""
    rng = np.random.default_rng(0)
    t0, sent = pylsl.local_clock(), 0
    while not stop.is_set():
        due = int((pylsl.local_clock() - t0) * rate)
        if due > sent:
            index = np.arange(sent, due)
            chunk = (rng.standard_normal((len(index), n_channels)) * 20).astype(np.float32)
            chunk[(index / rate) % period_s >= period_s - flat_s, 0] = 0.0
            outlet.push_chunk(chunk, (t0 + index / rate).tolist())
            sent = due
        stop.wait(0.02)


def run() -> list[dict[str, Any]]:
    return [measure(n_channels, rate) for n_channels, rate in CONFIGS]
