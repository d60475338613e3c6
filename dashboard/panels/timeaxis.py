"""The bed view's time axis: seconds since the session's start, labelled with the clock.

Stream times (the monitor's LSL clock) become x values through the offset
from the stream clock to the wall clock. The traces settle that offset when
they draw a page and every panel then uses the same one, so an alert's mark
sits on the samples that raised it.
"""

from __future__ import annotations

from bokeh.models import CustomJSTickFormatter


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
