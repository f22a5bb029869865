"""Tests for the offline substitute corpora."""

import importlib.util
import sys

import numpy as np
import pytest

from keras_rnncr.datasets import load_offline_chorales, load_offline_text


def test_offline_text_splits_90_5_5_without_loss():
    from pydoc_data.topics import topics

    splits = load_offline_text()
    total = sum(len(text) for text in splits.values())
    assert "".join(splits.values()) == "\n\n".join(topics[k] for k in sorted(topics))
    assert len(splits["train"]) == int(total * 0.9)
    assert abs(len(splits["validation"]) - len(splits["test"])) <= 1
    assert total > 400_000


@pytest.mark.skipif(
    importlib.util.find_spec("music21") is None,
    reason="music21 is an optional extra (pip install keras_rnncr[music])",
)
def test_offline_chorales_are_88_key_rolls():
    splits = load_offline_chorales(num_chorales=4, frames_per_quarter=2)
    rolls = [roll for split in splits.values() for roll in split]
    assert len(rolls) == 4
    for roll in rolls:
        assert roll.dtype == np.bool_ and roll.shape[1] == 88
        assert 2 <= roll.sum(axis=1).mean() <= 4  # four voices, some in unison
        assert not roll[:, :15].any()  # nothing below C2 (MIDI 36)
    quarter = load_offline_chorales(num_chorales=4, frames_per_quarter=1)
    halved = [roll[::2] for split in splits.values() for roll in split]
    for roll, expected in zip(
        [r for split in quarter.values() for r in split], halved, strict=True
    ):
        np.testing.assert_array_equal(roll, expected)


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "3"])
def test_offline_chorales_rejects_bad_num_chorales(value):
    with pytest.raises(
        ValueError,
        match=r"Argument `num_chorales` must be a positive integer or None\. Received",
    ):
        load_offline_chorales(num_chorales=value)


@pytest.mark.parametrize("value", [0, 0.5, None])
def test_offline_chorales_rejects_bad_frames_per_quarter(value):
    with pytest.raises(
        ValueError,
        match=r"Argument `frames_per_quarter` must be a positive integer\. Received",
    ):
        load_offline_chorales(frames_per_quarter=value)


def test_offline_chorales_without_music21_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "music21", None)  # import music21 fails
    with pytest.raises(ImportError, match=r"pip install music21 .*-e '\.\[music\]'"):
        load_offline_chorales(num_chorales=1)
