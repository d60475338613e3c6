"""`eegmon scan` on a real Dask cluster (scheduler and workers as processes) over an archive."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from streamer.offline.archive import Outcome
from tests.archive.conftest import SEGMENT_HOURS, archive_files
from tests.support import ROOT, Proc, free_port, wait_for

# Real processes on a shared machine: generous limits, which a passing run never reaches.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
DASK = str(Path(sys.executable).with_name("dask"))


class DaskCluster:
    """``dask scheduler`` and ``dask worker`` processes on loopback; no nanny: a kill is a death."""

    def __init__(self, logs: Path, workers: int = 2) -> None:
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.processes: list[subprocess.Popen[bytes]] = []
        self._start(logs / "scheduler.log", "scheduler", "--host", "127.0.0.1", "--port", str(port))
        self.workers = [
            self._start(
                logs / f"worker{i}.log",
                "worker",
                self.address,
                "--host",
                "127.0.0.1",
                "--nthreads",
                "1",
                "--no-nanny",
                "--name",
                f"w{i}",
                "--preload",
                "streamer.offline.archive",  # imported before the first task, as on a warm cluster
            )
            for i in range(workers)
        ]

    def wait_ready(self) -> None:
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(len(self.workers), timeout=120)

    def _start(self, log: Path, *args: str) -> subprocess.Popen[bytes]:
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [DASK, *args, "--no-dashboard"], stdout=out, stderr=out, cwd=ROOT
            )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """The cluster's processes, started; they boot while `local_scan` computes."""
    cluster = DaskCluster(tmp_path_factory.mktemp("dask"))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def dask_cluster(dask_processes: DaskCluster, local_scan: dict[str, Outcome]) -> DaskCluster:
    """One cluster for this module; the test that kills a worker checks it has two first."""
    dask_processes.wait_ready()
    return dask_processes


def finished(proc: Proc, timeout: float = 180) -> int:
    code = proc.process.wait(timeout)
    proc.stop()  # joins the output reader
    return code


def alerts_by_file(jsonl: Path) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in jsonl.read_text().splitlines():
        alert = json.loads(line)
        found[alert["file"]].append(alert)
    return found


def assert_same_as_local(jsonl: Path, local: dict[str, Outcome]) -> None:
    scanned = alerts_by_file(jsonl)
    for file, outcome in local.items():
        if outcome.scan is None:
            assert file not in scanned
            continue
        assert scanned.get(file, []) == outcome.scan.alerts, file


class Tables(HTMLParser):
    """Rows of each ``<table id=...>`` as lists of cell texts, and every link."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows: dict[str, list[list[str]]] = defaultdict(list)
        self.links: list[str] = []
        self.scripts = 0
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        if tag == "table":
            self._table = given.get("id")
        elif tag == "tr" and self._table:
            self.rows[self._table].append([])
        elif tag == "td" and self._table:
            self._cell = []
        elif tag == "a" and given.get("href"):
            self.links.append(str(given["href"]))
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._table:
            self.rows[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def scan_args(archive: Path, cluster: DaskCluster, config: Path, jsonl: Path) -> list[str]:
    return [
        "scan",
        str(archive),
        "--scheduler",
        cluster.address,
        "--jsonl",
        str(jsonl),
        "--config",
        str(config),
        "--segment-hours",
        str(SEGMENT_HOURS),
    ]


def test_cluster_scan_equals_the_local_scan_writes_reports_and_resumes(
    dask_cluster: DaskCluster,
    archive: Path,
    local_scan: dict[str, Outcome],
    quick_toml: Path,
    eegmon: Callable[..., Proc],
    tmp_path: Path,
) -> None:
    out, jsonl = tmp_path / "out", tmp_path / "alerts.jsonl"
    args = [*scan_args(archive, dask_cluster, quick_toml, jsonl), "--out", str(out)]
    first = eegmon(*args)
    assert finished(first) == 2, first.lines  # the damaged file
    damaged = str(archive / "ward-b" / "damaged.edf")
    assert f"eegmon: error: {damaged}: non-ASCII byte 0x00 in the header at offset 8" in first.lines
    assert first.lines[-1] == "eegmon: error: 1 of 7 inputs could not be scanned"
    assert_same_as_local(jsonl, local_scan)

    index = Tables((out / "index.html").read_text())
    rows = index.rows["files"][1:]  # after the header row
    assert [row[0] for row in rows] == archive_files(archive)
    assert any("failed: non-ASCII byte" in cell for row in rows for cell in row)
    assert index.scripts == 0  # the index is plain HTML
    for link, file in zip(index.links, [f for f in local_scan if local_scan[f].scan], strict=True):
        scan = local_scan[file].scan
        assert scan is not None
        report_text = (out / link).read_text()
        report = Tables(report_text)
        alerts = report.rows["alerts"][1:]
        assert [row[2] for row in alerts] == [a["kind"] for a in scan.alerts]
        assert report.scripts >= 2  # Bokeh itself, inlined, and the document
        assert "cdn.bokeh.org" not in report_text  # opens offline
        for title in ("Signal quality per channel", "Anomaly score", "Spectrogram"):
            assert title in report_text
    night = next(f for f in local_scan if f.endswith("night1.edf"))
    row = next(r for r in rows if r[0] == night)
    assert row[1] == "0:04:00"
    assert row[-1].endswith("%")

    again = eegmon(*args)
    assert finished(again) == 2
    summaries = [line for line in again.lines if line.startswith("eegmon scan: /")]
    assert len(summaries) == 6
    assert all(line.endswith("; done before") for line in summaries)
    assert_same_as_local(jsonl, local_scan)


def test_a_worker_killed_mid_scan_changes_nothing(
    dask_cluster: DaskCluster,
    archive: Path,
    local_scan: dict[str, Outcome],
    quick_toml: Path,
    eegmon: Callable[..., Proc],
    tmp_path: Path,
) -> None:
    assert all(worker.poll() is None for worker in dask_cluster.workers)
    jsonl = tmp_path / "alerts.jsonl"
    scan = eegmon(*scan_args(archive, dask_cluster, quick_toml, jsonl))
    scan.wait_line(f"eegmon scan: {archive_files(archive)[0]}: ", timeout=120)
    done = sum(line.startswith("eegmon scan: /") for line in scan.lines)
    assert done < 6, "the scan ended before a worker could be killed"
    dask_cluster.workers[0].kill()
    assert finished(scan) == 2, scan.lines
    assert wait_for(lambda: dask_cluster.workers[0].poll() is not None, 5, "the worker's death")
    assert sum(line.startswith("eegmon scan: /") for line in scan.lines) == 6
    assert_same_as_local(jsonl, local_scan)
