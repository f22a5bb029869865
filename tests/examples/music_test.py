"""End-to-end test of examples/music.py on the TFDS builder's dummy data."""

import importlib.util
import json
import pathlib

import keras

from tests.dummy_data import dummy_data

_ROOT = pathlib.Path(__file__).resolve().parents[2]
_MANUAL = dummy_data("polyphonic_music") / "manual"


def _example():
    spec = importlib.util.spec_from_file_location(
        "music_example", _ROOT / "examples" / "music.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_writes_every_output(tmp_path):
    output = tmp_path / "run"
    summary = _example().main(
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
    assert written["history"]["rnn_alpha"] == [0.5, 0.25]
    assert summary["nll"] == written["nll"]
    model = keras.saving.load_model(output / "model.keras")
    assert model.get_layer("rnn").units == 4


def test_example_defaults_are_the_papers():
    args = _example().parse_args([])
    assert args.dataset == "offline_chorales"
    assert (args.method, args.threshold, args.sequence_length) == ("sgd-cr", 8.0, 200)
    assert args.units is None  # taken from music.PAPER_SETTINGS per dataset
