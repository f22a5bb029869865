"""Tests for the addition and multiplication generators."""

import numpy as np
import pytest

from keras_rnncr import tasks


@pytest.mark.parametrize("batch_fn", [tasks.addition_batch, tasks.multiplication_batch])
def test_batch_shapes_dtypes_and_layout(batch_fn):
    inputs, targets = batch_fn(100, 9, rng=0)
    assert inputs.dtype == np.float32 and targets.dtype == np.float32
    assert inputs.shape[0] == 9 and inputs.shape[2] == 2
    assert 100 <= inputs.shape[1] < 110
    assert targets.shape == (9, 1)
    np.testing.assert_array_equal(inputs[:, :, 0].sum(1), 2.0)
    assert set(np.unique(inputs[:, :, 0])) == {0.0, 1.0}
    assert inputs[:, :, 1].min() >= 0.0 and inputs[:, :, 1].max() < 1.0


def test_generated_length_adds_up_to_ten_percent():
    rng = np.random.default_rng(0)
    steps = {tasks.addition_batch(100, 1, rng)[0].shape[1] for _ in range(300)}
    assert steps == set(range(100, 110))


def _marked(inputs):
    marks = [np.flatnonzero(row) for row in inputs[:, :, 0]]
    positions = np.array(marks)
    rows = np.arange(len(inputs))[:, None]
    return positions, inputs[rows, positions, 1]


def test_addition_hand_worked_rule():
    inputs, targets = tasks.addition_batch(200, 2000, rng=1)
    steps = inputs.shape[1]
    positions, values = _marked(inputs)
    tenth, two_fifths = int(steps * 0.1), int(steps * 0.4)
    assert positions[:, 0].min() == 0 and positions[:, 0].max() == tenth - 1
    assert positions[:, 1].min() == tenth
    assert positions[:, 1].max() == tenth + two_fifths - 1
    np.testing.assert_allclose(targets[:, 0], (values[:, 0] + values[:, 1]) / 2)


def test_multiplication_hand_worked_rule():
    inputs, targets = tasks.multiplication_batch(30, 50, rng=2)
    positions, values = _marked(inputs)
    np.testing.assert_allclose(targets[:, 0], values[:, 0] * values[:, 1])
    # Hand-worked: the target of sequence 0 from its two marked values.
    a, b = inputs[0, positions[0], 1]
    assert targets[0, 0] == pytest.approx(a * b)


@pytest.mark.parametrize("batch_fn", [tasks.addition_batch, tasks.multiplication_batch])
def test_batch_rejects_short_length(batch_fn):
    with pytest.raises(ValueError, match=r"at least 10 .* Received: length=9"):
        batch_fn(9, 2)
