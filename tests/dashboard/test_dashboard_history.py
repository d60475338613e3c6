"""The night's traces a bed keeps for looking back, and where the page goes."""

from __future__ import annotations

import numpy as np
import pytest

from dashboard.panels.timeaxis import Pager
from dashboard.ring import HISTORY_BUDGET_BYTES, HISTORY_CHUNK, TraceHistory

RATE = 128.0


def eeg(n: int, n_channels: int, seed: int = 0) -> np.ndarray:
    """Noise and rhythms of tens of µV on DC offsets up to ±300 mV, rounded as the feed does."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    offsets = rng.uniform(-3e5, 3e5, (n_channels, 1))
    waves = 40 * np.sin(2 * np.pi * rng.uniform(1, 20, (n_channels, 1)) * t)
    return np.round(offsets + waves + rng.normal(0, 15, (n_channels, n)), 2).astype(np.float32)


def test_samples_come_back_within_half_a_step_of_their_second_nan_included() -> None:
    history = TraceHistory()
    n = 10 * HISTORY_CHUNK + 37
    data = eeg(n, 8)
    data[2, 500:700] = np.nan  # a channel lost for a while
    data[5, 1000] = 4e5  # one sample far off: its chunk takes a coarser step, nothing clips
    times = 1000.0 + np.arange(n) / RATE
    for start in range(0, n, 13):  # as the feed sends them, a tenth of a second at a time
        history.append(times[start : start + 13], data[:, start : start + 13])
    got_t, got = history.read(times[0], times[-1])
    np.testing.assert_array_equal(got_t, times)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(data))
    error = np.abs(got.astype(np.float64) - data)
    for c in range(0, n - 37, HISTORY_CHUNK):  # per chunk: half of (its range / 65534)
        chunk = data[:, c : c + HISTORY_CHUNK].astype(np.float64)
        half_step = (np.nanmax(chunk, axis=1) - np.nanmin(chunk, axis=1)) / 65534 / 2
        # plus float32's own rounding of values near 3e5 (1/64 µV)
        assert (
            np.nan_to_num(error[:, c : c + HISTORY_CHUNK]).max(axis=1) <= half_step + 0.016
        ).all()
    assert np.nanmax(error[[0, 1, 3, 4, 6, 7]]) < 0.03  # ordinary EEG: far below a pixel
    # A window inside reads only its samples, a channel limit only the first channels.
    part_t, part = history.read(times[300], times[900], max_channels=3)
    np.testing.assert_array_equal(part_t, times[300:901])
    assert part.shape == (3, 601)
    assert history.span() == (times[0], times[-1])


def test_the_budget_keeps_the_newest_two_hours_of_32_channels_and_more() -> None:
    history = TraceHistory()
    block = int(60 * RATE)
    data = eeg(block, 32)
    for minute in range(150):  # 2.5 h at the display rate, a minute at a time
        history.append(minute * 60.0 + np.arange(block) / RATE, data)
    oldest, newest = history.span() or (np.nan, np.nan)
    assert newest == pytest.approx(150 * 60 - 1 / RATE)
    assert oldest == 0.0  # 2.5 h of 32 channels fit in the budget
    assert history.nbytes <= HISTORY_BUDGET_BYTES
    per_hour = history.nbytes / 2.5
    assert 30e6 < per_hour < 36e6  # 74 bytes a sample of 32 channels (int16 and its time)

    small = TraceHistory(budget_bytes=int(per_hour / 4))  # a quarter of an hour
    for minute in range(60):
        small.append(minute * 60.0 + np.arange(block) / RATE, data)
    oldest, newest = small.span() or (np.nan, np.nan)
    assert small.nbytes <= small.budget_bytes
    assert 14 * 60 < newest - oldest <= 15 * 60  # the oldest went first
    t, _ = small.read(0.0, 60 * 60.0)
    assert t[0] == oldest
    assert t[-1] == newest


def test_a_clock_that_starts_again_or_other_channels_start_the_history_again() -> None:
    history = TraceHistory(chunk=4)
    history.append(np.arange(10.0), np.ones((2, 10)))
    history.append(np.arange(3.0), np.full((2, 3), 2.0))  # the stream's clock went back
    t, d = history.read(-1.0, 100.0)
    assert t.tolist() == [0.0, 1.0, 2.0]
    assert (d == 2.0).all()
    history.append(np.arange(5.0, 7.0), np.ones((3, 2)))  # three channels now
    assert history.read(-1.0, 100.0)[1].shape == (3, 2)
    history.clear()
    assert history.span() is None
    assert history.read(0.0, 1.0)[0].size == 0


def test_paging_back_and_forward_and_jumping_stay_within_what_is_kept() -> None:
    pager = Pager()
    assert not pager.reviewing
    pager.back(60.0, newest=7200.0, oldest=0.0)
    assert pager.end == 7140.0
    for _ in range(200):
        pager.back(60.0, newest=7200.0, oldest=0.0)
    assert pager.end == 60.0  # the first page kept, never before it
    pager.forward(60.0, newest=7200.0)
    assert pager.end == 120.0
    pager.jump(3000.0, 30.0, newest=7200.0)
    assert pager.end == 3020.0  # the time a third into the page
    pager.jump(7195.0, 30.0, newest=7200.0)
    assert pager.end == 7200.0
    assert pager.reviewing
    pager.live()
    assert pager.end is None
    pager.forward(60.0, newest=7200.0)  # live already: stays live
    assert not pager.reviewing
