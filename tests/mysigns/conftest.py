"""Fixtures of the my-signs tests: no test may leave a recording thread running."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _dangling_threads(no_thread_leaks):
    yield
