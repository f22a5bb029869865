"""Offline tests for the `ptb_char` builder over generated dummy data."""

import pytest

pytest.importorskip(
    "dill", reason="tfds.testing needs dill (tensorflow-datasets[tests])"
)

import tensorflow_datasets as tfds  # noqa: E402

from keras_rnncr.datasets import PtbChar  # noqa: E402
from keras_rnncr.datasets.ptb_char import ptb_char_dataset_builder  # noqa: E402
from tests.dummy_data import dummy_data  # noqa: E402

_DUMMY_DATA = dummy_data("ptb_char")


class PtbCharDownloadTest(tfds.testing.DatasetBuilderTestCase):
    """simple-examples.tgz path; its sha256 is not pinned yet."""

    DATASET_CLASS = PtbChar
    EXAMPLE_DIR = str(_DUMMY_DATA)
    SPLITS = {"train": 5, "validation": 3, "test": 3}
    DL_EXTRACT_RESULT = "download"
    SKIP_CHECKSUMS = True


class PtbCharManualWordLevelTest(tfds.testing.DatasetBuilderTestCase):
    """manual_dir holding only the word-level ptb.*.txt files."""

    DATASET_CLASS = PtbChar
    EXAMPLE_DIR = str(_DUMMY_DATA / "manual")
    SPLITS = {"train": 5, "validation": 3, "test": 3}


def test_word_and_char_files_give_the_same_text():
    data = _DUMMY_DATA / "download" / "simple-examples" / "data"
    for split in ("train", "valid", "test"):
        words = (data / f"ptb.{split}.txt").read_text().splitlines()
        chars = (data / f"ptb.char.{split}.txt").read_text().splitlines()
        assert [ptb_char_dataset_builder.word_line_to_characters(w) for w in words] == [
            ptb_char_dataset_builder.char_line_to_characters(c) for c in chars
        ]


def test_conversion_rule():
    convert = ptb_char_dataset_builder.word_line_to_characters
    assert convert(" aer banknote <unk> N \n") == "aer_banknote_<unk>_N"
    char_line = "a e r _ b a n k n o t e _ < u n k > _ N\n"
    assert ptb_char_dataset_builder.char_line_to_characters(char_line) == (
        "aer_banknote_<unk>_N"
    )


def test_manual_dir_examples_hold_joined_characters_in_file_order(tmp_path):
    builder = tfds.builder("ptb_char", data_dir=str(tmp_path))
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(
            manual_dir=str(_DUMMY_DATA / "manual")
        )
    )
    for split, name in (("test", "test"), ("train", "train")):
        texts = [ex["text"].decode() for ex in tfds.as_numpy(builder.as_dataset(split))]
        lines = (_DUMMY_DATA / "manual" / f"ptb.{name}.txt").read_text().splitlines()
        # File order matters: a stateful model reads the sentences as one stream.
        assert texts == [
            ptb_char_dataset_builder.word_line_to_characters(line) for line in lines
        ]
