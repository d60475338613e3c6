"""`eegmon evaluate --hypnogram`: stages against an expert's; SzCORE beside the strict table."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evaluation.hypnogram import read_hypnogram
from streamer.offline.stages import write_stages
from tests.files.dreams import dreams_edf
from tests.files.test_bad_input import run_cli

MINUTES = 3  # 6 epochs


def test_evaluate_compares_final_and_live_stages_with_each_hypnogram(
    test_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = test_data / "dreams_spindles"
    night = dreams_edf(source / "excerpt2.txt", tmp_path / "n2.edf", MINUTES)
    # the expert's DREAMS hypnogram, cut to the recording: a code every 5 s
    dreams = tmp_path / "Hypnogram_n2.txt"
    lines = (source / "Hypnogram_excerpt2.txt").read_text().splitlines()
    dreams.write_text("\n".join(lines[: 1 + MINUTES * 12]) + "\n")
    # eegmon's own hypnogram as scan --out writes it: the whole recording's staging agrees
    own = tmp_path / "n2.edf.stages.tsv"
    write_stages(own, night)
    out = tmp_path / "rows.json"
    code, stdout, err = run_cli(
        ["evaluate", str(night), str(night), "--hypnogram", str(dreams), "--hypnogram", str(own),
         "--json", str(out)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "warning" not in err  # the hypnograms cover the recording
    assert "SzCORE event scoring" in stdout
    assert "sleep stages against the expert's hypnogram (30 s epochs)" in stdout
    rows = json.loads(out.read_text())
    staging = {(r["hypnogram"], r["who"]): r for r in rows if r["scoring"] == "staging"}
    whos = ("recording", "final", "live")
    assert set(staging) == {(h, w) for h in (str(dreams), str(own), "") for w in whos}
    expert = Counter(read_hypnogram(dreams))
    for who in whos:
        row = staging[str(dreams), who]
        assert row["recording"] == str(night)
        assert row["epochs"] == 2 * MINUTES
        confusion = row["confusion"]
        assert {stage: sum(got.values()) for stage, got in confusion.items()} == {
            stage: expert[stage] for stage in confusion
        }
        agreeing = sum(confusion[stage].get(stage, 0) for stage in confusion)
        assert row["accuracy"] == round(agreeing / row["epochs"], 3)
        assert -1.0 <= row["kappa"] <= 1.0
    assert staging[str(own), "recording"]["accuracy"] == 1.0
    assert staging[str(own), "recording"]["kappa"] == 1.0
    table = [line.split("\t") for line in own.read_text().splitlines()[1:]]
    same = sum(stage == live for _, _, stage, live, _ in table) / len(table)
    assert staging[str(own), "live"]["accuracy"] == round(same, 3)
    assert staging["", "final"]["epochs"] == 4 * MINUTES  # both recordings pooled
    szcore = [r for r in rows if r["scoring"] == "szcore"]
    assert {r["who"] for r in szcore} == {"eegmon", "baseline"}
    assert all(r["kind"] == "seizure_suspect" and r["events"] == 0 for r in szcore)
    assert szcore[0]["hours"] == pytest.approx(2 * MINUTES / 60, abs=1e-3)
    code, stdout, err = run_cli(["evaluate", str(night), "--no-staging"], capsys)
    assert code == 0, err
    assert "SzCORE event scoring" in stdout
    assert "sleep stages" not in stdout


@pytest.mark.parametrize(
    ("hypnogram", "problem"),
    [
        (
            "onset\tduration\tstage\n0\t30\tN5\n",
            "line 2: unknown stage 'N5' (W, N1, N2, N3, REM or ?)",
        ),
        (
            "W\nN2\n",
            "not a hypnogram: line 1 is neither a TSV header (onset, duration, stage) "
            "nor a DREAMS header ([Hypnogram])",
        ),
    ],
)
def test_a_bad_hypnogram_is_one_line_and_exit_2(
    hypnogram: str, problem: str, eegmmidb_edf: Path, tmp_path: Path, capsys
) -> None:
    path = tmp_path / "h.tsv"
    path.write_text(hypnogram)
    code, _, err = run_cli(["evaluate", str(eegmmidb_edf), "--hypnogram", str(path)], capsys)
    assert code == 2
    assert err.splitlines() == [f"eegmon: error: --hypnogram {str(path)!r}: {problem}"]


def test_one_hypnogram_per_file(eegmmidb_edf: Path, tmp_path: Path, capsys) -> None:
    args = ["evaluate", str(eegmmidb_edf), str(eegmmidb_edf), "--hypnogram", "h.tsv"]
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert err.splitlines() == [
        "eegmon: error: give one --hypnogram per file (2 files, 1 --hypnogram)"
    ]
    code, _, err = run_cli([*args[:2], "--hypnogram", "h.tsv", "--no-staging"], capsys)
    assert code == 2
    assert err.splitlines() == [
        "eegmon: error: --hypnogram compares the stages that --no-staging leaves out: "
        "give one of them"
    ]
    code, _, err = run_cli(["evaluate", str(eegmmidb_edf), "--szcore", "seizure"], capsys)
    assert code == 2
    assert err.splitlines()[0].startswith("eegmon: error: --szcore 'seizure': not an alert kind")


@pytest.fixture
def eegmmidb_edf(test_data: Path) -> Path:
    return test_data / "eegmmidb_S001" / "S001R01.edf"
