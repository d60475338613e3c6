"""``eegmon simulate``, ``monitor``, ``dashboard`` and ``demo``: the live commands.

Each checks its options first and imports what it runs after, so a bad
option is refused before the detector, Bokeh or pylsl load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from eegmon import cmd_users, config
from eegmon.common import PORT, fail, quiet_liblsl, say, stop_on_signals


@click.command()
@click.option("--name", help="LSL stream name [eegmon-sim].")
@click.option("--channels", type=int, help="8, 19, 32 or 64 channels of the 10-20 system [19].")
@click.option("--rate", type=float, help="Sampling rate in Hz, 128-2048 [256].")
@click.option("--scenario", help="Scenario TOML file, or the name of a shipped one (demo, ...).")
@click.option("--seed", type=int, help="Random seed: the same seed gives the same samples [0].")
@click.option("--duration", type=float, help="Seconds to publish [until stopped].")
def simulate(
    name: str | None,
    channels: int | None,
    rate: float | None,
    scenario: str | None,
    seed: int | None,
    duration: float | None,
) -> None:
    """Publish realistic sleep EEG (and scenario events on <name>-markers) over LSL."""
    from simulators import Simulator

    try:
        simulator = Simulator.from_options(
            name=name,
            n_channels=channels,
            rate=rate,
            seed=seed,
            scenario=scenario,
            duration=duration,
        )
    except (ValueError, OSError) as exc:
        fail(str(exc))
    quiet_liblsl()
    with stop_on_signals() as stop:
        simulator.open()
        say(f"eegmon simulate: {simulator.summary()}")
        stats = simulator.run(stop)
    say(f"eegmon simulate: stopped after {stats.samples} samples")


@click.command()
@click.option("--stream", "name", help="Monitor the stream with this name.")
@click.option("--source-id", help="Monitor the stream with this source_id (most specific).")
@click.option("--type", "stream_type", help="Monitor the stream of this type [default: EEG].")
@click.option("--resolve-timeout", type=float, default=None, help="Seconds to look for it [10].")
@click.option("--feed-host", default="127.0.0.1", show_default=True, help="Feed bind address.")
@click.option("--feed-port", type=PORT, default=8765, show_default=True, help="0 picks a free one.")
@click.option(
    "--feed-token",
    envvar="EEGMON_FEED_TOKEN",
    help="Deprecated (shows in ps): use --feed-token-file or EEGMON_FEED_TOKEN.",
)
@click.option(
    "--feed-token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File holding the token feed clients must present (without --users).",
)
@click.option(
    "--users",
    "users_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Users file (eegmon users add): each feed client is a person with a role.",
)
@click.option("--tls-cert", type=click.Path(path_type=Path, dir_okay=False), help="wss:// cert.")
@click.option("--tls-key", type=click.Path(path_type=Path, dir_okay=False), help="Its key.")
@click.option("--alerts-outlet", is_flag=True, help="Publish alerts on LSL <name>-alerts.")
@click.option("--allow-origin", multiple=True, help="Browser origin allowed on the feed.")
@click.option("--alerts", "alerts_path", type=click.Path(path_type=Path), help="Alert journal.")
@click.option("--notify", multiple=True, help="Apprise URL notified of every alert (repeatable).")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Config TOML.")
@click.option("--stall-timeout", type=float, default=None, help="Silence before signal_lost [2].")
@click.option("--status-every", type=float, default=None, help="Seconds between status lines [5].")
@click.option(
    "--model-state",
    "model_state_path",
    type=click.Path(path_type=Path),
    help="Load what the model learned from FILE if it fits the stream; save it there as it goes.",
)
@click.option(
    "--model-state-max-age",
    help="Older model states are not used: 30m, 12h, 2d... [24h].",
)
@click.option(
    "--patient",
    help="The patient's pseudonymous code (letters, digits, -_., at most 32): NEVER a name.",
)
@click.option("--quiet", is_flag=True, help="No status line on the terminal.")
@click.option("--no-staging", is_flag=True, help="Do not stage sleep (the stage feed messages).")
@click.option(
    "--record",
    "record_path",
    type=click.Path(path_type=Path),
    help="Record the stream as received to this EDF+ file (.bdf: BDF+).",
)
@click.option("--record-rotate", help="Start a new recording file every 1h, 30m, 90s...")
@click.option(
    "--record-range",
    type=click.FloatRange(min=0, min_open=True),
    help="Recorded physical range +-uV; clipped beyond [3276.7].",
)
def monitor(
    name: str | None,
    source_id: str | None,
    stream_type: str | None,
    resolve_timeout: float | None,
    feed_host: str,
    feed_port: int,
    feed_token: str | None,
    feed_token_file: Path | None,
    users_path: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    alerts_outlet: bool,
    allow_origin: tuple[str, ...],
    alerts_path: Path | None,
    notify: tuple[str, ...],
    config_path: Path | None,
    stall_timeout: float | None,
    status_every: float | None,
    model_state_path: Path | None,
    model_state_max_age: str | None,
    patient: str | None,
    quiet: bool,
    no_staging: bool,
    record_path: Path | None,
    record_rotate: str | None,
    record_range: float | None,
) -> None:
    """Watch one EEG stream live: detect, journal and publish alerts on the feed."""
    chosen = [(p, v) for p, v in (("name", name), ("source_id", source_id)) if v]
    if stream_type:
        chosen.append(("type", stream_type))
    if len(chosen) > 1:
        fail("choose one of --stream, --source-id or --type")
    prop, value = chosen[0] if chosen else ("type", "EEG")
    if record_path is None and (record_rotate or record_range is not None):
        fail("--record-rotate and --record-range need --record FILE")
    settings = config.MonitorSettings(
        prop=prop,
        value=value,
        feed_host=feed_host,
        feed_port=feed_port,
        feed_token=cmd_users.feed_token(feed_token, feed_token_file),
        users_path=users_path,
        tls_cert=tls_cert,
        tls_key=tls_key,
        alerts_outlet=alerts_outlet,
        allow_origins=allow_origin,
        alerts_path=alerts_path,
        notify_urls=notify,
        config_path=config_path,
        stall_timeout=stall_timeout,
        status_every=status_every,
        resolve_timeout=resolve_timeout,
        quiet=quiet,
        staging=not no_staging,
        record_path=record_path,
        record_rotate=record_rotate,
        record_range_uv=record_range,
        model_state_path=model_state_path,
        model_state_max_age=model_state_max_age,
        patient=patient,
    )
    try:
        checked = config.check_monitor(settings)
    except ValueError as exc:
        fail(str(exc))
    from eegmon import compose  # the detector's imports take seconds: not for a usage error

    quiet_liblsl()
    with stop_on_signals() as stop:
        compose.run_monitor(checked, stop, say=say, fail=fail)


@click.command()
@click.option("--feed", "feeds", multiple=True, required=True, help="Feed URL ws://HOST:PORT.")
@click.option("--port", type=int, default=5006, show_default=True, help="HTTP port; 0: free.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address.")
@click.option("--allow-origin", multiple=True, help="Extra host[:port] allowed to connect.")
@click.option(
    "--token",
    envvar="EEGMON_DASHBOARD_TOKEN",
    help="Access token (16+ chars) pages need, via /login; required beyond loopback "
    "with BOKEH_SECRET_KEY. [env EEGMON_DASHBOARD_TOKEN]",
)
@click.option(
    "--montage",
    "montage_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="TOML montage (name, derivations) offered in the bed view; repeatable.",
)
@cmd_users.dashboard_options
def dashboard(
    feeds: tuple[str, ...],
    port: int,
    host: str,
    allow_origin: tuple[str, ...],
    token: str | None,
    montage_files: tuple[Path, ...],
    **security_options: Any,
) -> None:
    """Serve the live dashboard of one or more monitors' feeds (one feed per bed)."""
    from dashboard.options import check_options, check_token

    security = cmd_users.dashboard_security(**security_options)
    token = cmd_users.feed_token(
        token, None, "token", "EEGMON_DASHBOARD_TOKEN or --users", check=check_token
    )
    from dashboard.montage import load_custom, use_custom

    try:
        has_users = security["users"] is not None
        check_options(list(feeds), port, host, list(allow_origin), token, has_users=has_users)
        use_custom(load_custom(list(montage_files)))  # MontageError is a ValueError
    except ValueError as exc:
        fail(str(exc))
    from dashboard.server import serve  # Bokeh and Tornado take seconds: not for a bad option

    try:
        serve(
            list(feeds),
            port=port,
            address=host,
            allow_origin=list(allow_origin),
            show_url_callback=lambda url: say(f"eegmon dashboard: dashboard at {url}"),
            token=token,
            **security,
        )
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot serve the dashboard on {host}:{port}: {exc.strerror or exc}")


@click.command()
@click.option("--port", type=PORT, default=5006, show_default=True, help="Dashboard HTTP port.")
@click.option("--feed-port", type=PORT, default=8765, show_default=True, help="Monitor feed port.")
@click.option("--scenario", default="demo", show_default=True, help="Scenario file or name.")
@click.option("--alerts", "alerts_path", type=click.Path(path_type=Path), help="Alert journal.")
def demo(port: int, feed_port: int, scenario: str, alerts_path: Path | None) -> None:
    """Simulator, monitor and dashboard together; prints the URL to open."""
    from eegmon.processes import Demo
    from simulators.scenario import load_scenario

    try:
        load_scenario(scenario)  # its own error, before three processes start
    except ValueError as exc:
        fail(str(exc))

    with stop_on_signals() as stop:
        Demo(port=port, feed_port=feed_port, scenario=scenario, alerts_path=alerts_path).run(
            stop, say=say, fail=fail
        )
