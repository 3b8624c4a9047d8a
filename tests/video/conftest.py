"""Fixtures for the Qt-free video tests: fail a test that leaves a thread running."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _dangling_threads(no_thread_leaks):
    """Every video test: no thread may outlive it (the capture and segmenter threads included)."""
    yield
