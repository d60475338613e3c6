"""The command line: bad input is one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
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


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("eegmon: error: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("command", ["", "simulate", "monitor", "dashboard", "demo"])
def test_every_command_has_help(command: str) -> None:
    result = eegmon(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout


def test_monitor_names_what_it_looked_for_and_what_is_visible(unique_name: str) -> None:
    result = eegmon("monitor", "--stream", unique_name, "--resolve-timeout", "0.5")
    assert_one_line_error(result, f"name '{unique_name}'", "visible")


def test_monitor_refuses_two_selectors() -> None:
    assert_one_line_error(eegmon("monitor", "--stream", "a", "--type", "EEG"), "one of")


def test_monitor_refuses_to_expose_the_feed_without_a_token() -> None:
    result = eegmon("monitor", "--feed-host", "0.0.0.0", "--resolve-timeout", "0.5")
    assert_one_line_error(result, "token")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[detector]\nnotch = 60\n", "notch"),
        ("[detector]\nwindow_s = -1\n", "window_s"),
        ("[monitor]\nstall_timeout = 'soon'\n", "stall_timeout"),
        ("[alarms]\n", "[alarms]"),
        ("[detector\n", "not valid TOML"),
    ],
)
def test_monitor_config_errors_name_the_key(tmp_path: Path, text: str, needle: str) -> None:
    config = tmp_path / "lab.toml"
    config.write_text(text)
    result = eegmon("monitor", "--config", str(config), "--resolve-timeout", "0.5")
    assert_one_line_error(result, needle)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--rate", "5"], "5"),
        (["--channels", "7"], "7"),
        (["--scenario", "no-such-scenario"], "no-such-scenario"),
        (["--duration", "-3"], "-3"),
    ],
)
def test_simulate_refuses_bad_options(args: list[str], needle: str) -> None:
    assert_one_line_error(eegmon("simulate", *args), needle)


def test_simulate_names_the_bad_scenario_field(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[[event]]\nkind = "flatline"\nat = 1\nduration = 2\nchannels = ["Q9"]\n')
    assert_one_line_error(eegmon("simulate", "--scenario", str(scenario)), "Q9")


def test_dashboard_refuses_a_feed_that_is_not_a_websocket() -> None:
    assert_one_line_error(eegmon("dashboard", "--feed", "http://127.0.0.1:1"), "http://127.0.0.1:1")


def test_simulate_publishes_for_its_duration_then_exits_cleanly(unique_name: str) -> None:
    result = eegmon("simulate", "--name", unique_name, "--duration", "1", "--rate", "128")
    assert result.returncode == 0, result.stderr
    assert f"publishing LSL stream '{unique_name}'" in result.stdout
    assert "stopped after 128 samples" in result.stdout
