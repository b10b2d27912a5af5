"""Runs every Python block of `python/README.md`, in order, in one
namespace (its Redis examples on the Redis of scripts/with-redis, as
REDIS_URL), and the one of the project's README: the quick starts cannot
go stale. The blocks of web applications (fenced ```python NAME) are
served and asked by test_web_readme.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from support import redis_url

README = Path(__file__).resolve().parents[1] / "README.md"
ROOT_README = Path(__file__).resolve().parents[2] / "README.md"


def blocks(readme: Path = README) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", readme.read_text(), flags=re.MULTILINE | re.DOTALL)


def test_the_readme_has_a_quick_start() -> None:
    assert len(blocks()) >= 4
    assert "## Quick start" in README.read_text()


def test_every_readme_block_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace: dict[str, Any] = {"__name__": "readme"}
    for i, code in enumerate(blocks()):
        if "REDIS_URL" in code and "REDIS_URL" not in namespace:
            # "Sessions in Redis" and after: on the Redis of scripts/with-redis
            # (failing without one).
            assert namespace["ended"] == [namespace["end"]]
            monkeypatch.setenv("REDIS_URL", redis_url())
        exec(compile(code, f"{README}:block {i + 1}", "exec"), namespace)
    assert namespace["ended"] == [namespace["end"]]
    assert namespace["REDIS_URL"] == redis_url(), "the Redis examples ran"


def test_the_project_readme_block_runs(capsys: Any) -> None:
    (code,) = blocks(ROOT_README)
    exec(compile(code, f"{ROOT_README}:python", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out == "ended 1\n"
