"""Tests for `keras_rnncr.text.char_model` and `paper_settings`."""

import keras
import numpy as np
import pytest

from keras_rnncr import callbacks, optimizers, text


def test_paper_settings_rescale_the_summed_cost():
    settings = text.paper_settings("sgd-cr", ahead=1, segment_length=200)
    assert settings["learning_rate"] == pytest.approx(0.05 * 200)
    assert settings["threshold"] == pytest.approx(45 / 200)
    assert settings["omega"] == pytest.approx(0.01 / 200)
    assert not settings["omega_decay"]
    assert text.paper_settings("sgd-cr", ahead=5)["omega_decay"]
    assert text.paper_settings("sgd")["threshold"] is None


def test_mean_loss_with_rescaled_settings_equals_summed_cost_step():
    """One clipped step on the mean loss equals the paper's step on the sum."""
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    gradient = x * 3.0  # gradient of the summed cost for T = 4 steps ...
    mean_gradient = gradient / 4  # ... and of the mean over the 4 steps
    paper_lr, paper_threshold = 0.05, 1.0

    def clipped(g, threshold):
        norm = np.linalg.norm(g)
        return g * min(1.0, threshold / norm)

    paper_step = paper_lr * clipped(gradient, paper_threshold)
    ours = 4 * paper_lr * clipped(mean_gradient, paper_threshold / 4)
    np.testing.assert_allclose(ours, paper_step, rtol=1e-6)


def test_char_model_structure():
    model = text.char_model("sgd-cr", vocab_size=7, units=5, batch_size=3)
    assert model.output_shape == (3, None, 7)
    rnn = model.get_layer("rnn")
    assert rnn.stateful and not rnn.cell.use_bias
    assert rnn.cell.activation is keras.activations.sigmoid
    assert not model.get_layer("head").use_bias
    assert not model.get_layer("one_hot").trainable
    np.testing.assert_array_equal(
        model.get_layer("one_hot").embeddings.numpy(), np.eye(7)
    )
    assert rnn.omega == pytest.approx(0.01 / 200)
    assert isinstance(model.optimizer, optimizers.ClippedOptimizer)
    assert len(model.trainable_weights) == 3  # W_in, W_rec, W_out
    assert rnn.omega_backward == "stored"  # the faster pass at these sizes
    other = text.char_model("sgd-cr", 7, units=5, omega_backward="streaming")
    assert other.get_layer("rnn").omega_backward == "streaming"


def test_sgd_has_no_clipping_and_no_omega():
    model = text.char_model("sgd", vocab_size=4, units=3, stateful=False)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert model.get_layer("rnn").omega == 0.0
    assert float(model.optimizer.learning_rate) == pytest.approx(0.2)


def test_fit_reports_bits_per_character_and_saves():
    keras.utils.set_random_seed(0)
    ids = np.random.default_rng(0).integers(0, 6, 200)
    model = text.char_model(
        "sgd-cr", 6, units=4, batch_size=2, segment_length=10, seed=0
    )
    history = model.fit(
        text.stream_dataset(ids, 2, 10),
        epochs=2,
        verbose=0,
        callbacks=[text.ResetStreamStates()],
    )
    bpc = history.history["bits_per_character"]
    loss = history.history["loss"]
    np.testing.assert_allclose(np.asarray(bpc), np.asarray(loss) / np.log(2), 1e-4)
    assert "rnn_omega" in history.history


def test_keras_round_trip(tmp_path):
    model = text.char_model("sgd-c", 5, units=3, stateful=False, seed=1)
    x = np.array([[1, 2, 3, 4]], "int32")
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_allclose(
        restored.predict(x, verbose=0), model.predict(x, verbose=0)
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"method": "adam"}, r"Argument `method` must be one of \('sgd'"),
        ({"vocab_size": 0}, "Argument `vocab_size` must be a positive integer"),
        ({"units": 2.0}, "Argument `units` must be a positive integer"),
        ({"ahead": 0}, "Argument `ahead` must be a positive integer"),
        ({"batch_size": -1}, "Argument `batch_size` must be a positive integer"),
        ({"segment_length": 0}, "Argument `segment_length` must be a positive"),
        ({"learning_rate": -0.1}, "Argument `learning_rate` must be a positive"),
        ({"threshold": 0.0}, "Argument `threshold` must be a positive float or None"),
        ({"learning_rate": float("nan")}, "positive float or None. Received: lear"),
        ({"threshold": float("inf")}, "positive float or None. Received: thresh"),
        ({"omega": -1.0}, "Argument `omega` must be a non-negative float or None"),
        ({"omega": float("nan")}, "non-negative float or None. Received: omega=nan"),
        ({"units": True}, "Argument `units` must be a positive integer"),
        ({"omega_backward": "fast"}, "Argument `omega_backward` must be one of"),
        # Strings are true: "False" built a stateful model with biases.
        ({"stateful": "False"}, "Argument `stateful` must be a bool"),
        ({"use_bias": "False"}, "Argument `use_bias` must be a bool"),
        ({"jit_compile": "no"}, 'Argument `jit_compile` must be "auto", True or'),
    ],
)
def test_char_model_validation(kwargs, message):
    arguments = {"method": "sgd-cr", "vocab_size": 5}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        text.char_model(**arguments)


def test_paper_settings_validation():
    with pytest.raises(ValueError, match="The paper's settings exist for `ahead` 1"):
        text.paper_settings("sgd", ahead=3)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"segment_length": 0}, "segment_length"),
        ({"segment_length": -200}, "segment_length"),
        ({"segment_length": 2.5}, "segment_length"),
        ({"ahead": 5.0}, "ahead"),
        ({"ahead": True}, "ahead"),
    ],
)
def test_paper_settings_checks_its_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"Argument `{name}` must be a positive"):
        text.paper_settings("sgd-cr", **kwargs)


@pytest.mark.parametrize("ahead", [0, -5, 2.5])
def test_char_callbacks_checks_ahead(ahead):
    with pytest.raises(ValueError, match="Argument `ahead` must be a positive"):
        text.char_callbacks("sgd-cr", ahead=ahead)


def test_callbacks_name_omega_and_take_zero_as_the_models_do():
    from keras_rnncr import music

    for call in (
        lambda: music.music_callbacks("sgd-cr", omega=-1),
        lambda: text.char_callbacks("sgd-cr", ahead=5, omega=-1.0),
        lambda: text.char_callbacks("sgd-cr", ahead=1, omega="x"),
    ):
        with pytest.raises(ValueError, match="Argument `omega` must be a non-negative"):
            call()
    assert music.music_callbacks("sgd-cr", omega=0)
    assert text.char_callbacks("sgd-cr", ahead=5, omega=0)


@pytest.mark.parametrize("ahead, expected", [(1, 0.003), (5, 0.0)])
def test_char_callbacks_halving_margin_follows_ahead(ahead, expected):
    found = text.char_callbacks("sgd-cr", ahead=ahead, monitor="val_loss")
    halving = next(
        c for c in found if isinstance(c, callbacks.HalveLearningRateOnPlateau)
    )
    assert halving.min_delta == expected == text.MIN_IMPROVEMENT_AHEAD[ahead]
    given = text.char_callbacks(
        "sgd-cr", ahead=5, monitor="val_loss", min_improvement=0.01
    )
    assert next(c for c in given if hasattr(c, "min_delta")).min_delta == 0.01
