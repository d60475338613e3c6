"""Soak: beds of 32 channels at 256 Hz, accelerated, each watched by its own monitor.

The outlets run faster than real time (their stream clock too), so an hour
of EEG on each of eight beds passes in minutes under ``make soak``; ``make
test`` holds two beds for a little over an accelerated minute.
"""

from __future__ import annotations

import re
import time
import uuid

import numpy as np
import pytest

from tests.reliability.harness import CounterOutlet, feed_url, gauge, growth, scaled
from tests.support import FeedProbe, wait_for

pytestmark = pytest.mark.slow

BEDS, CHANNELS, RATE = int(scaled(2, 8)), 32, 256.0
SPEED = 8.0
STATUS = re.compile(r"rate +([\d.]+)/s .*p99 ([\d.]+) ms +dropped (\d+)")


def statuses(proc) -> list[tuple[float, float, int]]:
    """(rate, latency p99 in ms, samples dropped) from the monitor's status lines."""
    return [
        (float(m[1]), float(m[2]), int(m[3]))
        for line in list(proc.lines)
        if (m := STATUS.search(line))
    ]


def bed_outlet(unique_name: str, bed: int) -> CounterOutlet:
    """One bed's accelerated outlet, with a device id of its own."""
    return CounterOutlet(
        f"{unique_name}-{bed}",
        f"bed-{bed}-{uuid.uuid4().hex[:6]}",
        n_channels=CHANNELS,
        rate=RATE,
        speed=SPEED,
        chunk=32,
    )


def test_beds_for_accelerated_hours(eegmon, unique_name: str, figures) -> None:
    """Every bed's samples all arrive; latency and memory hold still while the hours pass."""
    wall_s = scaled(10.0, 3600.0 / SPEED)
    figures.fault = "none: sustained load"
    figures.load = (
        f"{BEDS} beds × {CHANNELS} ch × {RATE:g} Hz at {SPEED:g}× real time for "
        f"{wall_s:g} s ({wall_s * SPEED / 60:.1f} min of EEG per bed), one monitor process each"
    )
    outlets = [bed_outlet(unique_name, bed) for bed in range(BEDS)]
    monitors = []
    for outlet in outlets:
        outlet.start()
        # Sample counters are not EEG to stage; staging's own cost is in benchmarks/staging.py.
        args = ["--stream", outlet.name, "--feed-port", "0", "--status-every", "1"]
        monitors.append(eegmon("monitor", *args, "--no-staging"))
    urls = [feed_url(proc) for proc in monitors]
    for outlet in outlets:
        outlet.wait_consumer(60)
    watcher = FeedProbe(urls[0])  # one bed counted sample by sample
    try:
        wait_for(lambda: all(len(statuses(p)) >= 2 for p in monitors), 60, "status lines")
        start = [gauge(p.process.pid) for p in monitors]
        started = time.monotonic()
        quarter = [None] * len(monitors)
        while (elapsed := time.monotonic() - started) < wall_s:
            time.sleep(min(1.0, wall_s - elapsed))
            if elapsed >= wall_s / 4 and quarter[0] is None:
                quarter = [gauge(p.process.pid) for p in monitors]
                marks = [len(statuses(p)) for p in monitors]
        end = [gauge(p.process.pid) for p in monitors]
        for outlet in outlets:
            outlet.stop()
        sent = outlets[0].sent
        wait_for(
            lambda: any(m["type"] == "status" and m["samples"] >= sent for m in watcher.messages),
            20,
            "every sample of bed 0",
        )
    finally:
        watcher.close()
        for outlet in outlets:
            outlet.stop()
    lines = [statuses(p) for p in monitors]
    early = [max(r[1] for r in s[: m + 1]) for s, m in zip(lines, marks, strict=True)]
    late = [max(r[1] for r in s[-max(3, len(s) // 4) :]) for s in lines]
    p99_all = [r[1] for s in lines for r in s[2:]]
    rss_growth = [growth(q.rss_mib, e.rss_mib) for q, e in zip(quarter, end, strict=True)]
    cpu = sum(e.cpu_s - s.cpu_s for s, e in zip(start, end, strict=True))
    received = max(m["samples"] for m in watcher.of_type("status"))
    figures.update(
        eeg_minutes_per_bed=round(wall_s * SPEED / 60, 1),
        samples_sent_bed0=sent,
        samples_received_bed0=received,
        samples_dropped=[s[-1][2] for s in lines],
        rate_per_bed=round(float(np.median([r[0] for s in lines for r in s[2:]])), 1),
        latency_p99_ms_median=round(float(np.median(p99_all)), 1),
        latency_p99_ms_first_quarter_max=max(early),
        latency_p99_ms_last_quarter_max=max(late),
        rss_mib_per_monitor=[round(e.rss_mib, 1) for e in end],
        rss_growth_pct_max=round(100 * max(rss_growth), 2),
        threads=[e.threads for e in end],
        cpu_cores_used_by_monitors=round(cpu / wall_s, 2),
    )
    assert received == sent, "bed 0 lost samples"
    assert all(s[-1][2] == 0 for s in lines), "samples dropped"
    for first, last in zip(early, late, strict=True):
        assert last <= 2 * first + 20, "latency p99 grew"
    assert max(rss_growth) < 0.05
    for q, e in zip(quarter, end, strict=True):
        assert e.threads <= q.threads
        assert e.fds <= q.fds
