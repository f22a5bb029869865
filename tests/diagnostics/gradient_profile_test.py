"""Tests for keras_rnncr.diagnostics.gradient_profile and plot_gradient_profile."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_rnncr
from keras_rnncr.diagnostics import gradient_profile, plot_gradient_profile

STEPS, FEATURES, CLASSES, UNITS = 6, 3, 3, 4

LAYERS = {
    "keras_simple_rnn": keras.layers.SimpleRNN,
    "keras_gru": keras.layers.GRU,
    "keras_lstm": keras.layers.LSTM,
    "keras_gru_zero_output": lambda units, **kw: keras.layers.GRU(
        units, zero_output_for_mask=True, **kw
    ),
    "rnncr_simple_rnn": lambda units, **kw: keras_rnncr.layers.SimpleRNN(
        units, omega=2.0, **kw
    ),
    "rnncr_gru": keras_rnncr.layers.GRU,
    "rnncr_lstm": lambda units, **kw: keras_rnncr.layers.LSTM(units, omega=1.0, **kw),
}


@pytest.fixture
def float64():
    """Float64 throughout, the compiled loss included (it follows floatx)."""
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx(floatx)


def _model(rnn, masking=False):
    """Float64 model: [Masking] -> rnn -> softmax head, sparse cross-entropy."""
    inputs = keras.Input((STEPS, FEATURES), dtype="float64")
    hidden = keras.layers.Masking(dtype="float64")(inputs) if masking else inputs
    head = keras.layers.Dense(CLASSES, "softmax", dtype="float64", name="head")
    model = keras.Model(inputs, head(rnn(hidden)))
    model.compile(loss="sparse_categorical_crossentropy")
    return model


def _batch(return_sequences, masking, batch=3, seed=0):
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(batch, STEPS, FEATURES))
    mask = np.ones((batch, STEPS), bool)
    if masking:  # trailing padding, and one masked step inside a sequence
        mask[0, 4:] = False
        mask[1, 2] = False
        mask[2, 5:] = False
        inputs[~mask] = 0.0
    shape = (batch, STEPS) if return_sequences else (batch,)
    return inputs, rng.integers(CLASSES, size=shape), mask


def _reference(model, layer, inputs, targets, mask):
    """dE/dh_t for each t by restarting the layer's own Keras loop at h_t.

    For every step t: run a copy of the layer (same cell, returning sequences
    and states) on the prefix x[:, :t+1], watch the state h_t, and run the
    suffix from initial state h_t; E is written out by hand (the masked mean
    of the cross-entropy). One tape per step, no probes: O(steps^2) work.
    """
    rnn = keras.layers.RNN(
        layer.cell,
        return_sequences=True,
        return_state=True,
        zero_output_for_mask=layer.zero_output_for_mask,
        dtype="float64",
    )
    head = model.get_layer("head")
    x, m = tf.constant(inputs), tf.constant(mask)

    def loss(outputs, final_state):
        if not layer.return_sequences:
            # Keras's last output: the last valid one, or 0 if the last step
            # is masked and `zero_output_for_mask` (the suffix loop restarts
            # its carried output at 0, so only the zero case reads `outputs`).
            last = outputs[:, -1] if layer.zero_output_for_mask else final_state
            probabilities = head(last)
            return tf.reduce_mean(
                keras.losses.sparse_categorical_crossentropy(targets, probabilities)
            )
        entropy = keras.losses.sparse_categorical_crossentropy(targets, head(outputs))
        weights = tf.cast(m, tf.float64)
        return tf.reduce_sum(entropy * weights) / tf.reduce_sum(weights)

    norms, losses = np.zeros(mask.shape), []
    for t in range(STEPS):
        prefix, *states = rnn(x[:, : t + 1], mask=m[:, : t + 1])
        with tf.GradientTape() as tape:
            hidden = states[0]
            tape.watch(hidden)
            output = tf.where(m[:, t, None], hidden, prefix[:, t])
            outputs, final_state = [prefix[:, :t], output[:, None]], hidden
            if t + 1 < STEPS:
                suffix, final_state, *_ = rnn(
                    x[:, t + 1 :],
                    initial_state=[hidden, *states[1:]],
                    mask=m[:, t + 1 :],
                )
                outputs.append(suffix)
            value = loss(tf.concat(outputs, axis=1), final_state)
        losses.append(float(value))
        norms[:, t] = np.linalg.norm(tape.gradient(value, hidden), axis=-1)
    return norms, losses


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_matches_restarted_loops_with_mask(name, return_sequences):
    keras.utils.set_random_seed(0)
    layer = LAYERS[name](UNITS, return_sequences=return_sequences, dtype="float64")
    model = _model(layer, masking=True)
    inputs, targets, mask = _batch(return_sequences, masking=True)
    expected, losses = _reference(model, layer, inputs, targets, mask)
    # The hand-written E of the reference is the model's compiled loss.
    compiled = model.compute_loss(y=targets, y_pred=model(inputs), training=False)
    np.testing.assert_allclose(losses, float(compiled), rtol=1e-12)

    per_example = gradient_profile(model, inputs, targets, per_example=True)
    np.testing.assert_allclose(per_example[mask], expected[mask], rtol=1e-9)
    assert np.all(np.isnan(per_example[~mask]))
    if return_sequences or not layer.zero_output_for_mask:
        assert np.all(per_example[mask] > 0)
    else:  # the last output of a sequence with a masked last step is 0
        cut = ~mask[:, -1]
        assert cut.any() and np.all(per_example[cut][mask[cut]] == 0)
    mean = gradient_profile(model, inputs, targets)
    expected_mean = [expected[mask[:, t], t].mean() for t in range(STEPS)]
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-9)


@pytest.mark.usefixtures("float64")
def test_matches_hand_written_bptt_for_simple_rnn():
    """Numpy back-propagation through time for a tanh RNN with a last-step head."""
    keras.utils.set_random_seed(1)
    layer = keras_rnncr.layers.SimpleRNN(UNITS, omega=4.0, dtype="float64")
    model = _model(layer)
    inputs, targets, _ = _batch(return_sequences=False, masking=False, batch=5)
    kernel, recurrent, bias = (w.numpy() for w in layer.cell.weights)
    head_kernel, head_bias = (w.numpy() for w in model.get_layer("head").weights)

    states = [np.zeros((5, UNITS))]
    for t in range(STEPS):
        states.append(np.tanh(inputs[:, t] @ kernel + states[-1] @ recurrent + bias))
    logits = states[-1] @ head_kernel + head_bias
    probabilities = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    delta = (probabilities - np.eye(CLASSES)[targets]) / 5 @ head_kernel.T
    expected = np.zeros((5, STEPS))
    for t in range(STEPS - 1, -1, -1):
        expected[:, t] = np.linalg.norm(delta, axis=-1)
        delta = (delta * (1.0 - states[t + 1] ** 2)) @ recurrent.T

    profile = gradient_profile(model, inputs, targets, per_example=True)
    np.testing.assert_allclose(profile, expected, rtol=1e-10)
    np.testing.assert_allclose(
        gradient_profile(model, inputs, targets), expected.mean(0), rtol=1e-10
    )


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("gain", [0.5, 1.5])
def test_linear_rnn_decays_or_grows_geometrically(gain):
    """With h_t = x_t W + h_{t-1} U and U = gain * orthogonal, each step back
    multiplies ||dE/dh_t|| by exactly `gain` (vanishing below 1, exploding
    above)."""
    layer = keras.layers.SimpleRNN(
        UNITS,
        activation=None,
        recurrent_initializer=keras.initializers.Orthogonal(gain=gain, seed=0),
        dtype="float64",
    )
    model = _model(layer)
    inputs, targets, _ = _batch(return_sequences=False, masking=False)
    profile = gradient_profile(model, inputs, targets, per_example=True)
    np.testing.assert_allclose(profile[:, :-1] / profile[:, 1:], gain, rtol=1e-10)


@pytest.mark.usefixtures("float64")
def test_go_backwards_profile_is_indexed_by_input_position():
    keras.utils.set_random_seed(2)
    backwards = keras.layers.GRU(UNITS, go_backwards=True, dtype="float64")
    model = _model(backwards)
    forwards = keras.layers.GRU(UNITS, dtype="float64")
    reversed_model = _model(forwards)
    forwards.set_weights(backwards.get_weights())
    reversed_model.get_layer("head").set_weights(model.get_layer("head").get_weights())
    inputs, targets, _ = _batch(return_sequences=False, masking=False)
    np.testing.assert_allclose(
        gradient_profile(model, inputs, targets),
        gradient_profile(reversed_model, inputs[:, ::-1], targets)[::-1],
        rtol=1e-10,
    )


def test_nested_model_float32_and_layer_restored():
    model = keras_rnncr.tasks.task_model("temporal_order", method="sgd-cr", seed=0)
    inner = model.get_layer("rnn")
    outer = keras.Sequential([keras.Input((None, 6)), model])
    outer.compile(loss="sparse_categorical_crossentropy")
    inputs, targets = keras_rnncr.tasks.temporal_order_batch(20, 4, rng=0)
    before = outer.predict_on_batch(inputs)
    profile = gradient_profile(outer, inputs, targets)
    assert profile.shape == (20,) and profile.dtype == np.float64
    assert np.all(np.isfinite(profile)) and np.all(profile > 0)
    assert "inner_loop" not in vars(inner)
    np.testing.assert_array_equal(outer.predict_on_batch(inputs), before)
    assert gradient_profile(outer, inputs, targets, layer="rnn").shape == (20,)


class _CopyingCell(keras.layers.Layer):
    """A cell whose output is a copy of its state, not the state itself."""

    state_size = UNITS

    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], UNITS))

    def call(self, inputs, states):
        hidden = keras.ops.tanh(inputs @ self.kernel + states[0])
        return hidden * 1.0, [hidden]


def test_argument_errors():
    model = _model(keras.layers.SimpleRNN(UNITS, dtype="float64", name="rnn"))
    inputs, targets, _ = _batch(return_sequences=False, masking=False)
    with pytest.raises(TypeError, match="Argument `model` must be a keras.Model"):
        gradient_profile(model.layers[-1], inputs, targets)
    uncompiled = keras.Sequential([keras.Input((STEPS, 3)), keras.layers.GRU(2)])
    with pytest.raises(ValueError, match="Argument `model` must be compiled"):
        gradient_profile(uncompiled, inputs, targets)
    with pytest.raises(ValueError, match="Argument `per_example` must be a bool"):
        gradient_profile(model, inputs, targets, per_example=1)
    with pytest.raises(ValueError, match="must be the name of a keras.layers.RNN"):
        gradient_profile(model, inputs, targets, layer="head")
    with pytest.raises(ValueError, match=r"must be a keras.layers.RNN.*Dense"):
        gradient_profile(model, inputs, targets, layer=model.get_layer("head"))
    stranger = keras.layers.SimpleRNN(UNITS)
    with pytest.raises(ValueError, match="exactly once. It was called 0 times"):
        gradient_profile(model, inputs, targets, layer=stranger)
    assert "inner_loop" not in vars(stranger)

    two = keras.Sequential(
        [
            keras.Input((STEPS, FEATURES)),
            keras.layers.SimpleRNN(UNITS, return_sequences=True),
            keras.layers.GRU(UNITS),
        ]
    )
    two.compile(loss="mse")
    with pytest.raises(ValueError, match="must name the recurrent layer"):
        gradient_profile(two, inputs, targets)
    dense = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(1)])
    dense.compile(loss="mse")
    with pytest.raises(ValueError, match=r"has \[\]. Received: layer=None"):
        gradient_profile(dense, inputs[:, 0], targets)

    copying = keras.layers.RNN(_CopyingCell())
    odd = keras.Sequential([keras.Input((STEPS, FEATURES)), copying])
    odd.compile(loss="mse")
    with pytest.raises(ValueError, match="output is its first state"):
        gradient_profile(odd, inputs.astype("float32"), np.zeros((3, UNITS)))
    assert "inner_loop" not in vars(copying)


def test_shared_layer_called_twice_is_refused():
    shared = keras.layers.SimpleRNN(FEATURES, return_sequences=True)
    sequence = keras.Input((STEPS, FEATURES))
    model = keras.Model(sequence, shared(shared(sequence)))
    model.compile(loss="mse")
    inputs, _, _ = _batch(return_sequences=True, masking=False)
    with pytest.raises(ValueError, match="It was called 2 times"):
        gradient_profile(model, inputs.astype("float32"), inputs.astype("float32"))


def test_plot_gradient_profile(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "profile.png"
    figure = plot_gradient_profile(
        {"before": [1e-6, 1e-3, 1.0], "after": np.array([0.0, 0.1, np.nan])},
        path=path,
        title="temporal order",
    )
    assert path.stat().st_size > 0
    (axis,) = figure.axes
    assert axis.get_yscale() == "log"
    assert axis.get_title() == "temporal order"
    assert [line.get_label() for line in axis.lines] == ["before", "after"]
    np.testing.assert_array_equal(axis.lines[1].get_ydata(), [np.nan, 0.1, np.nan])
    with pytest.raises(ValueError, match="Argument `profiles` must be a non-empty"):
        plot_gradient_profile({})
    with pytest.raises(ValueError, match="Argument `profiles` must be a non-empty"):
        plot_gradient_profile([1.0, 2.0])
    with pytest.raises(ValueError, match="Each profile must be 1-D"):
        plot_gradient_profile({"per example": np.ones((2, 3))})


def test_layers_inside_bidirectional_are_found_by_name():
    keras.utils.set_random_seed(0)
    bidirectional = keras.layers.Bidirectional(keras.layers.SimpleRNN(UNITS))
    model = keras.Sequential(
        [keras.Input((STEPS, FEATURES)), bidirectional, keras.layers.Dense(CLASSES)]
    )
    model.compile(loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(5, STEPS, FEATURES)).astype("float32")
    targets = rng.integers(CLASSES, size=5)
    names = [bidirectional.forward_layer.name, bidirectional.backward_layer.name]
    with pytest.raises(ValueError, match="does not have exactly one") as error:
        gradient_profile(model, inputs, targets)
    assert all(name in str(error.value) for name in names)
    for name, layer in zip(
        names, [bidirectional.forward_layer, bidirectional.backward_layer]
    ):
        by_name = gradient_profile(
            model, inputs, targets, layer=name, per_example=np.True_
        )
        by_layer = gradient_profile(
            model, inputs, targets, layer=layer, per_example=True
        )
        assert by_name.shape == (5, STEPS) and np.all(by_name > 0)
        np.testing.assert_array_equal(by_name, by_layer)


def test_a_name_shared_by_two_nested_layers_is_refused():
    def encoder(name):
        inputs = keras.Input((STEPS, FEATURES))
        return keras.Model(
            inputs, keras.layers.SimpleRNN(UNITS, name="rnn")(inputs), name=name
        )

    inputs = keras.Input((STEPS, FEATURES))
    joined = keras.layers.Concatenate()([encoder("a")(inputs), encoder("b")(inputs)])
    model = keras.Model(inputs, keras.layers.Dense(CLASSES)(joined))
    model.compile(loss="sparse_categorical_crossentropy")
    inputs_, targets = np.zeros((2, STEPS, FEATURES), "float32"), np.zeros(2, "int32")
    with pytest.raises(ValueError, match="names 2 recurrent layers"):
        gradient_profile(model, inputs_, targets, layer="rnn")
