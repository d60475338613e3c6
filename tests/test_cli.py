"""The command line: bad input is one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import ast
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT


def eegmon(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eegmon", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


class Runs:
    """``eegmon`` commands run to their end, a few at a time: each spends seconds importing.

    All are started from this thread: spawning from several threads at once
    made exec fail now and then (EFAULT) on CPython 3.11.
    """

    AT_ONCE = 3

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pending: list[tuple[str, ...]] = []
        self.running: dict[tuple[str, ...], subprocess.Popen[str]] = {}
        self.done: dict[tuple[str, ...], subprocess.CompletedProcess[str]] = {}

    def start(self, *args: str) -> None:
        if args not in self.done and args not in self.running and args not in self.pending:
            self.pending.append(args)
        self._fill()

    def _fill(self) -> None:
        while len(self.running) < self.AT_ONCE and self.pending:
            args = self.pending.pop(0)
            self.running[args] = subprocess.Popen(
                [sys.executable, "-m", "eegmon", *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )

    def _finish(self, args: tuple[str, ...]) -> None:
        proc = self.running.pop(args)
        try:
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        self.done[args] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        self._fill()

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        self.start(*args)
        while args not in self.done:
            self._finish(args if args in self.running else next(iter(self.running)))
        return self.done[args]

    def stop(self) -> None:
        self.pending.clear()
        for proc in self.running.values():
            proc.kill()
            proc.communicate()
        self.running.clear()

    def monitor_config(self, text: str) -> tuple[str, ...]:
        """``eegmon monitor`` with a config file that holds `text`."""
        config = self.folder / f"lab-{zlib.crc32(text.encode()):08x}.toml"
        config.write_text(text)
        return ("monitor", "--config", str(config), "--resolve-timeout", "0.5")


CONFIG_ERRORS = [
    ("[detector]\nnotch = 60\n", "notch"),
    ("[detector]\nwindow_s = -1\n", "window_s"),
    ("[monitor]\nstall_timeout = 'soon'\n", "stall_timeout"),
    ("[alarms]\n", "[alarms]"),
    ("[detector\n", "not valid TOML"),
]
EXPOSED = ("monitor", "--feed-host", "0.0.0.0", "--resolve-timeout", "0.5")
NOT_A_WEBSOCKET = ("dashboard", "--feed", "http://127.0.0.1:1")
SIMULATE_ERRORS = [
    (["--rate", "5"], "5"),
    (["--channels", "7"], "7"),
    (["--scenario", "no-such-scenario"], "no-such-scenario"),
    (["--duration", "-3"], "-3"),
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Commands that need no fixture of their own all start at once, three running at a time."""
    started = Runs(tmp_path_factory.mktemp("cli"))
    started.start(*EXPOSED)
    started.start(*NOT_A_WEBSOCKET)
    for text, _ in CONFIG_ERRORS:
        started.start(*started.monitor_config(text))
    for args, _ in SIMULATE_ERRORS:
        started.start("simulate", *args)
    yield started
    started.stop()


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("eegmon: error: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_the_commands_do_not_import_the_command_line_that_assembles_them() -> None:
    """`eegmon.cli` imports every command; a command importing it back would be a cycle."""
    for path in sorted((ROOT / "eegmon").glob("*.py")):
        if path.name in ("cli.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                modules = [f"{node.module}.{alias.name}" for alias in node.names]
                modules.append(str(node.module))
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            assert "eegmon.cli" not in modules, f"{path.name}:{node.lineno} imports eegmon.cli"


def test_monitor_names_what_it_looked_for_and_what_is_visible(unique_name: str) -> None:
    result = eegmon("monitor", "--stream", unique_name, "--resolve-timeout", "0.5")
    assert_one_line_error(result, f"name '{unique_name}'", "visible")


def test_monitor_refuses_two_selectors() -> None:
    assert_one_line_error(eegmon("monitor", "--stream", "a", "--type", "EEG"), "one of")


def test_monitor_refuses_to_expose_the_feed_without_a_token(runs: Runs) -> None:
    assert_one_line_error(runs(*EXPOSED), "token")


@pytest.mark.parametrize(("text", "needle"), CONFIG_ERRORS)
def test_monitor_config_errors_name_the_key(runs: Runs, text: str, needle: str) -> None:
    assert_one_line_error(runs(*runs.monitor_config(text)), needle)


@pytest.mark.parametrize(("args", "needle"), SIMULATE_ERRORS)
def test_simulate_refuses_bad_options(runs: Runs, args: list[str], needle: str) -> None:
    assert_one_line_error(runs("simulate", *args), needle)


def test_simulate_names_the_bad_scenario_field(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[[event]]\nkind = "flatline"\nat = 1\nduration = 2\nchannels = ["Q9"]\n')
    assert_one_line_error(eegmon("simulate", "--scenario", str(scenario)), "Q9")


def test_dashboard_refuses_a_feed_that_is_not_a_websocket(runs: Runs) -> None:
    assert_one_line_error(runs(*NOT_A_WEBSOCKET), "http://127.0.0.1:1")


def test_simulate_publishes_for_its_duration_then_exits_cleanly(unique_name: str) -> None:
    result = eegmon("simulate", "--name", unique_name, "--duration", "1", "--rate", "128")
    assert result.returncode == 0, result.stderr
    assert f"publishing LSL stream '{unique_name}'" in result.stdout
    assert "stopped after 128 samples" in result.stdout


def test_renamed_config_keys_still_work_with_one_deprecation_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from eegmon import config

    path = tmp_path / "old.toml"
    path.write_text(
        "[detector]\nescalate_after_s = 120.0\n"
        '[notify]\nhigh = ["json://127.0.0.1:9/"]\nrefractory_s = 20.0\n'
    )
    read = config.read(path)
    assert read.detector().upgrade_after_s == 120.0
    assert read.notify().min_interval_s == 20.0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert "[detector]: 'escalate_after_s' is deprecated, use 'upgrade_after_s'" in lines[0]
    assert "[notify]: 'refractory_s' is deprecated, use 'min_interval_s'" in lines[1]
