"""The dashboard under load: real simulator, monitor and dashboard processes, real chromium.

For each stream size a simulator and a monitor run as processes, a dashboard
process serves their feed, and headless chromium (Debian's, no GPU: the page
draws on a canvas) shows the bed view. Measured over `MEASURE_S` seconds:

* feed → browser: the moment the dashboard's feed client received a
  ``traces`` message (``received`` column) → the moment the browser applied
  the row that carries it (wall clock, same machine), p50/p99;
* sample → browser: the newest sample's LSL time → the same moment (LSL's
  clock is this machine's monotonic clock), which adds the monitor's 0.1 s
  batching of display samples;
* browser updates per second (rows streamed into the page) beside the
  ``traces`` messages per second the monitor's feed sent (counted by a
  websockets client of the feed), frames painted per second, the dashboard
  process's CPU share (of one core) and memory.

The 32-channel stream is measured twice: as recorded, and with the page
showing the longitudinal bipolar montage (double banana).

A last row runs about four hours of a 32-channel stream in `NIGHT_S` seconds
through a simulated feed (`simulators.feed`, `NIGHT_SPEED` times faster than
real time; an alert raised and cleared every 3 minutes of stream) with a bed page
open, and reports the dashboard's memory after warming up and at the end, its
range and its growth per hour of stream over the second half and once the
night's traces kept for looking back have filled their budget (they grow
with the night until then).

`history_memory` fills the trace history of one bed with two hours of 32
channels at the display rate, in this process, and reports what it holds,
how far back its budget reaches and how long reading a page of it takes.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from websockets.exceptions import ConnectionClosed

from dashboard.ring import HISTORY_BUDGET_BYTES, TraceHistory
from eegmon.processes import Child
from protocol import feed as protocol
from simulators.feed import SimulatedFeed

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--enable-precise-memory-info",
]
BANANA = "Longitudinal bipolar"
#: Channels, rate and the montage the page shows (None: as recorded).
CONFIGS: list[tuple[int, float, str | None]] = [
    (8, 256.0, None),
    (32, 256.0, None),
    (32, 256.0, BANANA),
    (64, 256.0, None),
    (64, 1000.0, None),
]
WARMUP_S = 6.0
MEASURE_S = 20.0
NIGHT_SPEED = 180.0
NIGHT_S = 80.0
NIGHT_CHANNELS = 32
NIGHT_ALERT_EVERY_S = 180.0
DISPLAY_RATE = 128.0

#: Collects, in the page, one record per row streamed into the traces and the paints.
PAGE_PROBE = """(offset) => {
  const src = Bokeh.documents[0].get_model_by_name('traces_source');
  window.bench = {rows: [], frames: 0, start: performance.now()};
  src.streaming.connect(() => {
    const d = src.data, i = d.t_end.length - 1, now = Date.now() / 1000;
    window.bench.rows.push([now - d.received[i], now - (d.t_end[i] + offset)]);
  });
  const frame = () => { window.bench.frames += 1; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
}"""


class Process(Child):
    """An ``eegmon`` subprocess (quiet) whose output lines, CPU time and memory are read."""

    def __init__(self, *args: str) -> None:
        super().__init__(args[0], list(args), say=lambda line: None)
        self.args = args

    def wait_line(self, needle: str, timeout: float = 60.0) -> str:
        """The first output line containing `needle`; RuntimeError if the process ends first."""
        line = self.wait_for(needle, timeout, threading.Event())
        if line is None:
            tail = "\n".join(self.lines[-20:])
            raise RuntimeError(f"no {needle!r} from eegmon {' '.join(self.args)}:\n{tail}")
        return line

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+)", status)
        return int(found.group(1)) / 1024 if found else math.nan


def open_bed_page(pw: Any, url: str) -> tuple[Any, Any]:
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url + "bed?bed=0")
    page.wait_for_function(
        "() => window.Bokeh && Bokeh.documents.length > 0"
        " && Bokeh.documents[0].get_model_by_name('traces_source') !== null"
        " && Bokeh.documents[0].get_model_by_name('traces_source').data.t_end.length > 0",
        timeout=60_000,
    )
    return browser, page


def percentiles(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    p50, p99 = np.percentile(values, [50, 99])
    return float(p50), float(p99)


def show_montage(page: Any, montage: str) -> None:
    """Switch the bed page to `montage` and wait for its derived channels."""
    page.evaluate("(m) => { Bokeh.documents[0].get_model_by_name('montage').value = m; }", montage)
    page.wait_for_function(
        "() => Array.from(Bokeh.documents[0].get_model_by_name('traces_yaxis')"
        ".major_label_overrides.values()).some((label) => label.includes('-'))",
        timeout=10_000,
    )


def measure(n_channels: int, rate: float, montage: str | None = None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    name = f"bench-dash-{uuid.uuid4().hex[:8]}"
    started = [
        Process("simulate", "--name", name, "--channels", str(n_channels), "--rate", str(rate))
    ]
    try:
        monitor = Process("monitor", "--stream", name, "--feed-port", "0", "--quiet")
        started.append(monitor)
        feed = monitor.wait_line("feed at ").split("feed at ")[1].strip()
        dashboard = Process("dashboard", "--feed", feed, "--port", "0")
        started.append(dashboard)
        url = dashboard.wait_line("dashboard at ").split("dashboard at ")[1].strip()
        with sync_playwright() as pw:
            browser, page = open_bed_page(pw, url)
            try:
                if montage is not None:
                    show_montage(page, montage)
                time.sleep(WARMUP_S)
                with FeedCounter(feed) as counter:
                    page.evaluate(PAGE_PROBE, time.time() - time.monotonic())
                    cpu0, t0 = dashboard.cpu_seconds(), time.monotonic()
                    counter.reset()
                    time.sleep(MEASURE_S)
                    cpu1, t1 = dashboard.cpu_seconds(), time.monotonic()
                    feed_rate = counter.traces / (t1 - t0)
                bench = page.evaluate(
                    "() => ({rows: window.bench.rows, frames: window.bench.frames,"
                    " seconds: (performance.now() - window.bench.start) / 1000,"
                    " heap: performance.memory ? performance.memory.usedJSHeapSize : null})"
                )
                backend = page.evaluate(
                    "() => Bokeh.documents[0].get_model_by_name('traces').output_backend"
                )
            finally:
                browser.close()
        rows = bench["rows"]
        feed_p50, feed_p99 = percentiles([r[0] for r in rows])
        age_p50, age_p99 = percentiles([r[1] for r in rows])
        return {
            "channels": n_channels,
            "rate_hz": rate,
            "montage": montage or "as recorded",
            "render": backend,
            "updates_per_s": len(rows) / bench["seconds"],
            "feed_traces_per_s": feed_rate,
            "frames_per_s": bench["frames"] / bench["seconds"],
            "feed_to_browser_p50_ms": 1000 * feed_p50 if feed_p50 is not None else None,
            "feed_to_browser_p99_ms": 1000 * feed_p99 if feed_p99 is not None else None,
            "sample_to_browser_p50_ms": 1000 * age_p50 if age_p50 is not None else None,
            "sample_to_browser_p99_ms": 1000 * age_p99 if age_p99 is not None else None,
            "server_cpu_share": (cpu1 - cpu0) / (t1 - t0),
            "server_rss_mb": dashboard.rss_mb(),
            "browser_heap_mb": bench["heap"] / 2**20 if bench["heap"] else None,
        }
    finally:
        for process in reversed(started):
            process.stop()


class FeedCounter:
    """Counts the ``traces`` messages of a feed, on a thread of its own."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self.traces = 0
        self._ws = connect(url, open_timeout=10, max_size=protocol.MAX_SERVER_MESSAGE)
        self._thread = threading.Thread(target=self._read, daemon=True)

    def _read(self) -> None:
        try:
            for text in self._ws:
                if '"type":"traces"' in str(text)[:20]:
                    self.traces += 1
        except ConnectionClosed:
            pass

    def reset(self) -> None:
        self.traces = 0

    def __enter__(self) -> FeedCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._ws.close()
        self._thread.join(5)


def accelerated_night() -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    labels = [f"E{i + 1}" for i in range(NIGHT_CHANNELS)]
    feed = SimulatedFeed(
        labels, rate=DISPLAY_RATE, period=0.1, name="night", speed=NIGHT_SPEED, score_step_s=0.5
    ).start()
    dashboard = Process("dashboard", "--feed", feed.url, "--port", "0")
    try:
        url = dashboard.wait_line("dashboard at ").split("dashboard at ")[1].strip()
        with sync_playwright() as pw:
            browser, page = open_bed_page(pw, url)
            try:
                samples, cpu = watch_night(feed, dashboard)
                heap = page.evaluate(
                    "() => performance.memory ? performance.memory.usedJSHeapSize : null"
                )
            finally:
                browser.close()
    finally:
        dashboard.stop()
        feed.stop()
    hours = np.array([s[0] for s in samples]) / 3600
    rss = np.array([s[1] for s in samples])
    half = len(samples) // 2
    slope = float(np.polyfit(hours[half:], rss[half:], 1)[0]) if len(samples) > 4 else None
    # Once the traces kept for looking back fill their budget, nothing should grow.
    full = hours > HISTORY_BUDGET_BYTES / history_bytes_per_hour() + 0.1
    after = float(np.polyfit(hours[full], rss[full], 1)[0]) if full.sum() > 4 else None
    return {
        "channels": NIGHT_CHANNELS,
        "rate_hz": DISPLAY_RATE,
        "render": f"accelerated x{NIGHT_SPEED:g}",
        "stream_hours": float(hours[-1]),
        "rss_start_mb": float(rss[min(2, len(rss) - 1)]),
        "rss_end_mb": float(rss[-1]),
        "rss_range_2nd_half_mb": float(np.ptp(rss[half:])) if half else None,
        "rss_growth_mb_per_h_2nd_half": slope,
        "rss_growth_mb_per_h_history_full": after,
        "rss_range_history_full_mb": float(np.ptp(rss[full])) if full.any() else None,
        "server_cpu_share": cpu,
        "browser_heap_mb": heap / 2**20 if heap else None,
    }


def watch_night(feed: SimulatedFeed, dashboard: Process) -> tuple[list[tuple[float, float]], float]:
    """For `NIGHT_S` seconds: ``(stream seconds, dashboard RSS MB)`` every 2 s, and its CPU share.

    An artefact alert is raised and cleared every `NIGHT_ALERT_EVERY_S` of stream.
    """
    samples: list[tuple[float, float]] = []
    alerts = 0
    start = time.monotonic()
    cpu0 = dashboard.cpu_seconds()
    while time.monotonic() < start + NIGHT_S:
        due = int(feed.now() // NIGHT_ALERT_EVERY_S)
        if due > alerts:
            alerts = due
            alert = feed.send_alert(
                kind="artifact",
                channels=[feed.labels[alerts % len(feed.labels)]],
                message="Movement.",
                onset=feed.now() - 5.0,
            )
            feed.send_alert(**(alert | {"state": "cleared", "cleared_at": feed.now()}))
        if time.monotonic() >= start + 2.0 * len(samples):
            samples.append((feed.now(), dashboard.rss_mb()))
        time.sleep(0.25)
    cpu = (dashboard.cpu_seconds() - cpu0) / (time.monotonic() - start)
    return samples, cpu


def history_memory(hours: float = 2.0) -> dict[str, Any]:
    """One bed's trace history after `hours` of `NIGHT_CHANNELS` at `DISPLAY_RATE`."""
    rng = np.random.default_rng(0)
    minute = int(60 * DISPLAY_RATE)
    block = np.round(rng.normal(0, 30, (NIGHT_CHANNELS, minute)), 2).astype(np.float32)
    history = TraceHistory()
    rss0 = _own_rss_mb()
    for m in range(int(hours * 60)):
        history.append(m * 60.0 + np.arange(minute) / DISPLAY_RATE, block)
    rss1 = _own_rss_mb()
    end = hours * 3600 / 2
    reads = []
    for _ in range(20):
        t0 = time.perf_counter()
        history.read(end - 68.0, end)  # a 60 s page and the display filter's lead-in
        reads.append(time.perf_counter() - t0)
    per_hour = history.nbytes / hours
    return {
        "channels": NIGHT_CHANNELS,
        "rate_hz": DISPLAY_RATE,
        "history_hours": hours,
        "history_mib": history.nbytes / 2**20,
        "history_rss_delta_mib": rss1 - rss0,
        "float32_mib": hours * 3600 * DISPLAY_RATE * NIGHT_CHANNELS * 4 / 2**20,
        "budget_mib": HISTORY_BUDGET_BYTES / 2**20,
        "budget_hours": HISTORY_BUDGET_BYTES / per_hour,
        "read_60s_page_ms": 1000 * float(np.median(reads)),
    }


def history_bytes_per_hour() -> float:
    """What an hour of `NIGHT_CHANNELS` at `DISPLAY_RATE` takes in a `TraceHistory`."""
    history = TraceHistory()
    minute = int(60 * DISPLAY_RATE)
    zeros = np.zeros((NIGHT_CHANNELS, minute))
    sizes = []
    for m in range(2):  # the second minute's cost, without the open chunk's fixed buffer
        history.append(m * 60 + np.arange(minute) / DISPLAY_RATE, zeros)
        sizes.append(history.nbytes)
    return (sizes[1] - sizes[0]) * 60.0


def _own_rss_mb() -> float:
    found = re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text())
    return int(found.group(1)) / 1024 if found else math.nan


def run() -> list[dict[str, Any]]:
    rows = [measure(n, rate, montage) for n, rate, montage in CONFIGS]
    rows.append(accelerated_night())
    rows.append(history_memory())
    return rows


def summary(rows: list[dict[str, Any]]) -> str:
    live = [r for r in rows if "updates_per_s" in r]
    target = next((r for r in live if r["channels"] == 32 and r["rate_hz"] == 256.0), None)
    banana = next((r for r in live if r.get("montage") == BANANA), None)
    night = next((r for r in rows if "stream_hours" in r), None)
    parts = []
    if target:
        parts.append(
            f"32 ch @ 256 Hz: {target['updates_per_s']:.1f} updates/s (target ≥ 10), "
            f"feed→browser p99 {target['feed_to_browser_p99_ms']:.0f} ms (target ≤ 500)"
        )
    if banana:
        parts.append(
            f"with the double banana: {banana['updates_per_s']:.1f} updates/s, "
            f"p99 {banana['feed_to_browser_p99_ms']:.0f} ms"
        )
    worst = max((r["feed_to_browser_p99_ms"] or 0 for r in live), default=0)
    parts.append(f"worst feed→browser p99 {worst:.0f} ms")
    if night:
        parts.append(
            f"{night['stream_hours']:.2f} h accelerated: RSS {night['rss_start_mb']:.0f} → "
            f"{night['rss_end_mb']:.0f} MB"
        )
    return "; ".join(parts)
