"""``eegmon ack``, ``note`` and ``alerts``: acknowledge an alert, add a note, read the journal."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import ssl
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from eegmon import cmd_users
from eegmon.common import fail, say
from protocol import feed as protocol
from streamer.live.journal import logged_at, parse_since, read_journal, record_kinds, select


def _detail(record: dict[str, Any]) -> str:
    event = record.get("event")
    if event == "notification":
        text = f"{record.get('notice')} → {record.get('destination', '-')}: {record.get('outcome')}"
        if record.get("attempt"):
            text += f" (attempt {record['attempt']})"
        if record.get("error"):
            text += f": {record['error']}"
        return text
    if event == "note":
        return f"{record.get('who')}: {record.get('text')}"
    alert = record.get("alert") or {}
    if event == "acknowledged":
        return f"by {record.get('who') or alert.get('acknowledged_by') or '?'}"
    if event == "escalated":
        return f"unacknowledged for {record.get('after_s', 0):.0f} s"
    return str(alert.get("message", ""))


def rows(records: Iterable[dict[str, Any]]) -> list[list[str]]:
    """One table row per journal record: seq, time, event, kind, severity, channels, id, detail."""
    table = []
    for record in records:
        alert = record.get("alert") or {}
        at = logged_at(record)
        table.append(
            [
                str(record.get("seq", "")),
                at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if at else "?",
                str(record.get("event", "")),
                ",".join(record_kinds(record)),
                str(alert.get("severity") or record.get("severity") or ""),
                ",".join(alert.get("channels") or []),
                str(alert.get("id") or ",".join(record.get("alert_ids", []))),
                _detail(record),
            ]
        )
    return table


HEADER = ["seq", "time", "event", "kind", "severity", "channels", "alert", "detail"]


def table(body: list[list[str]]) -> str:
    """Plain aligned columns; the last one (detail) is not padded."""
    lines = [HEADER, *body]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER) - 1)]
    return "\n".join(
        "  ".join(
            [*(cell.ljust(w) for cell, w in zip(line, widths, strict=False)), line[-1]]
        ).rstrip()
        for line in lines
    )


@click.command()
@click.argument("journal", type=click.Path(path_type=Path))
@click.option("--since", help="Only records since: 30m, 2h, 1d ago, or an ISO date/time.")
@click.option("--kind", "kinds", multiple=True, help="Only alerts of this kind (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def alerts(journal: Path, since: str | None, kinds: tuple[str, ...], as_json: bool) -> None:
    """Print the history of an alert journal: transitions and notification attempts."""
    if not journal.is_file():
        fail(f"alert journal {str(journal)!r} not found")
    try:
        since_at = parse_since(since) if since else None
    except ValueError as exc:
        fail(f"--since {exc}")
    try:
        chosen = list(select(read_journal(journal), since=since_at, kinds=kinds))
    except OSError as exc:
        fail(f"cannot read alert journal {str(journal)!r}: {exc.strerror}")
    if as_json:
        for record in chosen:
            click.echo(json.dumps(record))
        return
    click.echo(table(rows(chosen)))
    say(f"{len(chosen)} record{'s' if len(chosen) != 1 else ''}")


def _feed_options(who: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options of a command that speaks to a monitor's feed (`who`: what --who names)."""

    def add(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(
            [
                click.option("--feed", required=True, help="The monitor's feed, ws://HOST:PORT."),
                click.option("--who", default=None, help=f"{who} [the login name]."),
                click.option(
                    "--token-file",
                    type=click.Path(path_type=Path, dir_okay=False),
                    help="File holding your token [env EEGMON_TOKEN].",
                ),
                click.option(
                    "--feed-ca",
                    type=click.Path(path_type=Path, dir_okay=False),
                    help="CA certificate to trust for a wss:// feed (a lab's own CA).",
                ),
                click.option(
                    "--timeout",
                    type=click.FloatRange(min=0, min_open=True),
                    default=10.0,
                    show_default=True,
                    help="Seconds to wait.",
                ),
            ]
        ):
            command = option(command)
        return command

    return add


class _Session:
    """A connection to a monitor's feed whose waits share one deadline."""

    def __init__(self, ws: Any, deadline: float) -> None:
        self.ws, self.deadline = ws, deadline

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(protocol.encode(message))

    def receive(self) -> dict[str, Any]:
        """The next message; TimeoutError past the deadline."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return dict(protocol.decode(self.ws.recv(timeout=remaining)))


@contextlib.contextmanager
def _feed(
    feed: str, token: str | None, feed_ca: Path | None, timeout: float, waiting_for: str
) -> Iterator[_Session]:
    """A session on `feed`; a network or feed error ends the command in one line.

    `waiting_for` names what the command waits for, in the line of a timeout.
    """
    from dashboard.options import validate_feed_url

    try:
        validate_feed_url(feed)
    except ValueError as exc:
        fail(f"--feed: {exc}")
    from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException
    from websockets.sync.client import connect

    from protocol.people import keep_secrets_out_of_logs

    keep_secrets_out_of_logs()
    headers = {"Authorization": f"Bearer {token}"} if token else None
    tls = _client_tls(feed_ca) if feed.startswith("wss:") else None
    deadline = time.monotonic() + timeout
    try:
        with connect(
            feed,
            open_timeout=timeout,
            additional_headers=headers,
            max_size=protocol.MAX_SERVER_MESSAGE,
            ssl=tls,
        ) as ws:
            yield _Session(ws, deadline)
    except TimeoutError:
        raise click.ClickException(f"{feed} did not {waiting_for} within {timeout:g} s") from None
    except InvalidURI as exc:
        fail(f"--feed {feed!r} is not a websocket URL: {exc}")
    except (OSError, InvalidHandshake) as exc:
        fail(f"feed {feed} refused the connection: {exc or type(exc).__name__}")
    except (WebSocketException, protocol.ProtocolError) as exc:
        raise click.ClickException(f"feed {feed}: {exc or type(exc).__name__}") from None


def _token(token_file: Path | None, given: str | None = None) -> str | None:
    """The person's token: from `token_file`, else EEGMON_TOKEN, else the deprecated option."""
    if token_file is not None:
        return cmd_users.feed_token(None, token_file)
    return os.environ.get("EEGMON_TOKEN") or cmd_users.feed_token(given, None)


@click.command()
@click.argument("alert_id")
@_feed_options("Who acknowledges")
@click.option("--feed-token", envvar="EEGMON_FEED_TOKEN", help="Deprecated (shows in ps).")
def ack(
    alert_id: str,
    feed: str,
    who: str | None,
    token_file: Path | None,
    feed_ca: Path | None,
    timeout: float,
    feed_token: str | None,
) -> None:
    """Acknowledge an active alert on a monitor; waits until the monitor confirms it.

    With a users file on the monitor, the acknowledgement is journaled under the
    person whose token this is; --who is kept only as a note.
    """
    who = who or getpass.getuser()
    token = _token(token_file, feed_token)
    with _feed(feed, token, feed_ca, timeout, "confirm the acknowledgement") as session:
        active = {a["id"]: a for a in session.receive().get("alerts", [])}
        if alert_id not in active:
            known = ", ".join(sorted(active)) or "none"
            fail(f"no active alert {alert_id!r} on {feed} (active: {known})")
        session.send({"type": "ack", "id": alert_id, "who": who})
        alert: dict[str, Any] = {}
        while alert.get("id") != alert_id or alert.get("state") not in ("acknowledged", "cleared"):
            message = session.receive()
            if message.get("type") == "error":
                raise click.ClickException(f"{feed} refused it: {message.get('message')}")
            alert = (message.get("alert") or {}) if message.get("type") == "alert" else {}
    first = active[alert_id]
    say(
        f"eegmon ack: {alert_id} ({first['kind']}, {first['severity']}) "
        f"{alert.get('state')} by {alert.get('acknowledged_by') or who}"
    )


@click.command()
@click.argument("text")
@_feed_options("Who writes it")
def note(
    text: str,
    feed: str,
    who: str | None,
    token_file: Path | None,
    feed_ca: Path | None,
    timeout: float,
) -> None:
    """Add a note to a monitor's night (lights off, electrode fixed...); waits until it is taken.

    The monitor journals it, records it in the EDF+ recording and shows it on
    every dashboard. With a users file on the monitor, the note is journaled
    under the person whose token this is.
    """
    try:
        text = protocol.note_text(text)
    except protocol.ProtocolError as exc:
        fail(str(exc))
    ref = uuid.uuid4().hex
    with _feed(feed, _token(token_file), feed_ca, timeout, "take the note") as session:
        session.send({"type": "note", "text": text, "who": who or getpass.getuser(), "ref": ref})
        taken = None
        while taken is None:
            taken = _taken(session.receive(), ref)
    say(f"eegmon note: {taken['id']} by {taken['who']} taken by {feed}")


def _taken(message: dict[str, Any], ref: str) -> dict[str, Any] | None:
    """The note the monitor took for `ref`; exit 2 when it refused it."""
    if message.get("type") == "error":
        fail(f"the monitor refused the note: {message.get('message')}")
    if message.get("type") == "note" and message.get("ref") == ref:
        return dict(message.get("note") or {})
    return None


def _client_tls(ca: Path | None) -> ssl.SSLContext:
    """The TLS context that reaches a ``wss://`` feed: the system's CAs, or the lab's `ca`."""
    try:
        return ssl.create_default_context(cafile=ca)
    except (OSError, ssl.SSLError) as exc:
        fail(f"--feed-ca {str(ca)!r}: {exc}")
