"""``--model-state``: what the detector learned survives a restart at 3 a.m.

The file is data, never code: one NumPy ``.npz`` holding a JSON entry
(``meta``: format, patient, session, when it was saved, the detector's
facts) and the detector's numeric arrays, read with ``allow_pickle=False``.
A state is used only for the same patient and while younger than the
maximum age; anything wrong with it (missing, corrupt, truncated, another
patient or stream, too old, another version, a pickle of older versions)
means a fresh start and one line saying why.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format
from numpy.lib.npyio import NpzFile
from numpy.typing import NDArray

from detector import Block, Detector, ModelState
from streamer.live.session import Session

log = logging.getLogger(__name__)

FORMAT = "eegmon-model-state"
FORMAT_VERSION = 1
#: Larger files are not read: a state of 64 channels and a day's memory is a few MB.
MAX_BYTES = 256 << 20


class StateRefused(ValueError):
    """A model-state file that is not used; the message says why, in a few words."""


def encode_state(state: ModelState, session: Session, saved_at: datetime) -> bytes:
    """The file's bytes: an uncompressed ``.npz`` of a JSON ``meta`` entry and the arrays."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "patient": session.patient,
        "session": session.id,
        "saved_at": saved_at.isoformat(timespec="seconds"),
        "detector": state.facts,
    }
    text = json.dumps(meta, allow_nan=False).encode("utf-8")
    out = io.BytesIO()
    entries: dict[str, Any] = {"meta": np.frombuffer(text, dtype=np.uint8), **state.arrays}
    np.savez(out, allow_pickle=False, **entries)
    return out.getvalue()


