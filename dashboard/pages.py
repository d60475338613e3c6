"""Pages of the monitor's recording, asked of the feed for looking back past what is kept.

A feed answers one ``page`` at a time per connection, so a feed client asks
one at a time too (again after `ANSWER_TIMEOUT_S` without an answer) and
keeps the newest answers, shared by every page of its bed.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from protocol import feed as protocol

#: Seconds to wait for a ``page`` answer before asking again.
ANSWER_TIMEOUT_S = 10.0
#: Answers kept (a few browser pages of one bed looking at different times).
KEPT_ANSWERS = 4
#: What a past page says while the recording's answer is awaited.
ASKING = "asking the recording…"


@dataclasses.dataclass(frozen=True)
class RecordedPage:
    """The samples of a span as the monitor's recording holds them.

    `times` is empty when the span is not recorded; `recorded` is the span the
    recording holds (stream times), None without a recording.
    """

    times: np.ndarray
    data: np.ndarray
    rate: float
    recorded: tuple[float, float] | None


class RecordedPages:
    """The pages asked of one feed and their answers (any thread).

    Parameters
    ----------
    send
        Hands a client message's text to the feed; False when it is not connected.
    """

    def __init__(self, send: Callable[[str, str], bool]) -> None:
        self._send = send
        self._lock = threading.Lock()
        self._count = 0
        self._asked: tuple[str, tuple[float, float], float] | None = None
        self._refused: dict[tuple[float, float], str] = {}  # why the feed did not answer
        self._answers: collections.OrderedDict[tuple[float, float], RecordedPage] = (
            collections.OrderedDict()
        )

    def get(self, start: float, end: float) -> RecordedPage | None:
        """The answer for `start`..`end`, once it arrived."""
        with self._lock:
            return self._answers.get((start, end))

    def ask(self, start: float, end: float) -> bool:
        """Ask for `start`..`end`, or later once another page awaited is answered.

        False when it cannot be sent (the feed is not connected).
        """
        with self._lock:
            now = time.monotonic()
            if self._asked is not None and now - self._asked[2] < ANSWER_TIMEOUT_S:
                return True
            self._count += 1
            ref = f"page-{self._count}"
            self._asked = (ref, (start, end), now)
        message = {"type": "page", "start": start, "end": end, "ref": ref}
        sent = self._send(protocol.encode(message), "page")
        if not sent:
            with self._lock:
                self._asked = None
        return sent

    def lookup(
        self, start: float, end: float, page_start: float
    ) -> tuple[RecordedPage | None, str]:
        """The recorded samples of `start`..`end` (asked when not here yet), and what to say.

        `page_start` is where the page shown starts (`start` is earlier by the
        display filter's lead-in): a recording that starts there says so.
        """
        page = self.get(start, end)
        if page is None:
            with self._lock:
                refused = self._refused.get((start, end))
            if refused is not None:
                return None, f"the recording could not be read: {refused}"
            return None, ASKING if self.ask(start, end) else "older samples are not kept"
        if not page.times.size:
            return None, "not recorded"
        first = page.recorded[0] if page.recorded else -math.inf
        starts = first >= page_start - 1 / page.rate
        return page, "from the recording" + (", which starts here" if starts else "")

    def put(self, message: dict[str, Any]) -> None:
        """Keep a feed's ``page`` answer to the page asked (feed thread)."""
        times = np.asarray(message.get("timestamps") or [], dtype=np.float64)
        data = np.asarray(message.get("data") or [], dtype=np.float32)  # null -> NaN
        if not times.size:
            data = data.reshape(0, 0)
        elif data.ndim != 2 or data.shape[1] != times.shape[0]:
            raise protocol.ProtocolError(f"page shape mismatch: {times.shape}, {data.shape}")
        rate = message.get("rate")
        if times.size and not (isinstance(rate, int | float) and 0 < rate <= 4096):
            raise protocol.ProtocolError(f"page rate {rate!r} out of range")
        recorded = message.get("recorded")
        span = None
        if isinstance(recorded, list) and len(recorded) == 2:
            span = (float(recorded[0]), float(recorded[1]))
        page = RecordedPage(times, data, float(rate) if rate else 0.0, span)
        with self._lock:
            if self._asked is None or message.get("ref") != self._asked[0]:
                return  # not ours, or asked by a connection that is gone
            key = self._asked[1]
            self._asked = None
            self._answers[key] = page
            while len(self._answers) > KEPT_ANSWERS:
                self._answers.popitem(last=False)

    def refused(self, message: dict[str, Any]) -> None:
        """The feed's ``error`` for the page asked: said on that page instead of waiting."""
        with self._lock:
            if self._asked is None or message.get("ref") != self._asked[0]:
                return
            key = self._asked[1]
            self._asked = None
            self._refused[key] = str(message.get("message") or "refused")[:200]
            while len(self._refused) > KEPT_ANSWERS:
                self._refused.pop(next(iter(self._refused)))

    def clear(self) -> None:
        """Forget the answers (another stream: its recording is another)."""
        with self._lock:
            self._refused.clear()
            self._answers.clear()
            self._asked = None
