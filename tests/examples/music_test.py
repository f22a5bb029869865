"""End-to-end test of examples/music.py on the TFDS builder's dummy data."""

import json
import sys

import keras
import pytest

from keras_rnncr import music
from tests.dummy_data import dummy_data

_MANUAL = dummy_data("polyphonic_music") / "manual"


@pytest.mark.slow
def test_example_writes_every_output(tmp_path, load_example):
    output = tmp_path / "run"
    summary = load_example("music").main(
        [
            "--dataset=jsb_chorales",
            "--method=sgd-cr",
            f"--data-dir={_MANUAL}",
            f"--tfds-dir={tmp_path / 'tfds'}",
            "--units=4",
            "--epochs=2",
            "--generate-frames=6",
            "--verbose=0",
            f"--output={output}",
        ]
    )
    for name in ("history.json", "curves.png", "sample.png", "model.keras"):
        assert (output / name).is_file(), name
    assert (output / "saved_model" / "saved_model.pb").is_file()
    written = json.loads((output / "history.json").read_text())
    assert written["epochs"] == 2 and written["updates"] == 2  # 3 pieces, batch 16
    assert written["settings"]["units"] == 4
    assert written["settings"]["learning_rate"] == 1.0  # paper default kept
    assert set(written["nll"]) == {"train", "validation", "test"}
    baselines = written["baselines"]
    assert set(baselines["previous_frame"]) == {"train", "validation", "test"}
    assert 0 <= baselines["mixing_weight"] <= 1
    assert written["history"]["rnn_alpha"] == [0.5, 0.25]
    assert summary["nll"] == written["nll"]
    model = keras.saving.load_model(output / "model.keras")
    assert model.get_layer("rnn").units == 4


def test_example_defaults_are_the_papers(load_example):
    args = load_example("music").parse_args([])
    assert args.dataset == "offline_chorales"
    assert (args.method, args.sequence_length) == ("sgd-cr", 200)
    assert args.threshold == music.THRESHOLD
    # Taken from music.PAPER_SETTINGS per dataset.
    assert args.units is args.learning_rate is args.omega is None


def test_example_without_music21_says_how_to_install_it(load_example, monkeypatch):
    monkeypatch.setitem(sys.modules, "music21", None)  # find_spec: not installed
    with pytest.raises(SystemExit, match=r'pip install -e "\.\[examples\]"'):
        load_example("music").main(["--dataset=offline_chorales"])
