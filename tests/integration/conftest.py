"""Integration-test hygiene shared by the crash tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.chaos import reap_workers


@pytest.fixture(autouse=True)
def _reap_workers() -> Iterator[None]:
    yield
    reap_workers()
