"""The feed protocol: JSON text messages between the monitor and its clients.

Every message is a JSON object with a `type` field. Server → client:

``hello``   once per connection: ``{"type": "hello", "version": 1, "stream": {...},
            "alerts": [Alert, ...], "config": {...}}``; ``stream`` holds ``name``,
            ``source_id``, ``stream_type``, ``rate``, ``labels``. The monitor run (its
            session): ``patient`` (a pseudonymous code or null), ``session`` (id),
            ``started`` (ISO 8601 UTC), ``started_stream`` (the same on the stream clock).
``traces``  decimated display samples: ``{"type": "traces", "timestamps": [t, ...],
            "rate": display_rate, "data": [[µV per sample] per channel]}``.
``scores``  one entry per analysis window: ``{"type": "scores", "end": [t, ...],
            "score": [...], "threshold": [...], "warming_up": bool,
            "quality": [per channel 0..1 of the newest window]}``.
``alert``   one alert on every state change: ``{"type": "alert", "event": "raised" |
            "updated" | "acknowledged" | "cleared", "alert": Alert}``.
``status``  about once a second, also the application-level heartbeat, with the
            session fields of ``hello`` and, with a journal, ``"journal"`` (path,
            state, pending, lost, error):
            ``{"type": "status", "now": t, "connected": bool, "rate": samples/s,
            "lag_s", "samples", "samples_dropped", "gaps", "reconnects",
            "latency_p50_s", "latency_p99_s" (block acquired → published),
            "alert_latency_p50_s", "alert_latency_p99_s", "work_p50_s",
            "work_p99_s" (detector time per block), "skipped_s" (signal skipped
            to catch up with real time), "windows", "warming_up",
            "active_alerts": {"high": n, "medium": n, "low": n}}``, plus what
            the monitor's sinks add: ``"recording"`` (file, state, lost and
            clipped samples, ``from``: the stream time of its first sample),
            ``"notify"`` (destinations, pending, failing, delivered, failed),
            ``"model_state"`` (path, saved_at, error),
            ``"stage"`` (the newest epoch's ``stage`` and ``final``, or the
            ``error`` that keeps sleep from being staged).
``stage``   one 30 s sleep epoch, sent when first staged and again when revised:
            ``{"type": "stage", "index": n, "onset": t, "duration": 30.0,
            "stage": "W" | "N1" | "N2" | "N3" | "REM", "confidence": 0..1,
            "final": bool}``; ``index`` counts epochs from the stream's first
            sample, a later message for the same index replaces the earlier one.
``note``    a technician's note, once the monitor has journaled it: ``{"type": "note",
            "note": Note, "ref": the sender's ``ref`` or null}``. A Note is ``{"id":
            "note-N", "at": stream time, "at_utc": ISO 8601 UTC, "text": ..., "who":
            name}``; ``hello`` carries the run's notes so far, ``"notes": [Note, ...]``.
``page``    the answer to a client's ``page``: the samples of that span read from the
            monitor's recording, averaged down like ``traces``: ``{"type": "page",
            "ref": the client's ``ref`` or null, "start": t, "end": t, "rate": r,
            "timestamps": [t, ...], "data": [[µV per sample] per channel],
            "recorded": [first, last] stream times the recording holds, or null
            without a recording}``; no timestamps: the span is not recorded.
``error``   a refused client message: ``{"type": "error", "message": "..."}``, with
            the message's ``ref`` when it had one.

Client → server:

``ack``     ``{"type": "ack", "id": alert_id, "who": name}``.
``note``    ``{"type": "note", "text": "...", "who": name, "ref": optional string}``:
            at most `MAX_NOTE_CHARS` characters once control characters are made spaces;
            ``ref`` (at most 64 characters) comes back in the ``note`` message, so the
            sender knows its note was taken.
``page``    ``{"type": "page", "start": t, "end": t, "ref": optional string}``: the
            samples from ``start`` to ``end`` (stream times, at most `MAX_PAGE_S`
            apart) from the monitor's recording; one at a time per connection.

Stream times are seconds on the LSL clock. Alerts follow docs/design.md's
Alert object (``detector.types.Alert.to_dict``): its ``detected_at`` is the
detector's, the stream time of the window that raised it; ``episode``
counts the returns of its condition (1, 2, ...), each with its own
``episode_onset`` and ``episode_detected_at``. The monitor adds
two fields of its own clock (``pylsl.local_clock``): ``published_at``, when
it first published the alert, and ``latency_s``, from the acquisition of the
triggering samples to that publication. The same alert objects go to the
journal and to the notifier.
"""

from __future__ import annotations

import ipaddress
import json
import math
from typing import Any

