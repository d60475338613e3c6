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


@dataclass(frozen=True)
class SleepStatistics:
    """The night's summary a sleep report opens with (AASM terms), from 30 s epochs."""

    staged_s: float  #: time staged (time in bed, as recorded)
    sleep_s: float  #: total sleep time: N1, N2, N3 and REM
    onset_latency_s: float | None  #: from the first staged epoch to the first asleep
    wake_after_onset_s: float  #: wake between the first and the last epoch asleep
    by_stage_s: dict[str, float]  #: time in each stage, W included

    @property
    def efficiency(self) -> float | None:
        """Total sleep time over time in bed (None when nothing was staged)."""
        return self.sleep_s / self.staged_s if self.staged_s > 0 else None


def sleep_statistics(epochs: list[tuple[float, float, str | None]]) -> SleepStatistics:
    """Summarize `(onset, duration, stage)` epochs (stage None: unscored, left out).

    Examples
    --------
    >>> night = [(0, 30, "W"), (30, 30, "W"), (60, 30, "N1"), (90, 30, "N2"),
    ...          (120, 30, "W"), (150, 30, "N3"), (180, 30, None), (210, 30, "REM")]
    >>> s = sleep_statistics(night)
    >>> s.staged_s, s.sleep_s, s.onset_latency_s, s.wake_after_onset_s
    (210.0, 120.0, 60.0, 30.0)
    >>> round(s.efficiency, 3), s.by_stage_s["W"]
    (0.571, 90.0)
    """
    scored = sorted((float(o), float(d), s) for o, d, s in epochs if s in STAGE_LEVELS)
    by_stage = dict.fromkeys(STAGE_LEVELS, 0.0)
    for _, duration, stage in scored:
        by_stage[stage] += duration
    asleep = [onset for onset, _, stage in scored if stage != "W"]
    latency = asleep[0] - scored[0][0] if asleep else None
    waso = sum(d for o, d, s in scored if s == "W" and asleep and asleep[0] < o < asleep[-1])
    staged = sum(by_stage.values())
    return SleepStatistics(staged, staged - by_stage["W"], latency, waso, by_stage)
