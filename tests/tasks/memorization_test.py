"""Tests for the noiseless memorization generator."""

import numpy as np
import pytest

from keras_rnncr import tasks


def test_hand_worked_layout():
    inputs, targets = tasks.memorization_batch(5, 4, rng=0, n_values=5, n_positions=3)
    assert inputs.shape == (4, 11, 7) and inputs.dtype == np.float32
    assert targets.shape == (4, 11) and targets.dtype == np.int32
    np.testing.assert_array_equal(inputs.sum(-1), 1.0)
    for row, target in zip(inputs.argmax(-1), targets, strict=True):
        pattern = list(row[:3])
        assert max(pattern) < 5
        # pattern | filler x5 (length) | go | filler x2
        assert list(row) == pattern + [5] * 5 + [6] + [5] * 2
        # blank until the go step, then the pattern (recall starts at go).
        assert list(target) == [5] * 8 + pattern


def test_default_sizes_and_pattern_statistics():
    inputs, targets = tasks.memorization_batch(50, 400, rng=1)
    assert inputs.shape == (400, 70, 7) and targets.shape == (400, 70)
    pattern = inputs[:, :10].argmax(-1)
    np.testing.assert_array_equal(targets[:, -10:], pattern)
    assert set(np.unique(pattern)) == set(range(5))
    assert (inputs[:, 60, 6] == 1).all() and inputs[:, :, 6].sum() == 400


@pytest.mark.parametrize("argument", ["n_values", "n_positions"])
def test_rejects_bad_options(argument):
    message = (
        rf"Argument `{argument}` must be a positive integer. Received: {argument}=0"
    )
    with pytest.raises(ValueError, match=message):
        tasks.memorization_batch(5, 2, **{argument: 0})
    with pytest.raises(ValueError, match=message):
        tasks.memorization(**{argument: 0})


def test_dataset_uses_options():
    dataset = tasks.memorization(
        min_length=20, max_length=20, batch_size=3, seed=0, n_values=2, n_positions=4
    )
    inputs, targets = next(iter(dataset))
    assert tuple(inputs.shape) == (3, 28, 4)
    assert tuple(targets.shape) == (3, 28)
