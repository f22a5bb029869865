"""Tests of OmegaScheduler, InverseTimeOmega and SpectralRadiusLogger."""

import keras
import numpy as np
import pytest

import keras_rnncr


def _model():
    inputs = keras.Input((5, 2))
    h = keras.layers.Bidirectional(keras_rnncr.layers.SimpleRNN(3, omega=1.0))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile("sgd", "mse")
    return model


def test_inverse_time_schedule_values_and_config():
    schedule = keras_rnncr.callbacks.InverseTimeOmega(0.5)
    assert [schedule(e) for e in range(3)] == [0.5, 0.25, 0.5 / 3]
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(schedule)
    )
    assert clone.initial == 0.5


@pytest.mark.parametrize(
    "initial", [-1.0, "a", True, float("inf"), float("nan"), np.float32("inf")]
)
def test_inverse_time_rejects_bad_initial(initial):
    with pytest.raises(
        ValueError,
        match=r"Argument `initial` must be a non-negative float. Received: initial=",
    ):
        keras_rnncr.callbacks.InverseTimeOmega(initial)


def test_inverse_time_from_zero_stays_zero():
    # As a layer built with omega=0 takes it (music_model("sgd-cr", omega=0)).
    schedule = keras_rnncr.callbacks.InverseTimeOmega(0)
    assert [schedule(e) for e in range(3)] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("initial", [np.float32(0.5), np.int64(2)])
def test_inverse_time_takes_numpy_scalars(initial):
    schedule = keras_rnncr.callbacks.InverseTimeOmega(initial)
    assert type(schedule.initial) is float
    assert schedule(1) == pytest.approx(float(initial) / 2)


def test_scheduler_sets_every_omega_layer_and_logs_it():
    model = _model()
    x = np.random.default_rng(0).normal(size=(8, 5, 2)).astype("float32")
    y = np.zeros((8, 1), "float32")
    scheduler = keras_rnncr.callbacks.OmegaScheduler(
        keras_rnncr.callbacks.InverseTimeOmega(0.5)
    )
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[scheduler])
    layers = keras_rnncr.callbacks.omega_layers(model)
    assert len(layers) == 2
    assert all(layer.omega == pytest.approx(0.5 / 3) for layer in layers)
    key = f"{layers[0].name}_alpha"
    np.testing.assert_allclose(history.history[key], [0.5, 0.25, 0.5 / 3])


def test_scheduler_errors():
    with pytest.raises(TypeError, match="Argument `schedule` must be a callable"):
        keras_rnncr.callbacks.OmegaScheduler(0.5)
    inputs = keras.Input((3, 1))
    model = keras.Model(inputs, keras.layers.SimpleRNN(2)(inputs))
    model.compile("sgd", "mse")
    scheduler = keras_rnncr.callbacks.OmegaScheduler(lambda epoch: 1.0)
    with pytest.raises(ValueError, match="found no keras_rnncr Omega layer"):
        model.fit(
            np.zeros((2, 3, 1)), np.zeros((2, 2)), verbose=0, callbacks=[scheduler]
        )


@pytest.mark.parametrize("value", [True, "0.3", None, np.array([0.2]), -1.0])
def test_scheduler_refuses_what_omega_refuses(value):
    model = _model()
    scheduler = keras_rnncr.callbacks.OmegaScheduler(lambda epoch: value)
    with pytest.raises(ValueError, match=r"`schedule` must return .* for epoch 0"):
        model.fit(
            np.zeros((4, 5, 2), "float32"),
            np.zeros((4, 1), "float32"),
            verbose=0,
            callbacks=[scheduler],
        )


def test_scheduler_leaves_layers_built_at_zero_to_keras():
    # A layer built with omega=0 trains with Keras's code: the scheduler leaves
    # it at 0, and logs neither its alpha nor (the layer) its Omega.
    inputs = keras.Input((5, 2))
    plain = keras_rnncr.layers.SimpleRNN(3, return_sequences=True)
    regularized = keras_rnncr.layers.SimpleRNN(3, omega=1.0)
    model = keras.Model(inputs, keras.layers.Dense(1)(regularized(plain(inputs))))
    model.compile("sgd", "mse")
    x = np.random.default_rng(1).normal(size=(8, 5, 2)).astype("float32")
    scheduler = keras_rnncr.callbacks.OmegaScheduler(
        keras_rnncr.callbacks.InverseTimeOmega(0.5)
    )
    history = model.fit(
        x, np.zeros((8, 1)), epochs=2, verbose=0, callbacks=[scheduler]
    ).history
    assert plain.omega == 0.0 and regularized.omega == 0.25
    np.testing.assert_allclose(history[f"{regularized.name}_alpha"], [0.5, 0.25])
    assert f"{regularized.name}_omega" in history
    assert not [key for key in history if key.startswith(f"{plain.name}_")]


