"""A deterministic generator of sleep EEG, in microvolts.

The signal is built block by block (four seconds of samples each, every one
with its own random generator seeded by ``(seed, block)``), and the filter
states carry over from block to block, so the samples depend only on the
seed and their index, never on how a caller chunks its requests.

What it contains, per stage of a sleep schedule (cross-faded over a few
seconds at every stage change):

- a 1/f background (about 15 µV RMS) from sources spread over the head and
  mixed by a distance kernel, so neighbouring electrodes are correlated;
- wake: posterior alpha (8-12 Hz) and blinks and saccades on the frontal
  channels;
- N1: alpha fades, central theta (4-7.5 Hz) takes over;
- N2: central sleep spindles (11-16 Hz, 0.5-2 s) and K-complexes;
- N3: frontal-dominant slow waves (0.5-2 Hz, peaks well above 75 µV);
- REM: sawtooth theta bursts and rapid eye movements on Fp1/Fp2/F7/F8.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from simulators.montage import Montage, positions
from simulators.settings import DEFAULT_SCHEDULE, STAGES, check_rate, check_seed

_BLOCK_S = 4.0  # long enough to amortise the per-block overhead
_CROSSFADE_S = 5.0
_BACKGROUND_UV = 15.0
_SENSOR_NOISE_UV = 1.5
_WARMUP_S = 8.0
_MAX_EVENT_S = 3.0
_N_SOURCES = 96
_BACKGROUND_WIDTH = 0.3

# Background gain per stage (W, N1, N2, N3, REM).
_BACKGROUND_GAIN = np.array([1.0, 1.0, 1.1, 1.3, 0.9])

# Continuous rhythms: band (Hz), anchor electrodes, spatial width (chord on the
# unit sphere), RMS µV at the anchors per stage (W, N1, N2, N3, REM).
_RHYTHMS: dict[str, tuple[tuple[float, float], tuple[str, ...], float, tuple[float, ...]]] = {
    "alpha": ((9.0, 11.0), ("O1", "Oz", "O2"), 0.45, (20.0, 5.0, 2.0, 0.0, 4.0)),
    "theta": ((4.0, 7.5), ("FC1", "Cz", "FC2"), 0.6, (3.0, 14.0, 8.0, 6.0, 10.0)),
    "delta": ((0.5, 2.0), ("AF3", "Fz", "AF4"), 0.6, (2.0, 6.0, 18.0, 55.0, 6.0)),
    "beta": ((15.0, 25.0), ("F3", "Fz", "F4"), 0.8, (4.0, 3.0, 1.5, 1.0, 3.0)),
}

# Transient events: rate per second in each stage (W, N1, N2, N3, REM).
_EVENT_RATES: dict[str, tuple[float, ...]] = {
    "spindle": (0.0, 0.0, 0.12, 0.04, 0.0),
    "k_complex": (0.0, 0.0, 0.03, 0.0, 0.0),
    "sawtooth": (0.0, 0.0, 0.0, 0.0, 0.08),
    "eye_movement": (0.2, 0.05, 0.0, 0.0, 0.5),
    "blink": (0.25, 0.02, 0.0, 0.0, 0.0),
}


def _sphere(polar_deg: float, azimuth_deg: float) -> NDArray[np.float64]:
    polar, azimuth = math.radians(polar_deg), math.radians(azimuth_deg)
    return np.array(
        [math.sin(polar) * math.cos(azimuth), math.sin(polar) * math.sin(azimuth), math.cos(polar)]
    )


# Where the eyes project onto the scalp: below and in front of Fp1/F7, Fp2/F8.
_LEFT_EYE = _sphere(100.0, 118.0)
_RIGHT_EYE = _sphere(100.0, 62.0)
_NASION = _sphere(100.0, 90.0)


def _gaussian(
    pos: NDArray[np.float64], centre: NDArray[np.float64], width: float
) -> NDArray[np.float64]:
    d2 = ((pos - centre) ** 2).sum(axis=-1)
    weight: NDArray[np.float64] = np.exp(-d2 / (2.0 * width**2))
    return weight


def _noise_gain(sos: NDArray[np.float64], n: int) -> float:
    """RMS of the filter's output for unit white noise (from its impulse response)."""
    impulse = np.zeros(n)
    impulse[0] = 1.0
    return float(np.sqrt((signal.sosfilt(sos, impulse) ** 2).sum()))


