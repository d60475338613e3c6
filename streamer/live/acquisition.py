"""Acquisition: one LSL inlet read into `Block`s, with gap accounting and a stall watchdog.

Samples are pulled straight into a preallocated buffer of the stream's own
sample type (``pull_chunk(dest_obj=...)``, about 9x faster than Python lists;
liblsl refuses a buffer of another type), converted once to float32 microvolts and stamped with
the LSL clock plus ``time_correction``. The sample index follows the
timestamps, so samples the network or LSL's own buffer lost show as a jump in
``Block.first_index``. LSL's built-in recovery stays silent for about 15 s, so
we watch for stalls ourselves and look for the same source_id again.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pylsl
from pylsl.util import LostError
from pylsl.util import TimeoutError as LslTimeout

from detector.types import Block, StreamMeta
from streamer.live.lsl import channel_metadata, stream_meta

log = logging.getLogger(__name__)


class StreamRefused(ValueError):
    """A stream that cannot be monitored as EEG (string format, irregular rate...)."""


#: The numpy type liblsl writes for each numeric LSL channel format.
SAMPLE_TYPES: dict[int, type[np.number]] = {
    pylsl.cf_float32: np.float32,
    pylsl.cf_double64: np.float64,
    pylsl.cf_int8: np.int8,
    pylsl.cf_int16: np.int16,
    pylsl.cf_int32: np.int32,
    pylsl.cf_int64: np.int64,
}


@dataclass
class AcquisitionStats:
    """Counters exported in `status`."""

    samples: int = 0
    samples_dropped: int = 0
    gaps: int = 0
    reconnects: int = 0
    last_timestamp: float | None = None
    time_correction: float = 0.0


class Acquisition:
    """Reads one EEG stream; call `read` in a loop from a single thread.

    Parameters
    ----------
    info
        The resolved stream.
    buffer_s
        LSL's inlet buffer, in seconds: what is kept when the reader falls behind
        (older samples are dropped by LSL and counted here as a gap).
    gap_tolerance
        How many sample periods of timestamp jitter are tolerated before a jump
        counts as missing samples.
    """

    def __init__(
        self,
        info: pylsl.StreamInfo,
        *,
        buffer_s: int = 360,
        max_chunk_s: float = 1.0,
        gap_tolerance: float = 0.75,
        clock: Callable[[], float] = pylsl.local_clock,
    ) -> None:
        sample_type = SAMPLE_TYPES.get(info.channel_format())
        if sample_type is None:
            raise StreamRefused(f"stream {info.name()!r} carries strings, not EEG samples")
        if info.nominal_srate() <= 0:
            raise StreamRefused(
                f"stream {info.name()!r} has an irregular rate; EEG monitoring needs a regular rate"
            )
        self.buffer_s = buffer_s
        self.gap_tolerance = gap_tolerance
        self.clock = clock
        self.stats = AcquisitionStats()
        self._resolved = info
        try:
            self._inlet = self._open(info)
            full = self._inlet.info(timeout=5.0)
        except (LslTimeout, LostError):
            raise StreamRefused(
                f"stream {info.name()!r} was found but did not answer within 5 s"
            ) from None
        self.meta: StreamMeta = stream_meta(full)
        _, scales = channel_metadata(full)
        self._scale = np.asarray(scales, dtype=np.float32)[:, None]
        self._rescale = bool(np.any(self._scale != 1.0))
        rate = self.meta.rate
        self._capacity = max(1, int(np.ceil(rate * max_chunk_s)))
        self._buffer = np.zeros((self._capacity, self.meta.n_channels), dtype=sample_type)
        self._next_index = 0
        self._last_sample_clock = clock()
        self._last_correction_clock = -np.inf
        self._uid = info.uid()
        self._gone = False
        if not info.source_id():
            log.warning(
                "stream %r has no source_id: if it stops, it cannot be told from another "
                "device and will not be taken back; restart the monitor or give it a source_id",
                info.name(),
            )
        self._update_time_correction(timeout=2.0)

    def _open(self, info: pylsl.StreamInfo) -> pylsl.StreamInlet:
        inlet = pylsl.StreamInlet(info, max_buflen=self.buffer_s, recover=True)
        inlet.open_stream(timeout=5.0)  # subscribe now: samples from here on are kept
        return inlet

    def _update_time_correction(self, timeout: float) -> None:
        try:
            self.stats.time_correction = self._inlet.time_correction(timeout=timeout)
        except (LslTimeout, LostError):
            return  # keep the last estimate; the watchdog reports the stream itself
        self._last_correction_clock = self.clock()

    def silent_for(self) -> float:
        """Seconds since the last sample arrived."""
        return self.clock() - self._last_sample_clock

    def read(self, timeout: float) -> list[Block]:
        """Pull what is available (waiting up to `timeout` for the first sample).

        A pull that spans missing samples is split at each gap, so every block
        is a run of consecutive samples and its `first_index` is exact.
        """
        if self._gone:  # nothing will come from this inlet again: wait like an empty pull
            time.sleep(timeout)
            return []
        try:
            _, timestamps = self._inlet.pull_chunk(
                timeout=timeout, max_samples=self._capacity, dest_obj=self._buffer, min_samples=1
            )
        except LostError:  # an outlet without source_id went away; the watchdog reports it
            self._gone = True
            return []
        n = len(timestamps)
        if n == 0:
            return []
        now = self.clock()
        self._last_sample_clock = now
        if now - self._last_correction_clock > 5.0:
            self._update_time_correction(timeout=0.0)
        stamps = np.asarray(timestamps, dtype=np.float64) + self.stats.time_correction
        # One conversion, which is also the copy: the buffer is reused by the next pull.
        data = self._buffer[:n].T.astype(np.float32, order="C")
        if self._rescale:
            data *= self._scale
        previous = self.stats.last_timestamp
        steps = np.diff(stamps, prepend=stamps[0] if previous is None else previous)
        periods = steps * self.meta.rate
        gap_before = periods - 1.0 > self.gap_tolerance
        bounds = [0, *np.flatnonzero(gap_before[1:]) + 1, n]
        blocks: list[Block] = []
        for begin, end in itertools.pairwise(bounds):
            missing = round(periods[begin]) - 1 if gap_before[begin] else 0
            if missing > 0:
                self.stats.samples_dropped += missing
                self.stats.gaps += 1
            first_index = self._next_index + missing
            self._next_index = first_index + (end - begin)
            block = Block(data[:, begin:end], stamps[begin:end], first_index, acquired_at=now)
            blocks.append(block)
        self.stats.samples += n
        self.stats.last_timestamp = float(stamps[-1])
        return blocks

    def reconnect(self, timeout: float = 0.3) -> bool:
        """Look for a new outlet with this stream's source_id and switch to it.

        Only the same source_id is accepted, so another device appearing under
        the same name is never mixed into this patient's data. A new outlet
        whose channels differ is refused and logged.
        """
        source_id = self._resolved.source_id()
        if not source_id:
            return False  # without a source_id only LSL's own recovery can find it again
        for candidate in pylsl.resolve_byprop("source_id", source_id, minimum=1, timeout=timeout):
            if candidate.uid() == self._uid or candidate.name() != self.meta.name:
                continue
            if (
                candidate.channel_count() != self.meta.n_channels
                or candidate.nominal_srate() != self.meta.rate
            ):
                log.warning(
                    "stream %r came back with %d channels at %g Hz (was %d at %g Hz): refused",
                    candidate.name(),
                    candidate.channel_count(),
                    candidate.nominal_srate(),
                    self.meta.n_channels,
                    self.meta.rate,
                )
                continue
            self._inlet.close_stream()
            self._inlet = self._open(candidate)
            self._uid = candidate.uid()
            self._gone = False
            self.stats.reconnects += 1
            self._update_time_correction(timeout=1.0)
            return True
        return False

    def close(self) -> None:
        self._inlet.close_stream()
