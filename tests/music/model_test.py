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
    assert rnn.omega_backward == "stored"  # the faster pass at these sizes
    with pytest.raises(ValueError, match="Argument `omega_backward` must be one"):
        music.music_model("sgd", units=3, omega_backward="fast")


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
        "sgd": ["HalveLearningRateOnPlateau"],
        "sgd-c": ["HalveLearningRateOnPlateau", "ClippingLogger"],
        "sgd-cr": ["HalveLearningRateOnPlateau", "OmegaScheduler", "ClippingLogger"],
    }
    halving = music.music_callbacks("sgd")[0]
    assert (halving.monitor, halving.patience) == ("val_frame_nll", music.PATIENCE)
    assert halving.max_halvings == music.MAX_HALVINGS
    assert not halving.stop_when_exhausted
    halving = music.music_callbacks(
        "sgd", monitor="loss", patience=2, max_halvings=1, stop_when_exhausted=True
    )[0]
    assert (halving.monitor, halving.patience, halving.max_halvings) == ("loss", 2, 1)
    assert halving.stop_when_exhausted


def test_default_schedule_keeps_the_rate_while_the_model_learns():
    # Issue 14: the validation NLL (and the epoch's training error) of a
    # Nottingham run falls from 6.95 to 4.27 nats in 41 epochs with short
    # rises; the schedule must not halve the learning rate meanwhile.
    validation = [6.95, 6.587, 6.091, 5.574, 5.473, 5.233, 5.027, 5.121, 4.94]
    validation += [4.879, 4.798, 4.731, 4.723, 4.641, 4.647, 4.595, 4.546, 4.547]
    validation += [4.539, 4.518, 4.462, 4.459, 4.45, 4.418, 4.439, 4.457, 4.392]
    validation += [4.393, 4.359, 4.413, 4.359, 4.372, 4.322, 4.313, 4.355, 4.295]
    validation += [4.292, 4.301, 4.286, 4.268, 4.305]
    model = music.music_model("sgd", units=4, learning_rate=1.0, seed=0)
    halving = music.music_callbacks("sgd")[0]
    halving.set_model(model)
    for epoch, value in enumerate(validation):
        logs = {"loss": value, "frame_nll": value, "val_frame_nll": value}
        halving.on_epoch_end(epoch, logs)
    assert logs["learning_rate"] == 1.0
    # A flat validation NLL afterwards is a plateau: the rate is halved.
    for epoch in range(len(validation), len(validation) + music.PATIENCE):
        logs = {"val_frame_nll": 4.3}
        halving.on_epoch_end(epoch, logs)
    assert logs["learning_rate"] == 0.5


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


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": 2.5}, "Argument `units` must be a positive integer"),
        ({"num_keys": 0}, "Argument `num_keys` must be a positive integer"),
        ({"learning_rate": float("nan")}, "Argument `learning_rate` must be"),
        ({"learning_rate": -1.0}, "Argument `learning_rate` must be"),
    ],
)
def test_rejects_bad_numbers(kwargs, message):
    with pytest.raises(ValueError, match=message):
        music.music_model("sgd-cr", **kwargs)


def test_paper_settings():
    assert music.PAPER_SETTINGS["muse_data"] == {
        "units": 400,
        "learning_rate": 0.5,
        "omega": 0.1,
    }
    assert music.PAPER_SETTINGS["nottingham"]["units"] == 300
    assert set(music.PAPER_SETTINGS) == set(music.DATASETS)
