"""Pages of the recording on the feed: the request's checks, reading a file being written,
and a real monitor (``--record``) answering a client that joined after the span it asks for."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from websockets.sync.client import connect

from dashboard import DashboardServer
from dashboard.feed_client import FeedClient
from dashboard.pages import ASKING, RecordedPages
from dashboard.panels.timeaxis import TimeAxis
from dashboard.panels.traces import MAX_TRACE_CHANNELS, TracesPanel
from detector import DetectorConfig, StreamMeta
from detector.types import Block
from protocol import feed as protocol
from streamer.live.display import DisplayDecimator
from streamer.live.feed import Feed
from streamer.live.link import MonitorLink
from streamer.recordings.recorder import Recorder
from tests.support import BOKEH_MODEL, FeedProbe, Proc, chromium_page, wait_for, wait_for_model

playwright_api = pytest.importorskip("playwright.sync_api")

RATE = 256.0
META = StreamMeta("bed-7", "amp-7", ("Fz", "Cz", "Pz"), RATE)


def test_a_page_request_is_checked_and_bounded() -> None:
    page = {"type": "page", "start": 10.0, "end": 80.0, "ref": "p1"}
    assert protocol.parse_page(json.dumps(page)) == (10.0, 80.0, "p1")
    assert protocol.parse_page({**page, "ref": None})[2] is None
    for bad, needle in [
        ({"end": 80.5}, "at most 70"),
        ({"end": 10.0}, "must be after"),
        ({"start": "10"}, "must be numbers"),
        ({"start": True}, "must be numbers"),
        ({"start": float("nan")}, "finite"),
        ({"ref": "r" * 65}, "'ref'"),
    ]:
        with pytest.raises(protocol.ProtocolError, match=needle):
            protocol.parse_page({**page, **bad})
    # the largest answer a monitor sends stays within what a client accepts
    values = [[-100000.25] * (protocol.MAX_PAGE_VALUES // 64)] * 64
    stamps = [123456789.1234] * (protocol.MAX_PAGE_VALUES // 64)
    widest = {"type": "page", "ref": "r" * 64, "rate": 128.0, "timestamps": stamps}
    size = len(protocol.encode(widest | {"data": values, "start": 1.0, "end": 2.0}).encode())
    assert size < protocol.MAX_SERVER_MESSAGE


def test_a_feed_client_keeps_only_the_answer_to_the_page_it_asked() -> None:
    sent: list[dict[str, Any]] = []
    pages = RecordedPages(lambda text, what: sent.append(json.loads(text)) is None)
    assert pages.lookup(10.0, 28.0, 18.0) == (None, ASKING)
    assert pages.ask(50.0, 68.0)  # asked once the first is answered
    assert [m["start"] for m in sent] == [10.0]
    pages.put({"type": "page", "ref": "another", "timestamps": [], "data": []})
    assert pages.get(10.0, 28.0) is None
    ref = sent[0]["ref"]
    with pytest.raises(protocol.ProtocolError, match="rate"):
        pages.put({"type": "page", "ref": ref, "rate": 0, "timestamps": [1.0], "data": [[1.0]]})
    answer = {"type": "page", "ref": ref, "rate": 128.0, "recorded": [18.0, 30.0]}
    pages.put(answer | {"timestamps": [18.0, 18.5], "data": [[1.0, None]]})
    page, origin = pages.lookup(10.0, 28.0, 18.0)
    assert origin == "from the recording, which starts here"
    assert page is not None
    assert np.isnan(page.data[0, 1])
    assert pages.lookup(50.0, 68.0, 58.0)[1] == ASKING
    assert sent[-1]["start"] == 50.0
    pages.put({"type": "page", "ref": sent[-1]["ref"], "timestamps": [], "data": []})
    assert pages.lookup(50.0, 68.0, 58.0) == (None, "not recorded")
    away = RecordedPages(lambda text, what: False)
    assert away.lookup(1.0, 2.0, 1.5) == (None, "older samples are not kept")
    # the feed's error for the page asked is said on that page, not waited out
    assert pages.lookup(90.0, 108.0, 98.0)[1] == ASKING
    pages.refused({"type": "error", "message": "another page's", "ref": "page-9"})
    assert pages.lookup(90.0, 108.0, 98.0)[1] == ASKING
    pages.refused({"type": "error", "message": "page not read: disk", "ref": sent[-1]["ref"]})
    assert pages.lookup(90.0, 108.0, 98.0) == (
        None,
        "the recording could not be read: page not read: disk",
    )


def blocks(data: np.ndarray, t0: float, chunk: int = 100) -> list[Block]:
    return [
        Block(
            data[:, i : i + chunk], t0 + (i + np.arange(data[:, i : i + chunk].shape[1])) / RATE, i
        )
        for i in range(0, data.shape[1], chunk)
    ]


def recorded(link: MonitorLink) -> list[float] | None:
    span: list[float] | None = link.page(0.0, 1.0)["recorded"]
    return span


def test_a_page_is_read_from_the_file_being_written_and_averaged_as_traces(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(4)
    data = (rng.standard_normal((3, round(12.5 * RATE))) * 50).astype(np.float32)
    t0 = 5000.0
    recorder = Recorder(tmp_path / "night.edf", META)
    link = MonitorLink(META, DetectorConfig(), stall_timeout=2.0)
    assert link.page(t0, t0 + 5)["recorded"] is None  # no recording: nothing recorded
    link.record_pages(recorder.segments)
    live = DisplayDecimator(RATE, 3)
    try:
        for block in blocks(data, t0):
            recorder.block(block)
            live.add(block)
        # The header still says -1 records: the 12 whole records on disk are read.
        wait_for(lambda: recorded(link) == [t0, t0 + 12], 10, "12 whole records")
        page = link.page(t0 + 2.0, t0 + 9.0)
        before = link.page(t0 - 30, t0 - 1)
        assert recorder.status()["recording"]["from"] == t0
    finally:
        recorder.close()
    traces = live.flush()
    assert traces is not None
    assert page["rate"] == traces["rate"] == 128.0
    assert page["recorded"] == [t0, t0 + 12]
    stamps = np.asarray(traces["timestamps"])
    at = np.searchsorted(stamps, page["timestamps"])
    np.testing.assert_allclose(stamps[at], page["timestamps"], atol=1e-4)
    assert page["timestamps"][0] >= t0 + 2.0
    assert page["timestamps"][-1] <= t0 + 9.0
    assert len(page["timestamps"]) == 7 * 128
    np.testing.assert_allclose(np.asarray(traces["data"])[:, at], page["data"], atol=0.06)
    assert before["timestamps"] == []
    assert before["recorded"] == [t0, t0 + 12]


def test_a_feed_answers_pages_and_refuses_bad_requests() -> None:
    link = MonitorLink(META, DetectorConfig(), stall_timeout=2.0)
    feed = Feed("127.0.0.1", 0, hello=link.hello, on_ack=link.acknowledge, on_page=link.page)
    feed.start()
    try:
        with connect(feed.url, open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "hello"
            ws.send(json.dumps({"type": "page", "start": 1.0, "end": 200.0, "ref": "too-long"}))
            refused = json.loads(ws.recv(timeout=5))
            assert "at most 70" in refused["message"]
            assert refused["ref"] == "too-long"  # the asker knows which of its pages
            ws.send(json.dumps({"type": "page", "start": 1.0, "end": 11.0, "ref": "a"}))
            answer = json.loads(ws.recv(timeout=5))
            assert answer["type"] == "page"
            assert answer["ref"] == "a"
            assert answer["timestamps"] == []
            assert answer["recorded"] is None
    finally:
        feed.stop()
    silent = Feed("127.0.0.1", 0, hello=link.hello, on_ack=link.acknowledge)
    silent.start()
    try:
        with connect(silent.url, open_timeout=5) as ws:
            ws.recv(timeout=5)
            ws.send(json.dumps({"type": "page", "start": 1.0, "end": 11.0}))
            assert "no recording" in json.loads(ws.recv(timeout=5))["message"]
    finally:
        silent.stop()


def bed_page_back_reads_the_recording(url: str, first: float) -> None:
    """A dashboard's feed client that joined late pages back into the recording."""
    client = FeedClient(url).start()
    try:
        panel = TracesPanel(client, TimeAxis(0.0), "canvas")

        def drawn(text: str) -> bool:
            panel.update(client.snapshot(max_channels=MAX_TRACE_CHANNELS), False)
            return text in panel.review_text() or (text == "live" and bool(panel.source.data["xs"]))

        wait_for(lambda: drawn("live"), 10, "the live page drawn")
        kept = client.night_traces(math.inf, -math.inf)[2]
        assert kept is not None
        assert kept[0] > first + 8  # holds nothing older
        panel.page_back()  # older than kept: from the recording, which starts at `first`
        assert panel.pager.end is not None
        assert panel.pager.end - panel.page_s < kept[0]
        wait_for(lambda: drawn("from the recording"), 10, "the recorded page drawn")
        xs = np.concatenate(panel.source.data["xs"])
        shift = panel.axis.shift(None)
        assert shift is not None
        assert np.nanmin(xs) - shift < kept[0] - 1  # samples older than those kept are drawn
        panel.jump_to(first - 100)
        wait_for(lambda: drawn("not recorded"), 10, "a page before the recording")
    finally:
        client.stop()


