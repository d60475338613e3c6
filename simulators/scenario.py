"""Scenario files: which faults and seizures the simulator injects, and when.

A scenario is TOML, checked strictly (unknown keys are errors) so a typo
never silently turns a test night into a clean one. docs/scenarios.md
documents the format; ``load_scenario("demo")`` finds a shipped scenario by name.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

#: The alert each event kind should raise in the monitor (`protocol.kinds`, docs/design.md).
EXPECTED_ALERT = {
    "flatline": "flatline",
    "saturation": "saturation",
    "line_noise": "line_noise",
    "electrode_pop": "electrode_pop",
    "artifact": "artifact",
    "bad_values": "bad_values",
    "seizure": "seizure_suspect",
    "pause": "signal_lost",
    "samples_dropped": "samples_dropped",
}
#: Kinds that affect the whole stream rather than some channels.
STREAM_KINDS = frozenset({"pause", "samples_dropped"})

_PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StreamSettings(_Strict):
    """Stream options a scenario may set; the command line overrides them."""

    name: Annotated[str, Field(min_length=1)] | None = None
    channels: Literal[8, 19, 32, 64] | None = None
    rate: Annotated[float, Field(ge=128, le=2048)] | None = None
    seed: Annotated[int, Field(ge=0, lt=2**63)] | None = None
    duration: _PositiveFloat | None = None


class _Event(_Strict):
    at: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    duration: _PositiveFloat

    @property
    def end(self) -> float:
        return self.at + self.duration


class ChannelEvent(_Event):
    """An event on some channels (the others affect the whole stream)."""

    channels: Annotated[list[str], Field(min_length=1)]

    @field_validator("channels")
    @classmethod
    def _unique(cls, channels: list[str]) -> list[str]:
        if len(set(channels)) != len(channels):
            raise ValueError("a channel is listed twice")
        return channels


class Flatline(ChannelEvent):
    """Electrode off: the channel holds one constant value."""

    kind: Literal["flatline"]
    value_uv: Annotated[float, Field(allow_inf_nan=False)] = 0.0


class Saturation(ChannelEvent):
    """Amplifier driven into its rails: the signal is amplified and clipped."""

    kind: Literal["saturation"]
    rail_uv: _PositiveFloat = 3276.7
    gain: _PositiveFloat = 1000.0


class LineNoise(ChannelEvent):
    """Mains interference: a sinusoid at the mains frequency is added."""

    kind: Literal["line_noise"]
    frequency_hz: Literal[50, 60] = 50
    amplitude_uv: _PositiveFloat = 80.0


class ElectrodePop(ChannelEvent):
    """A sudden step that decays back to baseline by the end of the event."""

    kind: Literal["electrode_pop"]
    amplitude_uv: Annotated[float, Field(allow_inf_nan=False)] = 400.0
    decay_s: _PositiveFloat = 0.3


class Artifact(ChannelEvent):
    """Movement (large slow swings) or a muscle burst (broadband 20-100 Hz)."""

    kind: Literal["artifact"]
    type: Literal["movement", "muscle"] = "movement"
    amplitude_uv: _PositiveFloat | None = None  # movement 300 µV peak, muscle 60 µV RMS


class BadValues(ChannelEvent):
    """The channels carry NaN."""

    kind: Literal["bad_values"]


class Seizure(ChannelEvent):
    """An evolving rhythmic discharge that starts on ``channels`` and spreads."""

    kind: Literal["seizure"]
    amplitude_uv: _PositiveFloat = 200.0
    start_hz: _PositiveFloat = 6.0
    end_hz: _PositiveFloat = 3.0
    spread: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.5
    spread_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 3.0


class Pause(_Event):
    """The stream stops publishing, then resumes on the wall clock."""

    kind: Literal["pause"]


class SamplesDropped(_Event):
    """Samples are generated but not pushed: a hole inside a flowing stream."""

    kind: Literal["samples_dropped"]


Event = Annotated[
    Flatline
    | Saturation
    | LineNoise
    | ElectrodePop
    | Artifact
    | BadValues
    | Seizure
    | Pause
    | SamplesDropped,
    Field(discriminator="kind"),
]
_EVENT = TypeAdapter(Event)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: stream settings and events, in file order (numbered from 1)."""

    name: str
    source: str
    stream: StreamSettings
    events: tuple[Event, ...]

    def check_labels(self, labels: tuple[str, ...]) -> None:
        """Fail when an event names a channel the stream does not have."""
        for number, event in enumerate(self.events, start=1):
            missing = [ch for ch in getattr(event, "channels", ()) if ch not in labels]
            if missing:
                raise ValueError(
                    f"{self.source}: event {number} ({event.kind}): field 'channels': "
                    f"{', '.join(map(repr, missing))} not in the stream's channels "
                    f"({' '.join(labels)})"
                )


