"""The typed usage example (also checked by `mypy --strict`) runs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typed_usage


def test_typed_usage_runs(tmp_path: Path) -> None:
    typed_usage.main()
    typed_usage.web()
    asyncio.run(typed_usage.serve())
    typed_usage.snapshots(tmp_path)
    asyncio.run(typed_usage.save_async(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.snap", "async.snap", "copy.snap", "own.snap"]
