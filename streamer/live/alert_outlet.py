"""Alerts on LSL: the ``<name>-alerts`` marker stream, so a recorder stores them beside the EEG.

A sink of the monitor: every alert transition is one sample of type
``Markers`` (irregular rate, one string channel) holding one JSON object,
the alert plus ``event`` (raised, updated, acknowledged, cleared). The
sample's timestamp is the moment of the transition on the LSL clock; the
alert's ``onset`` tells when the condition began. LabRecorder (or any inlet)
finds it by name, or by source_id ``<source_id>-alerts``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pylsl

from detector.types import Block, StreamMeta

log = logging.getLogger(__name__)


class AlertOutlet:
    """Publishes the monitor's alert transitions on ``<stream name>-alerts``."""

    def __init__(self, meta: StreamMeta) -> None:
        self.name = f"{meta.name}-alerts"
        info = pylsl.StreamInfo(
            self.name,
            "Markers",
            1,
            pylsl.IRREGULAR_RATE,
            pylsl.cf_string,
            f"{meta.source_id}-alerts",
        )
        desc = info.desc()
        desc.append_child_value("eeg_stream", meta.name)
        desc.append_child_value("eeg_source_id", meta.source_id)
        desc.append_child_value("payload", "alert JSON plus 'event'")
        self._outlet: pylsl.StreamOutlet | None = pylsl.StreamOutlet(info)
        self.published = 0

    def block(self, block: Block) -> None:
        """Blocks are not markers: nothing to publish."""

    def alert(self, event: str, alert: dict[str, Any]) -> None:
        if self._outlet is None:
            return
        try:
            self._outlet.push_sample([json.dumps({"event": event, **alert}, allow_nan=False)])
            self.published += 1
        except (ValueError, RuntimeError) as exc:  # one odd alert must not stop monitoring
            log.error("alert %s not published on %s: %s", alert.get("id"), self.name, exc)

    def status(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        self._outlet = None  # liblsl closes the outlet when the last reference goes
