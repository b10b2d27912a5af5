"""Runs every Python block of `python/README.md`, in order, in one
namespace: the quick start cannot go stale."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(), flags=re.MULTILINE | re.DOTALL)


def test_the_readme_has_a_quick_start() -> None:
    assert len(blocks()) >= 4
    assert "## Quick start" in README.read_text()


def test_every_readme_block_runs() -> None:
    namespace: dict[str, Any] = {"__name__": "readme"}
    for i, code in enumerate(blocks()):
        exec(compile(code, f"{README}:block {i + 1}", "exec"), namespace)
    assert namespace["ended"] == [namespace["end"]]
