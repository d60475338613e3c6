"""The generator's stages, default night and accepted rates and seeds.

Kept apart from `simulators.eeg` so that options can be checked (and a bad
one reported) without loading scipy, which only the signal generation needs.
"""

from __future__ import annotations

STAGES = ("W", "N1", "N2", "N3", "REM")

#: A compressed night of 8 minutes, repeated: wake 60 s, N1 30 s, N2 120 s,
#: N3 120 s, N2 60 s, REM 90 s. Real cycles last about 90 minutes; this one is
#: short so a demo shows every stage.
DEFAULT_SCHEDULE: tuple[tuple[str, float], ...] = (
    ("W", 60.0),
    ("N1", 30.0),
    ("N2", 120.0),
    ("N3", 120.0),
    ("N2", 60.0),
    ("REM", 90.0),
)
MIN_RATE = 128.0
MAX_RATE = 2048.0


def check_rate(rate: float) -> float:
    """Rates the generator supports: 128-2048 Hz."""
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise ValueError(f"sampling rate {rate!r} is not a number")
    if not (MIN_RATE <= rate <= MAX_RATE):
        raise ValueError(f"sampling rate {rate!r} Hz is outside {MIN_RATE:g}-{MAX_RATE:g} Hz")
    return float(rate)


def check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"seed {seed!r} must be an integer in 0..2**63-1")
    return seed
