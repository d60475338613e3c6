"""The alert vocabulary: every kind of alert, written once.

The detector raises these kinds, the runtime journals, records and notifies
them, the dashboard colours and groups them, the simulators inject faults
that should raise them. Adding a kind means adding one `AlertKind` here
(and the code that detects it); everything else reads the registry.

Examples
--------
>>> KINDS["flatline"].severity, KINDS["flatline"].marks_quality
('medium', True)
>>> [k.name for k in KINDS.values() if k.latch]
['signal_lost', 'seizure_suspect', 'recording_failed']
>>> sorted(["low", "high", "medium"], key=SEVERITY_RANK.__getitem__)
['high', 'medium', 'low']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["high", "medium", "low"]
AlertState = Literal["active", "acknowledged", "cleared"]

#: Most urgent first.
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")
SEVERITY_RANK: dict[str, int] = {severity: rank for rank, severity in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class AlertKind:
    """One kind of alert and what every part of eegmon needs to know about it.

    Attributes
    ----------
    name
        The kind, as it appears in alerts, journals, reports and the feed.
    severity
        How urgent: ``high`` needs someone now, ``medium`` soon, ``low`` is
        for the record.
    meaning
        One line for the docs and the dashboard.
    message
        The alert's sentence, a `str.format` template filled with the
        alert's evidence, ``channels`` and ``duration``.
    quality
        For kinds that judge a channel's signal: the channel quality (1 good
        .. 0 unusable) reported while the kind flags it; None otherwise.
    broken_signal
        The flagged channel carries no EEG (no seizure is looked for there).
    debounce
        Windows that raise it, ``(k, n)``: k flagged among the last n;
        None for the detector's configured default (`raise_k` of
        `raise_n`). The detector's settings may override it
        (`seizure_k`, `seizure_n`).
    latch
        Stays until acknowledged even after its condition ends (by default).
    """

    name: str
    severity: Severity
    meaning: str
    message: str
    quality: float | None = None
    broken_signal: bool = False
    debounce: tuple[int, int] | None = None
    latch: bool = False

    @property
    def marks_quality(self) -> bool:
        """Whether the kind says something about a channel's signal quality."""
        return self.quality is not None


_KINDS = (
    AlertKind(
        "signal_lost",
        "high",
        "no samples for longer than the stall timeout",
        "No samples for {silent_s:.1f} s: the stream stalled or disconnected.",
        latch=True,
    ),
    AlertKind(
        "seizure_suspect",
        "high",
        "rhythmic, high-amplitude, evolving activity",
        "Possible seizure on {channels} for {duration:.1f} s: {amplitude_ratio:.1f} times this "
        "patient's usual amplitude and {line_length_ratio:.1f} times its usual line length "
        "(dominant rhythm {peak_hz:.1f} Hz).",
        debounce=(8, 10),
        latch=True,
    ),
    AlertKind(
        "recording_failed",
        "high",
        "the recording cannot be written (disk full, file error); monitoring goes on",
        "Recording to {path} failed ({reason}); monitoring goes on.",
        latch=True,
    ),
    AlertKind(
        "journal_failed",
        "high",
        "the alert journal cannot be written; monitoring goes on, records kept and retried",
        "The alert journal {path} cannot be written ({reason}); monitoring goes on, "
        "{kept} records kept and retried.",
    ),
    AlertKind(
        "monitor_failed",
        "high",
        "the monitor's processing keeps failing: the bed is not monitored",
        "The monitor failed {failures} times in {window_s:.0f} s ({error}): this bed is NOT "
        "monitored until it recovers.",
    ),
    AlertKind(
        "bad_values",
        "medium",
        "NaN, infinite or impossible (beyond 10 V) samples arrived",
        "Invalid (NaN, infinite or beyond 10 V) samples on {channels}: they were "
        "replaced before analysis.",
        quality=0.0,
        broken_signal=True,
    ),
    AlertKind(
        "saturation",
        "medium",
        "a channel sits at or clips against its rails",
        "Signal clipping on {channels} for {duration:.1f} s: the amplifier is at its rails.",
        quality=0.0,
        broken_signal=True,
    ),
    AlertKind(
        "flatline",
        "medium",
        "a channel carries no signal (electrode off, amplifier fault)",
        "Flat signal on {channels} for {duration:.1f} s: electrode off or amplifier fault.",
        quality=0.0,
        broken_signal=True,
    ),
    AlertKind(
        "anomaly",
        "medium",
        "the online model finds the EEG unlike what it learned for this patient",
        "The EEG has been unlike what the model learned for this stream for "
        "{duration:.1f} s (score {score:.2f}).",
    ),
    AlertKind(
        "samples_dropped",
        "medium",
        "samples missing inside the stream",
        "{missing} samples ({missing_s:.2f} s) are missing from the stream; "
        "analysis restarted after the gap.",
    ),
    AlertKind(
        "line_noise",
        "low",
        "mains interference (50/60 Hz) dominates a channel",
        "Mains interference dominates {channels} for {duration:.1f} s: check "
        "electrode contact and grounding.",
        quality=0.5,
        broken_signal=True,
    ),
    AlertKind(
        "electrode_pop",
        "low",
        "a sudden step on one channel",
        "Sudden {step_uv:.0f} µV step on {channels}: electrode pop (poor contact).",
        quality=0.5,
        debounce=(1, 1),
    ),
    AlertKind(
        "artifact",
        "low",
        "movement or muscle burst",
        "Artifact on {channels} for {duration:.1f} s (movement or muscle): the EEG "
        "there is not interpretable.",
        quality=0.5,
    ),
)

#: Every alert kind by name, most urgent first.
KINDS: dict[str, AlertKind] = {kind.name: kind for kind in _KINDS}

#: Not a kind: the message of a latched `signal_lost` once its stream is back.
SIGNAL_BACK_MESSAGE = (
    "The stream was lost for {lost_s:.1f} s and is back: samples of that time are missing."
)


def severity_of(kind: str) -> Severity:
    """The severity of a kind; an unknown kind (from a newer monitor) is ``medium``."""
    known = KINDS.get(kind)
    return known.severity if known is not None else "medium"
