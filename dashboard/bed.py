"""The bed view: one feed's live EEG, scores, alerts and night trends for one browser session.

The page is made of panels (`dashboard.panels`): the header and banner, the
display controls, the traces with their score strip, the alerts, and the
night trends in a second tab. They share one time axis; this module composes
them and drives their refresh. A click on an alert of the night or on a
sleep epoch looks back at that time (`panels.traces`).

New traces reach the page as soon as they arrive: the feed client's thread
only schedules `BedView.push` on the document's thread
(``add_next_tick_callback``, at most one pending: one row per feed message,
20 per second at most); `BedView.update`, the periodic refresh, does the
rest. Both only read `FeedClient.snapshot()`; the network stays on the feed
clients' threads, and the listener is removed when the session ends.

Names for tests (``doc.get_model_by_name``): ``bed_view``, ``alarm``, and
those of each panel: ``header``, ``banner`` (`panels.header`); ``page``,
``sensitivity``, ``display_filter``, ``montage``, ``channel``, ``gain_down``,
``gain_up``, ``hide_channel``, ``show_all``, ``mute``, ``page_back``,
``page_forward``, ``live``, ``review_status`` (`panels.controls`);
``traces``, ``traces_source``, ``scores``, ``scores_source``,
``marks_source``, ``highlight_source`` (`panels.traces`); ``alerts_table`` /
``alerts_source``, ``ack_button``, ``ack_status``, ``who``,
``history_source`` (`panels.alerts`); ``note_text``, ``note_button``,
``note_status``, ``note_marks_source`` (`panels.notes`); ``trend_channel``,
``csa_source`` (`panels.trends`); ``hypnogram``, ``hypnogram_source`` and, above the night trends,
``night_hypnogram``, ``night_hypnogram_source`` (`panels.hypnogram`).
"""

from __future__ import annotations

import math
import time
from typing import Any

from bokeh.document import Document
from bokeh.layouts import column
from bokeh.models import TabPanel, Tabs

from . import browser
from .alarm import AlarmBar, page_stylesheet, quality_flags
from .beds import Beds
from .feed_client import FeedSnapshot
from .panels.alerts import AlertsPanel
from .panels.controls import DisplayControls
from .panels.header import HeaderPanel
from .panels.hypnogram import HypnogramPanel
from .panels.notes import NotesPanel
from .panels.timeaxis import TimeAxis
from .panels.traces import MAX_TRACE_CHANNELS, MIN_PUSH_S, RENDERERS, TracesPanel, is_render
from .panels.trends import TrendsPanel
from .stages import STAGE_LEVELS

#: Period of the document's refresh of everything (banner, alerts, trends; traces too
#: when no feed message pushed them).
UPDATE_PERIOD_MS = 250
ALERT_TABLE_EVERY_S = 1.0


