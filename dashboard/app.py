"""The Bokeh document of one browser session: one bed's live view.

A `BedView` shows one feed: the stream name, a connection banner that reads
NOT MONITORING whenever the feed is down, stale or without its stream, the
newest traces of the first channels drawn by ONE ``multi_line`` renderer, and
the alerts with an Acknowledge button. Its `update` runs from a periodic
callback on the document's thread and only reads `FeedClient.snapshot()`; the
network belongs to the feed clients' own threads.

Names for tests and later views (``doc.get_model_by_name``): ``header``,
``banner`` (css class ``eegmon-banner``), ``traces``, ``traces_source``
(columns ``xs``, ``ys``, ``label``, ``t_end``: newest stream time),
``traces_yaxis``, ``alerts_table``, ``alerts_source``, ``ack_button``,
``ack_status``, ``sensitivity``, ``feed_select``.
"""

from __future__ import annotations

import contextlib
import html
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.models import (
    Button,
    ColumnDataSource,
    DataTable,
    Div,
    FixedTicker,
    Range1d,
    Select,
    StringFormatter,
    TableColumn,
)
from bokeh.plotting import figure

from .decimate import break_gaps, minmax_decimate
from .feed_client import SEVERITY_RANK, FeedClient, FeedSnapshot

log = logging.getLogger(__name__)

#: Channels drawn in the traces plot.
MAX_TRACE_CHANNELS = 8
#: Period of the document's refresh: 4 redraws per second at most.
UPDATE_PERIOD_MS = 250
#: Points per channel sent to the browser (about two per pixel column).
MAX_POINTS = 2400
#: µV per channel spacing offered; values beyond ±1 spacing are clipped.
SENSITIVITIES_UV = (20, 50, 100, 200, 500, 1000, 2000)
DEFAULT_SENSITIVITY_UV = 100
WHO = "dashboard"

SEVERITY_COLORS = {"high": "#b00020", "medium": "#b35c00", "low": "#4a5a6a"}
BANNER_CSS = """
:host(.eegmon-banner) { width: 100%; }
.eegmon-banner-box { font: bold 28px/1.3 sans-serif; padding: 10px 16px; border-radius: 6px;
  color: white; }
.eegmon-banner-box small { font-weight: normal; font-size: 15px; display: block; }
.eegmon-ok { background: #1b7f3b; }
.eegmon-alarm { background: #c62828; }
"""


