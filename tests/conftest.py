"""Shared fixtures: real processes, real streams, unique names, free ports."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, FeedProbe, Proc, data_folder

# liblsl reads its config when first loaded: keep every stream on this machine, quietly.
os.environ.setdefault("LSLAPICFG", str(ROOT / "tests" / "lsl_api.cfg"))
# Fail loud in tests: an unexpected error in a monitor loop ends the process visibly.
os.environ["EEGMON_FAIL_LOUD"] = "1"


@pytest.fixture(scope="session")
def test_data() -> Path:
    folder = data_folder()
    if not folder.is_dir():
        pytest.skip(f"real recordings not found at {folder} (set EEGMON_TEST_DATA)")
    return folder


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A stream name no other test (or machine user) shares."""
    return f"eegmon-test-{request.node.name[:30]}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def eegmon() -> Iterator[Callable[..., Proc]]:
    """Start ``eegmon`` subcommands; every one is stopped when the test ends."""
    started: list[Proc] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Proc:
        proc = Proc(list(args), env)
        started.append(proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.stop()


@pytest.fixture
def feed_client() -> Iterator[Callable[..., FeedProbe]]:
    clients: list[FeedProbe] = []

    def connect(url: str, **kwargs: Any) -> FeedProbe:
        client = FeedProbe(url, **kwargs)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()
