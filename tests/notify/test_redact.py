"""`protocol.redact.redact_url`: a secret placed anywhere in a URL never survives."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from protocol.redact import MASK, SECRET_PATH_SCHEMES, looks_like_token, redact_url

PLAIN_SCHEMES = ("json", "jsons", "form", "xml", "mailto", "mailtos", "ws", "wss", "https")
HOSTS = ("127.0.0.1:8080", "mail.example.org", "localhost", "hooks.example.org:443", "[::1]:9")
SEGMENTS = ("hook", "v1", "api", "notify", "ward-4")
PARAMETERS = ("to=ward@example.org", "x=1", "format=text", "")
HERE = "<S>"  # where a test puts the secret
SECRET_NAMES = ("token", "key", "apikey", "api_key", "secret", "password", "pass", "pwd")

#: What a key or token looks like: a run of letters and digits.
tokens = st.from_regex(r"[A-Za-z]{6,12}[0-9]{2,6}[A-Za-z0-9_-]{0,40}", fullmatch=True)
#: A password, a query value or a path key: anything a URL can hold unencoded there.
anything = st.text(
    alphabet=string.ascii_letters + string.digits + "-._~!$&'()+,;=:%",
    min_size=3,
    max_size=40,
)


def url(scheme: str, host: str, path: list[str], query: list[str], userinfo: str = "") -> str:
    text = f"{scheme}://{userinfo}{host}"
    if path:
        text += "/" + "/".join(path)
    if any(query):
        text += "?" + "&".join(q for q in query if q)
    return text


def assert_hidden(secret: str, template: str) -> None:
    """`secret`, put where ``<S>`` is in `template`, is not in the redacted URL."""
    assume(secret not in template.replace(HERE, ""))
    redacted = redact_url(template.replace(HERE, secret))
    assert secret not in redacted, redacted
    assert MASK in redacted


@st.composite
def plain_urls(draw: st.DrawFn) -> tuple[str, str, list[str], list[str]]:
    return (
        draw(st.sampled_from(PLAIN_SCHEMES)),
        draw(st.sampled_from(HOSTS)),
        draw(st.lists(st.sampled_from(SEGMENTS), max_size=3)),
        draw(st.lists(st.sampled_from(PARAMETERS), max_size=3)),
    )


@given(plain_urls(), st.sampled_from(("nurse", "")), anything)
def test_a_password_never_survives(parts, user, secret) -> None:
    scheme, host, path, query = parts
    assert_hidden(secret, url(scheme, host, path, query, userinfo=f"{user}:<S>@"))


@given(plain_urls(), st.sampled_from(SECRET_NAMES), st.sampled_from(("", "X-", "bot_")), anything)
def test_a_secret_parameter_never_survives(parts, name, prefix, secret) -> None:
    scheme, host, path, query = parts
    assume("&" not in secret and "=" not in secret)
    name = f"{prefix}{name}".upper() if len(secret) % 2 else f"{prefix}{name}"
    assert_hidden(secret, url(scheme, host, path, [*query, f"{name}=<S>"]))


@given(plain_urls(), tokens, st.integers(0, 3), st.sampled_from(("path", "query", "fragment")))
def test_a_token_anywhere_never_survives(parts, secret, at, where) -> None:
    scheme, host, path, query = parts
    if where == "path":
        template = url(scheme, host, [*path[:at], HERE, *path[at:]], query)
    elif where == "query":
        template = url(scheme, host, path, [*query[:at], "webhook=<S>", *query[at:]])
    else:
        template = url(scheme, host, path, query) + "#<S>"
    assert_hidden(secret, template)


@given(
    st.sampled_from(sorted(SECRET_PATH_SCHEMES)),
    st.lists(anything.filter(lambda s: "." not in s), min_size=1, max_size=4),
    anything.filter(lambda s: "." not in s),
    st.integers(0, 4),
    st.booleans(),
)
def test_keys_in_an_apprise_url_never_survive(scheme, others, secret, at, as_user) -> None:
    """tgram://BOTTOKEN/..., slack://A/B/C, discord://ID/TOKEN, pover://USER@TOKEN: every
    key hidden, whatever it looks like."""
    if as_user:
        template = f"{scheme}://<S>@" + "/".join(others)
    else:
        at %= len(others) + 1
        template = f"{scheme}://" + "/".join([*others[:at], HERE, *others[at:]])
    assert_hidden(secret, template)


@given(st.integers(100_000, 10**10), tokens)
def test_a_telegram_bot_token_never_survives(bot_id, secret) -> None:
    for scheme in ("tgram", "json"):  # also where the scheme is not known to carry keys
        assert_hidden(secret, f"{scheme}://{bot_id}:<S>/-100123")


@pytest.mark.parametrize(
    "address",
    [
        "json://127.0.0.1:8080/hook?to=ward@example.org",
        "mailto://mail.example.org?to=ward@example.org",
        "ws://[::1]:8765/",
        "wss://feed.example.org:443/v1/live#bed-4",
    ],
)
def test_what_holds_no_secret_is_kept(address: str) -> None:
    assert redact_url(address) == address


def test_redacting_twice_changes_nothing() -> None:
    once = redact_url("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general")
    assert redact_url(once) == once
    assert not looks_like_token(MASK)
