"""Exact signal-quality rules, each localized to the channels it concerns.

A rule turns one window's features into a `Finding` (flags per channel, a
score where larger is worse, the evidence that drove it). Rules are ordered
from most to least specific, and a channel explained by an earlier rule is
not flagged by a later one: a channel stuck at its rail is `saturation`, not
also `flatline`; a channel carrying NaNs is only `bad_values`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from detector.alerts import Finding
from detector.config import DetectorConfig
from detector.features import Features
from protocol.kinds import KINDS

#: A step is a pop only if no other channel steps by this share of it in the same window.
POP_ALONE_RATIO = 0.5


def evaluate_rules(
    features: Features, raw: NDArray[np.float64], bad: NDArray[np.bool_], config: DetectorConfig
) -> list[Finding]:
    """Apply every rule to one window, or to a batch of windows at once.

    One window: features of shape (channels,), `raw` and `bad` (channels,
    samples). A batch: (windows, channels) and (windows, channels, samples);
    each window's row of the findings is exactly what it gets alone, and the
    NumPy calls are paid once per batch.

    Examples
    --------
    >>> import numpy as np
    >>> from detector.features import compute_features
    >>> rng = np.random.default_rng(0)
    >>> raw = rng.normal(scale=10, size=(3, 256))
    >>> raw[1] = 0.0
    >>> raw[2, ::4] = 5000.0
    >>> bad = np.zeros(raw.shape, dtype=bool)
    >>> found = evaluate_rules(compute_features(raw, raw, 256.0), raw, bad, DetectorConfig())
    >>> {f.kind: f.flags.tolist() for f in found if f.flags.any()}
    {'saturation': [False, False, True], 'flatline': [False, True, False]}
    """
    n = raw.shape[-1]
    # Most windows have no bad sample and no sample at the rail: skip those passes then.
    bad_fraction = bad.mean(axis=-1) if bad.any() else np.zeros(raw.shape[:-1])
    has_bad = bad_fraction > 0

    hi = raw.max(axis=-1, keepdims=True)
    lo = raw.min(axis=-1, keepdims=True)
    at_hi = np.count_nonzero(raw == hi, axis=-1) / n
    at_lo = np.count_nonzero(raw == lo, axis=-1) / n
    hi_uv, lo_uv = np.abs(hi[..., 0]), np.abs(lo[..., 0])
    extreme = np.where(at_hi >= at_lo, hi_uv, lo_uv)
    at_extreme = np.maximum(at_hi, at_lo)
    at_rail = (
        np.count_nonzero(np.abs(raw) >= config.rail_uv, axis=-1) / n
        if (np.maximum(hi_uv, lo_uv) >= config.rail_uv).any()
        else np.zeros(raw.shape[:-1])
    )
    clip_fraction = np.where(extreme >= config.saturation_min_uv, at_extreme, 0.0)
    clip_fraction = np.maximum(clip_fraction, at_rail)
    saturated = ~has_bad & (clip_fraction >= config.saturation_fraction)

    flat = ~has_bad & ~saturated & (features.std < config.flatline_uv)
    flat_score = np.clip(1.0 - features.std / config.flatline_uv, 0.0, 1.0)

    noisy = ~has_bad & ~saturated & ~flat & (features.mains_ratio > config.line_noise_ratio)
    explained = has_bad | saturated | flat | noisy

    # A pop is one electrode losing contact; a step that other channels show
    # too, even smaller (an eye movement, the head moving), is not a pop.
    step = np.where(explained, 0.0, features.step)
    ranked = np.sort(np.concatenate([np.zeros_like(step[..., :1]), step], axis=-1), axis=-1)
    largest, second = ranked[..., -1:], ranked[..., -2:-1]
    alone = (step == largest) & (second < POP_ALONE_RATIO * largest)
    popped = alone & (step >= config.pop_step_uv)
    rhythmic = features.peak_share >= config.seizure_peak_share
    movement = ~rhythmic & (features.ptp >= config.artifact_ptp_uv)
    muscle = features.high_rms >= config.muscle_uv
    artifact = ~explained & ~popped & (movement | muscle)

    return [
        _finding("bad_values", has_bad, bad_fraction, bad_fraction=bad_fraction),
        _finding(
            "saturation", saturated, clip_fraction, clip_fraction=clip_fraction, ptp_uv=features.ptp
        ),
        _finding("flatline", flat, flat_score, std_uv=features.std),
        _finding("line_noise", noisy, features.mains_ratio, mains_ratio=features.mains_ratio),
        _finding("electrode_pop", popped, features.step, step_uv=features.step),
        _finding(
            "artifact",
            artifact,
            np.maximum(features.ptp / config.artifact_ptp_uv, features.high_rms / config.muscle_uv),
            ptp_uv=features.ptp,
            high_rms_uv=features.high_rms,
        ),
    ]


def _finding(
    kind: str, flags: NDArray[np.bool_], score: NDArray[np.float64], **evidence: NDArray[np.float64]
) -> Finding:
    return Finding(kind, flags, score, KINDS[kind].message, evidence)
