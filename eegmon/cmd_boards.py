"""``eegmon acquire``: a BrainFlow board published as an LSL EEG stream."""

from __future__ import annotations

from pathlib import Path

import click

from eegmon.common import fail, quiet_liblsl, say, stop_on_signals


@click.command()
@click.option(
    "--board",
    required=True,
    help="BrainFlow board: cyton, cyton_daisy, ganglion, unicorn, muse_2, freeeeg32..., "
    "synthetic (no hardware) or playback (--file).",
)
@click.option("--serial-port", default="", help="Serial port of the board (e.g. /dev/ttyUSB0).")
@click.option("--ip-address", default="", help="IP address of a board on the network.")
@click.option("--serial-number", default="", help="Serial number of a board (Bluetooth ones).")
@click.option(
    "--file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="BrainFlow recording played by --board playback.",
)
@click.option(
    "--master-board",
    default="synthetic",
    show_default=True,
    help="The board the --file was recorded from.",
)
@click.option("--name", default="eegmon-board", show_default=True, help="LSL stream name.")
def acquire(
    board: str,
    serial_port: str,
    ip_address: str,
    serial_number: str,
    file: Path | None,
    master_board: str,
    name: str,
) -> None:
    """Publish a BrainFlow board's EEG on LSL, for `eegmon monitor` (or any LSL client)."""
    from streamer.boards import BoardError, BoardPublisher, BoardSettings

    if not name.strip():
        fail(f"stream name {name!r} must not be empty")
    settings = BoardSettings(
        board,
        name=name,
        serial_port=serial_port,
        ip_address=ip_address,
        serial_number=serial_number,
        file=file,
        master_board=master_board,
    )
    verbose = quiet_liblsl()
    try:
        publisher = BoardPublisher(
            settings, say=lambda line: say(f"eegmon acquire: {line}"), verbose=verbose > 0
        )
    except BoardError as exc:
        fail(str(exc))
    with stop_on_signals() as stop:
        publisher.run(stop)
    say(f"eegmon acquire: stopped after {publisher.samples} samples")
