"""Per-channel features of one window, computed once and shared by rules, model and display.

Everything is vectorized across channels and windows: one FFT per window
and channel (`protocol.spectra`) for the band powers, the mains share, the
power above 30 Hz and the dominant peak, cumulative sums for the step
detector, and plain moments for the rest, so a window's features cost little
beside the FFT itself.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from protocol.bands import BANDS
from protocol.spectra import frequencies, periodogram, power

Array = NDArray[np.float64]

#: Range (Hz) searched for a dominant rhythm (seizure discharges are 2-20 Hz at onset).
PEAK_BAND = (2.0, 20.0)
#: Power above this (Hz), in the filtered signal, is muscle rather than brain.
HIGH_FREQUENCY_HZ = 30.0
#: The step detector compares the mean level over this long (s) before and after each sample,
STEP_LEVEL_S = 0.05
#: and requires the change to happen within this long (s): a step, not a slow swing.
STEP_RISE_S = 0.01
MAINS_HZ = (50.0, 60.0)
MAINS_HALF_WIDTH_HZ = 1.0
#: Added before taking logs, in µV²: keeps flat channels finite.
POWER_FLOOR = 1e-6


@dataclass(frozen=True)
class _SpectralPlan:
    bands: dict[str, tuple[int, int]]  # bin slices
    mains: tuple[tuple[int, int], ...]
    above_drift: int  # first bin at or above 1 Hz
    peak: tuple[int, int]
    high: int  # first bin at or above HIGH_FREQUENCY_HZ
    whitened: tuple[int, int]  # bins of 1-30 Hz, where the whitened total is taken
    freqs: Array


@lru_cache(maxsize=16)
def _spectral_plan(n: int, rate: float) -> _SpectralPlan:
    """Bin ranges, computed once per window length and rate."""
    freqs = frequencies(n, rate)

    def bins(lo: float, hi: float) -> tuple[int, int]:
        return int(np.searchsorted(freqs, lo, "left")), int(np.searchsorted(freqs, hi, "left"))

    half = MAINS_HALF_WIDTH_HZ
    return _SpectralPlan(
        bands={name: bins(lo, hi) for name, (lo, hi) in BANDS.items()},
        mains=tuple(
            (
                int(np.searchsorted(freqs, hz - half, "left")),
                int(np.searchsorted(freqs, hz + half, "right")),
            )
            for hz in MAINS_HZ
        ),
        above_drift=int(np.searchsorted(freqs, 1.0, "left")),
        peak=bins(*PEAK_BAND),
        high=int(np.searchsorted(freqs, HIGH_FREQUENCY_HZ, "left")),
        whitened=bins(1.0, 30.0),
        freqs=freqs,
    )


@dataclass(frozen=True)
class Features:
    """Features of one window, each an array of one value per channel."""

    rms: Array  # µV, filtered signal
    ptp: Array  # µV, raw signal peak to peak
    line_length: Array  # µV per sample, mean |first difference| of the filtered signal
    std: Array  # µV, raw signal
    band_power: dict[str, Array]  # log10 µV², filtered signal, one entry per BANDS key
    mains_ratio: Array  # share of unnotched power within 1 Hz of 50 or 60 Hz
    peak_hz: Array  # frequency of the largest spectral peak within PEAK_BAND
    peak_share: Array  # whitened power near that peak and its 2nd harmonic, over 1-30 Hz
    high_rms: Array  # µV, filtered power above HIGH_FREQUENCY_HZ (muscle)
    step: Array  # µV, the largest sudden and lasting level change (electrode pop)

    @property
    def n_channels(self) -> int:
        return int(self.rms.shape[-1])

    def rows(self, n_windows: int) -> Features:
        """The features of `n_windows` stacked windows: every array becomes (windows, channels)."""
        parts: dict[str, Any] = {}
        for name in _FIELD_NAMES:
            value = getattr(self, name)
            if isinstance(value, dict):
                parts[name] = {key: arr.reshape(n_windows, -1) for key, arr in value.items()}
            else:
                parts[name] = value.reshape(n_windows, -1)
        return Features(**parts)

    def windows(self) -> list[Features]:
        """Each window's features from those of stacked windows (views, no copy)."""
        columns: list[list[Any]] = []
        for name in _FIELD_NAMES:
            value = getattr(self, name)
            if isinstance(value, dict):
                keys = tuple(value)
                per_window = zip(*value.values(), strict=True)
                columns.append([dict(zip(keys, row, strict=True)) for row in per_window])
            else:
                columns.append(list(value))
        return [Features(*fields) for fields in zip(*columns, strict=True)]


