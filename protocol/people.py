"""People and their roles: tokens, their salted hashes, the users file, who may acknowledge.

A person gets a random token once (`new_token`); only its salted scrypt hash
is kept (`hash_token`), so a copied users file does not let anyone in. Roles:
``viewer`` reads, ``responder`` reads and acknowledges, ``dashboard`` is a
service that acknowledges for a named responder logged into it. Pure: the
callers read and write the file; `parse_users` and `dump_users` handle its text.

The users file (TOML)::

    [[user]]
    name = "Ada"
    role = "responder"
    hash = "scrypt:16384:8:1:<salt>:<key>"
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ROLES = ("viewer", "responder", "dashboard")
#: Roles whose acknowledgements count (the dashboard's, for a named responder).
ACKNOWLEDGING = frozenset({"responder", "dashboard"})
#: scrypt cost: 16 MiB and some tens of milliseconds per verification.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_NAME = 100
_SECRET_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1***"),
    (re.compile(r"(?i)((?:token|access_token|key|password)(?:=|%3D))[^&\s'\"%]+"), r"\1***"),
    (re.compile(r"(?i)((?:cookie|set-cookie):\s*)[^\r\n'\"]+"), r"\1***"),
)


@dataclass(frozen=True)
class Person:
    """One entry of the users file: a name, a role and the hash of their token."""

    name: str
    role: str
    hash: str


def new_token() -> str:
    """A fresh random token, shown once to its person and never stored."""
    return secrets.token_urlsafe(32)


def check_name(name: str) -> str:
    """Return `name` if it can name a person in journals, else raise ValueError.

    >>> check_name("Night nurse A")
    'Night nurse A'
    >>> check_name(" x")
    Traceback (most recent call last):
    ...
    ValueError: a name must be 1-100 printable characters without surrounding spaces, got ' x'
    """
    if (
        not isinstance(name, str)
        or not 0 < len(name) <= MAX_NAME
        or not name.isprintable()
        or name != name.strip()
    ):
        raise ValueError(
            f"a name must be 1-{MAX_NAME} printable characters without surrounding spaces, "
            f"got {name!r}"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    return role


def hash_token(token: str, *, n: int = SCRYPT_N, salt: bytes | None = None) -> str:
    """The salted scrypt hash of `token`, with its parameters: what the users file keeps.

    >>> stored = hash_token("s3cret", n=16)
    >>> verify_token("s3cret", stored), verify_token("guess", stored)
    (True, False)
    """
    salt = secrets.token_bytes(16) if salt is None else salt
    key = hashlib.scrypt(token.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    encode = base64.urlsafe_b64encode
    return f"scrypt:{n}:{SCRYPT_R}:{SCRYPT_P}:{encode(salt).decode()}:{encode(key).decode()}"


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """The parameters, salt and key of a stored hash; ValueError when malformed."""
    parts = stored.split(":") if isinstance(stored, str) else []
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("a hash must look like scrypt:N:R:P:SALT:KEY")
    n, r, p = (int(part) for part in parts[1:4])
    if n < 2 or n & (n - 1) or n > 2**20 or not 0 < r <= 32 or not 0 < p <= 16:
        raise ValueError(f"scrypt parameters out of range: n={n} r={r} p={p}")
    salt, key = (base64.urlsafe_b64decode(part.encode()) for part in parts[4:6])
    if len(salt) < 8 or len(key) < 16:
        raise ValueError("a hash needs a salt of 8+ bytes and a key of 16+ bytes")
    return n, r, p, salt, key


def verify_token(token: str, stored: str) -> bool:
    """True when `token` hashes to `stored`; False for any other token or a malformed hash."""
    try:
        n, r, p, salt, key = _parse_hash(stored)
        offered = hashlib.scrypt(
            token.encode(), salt=salt, n=n, r=r, p=p, dklen=len(key), maxmem=256 * r * n + 2**20
        )
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(offered, key)


class Users:
    """The people of a users file, by name."""

    def __init__(self, people: Iterable[Person] = ()) -> None:
        self.people: dict[str, Person] = {}
        for person in people:
            check_name(person.name)
            check_role(person.role)
            _parse_hash(person.hash)
            if person.name in self.people:
                raise ValueError(f"{person.name!r} is in the users file twice")
            self.people[person.name] = person

    def authenticate(self, token: str) -> Person | None:
        """The person whose token this is, or None; tries everyone so timing tells nothing."""
        found = None
        for person in self.people.values():
            if verify_token(token, person.hash) and found is None:
                found = person
        return found

    def login(self, name: str, token: str) -> Person | None:
        """The person of this name if `token` is theirs, else None."""
        person = self.people.get(name)
        return person if person is not None and verify_token(token, person.hash) else None

    def with_person(self, name: str, role: str, token: str, *, n: int = SCRYPT_N) -> Users:
        """A copy with `name` added (or replaced) holding the hash of `token`."""
        person = Person(check_name(name), check_role(role), hash_token(token, n=n))
        return Users([*(p for p in self.people.values() if p.name != name), person])

    def without(self, name: str) -> Users:
        if name not in self.people:
            raise ValueError(f"no person named {name!r} in the users file")
        return Users(p for p in self.people.values() if p.name != name)


def parse_users(text: str) -> Users:
    """The users of a users file's text; ValueError names what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"the users file is not TOML: {exc}") from None
    unknown = set(data) - {"user"}
    if unknown:
        raise ValueError(f"unknown key(s) in the users file: {', '.join(sorted(unknown))}")
    entries = data.get("user", [])
    if not isinstance(entries, list):
        raise ValueError("'user' must be an array of tables ([[user]])")
    people = []
    for entry in entries:
        if not isinstance(entry, Mapping) or set(entry) != {"name", "role", "hash"}:
            raise ValueError(f"each [[user]] needs exactly name, role and hash, got {entry!r}")
        if not all(isinstance(entry[key], str) for key in ("name", "role", "hash")):
            raise ValueError(f"name, role and hash must be strings, got {entry!r}")
        people.append(Person(entry["name"], entry["role"], entry["hash"]))
    return Users(people)


