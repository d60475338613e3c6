"""The hypnogram rows `scan --out` writes read back as written, and the night's summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.stages import sleep_statistics
from streamer.offline.stages import COLUMNS, StageRow, read_stages

STAGE = st.none() | st.sampled_from(["W", "N1", "N2", "N3", "REM"])


@st.composite
def nights(draw: st.DrawFn) -> list[StageRow]:
    stages = draw(st.lists(st.tuples(STAGE, STAGE), max_size=60))
    return [
        StageRow(30.0 * i, 30.0, final, live, None if final is None else 0.5)
        for i, (final, live) in enumerate(stages)
    ]


@given(nights())
def test_rows_read_back_as_written(tmp_path_factory: pytest.TempPathFactory, rows: list) -> None:
    path = tmp_path_factory.mktemp("stages") / "night.stages.tsv"
    path.write_text("\n".join(["\t".join(COLUMNS), *(row.line() for row in rows)]) + "\n")
    assert read_stages(path) == rows


@given(nights())
def test_the_summary_adds_up(rows: list[StageRow]) -> None:
    stats = sleep_statistics([(r.onset, r.duration, r.stage) for r in rows])
    assert stats.staged_s == 30.0 * sum(r.stage is not None for r in rows)
    assert stats.sleep_s + stats.by_stage_s["W"] == stats.staged_s
    assert 0.0 <= stats.wake_after_onset_s <= stats.by_stage_s["W"]
    if stats.efficiency is not None:
        assert 0.0 <= stats.efficiency <= 1.0


def test_a_bad_row_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.stages.tsv"
    path.write_text("\t".join(COLUMNS) + "\n0.0\t30.0\tN2\tN2\t0.9\nthirty\t30.0\tN2\tN2\t0.9\n")
    with pytest.raises(ValueError, match=r"line 3: 'thirty\\t30.0.*' is not a hypnogram row"):
        read_stages(path)
