"""End-to-end test of examples/char_lm.py on the TFDS builder's dummy data."""

import json

import pytest

from tests.dummy_data import dummy_data

_MANUAL = dummy_data("ptb_char") / "manual"


@pytest.mark.slow
def test_example_writes_every_output(tmp_path, load_example):
    output = tmp_path / "run"
    summary = load_example("char_lm").main(
        [
            "--dataset=ptb",
            f"--data-dir={_MANUAL}",
            f"--tfds-dir={tmp_path / 'tfds'}",
            "--units=4",
            "--batch-size=2",
            "--segment-length=10",
            "--epochs=1",
            "--sample-length=5",
            "--train-eval-chars=200",
            "--omega=0.2",
            "--no-export",
            "--verbose=0",
            f"--output={output}",
        ]
    )
    for name in ("history.json", "curves.png", "sample.txt", "model.keras"):
        assert (output / name).is_file(), name
    assert not (output / "saved_model").exists()
    written = json.loads((output / "history.json").read_text())
    assert written["epochs"] == summary["epochs"] == 1
    assert written["settings"]["omega"] == 0.2
    assert set(written["bits_per_character"]) == {"train", "validation", "test"}
    assert (output / "sample.txt").read_text().startswith("the ")
