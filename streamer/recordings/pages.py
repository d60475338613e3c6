"""Reading back a span of the recording being written, for the feed's ``page`` answers.

The recorder writes whole data records and hands each to the OS as soon as
it is complete, while the header's record count stays -1 until the file is
closed; so a reader counts the records from the file's size and reads only
the complete ones (the last second, still being filled, is not there yet).
Each file of the recording maps its samples to stream time from the stream
time of its first sample, which the recorder knows when it opens the file
(gaps inside a file are filled, so sample ``k`` is at ``t0 + k / rate``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamer.recordings.edf_file import RecordLayout


@dataclass(frozen=True)
class Segment:
    """One file of a recording: where it is, its layout and its first sample's stream time."""

    path: Path
    layout: RecordLayout
    t0: float
    rate: float

    @property
    def header_bytes(self) -> int:
        return 256 * (self.layout.n_channels + 2)

    @property
    def record_bytes(self) -> int:
        lay = self.layout
        return (lay.n_channels * lay.per_record + lay.annotation_samples) * lay.width

    def records(self) -> int:
        """Complete data records on disk now (a missing file has none)."""
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return 0
        return max(0, (size - self.header_bytes) // self.record_bytes)

    def end(self) -> float:
        """Stream time just after its last complete record."""
        return self.t0 + self.records() * self.layout.per_record / self.rate


def read_span(
    segments: list[Segment], start: float, end: float, align: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """``(times, data µV float32)`` of the samples recorded from `start` to `end`.

    Each file's samples are read in whole buckets of `align` samples counted
    from the file's first (as the display's averaging counts them).
    """
    n_ch = segments[0].layout.n_channels if segments else 0
    times: list[np.ndarray] = [np.zeros(0)]
    data: list[np.ndarray] = [np.zeros((n_ch, 0), dtype=np.float32)]
    for segment in segments:
        rate, per = segment.rate, segment.layout.per_record
        available = segment.records() * per
        first = max(0, math.ceil((start - segment.t0) * rate - 1e-6)) // align * align
        last = min(available, math.floor((end - segment.t0) * rate + 1e-6) + 1)
        last = first + (last - first) // align * align
        if last <= first:
            continue
        samples = _read(segment, first // per, (last - 1) // per + 1)
        offset = first // per * per
        times.append(segment.t0 + np.arange(first, last) / rate)
        data.append(samples[:, first - offset : last - offset])
    return np.concatenate(times), np.concatenate(data, axis=1)


def _read(segment: Segment, first_record: int, end_record: int) -> np.ndarray:
    """The samples (µV, float32) of records `first_record` to `end_record` (excluded)."""
    lay = segment.layout
    with open(segment.path, "rb") as file:
        file.seek(segment.header_bytes + first_record * segment.record_bytes)
        raw = file.read((end_record - first_record) * segment.record_bytes)
    n_records = len(raw) // segment.record_bytes
    records = np.frombuffer(raw[: n_records * segment.record_bytes], dtype=np.uint8)
    signal_bytes = lay.n_channels * lay.per_record * lay.width
    samples = records.reshape(n_records, segment.record_bytes)[:, :signal_bytes]
    if lay.bdf:
        b = samples.reshape(-1, 3).astype(np.int32)
        digital = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        digital = np.where(digital >= 1 << 23, digital - (1 << 24), digital)
    else:
        digital = samples.copy().view("<i2").astype(np.int32).ravel()
    by_record = digital.reshape(n_records, lay.n_channels, lay.per_record)
    per_channel = by_record.transpose(1, 0, 2).reshape(lay.n_channels, -1)
    step = 2 * lay.range_uv / (lay.dmax - lay.dmin)
    return ((per_channel - lay.dmin) * step - lay.range_uv).astype(np.float32)