def browser_page_back_says_it_is_recorded(url: str) -> None:
    """In chromium: a dashboard started late pages back and says the page is the recording's."""
    with DashboardServer([url], port=0) as server, chromium_page() as page:
        page.goto(server.url + "bed?bed=0")
        wait_for_model(page, "traces_source", "m.data.t_end.length > 0", 20_000)
        page.get_by_role("button", name="◀ page").click()
        status = page.locator(".bk-Div", has_text="from the recording")
        playwright_api.expect(status).to_be_visible(timeout=10_000)
        n = page.evaluate(f"() => ({BOKEH_MODEL})('traces_source').data.xs[0].length")
        assert n > 100  # the recorded page is drawn


@pytest.mark.browser
@pytest.mark.timeout(90)
def test_a_monitor_answers_a_page_from_before_the_client_joined(tmp_path: Path) -> None:
    name = f"eegmon-test-pages-{os.getpid()}"
    started = [Proc(["simulate", "--name", name, "--channels", "8", "--seed", "5"])]
    try:
        started[0].wait_line("publishing LSL stream")
        args = ["monitor", "--stream", name, "--feed-port", "0", "--quiet", "--no-staging"]
        started.append(Proc([*args, "--record", str(tmp_path / "night.edf")]))
        line = started[1].wait_line("feed at ", timeout=30)
        url = line.rsplit("feed at ", 1)[1].strip()
        early = FeedProbe(url)  # holds every trace the monitor sent
        try:
            first = early.wait(lambda m: m["type"] == "traces", 20, "traces")["timestamps"][0]
            early.wait(
                lambda m: m["type"] == "traces" and m["timestamps"][-1] > first + 9, 20, "9 s"
            )
            late = FeedProbe(url)  # joins now: holds nothing of the first 9 s
            try:
                late.send({"type": "page", "start": first + 1, "end": first + 7, "ref": "p"})
                page = late.wait(lambda m: m["type"] == "page", 10, "the page")
                late.send({"type": "page", "start": first - 60, "end": first - 50})
                missing = late.wait(lambda m: m["type"] == "page" and m["ref"] is None, 10, "")
            finally:
                late.close()
            bed_page_back_reads_the_recording(url, first)
            browser_page_back_says_it_is_recorded(url)
            traces = early.of_type("traces")
        finally:
            early.close()
    finally:
        for proc in reversed(started):
            proc.stop()
    assert page["ref"] == "p"
    assert page["recorded"][0] <= first
    assert page["rate"] == 128.0
    assert len(page["timestamps"]) >= 5 * 128
    # what the monitor sent live at the same times (within 2 ms: LSL stamps jitter)
    times = np.concatenate([m["timestamps"] for m in traces])
    sent = np.concatenate([np.array(m["data"], dtype=float) for m in traces], axis=1)
    at = np.clip(np.searchsorted(times, page["timestamps"]), 1, times.size - 1)
    at -= np.abs(times[at - 1] - page["timestamps"]) < np.abs(times[at] - page["timestamps"])
    same = np.abs(times[at] - page["timestamps"]) < 0.002
    assert same.mean() > 0.9
    np.testing.assert_allclose(np.array(page["data"])[:, same], sent[:, at[same]], atol=0.06)
    assert missing["timestamps"] == []
    assert missing["recorded"][0] == page["recorded"][0]
