"""Resampling to YASA's 100 Hz, sample by sample, so a stream can be resampled as it comes.

YASA resamples a whole night at once (MNE's FFT resampling). Live, each
100 Hz sample is instead interpolated from the input samples within
`HALF_WIDTH_S` of it by a Kaiser-windowed sinc low-pass at 45 % of the lower
of the two rates: below YASA's 30 Hz band edge from 100 Hz up, and free of
images when a 50 Hz recording is upsampled. An output sample depends only on
its own neighbourhood, so it is the same however the stream was cut into
blocks, and any input rate works (200.08 Hz as well as 256 Hz).

Examples
--------
>>> import numpy as np
>>> rate = 50.0
>>> t = np.arange(500) / rate
>>> signal = np.sin(2 * np.pi * 5 * t)[None, :]
>>> resampler = Resampler(rate)
>>> out = resampler.outputs(signal, first_input=0, first_output=200, count=100)
>>> expected = np.sin(2 * np.pi * 5 * np.arange(200, 300) / TARGET_RATE)
>>> bool(np.abs(out[0] - expected).max() < 1e-3)
True
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

#: YASA's working rate.
TARGET_RATE = 100.0
#: Interpolation reach on each side of an output sample.
HALF_WIDTH_S = 0.5
#: Cutoff as a fraction of the lower of the input and output rates.
CUTOFF_FRACTION = 0.45
#: Kaiser window shape: about 80 dB of stop-band attenuation.
KAISER_BETA = 8.0
#: The lowest input rate accepted.
MIN_RATE = 50.0


class Resampler:
    """Interpolates 100 Hz samples from a stream sampled at `rate` Hz.

    Output sample ``j`` is at ``j / 100`` s and input sample ``i`` at ``i / rate`` s,
    both counted from the same first sample.
    """

    def __init__(self, rate: float) -> None:
        if not math.isfinite(rate) or rate < MIN_RATE:
            raise ValueError(f"sampling rate must be at least {MIN_RATE:g} Hz, got {rate!r}")
        self.rate = rate
        self.identity = rate == TARGET_RATE
        self.reach = 0 if self.identity else math.ceil(HALF_WIDTH_S * rate)
        self.cutoff = CUTOFF_FRACTION * min(rate, TARGET_RATE)

    def last_input(self, output: int) -> int:
        """The last input sample that output sample `output` needs."""
        return math.floor(output * self.rate / TARGET_RATE) + self.reach

    def complete_outputs(self, inputs: int) -> int:
        """How many output samples `inputs` input samples fully determine."""
        if inputs <= self.reach:
            return 0
        count = math.floor((inputs - self.reach) * TARGET_RATE / self.rate) + 1
        while count > 0 and self.last_input(count - 1) >= inputs:
            count -= 1
        while self.last_input(count) < inputs:
            count += 1
        return count

    def outputs(
        self,
        data: NDArray[np.float64],
        first_input: int,
        first_output: int,
        count: int,
        total_inputs: int | None = None,
    ) -> NDArray[np.float64]:
        """Output samples ``first_output ..`` (`count` of them) from `data`.

        `data` holds input samples from index `first_input` on, and must reach
        every input sample the outputs need, except past `total_inputs` (the
        end of a recording), where the interpolation uses the samples there are.
        """
        outputs = np.arange(first_output, first_output + count)
        if self.identity:
            return data[:, outputs - first_input]
        centres = outputs * (self.rate / TARGET_RATE)
        taps = np.arange(-self.reach, self.reach + 1)
        inputs = np.floor(centres).astype(np.int64)[:, None] + taps
        offsets = (centres[:, None] - inputs) / self.rate
        weights = np.sinc(2 * self.cutoff * offsets) * _kaiser(offsets / HALF_WIDTH_S)
        end = first_input + data.shape[1] if total_inputs is None else total_inputs
        weights[(inputs < 0) | (inputs >= end)] = 0.0
        weights /= weights.sum(axis=1, keepdims=True)
        rows = np.clip(inputs - first_input, 0, data.shape[1] - 1)
        resampled: NDArray[np.float64] = np.einsum("ij,cij->ci", weights, data[:, rows])
        return resampled


def _kaiser(position: NDArray[np.float64]) -> NDArray[np.float64]:
    """The Kaiser window at `position` in [-1, 1], zero outside."""
    inside = np.clip(1.0 - position**2, 0.0, None)
    window: NDArray[np.float64] = np.i0(KAISER_BETA * np.sqrt(inside)) / np.i0(KAISER_BETA)
    return np.where(np.abs(position) <= 1.0, window, 0.0)
