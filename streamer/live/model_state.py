"""``--model-state``: what the detector learned survives a restart at 3 a.m."""

from __future__ import annotations

import logging
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from detector import Block, Detector

log = logging.getLogger(__name__)


class ModelStateFile:
    """``--model-state``: what the detector learned, loaded at start and saved as it goes.

    A monitor sink, so saving happens on the monitor's thread (the detector
    is never touched from two threads): every `every_s` seconds and at exit,
    written to a temporary file then renamed, so a crash never leaves half a
    state. A file of another stream (source_id, channels, rate or model) or
    an unreadable one is left alone: the detector starts fresh and says so.
    The file is a pickle: keep it where only the monitor's user can write.
    """

    def __init__(
        self, path: Path, detector: Detector, say: Callable[[str], None], every_s: float = 60.0
    ) -> None:
        self.path = path
        self.detector = detector
        self.every_s = every_s
        self.saved_at: float | None = None
        self.error: str | None = None
        self._next = time.monotonic() + every_s
        if path.exists():
            try:
                detector.load_model_state(pickle.loads(path.read_bytes()))
                say(
                    f"eegmon monitor: model state loaded from {str(path)!r} "
                    f"({detector.learned_windows} windows learned)"
                )
            except (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError) as exc:
                say(f"eegmon monitor: model state {str(path)!r} not used ({exc}); starting fresh")
        else:
            say(f"eegmon monitor: no model state at {str(path)!r} yet; starting fresh")

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_bytes(pickle.dumps(self.detector.model_state()))
            os.replace(tmp, self.path)
            self.saved_at, self.error = time.time(), None
        except OSError as exc:  # a full disk must not stop monitoring
            self.error = f"{exc.strerror or exc}"
            log.error("model state %s cannot be written: %s", self.path, self.error)

    def block(self, block: Block) -> None:
        if time.monotonic() >= self._next:
            self._next = time.monotonic() + self.every_s
            self.save()

    def alert(self, event: str, alert: dict[str, Any]) -> None:
        pass

    def status(self) -> dict[str, Any]:
        return {
            "model_state": {"path": str(self.path), "saved_at": self.saved_at, "error": self.error}
        }

    def close(self) -> None:
        self.save()
