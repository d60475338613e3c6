"""A monitor run: which patient, which session, since when.

Every monitor run is a session with an id of its own, so what one night
wrote (journal lines, recordings, the model state) is never mistaken for
another's, and a dashboard knows when a bed starts afresh. The patient is a
pseudonymous code, never a name: it goes into files and onto screens.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_PATIENT_CODE = re.compile(r"[A-Za-z0-9._-]{1,32}")


def check_patient(code: str) -> str:
    """A pseudonymous patient code, or ValueError quoting what is wrong with it.

    Examples
    --------
    >>> check_patient("P-0042")
    'P-0042'
    >>> check_patient("Jane Doe")
    Traceback (most recent call last):
    ...
    ValueError: patient code 'Jane Doe': 1-32 letters, digits, '-', '_', '.' (a code, not a name)
    """
    if not _PATIENT_CODE.fullmatch(code):
        raise ValueError(
            f"patient code {code!r}: 1-32 letters, digits, '-', '_', '.' (a code, not a name)"
        )
    return code


@dataclass(frozen=True)
class Session:
    """One monitor run.

    Attributes
    ----------
    patient
        The patient's pseudonymous code, or None when not given.
    id
        Random, 12 hex digits.
    started
        When the run began, ISO 8601 UTC.
    started_stream
        The same moment on the stream's (LSL) clock.
    """

    patient: str | None
    id: str
    started: str
    started_stream: float

    @classmethod
    def start(cls, patient: str | None = None, stream_time: float | None = None) -> Session:
        """A new session now; `stream_time` defaults to LSL's clock."""
        if stream_time is None:
            from pylsl import local_clock

            stream_time = float(local_clock())
        return cls(
            None if patient is None else check_patient(patient),
            uuid.uuid4().hex[:12],
            datetime.now(UTC).isoformat(timespec="seconds"),
            stream_time,
        )

    def fields(self) -> dict[str, Any]:
        """What ``hello`` and ``status`` carry of it."""
        return {
            "patient": self.patient,
            "session": self.id,
            "started": self.started,
            "started_stream": self.started_stream,
        }
