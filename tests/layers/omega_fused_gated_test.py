"""The fused GRU/LSTM pass of Omega against the generic one, and who takes which.

`omega_correctness_test.py` checks both cells' default forms against the float64
reference; here the fused pass (`_fused_gated`) is compared with the generic
second-order pass (`_omega_probe`) where the reference has no equations: other
activations, no bias, `go_backwards`, return_sequences with a mask and
recurrent dropout per gate.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_rnncr
from keras_rnncr.layers import _fused_gated, _omega_probe

BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5


def _gradients(
    layer_kwargs, layer_class, generic, monkeypatch, masked, steps=STEPS, front=False
):
    """Gradients and Omega of one training step, float64; with `front`, a Dense
    layer before the recurrent one (whose gradient needs the inputs' error)."""
    if generic:
        monkeypatch.setattr(_fused_gated, "cell_kind", lambda cell: None)
    keras.utils.set_random_seed(3)
    layer = layer_class(UNITS, dtype="float64", **layer_kwargs)
    dense = keras.layers.Dense(FEATURES, dtype="float64") if front else None
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(BATCH, steps, FEATURES)))
    mask = None
    if masked:
        mask = tf.constant(np.arange(steps)[None] < np.array([[steps], [4], [2]]))
    layer(dense(x) if front else x, mask=mask)  # build
    target = tf.constant(rng.normal(size=(BATCH, UNITS)))
    weights = layer.trainable_weights + (dense.trainable_weights if front else [])
    with tf.GradientTape() as tape:
        keras.utils.set_random_seed(4)  # the same dropout masks both times
        out = layer(dense(x) if front else x, mask=mask, training=True)
        if layer_kwargs.get("return_sequences"):
            out = tf.reduce_mean(out, 1)
        loss = tf.reduce_sum(tf.square(out - target)) + tf.add_n(
            [tf.cast(v, tf.float64) for v in layer.losses]
        )
    grads = tape.gradient(loss, weights)
    return [g.numpy() for g in grads], layer.omega_tracker.result()


