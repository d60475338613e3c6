"""Validated settings of the detector.

One frozen dataclass, checked when built, so a bad value fails at start-up
with a message that quotes it rather than minutes later inside a window.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, fields
from typing import Any, cast

from protocol.kinds import KINDS

#: The registry's sustain of `seizure_suspect`, the default of `seizure_k` of `seizure_n`.
_SEIZURE_K, _SEIZURE_N = cast(tuple[int, int], KINDS["seizure_suspect"].debounce)
#: The kinds the registry latches, the default of `latch`.
_LATCHED = tuple(name for name, kind in KINDS.items() if kind.latch)


@dataclass(frozen=True)
class DetectorConfig:
    """Settings of the detector, with the defaults used at the bedside.

    Parameters
    ----------
    highpass_hz
        Cut-off of the high-pass filter that removes electrode drift (0.5).
        None disables it.
    notch_hz
        Mains frequency to notch out (50.0; 60.0 in the Americas). None disables
        it; a notch at or above the Nyquist frequency is skipped.
    lowpass_hz
        Cut-off of the low-pass filter (None means min(70, 0.45 * rate)).
    filter_order
        Butterworth order of the high- and low-pass filters (4).
    window_s
        Length of an analysis window in seconds (1.0).
    hop_s
        Time between the ends of two windows in seconds (0.5). Alert latency is
        at least `raise_k` hops.
    flatline_uv
        A channel whose raw standard deviation in a window is below this (µV) is
        flat: electrode off or amplifier fault (0.5).
    saturation_fraction
        Fraction of window samples at the window's extreme value, or beyond
        `rail_uv`, that makes a channel saturated (0.05).
    saturation_min_uv
        A channel repeatedly hitting its extreme only counts as clipping when
        that extreme is at least this far from zero (200.0 µV), so quantized
        quiet signals are not mistaken for clipping.
    rail_uv
        Absolute value (µV) beyond which a sample is at the amplifier's rail
        whatever the window's extremes (3000.0; scalp EEG stays within a few
        hundred µV, and common amplifiers rail between 3 and 400 mV, so this
        is a conservative floor).
    line_noise_ratio
        Share of the unfiltered power within 1 Hz of 50 or 60 Hz above which
        mains interference dominates a channel (0.5; EEG through electrodes
        in good contact carries a small fraction of that).
    pop_step_uv
        A level change of at least this many µV that happens within 10 ms and
        lasts 50 ms is an electrode pop (150.0; the steepest physiological
        waves, K-complexes and spikes, either rise more slowly or do not last,
        so their steps stay well below).
    artifact_ptp_uv
        A raw peak-to-peak above this (µV) within one window, without a
        dominant rhythm, is a movement artifact (500.0; slow waves are
        75-250 µV, and eye movements and K-complexes on top of them stay
        below).
    muscle_uv
        RMS (µV) of the filtered signal above 30 Hz, mains excluded, above
        which a channel carries a muscle artifact (15.0; EEG above 30 Hz is a
        few µV, muscle bursts tens).
    raise_k, raise_n
        A channel enters a condition when `raise_k` of its last `raise_n`
        windows are flagged (2 of 3). An electrode pop, a one-off event,
        raises on its first window.
    clear_m
        A channel leaves a condition after `clear_m` consecutive clean windows (3).
    refractory_s
        An alert lasts at least this long (s), so a condition that comes and
        goes gives at most one alert per period (10.0).
    upgrade_after_s
        An unacknowledged medium alert whose condition lasts this long (s)
        becomes high and latches (300.0). None disables the upgrade.
    latch
        Kinds whose alerts stay until acknowledged after their condition ends
        (the kinds `protocol.kinds` marks `latch`: ``("signal_lost",
        "seizure_suspect", "recording_failed")``; upgraded alerts latch
        too). A stream lost for a minute at 3 a.m. and back by itself, or a
        recording that failed and resumed, leaves a hole in the night that
        someone must see.
    seizure_peak_share
        Share of the (whitened) 1-30 Hz power in the dominant 2-20 Hz rhythm
        and its harmonic above which a channel is rhythmic (0.5; background
        EEG, whose power spreads over many frequencies, stays below).
    seizure_amplitude_ratio
        RMS over the channel's learned baseline RMS above which activity is
        high-amplitude (2.0).
    seizure_line_length_ratio
        Line length over the channel's learned baseline above which
        high-amplitude activity is sharper than usual, and counts towards a
        seizure even without one dominant rhythm (2.0: double, like the
        amplitude; slow-wave sleep doubles the amplitude but not the line
        length).
    seizure_alpha_ratio
        A dominant rhythm of 8-13 Hz counts as rhythmic only at this many
        times the channel's usual RMS (3.0): the waking alpha rhythm returns
        on every arousal at about twice the amplitude of the sleep the
        baseline learned, and would otherwise read as a rhythmic discharge.
        An alpha-band discharge that is also sharper than usual counts at
        `seizure_amplitude_ratio` like any other.
    seizure_strong_ratio
        Amplitude, and line length unless rhythmic, at this many times the
        channel's usual (3.0) make strong evidence, raised after
        `seizure_strong_k` of the last `seizure_strong_n` windows instead of
        `seizure_k` of `seizure_n`.
    anomaly_clear_s
        An `anomaly` ends after this long (s) without an anomalous window
        (10.0), not after `clear_m` windows: it is a state of the whole
        stream, and a new one (the first slow-wave sleep of the night) comes
        and goes for a while before the model has learned it; ending it at
        once would raise a new alert at each return.
    seizure_k, seizure_n
        `seizure_suspect` is raised when a channel is high-amplitude and
        rhythmic or sharper than usual in `seizure_k` of its last `seizure_n`
        windows (by default the registry's sustain of the kind, 8 of 10: 4 s
        of a 5 s span at the default hop, longer than spindles, K-complexes
        and muscle bursts), and clears after `clear_m` windows without.
    seizure_strong_k, seizure_strong_n
        The shorter sustain of strong evidence (5 of 6: 2.5 s of 3 s, longer
        than the 2 s bursts of movement that a sleep recording shows at ten
        times its usual amplitude); `seizure_strong_n` is at most `seizure_n`.
    sleep_seizure_k, sleep_seizure_n
        Once the stream is staged (`Detector.stage`), `seizure_suspect` and
        `anomaly` are raised after `sleep_seizure_k` of `sleep_seizure_n`
        windows (24 of 30: 12 s within 15 s), strong evidence included:
        longer than an arousal (3 to 15 s) or a body movement, which are
        normal in the night and raise amplitude, line length and the whole
        spectrum as suddenly as a seizure does. docs/detection.md tells how
        it was chosen.
    sleep_movement_ratio
        Once the stream is staged, a channel at this many times its stage's
        usual amplitude (10.0) is moving, not seizing, and is no evidence of
        a seizure: body movements in bed reach 10 to 20 times for as long as
        15 s, while the stages span two to three times and scalp seizures
        mostly two to five. docs/detection.md tells how it was chosen.
    memory_s
        Seconds of learned (clean) windows that each channel's amplitude
        baseline and the model's statistics cover (600.0): they follow sleep
        stages, reaching halfway to a new level after half of it, and depend
        on nothing older, so a long recording scanned in segments gives the
        alerts of one pass. The anomaly threshold is the quantile of the
        scores of as many learned windows (at least `10 / (1 - q)`).
    warmup_windows
        Windows learned before the model may raise `anomaly` and before
        `seizure_suspect` (whose amplitude test needs a baseline) may be
        raised (60, i.e. 30 s at the default hop).
    anomaly_quantile
        Quantile of the scores of learned windows above which a window is
        anomalous, before the margin (0.99).
    anomaly_margin
        Factor on that quantile (2.0): overlapping windows make scores
        correlated, so the bare quantile lets runs of healthy windows
        through, often enough to alarm every few minutes. docs/detection.md tells
        how 2.0 was chosen.
    """

    highpass_hz: float | None = 0.5
    notch_hz: float | None = 50.0
    lowpass_hz: float | None = None
    filter_order: int = 4
    window_s: float = 1.0
    hop_s: float = 0.5
    flatline_uv: float = 0.5
    saturation_fraction: float = 0.05
    saturation_min_uv: float = 200.0
    rail_uv: float = 3000.0
    line_noise_ratio: float = 0.5
    pop_step_uv: float = 150.0
    artifact_ptp_uv: float = 500.0
    muscle_uv: float = 15.0
    raise_k: int = 2
    raise_n: int = 3
    clear_m: int = 3
    refractory_s: float = 10.0
    upgrade_after_s: float | None = 300.0
    latch: tuple[str, ...] = _LATCHED
    seizure_peak_share: float = 0.5
    seizure_amplitude_ratio: float = 2.0
    seizure_line_length_ratio: float = 2.0
    seizure_alpha_ratio: float = 3.0
    seizure_strong_ratio: float = 3.0
    anomaly_clear_s: float = 10.0
    seizure_k: int = _SEIZURE_K
    seizure_n: int = _SEIZURE_N
    seizure_strong_k: int = 5
    seizure_strong_n: int = 6
    sleep_seizure_k: int = 24
    sleep_seizure_n: int = 30
    sleep_movement_ratio: float = 10.0
    memory_s: float = 600.0
    warmup_windows: int = 60
    anomaly_quantile: float = 0.99
    anomaly_margin: float = 2.0

    def __post_init__(self) -> None:
        for name in ("highpass_hz", "notch_hz", "lowpass_hz", "upgrade_after_s"):
            value = getattr(self, name)
            if value is not None:
                _positive(name, value)
        for name in (
            "window_s",
            "hop_s",
            "flatline_uv",
            "saturation_min_uv",
            "rail_uv",
            "pop_step_uv",
            "artifact_ptp_uv",
            "muscle_uv",
            "seizure_amplitude_ratio",
            "seizure_line_length_ratio",
            "seizure_alpha_ratio",
            "seizure_strong_ratio",
            "sleep_movement_ratio",
            "anomaly_clear_s",
            "memory_s",
            "anomaly_margin",
        ):
            _positive(name, getattr(self, name))
        if not (_is_number(self.refractory_s) and 0 <= self.refractory_s < math.inf):
            raise ValueError(f"refractory_s must be a number >= 0, got {self.refractory_s!r}")
        unknown = [k for k in self.latch if k not in KINDS] if isinstance(self.latch, tuple) else 0
        if not isinstance(self.latch, tuple) or unknown:
            raise ValueError(f"latch must list alert kinds, got {self.latch!r}")
        for name in (
            "saturation_fraction",
            "line_noise_ratio",
            "anomaly_quantile",
            "seizure_peak_share",
        ):
            value = getattr(self, name)
            if not (_is_number(value) and 0.0 < value < 1.0):
                raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
        for name in (
            "filter_order",
            "raise_k",
            "raise_n",
            "clear_m",
            "seizure_k",
            "seizure_n",
            "seizure_strong_k",
            "seizure_strong_n",
            "sleep_seizure_k",
            "sleep_seizure_n",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not (isinstance(self.warmup_windows, int) and self.warmup_windows >= 0):
            raise ValueError(f"warmup_windows must be an integer >= 0, got {self.warmup_windows!r}")
        if self.raise_k > self.raise_n:
            raise ValueError(f"raise_k ({self.raise_k!r}) cannot exceed raise_n ({self.raise_n!r})")
        if self.seizure_k > self.seizure_n:
            raise ValueError(
                f"seizure_k ({self.seizure_k!r}) cannot exceed seizure_n ({self.seizure_n!r})"
            )
        if self.sleep_seizure_k > self.sleep_seizure_n:
            raise ValueError(
                f"sleep_seizure_k ({self.sleep_seizure_k!r}) cannot exceed "
                f"sleep_seizure_n ({self.sleep_seizure_n!r})"
            )
        if not self.seizure_strong_k <= self.seizure_strong_n <= self.seizure_n:
            raise ValueError(
                f"seizure_strong_k ({self.seizure_strong_k!r}) <= seizure_strong_n "
                f"({self.seizure_strong_n!r}) <= seizure_n ({self.seizure_n!r}) does not hold"
            )
        if self.hop_s > self.window_s:
            raise ValueError(
                f"hop_s ({self.hop_s!r}) cannot exceed window_s ({self.window_s!r}): "
                "samples between windows would never be analysed"
            )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DetectorConfig:
        """Build from a mapping (e.g. a TOML table); unknown keys are errors.

        Examples
        --------
        >>> DetectorConfig.from_dict({"notch_hz": 60}).notch_hz
        60
        >>> DetectorConfig.from_dict({"notch": 60})
        Traceback (most recent call last):
        ...
        ValueError: unknown detector setting 'notch'
        """
        known = {f.name for f in fields(cls)}
        for key in d:
            if key not in known:
                raise ValueError(f"unknown detector setting {key!r}")
        if isinstance(d.get("latch"), list):  # TOML arrays arrive as lists
            d = {**d, "latch": tuple(d["latch"])}
        return cls(**d)

    def fingerprint(self) -> str:
        """16 hex digits that change with any setting: a model state is only for its config.

        Numbers count by value (60 and 60.0 are one notch).

        Examples
        --------
        >>> usual = DetectorConfig().fingerprint()
        >>> DetectorConfig.from_dict({"notch_hz": 50}).fingerprint() == usual
        True
        >>> DetectorConfig(hop_s=0.25).fingerprint() == usual
        False
        """
        settings = {
            f.name: float(v) if _is_number(v) else v
            for f in fields(self)
            for v in [getattr(self, f.name)]
        }
        text = json.dumps(settings, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def memory_windows(self) -> int:
        """Learned windows in the model's and the baseline's memory: `memory_s` in hops.

        Examples
        --------
        >>> DetectorConfig().memory_windows()
        1200
        """
        return max(1, round(self.memory_s / self.hop_s))

    def threshold_memory(self) -> int:
        """Learned scores the anomaly threshold's quantile covers.

        As many as the model's memory, and at least `10 / (1 - q)`, so the
        quantile rests on ten scores beyond it, not on the largest one.

        Examples
        --------
        >>> DetectorConfig().threshold_memory(), DetectorConfig(memory_s=60).threshold_memory()
        (1200, 1000)
        """
        return max(self.memory_windows(), math.ceil(10.0 / (1.0 - self.anomaly_quantile) - 1e-9))

    def anomaly_clear_m(self) -> int:
        """Clean windows that end an `anomaly`: `anomaly_clear_s` in hops, at least `clear_m`.

        Examples
        --------
        >>> DetectorConfig().anomaly_clear_m()
        20
        """
        return max(self.clear_m, math.ceil(self.anomaly_clear_s / self.hop_s - 1e-9))

    def lowpass_for(self, rate: float) -> float:
        """The low-pass cut-off used at `rate`: the configured one or the default."""
        return self.lowpass_hz if self.lowpass_hz is not None else min(70.0, 0.45 * rate)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive(name: str, value: object) -> None:
    if not (_is_number(value) and math.isfinite(value) and value > 0):  # type: ignore[arg-type,operator]
        raise ValueError(f"{name} must be a positive number, got {value!r}")
