"""Tests for `keras_rnncr.text.load_char_corpus`."""

import pytest

from keras_rnncr import text
from tests.dummy_data import dummy_data

DUMMY = dummy_data("ptb_char") / "manual"


def test_offline_corpus_has_three_splits():
    corpus = text.load_char_corpus("offline")
    assert set(corpus) == {"train", "validation", "test"}
    assert len(corpus["train"]) > 10 * len(corpus["test"]) > 0


def test_ptb_sentences_end_with_newline(tmp_path):
    corpus = text.load_char_corpus("ptb", data_dir=str(tmp_path), manual_dir=DUMMY)
    lines = (DUMMY / "ptb.valid.txt").read_text().splitlines()
    expected = {"_".join(line.split()) for line in lines if line.split()}
    assert set(corpus["validation"].splitlines()) == expected
    assert corpus["validation"].endswith("\n") and " " not in corpus["train"]


def test_unknown_corpus_raises():
    with pytest.raises(ValueError, match=r"Argument `name` must be one of \('ptb'"):
        text.load_char_corpus("wiki")
