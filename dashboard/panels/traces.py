"""The traces panel: stacked EEG channels, the anomaly score strip, alert marks on both.

Traces are drawn the way an EEG reviewer reads them: stacked channels with
their labels, negative up, a clock-time axis with a grid line every second,
10, 15, 30 or 60 s pages, a sensitivity in µV per division (one division is the
distance between two channels) and a gain of each channel on top of it, a
display filter (0.5-35 Hz; off leaves only a 0.1 Hz DC blocker), a montage
(`dashboard.montage`) and hidden channels, channels under a quality alert on
a red band. The montage, gains and filter apply to the derived traces only:
the feed's channels stay as recorded. All
channels are ONE ``multi_line`` renderer (WebGL); each refresh streams one
row holding the new samples of every channel, min/max-decimated to the
page's pixel columns, with ``rollover`` so the browser keeps one page.

Looking back (`TracesPanel.page_back`, `jump_to`) stops following the live
samples: the page is drawn once from the night's traces the feed client
keeps or, older than those, from the monitor's recording (a ``page`` asked
of the feed, drawn when it answers), filtered from `FILTER_SETTLE_S` before
the page like a live redraw, with the same montage, gains and sensitivity;
`go_live` returns.

Names: ``traces``, ``traces_yaxis``, ``traces_source`` (columns ``xs``,
``ys``, ``t_end``: newest stream time of the row, ``received``: wall time the
feed client received it), ``highlight_source``, ``marks_source``, ``scores``,
``scores_source``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal, TypeGuard

import numpy as np
from bokeh.models import (
    BasicTicker,
    ColumnDataSource,
    DataRange1d,
    FixedTicker,
    Range1d,
    SingleIntervalTicker,
)
from bokeh.plotting import figure
from scipy import signal

from ..alarm import SEVERITY_COLORS, as_float
from ..decimate import break_gaps, minmax_decimate
from ..feed_client import FeedClient, FeedSnapshot
from ..montage import AS_RECORDED, Derived, Montage, derive
from ..pages import ASKING
from .timeaxis import Pager, TimeAxis, clock_formatter, clock_label

Render = Literal["webgl", "canvas"]
RENDERERS: tuple[Render, ...] = ("webgl", "canvas")
#: New traces are pushed to the page as they arrive (the monitor sends 10 a second),
#: at most one row per this many seconds.
MIN_PUSH_S = 0.05
PAGES_S = (10, 15, 30, 60)
#: µV per division (a division is the spacing between two channels).
SENSITIVITIES_UV = (10, 20, 30, 50, 70, 100, 150, 200, 300, 500, 1000)
DEFAULT_SENSITIVITY_UV = 100
#: Deflections beyond this many divisions are clipped, so one artefact cannot hide the rest.
CLIP_DIVISIONS = 1.5
#: Channels drawn; a bigger cap shows its first ones.
MAX_TRACE_CHANNELS = 64
#: Pixel columns a page is decimated to (a wide screen; two points per column).
PAGE_PIXELS = 1400
FILTER_BAND_HZ = (0.5, 35.0)
DC_BLOCK_HZ = 0.1
#: Seconds of samples before the page used to settle the filter after a redraw.
FILTER_SETTLE_S = 8.0
SCORE_ROWS = 400


def is_render(value: object) -> TypeGuard[Render]:
    """Whether `value` names a way to draw the traces (`RENDERERS`)."""
    return value in RENDERERS


def display_filter(rate: float, on: bool) -> np.ndarray:
    """Second-order sections of the display filter at the traces' `rate`."""
    low, high = FILTER_BAND_HZ
    if not on:
        sos = signal.butter(1, DC_BLOCK_HZ, btype="highpass", fs=rate, output="sos")
    elif high < 0.45 * rate:
        sos = signal.butter(2, [low, high], btype="bandpass", fs=rate, output="sos")
    else:
        sos = signal.butter(2, low, btype="highpass", fs=rate, output="sos")
    return np.asarray(sos)


