"""The bed view's time axis: seconds since the session's start, labelled with the clock.

Stream times (the monitor's LSL clock) become x values through the offset
from the stream clock to the wall clock. The traces settle that offset when
they draw a page and every panel then uses the same one, so an alert's mark
sits on the samples that raised it.

The page either follows the newest samples (live) or stays where the
technician paged back to (`Pager`).
"""

from __future__ import annotations

from datetime import datetime

from bokeh.models import CustomJSTickFormatter

#: Where a jump puts its time on the page: this fraction of the page from its left edge.
JUMP_AT = 1 / 3


def clock_formatter(origin: float) -> CustomJSTickFormatter:
    """Tick labels ``HH:MM:SS`` (local time of the browser) of ``origin + tick`` seconds."""
    return CustomJSTickFormatter(
        args={"origin": origin},
        code="""
const d = new Date((origin + tick) * 1000);
const p = (n) => String(n).padStart(2, '0');
return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
""",
    )


class TimeAxis:
    """Where stream times go on the x axis of one bed view.

    Parameters
    ----------
    origin
        Wall-clock seconds that x = 0 stands for.

    Examples
    --------
    >>> axis = TimeAxis(origin=1000.0)
    >>> axis.shift(fallback=None) is None, axis.shift(fallback=1200.0)
    (True, 200.0)
    >>> axis.offset = 1100.0  # the traces drew a page with this offset
    >>> axis.shift(fallback=1200.0)
    100.0
    """

    def __init__(self, origin: float) -> None:
        self.origin = origin
        #: Stream time + offset = wall time, as the traces drew it (None before they drew).
        self.offset: float | None = None

    def shift(self, fallback: float | None) -> float | None:
        """What to add to a stream time to get x: by the traces' offset, else by `fallback`."""
        offset = self.offset if self.offset is not None else fallback
        return None if offset is None else offset - self.origin


def clock_label(wall: float) -> str:
    """``HH:MM:SS`` of wall-clock seconds `wall`, in the dashboard's local time."""
    return datetime.fromtimestamp(wall).strftime("%H:%M:%S")


class Pager:
    """Where the traces' page ends: at the newest sample (live) or at a fixed stream time.

    Times are stream seconds; `newest` and `oldest` are those of the samples kept.

    Examples
    --------
    >>> pager = Pager()
    >>> pager.back(10.0, newest=1000.0, oldest=900.0); pager.end
    990.0
    >>> pager.back(10.0, newest=1001.0, oldest=900.0); pager.end
    980.0
    >>> pager.forward(10.0, newest=1002.0); pager.end
    990.0
    >>> pager.forward(10.0, newest=1002.0); pager.end
    1000.0
    >>> pager.forward(10.0, newest=1002.0); pager.reviewing  # caught up: live again
    False
    >>> pager.jump(950.0, 30.0, newest=1003.0); pager.end  # 950 s a third into the page
    970.0
    >>> for _ in range(9): pager.back(30.0, newest=1003.0, oldest=900.0)
    >>> pager.end  # no further back than the oldest sample kept
    930.0
    """

    def __init__(self) -> None:
        #: The stream time the page ends at; None: live.
        self.end: float | None = None

    @property
    def reviewing(self) -> bool:
        return self.end is not None

    def live(self) -> None:
        self.end = None

    def back(self, page_s: float, newest: float, oldest: float) -> None:
        """One page back, not past the page that starts at `oldest`."""
        current = self.end if self.end is not None else newest
        self.end = min(current, max(current - page_s, oldest + page_s))

    def forward(self, page_s: float, newest: float) -> None:
        """One page forward; live once the page reaches `newest`."""
        if self.end is not None:
            self.end += page_s
            if self.end >= newest:
                self.end = None

    def jump(self, time: float, page_s: float, newest: float | None) -> None:
        """The page that shows `time` `JUMP_AT` from its start (ending at `newest` at most)."""
        end = time + (1 - JUMP_AT) * page_s
        self.end = end if newest is None else min(end, newest)
