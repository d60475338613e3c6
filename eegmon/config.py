"""Monitor configuration as validated data: a TOML file, CLI flags on top.

Unknown sections or keys are errors that name the key, so a typo never
silently leaves a threshold at its default. Everything that needs neither
the detector nor a stream is checked first (`read`, `check_monitor`): the
detector's imports take seconds, a typo should not wait for them.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detector import DetectorConfig
    from streamer.notify import NotifyConfig

SECTIONS = ("detector", "monitor", "notify")
MONITOR_KEYS = {"stall_timeout": float, "status_every": float, "resolve_timeout": float}
MONITOR_DEFAULTS = {"stall_timeout": 2.0, "status_every": 5.0, "resolve_timeout": 10.0}
#: Keys renamed so that each word means one thing; the old name still works, with a warning.
RENAMED_KEYS = {
    "detector": {"escalate_after_s": "upgrade_after_s"},
    "notify": {"refractory_s": "min_interval_s"},
}


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


@dataclass(frozen=True)
class ConfigFile:
    """A read config file (or none: all defaults) whose sections and [monitor] are valid."""

    path: Path | None
    raw: dict[str, Any]
    monitor: dict[str, float]

    def detector(self) -> DetectorConfig:
        """The ``[detector]`` section; imports the detector."""
        from detector import DetectorConfig

        try:
            return DetectorConfig.from_dict(self.raw.get("detector", {}))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config {str(self.path)!r} [detector]: {exc}") from None

    def notify(self) -> NotifyConfig:
        """The ``[notify]`` section: routes per severity, escalation, rate limit, retries."""
        from streamer.notify import NotifyConfig

        section = self.raw.get("notify", {})
        if not isinstance(section, dict):
            raise ConfigError(f"config {str(self.path)!r}: notify must be a table, got {section!r}")
        try:
            return NotifyConfig.from_dict(section)
        except ValueError as exc:
            raise ConfigError(f"config {str(self.path)!r} [notify]: {exc}") from None


def read(path: Path | None) -> ConfigFile:
    """Read `path` (or nothing: defaults), checking its sections and the [monitor] values."""
    raw = _read(path)
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"config {str(path)!r}: unknown section [{unknown[0]}]; known: {', '.join(SECTIONS)}"
        )
    for section, renamed in RENAMED_KEYS.items():
        table = raw.get(section)
        if not isinstance(table, dict):
            continue
        for old in set(renamed) & set(table):
            print(
                f"eegmon: config {str(path)!r} [{section}]: {old!r} is deprecated, "
                f"use {renamed[old]!r}",
                file=sys.stderr,
            )
            table[renamed[old]] = table.pop(old)
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
    return ConfigFile(path, raw, monitor)


@dataclass(frozen=True)
class MonitorSettings:
    """``eegmon monitor``'s options as given (None: from the config file, else the default)."""

    prop: str
    value: str
    feed_host: str = "127.0.0.1"
    feed_port: int = 8765
    feed_token: str | None = None
    allow_origins: tuple[str, ...] = ()
    alerts_path: Path | None = None
    notify_urls: tuple[str, ...] = ()
    config_path: Path | None = None
    stall_timeout: float | None = None
    status_every: float | None = None
    resolve_timeout: float | None = None
    quiet: bool = False
    record_path: Path | None = None
    record_rotate: str | None = None
    record_range_uv: float | None = None
    model_state_path: Path | None = None
    #: The patient's pseudonymous code (never a name), and how old a model state may be.
    patient: str | None = None
    model_state_max_age: str | None = None
    #: People and roles (``eegmon users``); replaces the one shared feed token.
    users_path: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    alerts_outlet: bool = False
    #: Stage sleep live (``--no-staging`` turns it off).
    staging: bool = True


@dataclass(frozen=True)
class CheckedMonitor:
    """Settings that passed every check not needing the detector or the stream."""

    settings: MonitorSettings
    config: ConfigFile
    notify: NotifyConfig
    #: stall_timeout, status_every, resolve_timeout: options beat the file, the file defaults.
    timings: dict[str, float]
    record_rotate_s: float | None
    model_state_max_age_s: float = 86400.0


def check_monitor(settings: MonitorSettings) -> CheckedMonitor:
    """Check the options, the config file and the notification URLs; ValueError names the bad one.

    Cheap checks first; the notification URLs last (they load apprise).
    """
    from eegmon.cmd_users import read_users
    from streamer.live.feed import check_exposure
    from streamer.live.session import check_patient
    from streamer.notify import check_urls
    from streamer.recordings.recorder import parse_duration

    check_exposure(settings.feed_host, settings.feed_token, settings.users_path is not None)
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    if settings.users_path is not None:
        read_users(settings.users_path)  # a bad users file is refused before the stream is sought
    given = {key: getattr(settings, key) for key in MONITOR_DEFAULTS}
    given = {key: value for key, value in given.items() if value is not None}
    for key, value in given.items():
        if not (value > 0):  # NaN too
            raise ValueError(f"--{key.replace('_', '-')} must be positive, got {value!r}")
    rotate = None if settings.record_rotate is None else parse_duration(settings.record_rotate)
    if settings.patient is not None:
        check_patient(settings.patient)
    max_age = settings.model_state_max_age
    max_age_s = 86400.0 if max_age is None else parse_duration(max_age)
    config = read(settings.config_path)
    timings = {**MONITOR_DEFAULTS, **config.monitor, **given}
    notify = config.notify().with_urls(settings.notify_urls)
    if notify.destinations:
        check_urls(notify.destinations)
    return CheckedMonitor(settings, config, notify, timings, rotate, max_age_s)