class TracesPanel:
    """The traces and the score strip of one bed, on the shared `axis`.

    Parameters
    ----------
    client
        The bed's feed (read again in full when a partial snapshot cannot be drawn).
    axis
        The bed view's time axis; the traces set its offset when they draw a page.
    render
        ``"webgl"`` or ``"canvas"``: how the traces are drawn.
    """

    def __init__(self, client: FeedClient, axis: TimeAxis, render: Render) -> None:
        self.client = client
        self.axis = axis
        self.page_s = float(PAGES_S[0])
        self.sensitivity_uv = float(DEFAULT_SENSITIVITY_UV)
        self.filter_on = True
        self.montage: Montage = AS_RECORDED
        self.hidden: set[str] = set()
        self.gains: dict[str, float] = {}  #: by derived label; absent is 1
        self._recorded: tuple[str, ...] | None = None
        self._derived: Derived | None = None
        self._matrix: np.ndarray | None = None  #: the shown derivations; None: as recorded
        #: Called when the derived channels or their settings change (the controls' menus).
        self.on_view: Callable[[], None] | None = None
        self.pager = Pager()
        #: Called when looking back starts, moves or ends (the controls' Live button).
        self.on_review: Callable[[], None] | None = None
        self._origin = ""  #: where a past page comes from, when not from what is kept
        self._asking: tuple[float, float] | None = None  #: the recording's page awaited
        self._empty_title = ""
        self._dirty = True  # the traces must be redrawn from the ring
        self._hellos = -1
        self._last_t: float | None = None
        self._last_xy: tuple[float, np.ndarray] | None = None
        self._sos: np.ndarray | None = None
        self._zi: np.ndarray | None = None
        self._rate = 0.0
        self._labels: tuple[str, ...] | None = None
        self._sources: tuple[frozenset[str], ...] = ()
        self._gain = np.ones(0)
        self._flagged: set[str] = set()
        self._scores_version = -1
        self._scores_end = -math.inf
        self.source = ColumnDataSource(
            name="traces_source", data={"xs": [], "ys": [], "t_end": [], "received": []}
        )
        self.highlight_source = ColumnDataSource(
            name="highlight_source", data={"y0": [], "y1": [], "label": []}
        )
        self.marks_source = ColumnDataSource(
            name="marks_source", data={"x0": [], "x1": [], "color": [], "kind": []}
        )
        self.scores_source = ColumnDataSource(
            name="scores_source", data={"x": [], "score": [], "threshold": []}
        )
        self.figure = self._traces_figure(render)
        self.scores = self._scores_figure()

    # -- models ------------------------------------------------------------------------

    def _traces_figure(self, render: Render) -> Any:
        """Clock-time x (seconds since the origin), one division per channel, negative up."""
        fig = figure(
            name="traces",
            height=420,
            sizing_mode="stretch_width",
            x_range=Range1d(start=-self.page_s, end=0),
            y_range=Range1d(start=-0.5, end=0.5),
            tools="",
            toolbar_location=None,
            output_backend=render,
            min_border_left=60,
        )
        fig.hstrip(
            y0="y0", y1="y1", source=self.highlight_source, fill_color="#ffcdd2", line_alpha=0
        )
        # Alert onsets as lines across the traces; their spans shade the score strip.
        fig.vspan(x="x0", source=self.marks_source, line_color="color", line_width=2)
        fig.multi_line(xs="xs", ys="ys", source=self.source, line_width=1, line_color="#102a43")
        fig.yaxis.name = "traces_yaxis"
        fig.yaxis.ticker = FixedTicker(ticks=[])
        fig.yaxis.major_label_text_font_size = "12px"
        fig.yaxis.axis_label = "negative up"
        fig.yaxis.axis_label_text_font_size = "10px"
        fig.xaxis.formatter = clock_formatter(self.axis.origin)
        fig.xaxis.ticker = SingleIntervalTicker(interval=1, num_minor_ticks=0)
        fig.xgrid.grid_line_alpha = 0.35
        fig.ygrid.grid_line_alpha = 0.0
        return fig

    def _scores_figure(self) -> Any:
        fig = figure(
            name="scores",
            height=110,
            sizing_mode="stretch_width",
            x_range=self.figure.x_range,
            y_range=DataRange1d(start=0),
            tools="",
            toolbar_location=None,
            min_border_left=60,
        )
        fig.vstrip(
            x0="x0", x1="x1", source=self.marks_source, fill_color="color", fill_alpha=0.3,
            line_alpha=0,
        )  # fmt: skip
        fig.line("x", "score", source=self.scores_source, color="#6a1b9a", line_width=2)
        fig.line("x", "threshold", source=self.scores_source, color="#d32f2f", line_dash="dashed")
        fig.yaxis.axis_label = "anomaly"
        fig.yaxis.ticker = BasicTicker(desired_num_ticks=3)
        fig.xaxis.formatter = clock_formatter(self.axis.origin)
        fig.xaxis.ticker = self.figure.xaxis.ticker
        return fig

    # -- display settings (document thread) --------------------------------------------

    def set_page(self, seconds: float) -> None:
        self.page_s = seconds
        interval = 1 if seconds <= 15 else 5 if seconds <= 30 else 10
        ticker = SingleIntervalTicker(interval=interval, num_minor_ticks=0)
        self.figure.xaxis.ticker = ticker
        self.scores.xaxis.ticker = ticker
        self._dirty = True

    def set_sensitivity(self, uv_per_division: float) -> None:
        self.sensitivity_uv = uv_per_division
        self._dirty = True

    def set_filter(self, on: bool) -> None:
        self.filter_on = on
        self._dirty = True

    def set_montage(self, montage: Montage) -> None:
        self.montage = montage
        self._set_view()

    def set_hidden(self, label: str, hidden: bool) -> None:
        """Hide or show one derived channel (`derived_labels`); all of them with ``""``."""
        if not label:
            self.hidden.clear()
        elif hidden:
            self.hidden.add(label)
        else:
            self.hidden.discard(label)
        self._set_view()

    def set_gain(self, label: str, gain: float) -> None:
        """Draw channel `label` `gain` times larger than the page's sensitivity says."""
        if gain == 1.0:
            self.gains.pop(label, None)
        else:
            self.gains[label] = gain
        self._set_view()

    def derived_labels(self) -> tuple[str, ...]:
        """Every channel of the montage on this bed, hidden or not."""
        return self._derived.labels if self._derived is not None else ()

    def _set_view(self) -> None:
        """The derivations shown, from the montage, the recorded channels and the hidden ones."""
        recorded = self._recorded or ()
        self._derived = derive(self.montage, recorded)
        rows = [i for i, label in enumerate(self._derived.labels) if label not in self.hidden]
        as_recorded = self.montage.derivations is None and len(rows) == len(recorded)
        self._matrix = None if as_recorded else self._derived.matrix[rows]
        self._labels = tuple(self._derived.labels[i] for i in rows)
        self._sources = tuple(self._derived.sources[i] for i in rows)
        self._gain = np.array([self.gains.get(label, 1.0) for label in self._labels])
        empty = bool(recorded) and not self._labels
        self._empty_title = "No channel shown: another montage, or Show all" if empty else ""
        self._show_title()
        self._set_axis()
        self._highlight()
        self._dirty = True
        if self.on_view is not None:
            self.on_view()

    def _apply(self, data: np.ndarray) -> np.ndarray:
        """The shown derivations of the recorded `data` (n_ch, n); NaN where a source is."""
        if self._matrix is None:
            return data
        x = data.astype(np.float64)
        bad = ~np.isfinite(x)
        x[bad] = 0.0
        derived: np.ndarray = self._matrix @ x
        if bad.any():
            derived[((self._matrix != 0).astype(np.float64) @ bad) > 0] = np.nan
        return derived

    # -- looking back (document thread) -----------------------------------------------

    @property
    def reviewing(self) -> bool:
        """Whether the page stays where the technician looked back to (not live)."""
        return self.pager.reviewing

    def page_back(self) -> None:
        """One page further back, no further than the oldest sample kept."""
        span = self._kept()
        newest = self._last_t if self._last_t is not None and not self.reviewing else None
        if span is not None:
            self._review(lambda: self.pager.back(self.page_s, newest or span[1], span[0]))

    def page_forward(self) -> None:
        """One page forward; live again once the page reaches the newest sample."""
        span = self._kept()
        if span is not None and self.reviewing:
            self._review(lambda: self.pager.forward(self.page_s, span[1]))

    def jump_to(self, time: float) -> None:
        """Look back at stream time `time` (an alert's onset, a sleep epoch)."""
        span = self._kept()
        self._review(lambda: self.pager.jump(time, self.page_s, span[1] if span else None))

    def go_live(self) -> None:
        """Follow the newest samples again."""
        if self.reviewing:
            self._review(self.pager.live)

    def _kept(self) -> tuple[float, float] | None:
        """The stream times of the oldest sample kept or recorded and of the newest kept."""
        span = self.client.night_traces(math.inf, -math.inf)[2]
        recording = self.client.snapshot(traces=False).status.get("recording")
        since = recording.get("from") if isinstance(recording, dict) else None
        if span is None or not isinstance(since, int | float):
            return span
        return min(span[0], float(since)), span[1]

    def _review(self, move: Callable[[], None]) -> None:
        move()
        self._origin, self._asking = "", None
        self._dirty = True
        if self.on_review is not None:
            self.on_review()

    def review_text(self) -> str:
        """What the page shows while looking back (clock times), or ``""`` when live."""
        end, offset = self.pager.end, self.axis.offset
        if end is None or offset is None:
            return ""
        shown = f"{clock_label(end - self.page_s + offset)}–{clock_label(end + offset)}"
        return f"Reviewing {shown}" + (f" · {self._origin}" if self._origin else "")

    def _show_title(self) -> None:
        review = self.review_text()
        parts = [self._empty_title, f"{review} · Live to return" if review else ""]
        self.figure.title.text = " · ".join(p for p in parts if p)

    def _draw_review(self, snap: FeedSnapshot) -> None:
        """The page that ends at the pager's time, from the night's traces or the recording."""
        end = self.pager.end
        assert end is not None
        start = end - self.page_s - FILTER_SETTLE_S
        times, data, _ = self.client.night_traces(start, end, MAX_TRACE_CHANNELS)
        rate, origin = None, self._origin
        kept = np.count_nonzero(times > end - self.page_s) / (self.page_s * snap.display_rate)
        if kept < 0.95:  # older than kept, or sent while the feed was away: the recording's
            page, self._origin = self.client.pages.lookup(start, end, end - self.page_s)
            self._asking = (start, end) if self._origin == ASKING else None
            if page is not None:
                times, data, rate = page.times, page.data[:MAX_TRACE_CHANNELS], page.rate
        if data.shape[0] != len(self._recorded or ()):
            return  # of another stream than the labels: the next refresh matches
        self._redraw(snap, times, self._apply(data), end, rate)
        self._show_title()
        if self._origin != origin and self.on_review is not None:
            self.on_review()

    # -- refresh (document thread) -----------------------------------------------------

    def newest_drawn(self) -> float | None:
        """The stream time the page is drawn up to; None when the whole page must be redrawn."""
        return None if self._dirty else self._last_t

    def update(self, snap: FeedSnapshot, partial: bool) -> None:
        """Draw the traces and scores of `snap` (`partial`: only samples after `newest_drawn`)."""
        self._update_traces(snap, partial)
        self._update_scores(snap)

    def _update_traces(self, snap: FeedSnapshot, partial: bool) -> None:
        recorded = snap.labels[:MAX_TRACE_CHANNELS]
        if recorded != self._recorded:
            self._recorded = recorded
            self._set_view()
        offset = self.axis.offset
        if snap.hellos != self._hellos or (
            snap.wall_offset is not None
            and offset is not None
            and abs(snap.wall_offset - offset) > 0.5
        ):
            self._hellos = snap.hellos
            self._dirty = True
        if self.reviewing:
            if self._asking is not None and self.client.pages.get(*self._asking) is not None:
                self._dirty = True  # the recording's page arrived
            elif self._asking is not None:
                self.client.pages.ask(*self._asking)  # once another page awaited is answered
            if self._dirty and snap.wall_offset is not None and snap.display_rate:
                self._draw_review(snap)
            return
        if self._dirty and partial:
            # `snap` holds only the newest samples: read the whole window again.
            snap = self.client.snapshot(max_channels=MAX_TRACE_CHANNELS)
        times, data = snap.trace_times, snap.trace_data
        if times is None or data is None or snap.wall_offset is None or not snap.display_rate:
            return
        if data.shape[0] != len(self._recorded or ()):
            return  # a snapshot of another stream than the labels: the next one matches
        data = self._apply(data)
        if not data.shape[0]:
            self.source.data = {"xs": [], "ys": [], "t_end": [], "received": []}
            self._dirty = True
            return
        if self._dirty:
            self._redraw(snap, times, data, None)
            self._show_title()
        elif times.size:
            self._stream(snap, times, data)

    def _set_axis(self) -> None:
        labels = self._labels or ()
        n = max(1, len(labels))
        ticks = [float(-i) for i in range(len(labels))]
        self.figure.yaxis.ticker = FixedTicker(ticks=ticks)
        gains = [self.gains.get(label, 1.0) for label in labels]
        self.figure.yaxis.major_label_overrides = {
            t: ("⚠ " if sources & self._flagged else "")
            + label
            + (f" ×{gain:g}" if gain != 1.0 else "")
            for t, label, sources, gain in zip(ticks, labels, self._sources, gains, strict=True)
        }
        self.figure.y_range.update(start=-n + 0.5 - 0.3, end=0.5 + 0.3)
        self.figure.height = int(min(960, max(320, 26 * n + 70)))

    def _filtered(self, data: np.ndarray) -> np.ndarray:
        """Run the display filter over `data` (n_ch, n), continuing its state."""
        assert self._sos is not None
        assert self._zi is not None
        x = data.astype(np.float64)
        bad = ~np.isfinite(x)
        if bad.any():
            x[bad] = 0.0
        y: np.ndarray
        y, self._zi = signal.sosfilt(self._sos, x, axis=1, zi=self._zi)
        if bad.any():
            y[bad] = np.nan
        return y

    def _to_plot(self, times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shift = self.axis.shift(None)
        assert shift is not None
        offsets = -np.arange(values.shape[0], dtype=np.float64)[:, None]
        scale = self._gain[:, None] / self.sensitivity_uv
        y = offsets - np.clip(values * scale, -CLIP_DIVISIONS, CLIP_DIVISIONS)
        return times + shift, y

    def _redraw(
        self,
        snap: FeedSnapshot,
        times: np.ndarray,
        data: np.ndarray,
        end: float | None,
        rate: float | None = None,
    ) -> None:
        """Draw the whole page again (new stream, page, sensitivity, filter, looking back).

        The page ends at stream time `end`, or at the newest sample when None;
        `rate`: of a page of the recording, when not the display rate.
        """
        self._dirty = False
        if snap.wall_offset != self.axis.offset:  # scores drawn on the old clock mapping go too
            self.scores_source.data = {"x": [], "score": [], "threshold": []}
            self._scores_version, self._scores_end = -1, -math.inf
        self.axis.offset = snap.wall_offset
        self._rate = rate or snap.display_rate
        self._sos = display_filter(self._rate, self.filter_on)
        self._last_xy = None
        t_end = end if end is not None else float(times[-1]) if times.size else None
        if t_end is not None:
            keep = (times > t_end - self.page_s - FILTER_SETTLE_S) & (times <= t_end)
            times, data = times[keep], data[:, keep]
        if t_end is None or not times.size:
            self._last_t = None
            self.source.data = {"xs": [], "ys": [], "t_end": [], "received": []}
            if t_end is not None:
                self._follow(t_end)
            return
        first = np.nan_to_num(data[:, :1].astype(np.float64))
        self._zi = signal.sosfilt_zi(self._sos)[:, None, :] * first[None, :, :]
        filtered = self._filtered(data)
        shown = times > t_end - self.page_s
        self._last_t = float(times[-1])
        if shown.any():
            row_data = self._row(*break_gaps(times[shown], filtered[:, shown], 3.0 / self._rate))
            self.source.data = {k: [v] for k, v in row_data.items()} | {
                "received": [snap.traces_received_wall]
            }
        else:
            self.source.data = {"xs": [], "ys": [], "t_end": [], "received": []}
        self._follow(t_end)

    def _stream(self, snap: FeedSnapshot, times: np.ndarray, data: np.ndarray) -> None:
        if self._zi is None or self._zi.shape[1] != data.shape[0]:
            self._dirty = True
            return
        gap = self._last_t is not None and times[0] - self._last_t > 3.0 / self._rate
        self._last_t = float(times[-1])
        row_data = self._row(times, self._filtered(data), connect=not gap)
        rollover = math.ceil(self.page_s / MIN_PUSH_S) + 60
        new: dict[str, Any] = {k: [v] for k, v in row_data.items()}
        new["received"] = [snap.traces_received_wall]
        self.source.stream(new, rollover=rollover)
        self._follow(self._last_t)

    def _row(self, times: np.ndarray, values: np.ndarray, connect: bool = False) -> dict[str, Any]:
        """One multi_line row: every channel's new points, joined to the previous row."""
        span = float(times[-1] - times[0]) if times.size > 1 else 0.0
        bins = max(1, math.ceil(PAGE_PIXELS * span / self.page_s))
        times, values = minmax_decimate(times, values, bins)
        x, y = self._to_plot(times, values)
        n_ch, k = y.shape
        xs = np.empty((n_ch, k + 2))
        ys = np.empty((n_ch, k + 2), dtype=np.float32)
        xs[:, 1 : k + 1] = x
        ys[:, 1 : k + 1] = y
        xs[:, -1] = ys[:, -1] = np.nan  # ends this channel's piece
        if connect and self._last_xy is not None and self._last_xy[1].shape[0] == n_ch:
            xs[:, 0], ys[:, 0] = self._last_xy
        else:
            xs[:, 0], ys[:, 0] = x[0], y[:, 0]
        self._last_xy = (float(x[-1]), y[:, -1].copy())
        return {"xs": xs.ravel(), "ys": ys.ravel(), "t_end": float(times[-1])}

    def _follow(self, t_end: float) -> None:
        shift = self.axis.shift(None)
        assert shift is not None
        end = t_end + shift
        self.figure.x_range.update(start=end - self.page_s, end=end)

    def _update_scores(self, snap: FeedSnapshot) -> None:
        if snap.scores_version == self._scores_version or snap.wall_offset is None:
            return
        self._scores_version = snap.scores_version
        shift = self.axis.shift(snap.wall_offset)
        assert shift is not None
        new = [s for s in snap.scores if as_float(s.get("end")) > self._scores_end]
        if not new:
            return
        self._scores_end = as_float(new[-1]["end"])
        self.scores_source.stream(
            {
                "x": [as_float(s["end"]) + shift for s in new],
                "score": [as_float(s.get("score")) for s in new],
                "threshold": [as_float(s.get("threshold")) for s in new],
            },
            rollover=SCORE_ROWS,
        )
        self.scores.title.text = (
            "anomaly score: model warming up" if snap.score_info.get("warming_up") else ""
        )

    # -- alerts on the time axis (document thread) -------------------------------------

    def show_alerts(self, snap: FeedSnapshot, flagged: set[str]) -> None:
        """Mark the alerts on the time axis and put the `flagged` channels on a red band."""
        if flagged != self._flagged:
            self._flagged = flagged
            self._set_axis()
            self._highlight()
        self._update_marks(snap)

    def _highlight(self) -> None:
        """A red band behind each shown channel that reads a flagged recorded channel."""
        labels = self._labels or ()
        positions = [i for i, sources in enumerate(self._sources) if sources & self._flagged]
        self.highlight_source.data = {
            "y0": [-i - 0.5 for i in positions],
            "y1": [-i + 0.5 for i in positions],
            "label": [labels[i] for i in positions],
        }

    def _update_marks(self, snap: FeedSnapshot) -> None:
        """Alert spans on the time axis: onset to clearing (or on, while active)."""
        shift = self.axis.shift(snap.wall_offset)
        if shift is None:
            return
        start = (self.pager.end or snap.stream_now or 0.0) - 2 * max(PAGES_S)
        far = (snap.stream_now or 0.0) + 3600.0
        data: dict[str, list[Any]] = {"x0": [], "x1": [], "color": [], "kind": []}
        seen = set()
        for alert in (*snap.alerts, *snap.history):
            onset, cleared = alert.get("onset"), alert.get("cleared_at")
            if alert.get("id") in seen or not isinstance(onset, int | float):
                continue
            seen.add(alert.get("id"))
            end = float(cleared) if isinstance(cleared, int | float) else far
            if end < start:
                continue
            data["x0"].append(float(onset) + shift)
            data["x1"].append(end + shift)
            data["color"].append(SEVERITY_COLORS.get(str(alert.get("severity")), "#9e9e9e"))
            data["kind"].append(str(alert.get("kind", "")))
        if data != self.marks_source.data:
            self.marks_source.data = data
