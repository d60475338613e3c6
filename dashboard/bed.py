"""The bed view: one feed's live EEG, scores, alerts and night trends for one browser session.

Traces are drawn the way an EEG reviewer reads them: stacked channels with
their labels, negative up, a clock-time axis with a grid line every second,
10 s or 30 s pages, a sensitivity in µV per division (one division is the
distance between two channels), a display filter (0.5-35 Hz; off leaves only
a 0.1 Hz DC blocker), channels under a quality alert on a red band. All
channels are ONE ``multi_line`` renderer (WebGL); each refresh streams one
row holding the new samples of every channel, min/max-decimated to the
page's pixel columns, with ``rollover`` so the browser keeps one page.

New traces reach the page as soon as they arrive: the feed client's thread
only schedules `push` on the document's thread (``add_next_tick_callback``,
at most one pending: one row per feed message, 20 per second at most);
`update`, the periodic refresh, does the rest. Both only read `FeedClient.snapshot()`; the network
stays on the feed clients' threads, and the listener is removed when the
session ends.

Names for tests (``doc.get_model_by_name``): ``header``, ``banner`` (css
``eegmon-banner``), ``alarm``, ``traces``, ``traces_source`` (columns ``xs``,
``ys``, ``t_end``: newest stream time of the row, ``received``: wall time the
feed client received it), ``scores``, ``scores_source``, ``marks_source``,
``highlight_source``, ``alerts_table`` / ``alerts_source``, ``ack_button``,
``ack_status``, ``who``, ``history_source``, ``page``, ``sensitivity``,
``display_filter``, ``mute``, ``trend_channel``, ``csa_source``.
"""

from __future__ import annotations

import contextlib
import html
import math
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.models import (
    Button,
    ColumnDataSource,
    CustomJSTickFormatter,
    DataRange1d,
    DataTable,
    Div,
    FixedTicker,
    HTMLTemplateFormatter,
    LinearColorMapper,
    RadioButtonGroup,
    Range1d,
    Select,
    SingleIntervalTicker,
    StringFormatter,
    TableColumn,
    TabPanel,
    Tabs,
    TextInput,
    Toggle,
)
from bokeh.palettes import Turbo256
from bokeh.plotting import figure
from scipy import signal

from . import browser
from .alarm import (
    SEVERITY_COLORS,
    AlarmBar,
    alert_sort_key,
    banner_html,
    fmt_age,
    not_monitoring_reason,
    page_stylesheet,
    quality_flags,
    severity_class,
)
from .decimate import minmax_decimate
from .feed_client import FeedClient, FeedSnapshot

RENDERERS = ("webgl", "canvas")
#: Period of the document's refresh of everything (banner, alerts, trends; traces too
#: when no feed message pushed them).
UPDATE_PERIOD_MS = 250
#: New traces are pushed to the page as they arrive (the monitor sends 10 a second),
#: at most one row per this many seconds.
MIN_PUSH_S = 0.05
PAGES_S = (10, 30)
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
DEFAULT_WHO = "dashboard"
SCORE_ROWS = 400
ALERT_TABLE_EVERY_S = 1.0
TRENDS_EVERY_S = 2.0
HISTORY_ROWS = 500


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


def display_filter(rate: float, on: bool) -> np.ndarray:
    """Second-order sections of the display filter at the traces' `rate`."""
    low, high = FILTER_BAND_HZ
    if not on:
        return signal.butter(1, DC_BLOCK_HZ, btype="highpass", fs=rate, output="sos")
    if high < 0.45 * rate:
        return signal.butter(2, [low, high], btype="bandpass", fs=rate, output="sos")
    return signal.butter(2, low, btype="highpass", fs=rate, output="sos")


def sanitize_who(value: str | None) -> str:
    """The name sent with an acknowledgement: printable, at most 100 characters.

    >>> sanitize_who("  Night nurse A. \\n"), sanitize_who(""), len(sanitize_who("x" * 300))
    ('Night nurse A.', 'dashboard', 100)
    """
    text = "".join(ch for ch in (value or "") if ch.isprintable()).strip()[:100]
    return text or DEFAULT_WHO


