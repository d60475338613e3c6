"""Detection → notification delivered, through the real monitor and apprise, on loopback.

A paced outlet sends 19 ch @ 256 Hz of noise in which one channel goes
flat for FLAT_S of every PERIOD_S; each episode raises one ``flatline``
alert. The monitor runs with the real notifier sink (journal
on, fsync per line) posting ``json://`` to an HTTP server in this process.
For each alert: published (the alert's ``published_at``, LSL clock) → the
webhook's POST received (LSL clock, same machine). The second row adds a
receiver that hangs on every request to the same alerts, to show it costs
the healthy one nothing. The notifier's minimum interval is set below the episode
period so that every episode is notified.
"""

from __future__ import annotations

import http.server
import json
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pylsl

from benchmarks.latency import play
from detector import Detector
from streamer.live.acquisition import Acquisition
from streamer.live.journal import AlertJournal
from streamer.live.lsl import Selector, resolve
from streamer.live.monitor import Monitor
from streamer.notify import Notifier, NotifyConfig

EPISODES = 10
N_CHANNELS, RATE = 19, 256.0
PERIOD_S, FLAT_S = 8.0, 2.0


class Receiver:
    """A webhook; with `hang`, it answers nothing until stopped."""

    def __init__(self, hang: bool = False) -> None:
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if hang:
                    receiver.release.wait(60)
                    return
                receiver.received.append((pylsl.local_clock(), json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook?rto=2"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def measure(with_hanging_receiver: bool) -> dict[str, Any]:
    name = f"bench-notify-{uuid.uuid4().hex[:8]}"
    outlet = pylsl.StreamOutlet(
        pylsl.StreamInfo(name, "EEG", N_CHANNELS, RATE, pylsl.cf_float32, name)
    )
    acquisition = Acquisition(resolve(Selector("name", name), timeout=5))
    receivers = [Receiver()] + ([Receiver(hang=True)] if with_hanging_receiver else [])
    config = NotifyConfig.from_dict(
        {"medium": [r.url for r in receivers], "min_interval_s": 0.5, "retry_initial_s": 0.5}
    )
    raised: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        journal = AlertJournal(Path(folder) / "alerts.jsonl")
        notifier = Notifier(config, journal=journal)

        def publish(message: dict[str, Any]) -> None:
            if message["type"] == "alert" and message["event"] == "raised":
                raised[message["alert"]["id"]] = message["alert"]["published_at"]

        monitor = Monitor(
            acquisition,
            Detector(acquisition.meta),
            publish=publish,
            journal=journal,
            sinks=[notifier],
        )
        stop = threading.Event()
        threads = [
            threading.Thread(target=monitor.run, args=(stop,)),
            threading.Thread(target=play, args=(outlet, N_CHANNELS, RATE, stop, PERIOD_S, FLAT_S)),
        ]
        for thread in threads:
            thread.start()
        healthy = receivers[0]
        try:
            while len(healthy.received) < EPISODES:
                stop.wait(0.1)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            for receiver in receivers:
                receiver.stop()
            notifier.close(grace=0)
            journal.close()
            acquisition.close()
    delays = []
    for at, payload in healthy.received[:EPISODES]:
        alert_id = payload["message"].split("alert ")[1].split()[0]
        delays.append(at - raised[alert_id])
    values = np.array(delays)
    return {
        "receivers": "healthy + hanging" if with_hanging_receiver else "healthy",
        "alerts": len(values),
        "notify_p50_ms": round(float(np.percentile(values, 50)) * 1e3, 2),
        "notify_p99_ms": round(float(np.percentile(values, 99)) * 1e3, 2),
        "notify_max_ms": round(float(values.max()) * 1e3, 2),
        "target_p99_ms": 1000,
    }


def run() -> list[dict[str, Any]]:
    return [measure(with_hanging_receiver=False), measure(with_hanging_receiver=True)]


def summary(rows: list[dict[str, Any]]) -> str:
    worst = max(row["notify_p99_ms"] for row in rows)
    return (
        f"detection → notification delivered: p99 {worst:.0f} ms at worst "
        f"(target 1000 ms), a hanging receiver beside the healthy one included"
    )
