"""Per-channel features of one window, computed once and shared by rules and model.

Everything is vectorized across channels: one FFT per window for all band
powers, and plain moments for the rest, so a window of 64 channels costs
well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

#: Frequency bands (Hz) of the log band powers; gamma stops below the mains.
BANDS: dict[str, tuple[float, float]] = {
    "delta": (0.5, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 12.0),
    "sigma": (12.0, 16.0),
    "beta": (16.0, 30.0),
    "gamma": (30.0, 45.0),
}
MAINS_HZ = (50.0, 60.0)
MAINS_HALF_WIDTH_HZ = 1.0
#: Added before taking logs, in µV²: keeps flat channels finite.
POWER_FLOOR = 1e-6


@dataclass(frozen=True)
class _SpectralPlan:
    taper: Array
    scale: float  # summed bins of the tapered spectrum -> mean power in µV²
    bands: dict[str, tuple[int, int]]  # bin slices
    mains: tuple[tuple[int, int], ...]
    above_drift: int  # first bin at or above 1 Hz


@lru_cache(maxsize=16)
def _spectral_plan(n: int, rate: float) -> _SpectralPlan:
    """Taper and bin ranges, computed once per window length and rate."""
    taper = np.hanning(n)
    freqs = np.fft.rfftfreq(n, d=1.0 / rate)

    def bins(lo: float, hi: float) -> tuple[int, int]:
        return int(np.searchsorted(freqs, lo, "left")), int(np.searchsorted(freqs, hi, "left"))

    half = MAINS_HALF_WIDTH_HZ
    return _SpectralPlan(
        taper=taper,
        scale=2.0 / (n * float(np.sum(taper**2))),
        bands={name: bins(lo, hi) for name, (lo, hi) in BANDS.items()},
        mains=tuple(
            (
                int(np.searchsorted(freqs, hz - half, "left")),
                int(np.searchsorted(freqs, hz + half, "right")),
            )
            for hz in MAINS_HZ
        ),
        above_drift=int(np.searchsorted(freqs, 1.0, "left")),
    )


def _power(x: Array) -> Array:
    spec = np.fft.rfft(x, axis=1)
    return np.asarray(spec.real**2 + spec.imag**2)


@dataclass(frozen=True)
class Features:
    """Features of one window, each an array of one value per channel."""

    rms: Array  # µV, filtered signal
    ptp: Array  # µV, raw signal peak to peak
    line_length: Array  # µV per sample, mean |first difference| of the filtered signal
    std: Array  # µV, raw signal
    band_power: dict[str, Array]  # log10 µV², filtered signal, one entry per BANDS key
    mains_ratio: Array  # share of unnotched power within 1 Hz of 50 or 60 Hz
    kurtosis: Array  # excess kurtosis of the filtered signal (0 for Gaussian)

    @property
    def n_channels(self) -> int:
        return int(self.rms.shape[0])


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
    """
    n = raw_window.shape[1]
    plan = _spectral_plan(n, float(rate))
    centred = filtered_window - filtered_window.mean(axis=1, keepdims=True)
    squared = centred * centred
    var = squared.mean(axis=1)
    m4 = (squared * squared).mean(axis=1)
    safe_var = np.where(var > 0, var, 1.0)
    kurt = np.where(var > 0, m4 / safe_var**2 - 3.0, 0.0)

    spec = _power(centred * plan.taper) * plan.scale
    bands = {
        name: np.log10(spec[:, lo:hi].sum(axis=1) + POWER_FLOOR)
        for name, (lo, hi) in plan.bands.items()
    }

    raw_mean = raw_window.mean(axis=1, keepdims=True)
    raw_centred = raw_window - raw_mean
    raw_spec = _power(raw_centred * plan.taper)
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
        kurtosis=kurt,
    )
