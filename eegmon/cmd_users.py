"""``eegmon users``: the people who may read the feeds and acknowledge alerts.

A new person's token is printed once and never stored: the users file keeps
its salted hash only, and is written readable by its owner alone (0600),
replaced atomically so a crash never leaves half a file.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from eegmon.common import fail, say
from protocol.people import ROLES, Users, dump_users, new_token, parse_users

USERS_FILE = click.Path(path_type=Path, dir_okay=False)


def read_users(path: Path) -> Users:
    """The users of `path`; ValueError names an unreadable or malformed file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read users file {str(path)!r}: {exc.strerror or exc}") from None
    try:
        return parse_users(text)
    except ValueError as exc:
        raise ValueError(f"users file {str(path)!r}: {exc}") from None


def read_secret(path: Path, what: str) -> str:
    """A token kept in a file (its first line), so it never shows on a command line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read {what} {str(path)!r}: {exc.strerror or exc}") from None
    if not lines or not lines[0].strip():
        raise ValueError(f"{what} {str(path)!r} is empty")
    return lines[0].strip()


def write_users(path: Path, users: Users) -> None:
    """Replace `path` with `users`, readable and writable by its owner only."""
    from streamer.live.model_state import write_private

    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, dump_users(users).encode("utf-8"))


def _existing(path: Path) -> Users:
    try:
        return read_users(path) if path.exists() else Users()
    except ValueError as exc:
        fail(str(exc))


@click.group()
def users() -> None:
    """Add, list and remove the people of a users file (monitor/dashboard --users)."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What they may do.")
@click.option("--users", "path", type=USERS_FILE, required=True, help="The users file (TOML).")
def add(name: str, role: str, path: Path) -> None:
    """Add NAME (or give them a new token) and print their token, once."""
    token = new_token()
    try:
        updated = _existing(path).with_person(name, role, token)
    except ValueError as exc:
        fail(str(exc))
    write_users(path, updated)
    say(token)
    click.echo(
        f"eegmon users: {name!r} ({role}) added to {path}; the token above is shown only now",
        err=True,
    )


@users.command("list")
@click.option("--users", "path", type=USERS_FILE, required=True, help="The users file (TOML).")
def list_users(path: Path) -> None:
    """Print each person's name and role (never a token: none is kept)."""
    if not path.exists():
        fail(f"users file {str(path)!r} not found")
    for person in _existing(path).people.values():
        say(f"{person.name}\t{person.role}")


@users.command("remove")
@click.argument("name")
@click.option("--users", "path", type=USERS_FILE, required=True, help="The users file (TOML).")
def remove(name: str, path: Path) -> None:
    """Remove NAME: their token stops working when the monitors and dashboards restart."""
    try:
        updated = _existing(path).without(name)
    except ValueError as exc:
        fail(str(exc))
    write_users(path, updated)
    say(f"eegmon users: {name!r} removed from {path}")


def feed_token(
    given: str | None,
    token_file: Path | None,
    option: str = "feed_token",
    instead: str = "--feed-token-file or EEGMON_FEED_TOKEN",
    check: Callable[[str], object] | None = None,
) -> str | None:
    """The token from `token_file`, else from the option or its environment variable.

    A token typed on the command line shows in ``ps`` to every local user: it
    still works, with a line saying so, once `check` (ValueError naming the
    problem) has found nothing else wrong with it: a bad token is one line.
    """
    if token_file is not None:
        try:
            return read_secret(token_file, "token file")
        except ValueError as exc:
            fail(str(exc))
    context = click.get_current_context(silent=True)
    source = context.get_parameter_source(option) if context else None
    if given and source is click.core.ParameterSource.COMMANDLINE:
        if check is not None:
            try:
                check(given)
            except ValueError as exc:
                fail(str(exc))
        flag = "--" + option.replace("_", "-")
        click.echo(
            f"eegmon: warning: {flag} is deprecated: a token on the command line shows in ps; "
            f"use {instead}",
            err=True,
        )
    return given or None


def dashboard_options(command: Callable[..., None]) -> Callable[..., None]:
    """``eegmon dashboard``'s options for people, TLS and reaching its feeds."""
    path = click.Path(path_type=Path, dir_okay=False)
    for option in reversed(
        [
            click.option("--users", "users_path", type=path, help="People sign in (eegmon users)."),
            click.option("--tls-cert", type=path, help="Serve https with this certificate."),
            click.option("--tls-key", type=path, help="Its key."),
            click.option("--xheaders", is_flag=True, help="Behind a TLS proxy: trust X-Forwarded."),
            click.option("--feed-ca", type=path, help="CA certificate vouching for wss:// feeds."),
            click.option(
                "--feed-token-file",
                type=path,
                help="File holding the dashboard's feed token [env EEGMON_FEED_TOKEN].",
            ),
        ]
    ):
        command = option(command)
    return command


def dashboard_security(
    users_path: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    xheaders: bool,
    feed_ca: Path | None,
    feed_token_file: Path | None,
) -> dict[str, Any]:
    """`dashboard.server.serve`'s security arguments from those options; bad input exits 2."""
    from dashboard.options import FeedAccess

    if (tls_cert is None) != (tls_key is None):
        fail("--tls-cert and --tls-key go together")
    token = feed_token(None, feed_token_file) or os.environ.get("EEGMON_FEED_TOKEN") or None
    tls = None
    try:
        users = None if users_path is None else read_users(users_path)
        if tls_cert is not None and tls_key is not None:
            tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            tls.load_cert_chain(tls_cert, tls_key)
    except ValueError as exc:
        fail(str(exc))
    except (OSError, ssl.SSLError) as exc:
        fail(f"cannot use TLS certificate {str(tls_cert)!r} with key {str(tls_key)!r}: {exc}")
    return {
        "users": users,
        "tls": tls,
        "xheaders": xheaders,
        "feed_access": FeedAccess(token, feed_ca),
    }
