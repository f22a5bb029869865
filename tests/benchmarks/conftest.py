"""Loads the scripts of `benchmarks/` as modules, with their helpers importable."""

import pytest

from tests.conftest import script_loader


@pytest.fixture
def load_benchmark(monkeypatch):
    """`load_benchmark(name)` returns `benchmarks/<name>.py` as a fresh module."""
    return script_loader(monkeypatch, "benchmarks")
