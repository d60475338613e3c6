"""The ward view: one tile per bed, the page a technician watches for the whole ward.

A tile shows the bed's name, MONITORING or NOT MONITORING (and why), its
most urgent alert in large coloured text (the tile's border and background
take its colour), its active alerts counted by severity (high ones
flashing), and a 10-20 head map of each channel's signal quality; clicking
it opens the bed view. Tiles fill a grid, so a 1920x1080 screen shows 12
beds at once. All tiles are one ``Div`` of escaped HTML, rebuilt at most twice a
second and only when something changed: a ward of many beds costs the
browser no canvas at all.

Names for tests: ``ward`` (the tiles ``Div``; each tile has css class
``eegmon-tile`` and ``data-bed``), ``alarm``, ``mute``.
"""

from __future__ import annotations

import html
import time
from typing import Any

from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.models.widgets import Button, Div, Select, TextInput

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
from .auth import signed_in
from .beds import Beds
from .feed_client import FeedSnapshot
from .headmap import headmap_svg
from .panels.alerts import sanitize_who
from .stages import stage_text

UPDATE_PERIOD_MS = 500

#: Tiles in a grid: 4 columns of 3 rows hold 12 beds on a 1920x1080 screen, without scrolling.
WARD_CSS = """
.bk-clearfix { display: block !important; }  /* Bokeh wraps a Div's text in an inline-block */
.eegmon-ward { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr));
  gap: 12px; font: 15px/1.35 sans-serif; width: 100%; }
.eegmon-tile { display: block; color: inherit; text-decoration: none; border-radius: 10px;
  border: 4px solid #2e7d32; padding: 8px 12px; background: #fff; overflow: hidden; }
.eegmon-tile:hover { box-shadow: 0 2px 10px rgba(0,0,0,.25); }
.eegmon-tile.level-off, .eegmon-tile.level-high { border-color: #d32f2f; background: #ffebee; }
.eegmon-tile.level-medium { border-color: #f9a825; background: #fffde7; }
.eegmon-tile.level-low { border-color: #00acc1; }
.eegmon-tile.acknowledged { background: #fff; }
.eegmon-tile .top { display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.eegmon-tile .name { font: bold 26px/1.2 sans-serif; }
.eegmon-tile .state { font: bold 24px/1.2 sans-serif; padding: 2px 10px; border-radius: 6px;
  color: white; background: #2e7d32; display: inline-block; }
.eegmon-tile .state.off { background: #c62828; animation: eegmon-flash 1s steps(1) infinite; }
.eegmon-tile .urgent { font: bold 28px/1.25 sans-serif; margin: 6px 0 2px; padding: 2px 10px;
  border-radius: 6px; display: inline-block; }
.eegmon-tile .urgent.acknowledged { animation: none; opacity: 0.8; }
.eegmon-tile .why { color: #555; font-size: 13px; }
.eegmon-tile .counts .sev { margin-right: 4px; padding: 0 4px; border-radius: 3px; }
.eegmon-tile .body { display: flex; gap: 12px; align-items: flex-start;
  justify-content: space-between; }
.eegmon-tile .newest { font-size: 14px; margin-top: 4px; }
.eegmon-tile .eegmon-headmap { flex: none; width: 130px; height: auto; }
"""