def _fmt_age(seconds: float | None) -> str:
    """A short age: ``"12 s"``, ``"3 min"``, ``"2 h"``; ``""`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


class BedView:
    """Widgets and refresh logic of one bed (one feed) for one document.

    Parameters
    ----------
    clients
        The feed clients to choose from (shared by all sessions); the view
        shows ``clients[index]``.
    index
        The feed shown first.
    max_channels
        Channels drawn in the traces plot.
    """

    def __init__(
        self,
        clients: Sequence[FeedClient],
        index: int = 0,
        max_channels: int = MAX_TRACE_CHANNELS,
    ) -> None:
        if not clients:
            raise ValueError("BedView needs at least one feed client")
        self.clients = list(clients)
        self.index = index
        self.max_channels = max_channels
        self.sensitivity_uv = float(DEFAULT_SENSITIVITY_UV)
        self.updates = 0
        self.update_seconds = 0.0  # total time spent in update(), for measurements
        self._traces_key: tuple[Any, ...] = ()
        self._labels: tuple[str, ...] | None = None
        self._banner_key: tuple[Any, ...] = ()
        self._header_key: tuple[Any, ...] = ()
        self._alert_rows: dict[str, list[Any]] = {}
        self._table_renders = 0
        self._build()

    @property
    def client(self) -> FeedClient:
        return self.clients[self.index]

    # -- models ------------------------------------------------------------------------

    def _build(self) -> None:
        self.header = Div(name="header", css_classes=["eegmon-header"], text="")
        self.banner = Div(
            name="banner",
            css_classes=["eegmon-banner"],
            stylesheets=[BANNER_CSS],
            sizing_mode="stretch_width",
            text=self._banner_html(False, "waiting for the feed"),
        )
        self.traces_source = ColumnDataSource(
            name="traces_source", data={"xs": [], "ys": [], "label": [], "t_end": []}
        )
        window = self.client.window_s
        self.traces = figure(
            name="traces",
            height=360,
            sizing_mode="stretch_width",
            x_range=Range1d(-window, 0),
            y_range=Range1d(-self.max_channels + 0.5, 0.5),
            x_axis_label="seconds before the newest sample",
            tools="save",
            toolbar_location=None,
            output_backend="canvas",
        )
        self.traces.multi_line(
            xs="xs", ys="ys", source=self.traces_source, line_width=1, line_color="#17324d"
        )
        self.traces.yaxis.name = "traces_yaxis"
        self.traces.yaxis.ticker = FixedTicker(ticks=[])
        self.traces.yaxis.major_label_text_font_size = "12px"
        self.traces.ygrid.grid_line_alpha = 0.3
        self.traces.xgrid.grid_line_alpha = 0.3

        self.alerts_source = ColumnDataSource(
            name="alerts_source",
            data={
                k: []
                for k in (
                    "id",
                    "severity",
                    "kind",
                    "channels",
                    "age",
                    "message",
                    "state",
                    "color",
                )
            },
        )
        colored = StringFormatter(text_color="color", font_style="bold")
        self.alerts_table = DataTable(
            name="alerts_table",
            css_classes=["eegmon-alerts"],
            source=self.alerts_source,
            columns=[
                TableColumn(field="severity", title="Severity", width=70, formatter=colored),
                TableColumn(field="kind", title="Kind", width=120),
                TableColumn(field="channels", title="Channels", width=120),
                TableColumn(field="age", title="Onset", width=70),
                TableColumn(field="message", title="Message", width=420),
                TableColumn(field="state", title="State", width=100),
            ],
            sortable=False,
            reorderable=False,
            index_position=None,
            selectable=True,
            height=220,
            sizing_mode="stretch_width",
        )
        self.ack_button = Button(
            name="ack_button", label="Acknowledge", button_type="warning", disabled=True, width=160
        )
        self.ack_button.on_click(self._on_ack)
        self.ack_status = Div(name="ack_status", text="")
        self.alerts_source.selected.on_change("indices", self._on_select)

        self.sensitivity = Select(
            name="sensitivity",
            title="Sensitivity (µV per channel)",
            value=str(DEFAULT_SENSITIVITY_UV),
            options=[str(s) for s in SENSITIVITIES_UV],
            width=180,
        )
        self.sensitivity.on_change("value", self._on_sensitivity)
        self.feed_select = Select(
            name="feed_select",
            title="Bed",
            value=str(self.index),
            options=[(str(i), c.display_url) for i, c in enumerate(self.clients)],
            visible=len(self.clients) > 1,
            width=320,
        )
        self.feed_select.on_change("value", self._on_feed)

        self.layout = column(
            self.header,
            self.banner,
            row(self.sensitivity, self.feed_select),
            self.traces,
            self.alerts_table,
            row(self.ack_button, self.ack_status),
            sizing_mode="stretch_width",
            name="bed_view",
        )

    @staticmethod
    def _banner_html(monitoring: bool, detail: str) -> str:
        css = "eegmon-ok" if monitoring else "eegmon-alarm"
        title = "MONITORING" if monitoring else "NOT MONITORING"
        small = f"<small>{html.escape(detail)}</small>" if detail else ""
        return f'<div class="eegmon-banner-box {css}">{title}{small}</div>'

    # -- refresh (document thread) -----------------------------------------------------

    def update(self) -> None:
        """Refresh every widget from the current feed snapshot; cheap when nothing changed."""
        started = time.perf_counter()
        snap = self.client.snapshot(max_channels=self.max_channels)
        now = self.client.clock()
        self._update_header(snap)
        self._update_banner(snap, now)
        self._update_traces(snap)
        self._update_alerts(snap)
        self.updates += 1
        self.update_seconds += time.perf_counter() - started

    def _update_header(self, snap: FeedSnapshot) -> None:
        shown = snap.labels[: self.max_channels]
        key = (snap.name, snap.labels, snap.stream.get("rate"), snap.url)
        if key == self._header_key:
            return
        self._header_key = key
        rate = snap.stream.get("rate")
        parts = [f"<b style='font-size:22px'>{html.escape(snap.name)}</b>"]
        if snap.labels:
            rate_txt = f" at {float(rate):g} Hz" if isinstance(rate, int | float) else ""
            parts.append(f"{len(snap.labels)} channels{rate_txt}")
            more = f" (first {len(shown)})" if len(shown) < len(snap.labels) else ""
            parts.append(f"showing{more}: {html.escape(', '.join(shown))}")
        parts.append(f"feed {html.escape(snap.url)}")
        self.header.text = " · ".join(parts)

    def _update_banner(self, snap: FeedSnapshot, now: float) -> None:
        if snap.monitoring:
            detail = ""
        elif not snap.connected:
            if snap.last_message_at is None and snap.error is None:
                detail = "connecting to the feed"
            else:
                detail = f"feed disconnected for {_fmt_age(now - snap.since)}"
                if snap.error:
                    detail += f" ({snap.error[:120]})"
        elif snap.stale:
            last = snap.last_status_at if snap.last_status_at is not None else snap.since
            detail = f"no heartbeat from the monitor for {_fmt_age(now - last)}"
        else:
            detail = "the monitor has lost its EEG stream"
        key = (snap.monitoring, detail)
        if key != self._banner_key:
            self._banner_key = key
            self.banner.text = self._banner_html(snap.monitoring, detail)

    def _update_traces(self, snap: FeedSnapshot) -> None:
        labels = snap.labels[: self.max_channels]
        if labels != self._labels:
            self._labels = labels
            self._set_axis(labels)
        key = (snap.traces_version, self.sensitivity_uv, self.index)
        if key == self._traces_key:
            return
        self._traces_key = key
        times, data = snap.trace_times, snap.trace_data
        if times is None or data is None or not times.size:
            self.traces_source.data = {"xs": [], "ys": [], "label": [], "t_end": []}
            return
        n_ch = data.shape[0]
        t_end = float(times[-1])
        if len(times) > 1:
            step = float(np.median(np.diff(times[-64:])))
            times, data = break_gaps(times, data, max(3 * step, 1e-6))
        times, data = minmax_decimate(times, data, MAX_POINTS // 2)
        x = times - t_end
        offsets = -np.arange(n_ch, dtype=np.float64)[:, None]
        ys = offsets + np.clip(data / self.sensitivity_uv, -1.0, 1.0)
        names = list(labels) + [f"ch{i + 1}" for i in range(len(labels), n_ch)]
        self.traces_source.data = {
            "xs": [x] * n_ch,
            "ys": list(ys),
            "label": names[:n_ch],
            "t_end": [t_end] * n_ch,
        }

    def _set_axis(self, labels: tuple[str, ...]) -> None:
        n = max(1, len(labels))
        ticks = [float(-i) for i in range(len(labels))]
        self.traces.yaxis.ticker = FixedTicker(ticks=ticks)
        self.traces.yaxis.major_label_overrides = dict(zip(ticks, labels, strict=True))
        self.traces.y_range.update(start=-n + 0.5, end=0.5)
        self.traces.height = max(200, 40 * n + 70)

    def _update_alerts(self, snap: FeedSnapshot) -> None:
        now_stream = snap.stream_now
        alerts = sorted(
            snap.alerts,
            key=lambda a: (
                SEVERITY_RANK.get(a.get("severity"), 3),
                -(a["onset"] if isinstance(a.get("onset"), int | float) else -math.inf),
            ),
        )
        rows: dict[str, list[Any]] = {k: [] for k in self.alerts_source.data}
        for alert in alerts:
            severity = str(alert.get("severity", ""))
            onset = alert.get("onset")
            age = (
                _fmt_age(now_stream - onset)
                if now_stream is not None and isinstance(onset, int | float)
                else ""
            )
            channels = alert.get("channels") or []
            rows["id"].append(str(alert["id"]))
            rows["severity"].append(severity)
            rows["kind"].append(str(alert.get("kind", "")))
            rows["channels"].append(", ".join(map(str, channels)) if channels else "all")
            rows["age"].append(age)
            rows["message"].append(str(alert.get("message", "")))
            rows["state"].append(str(alert.get("state", "")))
            rows["color"].append(SEVERITY_COLORS.get(severity, "#000000"))
        if rows == self._alert_rows:
            return
        selected_ids = self._selected_ids()
        self._alert_rows = rows
        self.alerts_source.data = rows
        # BokehJS 3.9 re-renders a DataTable when its row indices change, not when the
        # cells of the same number of rows do (state, age): touch the table to redraw it.
        self._table_renders += 1
        self.alerts_table.tags = [self._table_renders]
        indices = [i for i, alert_id in enumerate(rows["id"]) if alert_id in selected_ids]
        if indices != list(self.alerts_source.selected.indices):
            self.alerts_source.selected.indices = indices
        self.ack_button.disabled = not indices

    def _selected_ids(self) -> set[str]:
        ids = self._alert_rows.get("id", [])
        return {ids[i] for i in self.alerts_source.selected.indices if 0 <= i < len(ids)}

    # -- user actions (document thread) ------------------------------------------------

    def _on_select(self, attr: str, old: Any, new: Any) -> None:
        self.ack_button.disabled = not new

    def _on_ack(self) -> None:
        ids = sorted(self._selected_ids())
        if not ids:
            self.ack_status.text = "Select an alert first."
            return
        sent = [alert_id for alert_id in ids if self.client.ack(alert_id, WHO)]
        if len(sent) == len(ids):
            self.ack_status.text = f"Acknowledgement sent for {len(sent)} alert(s)."
        else:
            self.ack_status.text = (
                "<b style='color:#c62828'>Not connected to the monitor: "
                "acknowledgement not sent.</b>"
            )

    def _on_sensitivity(self, attr: str, old: str, new: str) -> None:
        with contextlib.suppress(ValueError):
            self.sensitivity_uv = float(new)
        self.update()

    def _on_feed(self, attr: str, old: str, new: str) -> None:
        with contextlib.suppress(ValueError):
            index = int(new)
            if 0 <= index < len(self.clients):
                self.index = index
        self._labels = None
        self._header_key = self._banner_key = self._traces_key = ()
        self._alert_rows = {}
        self.alerts_source.selected.indices = []
        self.update()


def make_document(doc: Document, clients: Sequence[FeedClient]) -> BedView:
    """Fill `doc` with a `BedView` of `clients` refreshed every `UPDATE_PERIOD_MS`.

    The page's ``?bed=N`` argument chooses the feed shown first (0-based).
    """
    index = 0
    request = getattr(doc.session_context, "request", None)
    if request is not None:
        with contextlib.suppress(KeyError, IndexError, ValueError):
            index = int(request.arguments["bed"][0])
    if not 0 <= index < len(clients):
        index = 0
    view = BedView(clients, index=index)
    doc.title = "eegmon"
    doc.add_root(view.layout)
    view.update()
    callback = doc.add_periodic_callback(view.update, UPDATE_PERIOD_MS)

    def on_destroyed(session_context: Any) -> None:
        with contextlib.suppress(ValueError, KeyError):
            doc.remove_periodic_callback(callback)

    doc.on_session_destroyed(on_destroyed)
    return view


def build_application(clients: Sequence[FeedClient]) -> Application:
    """The Bokeh application serving `make_document` for the shared `clients`."""
    clients = list(clients)

    def modify_doc(doc: Document) -> None:
        make_document(doc, clients)

    return Application(FunctionHandler(modify_doc))