class BedView:
    """Widgets and refresh logic of one bed for one document.

    Parameters
    ----------
    clients
        Every feed client of the dashboard (the alarm bar covers all beds).
    index
        The bed shown.
    origin
        Wall-clock seconds that x = 0 stands for (the session's start).
    render
        ``"webgl"`` or ``"canvas"``: how the traces are drawn.
    """

    def __init__(
        self,
        clients: Sequence[FeedClient],
        index: int = 0,
        origin: float | None = None,
        render: str = "webgl",
    ) -> None:
        if render not in RENDERERS:
            raise ValueError(f"render must be one of {RENDERERS}, got {render!r}")
        if not 0 <= index < len(clients):
            raise ValueError(f"bed index {index!r} out of range 0..{len(clients) - 1}")
        self.clients = list(clients)
        self.index = index
        self.client = self.clients[index]
        self.render = render
        self.closed = False
        self.doc: Document | None = None
        self._push_pending = False
        self._last_push = -math.inf
        self.origin = float(origin if origin is not None else math.floor(time.time() / 60) * 60)
        self.page_s = float(PAGES_S[0])
        self.sensitivity_uv = float(DEFAULT_SENSITIVITY_UV)
        self.filter_on = True
        self.updates = 0
        self.update_seconds = 0.0  # total time spent in update(), for measurements
        self._dirty = True  # the traces must be redrawn from the ring
        self._hellos = -1
        self._offset: float | None = None
        self._last_t: float | None = None
        self._last_xy: tuple[float, np.ndarray] | None = None
        self._sos: np.ndarray | None = None
        self._zi: np.ndarray | None = None
        self._rate = 0.0
        self._labels: tuple[str, ...] | None = None
        self._flagged: set[str] = set()
        self._scores_version = -1
        self._scores_end = -math.inf
        self._header_key: tuple[Any, ...] = ()
        self._banner_key: tuple[Any, ...] = ()
        self._alerts_key: tuple[Any, ...] = ()
        self._alerts_at = -math.inf
        self._alerts_seen = -1
        self._history_version = -1
        self._trends_key: tuple[Any, ...] = ()
        self._trends_at = -math.inf
        self._table_renders = 0
        self._alert_ids: list[str] = []
        self._build()

    # -- models ------------------------------------------------------------------------

    def _build(self) -> None:
        css = page_stylesheet()
        self.alarm = AlarmBar(css)
        self.header = Div(name="header", css_classes=["eegmon-header"], text="")
        self.banner = Div(
            name="banner",
            css_classes=["eegmon-banner"],
            stylesheets=[css],
            sizing_mode="stretch_width",
            text=banner_html(False, "waiting for the feed"),
        )
        self.page = RadioButtonGroup(
            name="page", labels=[f"{p} s page" for p in PAGES_S], active=0, width=170
        )
        self.page.on_change("active", self._on_page)
        self.sensitivity = Select(
            name="sensitivity",
            title="",
            value=str(DEFAULT_SENSITIVITY_UV),
            options=[(str(s), f"{s} µV/div") for s in SENSITIVITIES_UV],
            width=120,
        )
        self.sensitivity.on_change("value", self._on_sensitivity)
        self.filter_toggle = Toggle(
            name="display_filter",
            label=f"Filter {FILTER_BAND_HZ[0]:g}-{FILTER_BAND_HZ[1]:g} Hz",
            active=True,
            width=150,
        )
        self.filter_toggle.on_change("active", self._on_filter)
        self.mute = Button(name="mute", label="Silence alarm", button_type="danger", width=230)
        self.who = TextInput(
            name="who", placeholder="Your name (for acknowledgements)", width=240, max_length=100
        )

        # Traces: clock-time x (seconds since `origin`), one division per channel, negative up.
        self.traces_source = ColumnDataSource(
            name="traces_source", data={"xs": [], "ys": [], "t_end": [], "received": []}
        )
        self.highlight_source = ColumnDataSource(
            name="highlight_source", data={"y0": [], "y1": [], "label": []}
        )
        self.marks_source = ColumnDataSource(
            name="marks_source", data={"x0": [], "x1": [], "color": [], "kind": []}
        )
        self.traces = figure(
            name="traces",
            height=420,
            sizing_mode="stretch_width",
            x_range=Range1d(-self.page_s, 0),
            y_range=Range1d(-0.5, 0.5),
            tools="",
            toolbar_location=None,
            output_backend=self.render,
            min_border_left=60,
        )
        self.traces.hstrip(
            y0="y0", y1="y1", source=self.highlight_source, fill_color="#ffcdd2", line_alpha=0
        )
        # Alert onsets as lines across the traces; their spans shade the score strip.
        self.traces.vspan(x="x0", source=self.marks_source, line_color="color", line_width=2)
        self.traces.multi_line(
            xs="xs", ys="ys", source=self.traces_source, line_width=1, line_color="#102a43"
        )
        self.traces.yaxis.name = "traces_yaxis"
        self.traces.yaxis.ticker = FixedTicker(ticks=[])
        self.traces.yaxis.major_label_text_font_size = "12px"
        self.traces.yaxis.axis_label = "negative up"
        self.traces.yaxis.axis_label_text_font_size = "10px"
        self.traces.xaxis.formatter = clock_formatter(self.origin)
        self.traces.xaxis.ticker = SingleIntervalTicker(interval=1, num_minor_ticks=0)
        self.traces.xgrid.grid_line_alpha = 0.35
        self.traces.ygrid.grid_line_alpha = 0.0

        self.scores_source = ColumnDataSource(
            name="scores_source", data={"x": [], "score": [], "threshold": []}
        )
        self.scores = figure(
            name="scores",
            height=110,
            sizing_mode="stretch_width",
            x_range=self.traces.x_range,
            y_range=DataRange1d(start=0),
            tools="",
            toolbar_location=None,
            min_border_left=60,
        )
        self.scores.vstrip(
            x0="x0", x1="x1", source=self.marks_source, fill_color="color", fill_alpha=0.3,
            line_alpha=0,
        )  # fmt: skip
        self.scores.line("x", "score", source=self.scores_source, color="#6a1b9a", width=2)
        self.scores.line(
            "x", "threshold", source=self.scores_source, color="#d32f2f", line_dash="dashed"
        )
        self.scores.yaxis.axis_label = "anomaly"
        self.scores.yaxis.ticker.desired_num_ticks = 3
        self.scores.xaxis.formatter = clock_formatter(self.origin)
        self.scores.xaxis.ticker = self.traces.xaxis.ticker

        self.alerts_source = ColumnDataSource(
            name="alerts_source",
            data={
                k: []
                for k in ("id", "severity", "kind", "channels", "age", "message", "state", "sev")
            },
        )
        badge = HTMLTemplateFormatter(template='<span class="sev sev-<%= sev %>"><%= sev %></span>')
        self.alerts_table = DataTable(
            name="alerts_table",
            css_classes=["eegmon-alerts"],
            stylesheets=[css],
            source=self.alerts_source,
            columns=[
                TableColumn(field="sev", title="Severity", width=80, formatter=badge),
                TableColumn(field="kind", title="Kind", width=120),
                TableColumn(field="channels", title="Channels", width=120),
                TableColumn(field="age", title="Age", width=60),
                TableColumn(
                    field="message", title="Message", width=420, formatter=StringFormatter()
                ),
                TableColumn(field="state", title="State", width=170),
            ],
            sortable=False,
            reorderable=False,
            index_position=None,
            selectable=True,
            height=190,
            sizing_mode="stretch_width",
        )
        self.ack_button = Button(
            name="ack_button", label="Acknowledge", button_type="warning", disabled=True, width=160
        )
        self.ack_button.on_click(self._on_ack)
        self.ack_status = Div(name="ack_status", text="")
        self.alerts_source.selected.on_change("indices", self._on_select)

        self.history_source = ColumnDataSource(
            name="history_source",
            data={k: [] for k in ("time", "sev", "kind", "channels", "state", "by", "duration")},
        )
        self.history_table = DataTable(
            name="history_table",
            css_classes=["eegmon-history"],
            stylesheets=[css],
            source=self.history_source,
            columns=[
                TableColumn(field="time", title="Onset", width=80),
                TableColumn(field="sev", title="Severity", width=80, formatter=badge),
                TableColumn(field="kind", title="Kind", width=120),
                TableColumn(field="channels", title="Channels", width=140),
                TableColumn(field="state", title="State", width=100),
                TableColumn(field="by", title="Acknowledged by", width=140),
                TableColumn(field="duration", title="Lasted", width=80),
            ],
            sortable=False,
            reorderable=False,
            index_position=None,
            selectable=False,
            height=190,
            sizing_mode="stretch_width",
        )

        live = column(
            self.traces,
            self.scores,
            Div(text="<b>Active alerts</b> (select, then Acknowledge)"),
            self.alerts_table,
            row(self.ack_button, self.who, self.ack_status),
            Div(text="<b>Alerts of the night</b>"),
            self.history_table,
            sizing_mode="stretch_width",
        )
        tabs = Tabs(
            tabs=[
                TabPanel(child=live, title="Live"),
                TabPanel(child=self._build_trends(), title="Night trends"),
            ],
            sizing_mode="stretch_width",
        )
        self.layout = column(
            self.header,
            self.alarm.div,
            self.banner,
            row(self.page, self.sensitivity, self.filter_toggle, self.mute),
            tabs,
            sizing_mode="stretch_width",
            name="bed_view",
        )

    def _build_trends(self) -> Any:
        self.trend_channel = Select(name="trend_channel", title="Spectrogram of", width=160)
        self.trend_channel.on_change("value", lambda attr, old, new: self._refresh_trends(True))
        self.csa_source = ColumnDataSource(
            name="csa_source", data={"image": [], "x": [], "y": [], "dw": [], "dh": []}
        )
        self.trend_source = ColumnDataSource(
            name="trend_source",
            data={
                k: []
                for k in ("x", "adr", "dtabr", "q_mean", "q_min", "high", "medium", "low", "width")
            },
        )
        x_range = DataRange1d()
        formatter = clock_formatter(self.origin)

        def trend_figure(title: str, height: int) -> Any:
            fig = figure(
                title=title,
                height=height,
                sizing_mode="stretch_width",
                x_range=x_range,
                tools="",
                toolbar_location=None,
                min_border_left=60,
            )
            fig.xaxis.formatter = formatter
            return fig

        self.csa_mapper = LinearColorMapper(palette=Turbo256, low=-1, high=2)
        csa = trend_figure("Compressed spectral array (log10 µV²/Hz), 30 s columns", 220)
        csa.name = "csa"
        csa.image(
            image="image", x="x", y="y", dw="dw", dh="dh", source=self.csa_source,
            color_mapper=self.csa_mapper,
        )  # fmt: skip
        csa.yaxis.axis_label = "Hz"
        ratios = trend_figure("Band-power ratios (mean over channels)", 150)
        ratios.line("x", "adr", source=self.trend_source, color="#1565c0", legend_label="α/δ")
        ratios.line(
            "x", "dtabr", source=self.trend_source, color="#ef6c00", legend_label="(δ+θ)/(α+β)"
        )
        ratios.legend.location = "top_left"
        ratios.legend.background_fill_alpha = 0.6
        quality = trend_figure("Signal quality (1 good, 0 unusable)", 130)
        quality.y_range = Range1d(0, 1.05)
        quality.line("x", "q_mean", source=self.trend_source, color="#2e7d32", legend_label="mean")
        quality.line("x", "q_min", source=self.trend_source, color="#d32f2f", legend_label="worst")
        quality.legend.location = "bottom_left"
        density = trend_figure("Alerts raised per 30 s", 130)
        density.vbar_stack(
            ["high", "medium", "low"],
            x="x",
            width="width",
            source=self.trend_source,
            color=[SEVERITY_COLORS[s] for s in ("high", "medium", "low")],
        )
        return column(
            self.trend_channel, csa, ratios, quality, density, sizing_mode="stretch_width"
        )

    # -- refresh (document thread) -----------------------------------------------------

    def snapshots(self) -> list[FeedSnapshot]:
        """Cheap snapshots (no traces) of every bed, for the alarm bar."""
        return [
            c.snapshot(traces=False) if c is not self.client else self._snap for c in self.clients
        ]

    def on_feed_message(self, kind: str) -> None:
        """Feed thread: schedule `push` on the document's thread when traces arrived."""
        doc = self.doc
        if kind != "traces" or doc is None or self.closed or self._push_pending:
            return
        now = time.monotonic()
        if now - self._last_push < MIN_PUSH_S:
            return  # the next message (or the periodic refresh) brings these samples
        self._push_pending = True
        self._last_push = now
        try:
            doc.add_next_tick_callback(self.push)
        except Exception:  # the session is going away
            self._push_pending = False

    def push(self) -> None:
        """Draw the newest traces and scores (document thread)."""
        self._push_pending = False
        if self.closed:
            return
        after = None if self._dirty else self._last_t
        snap = self.client.snapshot(max_channels=MAX_TRACE_CHANNELS, after=after)
        self._update_traces(snap, partial=after is not None)
        self._update_scores(snap)

    def update(self) -> None:
        """Refresh every widget from the feed; cheap when nothing changed."""
        if self.closed:
            return
        started = time.perf_counter()
        after = None if self._dirty else self._last_t
        self._snap = snap = self.client.snapshot(max_channels=MAX_TRACE_CHANNELS, after=after)
        now = time.monotonic()
        self.alarm.update(self.snapshots())
        self._update_header(snap)
        self._update_banner(snap, now)
        self._update_traces(snap, partial=after is not None)
        self._update_scores(snap)
        if now - self._alerts_at >= ALERT_TABLE_EVERY_S or snap.alerts_version != self._alerts_seen:
            self._update_alerts(snap)
        if now - self._trends_at >= TRENDS_EVERY_S:
            self._refresh_trends(False)
        self.updates += 1
        self.update_seconds += time.perf_counter() - started

    def _update_header(self, snap: FeedSnapshot) -> None:
        rate = snap.stream.get("rate")
        key = (snap.name, snap.labels, rate, snap.url)
        if key == self._header_key:
            return
        self._header_key = key
        shown = snap.labels[:MAX_TRACE_CHANNELS]
        parts = [
            '<a href="./">&larr; Ward</a>',
            f"<b style='font-size:22px'>{html.escape(snap.name)}</b>",
        ]
        if snap.labels:
            rate_txt = f" at {float(rate):g} Hz" if isinstance(rate, int | float) else ""
            more = f" (first {len(shown)} shown)" if len(shown) < len(snap.labels) else ""
            parts.append(f"{len(snap.labels)} channels{rate_txt}{more}")
            parts.append(html.escape(", ".join(shown)))
        parts.append(f"feed {html.escape(snap.url)}")
        self.header.text = " · ".join(parts)

    def _update_banner(self, snap: FeedSnapshot, now: float) -> None:
        detail = not_monitoring_reason(snap, now)
        key = (snap.monitoring, detail)
        if key != self._banner_key:
            self._banner_key = key
            self.banner.text = banner_html(snap.monitoring, detail)

    # -- traces ------------------------------------------------------------------------

    def _update_traces(self, snap: FeedSnapshot, partial: bool) -> None:
        labels = snap.labels[:MAX_TRACE_CHANNELS]
        if labels != self._labels:
            self._labels = labels
            self._set_axis()
        if snap.hellos != self._hellos or (
            snap.wall_offset is not None
            and self._offset is not None
            and abs(snap.wall_offset - self._offset) > 0.5
        ):
            self._hellos = snap.hellos
            self._dirty = True
        if self._dirty and partial:
            # `snap` holds only the newest samples: read the whole window again.
            snap = self._snap = self.client.snapshot(max_channels=MAX_TRACE_CHANNELS)
        times, data = snap.trace_times, snap.trace_data
        if times is None or data is None or snap.wall_offset is None or not snap.display_rate:
            return
        if self._dirty:
            self._redraw(snap, times, data)
        elif times.size:
            self._stream(snap, times, data)

    def _set_axis(self) -> None:
        labels = self._labels or ()
        n = max(1, len(labels))
        ticks = [float(-i) for i in range(len(labels))]
        self.traces.yaxis.ticker = FixedTicker(ticks=ticks)
        self.traces.yaxis.major_label_overrides = {
            t: (f"⚠ {label}" if label in self._flagged else label)
            for t, label in zip(ticks, labels, strict=True)
        }
        self.traces.y_range.update(start=-n + 0.5 - 0.3, end=0.5 + 0.3)
        self.traces.height = int(min(960, max(320, 26 * n + 70)))

    def _filtered(self, data: np.ndarray) -> np.ndarray:
        """Run the display filter over `data` (n_ch, n), continuing its state."""
        assert self._sos is not None
        assert self._zi is not None
        x = data.astype(np.float64)
        bad = ~np.isfinite(x)
        if bad.any():
            x[bad] = 0.0
        y, self._zi = signal.sosfilt(self._sos, x, axis=1, zi=self._zi)
        if bad.any():
            y[bad] = np.nan
        return y

    def _to_plot(self, times: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self._offset is not None
        x = times + (self._offset - self.origin)
        offsets = -np.arange(values.shape[0], dtype=np.float64)[:, None]
        y = offsets - np.clip(values / self.sensitivity_uv, -CLIP_DIVISIONS, CLIP_DIVISIONS)
        return x, y

    def _redraw(self, snap: FeedSnapshot, times: np.ndarray, data: np.ndarray) -> None:
        """Draw the whole page again from the ring (new stream, page, sensitivity, filter)."""
        self._dirty = False
        if snap.wall_offset != self._offset:  # scores drawn on the old clock mapping go too
            self.scores_source.data = {"x": [], "score": [], "threshold": []}
            self._scores_version, self._scores_end = -1, -math.inf
        self._offset = snap.wall_offset
        self._rate = snap.display_rate
        self._sos = display_filter(self._rate, self.filter_on)
        self._last_xy = None
        if not times.size:
            self._last_t = None
            self.traces_source.data = {"xs": [], "ys": [], "t_end": [], "received": []}
            return
        t_end = float(times[-1])
        keep = times > t_end - self.page_s - FILTER_SETTLE_S
        times, data = times[keep], data[:, keep]
        first = np.nan_to_num(data[:, :1].astype(np.float64))
        self._zi = signal.sosfilt_zi(self._sos)[:, None, :] * first[None, :, :]
        filtered = self._filtered(data)
        shown = times > t_end - self.page_s
        self._last_t = t_end
        row_data = self._row(times[shown], filtered[:, shown], connect=False)
        self.traces_source.data = {k: [v] for k, v in row_data.items()} | {
            "received": [snap.traces_received_wall]
        }
        self._follow(t_end)

    def _stream(self, snap: FeedSnapshot, times: np.ndarray, data: np.ndarray) -> None:
        if self._zi is None or self._zi.shape[1] != data.shape[0]:
            self._dirty = True
            return
        gap = self._last_t is not None and times[0] - self._last_t > 3.0 / self._rate
        self._last_t = float(times[-1])
        row_data = self._row(times, self._filtered(data), connect=not gap)
        rollover = math.ceil(self.page_s / MIN_PUSH_S) + 60
        self.traces_source.stream(
            {k: [v] for k, v in row_data.items()} | {"received": [snap.traces_received_wall]},
            rollover=rollover,
        )
        self._follow(self._last_t)

    def _row(self, times: np.ndarray, values: np.ndarray, connect: bool) -> dict[str, Any]:
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
        assert self._offset is not None
        end = t_end + self._offset - self.origin
        self.traces.x_range.update(start=end - self.page_s, end=end)

    # -- scores ------------------------------------------------------------------------

    def _update_scores(self, snap: FeedSnapshot) -> None:
        if snap.scores_version == self._scores_version or snap.wall_offset is None:
            return
        self._scores_version = snap.scores_version
        offset = (self._offset if self._offset is not None else snap.wall_offset) - self.origin
        new = [s for s in snap.scores if _number(s.get("end")) > self._scores_end]
        if not new:
            return
        self._scores_end = _number(new[-1]["end"])
        self.scores_source.stream(
            {
                "x": [_number(s["end"]) + offset for s in new],
                "score": [_number(s.get("score")) for s in new],
                "threshold": [_number(s.get("threshold")) for s in new],
            },
            rollover=SCORE_ROWS,
        )
        self.scores.title.text = (
            "anomaly score: model warming up" if snap.score_info.get("warming_up") else ""
        )

    # -- alerts ------------------------------------------------------------------------

    def _update_alerts(self, snap: FeedSnapshot) -> None:
        self._alerts_at = time.monotonic()
        self._alerts_seen = snap.alerts_version
        now_stream = snap.stream_now
        alerts = sorted(snap.alerts, key=alert_sort_key)
        rows: dict[str, list[Any]] = {k: [] for k in self.alerts_source.data}
        for alert in alerts:
            onset = alert.get("onset")
            age = (
                fmt_age(now_stream - onset)
                if now_stream is not None and isinstance(onset, int | float)
                else ""
            )
            state = str(alert.get("state", ""))
            if state == "acknowledged" and alert.get("acknowledged_by"):
                state = f"acknowledged by {alert['acknowledged_by']}"
            elif state == "active" and alert.get("ended_at") is not None:
                state = "over, unacknowledged"  # latched: what happened while nobody looked
            rows["id"].append(str(alert["id"]))
            rows["severity"].append(str(alert.get("severity", "")))
            rows["sev"].append(severity_class(alert.get("severity")))
            rows["kind"].append(str(alert.get("kind", "")))
            rows["channels"].append(_channels(alert))
            rows["age"].append(age)
            rows["message"].append(str(alert.get("message", "")))
            rows["state"].append(state)
        flagged = quality_flags(snap)
        if flagged != self._flagged:
            self._flagged = flagged
            self._set_axis()
            positions = [i for i, label in enumerate(self._labels or ()) if label in flagged]
            self.highlight_source.data = {
                "y0": [-i - 0.5 for i in positions],
                "y1": [-i + 0.5 for i in positions],
                "label": [(self._labels or ())[i] for i in positions],
            }
        self._update_marks(snap)
        if snap.alerts_version != self._history_version:
            self._history_version = snap.alerts_version
            self._update_history()
        key = (snap.alerts_version, tuple(rows["age"]))
        if key == self._alerts_key:
            return
        self._alerts_key = key
        selected = self._selected_ids()
        self._alert_ids = rows["id"]
        self.alerts_source.data = rows
        # BokehJS re-renders a DataTable when its row indices change, not when the cells
        # of the same number of rows do (state, age): touch the table to redraw it.
        self._table_renders += 1
        self.alerts_table.tags = [self._table_renders]
        indices = [i for i, alert_id in enumerate(rows["id"]) if alert_id in selected]
        if indices != list(self.alerts_source.selected.indices):
            self.alerts_source.selected.indices = indices
        self.ack_button.disabled = not indices

    def _update_marks(self, snap: FeedSnapshot) -> None:
        """Alert spans on the time axis: onset to clearing (or on, while active)."""
        offset = self._offset if self._offset is not None else snap.wall_offset
        if offset is None:
            return
        shift = offset - self.origin
        start = (snap.stream_now or 0.0) - 2 * max(PAGES_S)
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

    def _update_history(self) -> None:
        snap = self.client.snapshot(traces=False, night=True)
        offset = snap.wall_offset
        night = sorted(snap.night, key=lambda a: -_number(a.get("onset")))[:HISTORY_ROWS]
        rows: dict[str, list[Any]] = {k: [] for k in self.history_source.data}
        for alert in night:
            onset, cleared = alert.get("onset"), alert.get("cleared_at")
            when = ""
            if offset is not None and isinstance(onset, int | float):
                when = datetime.fromtimestamp(float(onset) + offset).strftime("%H:%M:%S")
            lasted = ""
            if isinstance(onset, int | float) and isinstance(cleared, int | float):
                lasted = fmt_age(float(cleared) - float(onset))
            rows["time"].append(when)
            rows["sev"].append(severity_class(alert.get("severity")))
            rows["kind"].append(str(alert.get("kind", "")))
            rows["channels"].append(_channels(alert))
            rows["state"].append(str(alert.get("state", "")))
            rows["by"].append(str(alert.get("acknowledged_by") or ""))
            rows["duration"].append(lasted)
        self.history_source.data = rows

    def _selected_ids(self) -> set[str]:
        ids = self._alert_ids
        return {ids[i] for i in self.alerts_source.selected.indices if 0 <= i < len(ids)}

    # -- trends ------------------------------------------------------------------------

    def _refresh_trends(self, force: bool) -> None:
        self._trends_at = time.monotonic()
        labels = self.client.snapshot(traces=False).labels
        kept = labels[: self.client.trends.max_channels]
        options = [(str(i), label) for i, label in enumerate(kept)]
        if options != self.trend_channel.options:
            self.trend_channel.options = options
            if self.trend_channel.value not in {o[0] for o in options}:
                self.trend_channel.value = options[0][0] if options else ""
        try:
            channel = int(self.trend_channel.value)
        except ValueError:
            channel = 0
        key = (self.client.trends.version, channel)
        if key == self._trends_key and not force:
            return
        self._trends_key = key
        offset = (
            self._offset
            if self._offset is not None
            else self.client.snapshot(traces=False).wall_offset
        )
        trends = self.client.trend_snapshot(channel)
        if offset is None or not trends.times.size:
            return
        x = trends.times + (offset - self.origin)
        bin_s = trends.bin_s
        if trends.csa.shape[1]:
            image = trends.csa.T.astype(np.float32)
            finite = image[np.isfinite(image)]
            if finite.size:
                low, high = np.percentile(finite, [2, 98])
                self.csa_mapper.update(low=float(low), high=float(max(high, low + 0.1)))
            # One column per bin; bins missing from the stream are absent, not stretched.
            self.csa_source.data = {
                "image": [image],
                "x": [float(x[0])],
                "y": [float(trends.freqs[0] - 0.5)],
                "dw": [float(x[-1] - x[0] + bin_s)],
                "dh": [float(trends.freqs.size)],
            }
        self.trend_source.data = {
            "x": x + bin_s / 2,
            "adr": trends.ratios["alpha/delta"],
            "dtabr": trends.ratios["(delta+theta)/(alpha+beta)"],
            "q_mean": trends.quality_mean,
            "q_min": trends.quality_min,
            "high": trends.alerts["high"],
            "medium": trends.alerts["medium"],
            "low": trends.alerts["low"],
            "width": np.full(x.size, bin_s * 0.9),
        }

    # -- user actions (document thread) ------------------------------------------------

    def _on_select(self, attr: str, old: Any, new: Any) -> None:
        self.ack_button.disabled = not new

    def _on_ack(self) -> None:
        ids = sorted(self._selected_ids())
        if not ids:
            self.ack_status.text = "Select an alert first."
            return
        who = sanitize_who(self.who.value)
        sent = [alert_id for alert_id in ids if self.client.ack(alert_id, who)]
        if len(sent) == len(ids):
            self.ack_status.text = (
                f"Acknowledgement by {html.escape(who)} sent for {len(sent)} alert(s)."
            )
        else:
            self.ack_status.text = (
                "<b style='color:#c62828'>Not connected to the monitor: "
                "acknowledgement not sent.</b>"
            )

    def _on_page(self, attr: str, old: int, new: int) -> None:
        with contextlib.suppress(IndexError, TypeError):
            self.page_s = float(PAGES_S[new])
        ticker = SingleIntervalTicker(interval=1 if self.page_s <= 10 else 5, num_minor_ticks=0)
        self.traces.xaxis.ticker = ticker
        self.scores.xaxis.ticker = ticker
        self._dirty = True
        self.update()

    def _on_sensitivity(self, attr: str, old: str, new: str) -> None:
        with contextlib.suppress(ValueError):
            self.sensitivity_uv = float(new)
        self._dirty = True
        self.update()

    def _on_filter(self, attr: str, old: bool, new: bool) -> None:
        self.filter_on = bool(new)
        self._dirty = True
        self.update()


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _channels(alert: dict[str, Any]) -> str:
    channels = alert.get("channels") or []
    return ", ".join(map(str, channels)) if channels else "all"


def make_bed_document(
    doc: Document, clients: Sequence[FeedClient], index: int, render: str = "webgl"
) -> BedView:
    """Fill `doc` with the `BedView` of bed `index`, refreshed every `UPDATE_PERIOD_MS`.

    Bokeh removes a session's periodic callbacks when it is destroyed; the view
    stops listening to its feed then, and is marked closed so a callback
    already queued does nothing.
    """
    view = BedView(clients, index=index, render=render)
    doc.title = f"eegmon · {view.client.display_url}"
    doc.add_root(view.layout)
    view.update()
    browser.install(doc, view.alarm.div, view.mute, view.who, served_render=render)
    doc.add_periodic_callback(view.update, UPDATE_PERIOD_MS)
    view.doc = doc
    view.client.add_listener(view.on_feed_message)

    def on_destroyed(session_context: Any) -> None:
        view.closed = True
        view.client.remove_listener(view.on_feed_message)

    doc.on_session_destroyed(on_destroyed)
    return view
