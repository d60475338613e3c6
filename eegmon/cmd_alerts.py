"""``eegmon ack``, ``note`` and ``alerts``: acknowledge an alert, add a note, read the journal."""

from __future__ import annotations

import getpass
import json
import os
import ssl
import time
import uuid
from collections.abc import Iterable
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


@click.command()
@click.argument("alert_id")
@click.option("--feed", required=True, help="The monitor's feed, ws://HOST:PORT.")
@click.option("--who", default=None, help="Who acknowledges [the login name].")
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File holding your token [env EEGMON_TOKEN].",
)
@click.option("--feed-token", envvar="EEGMON_FEED_TOKEN", help="Deprecated (shows in ps).")
@click.option(
    "--feed-ca",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CA certificate to trust for a wss:// feed (a lab's own CA).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait.",
)
def ack(
    alert_id: str,
    feed: str,
    who: str | None,
    token_file: Path | None,
    feed_token: str | None,
    feed_ca: Path | None,
    timeout: float,
) -> None:
    """Acknowledge an active alert on a monitor; waits until the monitor confirms it.

    With a users file on the monitor, the acknowledgement is journaled under the
    person whose token this is; --who is kept only as a note.
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
    token = None if token_file else os.environ.get("EEGMON_TOKEN")
    token = token or cmd_users.feed_token(feed_token, token_file)
    who = who or getpass.getuser()
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
            hello = protocol.decode(ws.recv(timeout=timeout))
            active = {a["id"]: a for a in hello.get("alerts", [])}
            if alert_id not in active:
                known = ", ".join(sorted(active)) or "none"
                fail(f"no active alert {alert_id!r} on {feed} (active: {known})")
            ws.send(protocol.encode({"type": "ack", "id": alert_id, "who": who}))
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise click.ClickException(
                        f"{feed} did not confirm the acknowledgement within {timeout:g} s"
                    )
                message = json.loads(ws.recv(timeout=remaining))
                if message.get("type") == "error":
                    raise click.ClickException(f"{feed} refused it: {message.get('message')}")
                alert = message.get("alert") or {}
                if (
                    message.get("type") == "alert"
                    and alert.get("id") == alert_id
                    and alert.get("state") in ("acknowledged", "cleared")
                ):
                    break
    except InvalidURI as exc:
        fail(f"--feed {feed!r} is not a websocket URL: {exc}")
    except (OSError, InvalidHandshake, WebSocketException, protocol.ProtocolError) as exc:
        raise click.ClickException(f"feed {feed}: {exc or type(exc).__name__}") from None
    first = active[alert_id]
    say(
        f"eegmon ack: {alert_id} ({first['kind']}, {first['severity']}) "
        f"{alert.get('state')} by {alert.get('acknowledged_by') or who}"
    )


@click.command()
@click.argument("text")
@click.option("--feed", required=True, help="The monitor's feed, ws://HOST:PORT.")
@click.option("--who", default=None, help="Who writes it [the login name].")
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="File holding your token [env EEGMON_TOKEN].",
)
@click.option(
    "--feed-ca",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CA certificate to trust for a wss:// feed (a lab's own CA).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait.",
)
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
    from dashboard.options import validate_feed_url

    try:
        text = protocol.note_text(text)
        validate_feed_url(feed)
    except protocol.ProtocolError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(f"--feed: {exc}")
    from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException
    from websockets.sync.client import connect

    from protocol.people import keep_secrets_out_of_logs

    keep_secrets_out_of_logs()
    token = cmd_users.feed_token(None, token_file) if token_file else os.environ.get("EEGMON_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    tls = _client_tls(feed_ca) if feed.startswith("wss:") else None
    ref = uuid.uuid4().hex
    deadline = time.monotonic() + timeout
    try:
        with connect(
            feed,
            open_timeout=timeout,
            additional_headers=headers,
            max_size=protocol.MAX_SERVER_MESSAGE,
            ssl=tls,
        ) as ws:
            message = {"type": "note", "text": text, "who": who or getpass.getuser(), "ref": ref}
            ws.send(protocol.encode(message))
            taken = None
            while taken is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                taken = _taken(json.loads(ws.recv(timeout=remaining)), ref)
    except TimeoutError:
        raise click.ClickException(f"{feed} did not take the note within {timeout:g} s") from None
    except InvalidURI as exc:
        fail(f"--feed {feed!r} is not a websocket URL: {exc}")
    except (OSError, InvalidHandshake) as exc:
        fail(f"feed {feed} refused the connection: {exc or type(exc).__name__}")
    except WebSocketException as exc:
        raise click.ClickException(f"feed {feed}: {exc or type(exc).__name__}") from None
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
