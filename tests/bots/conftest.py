"""Fixtures for bot tests: both backends, and the harness fixture from bots.testing."""

from __future__ import annotations

import pytest

from bots.testing import bot_harness_factory

__all__ = ["bot_harness_factory"]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
