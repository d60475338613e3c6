"""What scenario events do to the samples.

Every effect is a function of the absolute sample index (random parts are
seeded per event and per second), so a block gets the same values whatever
its size and wherever a chunk boundary falls: the ground truth is exact.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from simulators.montage import positions
from simulators.scenario import (
    Artifact,
    BadValues,
    ChannelEvent,
    ElectrodePop,
    Event,
    Flatline,
    LineNoise,
    Saturation,
    Seizure,
)

# Order of application: additive signals first, then what the amplifier does
# to the sum (clipping), then what replaces it (a dead electrode, bad values).
_ORDER = {
    "line_noise": 0,
    "electrode_pop": 0,
    "artifact": 0,
    "seizure": 0,
    "saturation": 1,
    "flatline": 2,
    "bad_values": 3,
}
#: A seizure's spread: the channels it reaches, their delay (s) and relative amplitude.
Spread = tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]
#: What `Effects.apply` does for one event: order, number, event, first and end sample, rows.
Plan = tuple[int, int, ChannelEvent, int, int, NDArray[np.intp], Spread | None]
_SPACING = 0.5  # chord distance between neighbouring 10-20 electrodes on the unit sphere
_MUSCLE_BAND = (20.0, 100.0)


def _smoothstep(x: NDArray[np.float64]) -> NDArray[np.float64]:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _spike_wave_shape() -> tuple[float, float]:
    """Mean and peak of the raw spike-and-wave cycle, to centre and normalise it."""
    phase = np.linspace(0.0, 2 * np.pi, 4096, endpoint=False)
    raw = _raw_spike_wave(phase)
    return float(raw.mean()), float(np.abs(raw - raw.mean()).max())


def _raw_spike_wave(phase: NDArray[np.float64]) -> NDArray[np.float64]:
    spike = np.exp(12.0 * (np.cos(phase) - 1.0))
    wave = np.exp(1.5 * (np.cos(phase - 2.2) - 1.0))
    return -(spike - 0.5 * wave)  # surface spikes are negative at the focus


_SW_MEAN, _SW_PEAK = _spike_wave_shape()


class Effects:
    """Applies a scenario's channel events to blocks of generated samples."""

    def __init__(
        self, events: tuple[Event, ...], labels: tuple[str, ...], rate: float, seed: int
    ) -> None:
        self.rate = rate
        self.seed = seed
        index = {label: i for i, label in enumerate(labels)}
        self._plans: list[Plan] = []
        for number, event in enumerate(events):
            if not isinstance(event, ChannelEvent):
                continue
            start = round(event.at * rate)
            end = round(event.end * rate)
            rows = np.array([index[ch] for ch in event.channels])
            extra = self._seizure_plan(event, labels) if isinstance(event, Seizure) else None
            if extra is not None:
                rows = extra[0]
            self._plans.append((_ORDER[event.kind], number, event, start, end, rows, extra))
        self._plans.sort(key=lambda plan: plan[0])
        self._muscle_cache: dict[int, tuple[int, NDArray[np.float64]]] = {}

    @staticmethod
    def _seizure_plan(event: Seizure, labels: tuple[str, ...]) -> Spread:
        """Channels reached, with their delay (s) and relative amplitude."""
        pos = positions(labels).pos3d
        starts = pos[[labels.index(ch) for ch in event.channels]]
        steps = np.sqrt(((pos[:, None, :] - starts[None, :, :]) ** 2).sum(-1)).min(1) / _SPACING
        rows = np.flatnonzero(steps <= event.spread)
        gain = 1.0 - 0.5 * steps[rows] / max(event.spread, 1e-9)
        return rows, steps[rows] * event.spread_s, gain

    def apply(self, data: NDArray[np.float32], first_index: int) -> None:
        """Modify ``data`` (channels × samples, starting at ``first_index``) in place."""
        n = data.shape[1]
        for _, number, event, start, end, rows, extra in self._plans:
            lo, hi = max(start, first_index), min(end, first_index + n)
            if lo >= hi:
                continue
            cols = slice(lo - first_index, hi - first_index)
            idx = np.arange(lo, hi)
            t = (idx - start) / self.rate
            if isinstance(event, Flatline):
                data[rows, cols] = event.value_uv
            elif isinstance(event, BadValues):
                data[rows, cols] = np.nan
            elif isinstance(event, Saturation):
                data[rows, cols] = np.clip(
                    data[rows, cols] * event.gain, -event.rail_uv, event.rail_uv
                )
            elif isinstance(event, LineNoise):
                mains = event.amplitude_uv * np.sin(
                    2 * np.pi * event.frequency_hz * idx / self.rate
                )
                data[rows, cols] += mains.astype(np.float32)
            elif isinstance(event, ElectrodePop):
                span = event.duration / event.decay_s
                decay = (np.exp(-t / event.decay_s) - math.exp(-span)) / (1 - math.exp(-span))
                data[rows, cols] += (event.amplitude_uv * decay).astype(np.float32)
            elif isinstance(event, Artifact):
                wave = self._artifact(number, event, len(rows), t, lo - start)
                data[rows, cols] += wave.astype(np.float32)
            elif isinstance(event, Seizure) and extra is not None:
                data[rows, cols] += self._seizure(event, extra, t).astype(np.float32)

    def _taper(self, t: NDArray[np.float64], duration: float) -> NDArray[np.float64]:
        ramp = min(0.5, duration / 4)
        return _smoothstep(t / ramp) * _smoothstep((duration - t) / ramp)

    def _artifact(
        self, number: int, event: Artifact, n_rows: int, t: NDArray[np.float64], offset: int
    ) -> NDArray[np.float64]:
        taper = self._taper(t, event.duration)
        if event.type == "movement":
            rng = np.random.default_rng([self.seed, 3, number])
            freq = rng.uniform(0.3, 1.5, (n_rows, 2))
            phase = rng.uniform(0, 2 * np.pi, (n_rows, 2))
            swing = 0.7 * np.sin(2 * np.pi * freq[:, :1] * t + phase[:, :1]) + 0.3 * np.sin(
                2 * np.pi * freq[:, 1:] * t + phase[:, 1:]
            )
            return (event.amplitude_uv or 300.0) * taper * swing
        block = round(self.rate)
        parts = [
            self._muscle_block(number, n_rows, b)[:, max(offset - b * block, 0) :]
            for b in range(offset // block, (offset + len(t) - 1) // block + 1)
        ]
        noise = np.concatenate(parts, axis=1)[:, : len(t)]
        return (event.amplitude_uv or 60.0) * taper * noise

    def _muscle_block(self, number: int, n_rows: int, block: int) -> NDArray[np.float64]:
        """One second of unit-RMS 20-100 Hz noise, seeded by event and second."""
        cached = self._muscle_cache.get(number)
        if cached is None or cached[0] != block:
            n = round(self.rate)
            rng = np.random.default_rng([self.seed, 4, number, block])
            shape = (n_rows, n // 2 + 1)
            spectrum = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
            freqs = np.fft.rfftfreq(n, 1.0 / self.rate)
            band = (freqs >= _MUSCLE_BAND[0]) & (freqs <= min(_MUSCLE_BAND[1], 0.45 * self.rate))
            noise = np.fft.irfft(spectrum * band, n)
            cached = (block, noise / noise.std(axis=1, keepdims=True))
            self._muscle_cache[number] = cached
        return cached[1]

    def _seizure(
        self,
        event: Seizure,
        plan: Spread,
        t: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        _, delay, gain = plan
        span = event.duration
        phase = (
            2 * np.pi * (event.start_hz * t + (event.end_hz - event.start_hz) * t**2 / (2 * span))
        )
        morph = _smoothstep(t / (0.6 * span))
        spike_wave = (_raw_spike_wave(phase) - _SW_MEAN) / _SW_PEAK
        shape = (1 - morph) * np.sin(phase) + morph * spike_wave
        local = t[None, :] - delay[:, None]
        growth = 0.1 + 0.9 * _smoothstep(local / (0.4 * span))
        onset = _smoothstep(local / 0.5)
        ending = _smoothstep((span - t) / 0.3)
        amplitude = event.amplitude_uv * gain[:, None] * growth * onset * ending[None, :]
        return amplitude * shape[None, :]