def _hemisphere(n: int) -> NDArray[np.float64]:
    """Nearly uniform points over the head (a Fibonacci spiral down to 110° polar)."""
    k = np.arange(n) + 0.5
    z = 1.0 - k / n * (1.0 - math.cos(math.radians(110.0)))
    r = np.sqrt(1.0 - z**2)
    phi = k * math.pi * (3.0 - math.sqrt(5.0))
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), z])


def parse_schedule(
    schedule: Sequence[tuple[str, float]],
) -> tuple[tuple[str, float], ...]:
    """Check a stage schedule and normalise stage names (case-insensitive)."""
    if isinstance(schedule, str | bytes) or len(schedule) == 0:
        raise ValueError(f"schedule must be a non-empty list of (stage, seconds), got {schedule!r}")
    parsed = []
    for item in schedule:
        try:
            stage, seconds = item
        except (TypeError, ValueError):
            raise ValueError(f"schedule entry {item!r} is not a (stage, seconds) pair") from None
        name = str(stage).upper()
        if name not in STAGES:
            raise ValueError(f"unknown sleep stage {stage!r}; choose one of {', '.join(STAGES)}")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError(f"stage duration {seconds!r} is not a number")
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"stage duration {seconds!r} must be a positive number of seconds")
        parsed.append((name, float(seconds)))
    return tuple(parsed)


