"""The alert journal: append-only JSON lines, each fsynced before it counts.

Every alert transition (raised, updated, escalated, acknowledged, cleared)
is one line with a monotonic ``seq``, the wall-clock time it was written
(``logged_at``, ISO 8601 UTC) and the alert as it was then, so a crash right
after an alert never loses it. Every notification attempt is a line too
(``event: "notification"``, with its outcome), so the journal shows who was
told what and when. `read_journal` and `select` read it back for ``eegmon alerts``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class AlertJournal:
    """Appends events to a JSONL file; safe to call from several threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"alert journal {str(self.path)!r} is a directory")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._seq = self._last_seq()
        self._lock = threading.Lock()
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)
        if self._file.tell() > 0 and not self._ends_with_newline():
            self._file.write("\n")  # close a line torn by a crash; never append onto it

    def _last_seq(self) -> int:
        """Continue the sequence of an existing journal (a restart at 3 a.m.)."""
        if not self.path.exists():
            return 0
        last = 0
        with open(self.path, encoding="utf-8", errors="replace") as existing:
            for line in existing:
                try:
                    last = max(last, int(json.loads(line).get("seq", 0)))
                except (ValueError, AttributeError, TypeError):
                    continue  # a line torn by a crash: skipped, never fatal
        return last

    def _ends_with_newline(self) -> bool:
        with open(self.path, "rb") as existing:
            existing.seek(-1, os.SEEK_END)
            return existing.read(1) == b"\n"

    def append(self, event: str, alert: dict[str, Any], **extra: Any) -> int:
        """Write one alert transition durably and return its sequence number."""
        return self._write({"event": event, **extra, "alert": alert})

    def note(self, event: str, **fields: Any) -> int:
        """Write one line that is not an alert transition (a notification attempt)."""
        return self._write({"event": event, **fields})

    def _write(self, fields: dict[str, Any]) -> int:
        with self._lock:
            self._seq += 1
            record = {
                "seq": self._seq,
                "logged_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                **fields,
            }
            self._file.write(json.dumps(record, allow_nan=False) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            return self._seq

    def close(self) -> None:
        """Close; lines a full disk still holds back are lost with an error logged, not raised.

        Each failed append was already reported, and a stop must not fail for it.
        """
        with self._lock:
            try:
                self._file.close()
            except OSError as exc:
                log.error("alert journal %s: lines not yet written are lost: %s", self.path, exc)


def read_journal(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """The journal's records in file order; a line torn by a crash is skipped."""
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "event" in record:
                yield record


def record_kinds(record: dict[str, Any]) -> list[str]:
    """The alert kinds a journal record is about (one for a transition, some for a summary)."""
    alert = record.get("alert")
    if isinstance(alert, dict):
        return [str(alert.get("kind"))]
    return [str(kind) for kind in record.get("kinds", ())]


def logged_at(record: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(record["logged_at"]))
    except (KeyError, ValueError):
        return None


def select(
    records: Iterator[dict[str, Any]],
    *,
    since: datetime | None = None,
    kinds: Collection[str] = (),
) -> Iterator[dict[str, Any]]:
    """Records logged at or after `since` (aware datetime) about any of `kinds` (all if empty).

    Examples
    --------
    >>> records = [
    ...     {"event": "raised", "logged_at": "2026-01-02T03:00:00+00:00",
    ...      "alert": {"kind": "flatline"}},
    ...     {"event": "notification", "logged_at": "2026-01-02T03:00:01+00:00",
    ...      "kinds": ["flatline"]},
    ...     {"event": "raised", "logged_at": "2026-01-02T04:00:00+00:00",
    ...      "alert": {"kind": "signal_lost"}},
    ... ]
    >>> [r["event"] for r in select(iter(records), kinds={"flatline"})]
    ['raised', 'notification']
    >>> since = datetime(2026, 1, 2, 3, 30, tzinfo=UTC)
    >>> [record_kinds(r) for r in select(iter(records), since=since)]
    [['signal_lost']]
    """
    wanted = set(kinds)
    for record in records:
        if since is not None:
            at = logged_at(record)
            if at is None or at < since:
                continue
        if wanted and not wanted.intersection(record_kinds(record)):
            continue
        yield record


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``30m``, ``2h``, ``1d`` ago, or an ISO date/time (local time unless it says otherwise).

    Examples
    --------
    >>> now = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)
    >>> parse_since("90s", now).isoformat()
    '2026-01-02T02:58:30+00:00'
    >>> parse_since("2026-01-01T22:00:00+00:00", now).isoformat()
    '2026-01-01T22:00:00+00:00'
    >>> parse_since("yesterday", now)
    Traceback (most recent call last):
    ...
    ValueError: 'yesterday': give a duration ago (30m, 2h, 1d) or an ISO date/time
    """
    now = now or datetime.now(UTC)
    problem = f"{text!r}: give a duration ago (30m, 2h, 1d) or an ISO date/time"
    relative = _RELATIVE.match(text)
    try:
        if relative:
            return now - timedelta(seconds=float(relative[1]) * _UNIT_S[relative[2]])
        when = datetime.fromisoformat(text.strip())
        return when if when.tzinfo is not None else when.astimezone()
    except (ValueError, OverflowError):
        raise ValueError(problem) from None
