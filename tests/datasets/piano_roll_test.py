"""Tests for keras_rnncr.datasets._piano_roll."""

import numpy as np
import pytest

from keras_rnncr.datasets._piano_roll import pitches_to_roll


def test_columns_are_pitch_minus_21():
    roll = pitches_to_roll([(21, 60), (), [108]])
    assert roll.shape == (3, 88) and roll.dtype == np.bool_
    assert [np.flatnonzero(frame).tolist() for frame in roll] == [[0, 39], [], [87]]


@pytest.mark.parametrize("pitch", [20, 109])
def test_out_of_range_pitch_is_rejected(pitch):
    with pytest.raises(ValueError, match=rf"must lie in 21\.\.108.*pitch={pitch}"):
        pitches_to_roll([(60,), (pitch,)])
