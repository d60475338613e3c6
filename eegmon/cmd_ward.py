"""``eegmon ward``: every EEG stream on the network monitored, one dashboard for all beds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from eegmon import cmd_users
from eegmon.common import PORT, fail, quiet_liblsl, say, stop_on_signals


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("eegmon-ward"),
    show_default=True,
    help="Each bed's journal, recordings and model state go to DATA_DIR/<stream name>/.",
)
@click.option(
    "--streams",
    default="*",
    show_default=True,
    help="Only EEG streams whose name matches this pattern (shell-style: 'bed-*').",
)
@click.option("--port", type=PORT, default=5006, show_default=True, help="Dashboard HTTP port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Dashboard bind address.")
@click.option(
    "--token",
    envvar="EEGMON_DASHBOARD_TOKEN",
    help="Access token (16+ chars) pages need, via /login; required beyond loopback "
    "with BOKEH_SECRET_KEY. [env EEGMON_DASHBOARD_TOKEN]",
)
@cmd_users.dashboard_options
def ward(
    data_dir: Path,
    streams: str,
    port: int,
    host: str,
    token: str | None,
    **security_options: Any,
) -> None:
    """Monitor every EEG stream on the network, one monitor process per bed, one dashboard.

    With --users, people sign in to the dashboard and every bed's monitor
    takes acknowledgements from them alone (the dashboard's own feed token:
    --feed-token-file or EEGMON_FEED_TOKEN).
    """
    from dashboard.options import check_options, check_token

    security = cmd_users.dashboard_security(**security_options)
    token = cmd_users.feed_token(
        token, None, "token", "EEGMON_DASHBOARD_TOKEN or --users", check=check_token
    )
    users_path = security_options["users_path"]

    try:
        has_users = security["users"] is not None
        check_options([], port, host, None, token, need_feeds=False, has_users=has_users)
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot use {str(data_dir)!r} for the ward's files: {exc.strerror or exc}")
    quiet_liblsl()
    from dashboard.beds import Beds
    from dashboard.server import DashboardServer
    from eegmon.ward import Ward, lsl_streams

    def remove(name: str, who: str) -> None:
        supervisor.remove(name, who)

    beds = Beds(on_remove=remove)
    supervisor = Ward(
        data_dir,
        discover=lambda: lsl_streams(streams),
        on_bed=beds.add,
        say=say,
        monitor_options=[] if users_path is None else ["--users", str(users_path.resolve())],
    )
    server = DashboardServer([], port=port, address=host, token=token, beds=beds, **security)
    try:
        server.start()
    except OSError as exc:
        fail(f"cannot serve the dashboard on {host}:{port}: {exc.strerror or exc}")
    say(f"eegmon ward: dashboard at {server.url} (Ctrl-C stops every monitor it started)")
    try:
        with stop_on_signals() as stop:
            supervisor.run(stop)
    finally:
        server.stop()  # the pages first, so they never show the monitors stopping
        supervisor.stop_all()
    say("eegmon ward: stopped")
