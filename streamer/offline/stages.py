"""A recording's sleep stages for ``eegmon scan --out``: its hypnogram as a TSV file.

One row per 30 s epoch from the file's start: the final ``stage`` (the
whole recording staged at once, as YASA does offline), the ``live_stage``
the monitor would have shown when it first staged the epoch, and the final
stage's ``confidence``. An epoch left unstaged (the file has
no EEG to stage from, or too little signal after it) reads ``?``, so every
file gets its full hypnogram's rows and the reason is said once.

Examples
--------
>>> row = StageRow(onset=30.0, duration=30.0, stage="N2", live_stage="N1", confidence=0.81234)
>>> row.line()
'30.0\\t30.0\\tN2\\tN1\\t0.812'
>>> StageRow(onset=60.0, duration=30.0).line()
'60.0\\t30.0\\t?\\t?\\t?'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamer.recordings.files import open_recording

COLUMNS = ("onset", "duration", "stage", "live_stage", "confidence")
UNSCORED = "?"
#: Seconds read at a time: memory holds the staged channels, not every channel.
CHUNK_S = 600.0


@dataclass(frozen=True)
class StageRow:
    """One 30 s epoch of the hypnogram (its stages ``None`` when unscored)."""

    onset: float
    duration: float
    stage: str | None = None
    live_stage: str | None = None
    confidence: float | None = None

    def line(self) -> str:
        confidence = UNSCORED if self.confidence is None else f"{self.confidence:.3f}"
        fields = (self.stage or UNSCORED, self.live_stage or UNSCORED, confidence)
        return "\t".join((f"{self.onset:.1f}", f"{self.duration:.1f}", *fields))


def stage_file(path: Path) -> tuple[list[StageRow], str | None]:
    """The hypnogram of the recording at `path`, and why it is unscored (``None``: staged).

    ``stage`` is the whole recording's staging (`staging.whole`: what YASA
    does offline, knowing the whole night); ``live_stage`` what the monitor
    showed first, staging as the night went on.
    """
    from staging import pick_channels, stage_recording  # slow: YASA, MNE, LightGBM
    from staging.features import EPOCH_S
    from staging.whole import stage_whole

    with open_recording(path) as recording:
        epochs = math.floor(recording.duration / EPOCH_S)
        try:
            rows = list(pick_channels(recording.labels).rows)
            data = np.hstack([chunk[rows] for _, chunk in recording.blocks(CHUNK_S)])
            labels = [recording.labels[row] for row in rows]
            staged = stage_recording(data, labels, recording.rate)
            whole = stage_whole(data, labels, recording.rate)
        except Exception as exc:  # no EEG, too slow a rate, a library error: the scan goes on
            unscored = [StageRow(i * EPOCH_S, EPOCH_S) for i in range(epochs)]
            return unscored, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    live = {epoch.index: epoch.stage for epoch in staged.live}
    final = {epoch.index: epoch for epoch in whole if epoch.index in live}
    hypnogram = []
    for index in range(max(epochs, len(final))):
        epoch = final.get(index)
        if epoch is None:
            hypnogram.append(StageRow(index * EPOCH_S, EPOCH_S))
        else:
            row = StageRow(epoch.onset_s, EPOCH_S, epoch.stage, live[index], epoch.confidence)
            hypnogram.append(row)
    return hypnogram, None


def write_stages(target: Path, recording: Path, keep: bool = False) -> str | None:
    """Write the hypnogram of `recording` to `target`; return why it is unscored, if it is.

    With `keep` (the recording was scanned before) an existing `target` is left as it is.
    """
    if keep and target.exists():
        return None
    rows, unscored = stage_file(recording)
    lines = ["\t".join(COLUMNS), *(row.line() for row in rows)]
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return unscored


def read_stages(path: Path) -> list[StageRow]:
    """The rows of a hypnogram `write_stages` wrote; ValueError naming the first bad line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != COLUMNS:
        raise ValueError(f"{path}: not a hypnogram of columns {' '.join(COLUMNS)}")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        try:
            onset, duration = float(fields[0]), float(fields[1])
            stage, live, confidence = (None if f == UNSCORED else f for f in fields[2:5])
            sure = None if confidence is None else float(confidence)
            rows.append(StageRow(onset, duration, stage, live, sure))
        except (ValueError, IndexError):
            raise ValueError(f"{path}, line {number}: {line!r} is not a hypnogram row") from None
    return rows
