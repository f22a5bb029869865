"""Tests for keras_rnncr.metrics.frame_nll."""

import math

import keras
import numpy as np
import pytest

from keras_rnncr.metrics import FrameNLL, frame_nll


def test_frame_nll_matches_hand_computed_value():
    # Frame [1, 0] with p = [0.8, 0.3]: -(ln 0.8 + ln 0.7).
    value = frame_nll([[1.0, 0.0]], [[0.8, 0.3]])
    np.testing.assert_allclose(value, [-(math.log(0.8) + math.log(0.7))], rtol=1e-6)


def test_frame_nll_from_logits_equals_probabilities():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 88)).astype("float32")
    y = (rng.random((2, 5, 88)) < 0.05).astype("float32")
    probabilities = 1.0 / (1.0 + np.exp(-logits))
    np.testing.assert_allclose(
        frame_nll(y, logits, from_logits=True),
        frame_nll(y, probabilities),
        rtol=1e-4,
    )


def test_metric_is_weighted_mean_over_valid_frames_across_batches():
    metric = FrameNLL()
    # Batch 1: two sequences of two frames, the last frame of the second is padding.
    y = np.array([[[1, 0], [0, 0]], [[1, 1], [0, 1]]], "float32")
    p = np.array([[[0.5, 0.5], [0.5, 0.5]], [[0.8, 0.8], [0.1, 0.9]]], "float32")
    metric.update_state(y, p, sample_weight=np.array([[1, 1], [1, 0]], "float32"))
    # Batch 2: one frame.
    metric.update_state([[[0, 0]]], [[[0.2, 0.2]]])
    expected = [
        2 * math.log(2),
        2 * math.log(2),
        -2 * math.log(0.8),
        -2 * math.log(0.8),
    ]
    np.testing.assert_allclose(metric.result(), np.mean(expected), rtol=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_metric_respects_keras_mask():
    inputs = keras.Input((3, 2))
    masked = keras.layers.Masking(mask_value=-1.0)(inputs)
    outputs = keras.layers.Dense(2, activation="sigmoid", kernel_initializer="zeros")(
        masked
    )
    model = keras.Model(inputs, outputs)
    model.compile(loss="binary_crossentropy", metrics=[FrameNLL()])
    x = np.zeros((1, 3, 2), "float32")
    x[0, 2] = -1.0  # last step masked out
    y = np.zeros((1, 3, 2), "float32")
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    np.testing.assert_allclose(result["frame_nll"], 2 * math.log(2), rtol=1e-5)


def test_get_config_holds_every_argument_and_round_trips():
    metric = FrameNLL(from_logits=True, name="nll", dtype="float64")
    config = metric.get_config()
    assert config == {"name": "nll", "dtype": "float64", "from_logits": True}
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(metric)
    )
    assert isinstance(restored, FrameNLL)
    assert restored.get_config() == config


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_keras_file_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    y = (rng.random((4, 6, 88)) < 0.1).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((6, 3)),
            keras.layers.SimpleRNN(8, return_sequences=True),
            keras.layers.Dense(88),
        ]
    )
    model.compile(
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[FrameNLL(from_logits=True)],
    )
    expected = model.evaluate(x, y, verbose=0, return_dict=True)["frame_nll"]
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    result = restored.evaluate(x, y, verbose=0, return_dict=True)["frame_nll"]
    np.testing.assert_allclose(result, expected, rtol=1e-6)


@pytest.mark.parametrize("from_logits", ["yes", 1, None])
def test_rejects_non_bool_from_logits(from_logits):
    message = r"Argument `from_logits` must be a bool \(True or False\)\. Received"
    with pytest.raises(ValueError, match=message):
        FrameNLL(from_logits=from_logits)
    with pytest.raises(ValueError, match=message):
        frame_nll([[1.0]], [[0.5]], from_logits=from_logits)


def test_weighted_metrics_receive_per_frame_sample_weight():
    model = keras.Sequential(
        [
            keras.Input((3, 2)),
            keras.layers.Dense(2, kernel_initializer="zeros", bias_initializer="ones"),
        ]
    )
    model.compile(loss="mse", weighted_metrics=[FrameNLL(from_logits=True)])
    x = np.zeros((2, 3, 2), "float32")
    y = np.array([[0, 0, 1], [0, 1, 1]], "float32")[..., None].repeat(2, axis=-1)
    weights = np.array([[1, 1, 0], [1, 0, 0]], "float32")  # weight 0 where y = 1
    result = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    softplus_one = math.log1p(math.e)  # -log(1 - sigmoid(1))
    np.testing.assert_allclose(result["frame_nll"], 2 * softplus_one, rtol=1e-5)
