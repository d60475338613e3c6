"""The night's sleep stages as a feed sends them, and how a page names and colours them.

One epoch is kept per index, as last staged: the monitor sends each 30 s
epoch when it first stages it (provisional) and again each time it revises
it, until it is final, so a later message for an index replaces the earlier.

Examples
--------
>>> night = NightStages()
>>> night.put({"index": 0, "onset": 100.0, "duration": 30.0, "stage": "W",
...            "confidence": 0.6, "final": False})
>>> night.put({"index": 0, "onset": 100.0, "duration": 30.0, "stage": "N1",
...            "confidence": 0.7, "final": True})
>>> [(epoch.index, epoch.stage, epoch.final) for epoch in night.epochs()]
[(0, 'N1', True)]
>>> stage_text(night.epochs()[-1])
'N1'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from protocol.feed import SLEEP_STAGES, ProtocolError

#: Height of each stage on a hypnogram: wake on top, then REM, then deeper and deeper sleep.
STAGE_LEVELS = {"W": 4, "REM": 3, "N1": 2, "N2": 1, "N3": 0}
#: Wake warm, REM apart, sleep bluer as it deepens.
STAGE_COLORS = {"W": "#ef6c00", "REM": "#8e24aa", "N1": "#64b5f6", "N2": "#1e88e5", "N3": "#0d47a1"}
#: Epochs kept: 24 hours of 30 s epochs; the oldest go first.
MAX_EPOCHS = 2880


@dataclass(frozen=True)
class SleepEpoch:
    """One 30 s epoch's stage; `onset` on the monitor's stream clock."""

    index: int
    onset: float
    duration: float
    stage: str
    confidence: float | None
    final: bool


def stage_text(epoch: SleepEpoch | None) -> str:
    """The stage as a person reads it: a provisional one is marked ``?``."""
    if epoch is None:
        return ""
    return epoch.stage if epoch.final else f"{epoch.stage}?"


class NightStages:
    """The epochs received, by index; not thread-safe (the feed client holds its lock)."""

    def __init__(self) -> None:
        self._epochs: dict[int, SleepEpoch] = {}
        self._sorted: tuple[SleepEpoch, ...] = ()

    def put(self, message: dict[str, Any]) -> None:
        """Keep the epoch of a ``stage`` message; ProtocolError for a malformed one."""
        index = message.get("index")
        onset, duration = _number(message.get("onset")), _number(message.get("duration"))
        stage = message.get("stage")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ProtocolError(f"stage 'index' must be a count of epochs, got {index!r}")
        if onset is None or duration is None or not duration > 0:
            raise ProtocolError("stage 'onset' and 'duration' must be times in seconds")
        if stage not in SLEEP_STAGES:
            raise ProtocolError(f"stage must be one of {SLEEP_STAGES}, got {stage!r}")
        epoch = SleepEpoch(
            index=index,
            onset=onset,
            duration=duration,
            stage=str(stage),
            confidence=_number(message.get("confidence")),
            final=message.get("final") is True,
        )
        self._epochs[index] = epoch
        if len(self._epochs) > MAX_EPOCHS:
            del self._epochs[min(self._epochs)]
        self._sorted = tuple(sorted(self._epochs.values(), key=lambda e: e.index))

    def clear(self) -> None:
        self._epochs.clear()
        self._sorted = ()

    def epochs(self) -> tuple[SleepEpoch, ...]:
        """Every epoch kept, in order (the newest last)."""
        return self._sorted


def _number(value: Any) -> float | None:
    """`value` as a float when it is a finite JSON number, else None."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