def dump_users(users: Users) -> str:
    """The users file's text: `parse_users` reads it back to the same people."""
    lines = ["# eegmon users: names, roles and salted token hashes (never the tokens)"]
    for person in users.people.values():
        lines += [
            "",
            "[[user]]",
            f"name = {json.dumps(person.name, ensure_ascii=False)}",
            f"role = {json.dumps(person.role)}",
            f"hash = {json.dumps(person.hash)}",
        ]
    return "\n".join(lines) + "\n"


class Refused(ValueError):
    """An acknowledgement this person may not give; the message says why."""


def acting_for(person: Person, who_said: str, users: Users) -> tuple[str, dict[str, str]]:
    """Who an acknowledgement is journaled under, and the notes kept beside it.

    A responder acknowledges as themselves (what the client called itself is a
    note, ``who_said``); the dashboard for the responder named in the message,
    whom it vouches for (``via``); a viewer not at all (`Refused`).
    """
    if person.role == "responder":
        return person.name, {"who_said": who_said}
    if person.role == "dashboard":
        named = users.people.get(who_said)
        if named is None or named.role != "responder":
            raise Refused(
                f"the dashboard {person.name!r} acknowledges only for a responder of the "
                f"users file; {who_said!r} is not one"
            )
        return named.name, {"via": person.name}
    raise Refused(f"{person.name!r} is a {person.role}: only responders acknowledge alerts")


class Throttle:
    """Slows down failed authentications from one address: each failure doubles its wait.

    >>> throttle = Throttle()
    >>> throttle.failed("10.0.0.9", now=0.0); throttle.failed("10.0.0.9", now=1.0)
    >>> throttle.delay("10.0.0.9", now=2.0), throttle.delay("10.0.0.7", now=2.0)
    (0.5, 0.0)
    """

    def __init__(self, first_s: float = 0.25, cap_s: float = 8.0, forget_s: float = 600.0) -> None:
        self.first_s, self.cap_s, self.forget_s = first_s, cap_s, forget_s
        self._failures: dict[str, tuple[int, float]] = {}

    def delay(self, address: str, now: float) -> float:
        """Seconds to wait before answering `address` again."""
        count, last = self._failures.get(address, (0, now))
        if count == 0 or now - last > self.forget_s:
            return 0.0
        return float(min(self.first_s * 2 ** (count - 1), self.cap_s))

    def failed(self, address: str, now: float) -> None:
        count, last = self._failures.get(address, (0, now))
        if now - last > self.forget_s:
            count = 0
        self._failures[address] = (min(count + 1, 64), now)
        if len(self._failures) > 10_000:  # a flood of addresses: forget the oldest half
            for stale in sorted(self._failures, key=lambda a: self._failures[a][1])[:5_000]:
                del self._failures[stale]

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)


def hide_secrets(text: str) -> str:
    """`text` with bearer tokens, ``token=`` values and cookies replaced by ``***``.

    >>> hide_secrets("> GET /?token=abc HTTP/1.1 > Authorization: Bearer abc")
    '> GET /?token=*** HTTP/1.1 > Authorization: Bearer ***'
    >>> hide_secrets("302 GET /login?next=%2F%3Ftoken%3Dabc")
    '302 GET /login?next=%2F%3Ftoken%3D***'
    """
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class SecretsFilter(logging.Filter):
    """Rewrites every record without its secrets: websockets' debug lines print headers and URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = hide_secrets(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


def keep_secrets_out_of_logs() -> None:
    """Put `SecretsFilter` on every handler of the root logger (once), whatever the verbosity."""
    handlers: list[logging.Handler | None] = [*logging.getLogger().handlers, logging.lastResort]
    for handler in handlers:
        if handler is not None and not any(isinstance(f, SecretsFilter) for f in handler.filters):
            handler.addFilter(SecretsFilter())