class WardView:
    """All beds as tiles, for one document; in a ward, the control that removes a bed."""

    def __init__(self, beds: Beds) -> None:
        self.beds = beds
        css = page_stylesheet()
        self.alarm = AlarmBar(css)
        self.title = Div(text=_title(len(beds.shown())), sizing_mode="stretch_width")
        self.mute = Button(name="mute", label="Silence alarm", button_type="danger", width=230)
        self.tiles = Div(
            name="ward",
            css_classes=["eegmon-ward-host"],
            stylesheets=[css, WARD_CSS],
            sizing_mode="stretch_width",
            text="",
        )
        self.removal = BedRemoval(beds) if beds.removable else None
        self.layout = column(
            row(self.title, self.mute, sizing_mode="stretch_width"),
            self.alarm.div,
            self.tiles,
            *([self.removal.row] if self.removal is not None else []),
            sizing_mode="stretch_width",
            name="ward_view",
        )
        self._key: tuple[Any, ...] = ()
        self.closed = False

    def update(self) -> None:
        if self.closed:
            return
        now = time.monotonic()
        shown = self.beds.shown()
        snaps = [self.beds.clients[i].snapshot(traces=False) for i in shown]
        self.alarm.update(snaps)
        tiles = [self._tile(i, snap, now) for i, snap in zip(shown, snaps, strict=True)]
        if self.removal is not None:
            self.removal.offer(
                [(i, s.name) for i, s in zip(shown, snaps, strict=True) if not s.monitoring]
            )
        key = tuple(tiles)
        if key != self._key:
            self._key = key
            self.title.text = _title(len(shown))
            empty = '<div class="why">No bed yet: waiting for EEG streams on the network.</div>'
            self.tiles.text = f'<div class="eegmon-ward">{"".join(tiles) or empty}</div>'

    @staticmethod
    def _tile(index: int, snap: FeedSnapshot, now: float) -> str:
        reason = not_monitoring_reason(snap, now)
        active = [a for a in snap.alerts if a.get("state") != "cleared"]
        top = sorted(active, key=alert_sort_key)[0] if active else None
        level = "off" if reason else severity_class(top.get("severity")) if top else "ok"
        if not reason and top is not None and top.get("state") == "acknowledged":
            level += " acknowledged"  # someone is on it: the colour stays, the alarm look goes
        state = (
            '<span class="state">MONITORING</span>'
            if not reason
            else '<span class="state off">NOT MONITORING</span>'
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
        stage = stage_text(snap.stages[-1] if snap.stages else None)
        info += f' · <span class="stage">sleep <b>{stage}</b></span>' if stage else ""
        why = f'<div class="why">{html.escape(reason)}</div>' if reason else ""
        return (
            f'<a class="eegmon-tile level-{level}" data-bed="{index}" href="bed?bed={index}">'
            f'<div class="top"><span class="name">{html.escape(snap.name)}</span>{state}</div>'
            f'{why}<div class="body"><div>{_urgent(top)}<div class="counts">{_counts(active)}'
            f'</div><div class="why">{info}</div>{_newest(top)}</div>{head}</div></a>'
        )


def _urgent(top: dict[str, Any] | None) -> str:
    """The most urgent alert in large coloured text, to be read across the room."""
    if top is None:
        return ""
    acknowledged = top.get("state") == "acknowledged"
    return (
        f'<div class="urgent sev-{severity_class(top.get("severity"))}'
        f'{" acknowledged" if acknowledged else ""}">'
        f"{html.escape(str(top.get('severity', '')).upper())} · "
        f"{html.escape(str(top.get('kind', '')).replace('_', ' '))}"
        f"{' (ack)' if acknowledged else ''}</div>"
    )


def _counts(active: list[dict[str, Any]]) -> str:
    """Active alerts counted by severity."""
    counts: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for alert in active:
        if alert.get("severity") in counts:
            counts[str(alert["severity"])] += 1
    return (
        "".join(f'<span class="sev sev-{s}">{n} {s}</span>' for s, n in counts.items() if n)
        or '<span class="why">no active alert</span>'
    )


def _newest(top: dict[str, Any] | None) -> str:
    """Where the most urgent alert is: its channels, and whether someone acknowledged it."""
    if top is None:
        return ""
    channels = ", ".join(map(str, top.get("channels") or [])) or "all channels"
    return (
        f'<div class="newest"><span class="sev sev-{severity_class(top.get("severity"))}">'
        f"{html.escape(str(top.get('severity', '')))}</span> "
        f"{html.escape(str(top.get('kind', '')))} on {html.escape(channels)}"
        f"{' (acknowledged)' if top.get('state') == 'acknowledged' else ''}</div>"
    )


def _title(n_beds: int) -> str:
    return f"<b style='font-size:22px'>eegmon · ward</b> · {n_beds} bed{'s' if n_beds != 1 else ''}"


class BedRemoval:
    """Removing a bed that is not monitored any more (its patient went home): a person's act.

    Only beds NOT MONITORING are offered; the name typed is journaled with the removal.
    Names for tests: ``remove_choice``, ``remove_who``, ``remove_bed``, ``remove_status``.
    """

    def __init__(self, beds: Beds) -> None:
        self.beds = beds
        self.choice = Select(name="remove_choice", title="Bed not monitored", options=[], width=260)
        self.who = TextInput(
            name="remove_who", title="Your name", placeholder="Your name", width=200, max_length=100
        )
        self.button = Button(
            name="remove_bed", label="Remove bed", button_type="warning", width=140
        )
        self.status = Div(name="remove_status", text="")
        self.button.on_click(self._remove)
        self.row = row(self.choice, self.who, self.button, self.status, name="bed_removal")

    def offer(self, beds: list[tuple[int, str]]) -> None:
        options = [(str(index), name) for index, name in beds]
        if options != self.choice.options:
            self.choice.options = options  # type: ignore[assignment]
            if self.choice.value not in {value for value, _ in options}:
                self.choice.value = options[0][0] if options else ""

    def _remove(self) -> None:
        person = signed_in(self.button.document) if self.button.document is not None else None
        if person is not None:  # with --users: the person signed in, not a name typed
            if person.role != "responder":
                refused = f"{person.name} ({person.role}) may not remove beds."
                self.status.text = html.escape(refused)
                return
            self.who.value = person.name
        who = sanitize_who(self.who.value)
        if not self.choice.value or not (self.who.value or "").strip():
            self.status.text = "Choose a bed and give your name: the removal is journaled."
            return
        index = int(self.choice.value)
        name = dict(self.choice.options).get(self.choice.value, self.choice.value)  # type: ignore[arg-type]
        removed = self.beds.remove(index, who)
        self.status.text = html.escape(
            f"Bed {name} removed by {who}." if removed else f"Bed {name} could not be removed."
        )


def make_ward_document(doc: Document, beds: Beds) -> WardView:
    """Fill `doc` with the `WardView`, refreshed every `UPDATE_PERIOD_MS`."""
    view = WardView(beds)
    doc.title = "eegmon · ward"
    doc.add_root(view.layout)
    view.update()
    browser.install(doc, view.alarm.div, view.mute)
    doc.add_periodic_callback(view.update, UPDATE_PERIOD_MS)

    def on_destroyed(session_context: Any) -> None:
        view.closed = True

    doc.on_session_destroyed(on_destroyed)
    return view
