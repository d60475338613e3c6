"""Help and bad input come before the heavy libraries load: bad input is one line, exit 2.

Every case runs through the real entry point (`eegmon.cli.main`), all in one
fresh interpreter, which reports the modules each case loaded. Help loads
none of the heavy libraries. A refusal must not have loaded the detector,
scipy, Bokeh, Tornado, MNE, Dask or apprise (but to check a notification
URL); nor pylsl, but where it publishes or reads a stream. Each case is
charged with what it loaded itself, so the help runs first and the cases that
may load pylsl run after those that may not.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT

FORBIDDEN = (
    "detector",
    "scipy",
    "bokeh",
    "tornado",
    "mne",
    "distributed",
    "dask",
    "apprise",
    "pylsl",
)

RUN_CASES = """
import contextlib, io, json, sys
from eegmon.cli import main

startup = set(sys.modules)
results = []
for args in json.load(sys.stdin):
    before = set(sys.modules)
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["eegmon", *args]
    code = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        except BaseException as exc:  # reported, so the other cases still run
            code = f"raised {exc!r}"
    loaded = sorted(set(sys.modules) - before)
    results.append({"code": code, "out": out.getvalue(), "err": err.getvalue(), "loaded": loaded})
print(json.dumps({"startup": sorted(startup), "cases": results}))
"""


#: Files the cases refer to as {name}, made in a fresh folder (None: left absent).
FILES: dict[str, bytes | None] = {
    "absent.edf": None,
    "absent.toml": None,
    "absent.jsonl": None,
    "empty.edf": b"",
    "night.edf": b"0" * 256,  # never read: the refusal comes before any reader
    "labels.tsv": b"start\tlabel\n1\tseizure\n",
    "alerts.jsonl": b'{"seq": 1}\n',
    "typo.toml": b"[alarms]\n",
    "q9.toml": b'[[event]]\nkind = "flatline"\nat = 1\nduration = 2\nchannels = ["Q9"]\n',
}
FEED = ["--feed", "ws://127.0.0.1:1"]

#: Every command, and the command line itself (""), whose --help is asked for first.
COMMANDS = ["", "simulate", "monitor", "dashboard", "demo", "replay", "scan", "evaluate"]
COMMANDS += ["ack", "note", "alerts"]

LSL = ("pylsl",)  # what the commands that publish or read a stream may load to check it

#: id, arguments, what the one error line must name, which of FORBIDDEN it may load; in run order.
CASES: list[tuple[str, list[str], str, tuple[str, ...]]] = [
    ("dashboard-http", ["dashboard", "--feed", "http://127.0.0.1:1"], "'http://127.0.0.1:1'", ()),
    ("dashboard-token", ["dashboard", *FEED, "--token", "short"], "got 5", ()),
    ("dashboard-exposed", ["dashboard", *FEED, "--host", "0.0.0.0"], "'0.0.0.0'", ()),
    ("dashboard-port", ["dashboard", *FEED, "--port", "70000"], "70000", ()),
    ("demo-scenario", ["demo", "--scenario", "no-such-scenario"], "'no-such-scenario'", ()),
    ("demo-port", ["demo", "--port", "70000"], "70000", ()),
    ("demo-feed-port", ["demo", "--feed-port", "-1"], "-1", ()),
    ("scan-missing", ["scan", "{absent.edf}"], "{absent.edf}: no such file", ()),
    ("scan-empty", ["scan", "{empty.edf}"], "{empty.edf}: empty file", ()),
    ("scan-scheduler", ["scan", "{night.edf}", "--scheduler", "nonsense"], "'nonsense'", ()),
    ("scan-config", ["scan", "{night.edf}", "--config", "{absent.toml}"], "{absent.toml}", ()),
    ("scan-config-section", ["scan", "{night.edf}", "--config", "{typo.toml}"], "[alarms]", ()),
    ("evaluate-missing", ["evaluate", "{absent.edf}"], "{absent.edf}: no such file", ()),
    ("evaluate-tolerance", ["evaluate", "{night.edf}", "--tolerance", "-1"], "-1", ()),
    (
        "evaluate-events",
        ["evaluate", "{night.edf}", "--events", "{labels.tsv}"],
        "{labels.tsv}: line 2",
        (),
    ),
    (
        "evaluate-json",
        ["evaluate", "{night.edf}", "--json", "{absent.toml}/rows.json"],
        "{absent.toml}/rows.json",
        (),
    ),
    ("evaluate-config", ["evaluate", "{night.edf}", "--config", "{typo.toml}"], "[alarms]", ()),
    ("ack-url", ["ack", "a1", "--feed", "http://127.0.0.1:1"], "'http://127.0.0.1:1'", ()),
    ("ack-timeout", ["ack", "a1", *FEED, "--timeout", "0"], "0.0", ()),
    ("note-url", ["note", "Lights", "--feed", "http://127.0.0.1:1"], "'http://127.0.0.1:1'", ()),
    ("note-long", ["note", "x" * 501, *FEED], "501 characters", ()),
    ("alerts-missing", ["alerts", "{absent.jsonl}"], "{absent.jsonl}", ()),
    ("alerts-since", ["alerts", "{alerts.jsonl}", "--since", "whenever"], "'whenever'", ()),
    ("replay-missing", ["replay", "{absent.edf}"], "{absent.edf}: no such file", LSL),
    ("replay-empty", ["replay", "{empty.edf}"], "{empty.edf}: empty file", LSL),
    ("replay-speed", ["replay", "{night.edf}", "--speed", "fast"], "'fast'", LSL),
    ("simulate-rate", ["simulate", "--rate", "5"], "5.0 Hz", LSL),
    ("simulate-channels", ["simulate", "--channels", "7"], "7", LSL),
    ("simulate-duration", ["simulate", "--duration", "-3"], "-3", LSL),
    ("simulate-scenario", ["simulate", "--scenario", "no-such"], "'no-such'", LSL),
    ("simulate-labels", ["simulate", "--scenario", "{q9.toml}"], "Q9", LSL),
    ("monitor-selectors", ["monitor", "--stream", "a", "--type", "EEG"], "one of", LSL),
    ("monitor-exposed", ["monitor", "--feed-host", "0.0.0.0"], "'0.0.0.0'", LSL),
    ("monitor-feed-port", ["monitor", "--feed-port", "70000"], "70000", LSL),
    ("monitor-timeout", ["monitor", "--stall-timeout", "-1"], "-1", LSL),
    ("monitor-config", ["monitor", "--config", "{absent.toml}"], "{absent.toml}", LSL),
    ("monitor-config-section", ["monitor", "--config", "{typo.toml}"], "[alarms]", LSL),
    (
        "monitor-rotate",
        ["monitor", "--record", "{night.edf}", "--record-rotate", "soon"],
        "'soon'",
        LSL,
    ),
    # apprise must load to know its URLs; the detector need not
    (
        "monitor-notify",
        ["monitor", "--notify", "nosuch://u:pw@h/"],
        "'nosuch://u:***@h/'",
        (*LSL, "apprise"),
    ),
]


def fill(text: str, folder: Path) -> str:
    for name in FILES:
        text = text.replace(f"{{{name}}}", str(folder / name))
    return text


@pytest.fixture(scope="module")
def refusals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The modules loaded at start-up, and per case: exit code, stdout, stderr, modules loaded."""
    folder = tmp_path_factory.mktemp("fail-fast")
    for name, content in FILES.items():
        if content is not None:
            (folder / name).write_bytes(content)
    helps = [[command, "--help"] if command else ["--help"] for command in COMMANDS]
    done = subprocess.run(
        [sys.executable, "-c", RUN_CASES],
        input=json.dumps(helps + [[fill(a, folder) for a in args] for _, args, _, _ in CASES]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    ran = results["cases"]
    results["help"] = dict(zip(COMMANDS, ran[: len(COMMANDS)], strict=True))
    results["cases"] = {
        case: {**result, "needle": fill(needle, folder)}
        for (case, _, needle, _), result in zip(CASES, ran[len(COMMANDS) :], strict=True)
    }
    return results


def heavy_modules(loaded: list[str], allowed: tuple[str, ...] = ()) -> list[str]:
    return [m for m in loaded if m.split(".")[0] in set(FORBIDDEN) - set(allowed)]


@pytest.mark.parametrize("command", COMMANDS, ids=[c or "eegmon" for c in COMMANDS])
def test_help_loads_none_of_them(refusals: dict[str, Any], command: str) -> None:
    result = refusals["help"][command]
    assert result["code"] == 0, result
    assert result["out"].startswith(f"Usage: eegmon {command}".rstrip() + " "), result["out"]
    assert result["err"] == ""
    assert heavy_modules(result["loaded"]) == []


@pytest.mark.parametrize(("case", "allowed"), [pytest.param(c[0], c[3], id=c[0]) for c in CASES])
def test_bad_input_is_one_line_naming_it_before_heavy_imports(
    refusals: dict[str, Any], case: str, allowed: tuple[str, ...]
) -> None:
    result = refusals["cases"][case]
    assert result["code"] == 2, result
    lines = result["err"].splitlines()
    assert len(lines) == 1, result["err"]
    assert lines[0].startswith("eegmon: error: "), lines[0]
    assert result["needle"] in lines[0]
    assert result["out"] == ""
    heavy = heavy_modules(result["loaded"], allowed)
    assert heavy == [], f"{case} loaded {heavy[:5]} before refusing"


def test_the_command_line_itself_loads_none_of_them(refusals: dict[str, Any]) -> None:
    assert heavy_modules(refusals["startup"]) == []
    assert "click" in refusals["startup"]  # what it did load is seen
