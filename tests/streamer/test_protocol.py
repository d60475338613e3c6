"""The feed protocol parser: anything a client sends is either a valid ack or a ProtocolError."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import feed as protocol

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


def parse_or_error(text: str | bytes) -> tuple[str, str] | str:
    try:
        return protocol.parse_ack(text)
    except protocol.ProtocolError as exc:
        return str(exc)


def is_valid_ack(message: dict) -> bool:
    alert_id, who = message.get("id"), message.get("who", "")
    return (
        message.get("type") == "ack"
        and isinstance(alert_id, str)
        and 0 < len(alert_id) <= 200
        and isinstance(who, str)
        and len(who) <= 100
    )


@given(st.text() | st.binary())
def test_arbitrary_input_is_refused_cleanly(text: str | bytes) -> None:
    result = parse_or_error(text)  # anything but ProtocolError would escape here
    if isinstance(result, str):
        assert result
    else:
        assert result[0]


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_arbitrary_objects_are_acks_or_refused(message: dict) -> None:
    result = parse_or_error(json.dumps(message))
    if is_valid_ack(message):
        assert result == (message["id"], message.get("who", "unknown"))
    else:
        assert isinstance(result, str)


@given(st.text(min_size=1, max_size=200), st.text(max_size=100))
def test_valid_acks_round_trip(alert_id: str, who: str) -> None:
    text = protocol.encode({"type": "ack", "id": alert_id, "who": who})
    assert protocol.parse_ack(text) == (alert_id, who)


def test_server_messages_carry_no_nan() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        protocol.encode({"type": "status", "lag_s": math.nan})
    cleaned = protocol.finite_or_none({"type": "status", "lag_s": math.inf, "x": [1.0, math.nan]})
    assert json.loads(protocol.encode(cleaned)) == {
        "type": "status",
        "lag_s": None,
        "x": [1.0, None],
    }


def test_unknown_types_are_refused() -> None:
    with pytest.raises(protocol.ProtocolError, match="unknown message type"):
        protocol.encode({"type": "shutdown"})
    with pytest.raises(protocol.ProtocolError, match="unexpected message type 'hello'"):
        protocol.parse_ack('{"type": "hello"}')
