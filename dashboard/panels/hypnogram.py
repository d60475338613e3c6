"""The night's hypnogram on the bed view: the sleep stage of each 30 s epoch so far.

A step plot, wake on top and deep sleep at the bottom, on the clock of the
bed view's time axis; an epoch still provisional (the monitor may revise it)
is drawn lighter than a final one. Redrawn only when an epoch arrived or
changed.

Names: ``hypnogram`` (the figure), ``hypnogram_source`` (one row per epoch:
``left``, ``right``, ``level``, ``previous`` (the level before), ``stage``,
``alpha``, ``color``). A click on an epoch calls `HypnogramPanel.on_jump`
with its onset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bokeh.events import Tap
from bokeh.models import ColumnDataSource, FixedTicker, Range1d
from bokeh.plotting import figure

from ..feed_client import FeedSnapshot
from ..stages import STAGE_COLORS, STAGE_LEVELS, SleepEpoch
from .timeaxis import TimeAxis, clock_formatter

#: Opacity of a final epoch and of a provisional one.
FINAL_ALPHA = 1.0
PROVISIONAL_ALPHA = 0.3
COLUMNS = ("left", "right", "level", "previous", "stage", "alpha", "color")


class HypnogramPanel:
    """The hypnogram of one bed, on the bed view's time axis."""

    def __init__(self, axis: TimeAxis, name: str = "hypnogram", x_range: Any = None) -> None:
        self.axis = axis
        self._key: tuple[Any, ...] = ()
        self.source = ColumnDataSource(name=f"{name}_source", data={k: [] for k in COLUMNS})
        self.figure = self._figure(name, x_range)
        #: Called with the stream time of the epoch clicked (the bed looks back there).
        self.on_jump: Callable[[float], None] | None = None
        self.figure.on_event(Tap, self._on_tap)

    def _figure(self, name: str, x_range: Any) -> Any:
        shared = {} if x_range is None else {"x_range": x_range}  # aligned with other plots
        fig = figure(
            name=name,
            title="Sleep stages, 30 s epochs (lighter: provisional)",
            height=130,
            sizing_mode="stretch_width",
            y_range=Range1d(start=-0.6, end=max(STAGE_LEVELS.values()) + 0.6),
            tools="",
            toolbar_location=None,
            min_border_left=60,
            **shared,
        )
        fig.xaxis.formatter = clock_formatter(self.axis.origin)
        fig.yaxis.ticker = FixedTicker(ticks=sorted(STAGE_LEVELS.values()))
        fig.yaxis.major_label_overrides = {level: s for s, level in STAGE_LEVELS.items()}
        fig.ygrid.grid_line_alpha = 0.3
        # each epoch a horizontal bar at its stage's level, joined by thin risers
        fig.quad(
            left="left", right="right", bottom="level", top="level", source=self.source,
            line_width=4, line_color="color", line_alpha="alpha",
        )  # fmt: skip
        fig.segment(
            x0="left", y0="previous", x1="left", y1="level", source=self.source,
            line_color="#90a4ae", line_width=1,
        )  # fmt: skip
        return fig

    def _on_tap(self, event: Tap) -> None:
        if not self._key or self.on_jump is None or event.x is None:
            return
        epochs, shift = self._key
        time = event.x - shift
        epoch = next((e for e in epochs if e.onset <= time < e.onset + e.duration), None)
        if epoch is not None:
            self.on_jump(epoch.onset)

    def update(self, snap: FeedSnapshot) -> None:
        """Redraw when an epoch arrived or changed, or the time axis moved."""
        shift = self.axis.shift(snap.wall_offset)
        if shift is None:
            return
        key = (snap.stages, round(shift, 1))
        if key == self._key:
            return
        self._key = key
        self.source.data = hypnogram_rows(snap.stages, shift)


def hypnogram_rows(epochs: tuple[SleepEpoch, ...], shift: float) -> dict[str, list[Any]]:
    """The columns of ``hypnogram_source`` for `epochs` (`shift`: stream time to x).

    >>> from dashboard.stages import SleepEpoch
    >>> epochs = (SleepEpoch(0, 100.0, 30.0, "W", 0.9, True),
    ...           SleepEpoch(1, 130.0, 30.0, "N2", 0.5, False))
    >>> rows = hypnogram_rows(epochs, shift=-100.0)
    >>> rows["left"], rows["level"], rows["previous"], rows["alpha"]
    ([0.0, 30.0], [4, 1], [4, 4], [1.0, 0.3])
    """
    levels = [STAGE_LEVELS[epoch.stage] for epoch in epochs]
    return {
        "left": [epoch.onset + shift for epoch in epochs],
        "right": [epoch.onset + epoch.duration + shift for epoch in epochs],
        "level": levels,
        "previous": levels[:1] + levels[:-1],
        "stage": [epoch.stage for epoch in epochs],
        "alpha": [FINAL_ALPHA if epoch.final else PROVISIONAL_ALPHA for epoch in epochs],
        "color": [STAGE_COLORS[epoch.stage] for epoch in epochs],
    }
