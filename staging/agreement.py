"""Agreement between two hypnograms, and the expert codes they are compared with.

Examples
--------
>>> expert = ["W", "N1", "N2", "N2", "N3", "REM"]
>>> scored = ["W", "N2", "N2", "N2", "N3", "REM"]
>>> accuracy(expert, scored)
0.8333333333333334
>>> round(cohen_kappa(expert, scored), 3)
0.778
>>> rk_epochs([5, 5, 5, 5, 2, 2, 1, 0, 0, 1, 2, 0, -1, -1, -1, -1, -1, -1])
['W', 'N3', None]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from protocol.feed import SLEEP_STAGES

#: The stages, in the order of the night's usual descent (and REM): the feed's.
STAGES = SLEEP_STAGES
#: Rechtschaffen & Kales codes as the DREAMS hypnograms write them, in AASM stages.
RK_STAGES = {5: "W", 4: "REM", 3: "N1", 2: "N2", 1: "N3", 0: "N3"}


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


def rk_epochs(codes: Sequence[int], per_epoch: int = 6) -> list[str | None]:
    """30 s stages from R&K codes scored every 30 / `per_epoch` s: each epoch's most
    frequent stage, the earliest of a tie (``None`` for movement only)."""
    stages: list[str | None] = []
    for start in range(0, len(codes) - per_epoch + 1, per_epoch):
        named = [RK_STAGES[code] for code in codes[start : start + per_epoch] if code in RK_STAGES]
        counts = Counter(named)
        stages.append(max(named, key=lambda stage: counts[stage]) if named else None)
    return stages


def _scored(expected: Sequence[str | None], found: Sequence[str]) -> list[tuple[str, str]]:
    if len(expected) != len(found):
        raise ValueError(f"hypnograms of {len(expected)} and {len(found)} epochs")
    pairs = [(a, b) for a, b in zip(expected, found, strict=True) if a is not None]
    if not pairs:
        raise ValueError("no scored epoch to compare")
    return pairs
