"""Fixtures of the dashboard tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dashboard.dashboard_fakes import FakeFeed


@pytest.fixture
def feed() -> Iterator[FakeFeed]:
    """A real feed server on a free loopback port, stopped after the test."""
    server = FakeFeed().start()
    try:
        yield server
    finally:
        server.stop()
