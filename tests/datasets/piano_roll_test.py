"""Tests for keras_rnncr.datasets._piano_roll."""

import numpy as np
import pytest

from keras_rnncr.datasets._piano_roll import describe, pitches_to_roll


def test_columns_are_pitch_minus_21():
    roll = pitches_to_roll([(21, 60), (), [108]])
    assert roll.shape == (3, 88) and roll.dtype == np.bool_
    assert [np.flatnonzero(frame).tolist() for frame in roll] == [[0, 39], [], [87]]


@pytest.mark.parametrize("pitch", [20, 109])
def test_out_of_range_pitch_is_rejected(pitch):
    with pytest.raises(ValueError, match=rf"must lie in 21\.\.108.*pitch={pitch}"):
        pitches_to_roll([(60,), (pitch,)])


@pytest.mark.parametrize(
    "frames, message",
    [
        ("C E G", r"A piece must be a list or tuple of frames\. Received: a str\."),
        ([(60,), 64], r"Each frame must be .* Received: an int in frame 1\."),
        ([(60.0,)], r"must be ints .* Received: pitch=60\.0 in frame 0\."),
        ([(60,), ("61",)], r"must be ints .* Received: pitch='61' in frame 1\."),
        ([(True,)], r"must be ints .* Received: pitch=True in frame 0\."),
    ],
)
def test_malformed_frames_are_rejected(frames, message):
    with pytest.raises(ValueError, match=message):
        pitches_to_roll(frames)


def test_numpy_integer_pitches_and_sets_are_accepted():
    roll = pitches_to_roll([{np.int64(60), np.uint8(64)}, frozenset()])
    assert [np.flatnonzero(frame).tolist() for frame in roll] == [[39, 43], []]


def test_describe_names_type_and_size_not_content():
    assert describe([1, 2, 3]) == "a list of 3 items"
    assert describe({"a": 1}) == "a dict of 1 item"
    assert describe(np.zeros((5, 88), np.uint8)) == "a uint8 array of shape (5, 88)"
    assert describe(7) == "an int" and describe(None) == "None"