_FIELD_NAMES = tuple(field.name for field in fields(Features))


def compute_features(raw_window: Array, filtered_window: Array, rate: float) -> Features:
    """Compute all features of a (channels, samples) window.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(256) / 256.0
    >>> raw = np.vstack([10 * np.sin(2 * np.pi * 10 * t), 100 * np.sin(2 * np.pi * 50 * t)])
    >>> f = compute_features(raw, raw, 256.0)
    >>> np.round(f.rms, 2).tolist(), np.round(f.mains_ratio, 2).tolist()
    ([7.07, 70.71], [0.0, 1.0])
    >>> int(np.argmax([f.band_power[b][0] for b in BANDS]))  # 10 Hz is alpha
    2
    >>> float(f.peak_hz[0]), round(float(f.peak_share[0]), 2)
    (10.0, 1.0)
    >>> step = np.where(t < 0.5, 0.0, 300.0)[None, :]
    >>> round(float(compute_features(step, step, 256.0).step[0]))
    300
    """
    n = raw_window.shape[1]
    plan = _spectral_plan(n, float(rate))
    centred = filtered_window - filtered_window.mean(axis=1, keepdims=True)
    var = (centred * centred).mean(axis=1)

    spec = power(centred)
    bands = {
        name: np.log10(spec[:, lo:hi].sum(axis=1) + POWER_FLOOR)
        for name, (lo, hi) in plan.bands.items()
    }
    peak_hz, peak_share = _dominant_peak(spec, plan)
    high = spec[:, plan.high :].copy()
    for lo, hi in plan.mains:  # mains is line_noise, not muscle
        high[:, max(lo - plan.high, 0) : max(hi - plan.high, 0)] = 0.0
    high_rms = np.sqrt(high.sum(axis=1))

    raw_centred = raw_window - raw_window.mean(axis=1, keepdims=True)
    raw_spec = periodogram(raw_centred)
    total = raw_spec[:, plan.above_drift :].sum(axis=1)
    mains = sum((raw_spec[:, lo:hi].sum(axis=1) for lo, hi in plan.mains), np.zeros(len(total)))
    ratio = np.where(total > 0, mains / np.where(total > 0, total, 1.0), 0.0)

    return Features(
        rms=np.sqrt(var),
        ptp=np.ptp(raw_window, axis=1),
        line_length=np.mean(np.abs(np.diff(filtered_window, axis=1)), axis=1),
        std=np.sqrt((raw_centred * raw_centred).mean(axis=1)),
        band_power=bands,
        mains_ratio=ratio,
        peak_hz=peak_hz,
        peak_share=peak_share,
        high_rms=high_rms,
        step=_largest_step(raw_window, rate),
    )


def compute_features_batch(raw_windows: Array, filtered_windows: Array, rate: float) -> Features:
    """Compute the features of many (windows, channels, samples) windows in one call.

    Every feature is computed along each row on its own, so stacking the
    windows' channels as rows gives each window exactly the values that
    `compute_features` gives it alone, while the fixed cost of the NumPy
    calls is paid once per batch instead of once per window. This is what
    makes an offline scan fast; live, a block rarely completes more than one
    window. The result's arrays are (windows, channels); `Features.windows`
    cuts them per window.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(scale=30.0, size=(3, 4, 256))
    >>> batch = compute_features_batch(x, x, 256.0)
    >>> alone = [compute_features(w, w, 256.0) for w in x]
    >>> all(np.array_equal(b.peak_share, a.peak_share) and np.array_equal(b.step, a.step)
    ...     for b, a in zip(batch.windows(), alone))
    True
    >>> batch.rms.shape, batch.windows()[0].n_channels
    ((3, 4), 4)
    """
    n = raw_windows.shape[-1]
    stacked = compute_features(raw_windows.reshape(-1, n), filtered_windows.reshape(-1, n), rate)
    return stacked.rows(raw_windows.shape[0])