PROTOCOL_VERSION = 1
#: Bytes; larger client messages close that client's connection (1009).
MAX_CLIENT_MESSAGE = 4096
#: Bytes; the largest message a client should accept from a feed.
MAX_SERVER_MESSAGE = 4 * 1024 * 1024
SERVER_TYPES = frozenset(
    {"hello", "traces", "scores", "alert", "status", "stage", "note", "page", "error"}
)
CLIENT_TYPES = frozenset({"ack", "note", "page"})
#: Characters of a note's text, at most.
MAX_NOTE_CHARS = 500
#: Notes of a monitor run a ``hello`` carries (the newest).
MAX_RUN_NOTES = 1000
#: Seconds a ``page`` may span: the longest page (60 s) and the display filter's lead-in.
MAX_PAGE_S = 70.0
#: Numbers (channels × samples) of a ``page`` answer, at most, so it stays within
#: `MAX_SERVER_MESSAGE` (11 characters a number at worst, and the timestamps).
MAX_PAGE_VALUES = 300_000
#: The sleep stages of ``stage`` messages, in the order of the night's usual descent (and REM).
SLEEP_STAGES = ("W", "N1", "N2", "N3", "REM")
#: Seconds of a sleep-scoring epoch (AASM): what one ``stage`` message covers.
SLEEP_EPOCH_S = 30.0


class ProtocolError(ValueError):
    """A message that does not follow the feed protocol."""


def encode(message: dict[str, Any]) -> str:
    """Serialize one message; NaN and infinities are refused (JSON has none).

    UTF-8 as it is (not escaped), so the longest note fits a client message.
    """
    if message.get("type") not in SERVER_TYPES | CLIENT_TYPES:
        raise ProtocolError(f"unknown message type {message.get('type')!r}")
    return json.dumps(message, allow_nan=False, separators=(",", ":"), ensure_ascii=False)


def decode(text: str | bytes, allowed: frozenset[str] = SERVER_TYPES) -> dict[str, Any]:
    """Parse one message and check its type against `allowed`."""
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"message is not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"message must be a JSON object, got {type(message).__name__}")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in allowed:
        raise ProtocolError(f"unexpected message type {kind!r}; expected one of {sorted(allowed)}")
    return message


def _client(text: str | bytes | dict[str, Any], kind: str) -> dict[str, Any]:
    message = text if isinstance(text, dict) else decode(text, CLIENT_TYPES)
    if message.get("type") != kind:
        raise ProtocolError(f"expected a {kind!r} message, got {message.get('type')!r}")
    return message


def _who(message: dict[str, Any]) -> str:
    who = message.get("who", "unknown")
    if not isinstance(who, str) or len(who) > 100:
        raise ProtocolError(f"{message['type']} 'who' must be a short string, got {who!r}")
    return who


def parse_ack(text: str | bytes | dict[str, Any]) -> tuple[str, str]:
    """Validate a client's ``ack`` (text, or already decoded) and return ``(alert_id, who)``."""
    message = _client(text, "ack")
    alert_id = message.get("id")
    if not isinstance(alert_id, str) or not alert_id or len(alert_id) > 200:
        raise ProtocolError(f"ack needs a non-empty string 'id', got {alert_id!r}")
    return alert_id, _who(message)


def note_text(text: object) -> str:
    """A note's text as kept: control characters made spaces, trimmed, bounded.

    Examples
    --------
    >>> note_text("  Lights off\\n")
    'Lights off'
    >>> len(note_text("x" * 500)), note_text("<script>a\\x00b")
    (500, '<script>a b')
    """
    if not isinstance(text, str):
        raise ProtocolError(f"note 'text' must be a string, got {type(text).__name__}")
    kept = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    if not kept:
        raise ProtocolError("note needs some text")
    if len(kept) > MAX_NOTE_CHARS:
        raise ProtocolError(f"note too long: {len(kept)} characters, at most {MAX_NOTE_CHARS}")
    return kept


def parse_note(text: str | bytes | dict[str, Any]) -> tuple[str, str, str | None]:
    """Validate a client's ``note`` (text, or already decoded): ``(text, who, ref)``."""
    message = _client(text, "note")
    ref = _ref(message)
    return note_text(message.get("text")), _who(message), ref


def _ref(message: dict[str, Any]) -> str | None:
    ref = message.get("ref")
    if ref is not None and (not isinstance(ref, str) or len(ref) > 64):
        raise ProtocolError(
            f"{message['type']} 'ref' must be a string of at most 64 characters, got {ref!r}"
        )
    return ref


def parse_page(text: str | bytes | dict[str, Any]) -> tuple[float, float, str | None]:
    """Validate a client's ``page`` (text, or already decoded): ``(start, end, ref)``.

    Examples
    --------
    >>> parse_page({"type": "page", "start": 100, "end": 110.5, "ref": "p1"})
    (100.0, 110.5, 'p1')
    >>> parse_page({"type": "page", "start": 100, "end": 200})
    Traceback (most recent call last):
    ...
    protocol.feed.ProtocolError: page spans 100 s, at most 70
    """
    message = _client(text, "page")
    start, end = message.get("start"), message.get("end")
    for value in (start, end):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProtocolError(f"page 'start' and 'end' must be numbers, got {value!r}")
        if not math.isfinite(value):
            raise ProtocolError("page 'start' and 'end' must be finite")
    assert isinstance(start, int | float)
    assert isinstance(end, int | float)
    if end <= start:
        raise ProtocolError(f"page 'end' ({end}) must be after its 'start' ({start})")
    if end - start > MAX_PAGE_S:
        raise ProtocolError(f"page spans {end - start:g} s, at most {MAX_PAGE_S:g}")
    return float(start), float(end), _ref(message)


def finite_or_none(value: Any) -> Any:
    """Replace NaN and infinities (which JSON cannot carry) by null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value


def is_loopback(address: str) -> bool:
    """True for ``localhost`` and loopback IP addresses: what may be served without a token.

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
