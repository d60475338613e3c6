"""Crash-safe EDF+/BDF+ recording of the live stream, as received.

A `Sink` of the monitor: blocks and alert events are queued and written by a
thread of its own, so a slow disk never holds up detection. The file is
valid at every moment a crash can happen:

- the header goes to disk first, with the number of data records left at -1
  (EDF+'s "unknown"; MNE, edfio and `streamer.recordings.edf` then count the records
  from the file size), and the real count is written at close;
- samples are written in one-second data records, each handed to the OS as
  soon as it is complete and fsynced at least once a second, so a ``kill -9``
  loses at most the record being filled (under a second) and a power cut at
  most about two seconds;
- alerts, technicians' notes, gaps and clipping go into the EDF+ annotation
  signal of the records (a long note in parts of at most `ANNOTATION_TEXT_BYTES`).

Samples are never filtered. They are stored on a fixed physical range
(``range_uv``, ±3276.7 µV by default: 0.1 µV steps in EDF's 16 bits); a wider
range than 16 bits can hold at 0.1 µV makes it BDF+ (24 bits). Samples beyond
the range are clipped to it and counted per channel. Missing samples (a gap
in the stream) are filled with 0 µV and annotated; a gap longer than
``max_gap_s`` starts a new file instead.

When the file cannot be written (disk full, permissions, file size limit)
the recorder reports ``recording_failed`` through `on_condition` (the monitor's
alert path), drops samples until it can write again, tries a new file every
``retry_s`` seconds, and clears the alert when one works.
"""

from __future__ import annotations

import errno
import glob
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pylsl
from numpy.typing import NDArray

from streamer.recordings.edf_file import EdfFile, RecordLayout
from streamer.recordings.pages import Segment

if TYPE_CHECKING:  # the detector's package loads scipy: not needed to check an option
    from detector.types import Block, StreamMeta

log = logging.getLogger(__name__)

#: Called as on_condition(kind, active, message, evidence); `Monitor.set_condition` in production.
OnCondition = Callable[[str, bool, str, dict[str, float]], None]

DEFAULT_RANGE_UV = 3276.7
EDF_STEP_UV = 0.1
#: UTF-8 bytes of one annotation's text, at most: several fit in a record's annotation signal.
ANNOTATION_TEXT_BYTES = 200


def parse_duration(text: str) -> float:
    """``2d``, ``1h``, ``30m``, ``90s`` or plain seconds → seconds (> 0)."""
    units = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
    raw = text.strip().lower()
    factor = units.get(raw[-1:])
    number = raw[:-1] if factor is not None else raw
    try:
        value = float(number) * (factor or 1.0)
    except ValueError:
        raise ValueError(f"duration {text!r} is not like 2d, 1h, 30m, 90s or 600") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return value


def free_path(path: Path) -> Path:
    """`path`, or the first of ``<stem>-2``, ``<stem>-3``... of which no file exists yet.

    Taken means the file itself or any of its numbered files (``<stem>-001``...).
    """
    candidate, n = path, 1
    while (
        candidate.is_symlink()
        or candidate.is_file()
        or any(candidate.parent.glob(f"{glob.escape(candidate.stem)}-[0-9][0-9][0-9]*"))
    ):
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


