"""One EDF+/BDF+ file being written: its header, whole data records, the count at close.

The file is created exclusively with mode 0600: it holds a patient's EEG,
and an existing recording (another night's) is never opened for writing.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from detector.types import StreamMeta

_ANNOTATION_BYTES = 512  # per one-second record: a few alert texts
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def _field(text: str, width: int) -> bytes:
    clean = "".join(c if 32 <= ord(c) < 127 else "_" for c in text)
    return clean[:width].ljust(width).encode("ascii")


def _number(value: float, width: int = 8) -> bytes:
    """A number in an 8-character EDF field, as precise as fits."""
    for text in (f"{value:g}", f"{value:.{width}f}"):
        if len(text) <= width:
            return _field(text, width)
        if "." in text[:width] and text[:width][-1] != ".":
            return _field(text[:width], width)
    raise ValueError(f"{value!r} does not fit an EDF header field")


@dataclass(frozen=True)
class RecordLayout:
    """The shape of the data records of one file."""

    bdf: bool
    n_channels: int
    per_record: int  # samples per channel per record
    record_s: float
    range_uv: float

    @property
    def dmin(self) -> int:
        return -(1 << 23) if self.bdf else -(1 << 15)

    @property
    def dmax(self) -> int:
        return (1 << 23) - 1 if self.bdf else (1 << 15) - 1

    @property
    def width(self) -> int:
        return 3 if self.bdf else 2

    @property
    def annotation_samples(self) -> int:
        return _ANNOTATION_BYTES // self.width


class EdfFile:
    """One EDF+/BDF+ file being written: header first, whole records, count fixed at close."""

    def __init__(
        self,
        path: Path,
        layout: RecordLayout,
        meta: StreamMeta,
        start: datetime,
        *,
        patient: str | None = None,
        session: str | None = None,
    ) -> None:
        self.path = path
        self.layout = layout
        self.records = 0
        # Created, never opened: an existing file (another night) raises FileExistsError.
        # Only a device (/dev/full in tests, a pipe) is opened as it is.
        created = not _is_special(path)
        flags = os.O_WRONLY | (os.O_CREAT | os.O_EXCL if created else 0)
        self._file = os.fdopen(os.open(path, flags, 0o600), "wb")
        try:
            self._file.write(self._header(meta, start, patient, session))
            self.sync()
        except OSError:
            self._file.close()
            if created:
                path.unlink(missing_ok=True)  # ours, half made
            raise

    def _header(
        self, meta: StreamMeta, start: datetime, patient: str | None, session: str | None
    ) -> bytes:
        """EDF+ header: the patient field holds only the pseudonymous code (X: unknown)."""
        lay = self.layout
        labels = [*meta.labels, "BDF Annotations" if lay.bdf else "EDF Annotations"]
        ns = len(labels)
        date = f"{start.day:02d}-{_MONTHS[start.month - 1]}-{start.year}"
        equipment = f"eegmon_{meta.source_id}".replace(" ", "_")
        main = b"".join(
            [
                b"\xffBIOSEMI" if lay.bdf else _field("0", 8),
                _field(f"{patient or 'X'} X X X", 80),
                _field(f"Startdate {date} {session or 'X'} X {equipment}", 80),
                _field(start.strftime("%d.%m.%y"), 8),
                _field(start.strftime("%H.%M.%S"), 8),
                _field(str(256 * (ns + 1)), 8),
                _field("BDF+C" if lay.bdf else "EDF+C", 44),
                _field("-1", 8),
                _number(lay.record_s),
                _field(str(ns), 4),
            ]
        )
        signals = range(ns)
        annotation = ns - 1

        def column(values: list[bytes]) -> bytes:
            return b"".join(values)

        rng = lay.range_uv
        return main + b"".join(
            [
                column([_field(label, 16) for label in labels]),
                column([_field("", 80) for _ in signals]),
                column([_field("" if i == annotation else "uV", 8) for i in signals]),
                column([_number(-1 if i == annotation else -rng) for i in signals]),
                column([_number(1 if i == annotation else rng) for i in signals]),
                column([_field(str(lay.dmin), 8) for _ in signals]),
                column([_field(str(lay.dmax), 8) for _ in signals]),
                column([_field("", 80) for _ in signals]),
                column(
                    [
                        _field(
                            str(lay.annotation_samples if i == annotation else lay.per_record), 8
                        )
                        for i in signals
                    ]
                ),
                column([_field("", 32) for _ in signals]),
            ]
        )

    def write_record(self, digital: NDArray[np.int32], tal: bytes) -> None:
        lay = self.layout
        if lay.bdf:
            samples = digital.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        else:
            samples = digital.astype("<i2").tobytes()
        self._file.write(samples + tal.ljust(lay.annotation_samples * lay.width, b"\x00"))
        self._file.flush()  # in the OS's hands now: a killed process loses nothing written
        self.records += 1

    def sync(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())

    def abandon(self) -> None:
        """Close after a write error: the count stays -1, so readers count whole records."""
        with contextlib.suppress(OSError):
            self._file.close()

    def close(self) -> None:
        """Write the real record count (236: its offset in the header) and close."""
        try:
            self._file.flush()
            self._file.seek(236)
            self._file.write(_field(str(self.records), 8))
            self.sync()
        finally:
            self._file.close()


def _is_special(path: Path) -> bool:
    """An existing path that is not a regular file (a device, a pipe)."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return False
