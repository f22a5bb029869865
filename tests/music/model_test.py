"""Tests of music_model and music_callbacks."""

import keras
import numpy as np
import pytest

import keras_rnncr
from keras_rnncr import music


def _data(seed=0):
    rng = np.random.default_rng(seed)
    rolls = [rng.random((int(rng.integers(3, 12)), 88)) < 0.05 for _ in range(6)]
    return music.next_frame_dataset(rolls, batch_size=3, shuffle=True, seed=seed)


def test_paper_architecture_and_initialisation():
    model = music.music_model("sgd", units=300, seed=0)
    rnn, head = model.get_layer("rnn"), model.get_layer("head")
    assert rnn.units == 300 and head.units == 88
    assert rnn.cell.activation is keras.activations.sigmoid
    assert head.activation is keras.activations.sigmoid
    for weights in (rnn.cell.kernel, rnn.cell.recurrent_kernel, head.kernel):
        assert np.std(keras.ops.convert_to_numpy(weights)) == pytest.approx(0.01, 0.05)
    assert model.output_shape == (None, None, 88)


@pytest.mark.parametrize(
    "method, clipped, omega",
    [("sgd", False, 0.0), ("sgd-c", True, 0.0), ("sgd-cr", True, 0.3)],
)
def test_method_selects_clipping_and_omega(method, clipped, omega):
    model = music.music_model(method, units=4, learning_rate=0.5, omega=0.3)
    optimizer = model.optimizer
    assert isinstance(optimizer, keras_rnncr.optimizers.ClippedOptimizer) == clipped
    if clipped:
        assert optimizer.get_config()["threshold"] == 8.0
        assert optimizer.get_config()["nonfinite"] == "shrink"
    assert float(optimizer.learning_rate) == 0.5
    assert model.get_layer("rnn").omega == pytest.approx(omega)


def test_fit_with_callbacks_schedules_alpha_and_logs():
    keras.utils.set_random_seed(0)
    model = music.music_model("sgd-cr", units=8, omega=0.5, seed=0)
    callbacks = music.music_callbacks("sgd-cr", omega=0.5)
    history = model.fit(
        _data(), validation_data=_data(1), epochs=2, verbose=0, callbacks=callbacks
    ).history
    assert history["rnn_alpha"] == [0.5, 0.25]
    for key in ("loss", "frame_nll", "val_frame_nll", "grad_norm", "learning_rate"):
        assert len(history[key]) == 2 and np.all(np.isfinite(history[key]))
    # The weighted metric and the loss agree on the same padded batches.
    result = model.evaluate(_data(1), verbose=0, return_dict=True)
    assert result["frame_nll"] == pytest.approx(history["val_frame_nll"][-1], 1e-5)


def test_callbacks_per_method():
    kinds = {
        method: [type(c).__name__ for c in music.music_callbacks(method)]
        for method in music.METHODS
    }
    assert kinds == {
        "sgd": ["HalveLearningRateOnIncrease"],
        "sgd-c": ["HalveLearningRateOnIncrease", "ClippingLogger"],
        "sgd-cr": ["HalveLearningRateOnIncrease", "OmegaScheduler", "ClippingLogger"],
    }
    assert music.music_callbacks("sgd", monitor="val_loss")[0].monitor == "val_loss"


def test_keras_round_trip_and_export(tmp_path):
    model = music.music_model("sgd-cr", units=5, seed=1)
    model.fit(_data(), epochs=1, verbose=0)
    x = np.random.default_rng(2).random((2, 7, 88)).astype("float32")
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "model.keras")
    clone = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(clone.predict(x, verbose=0), expected, rtol=1e-6)
    assert isinstance(clone.loss, music.FrameNLLLoss)
    model.export(tmp_path / "saved", verbose=False)
    import tensorflow as tf

    served = tf.saved_model.load(str(tmp_path / "saved"))
    np.testing.assert_allclose(served.serve(x), expected, rtol=1e-5, atol=1e-6)


def test_rejects_unknown_method():
    with pytest.raises(ValueError, match="Argument `method` must be one of"):
        music.music_model("adam")
    with pytest.raises(ValueError, match="Argument `method` must be one of"):
        music.music_callbacks("sgd-x")


def test_paper_settings():
    assert music.PAPER_SETTINGS["muse_data"] == {
        "units": 400,
        "learning_rate": 0.5,
        "omega": 0.1,
    }
    assert music.PAPER_SETTINGS["nottingham"]["units"] == 300
    assert set(music.PAPER_SETTINGS) == set(music.DATASETS)