CASES = {
    "gru_relu_hard_sigmoid": (
        keras_rnncr.layers.GRU,
        {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
        False,
    ),
    "gru_no_bias_backwards": (
        keras_rnncr.layers.GRU,
        {"use_bias": False, "go_backwards": True},
        True,
    ),
    "gru_sequences_recurrent_dropout": (
        keras_rnncr.layers.GRU,
        {"return_sequences": True, "recurrent_dropout": 0.4, "dropout": 0.2},
        True,
    ),
    "gru_reset_before": (keras_rnncr.layers.GRU, {"reset_after": False}, True),
    "gru_reset_before_sequences_dropout_backwards": (
        keras_rnncr.layers.GRU,
        {
            "reset_after": False,
            "return_sequences": True,
            "recurrent_dropout": 0.4,
            "dropout": 0.2,
            "go_backwards": True,
        },
        True,
    ),
    "gru_reset_before_no_bias_uncompiled_norm": (
        keras_rnncr.layers.GRU,
        {
            "reset_after": False,
            "use_bias": False,
            "omega_jit_compile": False,
            "omega_ratio": "norm",
            "activation": "relu",
        },
        False,
    ),
    "lstm_elu": (keras_rnncr.layers.LSTM, {"activation": "elu"}, True),
    "gru_uncompiled": (keras_rnncr.layers.GRU, {"omega_jit_compile": False}, True),
    "lstm_sequences_recurrent_dropout_norm": (
        keras_rnncr.layers.LSTM,
        {"return_sequences": True, "recurrent_dropout": 0.3, "omega_ratio": "norm"},
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fused_gated_pass_equals_generic_pass(case, monkeypatch):
    layer_class, kwargs, masked = CASES[case]
    kwargs = {"omega": 3.0, **kwargs}
    fused, fused_omega = _gradients(kwargs, layer_class, False, monkeypatch, masked)
    generic, generic_omega = _gradients(kwargs, layer_class, True, monkeypatch, masked)
    for f, g in zip(fused, generic):
        np.testing.assert_allclose(f, g, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        list(fused_omega.values()), list(generic_omega.values()), rtol=1e-6
    )
    assert len(fused_omega) == 2
    # Omega changes the recurrent kernel's gradient here: the check has teeth.
    plain, _ = _gradients(
        {**kwargs, "omega": 0.0, "omega_metrics": True},
        layer_class,
        False,
        monkeypatch,
        masked,
    )
    assert not np.allclose(fused[1], plain[1])


@pytest.mark.parametrize(
    "layer_class, jit",
    [
        (keras_rnncr.layers.GRU, "auto"),
        (keras_rnncr.layers.LSTM, False),
        ("gru_reset_before", "auto"),
    ],
)
def test_runs_of_steps_add_up(layer_class, jit, monkeypatch):
    """Two whole runs of `CHUNK_STEPS` steps and a part, compiled or not."""
    steps = 2 * _fused_gated.CHUNK_STEPS + 6
    kwargs = {"omega": 3.0, "return_sequences": True, "omega_jit_compile": jit}
    if layer_class == "gru_reset_before":
        layer_class, kwargs["reset_after"] = keras_rnncr.layers.GRU, False
    fused, _ = _gradients(kwargs, layer_class, False, monkeypatch, True, steps)
    generic, _ = _gradients(kwargs, layer_class, True, monkeypatch, True, steps)
    for f, g in zip(fused, generic):
        np.testing.assert_allclose(f, g, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "layer_class, kwargs",
    [
        (keras_rnncr.layers.GRU, {"dropout": 0.3, "recurrent_dropout": 0.2}),
        (keras_rnncr.layers.LSTM, {"return_sequences": True}),
        (keras_rnncr.layers.GRU, {"reset_after": False, "dropout": 0.3}),
    ],
)
def test_inputs_error_reaches_the_layer_before(layer_class, kwargs, monkeypatch):
    """A Dense layer before: its gradient needs `dE/dinputs` from the pass."""
    kwargs = {"omega": 3.0, **kwargs}
    fused, _ = _gradients(kwargs, layer_class, False, monkeypatch, True, front=True)
    generic, _ = _gradients(kwargs, layer_class, True, monkeypatch, True, front=True)
    assert len(fused) == len(generic) == 5
    for f, g in zip(fused, generic):
        np.testing.assert_allclose(f, g, rtol=1e-9, atol=1e-12)
    assert np.any(fused[-2] != 0)  # the Dense kernel's gradient


@pytest.mark.parametrize(
    "layer_class", [keras_rnncr.layers.GRU, keras_rnncr.layers.LSTM]
)
@pytest.mark.parametrize("argument", ["activation", "recurrent_activation"])
def test_softsign_trains_as_the_generic_pass_of_its_formula(
    layer_class, argument, monkeypatch
):
    # TensorFlow cannot differentiate softsign's gradient: the fused pass
    # steps with the same function written from ops it can.
    kwargs = {"omega": 3.0, argument: "softsign"}
    fused, fused_omega = _gradients(kwargs, layer_class, False, monkeypatch, True)
    formula = {"omega": 3.0, argument: lambda a: a / (1.0 + tf.abs(a))}
    generic, generic_omega = _gradients(formula, layer_class, True, monkeypatch, True)
    for f, g in zip(fused, generic):
        np.testing.assert_allclose(f, g, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        list(fused_omega.values()), list(generic_omega.values()), rtol=1e-6
    )


def test_which_cells_take_the_fused_gated_pass():
    assert _fused_gated.cell_kind(keras.layers.GRUCell(2)) == "gru"
    assert _fused_gated.cell_kind(keras.layers.LSTMCell(2)) == "lstm"
    reset_before = keras.layers.GRUCell(2, reset_after=False)
    assert _fused_gated.cell_kind(reset_before) == "gru_reset_before"
    assert _fused_gated.cell_kind(keras.layers.SimpleRNNCell(2)) is None


class _HalvedSimpleRNNCell(keras.layers.SimpleRNNCell):
    def call(self, inputs, states, training=False):
        output, _ = super().call(inputs, states, training=training)
        halved = 0.5 * output
        return halved, [halved]


class _HalvedGRUCell(keras.layers.GRUCell):
    def call(self, inputs, states, training=False):
        output, _ = super().call(inputs, states, training=training)
        halved = 0.5 * output
        return halved, [halved]


class _HalvedLSTMCell(keras.layers.LSTMCell):
    def call(self, inputs, states, training=False):
        output, (_, carry) = super().call(inputs, states, training=training)
        halved = 0.5 * output
        return halved, [halved, carry]


class _HalvedCarryLSTMCell(keras.layers.LSTMCell):
    """Overrides a method `call` uses, not `call` itself."""

    def _compute_carry_and_output_fused(self, z, c_tm1):
        carry, output = super()._compute_carry_and_output_fused(z, c_tm1)
        return 0.5 * carry, output


class _RenamedGRUCell(keras.layers.GRUCell):
    def get_config(self):  # a method outside the step: still the stock step
        return super().get_config()


def test_a_subclass_that_overrides_call_takes_the_generic_pass():
    # The fused passes compute the stock equations: a subclass stepping
    # otherwise would train one network and predict with another.
    assert _fused_gated.cell_kind(_HalvedGRUCell(2)) is None
    assert _fused_gated.cell_kind(_HalvedLSTMCell(2)) is None
    assert _fused_gated.cell_kind(_HalvedCarryLSTMCell(2)) is None
    assert _fused_gated.cell_kind(_RenamedGRUCell(2)) == "gru"
    assert not _fused_gated.runs_stock_step(
        _HalvedSimpleRNNCell(2), keras.layers.SimpleRNNCell
    )


@pytest.mark.parametrize(
    "cell_class",
    [_HalvedSimpleRNNCell, _HalvedGRUCell, _HalvedLSTMCell, _HalvedCarryLSTMCell],
)
@pytest.mark.parametrize("omega, metrics", [(1.0, False), (0.0, True)])
def test_a_subclassed_cell_trains_the_network_it_predicts_with(
    cell_class, omega, metrics
):
    keras.utils.set_random_seed(0)
    reference = keras.layers.RNN(cell_class(4), return_sequences=True)
    ours = keras_rnncr.layers.RNN(
        cell_class(4), return_sequences=True, omega=omega, omega_metrics=metrics
    )
    x = tf.constant(np.random.default_rng(0).normal(size=(2, 5, 3)), "float32")
    reference(x)
    ours(x)
    ours.set_weights(reference.get_weights())
    results = []
    for layer in (reference, ours):
        with tf.GradientTape() as tape:
            outputs = layer(x, training=True)
            total = tf.reduce_sum(outputs)
        kernel_gradient = tape.gradient(total, layer.cell.kernel)
        results.append((outputs.numpy(), kernel_gradient.numpy()))
    # Omega's gradient reaches the recurrent kernel only.
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_takes_the_fused_pass_either_way(reset_after, monkeypatch):
    probes = []
    original = _omega_probe.omega_probe
    monkeypatch.setattr(
        _omega_probe,
        "omega_probe",
        lambda *a, **k: probes.append(1) or original(*a, **k),
    )
    layer = keras_rnncr.layers.GRU(3, omega=1.0, reset_after=reset_after)
    x = np.ones((2, 4, 2), "float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True)) + tf.add_n(layer.losses)
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(g is not None and np.all(np.isfinite(g)) for g in grads)
    assert not probes
