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
    assert written["unigram_bits_per_character"]["test"] > 0
    # PTB separates words with "_": the default prompt "the " is spelled so.
    assert (output / "sample.txt").read_text().startswith("the_")


def test_prompt_takes_the_spelling_of_the_corpus(load_example):
    from keras_rnncr import text

    prompt = load_example("char_lm")._prompt
    # Real PTB has no unknown symbol and no space: "the " could not be encoded.
    ptb = text.CharVocabulary("_aeht")
    assert prompt("the ", ptb) == "the_"
    assert ptb.encode(prompt("the ", ptb)).tolist() == ptb.encode("the_").tolist()
    assert prompt("the ", text.CharVocabulary(" aeht_")) == "the "


def test_a_prompt_outside_the_vocabulary_is_refused_before_training(
    tmp_path, load_example, capsys
):
    output = tmp_path / "run"
    with pytest.raises(SystemExit) as stop:
        load_example("char_lm").main(
            [
                "--dataset=ptb",
                f"--data-dir={_MANUAL}",
                f"--tfds-dir={tmp_path / 'tfds'}",
                "--prompt=The Cat",
                "--verbose=0",
                f"--output={output}",
            ]
        )
    assert stop.value.code == 2  # argparse's status for a refused flag
    assert "argument --prompt: 'The Cat' does not fit" in capsys.readouterr().err
    assert not output.exists()  # nothing trained