def _dominant_peak(spec: Array, plan: _SpectralPlan) -> tuple[Array, Array]:
    """Frequency of the most prominent rhythm within PEAK_BAND, and its share of the power.

    The spectrum is whitened (times f) so the 1/f slope of background EEG has
    no peak; the share counts one bin either side of the peak and of its
    second harmonic over the whitened power of 1-30 Hz, so a spike-and-wave
    discharge (a rhythm with sharp harmonics) scores like a sine while
    broadband EEG spreads over many bins. A maximum at the band's lower edge
    is the tail of slower activity, not a rhythm: its share is 0.
    """
    lo, hi = plan.peak
    if hi - lo < 2:
        zeros = np.zeros(spec.shape[0])
        return zeros, zeros
    padded = np.zeros((spec.shape[0], spec.shape[1] + 2))  # a zero bin either side
    white = np.multiply(spec, plan.freqs[None, :], out=padded[:, 1:-1])
    w_lo, w_hi = plan.whitened
    total = white[:, w_lo:w_hi].sum(axis=1)
    peak = lo + np.argmax(white[:, lo:hi], axis=1)
    rows = np.arange(spec.shape[0])[:, None]
    around = padded[rows, peak[:, None] + np.arange(3)[None, :]].sum(axis=1)
    harmonic = np.minimum(2 * peak, spec.shape[1] - 1)
    around += padded[rows, harmonic[:, None] + np.arange(3)[None, :]].sum(axis=1)
    share = np.where(total > 0, around / np.where(total > 0, total, 1.0), 0.0)
    share = np.where(peak > lo, np.minimum(share, 1.0), 0.0)
    return plan.freqs[peak], share


def _largest_step(raw: Array, rate: float) -> Array:
    """The largest change of level that is both sudden and lasting, per channel (µV).

    At each sample, the mean over the next STEP_LEVEL_S minus the mean over the
    previous STEP_LEVEL_S (lasting) is compared with the change over STEP_RISE_S
    around it (sudden); the smaller of the two, when they agree in sign, is the
    step. A slow swing fails the first test, a spike or a sharp wave the second.
    """
    n = raw.shape[1]
    w = max(1, round(STEP_LEVEL_S * rate))
    h = min(w, max(1, round(STEP_RISE_S * rate / 2)))
    if n < 2 * w + 1:
        return np.zeros(raw.shape[0])
    csum = np.zeros((raw.shape[0], n + 1))
    np.cumsum(raw, axis=1, out=csum[:, 1:])
    # The step happens between samples at-1 and at, for every `at` in [w, n - w]:
    # contiguous slices, not fancy indexing, since this runs on every window.
    span = n - 2 * w + 1
    # level = (csum[2w:] - 2 csum[w:] + csum[:span]) / w, in place: one array, not five
    level = np.multiply(csum[:, w : w + span], 2.0)
    np.subtract(csum[:, 2 * w : 2 * w + span], level, out=level)
    level += csum[:, :span]
    level /= w
    rise = raw[:, w + h - 1 : w + h - 1 + span] - raw[:, w - h : w - h + span]
    agree = np.signbit(level) == np.signbit(rise)
    step = np.minimum(np.abs(level, out=level), np.abs(rise, out=rise), out=level)
    # A product, not np.where: a data-dependent mask makes np.where branch badly.
    step *= agree
    return np.asarray(step.max(axis=1))
