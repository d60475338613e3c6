"""Fixtures of the dashboard tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for path in (HERE, HERE.parents[1]):  # the helpers; the repository (packages not installed)
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from dashboard_fakes import FakeFeed  # noqa: E402


@pytest.fixture
def feed() -> Iterator[FakeFeed]:
    """A real feed server on a free loopback port, stopped after the test."""
    server = FakeFeed().start()
    try:
        yield server
    finally:
        server.stop()