def _field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(event)"


def _one_line(source: str, where: str, error: ValidationError) -> str:
    first = error.errors()[0]
    loc = tuple(first["loc"])
    # For events the first location item is the kind chosen by the discriminator.
    if where.startswith("event") and loc and loc[0] in EXPECTED_ALERT:
        loc = loc[1:]
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    value = first.get("input")
    shown = "" if first["type"] in ("missing", "extra_forbidden") else f" (got {value!r})"
    return f"{source}: {where}: field {_field(loc)!r}: {message}{shown}"


def parse_scenario(text: str, source: str = "<scenario>", name: str | None = None) -> Scenario:
    """Validate TOML scenario text; errors are one line naming source, event and field."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{source}: invalid TOML: {exc}") from None
    unknown = sorted(set(raw) - {"stream", "event"})
    if unknown:
        raise ValueError(
            f"{source}: unknown key {unknown[0]!r} (a scenario has [stream] and [[event]])"
        )
    try:
        stream = StreamSettings.model_validate(raw.get("stream", {}))
    except ValidationError as exc:
        raise ValueError(_one_line(source, "[stream]", exc)) from None

    items = raw.get("event", [])
    if not isinstance(items, list):
        raise ValueError(f"{source}: 'event' must be an array of tables ([[event]])")
    events = []
    for number, item in enumerate(items, start=1):
        kind = item.get("kind") if isinstance(item, dict) else None
        where = f"event {number}" + (f" ({kind})" if isinstance(kind, str) else "")
        if kind not in EXPECTED_ALERT:
            shown = "missing" if kind is None else f"unknown kind {kind!r}"
            raise ValueError(
                f"{source}: {where}: field 'kind': {shown}; "
                f"choose one of {', '.join(EXPECTED_ALERT)}"
            )
        if kind in STREAM_KINDS and "channels" in item:
            raise ValueError(
                f"{source}: {where}: field 'channels': {kind} affects the whole stream, "
                "remove 'channels'"
            )
        try:
            events.append(_EVENT.validate_python(item))
        except ValidationError as exc:
            raise ValueError(_one_line(source, where, exc)) from None
    return Scenario(name or Path(source).stem, source, stream, tuple(events))


def available_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    folder = resources.files("simulators") / "scenarios"
    return sorted(
        Path(entry.name).stem for entry in folder.iterdir() if entry.name.endswith(".toml")
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a scenario from a ``.toml`` path or by the name of a shipped one."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read scenario {str(path)!r}: {exc.strerror}") from None
        return parse_scenario(text, source=str(path))
    names = available_scenarios()
    if str(name_or_path) not in names:
        raise ValueError(
            f"no scenario file or shipped scenario named {str(name_or_path)!r}; "
            f"shipped: {', '.join(names)}"
        )
    resource = resources.files("simulators") / "scenarios" / f"{name_or_path}.toml"
    return parse_scenario(
        resource.read_text(encoding="utf-8"), source=f"{name_or_path}.toml", name=str(name_or_path)
    )
