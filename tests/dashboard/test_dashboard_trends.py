"""Night trends on arrays, and through a real feed; head map and banner texts."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard.alarm import not_monitoring_reason
from dashboard.feed_client import FeedClient
from dashboard.headmap import head_position, headmap_svg
from dashboard.trends import NightTrends
from simulators.feed import SimulatedFeed
from tests.support import wait_for

pytestmark = pytest.mark.timeout(30)
RATE = 128.0


def sine(seconds: float, hz: float, start: float = 0.0, n_ch: int = 2) -> tuple:
    t = start + np.arange(0, seconds, 1 / RATE)
    data = np.vstack([20 * np.sin(2 * np.pi * hz * t)] * n_ch).astype(np.float32)
    return t, data


def test_spectrum_and_ratios_follow_the_rhythm() -> None:
    trends = NightTrends(bin_s=30.0, hours=1.0)
    t, alpha = sine(60, 10.0)
    trends.add_samples(t, alpha, RATE)
    t, delta = sine(60, 2.0, start=60)
    trends.add_samples(t, delta, RATE)
    t, _ = sine(31, 2.0, start=120)  # closes the fourth bin
    trends.add_samples(t, np.zeros((2, t.size), np.float32), RATE)
    snap = trends.snapshot(channel=1)
    assert snap.times.tolist() == [0.0, 30.0, 60.0, 90.0, 120.0]
    peaks = snap.freqs[np.nanargmax(snap.csa[:4], axis=1)]
    assert peaks.tolist() == [10.0, 10.0, 2.0, 2.0]
    adr = snap.ratios["alpha/delta"]
    assert adr[0] > 10
    assert adr[2] < 0.1
    assert np.isnan(snap.quality_mean).all()  # the monitor reported none


def test_ratios_use_the_shared_band_table_where_sigma_is_in_neither() -> None:
    trends = NightTrends(bin_s=30.0, hours=1.0)
    t = np.arange(0, 31, 1 / RATE)
    waves = {2.0: 20.0, 10.0: 40.0, 14.0: 40.0, 20.0: 20.0}  # Hz: µV of delta, alpha, sigma, beta
    x = sum(amplitude * np.sin(2 * np.pi * hz * t) for hz, amplitude in waves.items())
    trends.add_samples(t, np.vstack([x, x]).astype(np.float32), RATE)
    snap = trends.snapshot()
    # Powers go with the squared amplitudes; the 14 Hz spindle band counts nowhere.
    assert snap.ratios["alpha/delta"][0] == pytest.approx(40**2 / 20**2, rel=0.02)
    assert snap.ratios["(delta+theta)/(alpha+beta)"][0] == pytest.approx(
        20**2 / (40**2 + 20**2), rel=0.02
    )


def test_memory_is_fixed_and_the_oldest_bins_are_overwritten() -> None:
    trends = NightTrends(bin_s=30.0, hours=0.5)  # 60 bins
    assert trends.capacity == 60
    t, data = sine(30, 10.0)
    trends.add_samples(t, data, RATE)
    trends.add_samples(t + 30, data, RATE)
    allocated = trends.nbytes
    for minute in range(1, 46):  # 45 minutes of stream in 1-minute blocks
        trends.add_samples(t + 60 * minute, data, RATE)
        trends.add_samples(t + 60 * minute + 30, data, RATE)
        trends.add_quality(60 * minute, [1.0, 0.2])
        trends.add_alert("high")
    assert trends.nbytes == allocated
    assert len(trends) == 60
    snap = trends.snapshot()
    assert snap.times[0] == 45 * 60 + 30 - 60 * 30  # the newest half hour only
    assert np.all(np.diff(snap.times) == 30.0)
    assert np.nanmin(snap.quality_min) == pytest.approx(0.2)
    assert np.nanmax(snap.quality_mean) == pytest.approx(0.6)
    assert snap.alerts["high"].sum() == 30  # one a minute, in the half hour kept


def test_holes_and_bad_values_never_make_a_spectrum() -> None:
    trends = NightTrends(bin_s=30.0, hours=1.0)
    t, data = sine(30, 10.0)
    data[:, 100:300] = np.nan  # bad values: those segments are skipped
    trends.add_samples(t, data, RATE)
    t2, data2 = sine(29, 10.0, start=31)  # a 1 s hole at the start of the second bin
    trends.add_samples(t2, data2, RATE)
    trends.add_samples(*sine(1, 10.0, start=60), RATE)
    snap = trends.snapshot()
    assert snap.times.tolist() == [0.0, 30.0]
    assert np.isfinite(snap.csa).all()
    # A clock that goes back is another stream: nothing of the first is kept.
    trends.add_samples(*sine(1, 10.0, start=5), RATE)
    assert len(trends) == 0


@settings(max_examples=40, deadline=None)
@given(
    chunks=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=30),
    gap=st.integers(min_value=0, max_value=2000),
)
def test_chunking_never_changes_the_trends(chunks: list[int], gap: int) -> None:
    t, data = sine(75, 7.0)
    t = np.where(np.arange(t.size) >= 3000, t + gap / RATE, t)
    whole = NightTrends(bin_s=30.0, hours=1.0)
    whole.add_samples(t, data, RATE)
    pieces = NightTrends(bin_s=30.0, hours=1.0)
    edges = np.cumsum([0, *chunks])
    edges = np.unique(np.append(edges[edges < t.size], t.size))
    for a, b in itertools.pairwise(edges):
        pieces.add_samples(t[a:b], data[:, a:b], RATE)
    one, other = whole.snapshot(), pieces.snapshot()
    np.testing.assert_array_equal(one.times, other.times)
    np.testing.assert_allclose(one.csa, other.csa, rtol=1e-5)


def test_another_stream_on_the_feed_starts_a_new_night() -> None:
    first = SimulatedFeed(name="Bed 1", speed=60.0).start()
    client = FeedClient(first.url).start()
    second = SimulatedFeed(name="Bed 2", speed=60.0)
    try:
        wait_for(lambda: len(client.trends) >= 2, 10, "two trend bins")
        first.send_alert()
        wait_for(lambda: client.snapshot(night=True).night, 5, "the alert in the night")
        second.port = first.port
        first.stop()
        second.start()
        wait_for(lambda: client.snapshot().name == "Bed 2", 6, "the second stream")
        snap = client.snapshot(night=True)
        assert snap.night == ()
        assert len(client.trends) <= 1
    finally:
        client.stop()
        first.stop()
        second.stop()


def test_banner_reasons_name_what_is_wrong(feed: SimulatedFeed) -> None:
    now = [0.0]
    client = FeedClient(feed.url, clock=lambda: now[0]).start()
    try:
        wait_for(lambda: client.snapshot().status, 5, "a status")
        assert not_monitoring_reason(client.snapshot(), now[0]) == ""
        feed.heartbeat = False
        now[0] = 12.0
        assert not_monitoring_reason(client.snapshot(), now[0]) == (
            "no heartbeat from the monitor for 12 s"
        )
        feed.stop()
        wait_for(lambda: not client.snapshot().connected, 5, "the disconnection")
        reason = not_monitoring_reason(client.snapshot(), now[0] + 65)
        assert reason.startswith("feed disconnected for 65 s")
    finally:
        client.stop()


def test_head_map_places_10_20_labels_and_lists_the_others() -> None:
    left, right = head_position("C3"), head_position("C4")
    assert left is not None
    assert right is not None
    assert left[0] < 0 < right[0]
    assert left[1] == right[1] == 0
    assert head_position("T3") == head_position("T7")  # old names
    front, back = head_position("Fp1"), head_position("O1")
    assert front[1] > 0 > back[1]
    assert math.isclose(math.hypot(*front), 1.0, rel_tol=1e-5)
    svg = headmap_svg(["Fp1", "O1", "ECG"], [1.0, 0.1, None], flagged={"Fp1"})
    assert svg.count("<circle") == 4  # the head and three channels
    assert svg.count('fill="#d32f2f"') == 2  # flagged and bad quality
    assert "ECG: no quality yet" in svg
    assert "<script" not in headmap_svg(["<script>"], None)
