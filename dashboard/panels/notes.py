"""Technicians' notes on the bed view: writing one, and each note's mark on the time axis.

A note ("lights off", "electrode O1 fixed") goes to the monitor over the
feed (`FeedClient.note`), which journals it, records it in the EDF+ file and
sends it back to every dashboard; only then is it shown: a dashed line at
its time on the traces, the hypnogram and the night trends (`attach`), and a
row in the night's list (`panels.alerts`). Its author is the name the alerts
panel acknowledges with (the person signed in, or the name typed).

Texts are drawn on the canvas or in table cells, never as markup; the
status line escapes what it repeats.

Names: ``note_text``, ``note_button``, ``note_status``, ``note_marks_source``
(``x``, ``text``, ``who``, ``label``), and one button per `QUICK_NOTES`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from bokeh.layouts import row
from bokeh.models import ColumnDataSource
from bokeh.models.ui import UIElement
from bokeh.models.widgets import Button, Div, TextInput

from protocol.feed import MAX_NOTE_CHARS, ProtocolError

from ..feed_client import FeedClient, FeedSnapshot
from .timeaxis import TimeAxis

#: One click for what happens every night.
QUICK_NOTES = ("Lights off", "Lights on", "Electrode fixed", "Patient awake")
NOTE_COLOR = "#00897b"
WARN = "<b style='color:#c62828'>"
#: Characters of a note shown beside its mark.
LABEL_CHARS = 24


def note_label(text: str) -> str:
    """The start of a note, for the label beside its mark.

    >>> note_label("Lights off"), note_label("Electrode O1 re-gelled and fixed at last")
    ('Lights off', 'Electrode O1 re-gelled…')
    """
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


class NotesPanel:
    """The note controls of one bed and the marks of its notes.

    Parameters
    ----------
    client
        The bed's feed: notes go to it and come back from it.
    axis
        The bed view's time axis.
    author
        The name a note is written under, asked at each note.
    """

    def __init__(self, client: FeedClient, axis: TimeAxis, author: Callable[[], str]) -> None:
        self.client = client
        self.axis = axis
        self.author = author
        self._key: tuple[Any, ...] = ()
        self.marks_source = ColumnDataSource(
            name="note_marks_source", data={"x": [], "text": [], "who": [], "label": []}
        )
        self.text = TextInput(
            name="note_text",
            placeholder="Note (what happened at the bedside)",
            max_length=MAX_NOTE_CHARS,
            width=360,
        )
        self.button = Button(name="note_button", label="Add note", width=110)
        self.button.on_click(lambda: self._add(self.text.value_input or self.text.value, True))
        self.quick = [self._quick_button(text) for text in QUICK_NOTES]
        self.status = Div(name="note_status", text="")

    def _quick_button(self, text: str) -> Button:
        button = Button(label=text, width=120, name=f"note_quick_{text.lower().replace(' ', '_')}")
        button.on_click(lambda: self._add(text, clear=False))
        return button

    def children(self) -> list[UIElement]:
        """The panel's rows, top to bottom."""
        return [row(self.text, self.button, *self.quick), self.status]

    def attach(self, fig: Any, label_y: float | None = None) -> None:
        """Draw the notes on `fig`: a dashed line each, labelled at `label_y` when given."""
        fig.vspan(
            x="x", source=self.marks_source, line_color=NOTE_COLOR, line_width=2,
            line_dash="dashed",
        )  # fmt: skip
        if label_y is not None:
            fig.text(
                x="x", y=label_y, text="label", source=self.marks_source, x_offset=3,
                text_color=NOTE_COLOR, text_font_size="10px", text_baseline="top",
            )  # fmt: skip

    # -- refresh (document thread) -----------------------------------------------------

    def update(self, snap: FeedSnapshot) -> None:
        """Place the notes of `snap` on the time axis, when they or the axis changed."""
        shift = self.axis.shift(snap.wall_offset)
        if shift is None:
            return
        key = (snap.notes_version, len(snap.notes), round(shift, 1))
        if key == self._key:
            return
        self._key = key
        notes = snap.notes
        self.marks_source.data = {
            "x": [float(n["at"]) + shift for n in notes],
            "text": [str(n["text"]) for n in notes],
            "who": [str(n.get("who") or "") for n in notes],
            "label": [note_label(str(n["text"])) for n in notes],
        }

    # -- user actions (document thread) ------------------------------------------------

    def _add(self, text: str, clear: bool) -> None:
        who = self.author()
        try:
            sent = self.client.note(text, who)
        except ProtocolError as exc:
            self.status.text = f"{WARN}Note not sent: {html.escape(str(exc))}</b>"
            return
        if not sent:
            self.status.text = f"{WARN}Not connected to the monitor: note not sent.</b>"
            return
        self.status.text = f"Note by {html.escape(who)} sent: {html.escape(text.strip())}"
        if clear:
            self.text.update(value="", value_input="")