class BedView:
    """The panels of one bed for one document, and their refresh.

    Parameters
    ----------
    beds
        Every bed of the dashboard (the alarm bar covers all those shown).
    index
        The bed shown.
    origin
        Wall-clock seconds that x = 0 stands for (the session's start).
    render
        ``"webgl"`` or ``"canvas"``: how the traces are drawn.
    """

    def __init__(
        self,
        beds: Beds,
        index: int = 0,
        origin: float | None = None,
        render: str = "webgl",
    ) -> None:
        if not is_render(render):
            raise ValueError(f"render must be one of {RENDERERS}, got {render!r}")
        if index not in beds.shown():
            raise ValueError(f"bed index {index!r} is not a bed shown: {beds.shown()}")
        self.beds = beds
        self.index = index
        self.client = beds.clients[index]
        self.render = render
        self.closed = False
        self.doc: Document | None = None
        self._push_pending = False
        self._last_push = -math.inf
        self._alerts_at = -math.inf
        self._alerts_seen = -1
        self._review_seen: float | None = None
        self.axis = TimeAxis(
            float(origin if origin is not None else math.floor(time.time() / 60) * 60)
        )
        css = page_stylesheet()
        self.alarm = AlarmBar(css)
        self.header = HeaderPanel(css)
        self.traces = TracesPanel(self.client, self.axis, render)
        self.controls = DisplayControls(self.traces, self.update)
        self.alerts = AlertsPanel(self.client, css)
        self.trends = TrendsPanel(self.client, self.axis)
        self.hypnogram = HypnogramPanel(self.axis)
        # the night trends under their own copy of the hypnogram, on one time axis
        self.night_hypnogram = HypnogramPanel(self.axis, "night_hypnogram", self.trends.x_range)
        self.notes = NotesPanel(self.client, self.axis, self.alerts.author)
        self.notes.attach(self.traces.figure, label_y=0.75)
        self.notes.attach(self.hypnogram.figure, label_y=max(STAGE_LEVELS.values()) + 0.5)
        for fig in self.trends.figures:
            self.notes.attach(fig)
        self.notes.attach(self.night_hypnogram.figure, label_y=max(STAGE_LEVELS.values()) + 0.5)
        self.alerts.on_jump = self.hypnogram.on_jump = self.night_hypnogram.on_jump = self.jump
        live = column(
            self.traces.figure,
            self.traces.scores,
            self.hypnogram.figure,
            *self.notes.children(),
            *self.alerts.children(),
            sizing_mode="stretch_width",
        )
        tabs = Tabs(
            tabs=[
                TabPanel(child=live, title="Live"),
                TabPanel(
                    child=column(
                        self.night_hypnogram.figure, self.trends.layout, sizing_mode="stretch_width"
                    ),
                    title="Night trends",
                ),
            ],
            sizing_mode="stretch_width",
        )
        self.layout = column(
            self.header.header,
            self.alarm.div,
            self.header.banner,
            self.controls.row(),
            tabs,
            sizing_mode="stretch_width",
            name="bed_view",
        )

    def snapshots(self, snap: FeedSnapshot) -> list[FeedSnapshot]:
        """Cheap snapshots (no traces) of every bed, `snap` for this one: for the alarm bar."""
        clients = [self.beds.clients[i] for i in self.beds.shown()]
        return [c.snapshot(traces=False) if c is not self.client else snap for c in clients]

    def jump(self, time: float) -> None:
        """Look back at stream time `time` (an alert's onset, a sleep epoch)."""
        self.controls.move_page(lambda: self.traces.jump_to(time))

    def _read(self) -> tuple[FeedSnapshot, bool]:
        """The bed's snapshot, with only the traces not drawn yet when that is enough."""
        if self.traces.reviewing:  # the page is drawn from the night's traces
            return self.client.snapshot(traces=False), False
        after = self.traces.newest_drawn()
        snap = self.client.snapshot(max_channels=MAX_TRACE_CHANNELS, after=after)
        return snap, after is not None

    # -- refresh (document thread, but `on_feed_message`) ------------------------------

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
        if self.closed or self.traces.reviewing:
            return
        snap, partial = self._read()
        self.traces.update(snap, partial)

    def update(self) -> None:
        """Refresh every panel from the feed; cheap when nothing changed."""
        if self.closed:
            return
        snap, partial = self._read()
        now = time.monotonic()
        self.alarm.update(self.snapshots(snap))
        self.header.update(snap, now)
        self.traces.update(snap, partial)
        review = self.traces.pager.end
        if (
            now - self._alerts_at >= ALERT_TABLE_EVERY_S
            or snap.alerts_version != self._alerts_seen
            or review != self._review_seen  # the marks of the page looked back at
        ):
            self._alerts_at = now
            self._alerts_seen = snap.alerts_version
            self._review_seen = review
            self.alerts.update(snap)
            self.traces.show_alerts(snap, quality_flags(snap))
        self.trends.update()
        self.hypnogram.update(snap)
        self.night_hypnogram.update(snap)
        self.notes.update(snap)


def make_bed_document(doc: Document, beds: Beds, index: int, render: str = "webgl") -> BedView:
    """Fill `doc` with the `BedView` of bed `index`, refreshed every `UPDATE_PERIOD_MS`.

    Bokeh removes a session's periodic callbacks when it is destroyed; the view
    stops listening to its feed then, and is marked closed so a callback
    already queued does nothing.
    """
    view = BedView(beds, index=index, render=render)
    doc.title = f"eegmon · {view.client.display_url}"
    doc.add_root(view.layout)
    view.update()
    browser.install(doc, view.alarm.div, view.controls.mute, view.alerts.who, served_render=render)
    view.controls.install(doc)
    doc.add_periodic_callback(view.update, UPDATE_PERIOD_MS)
    view.doc = doc
    view.client.add_listener(view.on_feed_message)

    def on_destroyed(session_context: Any) -> None:
        view.closed = True
        view.client.remove_listener(view.on_feed_message)

    doc.on_session_destroyed(on_destroyed)
    return view
