"""Size limits that keep every module and function readable: checked by `make lint`.

No Python file over 600 lines, no function over 80, in the product's packages,
the benchmarks and the tests. Prints each offender and exits 1 if there is any.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80
CHECKED = (
    "protocol", "detector", "staging", "streamer", "simulators", "dashboard", "evaluation",
    "eegmon", "benchmarks", "tests",
)  # fmt: skip


def offences(root: Path, path: Path) -> list[str]:
    text = (root / path).read_text(encoding="utf-8")
    found = []
    lines = text.count("\n")
    if lines > MAX_FILE_LINES:
        found.append(f"{path}: {lines} lines (limit {MAX_FILE_LINES})")
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(
                    f"{path}:{node.lineno}: {node.name} is {length} lines "
                    f"(limit {MAX_FUNCTION_LINES})"
                )
    return found


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    found = [
        offence
        for package in CHECKED
        for path in sorted((root / package).rglob("*.py"))
        for offence in offences(root, path.relative_to(root))
    ]
    for offence in found:
        print(offence)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
