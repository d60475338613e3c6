"""Agreement between two hypnograms (expert hypnogram files: `evaluation.hypnogram`).

Examples
--------
>>> expert = ["W", "N1", "N2", "N2", "N3", "REM"]
>>> scored = ["W", "N2", "N2", "N2", "N3", "REM"]
>>> accuracy(expert, scored)
0.8333333333333334
>>> round(cohen_kappa(expert, scored), 3)
0.778
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from protocol.feed import SLEEP_STAGES

#: The stages, in the order of the night's usual descent (and REM): the feed's.
STAGES = SLEEP_STAGES


def accuracy(expected: Sequence[str | None], found: Sequence[str]) -> float:
    """The fraction of epochs where both hypnograms give the same stage.

    Epochs `expected` leaves unscored (``None``) are left out, here and in `cohen_kappa`.
    """
    pairs = _scored(expected, found)
    return sum(a == b for a, b in pairs) / len(pairs)


def cohen_kappa(expected: Sequence[str | None], found: Sequence[str]) -> float:
    """Cohen's kappa: agreement beyond what the two stage frequencies give by chance."""
    pairs = _scored(expected, found)
    observed = sum(a == b for a, b in pairs) / len(pairs)
    counts_a, counts_b = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(counts_a[stage] * counts_b[stage] for stage in counts_a) / len(pairs) ** 2
    return 1.0 if chance == 1 else (observed - chance) / (1 - chance)


def _scored(expected: Sequence[str | None], found: Sequence[str]) -> list[tuple[str, str]]:
    if len(expected) != len(found):
        raise ValueError(f"hypnograms of {len(expected)} and {len(found)} epochs")
    pairs = [(a, b) for a, b in zip(expected, found, strict=True) if a is not None]
    if not pairs:
        raise ValueError("no scored epoch to compare")
    return pairs
