"""The spectrum of a stretch of EEG, computed one way everywhere.

The detector's band powers, the dashboard's night trends and the offline
scan's series all ask how much power each frequency carries in a segment of
signal, so they share one answer: a Hann taper (`numpy.hanning`, symmetric),
the one-sided squared magnitude of the real FFT, and one normalisation.

Segments lie along the last axis of any array, ``(n,)``, ``(channels, n)``
or ``(windows, channels, n)``; leading axes are kept. They are not
detrended here: centre them first (subtract each segment's mean), as every
caller does, or the mean leaks through the taper into the lowest bins.

One-sided means every bin but DC counts twice, for its negative-frequency
twin; the Nyquist bin of an even length counts twice too (the filtered EEG
carries nothing there, and the detector's features were always computed so).

Examples
--------
A 10 Hz sine of amplitude 10 µV has a mean power of 50 µV²; the taper
spreads it over the bins next to 10 Hz, and the band holds all of it:

>>> import numpy as np
>>> rate = 256.0
>>> t = np.arange(256) / rate
>>> x = 10.0 * np.sin(2 * np.pi * 10.0 * t)
>>> freqs = frequencies(x.size, rate)
>>> p = power(x)
>>> round(float(p[(freqs >= 8) & (freqs < 12)].sum()), 3)
50.0
>>> freqs, density = psd(x, rate)
>>> float(freqs[np.argmax(density)]), round(float(density.sum() * (freqs[1] - freqs[0])), 1)
(10.0, 50.0)

The spectrum of a longer signal is the mean of its segments' (Welch's
method without overlap):

>>> signal = np.random.default_rng(0).normal(scale=20.0, size=(2, 2600))
>>> freqs, density = psd(segments(signal, 256), rate)
>>> density.shape  # channels x segments x frequencies
(2, 10, 129)
>>> mean = density.mean(axis=1)  # white noise of 400 µV²: about 400 / (rate / 2) a hertz
>>> round(float(mean[:, 1:-1].mean() * rate / 2))
392
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


@lru_cache(maxsize=32)
def _taper(n: int) -> tuple[Array, float]:
    window = np.hanning(n)
    window.flags.writeable = False
    return window, float(np.sum(window**2))


def hann(n: int) -> Array:
    """The taper of an `n`-sample segment (read-only, shared between calls).

    >>> hann(5).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    return _taper(n)[0]


def segments(signal: Array, n: int) -> Array:
    """Consecutive `n`-sample segments of `signal` (last axis), each centred; no shorter tail.

    >>> segments(np.arange(10.0), 4).tolist()
    [[-1.5, -0.5, 0.5, 1.5], [-1.5, -0.5, 0.5, 1.5]]
    """
    count = signal.shape[-1] // n
    parts = signal[..., : count * n].reshape(*signal.shape[:-1], count, n)
    centred: Array = parts - parts.mean(axis=-1, keepdims=True)
    return centred


def frequencies(n: int, rate: float) -> Array:
    """The frequency (Hz) of each bin of an `n`-sample segment's spectrum.

    >>> frequencies(8, 8.0).tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """
    return np.asarray(np.fft.rfftfreq(n, d=1.0 / rate), dtype=np.float64)


def periodogram(segments: Array) -> Array:
    """Squared magnitude of the tapered segments' real FFT, not normalised.

    Enough for a share of power (a ratio of sums of bins), where any scale
    cancels out.

    >>> import numpy as np
    >>> x = np.sin(2 * np.pi * 10.0 * np.arange(256) / 256.0)  # 10 Hz at 256 Hz
    >>> p = periodogram(x)
    >>> round(float(p[9:12].sum() / p.sum()), 3)  # the share of 9-11 Hz
    1.0
    """
    spectrum = np.fft.rfft(segments * hann(segments.shape[-1]), axis=-1)
    return np.asarray(spectrum.real**2 + spectrum.imag**2)


def power(segments: Array) -> Array:
    """One-sided power of each bin in µV²: summed over a band, the band's mean power.

    Summed over every bin it is the mean square of the segment weighted by
    the taper, which for steady EEG is its variance.
    """
    n = segments.shape[-1]
    return _one_sided(segments, n)


def psd(segments: Array, rate: float) -> tuple[Array, Array]:
    """Power spectral density, one-sided, in µV²/Hz, and the bins' frequencies (Hz).

    The density is `power` over the bin width, `rate / n`: it does not
    depend on the segment length, so spectra of different lengths compare.
    """
    n = segments.shape[-1]
    return frequencies(n, rate), _one_sided(segments, rate)


def _one_sided(segments: Array, per: float) -> Array:
    """The periodogram over `per` times the taper's energy, every bin but DC doubled."""
    spectrum: Array = periodogram(segments) * (2.0 / (per * _taper(segments.shape[-1])[1]))
    spectrum[..., 0] *= 0.5
    return spectrum
