"""The ``eegmon`` command line: the command group, assembled from the ``cmd_*`` modules.

The commands define themselves there, with what they share (exit codes,
`fail`, `say`) in `eegmon.common`; this module only assembles them and turns
errors into one line and an exit code.
"""

from __future__ import annotations

import logging
import sys

import click

from eegmon.cmd_alerts import ack, alerts, note
from eegmon.cmd_boards import acquire
from eegmon.cmd_evaluate import evaluate
from eegmon.cmd_files import replay, scan
from eegmon.cmd_live import dashboard, demo, monitor, simulate
from eegmon.cmd_users import users
from eegmon.cmd_ward import ward
from eegmon.common import EXIT_RUNTIME, EXIT_USAGE
from streamer.offline.allocator import retain_freed_memory


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """eegmon: real-time EEG monitoring with alerts."""
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="eegmon %(levelname)s %(name)s: %(message)s")
    retain_freed_memory()  # the detector's per-window arrays stop page-faulting


for command in (
    simulate, acquire, monitor, dashboard, ward, demo, ack, note, alerts, replay, scan, evaluate,
    users,
):  # fmt: skip
    cli.add_command(command)


def main() -> None:
    """Entry point: one line and exit 2 for bad input, never a traceback."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"eegmon: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code if exc.exit_code else EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        click.echo(f"eegmon: error: {exc}", err=True)
        sys.exit(EXIT_RUNTIME)
    sys.exit(0)


if __name__ == "__main__":
    main()
