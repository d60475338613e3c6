"""Per-channel features of one window, computed once and shared by rules and model.

Everything is vectorized across channels: one FFT per window for all band
powers, and plain moments for the rest, so a window of 64 channels costs
well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    centred = filtered_window - filtered_window.mean(axis=1, keepdims=True)
    var = np.mean(centred**2, axis=1)
    m4 = np.mean(centred**4, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kurt = np.where(var > 0, m4 / np.where(var > 0, var, 1.0) ** 2 - 3.0, 0.0)

    taper = np.hanning(n)
    freqs = np.fft.rfftfreq(n, d=1.0 / rate)
    # Scale so that summed bins give mean power (µV²) for the filtered spectrum.
    scale = 2.0 / (rate * np.sum(taper**2)) * (rate / n)
    spec = np.abs(np.fft.rfft(centred * taper, axis=1)) ** 2 * scale
    bands = {}
    for name, (lo, hi) in BANDS.items():
        sel = (freqs >= lo) & (freqs < hi)
        bands[name] = np.log10(spec[:, sel].sum(axis=1) + POWER_FLOOR)

    raw_centred = raw_window - raw_window.mean(axis=1, keepdims=True)
    raw_spec = np.abs(np.fft.rfft(raw_centred * taper, axis=1)) ** 2
    above_drift = freqs >= 1.0
    mains = np.zeros_like(freqs, dtype=bool)
    for hz in MAINS_HZ:
        mains |= np.abs(freqs - hz) <= MAINS_HALF_WIDTH_HZ
    total = raw_spec[:, above_drift].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total > 0, raw_spec[:, mains].sum(axis=1) / total, 0.0)

    return Features(
        rms=np.sqrt(var),
        ptp=np.ptp(raw_window, axis=1),
        line_length=np.mean(np.abs(np.diff(filtered_window, axis=1)), axis=1),
        std=raw_window.std(axis=1),
        band_power=bands,
        mains_ratio=ratio,
        kurtosis=kurt,
    )
