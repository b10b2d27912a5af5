"""The typed usage example (also checked by `mypy --strict`) runs."""

from __future__ import annotations

import asyncio

import typed_usage


def test_typed_usage_runs() -> None:
    typed_usage.main()
    asyncio.run(typed_usage.serve())
