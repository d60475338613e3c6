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
            clipped samples), ``"notify"`` (destinations, pending, failing,
            delivered, failed), ``"model_state"`` (path, saved_at, error),
            ``"stage"`` (the newest epoch's ``stage`` and ``final``, or the
            ``error`` that keeps sleep from being staged).
``stage``   one 30 s sleep epoch, sent when first staged and again when revised:
            ``{"type": "stage", "index": n, "onset": t, "duration": 30.0,
            "stage": "W" | "N1" | "N2" | "N3" | "REM", "confidence": 0..1,
            "final": bool}``; ``index`` counts epochs from the stream's first
            sample, a later message for the same index replaces the earlier one.
``error``   a refused client message: ``{"type": "error", "message": "..."}``.

Client → server:

``ack``     ``{"type": "ack", "id": alert_id, "who": name}``.

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
SERVER_TYPES = frozenset({"hello", "traces", "scores", "alert", "status", "stage", "error"})
CLIENT_TYPES = frozenset({"ack"})
#: The sleep stages of ``stage`` messages, in the order of the night's usual descent (and REM).
SLEEP_STAGES = ("W", "N1", "N2", "N3", "REM")
#: Seconds of a sleep-scoring epoch (AASM): what one ``stage`` message covers.
SLEEP_EPOCH_S = 30.0


class ProtocolError(ValueError):
    """A message that does not follow the feed protocol."""


def encode(message: dict[str, Any]) -> str:
    """Serialize one message; NaN and infinities are refused (JSON has none)."""
    if message.get("type") not in SERVER_TYPES | CLIENT_TYPES:
        raise ProtocolError(f"unknown message type {message.get('type')!r}")
    return json.dumps(message, allow_nan=False, separators=(",", ":"))


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


def parse_ack(text: str | bytes) -> tuple[str, str]:
    """Validate a client's ``ack`` and return ``(alert_id, who)``."""
    message = decode(text, CLIENT_TYPES)
    alert_id, who = message.get("id"), message.get("who", "unknown")
    if not isinstance(alert_id, str) or not alert_id or len(alert_id) > 200:
        raise ProtocolError(f"ack needs a non-empty string 'id', got {alert_id!r}")
    if not isinstance(who, str) or len(who) > 100:
        raise ProtocolError(f"ack 'who' must be a short string, got {who!r}")
    return alert_id, who


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
