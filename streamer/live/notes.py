"""Technicians' notes: what the monitor keeps of a ``note`` received on the feed.

A note ("lights off", "electrode O1 fixed") is stamped on the stream clock
and the wall clock when the monitor takes it, journaled, published on the
feed (and kept for the ``hello`` of dashboards connecting later), and handed
to the sinks that keep notes: the recorder writes it into the EDF+ file as
an annotation at its time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class NoteSink(Protocol):
    """A sink of the monitor that also keeps notes (the recorder)."""

    def note(self, note: dict[str, Any]) -> None: ...


def make_note(number: int, at: float, text: str, who: str) -> dict[str, Any]:
    """The Note of the feed protocol: the `number`-th of the run, at stream time `at`.

    >>> note = make_note(3, 12.5, "Lights off", "Ada")
    >>> note["id"], note["at"], note["text"], note["who"], note["at_utc"].endswith("+00:00")
    ('note-3', 12.5, 'Lights off', 'Ada', True)
    """
    return {
        "id": f"note-{number}",
        "at": at,
        "at_utc": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "text": text,
        "who": who,
    }
