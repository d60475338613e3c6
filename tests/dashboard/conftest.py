"""Fixtures of the dashboard tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulators.feed import SimulatedFeed


@pytest.fixture
def feed() -> Iterator[SimulatedFeed]:
    """A real feed server on a free loopback port, stopped after the test."""
    server = SimulatedFeed().start()
    try:
        yield server
    finally:
        server.stop()