class Recorder:
    """Records one stream to EDF+ (or BDF+) files; a `Sink` of `streamer.live.monitor.Monitor`.

    Parameters
    ----------
    path
        The file to write (``.edf``; ``.bdf`` for BDF+). With `rotate_s`,
        files are numbered ``<stem>-001<suffix>``, ``-002`` ... A recording
        is never overwritten: when `path` (or its numbered files) exists, the
        first free of ``<stem>-2<suffix>``, ``<stem>-3<suffix>`` ... is used.
    meta
        The stream: labels and rate go into the header, the source_id into
        the recording field.
    range_uv
        Physical range ± of every channel, in µV; beyond it samples are clipped
        and counted.
    rotate_s
        Start a new file every `rotate_s` seconds of recording (None: one file).
    on_condition
        Where `recording_failed` is raised and cleared (kind, active, message, evidence);
        may be set after construction.
    patient, session
        The patient's pseudonymous code and the monitor's session, for the
        header's patient and recording fields.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        meta: StreamMeta,
        *,
        range_uv: float = DEFAULT_RANGE_UV,
        rotate_s: float | None = None,
        on_condition: OnCondition | None = None,
        sync_s: float = 1.0,
        retry_s: float = 10.0,
        max_gap_s: float = 600.0,
        queue_blocks: int = 4096,
        patient: str | None = None,
        session: str | None = None,
    ) -> None:
        if not (math.isfinite(range_uv) and range_uv > 0):
            raise ValueError(f"recording range {range_uv!r} µV must be a positive number")
        if rotate_s is not None and not (math.isfinite(rotate_s) and rotate_s >= 1.0):
            raise ValueError(f"rotation period {rotate_s!r} s must be at least 1 s")
        path = Path(path)
        bdf = path.suffix.lower() == ".bdf" or 2 * range_uv / EDF_STEP_UV > (1 << 16)
        if bdf and path.suffix.lower() != ".bdf":
            path = path.with_suffix(".bdf")  # more than 16 bits: BDF+, named so readers agree
        if path.is_dir():
            raise ValueError(f"cannot record to {str(path)!r}: it is a directory")
        path = free_path(path)
        per_record = max(1, round(meta.rate))
        self.layout = RecordLayout(
            bdf, meta.n_channels, per_record, per_record / meta.rate, range_uv
        )
        self.path = path
        self.meta = meta
        self.rotate_s = rotate_s
        self.on_condition = on_condition
        self.sync_s = sync_s
        self.retry_s = retry_s
        self.max_gap_s = max_gap_s
        self.patient = patient
        self.session = session
        self._check_writable(self._segment_path(1))
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(maxsize=queue_blocks)
        self._lock = threading.Lock()
        self._file: EdfFile | None = None
        self._segment = 0
        self._pending = np.empty((meta.n_channels, 0), dtype=np.int32)
        self._annotations: list[tuple[float, str]] = []
        self._next_index: int | None = None
        self._file_index0 = 0  # stream index of the current file's first sample
        self._t_index0 = 0.0  # stream time of stream index 0 (first timestamp - index/rate)
        self._last_sync = time.monotonic()
        self._failed_at: float | None = None
        self._reported = False
        self.files: list[Path] = []
        self._segments: list[Segment] = []
        self.clipped = np.zeros(meta.n_channels, dtype=np.int64)
        self.samples_written = 0
        self.samples_lost = 0
        self.blocks_dropped = 0
        self._thread = threading.Thread(target=self._run, name="eegmon-recorder", daemon=True)
        self._thread.start()

    def describe(self) -> str:
        """One line for the terminal: where and how the stream is recorded."""
        lay = self.layout
        step = 2 * lay.range_uv / (lay.dmax - lay.dmin)
        rotation = "" if self.rotate_s is None else f", a new file every {self.rotate_s:g} s"
        first = self._segment_path(1)
        return (
            f"recording to {first} ({'BDF+' if lay.bdf else 'EDF+'}, +-{lay.range_uv:g} uV "
            f"in {step:.3g} uV steps{rotation})"
        )

    # -- the Sink protocol (monitor thread) ----------------------------------------------
    def block(self, block: Block) -> None:
        try:
            self._queue.put_nowait(("block", block))
        except queue.Full:  # the disk is not keeping up: becomes an annotated gap
            self.blocks_dropped += 1

    def alert(self, event: str, alert: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(("alert", event, alert))
        except queue.Full:
            self.blocks_dropped += 1

    def note(self, note: dict[str, Any]) -> None:
        """A technician's note (`streamer.live.notes`): an annotation at its stream time."""
        try:
            self._queue.put_nowait(("note", note))
        except queue.Full:
            self.blocks_dropped += 1

    def status(self) -> dict[str, Any]:
        with self._lock:
            current = self._file.path if self._file is not None else None
            return {
                "recording": {
                    "state": "failed" if self._failed_at is not None else "recording",
                    "file": None if current is None else str(current),
                    "seconds": round(self.samples_written / self.meta.rate, 3),
                    "from": self._segments[0].t0 if self._segments else None,
                    "clipped_samples": int(self.clipped.sum()),
                    "lost_samples": self.samples_lost,
                }
            }

    def segments(self) -> list[Segment]:
        """The files written so far, each with its first sample's stream time (any thread)."""
        with self._lock:
            return list(self._segments)

    def close(self) -> None:
        """Write what is pending, fix the record count and close (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(("stop",))
            self._thread.join(timeout=30)

    # -- the writer thread ---------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.25)
            except queue.Empty:
                item = None
            try:
                if item is None:
                    pass
                elif item[0] == "stop":
                    self._finish()
                    return
                elif item[0] == "block":
                    self._write_block(item[1])
                elif item[0] == "note":
                    self._note_note(item[1])
                else:
                    self._note_alert(item[1], item[2])
                self._maybe_sync()
            except OSError as exc:
                self._fail(exc)
            except Exception:  # never let the recorder thread die silently
                log.exception("recorder failed unexpectedly")
                self._fail(OSError(errno.EIO, "unexpected recorder error"))

    def _segment_path(self, k: int) -> Path:
        """The `k`-th file: the path itself first (unless rotating), then ``<stem>-002``..."""
        if self.rotate_s is None and k == 1:
            return self.path
        return self.path.with_name(f"{self.path.stem}-{k:03d}{self.path.suffix}")

    @staticmethod
    def _check_writable(path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"cannot record to {str(path)!r}: {exc.strerror}") from None
        if not os.access(path.parent, os.W_OK):
            raise ValueError(f"cannot record to {str(path)!r}: directory not writable")

    def _open_next(self, first_index: int) -> None:
        start_time = self._t_index0 + first_index / self.meta.rate
        wall = datetime.fromtimestamp(time.time() - (_lsl_now() - start_time)).astimezone()
        while True:
            self._segment += 1
            path = self._segment_path(self._segment)
            try:
                new = EdfFile(
                    path, self.layout, self.meta, wall, patient=self.patient, session=self.session
                )
                break
            except FileExistsError:  # made meanwhile by someone else: never overwritten
                log.warning("%s appeared meanwhile; recording to the next file", path)
            except OSError:
                self._segment -= 1  # the next attempt reuses the name
                raise
        with self._lock:
            self._file = new
            self.files.append(path)
            self._segments.append(Segment(path, self.layout, start_time, self.meta.rate))
        self._file_index0 = first_index
        self._pending = self._pending[:, :0]
        self._annotations.insert(
            0,
            (
                0.0,
                f"eegmon recording of {self.meta.name} ({self.meta.source_id}) "
                f"stream time {start_time:.6f}",
            ),
        )

    def _close_file(self) -> None:
        with self._lock:
            current, self._file = self._file, None
        if current is not None:
            current.close()

    def _write_block(self, block: Block) -> None:
        rate = self.meta.rate
        if self._next_index is None:
            self._t_index0 = float(block.timestamps[0]) - block.first_index / rate
        expected = self._next_index
        self._next_index = block.first_index + block.n_samples
        if self._failed_at is not None:
            if time.monotonic() - self._failed_at < self.retry_s:
                self.samples_lost += block.n_samples
                return
            self._recover(block.first_index)
        if self._file is None:
            self._open_next(block.first_index)
        elif expected is not None and block.first_index != expected:
            self._gap(expected, block.first_index)
        self._append(self._digital(block.data))
        self.samples_written += block.n_samples

    def _recover(self, first_index: int) -> None:
        self._failed_at = None
        self._open_next(first_index)  # raises OSError again if it still cannot write
        self._reported = False
        if self.on_condition is not None:
            self.on_condition("recording_failed", False, "", {})

    def _gap(self, expected: int, got: int) -> None:
        rate = self.meta.rate
        missing = got - expected
        at = self._position_s()
        if missing < 0:
            self._annotations.append((at, f"stream restarted ({-missing} samples back)"))
        elif missing / rate > self.max_gap_s:
            self._flush_partial()
            self._close_file()
            self._open_next(got)
            self._annotations.append((0.0, f"gap of {missing / rate:.3f} s before this file"))
        else:
            self._annotations.append(
                (at, f"gap: {missing} samples ({missing / rate:.3f} s) filled with 0 uV")
            )
            self._append(np.full((self.meta.n_channels, missing), self._zero, dtype=np.int32))

    @property
    def _zero(self) -> int:
        lay = self.layout
        return round((0.0 + lay.range_uv) / (2 * lay.range_uv) * (lay.dmax - lay.dmin) + lay.dmin)

    def _digital(self, data: NDArray[np.float32]) -> NDArray[np.int32]:
        lay = self.layout
        rng = lay.range_uv
        values = data.astype(np.float64)
        bad = ~np.isfinite(values)
        over = (values > rng) | (values < -rng)
        if over.any():
            counts = over.sum(axis=1)
            first_clip = (self.clipped == 0) & (counts > 0)
            for ch in np.flatnonzero(first_clip):
                at = self._position_s() + int(np.argmax(over[ch])) / self.meta.rate
                self._annotations.append(
                    (at, f"clipping on {self.meta.labels[ch]} at +-{rng:g} uV")
                )
            self.clipped += counts
        values = np.where(bad, 0.0, np.clip(values, -rng, rng))
        scale = (lay.dmax - lay.dmin) / (2 * rng)
        digital = np.rint((values + rng) * scale + lay.dmin)
        return np.clip(digital, lay.dmin, lay.dmax).astype(np.int32)

    def _position_s(self) -> float:
        """Seconds from the current file's start to the next sample to be written."""
        written = self._file.records if self._file is not None else 0
        return (written * self.layout.per_record + self._pending.shape[1]) / self.meta.rate

    def _append(self, digital: NDArray[np.int32]) -> None:
        lay = self.layout
        self._pending = np.concatenate([self._pending, digital], axis=1)
        while self._pending.shape[1] >= lay.per_record and self._file is not None:
            record, self._pending = (
                self._pending[:, : lay.per_record],
                self._pending[:, lay.per_record :],
            )
            onset = self._file.records * lay.record_s
            self._file.write_record(record, self._tal(onset))
            if self.rotate_s is not None and (self._file.records * lay.record_s) >= self.rotate_s:
                next_index = self._file_index0 + self._file.records * lay.per_record
                rest = self._pending
                self._close_file()
                self._open_next(next_index)
                self._pending = rest

    def _tal(self, record_onset: float) -> bytes:
        """This record's time-keeping TAL plus as many pending annotations as fit."""
        room = self.layout.annotation_samples * self.layout.width - 1
        tal = f"+{record_onset:g}\x14\x14\x00".encode()
        end = record_onset + self.layout.record_s
        while self._annotations:
            onset, text = self._annotations[0]
            onset = min(max(onset, 0.0), end)
            text = utf8_parts(text, ANNOTATION_TEXT_BYTES)[0]
            entry = f"+{onset:.4f}\x14{text}\x14\x00".encode("utf-8", errors="replace")
            if len(tal) + len(entry) > room:
                break
            tal += entry
            self._annotations.pop(0)
        return tal

    def _note_alert(self, event: str, alert: dict[str, Any]) -> None:
        if self._file is None:
            return
        file_t0 = self._t_index0 + self._file_index0 / self.meta.rate
        stamp = {"raised": alert.get("onset"), "cleared": alert.get("cleared_at")}.get(event)
        at = self._position_s() if stamp is None else float(stamp) - file_t0
        where = ", ".join(alert.get("channels") or []) or "stream"
        self._annotations.append(
            (min(at, self._position_s()), f"{alert['kind']} {event}: {where} ({alert['id']})")
        )

    def _note_note(self, note: dict[str, Any]) -> None:
        if self._file is None:
            return
        file_t0 = self._t_index0 + self._file_index0 / self.meta.rate
        at = min(float(note["at"]) - file_t0, self._position_s())
        text = f"note by {note.get('who')}: {note.get('text')}"
        for part in utf8_parts(text, ANNOTATION_TEXT_BYTES):
            self._annotations.append((at, part))

    def _flush_partial(self) -> None:
        """Pad the record being filled with 0 µV so no received sample is left behind.

        Annotations still waiting (an alert cleared as the stream ended) get a
        padding record of their own.
        """
        if self._file is None:
            return
        if self._pending.shape[1] == 0 and not self._annotations:
            return
        fill = self.layout.per_record - self._pending.shape[1]
        self._annotations.append((self._position_s(), f"end of data: {fill} samples of padding"))
        self._append(np.full((self.meta.n_channels, fill), self._zero, dtype=np.int32))

    def _maybe_sync(self) -> None:
        if self._file is not None and time.monotonic() - self._last_sync >= self.sync_s:
            self._file.sync()
            self._last_sync = time.monotonic()

    def _finish(self) -> None:
        if self._file is not None:
            self._flush_partial()
            self._close_file()
        if self._annotations:
            log.warning("recording closed with %d annotations unwritten", len(self._annotations))
        if self.clipped.any():
            log.warning(
                "recording clipped %d samples beyond +-%g uV",
                int(self.clipped.sum()),
                self.layout.range_uv,
            )

    def _fail(self, exc: OSError) -> None:
        self._failed_at = time.monotonic()
        self._pending = self._pending[:, :0]
        with self._lock:
            broken, self._file = self._file, None
        if broken is not None:
            broken.abandon()
        if not self._reported:  # once per outage, however many retries fail
            self._reported = True
            where = self._segment_path(max(self._segment, 1))
            reason = exc.strerror or str(exc)
            log.error("recording to %s failed: %s", where, reason)
            if self.on_condition is not None:
                self.on_condition(
                    "recording_failed",
                    True,
                    f"Recording to {where} failed ({reason}); monitoring goes on.",
                    {"errno": float(exc.errno or 0)},
                )


def utf8_parts(text: str, max_bytes: int) -> list[str]:
    """`text` cut into parts of at most `max_bytes` UTF-8 bytes, never inside a character.

    >>> utf8_parts("abcdef", 4), utf8_parts("ééé", 4), utf8_parts("", 4)
    (['abcd', 'ef'], ['éé', 'é'], [''])
    """
    parts, current, size = [], "", 0
    for char in text:
        width = len(char.encode("utf-8", errors="replace"))
        if current and size + width > max_bytes:
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    return [*parts, current]


def _lsl_now() -> float:
    return float(pylsl.local_clock())