class SleepEEG:
    """Sleep EEG for the given electrodes; ``generate`` continues where it stopped.

    Parameters
    ----------
    labels
        10-20/10-10 electrode labels; their positions shape the topographies.
    rate
        Sampling rate in Hz, 128-2048.
    seed
        The same seed gives the same samples, however they are requested.
    schedule
        ``(stage, seconds)`` pairs, repeated for ever; stages are W, N1, N2,
        N3 and REM.
    """

    def __init__(
        self,
        labels: Sequence[str],
        rate: float = 256.0,
        seed: int = 0,
        schedule: Sequence[tuple[str, float]] = DEFAULT_SCHEDULE,
    ) -> None:
        self.labels = tuple(labels)
        self.rate = check_rate(rate)
        self.seed = check_seed(seed)
        self.schedule = parse_schedule(schedule)
        self.montage: Montage = positions(self.labels)

        self._block_len = round(_BLOCK_S * self.rate)
        self._max_event = math.ceil(_MAX_EVENT_S * self.rate)
        durations = np.array([d for _, d in self.schedule])
        self._ends = np.cumsum(durations)
        self._starts = self._ends - durations
        self._cycle = float(self._ends[-1])
        self._stage_idx = np.array([STAGES.index(s) for s, _ in self.schedule])
        self._crossfade = min(_CROSSFADE_S, float(durations.min()) / 2.0)

        layout = np.random.default_rng([self.seed, 0])
        self._build_background()
        self._build_rhythms(layout)
        self._build_event_topographies()

        self._index = 0
        self._block = 0
        self._buffer = np.zeros((len(self.labels), 0), dtype=np.float32)
        self._pos = 0
        self._carry = np.zeros((len(self.labels), self._max_event))
        self._warm_up()

    @property
    def index(self) -> int:
        """How many samples have been generated so far."""
        return self._index

    def _build_background(self) -> None:
        # Paul Kellet's pink-noise filter, then a 45 Hz low-pass: EEG power falls
        # faster than 1/f above the beta band.
        b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
        a = [1.0, -2.494956002, 2.017265875, -0.522189400]
        low = signal.butter(2, min(45.0, 0.4 * self.rate), fs=self.rate, output="sos")
        self._bg_sos = np.vstack([signal.tf2sos(b, a), low])
        self._bg_scale = _BACKGROUND_UV / _noise_gain(self._bg_sos, round(60 * self.rate))
        sources = _hemisphere(_N_SOURCES)
        mix = _gaussian(self.montage.pos3d[:, None, :], sources[None, :, :], _BACKGROUND_WIDTH)
        self._bg_mix = mix / np.linalg.norm(mix, axis=1, keepdims=True)
        self._bg_zi = np.zeros((self._bg_sos.shape[0], _N_SOURCES, 2))

    def _build_rhythms(self, layout: np.random.Generator) -> None:
        self._rhythms = []
        alpha_peak = layout.uniform(-1.0, 1.0)  # each "subject" has its own alpha frequency
        for name, (band, anchors, width, gains) in _RHYTHMS.items():
            lo, hi = (band[0] + alpha_peak, band[1] + alpha_peak) if name == "alpha" else band
            sos = signal.butter(2, (lo, hi), btype="bandpass", fs=self.rate, output="sos")
            gain = _noise_gain(sos, round(60 * self.rate))
            centres = positions(anchors).pos3d + layout.normal(0.0, 0.05, (len(anchors), 3))
            topo = _gaussian(self.montage.pos3d[:, None, :], centres[None, :, :], width)
            at_anchor = _gaussian(centres.mean(axis=0)[None, :], centres, width)
            topo /= np.linalg.norm(at_anchor)
            zi = np.zeros((sos.shape[0], len(anchors), 2))
            self._rhythms.append([sos, topo / gain, np.array(gains), zi])

    def _build_event_topographies(self) -> None:
        pos = self.montage.pos3d
        anchor = positions(("Cz", "FCz", "Fz"))
        self._topo_central = _gaussian(pos, anchor.pos3d[0], 0.45)
        self._topo_frontocentral = _gaussian(pos, anchor.pos3d[1], 0.6)
        left, right = _gaussian(pos, _LEFT_EYE, 0.4), _gaussian(pos, _RIGHT_EYE, 0.4)
        self._topo_horizontal = (left - right) / max(float(np.abs(left - right).max()), 1e-9)
        self._topo_vertical = _gaussian(pos, _NASION, 0.45) / _gaussian(
            positions(("Fp1",)).pos3d, _NASION, 0.45
        )
        self._event_rates = np.array(list(_EVENT_RATES.values()))
        self._event_max_rate = self._event_rates.max(axis=1)

    def _warm_up(self) -> None:
        """Run the filters on throwaway noise so the first samples are stationary."""
        rng = np.random.default_rng([self.seed, 1])
        n = round(_WARMUP_S * self.rate)
        _, self._bg_zi = signal.sosfilt(
            self._bg_sos, rng.standard_normal((_N_SOURCES, n)), axis=1, zi=self._bg_zi
        )
        for rhythm in self._rhythms:
            sos, topo, _, zi = rhythm
            _, rhythm[3] = signal.sosfilt(
                sos, rng.standard_normal((topo.shape[1], n)), axis=1, zi=zi
            )

    def stage_weights(self, t: NDArray[np.float64]) -> NDArray[np.float64]:
        """How much of each stage (rows, in STAGES order) is present at times ``t``."""
        phase = np.mod(t, self._cycle)
        seg = np.minimum(np.searchsorted(self._ends, phase, side="right"), len(self._ends) - 1)
        fade = np.clip((phase - self._starts[seg]) / self._crossfade, 0.0, 1.0)
        fade[t < self._crossfade] = 1.0  # the night starts without a previous stage
        cols = np.arange(len(t))
        weights = np.zeros((len(STAGES), len(t)))
        np.add.at(weights, (self._stage_idx[seg], cols), fade)
        np.add.at(weights, (self._stage_idx[seg - 1], cols), 1.0 - fade)
        return weights

    def stage_at(self, seconds: float) -> str:
        """The scheduled stage at ``seconds`` from the start."""
        phase = math.fmod(seconds, self._cycle)
        seg = min(int(np.searchsorted(self._ends, phase, side="right")), len(self._ends) - 1)
        return self.schedule[seg][0]

    def generate(self, n_samples: int) -> NDArray[np.float32]:
        """The next ``n_samples`` samples, shape (n_channels, n_samples), µV."""
        if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer):
            raise ValueError(f"n_samples {n_samples!r} is not an integer")
        if n_samples < 0:
            raise ValueError(f"n_samples {n_samples!r} must be >= 0")
        out = np.empty((len(self.labels), n_samples), dtype=np.float32)
        filled = 0
        while filled < n_samples:
            if self._pos == self._buffer.shape[1]:
                self._buffer = self._next_block()
                self._pos = 0
            take = min(self._buffer.shape[1] - self._pos, n_samples - filled)
            out[:, filled : filled + take] = self._buffer[:, self._pos : self._pos + take]
            self._pos += take
            filled += take
        self._index += n_samples
        return out

    def _next_block(self) -> NDArray[np.float32]:
        n = self._block_len
        rng = np.random.default_rng([self.seed, 2, self._block])
        t = (self._block * n + np.arange(n)) / self.rate
        weights = self.stage_weights(t)

        white = rng.standard_normal((_N_SOURCES, n))
        bg, self._bg_zi = signal.sosfilt(self._bg_sos, white, axis=1, zi=self._bg_zi)
        out: NDArray[np.float64] = (self._bg_mix @ bg) * (
            self._bg_scale * (_BACKGROUND_GAIN @ weights)
        )
        for rhythm in self._rhythms:
            sos, topo, gains, zi = rhythm
            src, rhythm[3] = signal.sosfilt(
                sos, rng.standard_normal((topo.shape[1], n)), axis=1, zi=zi
            )
            out += topo @ (src * (gains @ weights))
        out += _SENSOR_NOISE_UV * rng.standard_normal(out.shape)

        acc = np.zeros((out.shape[0], n + self._max_event))
        acc[:, : self._max_event] += self._carry
        self._add_events(acc, weights, rng)
        out += acc[:, :n]
        self._carry = acc[:, n:].copy()
        self._block += 1
        return out.astype(np.float32)

    def _add_events(
        self, acc: NDArray[np.float64], weights: NDArray[np.float64], rng: np.random.Generator
    ) -> None:
        """Draw this block's transients (a thinned Poisson process per kind) into ``acc``."""
        n = weights.shape[1]
        for kind, rates, max_rate in zip(
            _EVENT_RATES, self._event_rates, self._event_max_rate, strict=True
        ):
            count = rng.poisson(max_rate * n / self.rate)
            onsets = rng.integers(0, n, count)
            keep = rng.random(count) * max_rate < rates @ weights[:, onsets]
            for onset in onsets[keep]:
                wave, topo = self._event(kind, rng)
                acc[:, onset : onset + len(wave)] += topo[:, None] * wave[None, :]

    def _event(
        self, kind: str, rng: np.random.Generator
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        rate = self.rate
        if kind == "spindle":
            length = round(rng.uniform(0.5, 2.0) * rate)
            t = np.arange(length) / rate
            freq, amp = rng.uniform(11.0, 16.0), rng.uniform(20.0, 45.0)
            wave = amp * np.hanning(length) * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6.3))
            return wave, self._topo_central
        if kind == "k_complex":
            t = np.arange(round(1.2 * rate)) / rate
            amp = rng.uniform(100.0, 200.0)
            wave = amp * (
                -np.exp(-((t - 0.3) ** 2) / (2 * 0.08**2))
                + 0.6 * np.exp(-((t - 0.7) ** 2) / (2 * 0.15**2))
            )
            return wave, self._topo_frontocentral
        if kind == "sawtooth":
            length = round(rng.uniform(1.0, _MAX_EVENT_S) * rate)
            t = np.arange(length) / rate
            freq, amp = rng.uniform(2.0, 5.0), rng.uniform(30.0, 60.0)
            wave = amp * np.hanning(length) * signal.sawtooth(2 * np.pi * freq * t, width=0.85)
            return wave, self._topo_frontocentral
        if kind == "eye_movement":
            t = np.arange(round(2.0 * rate)) / rate
            rise = np.clip(t / 0.04, 0.0, 1.0)
            shape = rise * np.exp(-np.maximum(t - 0.04, 0.0) / rng.uniform(0.3, 0.8))
            horizontal = rng.choice((-1.0, 1.0)) * rng.uniform(60.0, 160.0)
            vertical = rng.uniform(-40.0, 40.0)
            return shape, horizontal * self._topo_horizontal + vertical * self._topo_vertical
        # blink
        length = round(rng.uniform(0.3, 0.4) * rate)
        wave = rng.uniform(80.0, 150.0) * np.hanning(length)
        return wave, self._topo_vertical
