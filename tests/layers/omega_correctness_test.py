"""One SGD-CR step of the Omega layers against an independent float64 reference."""

import keras
import numpy as np
import pytest

import keras_rnncr
from tests.layers import omega_reference as ref

BATCH, STEPS, FEATURES, UNITS, CLASSES = 4, 7, 3, 5, 3
ALPHA, LEARNING_RATE = 2.0, 0.1

CELLS = {
    "simple_tanh": (
        lambda: keras_rnncr.layers.SimpleRNN(
            UNITS, activation="tanh", omega=ALPHA, dtype="float64"
        ),
        ref.simple_step("tanh"),
        1,
        True,
    ),
    "simple_sigmoid": (
        lambda: keras_rnncr.layers.SimpleRNN(
            UNITS, activation="sigmoid", omega=ALPHA, dtype="float64"
        ),
        ref.simple_step("sigmoid"),
        1,
        True,
    ),
    "simple_tanh_no_jit": (
        lambda: keras_rnncr.layers.SimpleRNN(
            UNITS,
            omega=ALPHA,
            omega_backward="streaming",
            omega_jit_compile=False,
            dtype="float64",
        ),
        ref.simple_step("tanh"),
        1,
        True,
    ),
    "simple_tanh_stored": (
        lambda: keras_rnncr.layers.SimpleRNN(
            UNITS, omega=ALPHA, omega_backward="stored", dtype="float64"
        ),
        ref.simple_step("tanh"),
        1,
        True,
    ),
    "simple_sigmoid_stored": (
        lambda: keras_rnncr.layers.SimpleRNN(
            UNITS,
            activation="sigmoid",
            omega=ALPHA,
            omega_backward="stored",
            omega_jit_compile=False,
            dtype="float64",
        ),
        ref.simple_step("sigmoid"),
        1,
        True,
    ),
    "gru": (
        lambda: keras_rnncr.layers.GRU(UNITS, omega=ALPHA, dtype="float64"),
        ref.gru_step,
        1,
        False,
    ),
    "lstm": (
        lambda: keras_rnncr.layers.LSTM(UNITS, omega=ALPHA, dtype="float64"),
        ref.lstm_step,
        2,
        False,
    ),
}


def _data(masked, per_step, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, STEPS, FEATURES))
    mask = None
    if masked:
        lengths = np.array([STEPS, STEPS - 2, 3, STEPS - 1])
        mask = np.arange(STEPS)[None, :] < lengths[:, None]
        x = np.where(mask[..., None], x, 0.0)
    shape = (BATCH, STEPS) if per_step else (BATCH,)
    y = rng.integers(0, CLASSES, size=shape)
    return x, y, mask


def _model(make_layer, masked, per_step):
    inputs = keras.Input((STEPS, FEATURES), dtype="float64")
    h = keras.layers.Masking(0.0, dtype="float64")(inputs) if masked else inputs
    layer = make_layer()
    layer.return_sequences = per_step
    h = layer(h)
    outputs = keras.layers.Dense(CLASSES, dtype="float64")(h)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, dtype="float64"
        ),
    )
    return model, layer


@pytest.mark.parametrize("per_step", [False, True], ids=["last_step", "per_step"])
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("cell", list(CELLS))
def test_fit_step_matches_reference(cell, masked, per_step):
    make_layer, step, n_states, hold_slope = CELLS[cell]
    x, y, mask = _data(masked, per_step)
    model, layer = _model(make_layer, masked, per_step)
    head = model.layers[-1]
    before = {v.path.split("/")[-1]: v.numpy() for v in layer.cell.weights}
    head_before = [v.numpy() for v in head.weights]

    expected, omega = ref.reference_gradients(
        step, n_states, before, head_before, x, y, mask, ALPHA, per_step, hold_slope
    )
    history = model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)

    after = {v.path.split("/")[-1]: v.numpy() for v in layer.cell.weights}
    for name, value in before.items():
        update = (after[name] - value) / -LEARNING_RATE
        np.testing.assert_allclose(
            update, expected[name], rtol=1e-6, atol=1e-6 * np.abs(expected[name]).max()
        )
    for variable, value, name in zip(
        head.weights, head_before, ["head_kernel", "head_bias"]
    ):
        update = (variable.numpy() - value) / -LEARNING_RATE
        np.testing.assert_allclose(
            update, expected[name], rtol=1e-6, atol=1e-6 * np.abs(expected[name]).max()
        )
    np.testing.assert_allclose(
        history.history[f"{layer.name}_omega"][0], omega, rtol=1e-5
    )


def test_omega_changes_the_update():
    """The reference comparison above would notice a missing Omega term."""
    make_layer, step, n_states, hold_slope = CELLS["simple_tanh"]
    x, y, mask = _data(False, False)
    model, layer = _model(make_layer, False, False)
    weights = {v.path.split("/")[-1]: v.numpy() for v in layer.cell.weights}
    head = [v.numpy() for v in model.layers[-1].weights]
    with_omega, _ = ref.reference_gradients(
        step, n_states, weights, head, x, y, mask, ALPHA, False, hold_slope
    )
    without, _ = ref.reference_gradients(
        step, n_states, weights, head, x, y, mask, 0.0, False, hold_slope
    )
    difference = np.abs(with_omega["recurrent_kernel"] - without["recurrent_kernel"])
    assert difference.max() > 1e-3 * np.abs(without["recurrent_kernel"]).max()
