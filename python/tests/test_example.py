"""The Python demo of `make demo` runs and tells the whole lifecycle, then
a deploy that keeps the sessions (a snapshot)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "lifecycle.py"


def test_the_lifecycle_demo_runs() -> None:
    result = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines if line[0].isdigit()] == [f"{n}." for n in range(1, 11)]
    assert "   view /account -> view #4, sequence 5 (counting on)" in lines
    assert "8. After the restart: 1 live, 1 started, 1 revived, 1 rejected, 1 ended." in lines
    # The deploy: the idle session ends once, at its deadline; ann goes on.
    deploy = lines[lines.index(next(line for line in lines if line.startswith("10."))) :]
    assert sum("on_end:" in line for line in lines) == 3
    assert sum("on_end:" in line and " idle after 0 min: 0 views" in line for line in deploy) == 1
    assert "its deadline" in deploy[2]
    assert lines[-1] == "   ann comes back: existing, user ann, plan pro, view #3; 2 sessions loaded"
