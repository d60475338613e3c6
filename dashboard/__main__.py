"""``python -m dashboard --feed ws://HOST:PORT ... [--port P]``: serve the dashboard.

Prints ``dashboard at http://...`` (flushed) once the page can be loaded.
Exit codes: 0 after Ctrl-C / SIGTERM, 2 for bad options (one line on stderr),
1 when the server cannot run (e.g. the port is taken).
"""

from __future__ import annotations

import argparse
import logging
import sys

from .server import DEFAULT_ADDRESS, DEFAULT_PORT, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description=__doc__)
    parser.add_argument(
        "--feed", action="append", required=True, help="feed URL ws://HOST:PORT (repeatable)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--address", default=DEFAULT_ADDRESS)
    parser.add_argument(
        "--allow-origin", action="append", default=None, help="extra host[:port] (repeatable)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    def show(url: str) -> None:
        print(f"dashboard at {url}", flush=True)

    try:
        serve(args.feed, args.port, args.address, args.allow_origin, show_url_callback=show)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot serve the dashboard: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
