"""Validated settings of the detector.

One frozen dataclass, checked when built, so a bad value fails at start-up
with a message that quotes it rather than minutes later inside a window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Literal

ModelName = Literal["deviation", "hst"]


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
        mains interference dominates a channel (0.5; realistic EEG measures
        below 0.05).
    raise_k, raise_n
        A channel enters a condition when `raise_k` of its last `raise_n`
        windows are flagged (2 of 3).
    clear_m
        A channel leaves a condition after `clear_m` consecutive clean windows (3).
    warmup_windows
        Windows the model learns from before it may raise `anomaly` (60, i.e.
        30 s at the default hop).
    model
        Anomaly scorer: "deviation" (per-feature robust z-scores, the default:
        it separated seizures from healthy EEG best on the Bonn set) or "hst"
        (river's HalfSpaceTrees behind a MinMaxScaler).
    anomaly_quantile
        Quantile of the scores of learned windows above which a window is
        anomalous, before the margin (0.99).
    anomaly_margin
        Factor on that quantile (None means 1.5 for "deviation", 1.03 for
        "hst", whose scores never exceed 1): overlapping windows make scores
        correlated, so the bare quantile alarmed every minute or so on
        synthetic healthy EEG; with these margins, none in 30 minutes.
    seed
        Seed of the model's randomness (42); equal seeds give equal alerts.
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
    raise_k: int = 2
    raise_n: int = 3
    clear_m: int = 3
    warmup_windows: int = 60
    model: ModelName = "deviation"
    anomaly_quantile: float = 0.99
    anomaly_margin: float | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("highpass_hz", "notch_hz", "lowpass_hz", "anomaly_margin"):
            value = getattr(self, name)
            if value is not None:
                _positive(name, value)
        for name in ("window_s", "hop_s", "flatline_uv", "saturation_min_uv", "rail_uv"):
            _positive(name, getattr(self, name))
        for name in ("saturation_fraction", "line_noise_ratio", "anomaly_quantile"):
            value = getattr(self, name)
            if not (_is_number(value) and 0.0 < value < 1.0):
                raise ValueError(f"{name} must be strictly between 0 and 1, got {value!r}")
        for name in ("filter_order", "raise_k", "raise_n", "clear_m"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not (isinstance(self.warmup_windows, int) and self.warmup_windows >= 0):
            raise ValueError(f"warmup_windows must be an integer >= 0, got {self.warmup_windows!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if self.raise_k > self.raise_n:
            raise ValueError(f"raise_k ({self.raise_k!r}) cannot exceed raise_n ({self.raise_n!r})")
        if self.hop_s > self.window_s:
            raise ValueError(
                f"hop_s ({self.hop_s!r}) cannot exceed window_s ({self.window_s!r}): "
                "samples between windows would never be analysed"
            )
        if self.model not in ("deviation", "hst"):
            raise ValueError(f"model must be 'deviation' or 'hst', got {self.model!r}")

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
        return cls(**d)

    def margin(self) -> float:
        """The anomaly margin used: the configured one or the model's default."""
        if self.anomaly_margin is not None:
            return self.anomaly_margin
        return 1.03 if self.model == "hst" else 1.5

    def lowpass_for(self, rate: float) -> float:
        """The low-pass cut-off used at `rate`: the configured one or the default."""
        return self.lowpass_hz if self.lowpass_hz is not None else min(70.0, 0.45 * rate)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _positive(name: str, value: object) -> None:
    if not (_is_number(value) and math.isfinite(value) and value > 0):  # type: ignore[arg-type,operator]
        raise ValueError(f"{name} must be a positive number, got {value!r}")
