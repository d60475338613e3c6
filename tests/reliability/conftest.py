"""Figures of the reliability suites: each test records what it injected and measured.

A test takes the `figures` fixture, says the fault it injects and the load it
holds, and adds its measurements; the outcome comes from pytest. One JSON
file per test lands in ``results/short`` (``make test``) or ``results/soak``
(``make soak``); ``python -m tests.reliability.report`` renders them.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.harness import SOAK, feed_url

RESULTS = Path(__file__).parent / "results" / ("soak" if SOAK else "short")


class Figures(dict[str, Any]):
    """Measurements of one test, plus the fault injected and the load held."""

    fault: str = ""
    load: str = ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if report.when == "call" or report.failed:
        item.stash.setdefault(_OUTCOME, report.outcome)  # type: ignore[arg-type]
    return report


_OUTCOME = pytest.StashKey[str]()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    found = Figures()
    started = time.monotonic()
    yield found
    item = request.node
    doc = (item.function.__doc__ or "").strip()
    record = {
        "test": item.nodeid,
        "suite": Path(str(item.fspath)).stem.removeprefix("test_"),
        "name": item.name,
        "what": " ".join(doc.split()),
        "fault": found.fault,
        "load": found.load,
        "outcome": item.stash.get(_OUTCOME, "unknown"),
        "seconds": round(time.monotonic() - started, 1),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "figures": dict(found),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.split("::", 1)[1])
    (RESULTS / f"{record['suite']}__{safe}.json").write_text(json.dumps(record, indent=1) + "\n")


@pytest.fixture
def monitor(eegmon, feed_client):
    """Start ``eegmon monitor`` on a stream name; returns the process and a feed client."""

    def start(stream: str, *args: str) -> tuple[Any, Any]:
        proc = eegmon("monitor", "--stream", stream, "--feed-port", "0", "--quiet", *args)
        return proc, feed_client(feed_url(proc))

    return start
