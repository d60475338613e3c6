"""The ward view: one tile per bed, the page a technician watches for the whole ward.

A tile shows the bed's name, MONITORING or NOT MONITORING (and why), its
active alerts counted by severity (high ones flashing, the newest named), and
a 10-20 head map of each channel's signal quality; clicking it opens the bed
view. All tiles are one ``Div`` of escaped HTML, rebuilt at most twice a
second and only when something changed: a ward of many beds costs the
browser no canvas at all.

Names for tests: ``ward`` (the tiles ``Div``; each tile has css class
``eegmon-tile`` and ``data-bed``), ``alarm``, ``mute``.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import Any

from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.models.widgets import Button, Div

from protocol.kinds import SEVERITIES

from . import browser
from .alarm import (
    AlarmBar,
    alert_sort_key,
    not_monitoring_reason,
    page_stylesheet,
    quality_flags,
    severity_class,
)
from .feed_client import FeedClient, FeedSnapshot
from .headmap import headmap_svg

UPDATE_PERIOD_MS = 500

WARD_CSS = """
.eegmon-ward { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
  gap: 12px; font: 14px/1.35 sans-serif; }
.eegmon-tile { display: block; color: inherit; text-decoration: none; border-radius: 8px;
  border: 3px solid #2e7d32; padding: 10px 12px; background: #fff; }
.eegmon-tile:hover { box-shadow: 0 2px 10px rgba(0,0,0,.25); }
.eegmon-tile.tile-alarm { border-color: #d32f2f; }
.eegmon-tile .name { font: bold 20px/1.2 sans-serif; }
.eegmon-tile .state { font-weight: bold; margin: 4px 0; padding: 2px 6px; border-radius: 4px;
  color: white; background: #2e7d32; display: inline-block; }
.eegmon-tile .state.off { background: #c62828; animation: eegmon-flash 1s steps(1) infinite; }
.eegmon-tile .why { color: #555; font-size: 12px; }
.eegmon-tile .counts .sev { margin-right: 4px; }
.eegmon-tile .body { display: flex; gap: 10px; align-items: flex-start; }
.eegmon-tile .newest { font-size: 13px; margin-top: 6px; }
"""


class WardView:
    """All beds as tiles, for one document."""

    def __init__(self, clients: Sequence[FeedClient]) -> None:
        if not clients:
            raise ValueError("the ward view needs at least one feed client")
        self.clients = list(clients)
        css = page_stylesheet()
        self.alarm = AlarmBar(css)
        self.title = Div(
            text="<b style='font-size:22px'>eegmon · ward</b> "
            f"· {len(self.clients)} bed{'s' if len(self.clients) != 1 else ''}",
            sizing_mode="stretch_width",
        )
        self.mute = Button(name="mute", label="Silence alarm", button_type="danger", width=230)
        self.tiles = Div(
            name="ward",
            css_classes=["eegmon-ward-host"],
            stylesheets=[css, WARD_CSS],
            sizing_mode="stretch_width",
            text="",
        )
        self.layout = column(
            row(self.title, self.mute, sizing_mode="stretch_width"),
            self.alarm.div,
            self.tiles,
            sizing_mode="stretch_width",
            name="ward_view",
        )
        self._key: tuple[Any, ...] = ()
        self.closed = False

    def update(self) -> None:
        if self.closed:
            return
        now = time.monotonic()
        snaps = [c.snapshot(traces=False) for c in self.clients]
        self.alarm.update(snaps)
        tiles = [self._tile(i, snap, now) for i, snap in enumerate(snaps)]
        key = tuple(tiles)
        if key != self._key:
            self._key = key
            self.tiles.text = f'<div class="eegmon-ward">{"".join(tiles)}</div>'

    @staticmethod
    def _tile(index: int, snap: FeedSnapshot, now: float) -> str:
        reason = not_monitoring_reason(snap, now)
        active = [a for a in snap.alerts if a.get("state") != "cleared"]
        counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
        for alert in active:
            if alert.get("severity") in counts:
                counts[str(alert["severity"])] += 1
        alarm = bool(reason) or any(
            a.get("severity") == "high" and a.get("state") == "active" for a in active
        )
        state = (
            '<span class="state">MONITORING</span>'
            if not reason
            else f'<span class="state off">NOT MONITORING</span> '
            f'<span class="why">{html.escape(reason)}</span>'
        )
        badges = (
            "".join(f'<span class="sev sev-{s}">{n} {s}</span>' for s, n in counts.items() if n)
            or '<span class="why">no active alert</span>'
        )
        newest = ""
        if active:
            top = sorted(active, key=alert_sort_key)[0]
            channels = ", ".join(map(str, top.get("channels") or [])) or "all channels"
            newest = (
                f'<div class="newest"><span class="sev sev-{severity_class(top.get("severity"))}">'
                f"{html.escape(str(top.get('severity', '')))}</span> "
                f"{html.escape(str(top.get('kind', '')))} on {html.escape(channels)}"
                f"{' (acknowledged)' if top.get('state') == 'acknowledged' else ''}</div>"
            )
        quality = snap.score_info.get("quality")
        values = (
            [q if isinstance(q, int | float) else None for q in quality]
            if isinstance(quality, list)
            else None
        )
        head = headmap_svg(snap.labels, values, quality_flags(snap)) if snap.labels else ""
        rate = snap.stream.get("rate")
        info = (
            f"{len(snap.labels)} ch · {float(rate):g} Hz"
            if snap.labels and isinstance(rate, int | float)
            else html.escape(snap.url)
        )
        return (
            f'<a class="eegmon-tile{" tile-alarm" if alarm else ""}" data-bed="{index}" '
            f'href="bed?bed={index}">'
            f'<div class="name">{html.escape(snap.name)}</div>{state}'
            f'<div class="body">{head}<div><div class="counts">{badges}</div>'
            f'<div class="why">{info}</div>{newest}</div></div></a>'
        )


def make_ward_document(doc: Document, clients: Sequence[FeedClient]) -> WardView:
    """Fill `doc` with the `WardView`, refreshed every `UPDATE_PERIOD_MS`."""
    view = WardView(clients)
    doc.title = "eegmon · ward"
    doc.add_root(view.layout)
    view.update()
    browser.install(doc, view.alarm.div, view.mute)
    doc.add_periodic_callback(view.update, UPDATE_PERIOD_MS)

    def on_destroyed(session_context: Any) -> None:
        view.closed = True

    doc.on_session_destroyed(on_destroyed)
    return view
