"""Expert hypnograms (TSV and DREAMS) read into 30 s epochs, and the agreement with them."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluation.hypnogram import (
    ALIASES,
    RK_STAGES,
    Agreement,
    HypnogramProblem,
    parse_hypnogram,
    read_hypnogram,
)
from staging import STAGES
from tests.support import ROOT

stages = st.lists(st.sampled_from([*STAGES, None]), min_size=1, max_size=40)
#: Each stage's spellings a TSV may use.
SPELLINGS = {stage: [stage, stage.lower()] for stage in STAGES}
for alias, stage in ALIASES.items():
    SPELLINGS[stage].append(alias)
UNSCORED_SPELLINGS = ["?", "", "MT", "Sleep stage ?", "movement"]
HEADER = "onset\tduration\tstage\tlive_stage\tconfidence"


@settings(max_examples=80, deadline=None)
@given(expected=stages, data=st.data())
def test_tsv_epochs_come_back_whatever_the_spelling(expected, data):
    lines = [HEADER]
    for index, stage in enumerate(expected):
        spellings = UNSCORED_SPELLINGS if stage is None else SPELLINGS[stage]
        label = data.draw(st.sampled_from(spellings))
        lines.append(f"{30 * index}\t30\t{label}\tN2\t0.5")
    assert parse_hypnogram("\n".join(lines) + "\n") == expected


@settings(max_examples=80, deadline=None)
@given(expected=stages, data=st.data())
def test_tsv_rows_cut_anywhere_within_an_epoch_give_the_same_epochs(expected, data):
    """Rows of any length (an expert's 10 s rows, an epoch in pieces), in any order."""
    rows = []
    for index, stage in enumerate(expected):
        cuts = sorted(data.draw(st.sets(st.integers(1, 29), max_size=3)))
        bounds = [0, *cuts, 30]
        for lo, hi in itertools.pairwise(bounds):
            rows.append(f"{stage or '?'}\t{30 * index + lo}\t{hi - lo}")
    rows = data.draw(st.permutations(rows))
    assert parse_hypnogram("\n".join(["stage\tonset\tduration", *rows])) == expected


def test_tsv_majority_within_an_epoch():
    text = "onset\tduration\tstage\n0\t20\tN2\n20\t40\tN3\n60\t15\tW\n75\t15\tN1\n90\t10\tREM\n"
    # 0-30: N2 20 s; 30-60: N3; 60-90: a tie, the earliest; 90-100: not a whole epoch
    assert parse_hypnogram(text) == ["N2", "N3", "W"]


@settings(max_examples=80, deadline=None)
@given(codes=st.lists(st.sampled_from([*RK_STAGES, -1]), min_size=6, max_size=120))
def test_dreams_codes_every_5_s(codes):
    text = "[Hypnogram]\n" + "".join(f"{code}\n" for code in codes)
    epochs = parse_hypnogram(text)
    assert len(epochs) == len(codes) // 6
    for index, epoch in enumerate(epochs):
        named = [RK_STAGES[c] for c in codes[6 * index : 6 * index + 6] if c in RK_STAGES]
        # the most frequent stage of its six codes, the earliest of a tie; movement unscored
        assert epoch == (max(named, key=named.count) if named else None)


def test_the_dreams_excerpts(test_data: Path):
    epochs = read_hypnogram(test_data / "dreams_spindles" / "Hypnogram_excerpt2.txt")
    assert len(epochs) == 60  # 30 min
    assert set(epochs) <= set(STAGES)


@settings(max_examples=150, deadline=None)
@given(
    head=st.sampled_from(["", "[Hypnogram]\n", "onset\tduration\tstage\n", "onset\tstage\n"]),
    body=st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
)
def test_anything_else_is_one_line_naming_the_problem(head, body):
    try:
        epochs = parse_hypnogram(head + body)
    except HypnogramProblem as exc:
        problem = str(exc)
    else:
        problem = "read"
        assert all(epoch is None or epoch in STAGES for epoch in epochs)
    assert problem
    assert "\n" not in problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not a hypnogram: line 1 is neither"),
        ("onset\tstage\n0\tW\n", "line 1: no column duration"),
        ("onset\tduration\tstage\n0\t30\tN5\n", "line 2: unknown stage 'N5'"),
        ("onset\tduration\tstage\n0\tx\tW\n", "line 2: onset and duration must be numbers"),
        ("onset\tduration\tstage\n0\t-30\tW\n", "line 2: onset 0 s and duration -30 s out of"),
        ("onset\tduration\tstage\n0\t30\tW\n20\t30\tW\n", "rows at 0 s and 20 s overlap"),
        ("onset\tduration\tstage\n", "no rows after the header"),
        ("[Hypnogram]\n5\n5\n7\n", "line 4: '7' is not an R&K code"),
        ("[Hypnogram]\n5\n\n5\n", "line 3: '' is not an R&K code"),
        ("[Hypnogram]\n5\n5\n", "2 codes of 5 s: not one whole 30 s epoch"),
    ],
)
def test_bad_hypnograms(text, problem):
    with pytest.raises(HypnogramProblem) as info:
        parse_hypnogram(text)
    assert str(info.value).startswith(problem)


def test_unreadable_files(tmp_path: Path):
    with pytest.raises(HypnogramProblem, match="cannot read it"):
        read_hypnogram(tmp_path / "missing.txt")
    binary = tmp_path / "h.edf"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(HypnogramProblem, match="not a text file"):
        read_hypnogram(binary)


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.sampled_from([*STAGES, None]), st.sampled_from([*STAGES, None])))
)
def test_agreement_counts(pairs):
    agreement = Agreement()
    agreement.add([e for e, _ in pairs], [f for _, f in pairs])
    scored = [(e, f) for e, f in pairs if e is not None]
    assert agreement.epochs == len(scored)
    matrix = agreement.confusion()
    assert sum(sum(row.values()) for row in matrix.values()) == len(scored)
    if scored:
        same = sum(matrix[stage][stage] for stage in STAGES)
        assert agreement.accuracy == pytest.approx(same / len(scored))
        assert agreement.kappa is not None
        assert agreement.kappa <= 1.0
        unstaged = sum(row.get("?", 0) for row in matrix.values())
        assert unstaged == sum(f is None for _, f in scored)
    else:
        assert agreement.accuracy is None


def test_reading_a_hypnogram_loads_no_signal_library():
    """A bad hypnogram is refused before eegmon evaluate loads the staging's libraries."""
    probe = (
        "import sys, evaluation.hypnogram; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'staging', 'detector', 'scipy', 'mne', 'yasa', 'pandas'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
