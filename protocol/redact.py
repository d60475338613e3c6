"""URLs fit for logs, journals and screens: the secrets they carry replaced by ``***``.

A notification or feed URL may carry a secret in four places: the password
of its userinfo, a query parameter (``?token=``, ``?apikey=``...), a path
segment (apprise's ``tgram://BOTTOKEN/CHATID``, ``slack://TokenA/TokenB/TokenC``,
``discord://WebhookID/WebhookToken``), or the host itself for schemes whose
"host" is a key. One function hides them all, so the notifier and the
dashboard show the same thing, and a leak is fixed in one place.

The rule errs on the side of hiding: for the schemes known to carry keys in
their path everything but a real host name is hidden; for any other scheme a
segment is hidden when it looks like a token (a long run of letters and
digits). Userinfo follows RFC 3986: a ``/``, ``?``, ``#`` or ``@`` inside a
password must be percent-encoded, as every URL parser expects.
"""

from __future__ import annotations

import re

#: What replaces a secret.
MASK = "***"

#: apprise schemes whose host, userinfo and path segments are keys or tokens.
SECRET_PATH_SCHEMES = frozenset(
    {
        "tgram",
        "slack",
        "discord",
        "msteams",
        "pover",
        "pbul",
        "gotify",
        "gotifys",
        "mmost",
        "mmosts",
        "join",
        "ifttt",
        "pushed",
        "opsgenie",
        "pagerduty",
        "ntfy",
        "ntfys",
        "spush",
        "rocket",
        "rockets",
        "zulip",
        "twilio",
        "signal",
        "signals",
        "whatsapp",
    }
)

#: Query parameters whose value is hidden whatever it looks like (matched anywhere in the name).
SECRET_PARAMETERS = re.compile(
    r"pass|pwd|token|key|secret|auth|sig|cred|session|cookie|bearer|private", re.IGNORECASE
)

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", re.DOTALL)
_WORD = re.compile(r"[A-Za-z0-9_-]+")


def looks_like_token(text: str) -> bool:
    """Whether `text` holds a run of letters and digits long enough to be a key.

    A run of 20 or more, or of 8 or more that mixes letters and digits.

    Examples
    --------
    >>> looks_like_token("hook"), looks_like_token("2026-12-06")
    (False, False)
    >>> looks_like_token("T1JJ3T3L2"), looks_like_token("123e4567-e89b-12d3-a456-426614174000")
    (True, True)
    """
    for run in _WORD.findall(text):
        if len(run) >= 20:
            return True
        has_digit = any(c.isdigit() for c in run)
        has_letter = any(c.isalpha() for c in run)
        if len(run) >= 8 and has_digit and has_letter:
            return True
    return False


def redact_url(url: str) -> str:
    """`url` with every password, key and token in it replaced by ``***``.

    Examples
    --------
    >>> redact_url("mailto://nurse:s3cret@mail.example.org?to=ward@example.org")
    'mailto://nurse:***@mail.example.org?to=ward@example.org'
    >>> redact_url("json://127.0.0.1:8080/hook?token=abc&x=1")
    'json://127.0.0.1:8080/hook?token=***&x=1'
    >>> redact_url("ws://10.0.0.5:8765/?token=s3cret")
    'ws://10.0.0.5:8765/?token=***'
    >>> redact_url("tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-100123")
    'tgram://***/***'
    >>> redact_url("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general")
    'slack://***/***/***/#general'
    >>> redact_url("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js")
    'discord://***/***'
    >>> redact_url("gotifys://push.example.org/AbCdEf12345")
    'gotifys://push.example.org/***'
    >>> redact_url("json://hooks.example.org/v1/b7e2f09a51c34d6e/notify")
    'json://hooks.example.org/v1/***/notify'
    """
    match = _URL.match(url)
    scheme, rest = (match["scheme"], match["rest"]) if match else ("", url)
    secret_path = scheme.lower() in SECRET_PATH_SCHEMES
    rest, fragment = _split(rest, "#")
    rest, query = _split(rest, "?")
    authority, slash, path = rest.partition("/")
    redacted = f"{scheme}://" if match else ""
    redacted += _redact_authority(authority, secret_path)
    if slash:
        redacted += "/" + _redact_path(path, secret_path)
    if query is not None:
        redacted += "?" + _redact_query(query)
    if fragment is not None:
        redacted += "#" + (MASK if looks_like_token(fragment) else fragment)
    return redacted


def _split(text: str, separator: str) -> tuple[str, str | None]:
    head, found, tail = text.partition(separator)
    return head, (tail if found else None)


def _redact_authority(authority: str, secret_path: bool) -> str:
    userinfo, at, hostport = authority.rpartition("@")
    redacted = ""
    if at:
        user, colon, _password = userinfo.partition(":")
        if secret_path or looks_like_token(user):
            user = MASK
        redacted = f"{user}:{MASK}@" if colon else f"{user}@"
    return redacted + _redact_hostport(hostport, secret_path)


def _redact_hostport(hostport: str, secret_path: bool) -> str:
    if hostport.startswith("["):  # an IPv6 literal, maybe with a port
        return hostport
    host, colon, port = hostport.rpartition(":")
    if not colon:
        host, port = hostport, ""
    if port and not port.isdigit():  # ``BOTID:TOKEN`` where a port would be
        return MASK
    if not host or "." in host or host.lower() == "localhost":
        return hostport  # a host name or an address: where it goes, not a key
    if secret_path or looks_like_token(host):
        return f"{MASK}{colon}{port}"
    return hostport


def _redact_path(path: str, secret_path: bool) -> str:
    return "/".join(
        MASK if segment and (secret_path or looks_like_token(segment)) else segment
        for segment in path.split("/")
    )


def _redact_query(query: str) -> str:
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        if equals and value and (SECRET_PARAMETERS.search(name) or looks_like_token(value)):
            value = MASK
        pairs.append(f"{name}{equals}{value}")
    return "&".join(pairs)
