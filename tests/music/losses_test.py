"""Tests of FrameNLLLoss."""

import keras
import numpy as np
import pytest

from keras_rnncr import music


def test_mean_over_valid_frames_matches_hand_computation():
    y_true = np.array([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 1.0]]])
    y_pred = np.array([[[0.8, 0.1], [0.5, 0.5]], [[0.6, 0.7], [0.3, 0.9]]])
    weights = np.array([[1.0, 0.0], [1.0, 1.0]])  # frame (0, 1) is padding
    frames = [
        -np.log(0.8) - np.log(0.9),
        -np.log(0.6) - np.log(0.7),
        -np.log(0.7) - np.log(0.9),
    ]
    loss = music.FrameNLLLoss()(y_true, y_pred, sample_weight=weights)
    assert float(loss) == pytest.approx(np.mean(frames), rel=1e-5)


def test_logits_give_the_same_loss():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 88)).astype("float32")
    y_true = (rng.random((2, 3, 88)) < 0.1).astype("float32")
    probabilities = 1 / (1 + np.exp(-logits))
    assert float(music.FrameNLLLoss(from_logits=True)(y_true, logits)) == (
        pytest.approx(float(music.FrameNLLLoss()(y_true, probabilities)), rel=1e-4)
    )


def test_config_round_trip():
    loss = music.FrameNLLLoss(from_logits=True, name="nll")
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(clone, music.FrameNLLLoss)
    assert clone.get_config() == loss.get_config()
    assert clone.from_logits is True


def test_config_keeps_the_dtype():
    loss = music.FrameNLLLoss(dtype="float64")
    clone = music.FrameNLLLoss.from_config(loss.get_config())
    assert clone.dtype == "float64"


def test_a_weight_of_the_wrong_shape_is_named():
    y = np.zeros((2, 3, 4), "float32")
    with pytest.raises(
        ValueError, match=r"`sample_weight` must be .* Received: shape \(3,\)"
    ):
        music.FrameNLLLoss()(y, y + 0.5, sample_weight=np.ones(3))


def test_rejects_non_bool_from_logits():
    with pytest.raises(ValueError, match="Argument `from_logits` must be a bool"):
        music.FrameNLLLoss(from_logits=1)


def test_one_weight_per_sequence_weighs_its_frames():
    rng = np.random.default_rng(0)
    y_true = (rng.random((4, 5, 88)) < 0.1).astype("float32")
    y_pred = rng.uniform(0.05, 0.95, (4, 5, 88)).astype("float32")
    per_sequence = np.array([1.0, 0.0, 2.0, 1.0], "float32")
    loss = music.FrameNLLLoss()(y_true, y_pred, sample_weight=per_sequence)
    per_frame = np.repeat(per_sequence[:, None], 5, axis=1)
    expected = music.FrameNLLLoss()(y_true, y_pred, sample_weight=per_frame)
    assert float(loss) == pytest.approx(float(expected), rel=1e-6)
    column = music.FrameNLLLoss()(y_true, y_pred, sample_weight=per_sequence[:, None])
    assert float(column) == pytest.approx(float(expected), rel=1e-6)
    # and the model trains with them, as the FrameNLL metric takes them
    model = keras.Sequential([keras.Input((5, 88)), keras.layers.Dense(88, "sigmoid")])
    model.compile("sgd", music.FrameNLLLoss())
    model.fit(y_true, y_true, sample_weight=per_sequence, epochs=1, verbose=0)
