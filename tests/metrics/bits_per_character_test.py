"""Tests for keras_rnncr.metrics.bits_per_character."""

import math

import keras
import numpy as np
import pytest

from keras_rnncr.metrics import BitsPerCharacter, bits_per_character


def test_bits_match_hand_computed_values():
    value = bits_per_character(
        [0, 1, 2], [[0.5, 0.5, 0.0], [0.75, 0.25, 0.0], [0.0, 0.0, 1.0]]
    )
    np.testing.assert_allclose(value, [1.0, 2.0, 0.0], atol=1e-6)


def test_from_logits_equals_probabilities():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 3.0]], "float32")
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    expected = -np.log2(probabilities[[0, 1], [2, 0]])
    np.testing.assert_allclose(
        bits_per_character([2, 0], logits, from_logits=True), expected, rtol=1e-5
    )
    np.testing.assert_allclose(
        bits_per_character([2, 0], probabilities), expected, rtol=1e-5
    )


def test_uniform_prediction_gives_log2_of_vocabulary_size():
    metric = BitsPerCharacter(from_logits=True)
    metric.update_state(np.zeros((2, 7), "int32"), np.zeros((2, 7, 50), "float32"))
    np.testing.assert_allclose(metric.result(), math.log2(50), rtol=1e-6)


def test_metric_is_weighted_mean_over_characters_across_batches():
    metric = BitsPerCharacter()
    probabilities = np.array([[[0.5, 0.5], [0.75, 0.25]]], "float32")
    metric.update_state([[0, 1]], probabilities, sample_weight=[[1.0, 0.0]])
    metric.update_state([[1, 1]], probabilities)
    np.testing.assert_allclose(metric.result(), (1.0 + 1.0 + 2.0) / 3, rtol=1e-6)


@pytest.mark.parametrize("batch, time", [(3, 3), (2, 5)])
def test_weights_with_a_trailing_axis_of_one_equal_flat_weights(batch, time):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, (batch, time))
    logits = rng.normal(size=(batch, time, 4)).astype("float32")
    weights = rng.random((batch, time)).astype("float32")
    flat, trailing = BitsPerCharacter(from_logits=True), BitsPerCharacter(True)
    flat.update_state(labels, logits, sample_weight=weights)
    trailing.update_state(labels, logits, sample_weight=weights[..., None])
    np.testing.assert_allclose(trailing.result(), flat.result(), rtol=1e-6)
    with pytest.raises(ValueError, match="`sample_weight` of bits_per_character"):
        trailing.update_state(labels, logits, sample_weight=np.ones((batch, time, 2)))


def test_get_config_holds_every_argument_and_round_trips():
    metric = BitsPerCharacter(from_logits=True, name="bpc", dtype="float64")
    config = metric.get_config()
    assert config == {"name": "bpc", "dtype": "float64", "from_logits": True}
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(metric)
    )
    assert isinstance(restored, BitsPerCharacter)
    assert restored.get_config() == config


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_keras_file_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 10, size=(4, 9))
    y = rng.integers(0, 10, size=(4, 9))
    model = keras.Sequential(
        [
            keras.Input((9,), dtype="int32"),
            keras.layers.Embedding(10, 4),
            keras.layers.SimpleRNN(8, return_sequences=True),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[BitsPerCharacter(from_logits=True)],
    )
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    result = restored.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(
        result["bits_per_character"], expected["bits_per_character"], rtol=1e-6
    )
    np.testing.assert_allclose(
        result["bits_per_character"], expected["loss"] / math.log(2), rtol=1e-5
    )


@pytest.mark.parametrize("from_logits", ["no", 0])
def test_rejects_non_bool_from_logits(from_logits):
    message = r"Argument `from_logits` must be a bool \(True or False\)\. Received"
    with pytest.raises(ValueError, match=message):
        BitsPerCharacter(from_logits=from_logits)
    with pytest.raises(ValueError, match=message):
        bits_per_character([0], [[1.0]], from_logits=from_logits)
