import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from simulators.eeg import DEFAULT_SCHEDULE, SleepEEG
from simulators.montage import MONTAGES

RATE = 256.0
LABELS = MONTAGES[19]


def row(name):
    return LABELS.index(name)


@pytest.fixture(scope="module")
def night():
    """One compressed night cycle of the default schedule (8 minutes)."""
    gen = SleepEEG(LABELS, RATE, seed=7)
    return gen, gen.generate(int(480 * RATE)).astype(np.float64)


def band_power(x, lo, hi):
    freqs, psd = signal.welch(x, RATE, nperseg=int(4 * RATE), axis=-1)
    return psd[..., (freqs >= lo) & (freqs < hi)].sum(axis=-1)


def segment(data, start_s, end_s):
    return data[:, int(start_s * RATE) : int(end_s * RATE)]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 700), min_size=1, max_size=8))
def test_same_seed_same_samples_whatever_the_chunking(sizes):
    total = sum(sizes)
    reference = SleepEEG(LABELS[:8], 128.0, seed=3).generate(total)
    gen = SleepEEG(LABELS[:8], 128.0, seed=3)
    pieces = np.concatenate([gen.generate(n) for n in sizes], axis=1)
    np.testing.assert_array_equal(pieces, reference)
    assert gen.index == total


def test_output_shape_dtype_and_seed_dependence():
    a = SleepEEG(LABELS, RATE, seed=1).generate(1000)
    b = SleepEEG(LABELS, RATE, seed=2).generate(1000)
    assert a.shape == (19, 1000)
    assert a.dtype == np.float32
    assert np.isfinite(a).all()
    assert not np.allclose(a, b)
    assert SleepEEG(LABELS, RATE).generate(0).shape == (19, 0)


def test_default_schedule_is_a_compressed_night(night):
    gen, _ = night
    assert DEFAULT_SCHEDULE[0] == ("W", 60.0)
    stages = [gen.stage_at(t) for t in (10, 70, 100, 250, 380, 430, 490)]
    assert stages == ["W", "N1", "N2", "N3", "N2", "REM", "W"]  # and it repeats


def test_background_amplitude_is_eeg_like(night):
    _, data = night
    sd = segment(data, 100, 200)[[row("C3"), row("Pz"), row("T7")]].std(axis=1)
    assert ((sd > 10) & (sd < 45)).all(), sd


def test_wake_has_posterior_alpha(night):
    _, data = night
    wake, n2 = segment(data, 5, 55), segment(data, 100, 200)
    o1 = row("O1")
    assert band_power(wake[o1], 8, 12) > 4 * band_power(n2[o1], 8, 12)
    # posterior dominant
    assert band_power(wake[o1], 8, 12) > 2 * band_power(wake[row("Fz")], 8, 12)


def test_n1_has_more_theta_than_wake(night):
    _, data = night
    cz = row("Cz")
    assert band_power(segment(data, 65, 90)[cz], 4, 7.5) > 2 * band_power(
        segment(data, 5, 55)[cz], 4, 7.5
    )


def test_n2_has_central_spindles(night):
    _, data = night
    cz = row("Cz")
    n2, rem = segment(data, 95, 205), segment(data, 400, 475)
    assert band_power(n2[cz], 11, 16) > 2 * band_power(rem[cz], 11, 16)


def test_n3_slow_waves_are_large_and_frontal(night):
    _, data = night
    n3 = segment(data, 215, 325)
    low = signal.sosfiltfilt(signal.butter(2, (0.5, 2.0), "bandpass", fs=RATE, output="sos"), n3)
    fz = low[row("Fz")]
    # peak-to-peak of slow waves, per 2 s window, well above 75 µV
    p2p = np.ptp(fz[: len(fz) // 512 * 512].reshape(-1, 512), axis=1)
    assert np.median(p2p) > 75
    assert band_power(n3[row("Fz")], 0.5, 2) > 2 * band_power(n3[row("O1")], 0.5, 2)


def test_rem_eye_movements_are_frontal_and_opposite_on_f7_f8(night):
    _, data = night
    rem = segment(data, 400, 475)
    low = signal.sosfiltfilt(signal.butter(2, 2.0, fs=RATE, output="sos"), rem)
    f7, f8 = low[row("F7")], low[row("F8")]
    assert np.corrcoef(f7, f8)[0, 1] < -0.3
    assert f7.std() > 2 * low[row("O1")].std()


def test_neighbours_correlate_more_than_distant_electrodes(night):
    _, data = night
    n2 = segment(data, 100, 200)
    c = np.corrcoef(n2)
    assert c[row("C3"), row("P3")] > c[row("C3"), row("O2")] + 0.15
    assert c[row("O1"), row("O2")] > 0.3


def test_unknown_stage_rate_and_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="'N4'"):
        SleepEEG(LABELS, RATE, schedule=[("N4", 30)])
    with pytest.raises(ValueError, match="-5"):
        SleepEEG(LABELS, RATE, schedule=[("N2", -5)])
    for rate in (100.0, 4096.0):
        with pytest.raises(ValueError, match=f"{rate!r}"):
            SleepEEG(LABELS, rate)
    with pytest.raises(ValueError, match="-1"):
        SleepEEG(LABELS, RATE, seed=-1)
    with pytest.raises(ValueError, match=r"2\.5"):
        SleepEEG(LABELS, RATE).generate(2.5)


@pytest.mark.parametrize(("n_channels", "rate"), [(19, 256.0), (64, 1000.0)])
def test_generation_is_much_faster_than_real_time(n_channels, rate):
    gen = SleepEEG(MONTAGES[n_channels], rate, seed=0)
    start = time.process_time()
    gen.generate(int(60 * rate))
    elapsed = time.process_time() - start
    assert elapsed < 60 / 10, f"60 s of signal took {elapsed:.2f} s of CPU"
