"""The alerts panel: the bed's active alerts, their acknowledgement, the alerts of the night.

Active alerts are sorted most severe first; a latched alert whose condition
is over says so until someone acknowledges it. An acknowledgement carries
the name typed in ``who`` (kept by the browser, see `dashboard.browser`), or,
when people sign in (``--users``), the name of the responder signed in:
viewers get no Acknowledge button, and the monitor checks again. The
night's list holds every alert of the night, newest first, with the
technicians' notes among them (`panels.notes`).

Names: ``alerts_table`` / ``alerts_source``, ``ack_button``, ``ack_status``,
``who``, ``history_table`` / ``history_source`` (a row clicked calls
`AlertsPanel.on_jump` with the alert's onset).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bokeh.layouts import row
from bokeh.models import ColumnDataSource
from bokeh.models.ui import UIElement
from bokeh.models.widgets import (
    Button,
    DataTable,
    Div,
    HTMLTemplateFormatter,
    StringFormatter,
    TableColumn,
    TextInput,
)

from protocol.people import Person

from ..alarm import alert_sort_key, as_float, fmt_age, severity_class
from ..auth import signed_in
from ..feed_client import FeedClient, FeedSnapshot

DEFAULT_WHO = "dashboard"
HISTORY_ROWS = 500
ALERT_COLUMNS = ("id", "severity", "kind", "channels", "age", "message", "state", "sev")
HISTORY_COLUMNS = ("time", "sev", "kind", "channels", "state", "by", "duration", "note", "onset")
#: A severity badge; `severity_class` keeps feed text out of the class and the markup.
BADGE = '<span class="sev sev-<%= sev %>"><%= sev %></span>'


def sanitize_who(value: str | None) -> str:
    """The name sent with an acknowledgement: printable, at most 100 characters.

    >>> sanitize_who("  Night nurse A. \\n"), sanitize_who(""), len(sanitize_who("x" * 300))
    ('Night nurse A.', 'dashboard', 100)
    """
    text = "".join(ch for ch in (value or "") if ch.isprintable()).strip()[:100]
    return text or DEFAULT_WHO


def alert_state(alert: dict[str, Any]) -> str:
    """The State column: who acknowledged, or that a latched alert's condition is over.

    >>> alert_state({"state": "acknowledged", "acknowledged_by": "Ada"})
    'acknowledged by Ada'
    >>> alert_state({"state": "active", "ended_at": 12.0})
    'over, unacknowledged'
    """
    state = str(alert.get("state", ""))
    if state == "acknowledged" and alert.get("acknowledged_by"):
        return f"acknowledged by {alert['acknowledged_by']}"
    if state == "active" and alert.get("ended_at") is not None:
        return "over, unacknowledged"  # latched: what happened while nobody looked
    return state


def _channels(alert: dict[str, Any]) -> str:
    channels = alert.get("channels") or []
    return ", ".join(map(str, channels)) if channels else "all"


def _alert_row(alert: dict[str, Any]) -> dict[str, str]:
    """The night's list's cells of an alert (but its time)."""
    onset, cleared = alert.get("onset"), alert.get("cleared_at")
    lasted = ""
    if isinstance(onset, int | float) and isinstance(cleared, int | float):
        lasted = fmt_age(float(cleared) - float(onset))
    return {
        "sev": severity_class(alert.get("severity")),
        "kind": str(alert.get("kind", "")),
        "channels": _channels(alert),
        "state": str(alert.get("state", "")),
        "by": str(alert.get("acknowledged_by") or ""),
        "duration": lasted,
        "note": "",
    }


def _note_row(note: dict[str, Any]) -> dict[str, str]:
    """The night's list's cells of a technician's note (but its time)."""
    return {
        "sev": "note", "kind": "note", "channels": "", "state": "",
        "by": str(note.get("who") or ""), "duration": "", "note": str(note.get("text", "")),
    }  # fmt: skip


