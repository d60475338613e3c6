"""What every ``eegmon`` command shares: exit codes, the bad-input error, output, stopping.

Exit codes: 0 success, 2 bad input or usage (one line on stderr), 1 runtime
failure. Long-running commands print where they can be reached, then run
until Ctrl-C (or SIGTERM) and stop cleanly (`stop_on_signals`).
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

EXIT_RUNTIME, EXIT_USAGE = 1, 2
#: A TCP port option: 0 picks a free one.
PORT = click.IntRange(0, 65535)


class BadInput(click.ClickException):
    """Bad input: reported as one line, exit code 2."""

    exit_code = EXIT_USAGE


def fail(message: str) -> NoReturn:
    raise BadInput(message)


def say(message: str) -> None:
    """Print to stdout at once: scripts and tests wait for these lines."""
    click.echo(message)
    sys.stdout.flush()


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM, so every command stops the same clean way."""
    stop = threading.Event()
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def quiet_liblsl() -> int:
    """Keep liblsl's own INFO lines off the terminal unless ``-v``; returns the verbosity.

    Called by the commands that publish or read LSL streams, before their first LSL call.
    """
    from streamer.live import liblsl

    context = click.get_current_context(silent=True)
    verbose = int(context.find_root().params.get("verbose") or 0) if context else 0
    liblsl.configure(verbose)
    return verbose
