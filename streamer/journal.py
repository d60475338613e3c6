"""The alert journal: append-only JSON lines, each fsynced before it counts.

Every alert transition is one line with a monotonic ``seq``, the wall-clock
time it was written (``logged_at``, ISO 8601 UTC) and the alert as it was
then, so a crash right after an alert never loses it.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


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
        """Write one event durably and return its sequence number."""
        with self._lock:
            self._seq += 1
            record = {
                "seq": self._seq,
                "logged_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "event": event,
                **extra,
                "alert": alert,
            }
            self._file.write(json.dumps(record, allow_nan=False) + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
            return self._seq

    def close(self) -> None:
        with self._lock:
            self._file.close()
