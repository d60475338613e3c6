"""Streaming filters whose output does not depend on how the signal was cut.

All sections (high-pass, mains notch, low-pass) are cascaded into one
second-order-sections array and run with `scipy.signal.sosfilt` over whole
blocks, carrying the per-channel state `zi` from one block to the next, so
filtering in blocks of any size equals filtering the signal whole.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal

Array = NDArray[np.float64]

#: Half-width (Hz) of the mains notch's stop band.
NOTCH_HALF_WIDTH_HZ = 1.0


def design_sos(
    rate: float,
    highpass_hz: float | None,
    notch_hz: float | None,
    lowpass_hz: float | None,
    order: int,
) -> Array:
    """Second-order sections of the cascade; filters beyond Nyquist are skipped.

    Examples
    --------
    >>> design_sos(256.0, 0.5, 50.0, 70.0, 4).shape
    (6, 6)
    >>> design_sos(100.0, 0.5, 50.0, None, 4).shape  # 50 Hz is Nyquist: no notch
    (2, 6)
    """
    nyquist = rate / 2.0
    parts: list[Array] = []
    if highpass_hz is not None and highpass_hz < nyquist:
        parts.append(signal.butter(order, highpass_hz, "highpass", fs=rate, output="sos"))
    if notch_hz is not None and notch_hz + NOTCH_HALF_WIDTH_HZ < nyquist:
        band = [notch_hz - NOTCH_HALF_WIDTH_HZ, notch_hz + NOTCH_HALF_WIDTH_HZ]
        parts.append(signal.butter(2, band, "bandstop", fs=rate, output="sos"))
    if lowpass_hz is not None and lowpass_hz < nyquist:
        parts.append(signal.butter(order, lowpass_hz, "lowpass", fs=rate, output="sos"))
    if not parts:
        return np.zeros((0, 6))
    return np.asarray(np.concatenate(parts), dtype=np.float64)


class StreamingFilter:
    """A cascade of IIR sections applied to (channels, samples) blocks.

    The state starts in steady state for the first sample of each channel (as
    if the signal had always been at that value), so a DC offset does not ring
    through the high-pass at start-up or after a reset.

    Parameters
    ----------
    sos
        Second-order sections, as from `design_sos`.
    n_channels
        Number of channels filtered in parallel.

    Examples
    --------
    >>> import numpy as np
    >>> sos = design_sos(256.0, 0.5, 50.0, 70.0, 4)
    >>> x = np.random.default_rng(0).normal(size=(2, 300))
    >>> whole = StreamingFilter(sos, 2).filter(x)
    >>> f = StreamingFilter(sos, 2)
    >>> parts = np.concatenate([f.filter(x[:, :7]), f.filter(x[:, 7:])], axis=1)
    >>> bool(np.allclose(whole, parts, rtol=0, atol=1e-12))
    True
    """

    def __init__(self, sos: Array, n_channels: int) -> None:
        self.sos = sos
        self.n_channels = n_channels
        self._zi_unit = signal.sosfilt_zi(sos) if len(sos) else np.zeros((0, 2))
        self._zi: Array | None = None

    def reset(self) -> None:
        """Forget the past: the next sample starts a new signal (after a gap)."""
        self._zi = None

    def filter(self, x: Array) -> Array:
        """Filter a block of shape (channels, samples), updating the state."""
        if x.shape[1] == 0 or len(self.sos) == 0:
            return np.array(x, dtype=np.float64)
        if self._zi is None:
            self._zi = self._zi_unit[:, None, :] * x[None, :, 0, None]
        y, self._zi = signal.sosfilt(self.sos, x, axis=-1, zi=self._zi)
        if not np.isfinite(self._zi).all():  # NaN in (the detector masks them first): restart
            self._zi = None
        return np.asarray(y, dtype=np.float64)
