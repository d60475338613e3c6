"""Chaos: amplifiers unplugged and plugged back at random while monitors run.

Every outage must be told once when the stream goes and once when it comes
back, all on one latched ``signal_lost`` since nobody acknowledges it, and the
monitor processes must not accumulate threads, open files or memory.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest

from tests.reliability.harness import (
    CounterOutlet,
    gauge,
    growth,
    outage_edges,
    samples,
    scaled,
)
from tests.support import wait_for

pytestmark = pytest.mark.slow

STALL_S = 1.0


def unplug_at_random(
    outlet: CounterOutlet, rng: random.Random, until: float, outages: list[float]
) -> None:
    """Stop and restart `outlet` at random until `until` (monotonic); log each outage."""
    while time.monotonic() < until:
        outlet.wait_consumer(30)
        time.sleep(rng.uniform(1.0, 3.0))
        outlet.stop()
        down = rng.uniform(STALL_S + 1.5, STALL_S + 3.0)
        time.sleep(down)
        outlet.start()
        outages.append(down)


def test_outlets_start_and_stop_at_random(monitor, unique_name: str, figures) -> None:
    """Beds whose amplifiers come and go at random times: the alert tells each loss and return."""
    beds = int(scaled(1, 4))
    seconds = scaled(10, 180)  # short: two outages after the first, long: dozens
    figures.fault = (
        f"outlets destroyed and recreated at random (up 1-3 s, down 2.5-4 s), {seconds:g} s"
    )
    figures.load = f"{beds} monitors, 8 ch × 256 Hz each, real time, stall timeout {STALL_S:g} s"
    rng = random.Random(8)
    outlets = [
        CounterOutlet(f"{unique_name}-{i}", f"amp-{uuid.uuid4().hex[:6]}").start()
        for i in range(beds)
    ]
    started = [monitor(o.name, "--stall-timeout", str(STALL_S)) for o in outlets]
    for outlet, (_, client) in zip(outlets, started, strict=True):
        outlet.wait_consumer()
        wait_for(lambda c=client: samples(c) > 256, 20, "data")
    # A first outage and return warm up what an outage uses before the baseline is taken.
    for outlet in outlets:
        outlet.stop()
    for _, client in started:
        wait_for(lambda c=client: outage_edges(c)[0], 10, "first signal_lost")
    for outlet in outlets:
        outlet.start()
    for _, client in started:
        wait_for(lambda c=client: outage_edges(c)[1], 15, "first return")
    baseline = [gauge(proc.process.pid) for proc, _ in started]
    until = time.monotonic() + seconds
    outages: list[list[float]] = [[] for _ in outlets]
    threads = [
        threading.Thread(target=unplug_at_random, args=(o, random.Random(rng.random()), until, log))
        for o, log in zip(outlets, outages, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    for outlet, (_, client) in zip(outlets, started, strict=True):
        outlet.wait_consumer()
        wait_for(
            lambda c=client, o=outlet: (
                len(outage_edges(c)[1]) == len(outages[outlets.index(o)]) + 1
            ),
            15,
            "the last return",
        )
    final = [gauge(proc.process.pid) for proc, _ in started]
    edges = [outage_edges(c) for _, c in started]
    counts = [(len(lost), len(back)) for lost, back in edges]
    figures.update(
        outages=[len(o) + 1 for o in outages],
        losses_returns=counts,
        threads=[(b.threads, f.threads) for b, f in zip(baseline, final, strict=True)],
        open_files=[(b.fds, f.fds) for b, f in zip(baseline, final, strict=True)],
        rss_mib=[
            (round(b.rss_mib, 1), round(f.rss_mib, 1)) for b, f in zip(baseline, final, strict=True)
        ],
        rss_growth_pct_max=round(
            100 * max(growth(b.rss_mib, f.rss_mib) for b, f in zip(baseline, final, strict=True)), 2
        ),
    )
    for log, (lost, back) in zip(outages, edges, strict=True):
        assert len(lost) == len(back) == len(log) + 1, "each loss and return told once"
        assert len({a["id"] for a in lost + back}) == 1, "one latched alert, raised again"
        assert [a["event"] for a in lost[:1]] == ["raised"]
        assert len(log) >= 2
    for before, after in zip(baseline, final, strict=True):
        assert after.threads <= before.threads * 1.05
        assert after.fds <= before.fds * 1.05
        assert growth(before.rss_mib, after.rss_mib) < 0.05
    for proc, _ in started:
        assert proc.process.poll() is None
    for outlet in outlets:
        outlet.stop()
