"""How a bed's traces are shown: page, sensitivity, filter, montage, each channel; and Silence.

Paging: ◀ and ▶ move one page (the page length chosen) through the night,
*Live* returns to the newest samples; while the page looks back, *Live* is
highlighted and ``review_status`` says which time the page shows.

Each change redraws the traces from the feed client's ring at once. The
montage chosen is remembered by the browser for each bed (``localStorage``),
so a technician finds a bed as they left it after a reload or a visit to the
ward; the channel settings (gain, hidden) last as long as the page.

Names: ``page``, ``sensitivity``, ``display_filter``, ``montage``,
``channel``, ``gain_down``, ``gain_up``, ``hide_channel``, ``show_all``,
``mute``, ``page_back``, ``page_forward``, ``live``, ``review_status``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from bokeh.document import Document
from bokeh.layouts import column, row
from bokeh.models import CustomJS, Row
from bokeh.models.widgets import Button, Div, RadioButtonGroup, Select, Toggle

from ..montage import available, find
from .traces import (
    DEFAULT_SENSITIVITY_UV,
    FILTER_BAND_HZ,
    PAGES_S,
    SENSITIVITIES_UV,
    TracesPanel,
)

#: What ``review_status`` says while the page follows the newest samples.
LIVE_TEXT = "<span style='color:#2e7d32'>live</span>"
#: A channel's gain over the page's sensitivity stays within these.
GAIN_RANGE = (1 / 8, 8.0)

_RESTORE_MONTAGE = """
const saved = localStorage.getItem(key);
const known = montage.options.some((o) => (Array.isArray(o) ? o[0] : o) === saved);
if (saved && known && saved !== montage.value) { montage.value = saved; }
"""
_REMEMBER_MONTAGE = "localStorage.setItem(key, cb_obj.value);"


class DisplayControls:
    """The display settings of one bed, and the alarm's Silence button.

    Parameters
    ----------
    traces
        The traces the settings apply to.
    redraw
        Called after a setting changed (the bed view's refresh).
    """

    def __init__(self, traces: TracesPanel, redraw: Callable[[], None]) -> None:
        self.traces = traces
        self.redraw = redraw
        self.page = RadioButtonGroup(
            name="page", labels=[f"{p} s page" for p in PAGES_S], active=0, width=320
        )
        self.page.on_change("active", self._on_page)
        sensitivities: list[str | tuple[Any, str]] = [
            (str(s), f"{s} µV/div") for s in SENSITIVITIES_UV
        ]
        self.sensitivity = Select(
            name="sensitivity",
            title="",
            value=str(DEFAULT_SENSITIVITY_UV),
            options=sensitivities,
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
        montages: list[str | tuple[Any, str]] = [(m.key, m.name) for m in available()]
        self.montage = Select(
            name="montage", title="", value=traces.montage.key, options=montages, width=190
        )
        self.montage.on_change("value", self._on_montage)
        self.channel = Select(name="channel", title="", value="", options=[], width=150)
        self.channel.on_change("value", lambda attr, old, new: self._show_channels())
        self.gain_down = Button(name="gain_down", label="×½", width=45)
        self.gain_up = Button(name="gain_up", label="×2", width=45)
        self.hide = Button(name="hide_channel", label="Hide", width=70)
        self.show_all = Button(name="show_all", label="Show all", width=90, disabled=True)
        self.gain_down.on_click(lambda: self._scale(0.5))
        self.gain_up.on_click(lambda: self._scale(2.0))
        self.hide.on_click(self._on_hide)
        self.show_all.on_click(self._on_show_all)
        self.mute = Button(name="mute", label="Silence alarm", button_type="danger", width=230)
        self.page_back = Button(name="page_back", label="◀ page", width=75)
        self.page_forward = Button(name="page_forward", label="page ▶", width=75, disabled=True)
        self.live = Button(name="live", label="Live", width=90, button_type="light")
        self.review_status = Div(name="review_status", text=LIVE_TEXT, width=260)
        self.page_back.on_click(lambda: self.move_page(traces.page_back))
        self.page_forward.on_click(lambda: self.move_page(traces.page_forward))
        self.live.on_click(lambda: self.move_page(traces.go_live))
        traces.on_view = self._show_channels
        traces.on_review = self._show_review

    def row(self) -> Row:
        display = row(self.page, self.sensitivity, self.filter_toggle, self.montage)
        channel = row(self.channel, self.gain_down, self.gain_up, self.hide, self.show_all)
        paging = row(self.page_back, self.page_forward, self.live, self.review_status)
        return row(column(display, channel, paging), self.mute)

    def install(self, doc: Document) -> None:
        """Restore this bed's montage from the browser once the page is up, and remember it."""
        key = f"eegmon.montage.{self.traces.client.display_url}"
        doc.js_on_event(
            "document_ready",
            CustomJS(args={"montage": self.montage, "key": key}, code=_RESTORE_MONTAGE),
        )
        self.montage.js_on_change("value", CustomJS(args={"key": key}, code=_REMEMBER_MONTAGE))

    def _show_channels(self) -> None:
        """The channel menu lists the montage's channels, hidden ones marked."""
        labels = self.traces.derived_labels()
        hidden = self.traces.hidden
        options: list[str | tuple[Any, str]] = [
            (label, f"{label} (hidden)" if label in hidden else label) for label in labels
        ]
        if options != self.channel.options:
            self.channel.options = options
        if self.channel.value not in labels:
            self.channel.value = labels[0] if labels else ""
        self.hide.label = "Show" if self.channel.value in hidden else "Hide"
        self.show_all.disabled = not hidden.intersection(labels)

    def move_page(self, move: Callable[[], None]) -> None:
        """Look back or return live with `move` (of the traces), then redraw."""
        move()
        self.redraw()
        self._show_review()  # the page's times are known once drawn

    def _show_review(self) -> None:
        """Live highlighted and the time shown while looking back; plain when live."""
        reviewing = self.traces.reviewing
        self.live.button_type = "warning" if reviewing else "light"
        self.live.label = "● Live" if reviewing else "Live"
        self.page_forward.disabled = not reviewing
        text = self.traces.review_text()
        self.review_status.text = f"<b style='color:#e65100'>{text}</b>" if text else LIVE_TEXT

    def _on_page(self, attr: str, old: int, new: int) -> None:
        with contextlib.suppress(IndexError, TypeError):
            self.traces.set_page(float(PAGES_S[new]))
        self.redraw()
        self._show_review()

    def _on_sensitivity(self, attr: str, old: str, new: str) -> None:
        with contextlib.suppress(ValueError):
            self.traces.set_sensitivity(float(new))
        self.redraw()

    def _on_filter(self, attr: str, old: bool, new: bool) -> None:
        self.traces.set_filter(bool(new))
        self.redraw()

    def _on_montage(self, attr: str, old: str, new: str) -> None:
        self.traces.set_montage(find(new))
        self.redraw()

    def _scale(self, factor: float) -> None:
        label = self.channel.value
        if label:
            low, high = GAIN_RANGE
            gain = self.traces.gains.get(label, 1.0) * factor
            self.traces.set_gain(label, min(high, max(low, gain)))
            self.redraw()

    def _on_hide(self) -> None:
        label = self.channel.value
        if label:
            self.traces.set_hidden(label, label not in self.traces.hidden)
            self.redraw()

    def _on_show_all(self) -> None:
        self.traces.set_hidden("", False)
        self.redraw()