def test_scheduler_refuses_a_model_whose_omega_layers_were_built_at_zero():
    inputs = keras.Input((3, 1))
    model = keras.Model(inputs, keras_rnncr.layers.GRU(2)(inputs))
    model.compile("sgd", "mse")
    scheduler = keras_rnncr.callbacks.OmegaScheduler(lambda epoch: 1.0)
    message = (
        r"found no keras_rnncr Omega layer.*built with omega=0.*"
        r"omega=<alpha at the first epoch> or omega_metrics=True"
    )
    with pytest.raises(ValueError, match=message):
        model.fit(
            np.zeros((2, 3, 1)), np.zeros((2, 2)), verbose=0, callbacks=[scheduler]
        )


@pytest.mark.parametrize(
    "layers, message",
    [
        ("rnn", "must be None or a non-empty list"),
        ([], "must be None or a non-empty list"),
        ([keras.layers.SimpleRNN(2, name="plain")], "'plain' is a SimpleRNN"),
        ([keras.layers.Dense(2, name="dense")], "'dense' is a Dense"),
        (
            [keras_rnncr.layers.SimpleRNN(2, name="zero")],
            "'zero' was built with omega=0",
        ),
    ],
)
def test_scheduler_checks_layers_when_built(layers, message):
    with pytest.raises(ValueError, match=f"Argument `layers`.*{message}"):
        keras_rnncr.callbacks.OmegaScheduler(lambda epoch: 1.0, layers=layers)


def test_scheduler_schedules_the_layers_it_is_given():
    layer = keras_rnncr.layers.SimpleRNN(2, omega=1.0)
    scheduler = keras_rnncr.callbacks.OmegaScheduler(lambda e: 2.0, layers=(layer,))
    scheduler.on_epoch_begin(0)
    assert layer.omega == 2.0


def test_spectral_radius_logger():
    model = _model()
    x = np.zeros((4, 5, 2), "float32")
    history = model.fit(
        x,
        np.zeros((4, 1)),
        verbose=0,
        callbacks=[keras_rnncr.callbacks.SpectralRadiusLogger()],
    )
    layer = model.layers[1].forward_layer
    expected = np.abs(np.linalg.eigvals(layer.cell.recurrent_kernel.numpy())).max()
    np.testing.assert_allclose(
        history.history[f"{layer.name}_spectral_radius"][0], expected, rtol=1e-6
    )


def test_spectral_radii_of_stacked_cells_and_none_for_convolution_kernels():
    stacked = keras.Sequential(
        [
            keras.Input((5, 3)),
            keras.layers.RNN(
                [keras.layers.SimpleRNNCell(4), keras.layers.SimpleRNNCell(3)],
                name="stacked",
            ),
        ]
    )
    radii = keras_rnncr.callbacks.recurrent_spectral_radii(stacked)
    cells = stacked.layers[0].cell.cells
    assert sorted(radii) == [
        "stacked_cell0_spectral_radius",
        "stacked_cell1_spectral_radius",
    ]
    for i, cell in enumerate(cells):
        expected = np.abs(np.linalg.eigvals(cell.recurrent_kernel.numpy())).max()
        np.testing.assert_allclose(
            radii[f"stacked_cell{i}_spectral_radius"], expected, rtol=1e-6
        )
    # ConvLSTM2D's 4-D kernel: left out (it crashed the callback at epoch end).
    conv = keras.Sequential(
        [keras.Input((3, 6, 6, 1)), keras.layers.ConvLSTM2D(2, 3, name="conv")]
    )
    assert keras_rnncr.callbacks.recurrent_spectral_radii(conv) == {}
