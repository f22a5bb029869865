"""Tests for the stream pipeline and state resets of `keras_rnncr.text`."""

import keras
import numpy as np
import pytest

from keras_rnncr import text


def _segments_of_stream(inputs, batch_size, stream):
    return inputs[stream::batch_size]


@pytest.mark.parametrize("ahead", [1, 5])
def test_segment_i_plus_1_continues_segment_i(ahead):
    ids = np.arange(1000)
    inputs, targets, weights = text.stream_segments(ids, 4, 7, ahead=ahead)
    assert inputs.shape == targets.shape == weights.shape
    assert inputs.shape[1] == 7 and inputs.shape[0] % 4 == 0
    assert weights.min() == 1.0
    for stream in range(4):
        rows = _segments_of_stream(inputs, 4, stream)
        joined = rows.reshape(-1)
        # consecutive ids: each segment starts where the previous one stopped
        np.testing.assert_array_equal(np.diff(joined), 1)
        assert joined[0] == stream * ((1000 - ahead) // 4)


def test_targets_next_character():
    ids = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5])
    inputs, targets, _ = text.stream_segments(ids, 1, 5, ahead=1)
    np.testing.assert_array_equal(inputs[0], [3, 1, 4, 1, 5])
    np.testing.assert_array_equal(targets[0], [1, 4, 1, 5, 9])
    np.testing.assert_array_equal(targets[1], [2, 6, 5, 3, 5])


def test_targets_fifth_character_ahead():
    ids = np.arange(100, 140)
    inputs, targets, _ = text.stream_segments(ids, 2, 5, ahead=5)
    # input c_t is scored on c_{t+5} (paper §4.2), nothing in between
    np.testing.assert_array_equal(targets, inputs + 5)
    assert inputs[0, 0] == 100 and targets[0, 0] == 105
    assert inputs[1, 0] == 100 + (40 - 5) // 2


def test_padding_keeps_every_character_once():
    ids = np.arange(1, 24)
    inputs, targets, weights = text.stream_segments(
        ids, 2, 4, ahead=1, drop_remainder=False
    )
    scored = np.sort(targets[weights == 1])
    np.testing.assert_array_equal(scored, np.arange(2, 24))
    assert np.all(inputs[weights == 0] == 0)


def test_dataset_batches_follow_streams():
    ids = np.arange(50)
    dataset = text.stream_dataset(ids, 2, 3)
    batches = [x.numpy() for x, _ in dataset]
    for previous, current in zip(batches, batches[1:]):
        np.testing.assert_array_equal(current[:, 0], previous[:, -1] + 1)
    x, y, w = next(iter(text.stream_dataset(ids, 2, 3, drop_remainder=False)))
    assert w.shape == (2, 3)


@pytest.mark.parametrize("drop_remainder", [True, False])
def test_dataset_batches_have_a_static_size_and_keep_every_row(drop_remainder):
    ids = np.arange(57)
    dataset = text.stream_dataset(ids, 3, 4, drop_remainder=drop_remainder)
    assert all(spec.shape[0] == 3 for spec in dataset.element_spec)
    inputs = text.stream_segments(ids, 3, 4, drop_remainder=drop_remainder)[0]
    batched = np.concatenate([batch[0].numpy() for batch in dataset])
    np.testing.assert_array_equal(batched, inputs)


def test_a_single_stream_trains_and_evaluates():
    # Keras's stateful loop fails on a batch of one whose size is unknown at
    # trace time; the pipeline's batches have a static size.
    ids = np.random.default_rng(0).integers(0, 7, size=57).astype("int32")
    model = text.char_model("sgd-cr", 7, units=5, batch_size=1, seed=0)
    model.fit(text.stream_dataset(ids, 1, 10), verbose=0)
    bits = text.evaluate_bits_per_character(model, ids, batch_size=1, segment_length=10)
    assert np.isfinite(bits)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": 0}, "Argument `batch_size` must be a positive integer"),
        ({"segment_length": 2.5}, "Argument `segment_length` must be a positive"),
        ({"ahead": 0}, "Argument `ahead` must be a positive integer"),
        ({"ids": np.zeros((2, 3), int)}, "Argument `ids` must be a 1-D array"),
        ({"ids": np.arange(10), "batch_size": 4}, "is too short for one batch"),
    ],
)
def test_validation(kwargs, message):
    arguments = {"ids": np.arange(100), "batch_size": 2, "segment_length": 5}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        text.stream_segments(**arguments)


def test_no_target_ahead_raises():
    with pytest.raises(ValueError, match="has no character 5 steps ahead"):
        text.stream_segments(np.arange(5), 1, 2, ahead=5, drop_remainder=False)


def test_stateful_segments_equal_one_long_sequence():
    """Carrying the state over segments gives the outputs of the whole stream."""
    keras.utils.set_random_seed(0)
    stateful = text.char_model("sgd", 9, units=6, batch_size=2, segment_length=4)
    stateless = text.char_model("sgd", 9, units=6, stateful=False)
    stateless.set_weights(stateful.get_weights())
    ids = np.random.default_rng(0).integers(0, 9, 41)
    inputs, _, _ = text.stream_segments(ids, 2, 4)
    text.reset_stream_states(stateful)
    pieces = [
        stateful.predict_on_batch(inputs[i : i + 2]) for i in range(0, len(inputs), 2)
    ]
    streams = np.stack([inputs[b::2].reshape(-1) for b in range(2)])
    whole = stateless.predict_on_batch(streams)
    carried = np.concatenate(pieces, axis=1)
    np.testing.assert_allclose(carried, whole, atol=1e-5)


def test_reset_stream_states_callback_zeroes_state():
    model = text.char_model("sgd", 5, units=3, batch_size=2)
    model.predict_on_batch(np.ones((2, 4), "int32"))
    (layer,) = text.stateful_layers(model)
    assert np.abs(layer.states[0].numpy()).sum() > 0
    callback = text.ResetStreamStates()
    callback.set_model(model)
    for hook in ("on_epoch_begin", "on_test_begin", "on_predict_begin"):
        model.predict_on_batch(np.ones((2, 4), "int32"))
        assert np.abs(layer.states[0].numpy()).sum() > 0
        getattr(callback, hook)(*([0] if hook == "on_epoch_begin" else []))
        np.testing.assert_array_equal(layer.states[0].numpy(), 0.0)


def test_ahead_beyond_the_text_is_refused_when_dropping_the_remainder():
    with pytest.raises(ValueError, match="too short for one batch"):
        text.stream_segments(np.arange(3), 1, 2, ahead=5, drop_remainder=True)
    with pytest.raises(ValueError, match="has no character 5 steps ahead"):
        text.stream_segments(np.arange(3), 1, 2, ahead=5, drop_remainder=False)


def test_drop_remainder_must_be_a_bool():
    with pytest.raises(ValueError, match="Argument `drop_remainder` must be a bool"):
        text.stream_segments(np.arange(30), 2, 5, drop_remainder="no")
    inputs, _, _ = text.stream_segments(np.arange(30), 2, 5, drop_remainder=np.False_)
    assert inputs.shape == (6, 5)


def test_reset_stream_states_deserialises():
    callback = text.ResetStreamStates()
    config = keras.saving.serialize_keras_object(callback)
    assert isinstance(
        keras.saving.deserialize_keras_object(config), text.ResetStreamStates
    )
