"""Loads the scripts of `examples/` as modules, with their shared `_cli` importable."""

import pathlib

import pytest

from tests.conftest import script_loader

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def load_example(monkeypatch):
    """`load_example(name)` returns `examples/<name>.py` as a fresh module."""
    return script_loader(monkeypatch, "examples")
