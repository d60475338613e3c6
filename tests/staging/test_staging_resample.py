"""Resampling to 100 Hz from 50 Hz up, the same however the stream is cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.signal
from numpy.typing import NDArray

from benchmarks.staging import read_dreams
from staging import LiveStager, accuracy, stage_recording
from staging.resample import TARGET_RATE, Resampler


def sine(rate: float, freq: float, seconds: float = 20.0) -> NDArray[np.float64]:
    times = np.arange(int(seconds * rate)) / rate
    tone: NDArray[np.float64] = np.sin(2 * np.pi * freq * times)[None, :]
    return tone


@pytest.mark.parametrize(("rate", "freq"), [(50.0, 1.0), (50.0, 12.0), (50.0, 20.0), (256.0, 30.0)])
def test_a_tone_in_the_pass_band_comes_out_unchanged(rate: float, freq: float) -> None:
    resampler = Resampler(rate)
    out = resampler.outputs(sine(rate, freq), 0, first_output=200, count=1000)
    expected = sine(TARGET_RATE, freq)[:, 200:1200]
    assert np.abs(out - expected).max() < 2e-3


def test_a_tone_above_the_new_nyquist_is_removed_not_folded_into_the_eeg_bands() -> None:
    out = Resampler(200.08).outputs(sine(200.08, 70.0), 0, first_output=200, count=1000)
    assert np.abs(out).max() < 1e-3


def test_outputs_are_the_same_however_the_input_is_cut() -> None:
    rate = 200.08
    data = np.random.default_rng(1).normal(size=(2, 4000))
    resampler = Resampler(rate)
    whole = resampler.outputs(data, 0, 100, 1500)
    parts = [resampler.outputs(data[:, 900:], 900, start, 100) for start in range(600, 1600, 100)]
    assert np.array_equal(np.hstack(parts), whole[:, 500:])
    assert resampler.last_input(resampler.complete_outputs(4000) - 1) < 4000
    assert resampler.last_input(resampler.complete_outputs(4000)) >= 4000


def test_a_rate_below_50_hz_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 50 Hz, got 40"):
        LiveStager(["C4-M1"], 40.0)


def test_a_50_hz_recording_is_staged_almost_as_at_its_own_200_hz(test_data: Path) -> None:
    data, rate, labels, expert = read_dreams(test_data, 8)
    at_50 = scipy.signal.resample_poly(data, 1, round(rate / 50), axis=1).astype(np.float32)
    own = [epoch.stage for epoch in stage_recording(data, labels, rate).final]
    low = [epoch.stage for epoch in stage_recording(at_50, labels, 50.0).final]
    assert len(low) == len(own) == len(expert)
    assert accuracy(own, low) >= 0.8
    assert accuracy(expert, low) >= 0.75
