"""The alert journal: append-only JSON lines, written and fsynced by a thread of its own.

Every alert transition (raised, updated, escalated, acknowledged, cleared)
is one line with a monotonic ``seq``, the wall-clock time it was queued
(``logged_at``, ISO 8601 UTC), the session and patient of the monitor run,
and the alert as it was then. Every notification attempt is a line too
(``event: "notification"``, with its outcome), so the journal shows who was
told what and when; so is every technician's note (``event: "note"``: ``id``,
``text``, ``who``, ``at`` on the stream clock, ``at_utc`` on the wall clock).
`read_journal` and `select` read it back for ``eegmon alerts``.

Detection never waits on the disk: `AlertJournal.append` numbers and queues
a line, and the journal's writer writes and fsyncs it. Lines that cannot be
written (a full disk) are kept, up to a bound, and retried; the failure is
the high alert ``journal_failed``, cleared once every kept line is written.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from protocol.kinds import KINDS
from streamer.live.session import Session

log = logging.getLogger(__name__)

#: Called as on_condition(kind, active, message, evidence); `MonitorLink.set_condition` live.
OnCondition = Callable[[str, bool, str, dict[str, float]], None]


def open_private(path: Path, flags: int) -> int:
    """Open `path` for writing; a new file is created exclusively, readable by its owner only.

    An existing file keeps its mode (never loosened, never silently changed):
    a warning says when others may read it.
    """
    try:
        return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fd = os.open(path, flags)
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode) and mode & 0o077:
        log.warning(
            "%s is readable by others (mode %o); left as it is: chmod 600 it",
            path,
            stat.S_IMODE(mode),
        )
    return fd


class AlertJournal:
    """Appends events to a JSONL file; safe to call from several threads, never blocking.

    Parameters
    ----------
    path
        The journal; appended to when it exists, else created with mode 0600.
    session
        The monitor run whose ``session`` and ``patient`` every line carries.
    on_condition
        Where ``journal_failed`` is raised and cleared.
    retry_s
        Seconds between two attempts while writing fails.
    keep
        Lines kept while writing fails; beyond, the oldest are lost (counted).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        session: Session | None = None,
        on_condition: OnCondition | None = None,
        retry_s: float = 2.0,
        keep: int = 100_000,
    ) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"alert journal {str(self.path)!r} is a directory")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.session = session
        self.on_condition = on_condition
        self.retry_s = retry_s
        self._seq = self._last_seq()
        self._fd = open_private(self.path, os.O_WRONLY | os.O_APPEND)
        # Close a line torn by a crash; never append onto it.
        self._prefix = b"" if self._ends_with_newline() else b"\n"
        self._waiting: deque[bytes] = deque(maxlen=keep)
        self._wake = threading.Condition()
        self._closing = False
        self._writing = 0  # lines taken by the writer, not yet written
        self.lost = 0
        self.error: str | None = None
        self._next_try = 0.0
        self._thread = threading.Thread(target=self._run, name="eegmon-journal", daemon=True)
        self._thread.start()

    def _last_seq(self) -> int:
        """Continue the sequence of an existing journal (a restart at 3 a.m.)."""
        if not self.path.is_file():
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
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return True
        with open(self.path, "rb") as existing:
            existing.seek(-1, os.SEEK_END)
            return existing.read(1) == b"\n"

    def append(self, event: str, alert: dict[str, Any], **extra: Any) -> int:
        """Queue one alert transition and return its sequence number."""
        return self._queue({"event": event, **extra, "alert": alert})

    def note(self, event: str, **fields: Any) -> int:
        """Queue one line that is not an alert transition (a notification attempt)."""
        return self._queue({"event": event, **fields})

    def _queue(self, fields: dict[str, Any]) -> int:
        with self._wake:
            self._seq += 1
            record: dict[str, Any] = {
                "seq": self._seq,
                "logged_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            }
            if self.session is not None:
                record.update(session=self.session.id, patient=self.session.patient)
            line = json.dumps({**record, **fields}, allow_nan=False) + "\n"
            if len(self._waiting) == self._waiting.maxlen:
                self.lost += 1  # the oldest kept line goes: the bound protects the monitor
            self._waiting.append(line.encode("utf-8"))
            self._wake.notify()
            return self._seq

    def status(self) -> dict[str, Any]:
        """The ``journal`` field of the monitor's ``status``."""
        with self._wake:
            return {
                "journal": {
                    "path": str(self.path),
                    "state": "failed" if self.error is not None else "ok",
                    "pending": len(self._waiting) + self._writing,
                    "lost": self.lost,
                    "error": self.error,
                }
            }

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (one last attempt) and close; idempotent.

        Lines a failing disk still holds back are lost with an error logged,
        not raised: each failure was already reported, and a stop must not fail.
        """
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("alert journal %s: its disk does not answer; closing anyway", self.path)
            return
        with contextlib.suppress(OSError):
            os.close(self._fd)

    # -- the writer thread -------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wake:
                self._wait_for_work()
                closing = self._closing
                batch = list(self._waiting)
                self._waiting.clear()
                self._writing = len(batch)
            written = self._write(batch)
            with self._wake:
                self._writing = 0
                if written < len(batch):  # back in front of what came meanwhile, oldest lost first
                    merged = [*batch[written:], *self._waiting]
                    drop = max(0, len(merged) - (self._waiting.maxlen or len(merged)))
                    self.lost += drop
                    self._waiting.clear()
                    self._waiting.extend(merged[drop:])
            if closing:
                if self._waiting:
                    log.error(
                        "alert journal %s: %d lines not written are lost (%s)",
                        self.path,
                        len(self._waiting),
                        self.error,
                    )
                return

    def _wait_for_work(self) -> None:
        """Until lines wait (or, while writing fails, the next retry is due) or closing."""
        while not self._closing:
            if self.error is None:
                if self._waiting:
                    return
                self._wake.wait()
            else:
                left = self._next_try - time.monotonic()
                if left <= 0:
                    return
                self._wake.wait(left)

    def _write(self, batch: list[bytes]) -> int:
        """Write and fsync `batch`; the number of lines written before a failure."""
        done = 0
        try:
            for line in batch:
                self._write_all(self._prefix + line)
                self._prefix = b""
                done += 1
            if batch:
                _fsync(self._fd)
        except OSError as exc:
            self._failed(exc, len(batch) - done)
            return done
        if self.error is not None and batch:
            self._recovered()
        return done

    def _write_all(self, data: bytes) -> None:
        view, written = memoryview(data), 0
        while written < len(data):
            try:
                written += os.write(self._fd, view[written:])
            except OSError:
                if written:
                    self._prefix = b"\n"  # a torn line: the next one starts on its own
                raise

    def _failed(self, exc: OSError, kept: int) -> None:
        reason = exc.strerror or str(exc)
        self._next_try = time.monotonic() + self.retry_s
        if self.error is None:  # once per outage, however many retries fail
            log.error("alert journal %s cannot be written: %s", self.path, reason)
            message = KINDS["journal_failed"].message.format(
                path=self.path, reason=reason, kept=kept
            )
            if self.on_condition is not None:
                self.on_condition("journal_failed", True, message, {"errno": float(exc.errno or 0)})
        self.error = reason

    def _recovered(self) -> None:
        log.warning("alert journal %s is written again", self.path)
        self.error = None
        if self.on_condition is not None:
            self.on_condition("journal_failed", False, "", {})


def _fsync(fd: int) -> None:
    """fsync, where the file has it (a character device such as /dev/full has not)."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise


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
