"""Tests for the 2-bit and 3-bit temporal order generators and datasets."""

import numpy as np
import pytest

from keras_rnncr import tasks


def _markers(inputs):
    """Positions and values of the A/B symbols, one row per sequence."""
    symbols = inputs.argmax(-1)
    positions = [np.flatnonzero(row < 2) for row in symbols]
    values = [row[pos] for row, pos in zip(symbols, positions, strict=True)]
    return np.array(positions), np.array(values)


def test_batch_shapes_dtypes_and_one_hot():
    inputs, targets = tasks.temporal_order_batch(60, 7, rng=0)
    assert inputs.shape == (7, 60, 6) and inputs.dtype == np.float32
    assert targets.shape == (7,) and targets.dtype == np.int32
    np.testing.assert_array_equal(inputs.sum(-1), 1.0)
    assert set(np.unique(inputs)) == {0.0, 1.0}


def test_two_bit_positions_and_class_rule():
    # length 50: span = 5, p0 in [5, 10), p1 in [25, 30).
    inputs, targets = tasks.temporal_order_batch(50, 2000, rng=1)
    positions, values = _markers(inputs)
    assert positions.shape == (2000, 2)
    assert positions[:, 0].min() == 5 and positions[:, 0].max() == 9
    assert positions[:, 1].min() == 25 and positions[:, 1].max() == 29
    np.testing.assert_array_equal(targets, values[:, 0] + 2 * values[:, 1])
    assert set(targets) == {0, 1, 2, 3}
    # Distractors c-f are all used.
    assert set(np.unique(inputs.argmax(-1))) == set(range(6))


def test_two_bit_hand_worked_example():
    inputs, targets = tasks.temporal_order_batch(20, 50, rng=3)
    for row, target in zip(inputs.argmax(-1), targets, strict=True):
        # length 20: span 2, p0 in {2, 3}, p1 in {10, 11}; AA=0, BA=1, AB=2, BB=3.
        first = row[2] if row[2] < 2 else row[3]
        second = row[10] if row[10] < 2 else row[11]
        assert target == {(0, 0): 0, (1, 0): 1, (0, 1): 2, (1, 1): 3}[first, second]
        assert (row[[0, 1, 4, 5, 6, 7, 8, 9, 12, 13, 19]] >= 2).all()


def test_three_bit_positions_and_class_rule():
    # length 100: windows [10, 20), [30, 40), [60, 70).
    inputs, targets = tasks.temporal_order_3bit_batch(100, 3000, rng=2)
    positions, values = _markers(inputs)
    assert positions.shape == (3000, 3)
    for column, (low, high) in enumerate([(10, 19), (30, 39), (60, 69)]):
        assert positions[:, column].min() == low
        assert positions[:, column].max() == high
    expected = values[:, 0] + 2 * values[:, 1] + 4 * values[:, 2]
    np.testing.assert_array_equal(targets, expected)
    assert set(targets) == set(range(8))


def test_batch_is_deterministic_given_seed():
    first = tasks.temporal_order_batch(40, 5, rng=7)
    second = tasks.temporal_order_batch(40, 5, rng=np.random.default_rng(7))
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "batch_fn", [tasks.temporal_order_batch, tasks.temporal_order_3bit_batch]
)
def test_batch_rejects_bad_arguments(batch_fn):
    with pytest.raises(ValueError, match=r"`length` must be at least 10 .* length=9"):
        batch_fn(9, 2)
    with pytest.raises(ValueError, match=r"positive integer. Received: length=0"):
        batch_fn(0, 2)
    with pytest.raises(ValueError, match=r"Received: batch_size=0"):
        batch_fn(20, 0)


@pytest.mark.parametrize(
    "dataset_fn", [tasks.temporal_order, tasks.temporal_order_3bit]
)
def test_dataset_rejects_too_short_min_length(dataset_fn):
    with pytest.raises(
        ValueError,
        match=r"Argument `min_length` must be at least 10 for the .*temporal order "
        r"task.* Received: min_length=5",
    ):
        dataset_fn(min_length=5)