def decode_state(
    data: bytes, *, patient: str | None, max_age_s: float, now: datetime
) -> tuple[ModelState, dict[str, Any]]:
    """The state and its meta; `StateRefused` when it is not to be used, whatever is wrong."""
    if data[:1] == b"\x80":
        raise StateRefused("a pickle of an older eegmon: never loaded, pickles can run code")
    try:
        arrays = _read_npz(data)
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except StateRefused:
        raise
    except Exception as exc:  # zipfile and numpy raise many kinds on damaged bytes
        raise StateRefused(f"unreadable: {type(exc).__name__}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise StateRefused("not an eegmon model state")
    if meta.get("format_version") != FORMAT_VERSION:
        raise StateRefused(f"format version {meta.get('format_version')!r}, not {FORMAT_VERSION}")
    if meta.get("patient") != patient:
        raise StateRefused(f"for patient {meta.get('patient')!r}, not {patient!r}")
    try:
        saved_at = datetime.fromisoformat(str(meta["saved_at"]))
        age_s = (now - saved_at).total_seconds()
    except (KeyError, ValueError, TypeError):
        raise StateRefused("no valid saved_at") from None
    if age_s > max_age_s:
        raise StateRefused(f"saved {age_s / 3600:.1f} h ago, older than {max_age_s / 3600:g} h")
    if age_s < -60:
        raise StateRefused(f"saved in the future ({saved_at.isoformat()})")
    if not isinstance(meta.get("detector"), dict):
        raise StateRefused("no detector facts")
    return ModelState(meta["detector"], arrays), meta


def _read_npz(data: bytes) -> dict[str, NDArray[Any]]:
    """The arrays of an ``.npz``, without pickle, each checked against its stored size first."""
    loaded = np.load(io.BytesIO(data), allow_pickle=False)
    if not isinstance(loaded, NpzFile):
        raise StateRefused("not a model-state archive")
    with loaded as npz:
        archive = npz.zip
        if archive is None:
            raise StateRefused("not a model-state archive")
        for info in archive.infolist():
            with archive.open(info) as entry:
                version = npy_format.read_magic(entry)
                read_header = (
                    npy_format.read_array_header_1_0
                    if version == (1, 0)
                    else npy_format.read_array_header_2_0
                )
                shape, _, dtype = read_header(entry)
            if math.prod(shape) * dtype.itemsize > min(info.file_size, MAX_BYTES):
                raise StateRefused(f"array {info.filename!r} is truncated or implausibly large")
        return {name: npz[name] for name in npz.files}


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically: an exclusive 0600 temporary file, fsynced, renamed.

    The temporary file has a random name and is created with ``O_EXCL`` (it
    never follows a symlink), in the same directory, so the rename is atomic.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ModelStateFile:
    """``--model-state``: what the detector learned, loaded at start and saved as it goes.

    A monitor sink: the state is taken on the monitor's thread (the detector
    is never touched from two threads) every `every_s` seconds and at exit,
    and written by a thread of its own, so detection never waits on the disk.

    Parameters
    ----------
    path
        The state file.
    detector
        Loaded from the file at construction, when the file fits.
    say
        Where the one line on what was loaded, or why not, goes.
    session
        This monitor run: only a state of its patient is used; saved states carry it.
    max_age_s
        Older states are not used.
    """

    def __init__(
        self,
        path: Path,
        detector: Detector,
        say: Callable[[str], None],
        *,
        session: Session | None = None,
        max_age_s: float = 86400.0,
        every_s: float = 60.0,
    ) -> None:
        self.path = path
        self.detector = detector
        self.session = session if session is not None else Session.start()
        self.every_s = every_s
        self.saved_at: float | None = None
        self.error: str | None = None
        self._next = time.monotonic() + every_s
        self._latest: bytes | None = None
        self._wake = threading.Condition()
        self._closing = False
        say(f"eegmon monitor: {self._load(max_age_s)}")
        self._thread = threading.Thread(target=self._run, name="eegmon-model-state", daemon=True)
        self._thread.start()

    def _load(self, max_age_s: float) -> str:
        """Load the file into the detector; the line that says what happened."""
        where = repr(str(self.path))
        if not self.path.exists():
            return f"no model state at {where} yet; starting fresh"
        try:
            if self.path.stat().st_size > MAX_BYTES:
                raise StateRefused("implausibly large")
            data = self.path.read_bytes()
            state, meta = decode_state(
                data, patient=self.session.patient, max_age_s=max_age_s, now=datetime.now(UTC)
            )
            self.detector.load_model_state(state)
        except (StateRefused, ValueError) as exc:
            return f"model state {where} not used ({exc}); starting fresh"
        except Exception as exc:  # whatever a damaged file does, monitoring starts
            why = f"unreadable: {type(exc).__name__}"
            return f"model state {where} not used ({why}); starting fresh"
        return (
            f"model state loaded from {where} ({self.detector.learned_windows} windows learned), "
            f"saved {meta['saved_at']} by session {meta.get('session')}"
        )

    def _snapshot(self) -> None:
        """Take the state now (monitor thread) and hand it to the writer."""
        try:
            data = encode_state(self.detector.model_state(), self.session, datetime.now(UTC))
        except ValueError as exc:
            self.error = str(exc)
            return
        with self._wake:
            self._latest = data
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._latest is None and not self._closing:
                    self._wake.wait()
                data, self._latest = self._latest, None
                closing = self._closing
            if data is not None:
                self._write(data)
            if closing:
                return

    def _write(self, data: bytes) -> None:
        try:
            write_private(self.path, data)
            self.saved_at, self.error = time.time(), None
        except OSError as exc:  # a full disk must not stop monitoring
            self.error = f"{exc.strerror or exc}"
            log.error("model state %s cannot be written: %s", self.path, self.error)

    def block(self, block: Block) -> None:
        if time.monotonic() >= self._next:
            self._next = time.monotonic() + self.every_s
            self._snapshot()

    def alert(self, event: str, alert: dict[str, Any]) -> None:
        pass

    def status(self) -> dict[str, Any]:
        return {
            "model_state": {"path": str(self.path), "saved_at": self.saved_at, "error": self.error}
        }

    def close(self) -> None:
        """Save once more and wait for the writer (idempotent)."""
        if not self._thread.is_alive():
            return
        self._snapshot()
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join(30)
