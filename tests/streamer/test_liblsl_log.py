"""liblsl's own INFO lines stay off the terminal, and a lab's liblsl configuration still rules."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pylsl
import pytest

pytestmark = pytest.mark.slow
pytest.importorskip("brainflow")

LIBLSL_INFO = ("Loaded default config", "INFO|")


def without_test_config(home: Path) -> dict[str, str]:
    """The environment of a new user: no LSLAPICFG, an empty home."""
    env = {key: value for key, value in os.environ.items() if key != "LSLAPICFG"}
    return {**env, "HOME": str(home), "LSLAPICFG": ""}


def test_liblsl_info_lines_only_with_verbose(eegmon, unique_name: str, tmp_path: Path) -> None:
    env = without_test_config(tmp_path)
    quiet = eegmon("acquire", "--board", "synthetic", "--name", unique_name, env=env)
    quiet.wait_line("publishing LSL stream", timeout=30)
    quiet.stop()
    assert not [line for line in quiet.lines if any(s in line for s in LIBLSL_INFO)], quiet.lines
    loud = eegmon("-v", "acquire", "--board", "synthetic", "--name", unique_name, env=env)
    loud.wait_line("publishing LSL stream", timeout=30)
    loud.stop()
    assert [line for line in loud.lines if "Loaded default config" in line], loud.lines


def test_a_labs_own_configuration_is_kept_and_never_written(
    eegmon, unique_name: str, tmp_path: Path
) -> None:
    lab = tmp_path / "lab_api.cfg"
    lab.write_text(
        f"[lab]\nSessionID = ward-{uuid.uuid4().hex}\n[multicast]\nResolveScope = machine\n"
    )
    before = (lab.read_bytes(), lab.stat().st_mtime_ns)
    env = {**without_test_config(tmp_path), "LSLAPICFG": str(lab)}
    board = eegmon("acquire", "--board", "synthetic", "--name", unique_name, env=env)
    board.wait_line("publishing LSL stream", timeout=30)
    # A monitor of the lab's session finds the stream...
    watcher = eegmon("monitor", "--stream", unique_name, "--feed-port", "0", "--quiet", env=env)
    watcher.wait_line("feed at ", timeout=30)
    # ...which this process, in the default session, cannot see: the lab's SessionID was kept.
    assert pylsl.resolve_byprop("name", unique_name, timeout=2.0) == []
    assert not [line for line in board.lines if any(s in line for s in LIBLSL_INFO)]
    assert (lab.read_bytes(), lab.stat().st_mtime_ns) == before
