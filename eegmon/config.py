"""Monitor configuration as validated data: a TOML file, CLI flags on top.

Unknown sections or keys are errors that name the key, so a typo never
silently leaves a threshold at its default.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from detector import DetectorConfig
from streamer.notify import NotifyConfig

SECTIONS = ("detector", "monitor", "notify")
MONITOR_KEYS = {"stall_timeout": float, "status_every": float, "resolve_timeout": float}


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the problem."""


def _read(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {str(path)!r}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {str(path)!r} is not valid TOML: {exc}") from None


def load_notify(path: Path | None) -> NotifyConfig:
    """The ``[notify]`` section: routes per severity, escalation, rate limit, retries."""
    section = _read(path).get("notify", {})
    if not isinstance(section, dict):
        raise ConfigError(f"config {str(path)!r}: notify must be a table, got {section!r}")
    try:
        return NotifyConfig.from_dict(section)
    except ValueError as exc:
        raise ConfigError(f"config {str(path)!r} [notify]: {exc}") from None


def load(path: Path | None) -> tuple[DetectorConfig, dict[str, float]]:
    """Read `path` (or defaults) into the detector config and the monitor settings."""
    raw = _read(path)
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"config {str(path)!r}: unknown section [{unknown[0]}]; known: {', '.join(SECTIONS)}"
        )
    try:
        detector = DetectorConfig.from_dict(raw.get("detector", {}))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config {str(path)!r} [detector]: {exc}") from None
    monitor: dict[str, float] = {}
    for key, value in raw.get("monitor", {}).items():
        if key not in MONITOR_KEYS:
            raise ConfigError(
                f"config {str(path)!r} [monitor]: unknown key {key!r}; "
                f"known: {', '.join(sorted(MONITOR_KEYS))}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(
                f"config {str(path)!r} [monitor]: {key} must be a positive number, got {value!r}"
            )
        monitor[key] = float(value)
    return detector, monitor
