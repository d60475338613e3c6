"""Finding LSL streams and reading their metadata.

Any LSL device works: channel labels come from the XDF meta-data convention
(``desc/channels/channel/label``) when present, else ``Ch1..ChN``; units other
than microvolts are converted to microvolts when they are recognised, by name
(``volts``, ``mV``...) or as MNE-LSL writes them, a power of ten of volts
(``"0"`` volts, ``"-6"`` microvolts). A channel without a unit is taken as
microvolts, integer streams included.
"""

from __future__ import annotations

from dataclasses import dataclass

import pylsl

from detector.types import StreamMeta
from protocol.units import unit_to_uv


class StreamNotFound(LookupError):
    """No stream, or more than one, matched what was asked for."""


@dataclass(frozen=True)
class Selector:
    """Which stream to monitor: exactly one of name, source_id or type."""

    prop: str
    value: str

    def __post_init__(self) -> None:
        if self.prop not in ("name", "source_id", "type"):
            raise ValueError(f"streams are selected by name, source_id or type, not {self.prop!r}")
        if not self.value:
            raise ValueError(f"an empty {self.prop} selects no stream")

    def describe(self) -> str:
        return f"{self.prop} {self.value!r}"


def describe_visible(wait_time: float = 1.0) -> str:
    """One line naming every stream visible on the network, for error messages."""
    streams = pylsl.resolve_streams(wait_time=wait_time)
    if not streams:
        return "no LSL streams are visible"
    shown = ", ".join(
        f"{s.name()!r} (type {s.type()}, source_id {s.source_id()!r})"
        for s in sorted(streams, key=lambda s: s.name())
    )
    return f"visible streams: {shown}"


def resolve(selector: Selector, timeout: float) -> pylsl.StreamInfo:
    """Resolve exactly one numeric stream, or raise `StreamNotFound` saying why."""
    if timeout <= 0:
        raise ValueError(f"resolve timeout must be positive, got {timeout!r}")
    found = pylsl.resolve_byprop(selector.prop, selector.value, minimum=1, timeout=timeout)
    if selector.prop == "type":
        # Markers and alerts streams share the name prefix but never the EEG type;
        # still drop string streams so a mistyped marker stream is never monitored.
        found = [s for s in found if s.channel_format() != pylsl.cf_string]
    if not found:
        raise StreamNotFound(
            f"no LSL stream with {selector.describe()} within {timeout:g} s; {describe_visible()}"
        )
    by_uid = {s.uid(): s for s in found}
    if len({(s.source_id() or s.uid()) for s in by_uid.values()}) > 1:
        names = ", ".join(f"{s.name()!r} (source_id {s.source_id()!r})" for s in by_uid.values())
        raise StreamNotFound(
            f"{len(by_uid)} streams match {selector.describe()}: {names}; "
            "choose one with --stream or --source-id"
        )
    return found[0]


def channel_metadata(info: pylsl.StreamInfo) -> tuple[list[str], list[float]]:
    """Channel labels and the factor from each channel's unit to microvolts."""
    n = info.channel_count()
    labels: list[str] = []
    scales: list[float] = []
    channel = info.desc().child("channels").child("channel")
    for i in range(n):
        label = channel.child_value("label").strip() if not channel.empty() else ""
        unit = channel.child_value("unit") if not channel.empty() else ""
        labels.append(label or f"Ch{i + 1}")
        scales.append(unit_to_uv(unit))
        if not channel.empty():
            channel = channel.next_sibling("channel")
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):  # duplicate labels would make alerts ambiguous
        if label in seen:
            labels[i] = f"{label}#{i + 1}"
        seen.setdefault(label, i)
    return labels, scales


def stream_meta(info: pylsl.StreamInfo) -> StreamMeta:
    """The detector's view of an LSL stream; a stream with no source_id gets its uid."""
    labels, _ = channel_metadata(info)
    return StreamMeta(
        name=info.name(),
        source_id=info.source_id() or info.uid(),
        labels=tuple(labels),
        rate=float(info.nominal_srate()),
        stream_type=info.type(),
    )
