"""People, roles and tokens: the users file's parser and token verification, by property."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.people import (
    Person,
    Refused,
    SecretsFilter,
    Throttle,
    Users,
    acting_for,
    dump_users,
    hash_token,
    hide_secrets,
    new_token,
    parse_users,
    verify_token,
)

#: Cheap scrypt for properties: the parameters are stored in each hash.
N = 16
names = st.text(min_size=1, max_size=100).filter(lambda s: s.isprintable() and s == s.strip())
tokens = st.text(min_size=1, max_size=80)
roles = st.sampled_from(["viewer", "responder", "dashboard"])


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=60, deadline=None)
@given(token=tokens.filter(_utf8), other=tokens.filter(_utf8))
def test_a_token_verifies_against_its_own_hash_only(token: str, other: str) -> None:
    stored = hash_token(token, n=N)
    assert verify_token(token, stored)
    assert verify_token(other, stored) == (other == token)
    assert token not in stored.split(":")


@settings(max_examples=60, deadline=None)
@given(token=tokens.filter(_utf8))
def test_two_hashes_of_one_token_differ_by_their_salt(token: str) -> None:
    first, second = hash_token(token, n=N), hash_token(token, n=N)
    assert first != second
    assert verify_token(token, first)
    assert verify_token(token, second)


@settings(max_examples=100, deadline=None)
@given(garbage=st.text(max_size=120), token=tokens.filter(_utf8))
def test_a_malformed_hash_never_verifies_and_never_raises(garbage: str, token: str) -> None:
    assert verify_token(token, garbage) is False


@settings(max_examples=40, deadline=None)
@given(people=st.dictionaries(names, roles, min_size=0, max_size=5))
def test_the_users_file_reads_back_what_was_written(people: dict[str, str]) -> None:
    users = Users(Person(name, role, hash_token(name, n=N)) for name, role in people.items())
    again = parse_users(dump_users(users))
    assert again.people == users.people
    for name in people:
        assert again.login(name, name) == users.people[name]


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_the_parser_accepts_or_raises_value_error_only(text: str) -> None:
    try:
        users = parse_users(text)
    except ValueError:
        return
    assert all(p.role in ("viewer", "responder", "dashboard") for p in users.people.values())


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('[[user]]\nname = "a"\nrole = "admin"\nhash = "x"\n', "role"),
        ('[[user]]\nname = "a"\nrole = "viewer"\nhash = "x"\n', "scrypt"),
        ('[[user]]\nname = "a"\nrole = "viewer"\n', "exactly"),
        ("[[user]]\nname = ' a'\nrole = 'viewer'\nhash = 'x'\n", "name"),
        ("token = 'plain'\n", "unknown key"),
        ("[[user", "not TOML"),
    ],
)
def test_a_bad_users_file_is_refused_with_its_reason(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_users(text)


def test_the_same_name_twice_is_refused() -> None:
    stored = hash_token("t", n=N)
    text = dump_users(Users([Person("ada", "viewer", stored)]))
    with pytest.raises(ValueError, match="twice"):
        parse_users(text + text.split("\n", 1)[1])


def test_roles_decide_who_an_acknowledgement_is_journaled_under() -> None:
    users = Users(
        [
            Person("ada", "responder", hash_token("a", n=N)),
            Person("vic", "viewer", hash_token("v", n=N)),
            Person("ward-screen", "dashboard", hash_token("d", n=N)),
        ]
    )
    ada, vic, screen = (users.people[n] for n in ("ada", "vic", "ward-screen"))
    assert acting_for(ada, "Mallory", users) == ("ada", {"who_said": "Mallory"})
    assert acting_for(screen, "ada", users) == ("ada", {"via": "ward-screen"})
    for person, said in ((vic, "ada"), (screen, "vic"), (screen, "nobody")):
        with pytest.raises(Refused):
            acting_for(person, said, users)
    assert users.authenticate("a") == ada
    assert users.authenticate("wrong") is None
    assert users.login("vic", "a") is None


def test_new_tokens_are_long_and_fresh() -> None:
    drawn = {new_token() for _ in range(50)}
    assert len(drawn) == 50
    assert min(map(len, drawn)) >= 43


def test_failed_authentications_wait_longer_each_time_and_are_forgotten() -> None:
    throttle = Throttle(first_s=0.25, cap_s=8.0, forget_s=600.0)
    waits = []
    for attempt in range(8):
        throttle.failed("10.1.1.1", now=float(attempt))
        waits.append(throttle.delay("10.1.1.1", now=float(attempt)))
    assert waits == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert throttle.delay("10.1.1.2", now=8.0) == 0.0
    assert throttle.delay("10.1.1.1", now=1000.0) == 0.0
    throttle.succeeded("10.1.1.1")
    assert throttle.delay("10.1.1.1", now=8.0) == 0.0


@settings(max_examples=100, deadline=None)
@given(secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=8, max_size=60))
def test_log_lines_lose_their_tokens(secret: str) -> None:
    lines = [
        f"> GET /?token={secret} HTTP/1.1",
        f"> Authorization: Bearer {secret}",
        f"< Set-Cookie: eegmon_session={secret}",
        f"200 GET /bed?token={secret}&bed=1 (127.0.0.1) 3.2ms",
        f"302 GET /login?next=%2Fbed%3Ftoken%3D{secret}%26bed%3D1 (127.0.0.1) 0.3ms",
    ]
    for line in lines:
        assert secret not in hide_secrets(line)
    record = logging.LogRecord("websockets.server", 10, "", 0, "%s", (lines[1],), None)
    SecretsFilter().filter(record)
    assert secret not in record.getMessage()
