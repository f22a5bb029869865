"""Contract tests shared by every task's endless `tf.data` dataset."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from keras_rnncr import tasks

# task name -> (input channels, target shape after the batch axis, target dtype)
EXPECTED = {
    "temporal_order": (6, (), tf.int32),
    "temporal_order_3bit": (6, (), tf.int32),
    "addition": (2, (1,), tf.float32),
    "multiplication": (2, (1,), tf.float32),
    "permutation": (100, (), tf.int32),
    "memorization": (7, ("time",), tf.int32),
}


def _take(dataset, count):
    return [(x.numpy(), y.numpy()) for x, y in itertools.islice(dataset, count)]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shapes_and_dtypes(name):
    channels, target_tail, target_dtype = EXPECTED[name]
    dataset = tasks.get_task(name).dataset_fn(batch_size=3, seed=0)
    inputs_spec, targets_spec = dataset.element_spec
    assert inputs_spec.shape.as_list() == [3, None, channels]
    assert inputs_spec.dtype == tf.float32 and targets_spec.dtype == target_dtype
    for inputs, targets in _take(dataset, 2):
        assert inputs.shape[0] == 3 and inputs.shape[2] == channels
        tail = tuple(inputs.shape[1] if d == "time" else d for d in target_tail)
        assert targets.shape == (3,) + tail


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_seed_same_data_other_seed_other_data(name):
    dataset_fn = tasks.get_task(name).dataset_fn
    first = _take(dataset_fn(batch_size=2, seed=5), 3)
    again = _take(dataset_fn(batch_size=2, seed=5, num_parallel_calls=3), 3)
    other = _take(dataset_fn(batch_size=2, seed=6), 3)
    for (x1, y1), (x2, y2) in zip(first, again, strict=True):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    assert any(
        x1.shape != x3.shape or not np.array_equal(x1, x3)
        for (x1, _), (x3, _) in zip(first, other, strict=True)
    )


def test_unseeded_datasets_differ():
    first = _take(tasks.permutation(batch_size=2), 2)
    second = _take(tasks.permutation(batch_size=2), 2)
    assert any(
        a.shape != b.shape or not np.array_equal(a, b)
        for (a, _), (b, _) in zip(first, second, strict=True)
    )


def test_lengths_follow_the_released_code():
    # L = min_length + randint(max_length - min_length): max_length excluded.
    dataset = tasks.temporal_order(min_length=20, max_length=23, batch_size=1, seed=0)
    lengths = {x.shape[1] for x, _ in _take(dataset, 60)}
    assert lengths == {20, 21, 22}


def test_equal_min_and_max_length_give_that_length():
    dataset = tasks.permutation(min_length=30, max_length=30, batch_size=2, seed=0)
    assert {x.shape[1] for x, _ in _take(dataset, 5)} == {30}


def test_addition_and_memorization_lengths():
    dataset = tasks.addition(min_length=100, max_length=100, batch_size=1, seed=0)
    assert all(100 <= x.shape[1] < 110 for x, _ in _take(dataset, 20))
    dataset = tasks.memorization(min_length=50, max_length=50, batch_size=1, seed=0)
    assert {x.shape[1] for x, _ in _take(dataset, 3)} == {70}


def test_dataset_trains_a_keras_model():
    import keras

    model = keras.Sequential(
        [keras.Input((None, 6)), keras.layers.SimpleRNN(4), keras.layers.Dense(4)]
    )
    model.compile(
        "sgd",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[tasks.SequenceErrorRate()],
    )
    dataset = tasks.temporal_order(min_length=10, max_length=15, batch_size=4, seed=0)
    history = model.fit(dataset, steps_per_epoch=3, verbose=0, shuffle=False)
    assert 0.0 <= history.history["sequence_error_rate"][0] <= 1.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"min_length": 0},
            "Argument `min_length` must be a positive integer. Received: min_length=0",
        ),
        (
            {"min_length": 2.5},
            "Argument `min_length` must be a positive integer. "
            "Received: min_length=2.5",
        ),
        (
            {"max_length": 0},
            "Argument `max_length` must be a positive integer. Received: max_length=0",
        ),
        (
            {"min_length": 60, "max_length": 50},
            "Argument `max_length` must be greater than or equal to `min_length`. "
            "Received: max_length=50, min_length=60",
        ),
        (
            {"batch_size": 0},
            "Argument `batch_size` must be a positive integer. Received: batch_size=0",
        ),
        (
            {"batch_size": True},
            "Argument `batch_size` must be a positive integer. "
            "Received: batch_size=True",
        ),
        (
            {"seed": -1},
            "Argument `seed` must be a non-negative integer or None. Received: seed=-1",
        ),
        (
            {"num_parallel_calls": 0},
            "Argument `num_parallel_calls` must be a positive integer or "
            "`tf.data.AUTOTUNE`. "
            "Received: num_parallel_calls=0",
        ),
        (
            {"prefetch_buffer_size": -5},
            "Argument `prefetch_buffer_size` must be a non-negative integer or "
            "`tf.data.AUTOTUNE`. Received: prefetch_buffer_size=-5",
        ),
    ],
)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_rejects_bad_arguments(name, kwargs, message):
    with pytest.raises(ValueError) as error:
        tasks.get_task(name).dataset_fn(**kwargs)
    assert str(error.value) == message


def test_numpy_pipeline_knobs():
    data = tasks.temporal_order(
        batch_size=2,
        min_length=20,
        max_length=21,
        seed=0,
        num_parallel_calls=np.int64(2),
        prefetch_buffer_size=np.int64(1),
    )
    assert next(iter(data))[0].shape == (2, 20, 6)
    with pytest.raises(ValueError, match="`prefetch_buffer_size` must be"):
        tasks.temporal_order(min_length=20, seed=0, prefetch_buffer_size=-1.0)
