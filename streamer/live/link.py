"""Where the monitor's thread meets the others: the hello, acknowledgements, notes, conditions.

It also answers the feed's ``page`` requests from the recording (on the
feed's worker threads, never the monitor's), once a recorder says where its
files are (`record_pages`).

Made before the feed, the recorder and the monitor, and handed to each, so
none of them is patched after construction: the feed's thread reads the
``hello`` snapshot and queues acknowledgements, a recorder's writer queues
conditions, and the monitor's thread drains both queues and keeps the
snapshot's active alerts (and the run's notes) current.
"""

from __future__ import annotations

import math
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from detector import DetectorConfig, StreamMeta
from protocol.feed import MAX_PAGE_VALUES, MAX_RUN_NOTES, PROTOCOL_VERSION
from protocol.kinds import SEVERITY_RANK
from streamer.live.display import average_down, display_factor, display_message
from streamer.live.session import Session
from streamer.recordings.pages import Segment, read_span

T = TypeVar("T")
#: A condition seen outside the signal: kind, active, message, evidence.
Condition = tuple[str, bool, str, dict[str, float]]
#: An acknowledgement: alert id, who it is journaled under, notes kept beside it.
Ack = tuple[str, str, dict[str, str]]
#: A note: its text, who it is journaled under, fields kept beside it, the sender's ref.
Note = tuple[str, str, dict[str, str], str | None]


class MonitorLink:
    """The hello snapshot and the two queues the monitor drains.

    Parameters
    ----------
    meta, config, stall_timeout
        What the monitor watches and how: the fixed part of every ``hello``.
    session
        This monitor run, carried by every ``hello`` and ``status`` (a new one,
        without a patient, when not given).
    """

    def __init__(
        self,
        meta: StreamMeta,
        config: DetectorConfig,
        stall_timeout: float,
        session: Session | None = None,
    ) -> None:
        self.meta = meta
        self.config = config
        self.stall_timeout = stall_timeout
        self.session = session if session is not None else Session.start()
        self._acks: queue.SimpleQueue[Ack] = queue.SimpleQueue()
        self._conditions: queue.SimpleQueue[Condition] = queue.SimpleQueue()
        self._notes_in: queue.SimpleQueue[Note] = queue.SimpleQueue()
        self._notes: deque[dict[str, Any]] = deque(maxlen=MAX_RUN_NOTES)
        self._active: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._segments: Callable[[], list[Segment]] | None = None

    def record_pages(self, segments: Callable[[], list[Segment]]) -> None:
        """Answer ``page`` requests from the files `segments` lists (the recorder's)."""
        self._segments = segments

    # -- called from the feed's thread -------------------------------------------------
    def hello(self) -> dict[str, Any]:
        """The ``hello`` message of a new feed client: the stream and its active alerts."""
        meta = self.meta
        with self._lock:
            active = sorted(
                self._active.values(), key=lambda a: (SEVERITY_RANK[a["severity"]], a["onset"])
            )
            notes = list(self._notes)
        return {
            "type": "hello",
            "version": PROTOCOL_VERSION,
            "stream": {
                "name": meta.name,
                "source_id": meta.source_id,
                "stream_type": meta.stream_type,
                "rate": meta.rate,
                "labels": list(meta.labels),
            },
            "display_rate": meta.rate / display_factor(meta.rate),
            "config": {
                "window_s": self.config.window_s,
                "hop_s": self.config.hop_s,
                "stall_timeout_s": self.stall_timeout,
            },
            "alerts": active,
            "notes": notes,
            **self.session.fields(),
        }

    def page(self, start: float, end: float) -> dict[str, Any]:
        """The ``page`` answer for `start`..`end` (any thread but the monitor's: it reads disk).

        Averaged down as ``traces`` are, and further when the channels are so
        many that the answer would pass `MAX_PAGE_VALUES`.
        """
        rate = self.meta.rate
        factor = display_factor(rate)
        values = self.meta.n_channels * (end - start) * rate / factor
        factor *= max(1, math.ceil(values / MAX_PAGE_VALUES))
        segments = self._segments() if self._segments is not None else []
        times, data = read_span(segments, start, end, factor)
        means, stamps, _ = average_down(data, times, factor)
        recorded = [segments[0].t0, segments[-1].end()] if segments else None
        answer = display_message("page", rate / factor, stamps, means)
        return answer | {"start": start, "end": end, "recorded": recorded}

    def acknowledge(self, alert_id: str, who: str, notes: dict[str, str] | None = None) -> None:
        """Queue an acknowledgement by `who`; `notes` (``who_said``, ``via``) go to the journal."""
        self._acks.put((alert_id, who, dict(notes or {})))

    def note(self, text: str, who: str, fields: dict[str, str], ref: str | None = None) -> None:
        """Queue a note by `who`; `fields` (``who_said``, ``via``) go to the journal."""
        self._notes_in.put((text, who, dict(fields), ref))

    # -- called from any thread (e.g. a recorder's writer) ------------------------------
    def set_condition(
        self, kind: str, active: bool, message: str, evidence: dict[str, float]
    ) -> None:
        """A condition seen outside the signal (`recording_failed`), raised or cleared.

        Turned into an alert on the monitor's thread by `Detector.set_condition`,
        so it is journaled, published and sent to sinks like any other alert.
        """
        self._conditions.put((kind, active, message, dict(evidence)))

    # -- called from the monitor's thread ----------------------------------------------
    def acks(self) -> Iterator[Ack]:
        """The acknowledgements queued since the last call."""
        yield from _drain(self._acks)

    def conditions(self) -> Iterator[Condition]:
        """The conditions queued since the last call."""
        yield from _drain(self._conditions)

    def notes(self) -> Iterator[Note]:
        """The notes queued since the last call."""
        yield from _drain(self._notes_in)

    def keep_note(self, note: dict[str, Any]) -> None:
        """Keep a note taken for the next hellos (the newest `MAX_RUN_NOTES`)."""
        with self._lock:
            self._notes.append(note)

    def keep(self, record: dict[str, Any]) -> None:
        """Track an alert's newest record for the next hellos, or forget it once cleared."""
        with self._lock:
            if record["state"] == "cleared":
                self._active.pop(str(record["id"]), None)
            else:
                self._active[str(record["id"])] = record

    def active_severities(self) -> list[str]:
        with self._lock:
            return [str(a["severity"]) for a in self._active.values()]


def _drain(items: queue.SimpleQueue[T]) -> Iterator[T]:
    while True:
        try:
            yield items.get_nowait()
        except queue.Empty:
            return
