"""Tests for the random permutation generator."""

import numpy as np
import pytest

from keras_rnncr import tasks


def test_batch_shapes_and_target_is_first_symbol():
    inputs, targets = tasks.permutation_batch(80, 500, rng=0)
    assert inputs.shape == (500, 80, 100) and inputs.dtype == np.float32
    assert targets.shape == (500,) and targets.dtype == np.int32
    np.testing.assert_array_equal(inputs.sum(-1), 1.0)
    symbols = inputs.argmax(-1)
    np.testing.assert_array_equal(symbols[:, 0], targets)
    assert set(targets) == {0, 1}
    assert symbols[:, 1:].min() == 2 and symbols[:, 1:].max() == 99


def test_length_one_shows_only_the_first_symbol():
    inputs, targets = tasks.permutation_batch(1, 4, rng=1)
    assert inputs.shape == (4, 1, 100)
    np.testing.assert_array_equal(inputs[:, 0].argmax(-1), targets)


def test_batch_rejects_bad_length():
    with pytest.raises(ValueError, match=r"Received: length=0"):
        tasks.permutation_batch(0, 2)
