"""Replay a recorded file as a live LSL stream (``eegmon replay``).

The samples are exactly the file's (float32 of its microvolt values), so the
monitor sees what ``eegmon scan`` sees. Sample ``i`` of the file carries the
timestamp ``t0 + i / rate`` whatever the speed: the stream's clock is the
file's clock shifted once, and the file's annotations go out on
``<name>-markers`` with the timestamps of their onsets. Pacing is by sample
count against the clock, as in the simulator, so it never drifts.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pylsl

from streamer.publish import eeg_info, markers_info
from streamer.recordings.files import Recording, content_id, open_recording

MIN_SPEED, MAX_SPEED = 0.1, 100.0
_PUSHES_PER_S = 20  # wall-clock pushes per second when paced


@dataclass(frozen=True)
class PlayStats:
    """What a run did: samples pushed, passes over the file, and the worst lateness."""

    t0: float
    samples: int
    loops: int
    max_lateness_s: float


def check_speed(speed: float | None) -> float | None:
    """A speed factor in 0.1-100, or None for as fast as possible."""
    if speed is None:
        return None
    if isinstance(speed, bool) or not isinstance(speed, int | float) or not math.isfinite(speed):
        raise ValueError(f"speed {speed!r} is not a number")
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise ValueError(f"speed {speed:g} is outside {MIN_SPEED:g}-{MAX_SPEED:g} (or 'max')")
    return float(speed)


class FilePlayer:
    """Publishes one recording on LSL: EEG on `name`, annotations on ``<name>-markers``.

    Parameters
    ----------
    path
        Any file `streamer.recordings.files.open_recording` reads.
    name
        Stream name (the file's stem by default).
    speed
        Playback speed, 0.1-100; None pushes as fast as LSL takes the samples.
        Either way playing starts when a first inlet subscribes, so a monitor
        started after the player still sees the file from its start.
    loop
        Start over from the file's beginning at its end, until stopped.
    start_s
        Begin this many seconds into the file.
    progress
        Called with (seconds played, file duration) after every push.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        speed: float | None = 1.0,
        loop: bool = False,
        start_s: float = 0.0,
        progress: Callable[[float, float], None] | None = None,
        clock: Callable[[], float] = pylsl.local_clock,
    ) -> None:
        self.speed = check_speed(speed)
        self.recording: Recording = open_recording(path)
        rec = self.recording
        if not (math.isfinite(start_s) and 0 <= start_s < rec.duration):
            rec.close()
            raise ValueError(f"--start {start_s:g} s is outside the file (0-{rec.duration:g} s)")
        if name is not None and not name.strip():
            rec.close()
            raise ValueError("stream name must not be empty")
        self.path = Path(path)
        self.name = name or self.path.name.split(".")[0]
        self.loop = loop
        self.start_index = round(start_s * rec.rate)
        self.progress = progress
        self.clock = clock
        self.source_id = content_id(self.path)
        self._eeg: pylsl.StreamOutlet | None = None
        self._markers: pylsl.StreamOutlet | None = None
        self.pushed = 0
        #: Seconds the outlets stay open after the last sample, so inlets receive it.
        self.linger_s = 2.0

    @property
    def markers_name(self) -> str:
        return f"{self.name}-markers"

    def summary(self) -> str:
        rec = self.recording
        speed = "as fast as the inlet takes" if self.speed is None else f"speed {self.speed:g}x"
        return (
            f"publishing LSL stream {self.name!r} (EEG, {rec.n_channels} ch @ {rec.rate:g} Hz, "
            f"source_id {self.source_id}) and {self.markers_name!r} from {self.path} "
            f"({rec.format}, {rec.duration:.1f} s, {len(rec.annotations)} annotations); {speed}"
            + ("; looping" if self.loop else "")
        )

    def open(self) -> None:
        """Create both outlets (``run`` does it if needed)."""
        if self._eeg is not None:
            return
        rec = self.recording
        info = eeg_info(
            self.name,
            rec.labels,
            rec.rate,
            self.source_id,
            manufacturer="eegmon",
            model=f"file player ({rec.format})",
            types=rec.types,
        )
        markers = markers_info(self.name, self.source_id)
        # As fast as possible: LSL must be able to hold the whole file for a slow inlet.
        buffered = 360 if self.speed is not None else max(360, math.ceil(rec.duration) + 1)
        self._eeg = pylsl.StreamOutlet(info, max_buffered=buffered)
        self._markers = pylsl.StreamOutlet(markers)

    def close(self) -> None:
        self._eeg = None
        self._markers = None
        self.recording.close()

    def run(self, stop: threading.Event) -> PlayStats:
        """Publish until the end of the file (or forever with `loop`) or until `stop` is set."""
        self.open()
        eeg, markers = self._eeg, self._markers
        assert eeg is not None
        assert markers is not None
        rec = self.recording
        rate = rec.rate
        # Start with the first inlet: a replay is watched from its first sample on.
        while not stop.is_set() and not eeg.wait_for_consumers(0.2):
            pass
        # Published sample k is file sample `first + k` of pass 0; later passes restart at 0.
        first = self.start_index
        chunk = 1 << 30 if self.speed is None else max(1, round(rate * self.speed / _PUSHES_PER_S))
        chunk = min(chunk, max(1, round(rate)))  # one second at most per push
        wall0 = self.clock()
        t0 = wall0 - first / rate  # stream time of file sample 0 in the first pass
        published = 0
        late = 0.0
        passes = 0
        try:
            while not stop.is_set():
                begin = first if passes == 0 else 0
                offset = passes * rec.n_samples  # stream samples before this pass's sample 0
                notes = [a for a in rec.annotations if a.onset * rate >= begin]
                next_note = 0
                for index in range(begin, rec.n_samples, chunk):
                    if stop.is_set():
                        break
                    data = rec.read(index, index + chunk)
                    n = data.shape[1]
                    if self.speed is not None:
                        due = wall0 + (published + n - 1) / (rate * self.speed)
                        wait = due - self.clock()
                        if wait > 0 and stop.wait(wait):
                            break
                        late = max(late, -wait)
                    while next_note < len(notes) and notes[next_note].onset * rate < index + n:
                        note = notes[next_note]
                        payload = {
                            "annotation": note.text,
                            "onset": note.onset,
                            "duration": note.duration,
                            "file": self.path.name,
                            "pass": passes + 1,
                        }
                        markers.push_sample(
                            [json.dumps(payload)], t0 + (offset + note.onset * rate) / rate
                        )
                        next_note += 1
                    last = offset + index + n - 1
                    eeg.push_chunk(np.ascontiguousarray(data.T), t0 + last / rate)
                    published += n
                    self.pushed += n
                    if self.progress is not None:
                        self.progress((index + n) / rate, rec.duration)
                else:
                    passes += 1
                    if self.loop:
                        continue
                    # Destroying an outlet drops what its inlets have not fetched yet.
                    stop.wait(self.linger_s)
                break
            return PlayStats(t0, self.pushed, passes, late)
        finally:
            self.close()
