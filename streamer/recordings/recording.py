"""What every file reader returns: a `Recording` read lazily as microvolt float32 blocks.

One `Recording` per file, whatever its format: channel labels and types, the
sampling rate, the start time, the annotations, and `blocks()` that yields
consecutive chunks so a 2 GB night never sits in memory. Each reader
(`streamer.recordings.edf`, `.mne_formats`, `.xdf`) only fills one in and
supplies a `Source` of samples.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

#: Channel types kept as signals; all are voltages, published in microvolts.
KEPT_TYPES = ("EEG", "EOG", "ECG", "EMG", "SEEG", "ECOG")


class FileProblem(ValueError):
    """A file that cannot be read as EEG; the message names the file and the problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(f"{os.fspath(path)}: {problem}")
        self.path = os.fspath(path)
        self.problem = problem


@dataclass(frozen=True)
class Annotation:
    """A file annotation; `onset` in seconds from the first sample."""

    onset: float
    duration: float
    text: str


class Source(Protocol):
    """The samples behind a `Recording`: what a reader keeps open."""

    def read(self, start: int, stop: int) -> NDArray[np.float32]: ...

    def close(self) -> None: ...


@dataclass
class Recording:
    """An opened recording. Use `open_recording`; close it (or use ``with``)."""

    path: Path
    format: str
    labels: tuple[str, ...]
    types: tuple[str, ...]
    rate: float
    n_samples: int
    start_time: datetime | None
    annotations: tuple[Annotation, ...]
    #: channels left out, each "label: why"
    dropped: tuple[str, ...] = ()
    #: problems that did not stop reading (e.g. an incomplete last record)
    warnings: tuple[str, ...] = ()
    _source: Source | None = field(default=None, repr=False)

    @property
    def duration(self) -> float:
        return self.n_samples / self.rate

    @property
    def n_channels(self) -> int:
        return len(self.labels)

    def read(self, start: int, stop: int) -> NDArray[np.float32]:
        """Samples ``start .. stop`` (clipped to the file) as (channels, n) float32 µV."""
        start, stop = max(0, start), min(stop, self.n_samples)
        if self._source is None:
            raise ValueError(f"{self.path} is closed")
        if stop <= start:
            return np.empty((self.n_channels, 0), dtype=np.float32)
        return self._source.read(start, stop)

    def blocks(
        self, chunk_s: float = 10.0, start: int = 0
    ) -> Iterator[tuple[int, NDArray[np.float32]]]:
        """(first sample index, data) chunks from `start` to the end; memory stays one chunk."""
        step = max(1, round(chunk_s * self.rate))
        for first in range(max(0, start), self.n_samples, step):
            yield first, self.read(first, first + step)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def unique_labels(labels: list[str]) -> tuple[str, ...]:
    """Labels made unique (and never empty), so every alert names one channel.

    >>> unique_labels(["Fz", "", "Fz"])
    ('Fz', 'Ch2', 'Fz#3')
    """
    seen: set[str] = set()
    out = []
    for i, label in enumerate(labels):
        name = label or f"Ch{i + 1}"
        if name in seen:
            name = f"{name}#{i + 1}"
        seen.add(name)
        out.append(name)
    return tuple(out)


def first_line(exc: BaseException) -> str:
    """A third-party reader's error in one line, for a `FileProblem`."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
