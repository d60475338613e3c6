"""liblsl's own log kept at warnings, without overriding a lab's liblsl configuration.

liblsl prints two INFO lines ("Loaded default config", "git:...") in every
process that touches LSL, interleaved with eegmon's own output. Its log level
comes from its configuration file; giving it a file of our own would drop the
lab's settings (ports, multicast scope, session id, known peers). So the
file liblsl would read is read here, and handed back to liblsl as content
with ``[log] level = -2`` added when it sets no level itself. The lab's file
is never written. Must run before any other LSL call of the process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: liblsl's level for warnings and worse (-2), as its configuration spells it.
QUIET_LEVEL = -2
_LEVEL = re.compile(r"^\s*level\s*=", re.IGNORECASE)
_SECTION = re.compile(r"^\s*\[([^\]]*)\]")


def lab_config() -> Path | None:
    """The configuration file liblsl itself would load, in its own order of precedence."""
    given = os.environ.get("LSLAPICFG")
    candidates = [Path(given)] if given else []
    candidates += [
        Path("lsl_api.cfg"),
        Path.home() / "lsl_api" / "lsl_api.cfg",
        Path("/etc/lsl_api/lsl_api.cfg"),
    ]
    return next((path for path in candidates if path.is_file()), None)


def quiet_content(content: str) -> str:
    """`content` with liblsl's log at warnings, unless it sets a level itself.

    >>> quiet_content("[multicast]\\nResolveScope = machine\\n")
    '[multicast]\\nResolveScope = machine\\n\\n[log]\\nlevel = -2\\n'
    >>> quiet_content("[log]\\nlevel = 0\\n")
    '[log]\\nlevel = 0\\n'
    """
    section = ""
    for line in content.splitlines():
        header = _SECTION.match(line)
        if header:
            section = header.group(1).strip().lower()
        elif section == "log" and _LEVEL.match(line):
            return content
    separator = "" if not content or content.endswith("\n") else "\n"
    return f"{content}{separator}{chr(10) if content else ''}[log]\nlevel = {QUIET_LEVEL}\n"


def configure(verbose: int) -> None:
    """Keep liblsl quiet (``-v`` lets it speak as configured); call before any LSL use."""
    if verbose > 0:
        return
    import pylsl

    path = lab_config()
    try:
        content = path.read_text(encoding="utf-8", errors="replace") if path is not None else ""
    except OSError:
        content = ""  # liblsl could not read it either
    pylsl.set_config_content(quiet_content(content))