def _table(
    name: str,
    css_class: str,
    css: str,
    source: ColumnDataSource,
    columns: list[TableColumn],
    selectable: bool = False,
) -> Any:
    """A table that shows its rows in the order given."""
    return DataTable(
        name=name,
        css_classes=[css_class],
        stylesheets=[css],
        source=source,
        columns=columns,
        sortable=False,
        reorderable=False,
        index_position=None,
        selectable=selectable,
        height=190,
        sizing_mode="stretch_width",
    )


class AlertsPanel:
    """The alert tables of one bed and the acknowledge action.

    Parameters
    ----------
    client
        The bed's feed: acknowledgements go to it, the night's alerts come from it.
    css
        The page's stylesheet (severity badges).
    """

    def __init__(self, client: FeedClient, css: str) -> None:
        self.client = client
        self._alerts_key: tuple[Any, ...] = ()
        self._history_key: tuple[int, int] = (-1, -1)
        self._table_renders = 0
        self._alert_ids: list[str] = []
        badge = HTMLTemplateFormatter(template=BADGE)
        self.alerts_source = ColumnDataSource(
            name="alerts_source", data={k: [] for k in ALERT_COLUMNS}
        )
        self.alerts_table = _table("alerts_table", "eegmon-alerts", css, self.alerts_source, [
            TableColumn(field="sev", title="Severity", width=80, formatter=badge),
            TableColumn(field="kind", title="Kind", width=120),
            TableColumn(field="channels", title="Channels", width=120),
            TableColumn(field="age", title="Age", width=60),
            TableColumn(field="message", title="Message", width=420, formatter=StringFormatter()),
            TableColumn(field="state", title="State", width=170),
        ], selectable=True)  # fmt: skip
        self.history_source = ColumnDataSource(
            name="history_source", data={k: [] for k in HISTORY_COLUMNS}
        )
        self.history_table = _table("history_table", "eegmon-history", css, self.history_source, [
            TableColumn(field="time", title="Onset", width=80),
            TableColumn(field="sev", title="Severity", width=80, formatter=badge),
            TableColumn(field="kind", title="Kind", width=120),
            TableColumn(field="channels", title="Channels", width=140),
            TableColumn(field="state", title="State", width=100),
            TableColumn(field="by", title="Acknowledged or written by", width=140),
            TableColumn(field="duration", title="Lasted", width=80),
            TableColumn(field="note", title="Note", width=320, formatter=StringFormatter()),
        ], selectable=True)  # fmt: skip
        self.ack_button = Button(
            name="ack_button", label="Acknowledge", button_type="warning", disabled=True, width=160
        )
        self.ack_button.on_click(self._on_ack)
        self.ack_status = Div(name="ack_status", text="")
        self.who = TextInput(
            name="who", placeholder="Your name (for acknowledgements)", width=240, max_length=100
        )
        self.alerts_source.selected.on_change("indices", self._on_select)
        self.person: Person | None = None
        self._person_known = False
        #: Called with the stream time of an alert of the night clicked (the bed looks back).
        self.on_jump: Callable[[float], None] | None = None
        self.history_source.selected.on_change("indices", self._on_history_click)

    def children(self) -> list[UIElement]:
        """The panel's rows, top to bottom."""
        return [
            Div(text="<b>Active alerts</b> (select, then Acknowledge)"),
            self.alerts_table,
            row(self.ack_button, self.who, self.ack_status),
            Div(text="<b>Alerts of the night</b>"),
            self.history_table,
        ]

    # -- refresh (document thread) -----------------------------------------------------

    def _find_person(self) -> None:
        """Once the panel is on its page: the person signed in decides what it offers."""
        if self._person_known or self.ack_button.document is None:
            return
        self._person_known = True
        self.person = signed_in(self.ack_button.document)
        if self.person is not None:  # the name is the one signed in, not typed
            self.who.value, self.who.visible = self.person.name, False
            self.ack_button.visible = self.person.role == "responder"

    def update(self, snap: FeedSnapshot) -> None:
        """Show the alerts of `snap`; the night's history when they changed."""
        self._find_person()
        now_stream = snap.stream_now
        rows: dict[str, list[Any]] = {k: [] for k in ALERT_COLUMNS}
        for alert in sorted(snap.alerts, key=alert_sort_key):
            onset = alert.get("onset")
            rows["id"].append(str(alert["id"]))
            rows["severity"].append(str(alert.get("severity", "")))
            rows["sev"].append(severity_class(alert.get("severity")))
            rows["kind"].append(str(alert.get("kind", "")))
            rows["channels"].append(_channels(alert))
            if now_stream is not None and isinstance(onset, int | float):
                rows["age"].append(fmt_age(now_stream - onset))
            else:
                rows["age"].append("")
            rows["message"].append(str(alert.get("message", "")))
            rows["state"].append(alert_state(alert))
        if (snap.alerts_version, snap.notes_version) != self._history_key:
            self._history_key = (snap.alerts_version, snap.notes_version)
            self._update_history()
        key = (snap.alerts_version, tuple(rows["age"]))
        if key != self._alerts_key:
            self._alerts_key = key
            self._show_alerts(rows)

    def _show_alerts(self, rows: dict[str, list[Any]]) -> None:
        selected = self._selected_ids()
        self._alert_ids = rows["id"]
        self._show(self.alerts_table, self.alerts_source, rows)
        indices = [i for i, alert_id in enumerate(rows["id"]) if alert_id in selected]
        if indices != list(self.alerts_source.selected.indices):
            self.alerts_source.selected.indices = indices
        self.ack_button.disabled = not indices

    def _update_history(self) -> None:
        snap = self.client.snapshot(traces=False, night=True)
        offset = snap.wall_offset
        entries = [(as_float(a.get("onset")), _alert_row(a)) for a in snap.night]
        entries += [(as_float(n.get("at")), _note_row(n)) for n in snap.notes]
        entries.sort(key=lambda entry: -entry[0] if entry[0] == entry[0] else math.inf)
        rows: dict[str, list[Any]] = {k: [] for k in HISTORY_COLUMNS}
        for at, cells in entries[:HISTORY_ROWS]:
            when = ""
            if offset is not None and at == at:  # not NaN
                when = datetime.fromtimestamp(at + offset).strftime("%H:%M:%S")
            for key, value in {"time": when, "onset": at, **cells}.items():
                rows[key].append(value)
        self._show(self.history_table, self.history_source, rows)

    def _show(self, table: DataTable, source: ColumnDataSource, rows: dict[str, list[Any]]) -> None:
        """New rows for `table`, redrawn even when only cells changed.

        BokehJS re-renders a DataTable when its row indices change, not when the
        cells of the same number of rows do (a state, an age, how long an alert
        lasted): touching the table redraws it.
        """
        source.data = rows
        self._table_renders += 1
        table.tags = [self._table_renders]

    def _selected_ids(self) -> set[str]:
        ids = self._alert_ids
        return {ids[i] for i in self.alerts_source.selected.indices if 0 <= i < len(ids)}

    # -- user actions (document thread) ------------------------------------------------

    def _on_history_click(self, attr: str, old: Any, new: Any) -> None:
        onsets = self.history_source.data["onset"]
        if new and self.on_jump is not None and 0 <= new[0] < len(onsets):
            onset = onsets[new[0]]
            self.history_source.selected.indices = []  # the same row can be clicked again
            if onset == onset:  # not NaN
                self.on_jump(float(onset))

    def _on_select(self, attr: str, old: Any, new: Any) -> None:
        self.ack_button.disabled = not new

    def author(self) -> str:
        """Who acknowledges and writes notes here: the person signed in, or the name typed."""
        self._find_person()
        return self.person.name if self.person is not None else sanitize_who(self.who.value)

    def _on_ack(self) -> None:
        ids = sorted(self._selected_ids())
        if not ids:
            self.ack_status.text = "Select an alert first."
            return
        self._find_person()
        if self.person is not None and self.person.role != "responder":
            self.ack_status.text = "Only responders acknowledge alerts."
            return
        who = self.author()
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
