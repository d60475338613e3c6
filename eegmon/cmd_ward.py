"""``eegmon ward``: every EEG stream on the network monitored, one dashboard for all beds."""

from __future__ import annotations

from pathlib import Path

import click

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
def ward(data_dir: Path, streams: str, port: int, host: str, token: str | None) -> None:
    """Monitor every EEG stream on the network, one monitor process per bed, one dashboard."""
    from dashboard.options import check_options

    try:
        check_options([], port, host, None, token, need_feeds=False)
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
    supervisor = Ward(data_dir, discover=lambda: lsl_streams(streams), on_bed=beds.add, say=say)
    server = DashboardServer([], port=port, address=host, token=token, beds=beds)
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
