"""Contract tests of the Omega layers: Keras equivalence, options, serialization."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_rnncr
from tests.layers import omega_reference as ref

FEATURES, UNITS, STEPS = 3, 6, 9


def _data(batch=8, steps=STEPS, seed=0, classes=4):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, steps, FEATURES)).astype("float32")
    y = rng.integers(0, classes, size=(batch,))
    return x, y


def _model(layer, steps=STEPS, batch_size=None, jit_compile=False, lr=0.1):
    inputs = keras.Input((steps, FEATURES), batch_size=batch_size)
    outputs = keras.layers.Dense(4)(layer(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.SGD(lr),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return model


def _gradients(model, x, y):
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True)) + sum(model.losses)
    return [g.numpy() for g in tape.gradient(loss, model.trainable_weights)]


def _copy_weights(source, target):
    target.set_weights(source.get_weights())


def test_omega_pass_at_zero_gives_keras_gradients():
    keras.utils.set_random_seed(1)
    x, y = _data()
    ours = _model(
        keras_rnncr.layers.SimpleRNN(
            UNITS, omega=0.0, omega_metrics=True, dtype="float64"
        )
    )
    theirs = _model(keras.layers.SimpleRNN(UNITS, dtype="float64"))
    _copy_weights(ours, theirs)
    x = x.astype("float64")
    for a, b in zip(_gradients(ours, x, y), _gradients(theirs, x, y)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_inference_is_keras_code_and_adds_no_loss():
    keras.utils.set_random_seed(2)
    x, _ = _data()
    ours = _model(keras_rnncr.layers.SimpleRNN(UNITS, omega=3.0))
    theirs = _model(keras.layers.SimpleRNN(UNITS))
    _copy_weights(ours, theirs)
    np.testing.assert_array_equal(
        ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
    )
    ours(x, training=False)
    assert not ours.losses
    ours(x, training=True)
    assert len(ours.losses) == 1


def _omega_only_numpy(kernel, deltas, slopes, valid):
    """Omega(U) with delta, f' and the valid set fixed: plain numpy."""
    total = 0.0
    for delta, slope, ok in zip(deltas, slopes, valid):
        moved = (delta * slope) @ kernel.T
        ratio = (moved**2).sum(-1) / np.where(ok, (delta**2).sum(-1), 1.0)
        total += np.where(ok, (ratio - 1.0) ** 2, 0.0).sum()
    return total / valid.sum()


def test_omega_gradient_matches_finite_differences():
    keras.utils.set_random_seed(3)
    x, y = _data(batch=4, steps=6)
    x = x.astype("float64")
    layer = keras_rnncr.layers.SimpleRNN(UNITS, omega=1.0, dtype="float64")
    model = _model(layer, steps=6)
    with_omega = _gradients(model, x, y)
    layer.omega = 0.0
    without = _gradients(model, x, y)
    index = [w.path for w in model.trainable_weights].index(
        layer.cell.recurrent_kernel.path
    )
    library = with_omega[index] - without[index]

    # delta_k and f'(a_k) from the independent reference (probes).
    weights = {v.path.split("/")[-1]: v.numpy() for v in layer.cell.weights}
    head = [v.numpy() for v in model.layers[-1].weights]
    kernel = weights["recurrent_kernel"]
    states = np.zeros((4, UNITS))
    slopes, deltas = [], []
    probes = [tf.zeros((4, UNITS), tf.float64) for _ in range(6)]
    with tf.GradientTape() as tape:
        tape.watch(probes)
        h = tf.zeros((4, UNITS), tf.float64)
        for t in range(6):
            h = (
                tf.tanh(x[:, t] @ weights["kernel"] + h @ kernel + weights["bias"])
                + probes[t]
            )
            slopes.append(1.0 - h.numpy() ** 2)
        logits = h @ head[0] + head[1]
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits))
    deltas = [d.numpy() for d in tape.gradient(loss, probes)]
    valid = np.array([(d**2).sum(-1) >= 1e-20 for d in deltas])
    assert valid.all()
    del states

    step = 1e-6
    numeric = np.zeros_like(kernel)
    for i in range(UNITS):
        for j in range(UNITS):
            up, down = kernel.copy(), kernel.copy()
            up[i, j] += step
            down[i, j] -= step
            numeric[i, j] = (
                _omega_only_numpy(up, deltas, slopes, valid)
                - _omega_only_numpy(down, deltas, slopes, valid)
            ) / (2 * step)
    np.testing.assert_allclose(library, numeric, rtol=1e-6, atol=1e-9)
    assert np.abs(numeric).max() > 1e-4


def _fit_once(model, x, y, **kwargs):
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0, **kwargs)
    return [w.numpy() for w in model.weights]


def test_norm_ratio_option_differs_and_trains():
    keras.utils.set_random_seed(4)
    x, y = _data()
    squared = _model(keras_rnncr.layers.SimpleRNN(UNITS, omega=2.0))
    plain = _model(keras_rnncr.layers.SimpleRNN(UNITS, omega=2.0, omega_ratio="norm"))
    _copy_weights(squared, plain)
    a, b = _fit_once(squared, x, y), _fit_once(plain, x, y)
    assert all(np.isfinite(w).all() for w in b)
    assert not np.allclose(a[1], b[1])


def test_go_backwards_equals_reversed_input():
    keras.utils.set_random_seed(5)
    x, y = _data()
    backwards = _model(
        keras_rnncr.layers.SimpleRNN(UNITS, omega=2.0, go_backwards=True)
    )
    forwards = _model(keras_rnncr.layers.SimpleRNN(UNITS, omega=2.0))
    _copy_weights(backwards, forwards)
    a = _fit_once(backwards, x, y)
    b = _fit_once(forwards, x[:, ::-1].copy(), y)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)


def test_jit_compile_gives_the_same_step():
    keras.utils.set_random_seed(6)
    x, y = _data(steps=19)  # three runs of the fused gated pass (runs of 8)
    for make in (
        lambda: keras_rnncr.layers.SimpleRNN(UNITS, omega=2.0),
        lambda: keras_rnncr.layers.GRU(UNITS, omega=2.0),
        # In a compiled model the runs' recomputation waits by data
        # (`_fused_gated._waiting`): the same step, reset-before and LSTM too.
        lambda: keras_rnncr.layers.GRU(UNITS, omega=2.0, reset_after=False),
        lambda: keras_rnncr.layers.LSTM(UNITS, omega=2.0),
    ):
        plain = _model(make(), steps=19)
        jitted = _model(make(), steps=19, jit_compile=True)
        _copy_weights(plain, jitted)
        for u, v in zip(_fit_once(plain, x, y), _fit_once(jitted, x, y)):
            np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_layers_get_their_own_alpha():
    keras.utils.set_random_seed(7)
    x, y = _data()
    x = x.astype("float64")
    first = keras_rnncr.layers.SimpleRNN(
        UNITS, return_sequences=True, omega_metrics=True, dtype="float64"
    )
    second = keras_rnncr.layers.LSTM(UNITS, omega_metrics=True, dtype="float64")
    inputs = keras.Input((STEPS, FEATURES), dtype="float64")
    model = keras.Model(
        inputs, keras.layers.Dense(4, dtype="float64")(second(first(inputs)))
    )

    def grads(a, b):
        first.omega, second.omega = a, b
        return _gradients(model, x, y)

    base, only_first, only_second, both = (
        grads(0, 0),
        grads(1, 0),
        grads(0, 1),
        grads(1, 0.5),
    )
    for g0, g1, g2, g12 in zip(base, only_first, only_second, both):
        np.testing.assert_allclose(
            g12, g0 + (g1 - g0) + 0.5 * (g2 - g0), rtol=1e-9, atol=1e-12
        )
    changed = [not np.allclose(a, b) for a, b in zip(base, only_first)]
    assert sum(changed) == 1  # only the first layer's recurrent kernel


def test_bidirectional_logs_both_directions_and_matches_keras_inference():
    keras.utils.set_random_seed(8)
    x, y = _data()
    ours = _model(
        keras.layers.Bidirectional(keras_rnncr.layers.SimpleRNN(UNITS, omega=1.0))
    )
    theirs = _model(keras.layers.Bidirectional(keras.layers.SimpleRNN(UNITS)))
    _copy_weights(ours, theirs)
    np.testing.assert_array_equal(
        ours.predict(x, verbose=0), theirs.predict(x, verbose=0)
    )
    history = ours.fit(x, y, epochs=1, verbose=0)
    names = [k for k in history.history if k.endswith("_omega")]
    assert len(names) == 2 and all(history.history[k][0] > 0 for k in names)


def test_stateful_carries_state_like_keras():
    keras.utils.set_random_seed(9)
    x, y = _data(batch=4)
    ours = _model(
        keras_rnncr.layers.SimpleRNN(UNITS, stateful=True, omega_metrics=True),
        batch_size=4,
    )
    theirs = _model(keras.layers.SimpleRNN(UNITS, stateful=True), batch_size=4)
    _copy_weights(ours, theirs)
    for model in (ours, theirs):
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        ours.layers[1].states[0].numpy(), theirs.layers[1].states[0].numpy(), atol=1e-5
    )
    ours.layers[1].reset_state()
    assert not np.any(ours.layers[1].states[0].numpy())


def test_return_state_and_dropout_train():
    keras.utils.set_random_seed(10)
    x, y = _data()
    layer = keras_rnncr.layers.SimpleRNN(
        UNITS, omega=1.0, return_state=True, dropout=0.2, recurrent_dropout=0.2, seed=1
    )
    inputs = keras.Input((STEPS, FEATURES))
    output, state = layer(inputs)
    model = keras.Model(
        inputs, keras.layers.Dense(4)(keras.layers.Concatenate()([output, state]))
    )
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history[f"{layer.name}_omega"][-1] > 0


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_streaming_backward_matches_stored(jit_compile):
    keras.utils.set_random_seed(14)
    x, y = _data()
    x[:2, -3:] = 0.0  # masked trailing steps for two examples
    models = []
    for backward in ("stored", "streaming"):
        inputs = keras.Input((STEPS, FEATURES))
        layer = keras_rnncr.layers.SimpleRNN(
            UNITS,
            omega=3.0,
            omega_backward=backward,
            recurrent_dropout=0.3,
            return_sequences=True,
            seed=3,
        )
        hidden = layer(keras.layers.Masking(0.0)(inputs))
        model = keras.Model(inputs, keras.layers.Dense(4)(hidden[:, -1]))
        model.compile(
            "sgd",
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            jit_compile=jit_compile,
        )
        models.append(model)
    _copy_weights(models[0], models[1])
    updates = [_fit_once(model, x, y) for model in models]
    for u, v in zip(*updates):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_masked_steps_are_left_out_of_omega_valid_on_both_paths():
    # tanh by name takes the fused path; the same tanh as a plain function, the
    # generic one. Omega's value does not depend on the path (only its gradient
    # does, through tanh'), and masked pairs are neither valid nor counted.
    x, y = _data(batch=4)
    x = x.astype("float64")
    x[:, STEPS // 2 :] = 0.0  # the second half of every sequence is masked
    logged = []
    for activation in ("tanh", lambda a: tf.tanh(a)):
        keras.utils.set_random_seed(16)
        layer = keras_rnncr.layers.SimpleRNN(
            UNITS, omega=1.0, activation=activation, dtype="float64"
        )
        inputs = keras.Input((STEPS, FEATURES), dtype="float64")
        hidden = layer(keras.layers.Masking(0.0, dtype="float64")(inputs))
        model = keras.Model(inputs, keras.layers.Dense(4, dtype="float64")(hidden))
        model.compile(
            "sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        history = model.fit(x, y, batch_size=4, epochs=1, verbose=0).history
        logged.append(
            (history[f"{layer.name}_omega"][0], history[f"{layer.name}_omega_valid"][0])
        )
    (fused_omega, fused_valid), (generic_omega, generic_valid) = logged
    assert fused_valid == generic_valid == 1.0
    assert fused_omega > 0
    np.testing.assert_allclose(generic_omega, fused_omega, rtol=1e-6)


def test_mixed_float16_matches_float32_update():
    keras.utils.set_random_seed(11)
    x, y = _data()
    full = _model(keras_rnncr.layers.SimpleRNN(UNITS, omega=50.0))
    keras.config.set_dtype_policy("mixed_float16")
    try:
        half = _model(keras_rnncr.layers.SimpleRNN(UNITS, omega=50.0))
    finally:
        keras.config.set_dtype_policy("float32")
    # A loss scale at which nothing overflows float16, so that one step is taken:
    # the Omega term must carry the loss scale like the rest of the gradient.
    half.compile(
        optimizer=keras.optimizers.LossScaleOptimizer(
            keras.optimizers.SGD(0.1), initial_scale=16.0
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    _copy_weights(full, half)
    before = full.layers[1].cell.recurrent_kernel.numpy()
    a, b = _fit_once(full, x, y), _fit_once(half, x, y)
    index = [w.path for w in full.weights].index(
        full.layers[1].cell.recurrent_kernel.path
    )
    update_full, update_half = a[index] - before, b[index] - before
    # Omega's share is large (alpha=50): a missing loss-scale factor would show.
    np.testing.assert_allclose(
        update_half, update_full, rtol=0, atol=3e-3 * np.abs(update_full).max()
    )


@pytest.fixture
def mixed_float16():
    """The mixed_float16 policy for one test, then the policy before it."""
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    yield
    keras.config.set_dtype_policy(policy)


@pytest.mark.parametrize(
    "make_layer",
    [
        lambda: keras_rnncr.layers.SimpleRNN(UNITS, omega=1.0),
        lambda: keras_rnncr.layers.SimpleRNN(UNITS, omega=1.0, omega_backward="stored"),
        lambda: keras_rnncr.layers.GRU(UNITS, omega=1.0),
    ],
    ids=["fused_streaming", "fused_stored", "generic"],
)
def test_overflowed_step_is_left_out_of_the_omega_metrics(mixed_float16, make_layer):
    # The middle batch's huge sample weights overflow float16 in the backward
    # pass only (the loss itself is float32): LossScaleOptimizer skips that step,
    # and the epoch's Omega metrics are those of the other two batches alone.
    x, y = _data(batch=12)
    weights = np.ones(12, "float32")
    weights[4:8] = 1e4
    logs = []
    for keep in (np.arange(12), np.r_[0:4, 8:12]):
        keras.utils.set_random_seed(17)
        layer = make_layer()
        model = _model(layer)
        model.compile(
            optimizer=keras.optimizers.LossScaleOptimizer(
                keras.optimizers.SGD(0.1), initial_scale=2.0**10
            ),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        history = model.fit(
            x[keep],
            y[keep],
            sample_weight=weights[keep],
            batch_size=4,
            shuffle=False,
            verbose=0,
        ).history
        assert model.optimizer.iterations.numpy() == 2  # one step skipped, or none
        logs.append([history[f"{layer.name}_omega{end}"][0] for end in ("", "_valid")])
    with_overflow, without = logs
    assert np.isfinite(with_overflow).all() and with_overflow[1] == 1.0
    np.testing.assert_allclose(with_overflow, without, rtol=1e-6)


_MIRRORED_SCRIPT = """
import keras, numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
devices = [tf.config.LogicalDeviceConfiguration()] * 2
tf.config.set_logical_device_configuration(cpu, devices)
import keras_rnncr

FEATURES, UNITS, STEPS = 3, 6, 9
keras.utils.set_random_seed(12)
rng = np.random.default_rng(0)
x = rng.normal(size=(8, STEPS, FEATURES))
y = rng.integers(0, 4, size=(8,))
x[4:, 6:] = 0.0  # the second replica's examples are shorter: masks differ


def build():
    inputs = keras.Input((STEPS, FEATURES), dtype="float64")
    h = keras.layers.Masking(0.0, dtype="float64")(inputs)
    h = keras_rnncr.layers.SimpleRNN(UNITS, omega=2.0, dtype="float64")(h)
    # 19 steps: three runs of the fused gated pass (runs of 8), so that the
    # order between runs' Omega products is taken under two replicas too.
    h = keras_rnncr.layers.RNN(
        keras.layers.GRUCell(UNITS, dtype="float64"),
        omega=1.0,
        return_sequences=True,
        dtype="float64",
    )(keras.layers.RepeatVector(19, dtype="float64")(h))
    h = keras_rnncr.layers.LSTM(UNITS, omega=0.5, dtype="float64")(h)
    model = keras.Model(inputs, keras.layers.Dense(4, dtype="float64")(h))
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, dtype="float64"
        ),
    )
    return model


single = build()
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    mirrored = build()
mirrored.set_weights(single.get_weights())
h1 = single.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
h2 = mirrored.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
for a, b in zip(single.get_weights(), mirrored.get_weights()):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12)


def logged(history):
    return [v for k, v in sorted(history.history.items()) if "omega" in k]


assert len(logged(h1)) == 6
np.testing.assert_allclose(logged(h1), logged(h2), rtol=1e-6)
print("MIRRORED OK")
"""


def test_mirrored_strategy_matches_one_device():
    """2 replicas on 2 logical CPUs take the 1-device step (own process: TF's
    collective keys must not clash with other distributed tests)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", _MIRRORED_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "MIRRORED OK" in result.stdout, result.stderr[-3000:]


def test_config_round_trip_and_keras_file(tmp_path):
    keras.utils.set_random_seed(13)
    x, y = _data()
    layers = [
        keras_rnncr.layers.SimpleRNN(
            UNITS,
            omega=1.5,
            omega_ratio="norm",
            omega_backward="stored",
            omega_jit_compile=False,
            activation="sigmoid",
        ),
        keras_rnncr.layers.GRU(UNITS, omega=0.5),
        keras_rnncr.layers.LSTM(UNITS, omega=0.25),
        keras_rnncr.layers.RNN(keras.layers.SimpleRNNCell(UNITS), omega=2.0),
    ]
    for layer in layers:
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
        model = _model(layer)
        model.fit(x, y, epochs=1, verbose=0)
        layer.omega = 0.125
        path = tmp_path / f"{layer.name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_allclose(
            loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
        )
        restored = loaded.layers[1]
        assert type(restored) is type(layer) and restored.omega == 0.125
        loaded.fit(x, y, epochs=1, verbose=0)


def test_export_serves_without_keras_rnncr(tmp_path):
    keras.utils.set_random_seed(14)
    x, y = _data()
    model = _model(keras_rnncr.layers.SimpleRNN(UNITS, omega=1.0))
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "exported")
    model.export(path, verbose=False)
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, tensorflow as tf
        sys.modules["keras_rnncr"] = None  # importing it would fail
        loaded = tf.saved_model.load({path!r})
        served = loaded.serve(np.load({str(tmp_path / "x.npy")!r}))
        np.save({str(tmp_path / "served.npy")!r}, served.numpy())
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=tmp_path)
    served = np.load(tmp_path / "served.npy")
    np.testing.assert_allclose(served, model.predict(x, verbose=0), atol=1e-5)


# Every Omega layer, from its arguments (the mixin's and the Keras layer's).
OMEGA_LAYERS = {
    "simple_rnn": lambda **kw: keras_rnncr.layers.SimpleRNN(UNITS, **kw),
    "rnn_simple_cell": lambda **kw: keras_rnncr.layers.RNN(
        keras.layers.SimpleRNNCell(UNITS), **kw
    ),
    "gru": lambda **kw: keras_rnncr.layers.GRU(UNITS, **kw),
    "lstm": lambda **kw: keras_rnncr.layers.LSTM(UNITS, **kw),
}


@pytest.mark.parametrize("layer", sorted(OMEGA_LAYERS))
@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"omega": -1.0}, "Received: omega=-1.0"),
        ({"omega": "big"}, "Received: omega='big'"),
        ({"omega": True}, "Received: omega=True"),
        ({"omega": float("nan")}, "Received: omega=nan"),
        ({"omega_ratio": "cubic"}, "Received: omega_ratio='cubic'"),
        ({"omega_metrics": "yes"}, "Received: omega_metrics='yes'"),
        ({"omega_metrics": 1}, "Received: omega_metrics=1"),
        ({"omega_backward": "lazy"}, "Received: omega_backward='lazy'"),
        ({"omega_jit_compile": "yes"}, "Received: omega_jit_compile='yes'"),
        ({"omega_jit_compile": 1}, "Received: omega_jit_compile=1"),
        ({"omega_batch_parts": 0}, "Received: omega_batch_parts=0"),
        ({"omega_batch_parts": 2.0}, "Received: omega_batch_parts=2.0"),
        ({"omega_batch_parts": True}, "Received: omega_batch_parts=True"),
        ({"omega_batch_parts": "many"}, "Received: omega_batch_parts='many'"),
    ],
)
def test_argument_errors(layer, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        OMEGA_LAYERS[layer](**kwargs)


@pytest.mark.parametrize("layer", sorted(OMEGA_LAYERS))
def test_every_omega_layer_takes_the_fused_arguments_with_one_default(layer):
    # The mixin reads omega_backward and omega_jit_compile, so RNN(SimpleRNNCell)
    # takes SimpleRNN's defaults: compiled, streaming loops at a fixed length.
    made = OMEGA_LAYERS[layer](omega=1.0)
    assert made.omega_backward == "auto" and made.omega_jit_compile == "auto"
    config = made.get_config()
    assert config["omega_backward"] == "auto"
    assert config["omega_jit_compile"] == "auto"
    fixed, free = (keras.KerasTensor((n, None, FEATURES)) for n in (STEPS, None))
    assert made._omega_jit(fixed) and not made._omega_jit(free)
    assert made._omega_backward(fixed) == "streaming"
    assert made._omega_backward(free) == "stored"
    chosen = OMEGA_LAYERS[layer](
        omega=1.0, omega_backward="stored", omega_jit_compile=True
    )
    clone = type(chosen).from_config(chosen.get_config())
    assert (clone.omega_backward, clone.omega_jit_compile) == ("stored", True)
    assert made.omega_batch_parts == config["omega_batch_parts"] == "auto"
    split = OMEGA_LAYERS[layer](omega=1.0, omega_batch_parts=np.int64(3))
    clone = type(split).from_config(split.get_config())
    assert clone.omega_batch_parts == 3 and type(clone.omega_batch_parts) is int


def test_jit_compile_auto_follows_a_fixed_length():
    layer = keras_rnncr.layers.SimpleRNN(UNITS, omega=1.0)
    assert layer.omega_jit_compile == "auto"
    assert layer._omega_jit(keras.KerasTensor((STEPS, None, FEATURES)))
    assert not layer._omega_jit(keras.KerasTensor((None, None, FEATURES)))
    never = keras_rnncr.layers.SimpleRNN(UNITS, omega=1.0, omega_jit_compile=False)
    assert not never._omega_jit(keras.KerasTensor((STEPS, None, FEATURES)))
    # omega_backward="auto": streaming when the loops are compiled, else stored.
    assert layer.omega_backward == "auto"
    assert layer._omega_backward(keras.KerasTensor((STEPS, None, FEATURES))) == (
        "streaming"
    )
    assert layer._omega_backward(keras.KerasTensor((None, None, FEATURES))) == (
        "stored"
    )
    assert never._omega_backward(keras.KerasTensor((STEPS, None, FEATURES))) == (
        "stored"
    )


def test_variable_length_batches_compiled_loops_match_graph():
    # Batches of different lengths through one model: compiled loops compile
    # each length once and give the uncompiled loops' updates.
    keras.utils.set_random_seed(15)
    rng = np.random.default_rng(15)
    models = []
    for jit_compile in (True, False):
        inputs = keras.Input((None, FEATURES))
        layer = keras_rnncr.layers.SimpleRNN(
            UNITS, omega=2.0, omega_jit_compile=jit_compile
        )
        model = keras.Model(inputs, keras.layers.Dense(4)(layer(inputs)))
        model.compile(
            "sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        models.append(model)
    _copy_weights(models[0], models[1])
    for length in (5, 8, 5):
        x = rng.normal(size=(6, length, FEATURES))
        y = rng.integers(0, 4, size=(6,))
        for model in models:
            logs = model.train_on_batch(x, y, return_dict=True)
            assert np.isfinite(logs["loss"])
    for u, v in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


def test_setter_validates():
    layer = keras_rnncr.layers.SimpleRNN(UNITS)
    with pytest.raises(
        ValueError, match="Argument `omega` must be a finite float >= 0"
    ):
        layer.omega = -0.5


def test_omega_reads_back_as_given_after_build():
    layer = keras_rnncr.layers.SimpleRNN(UNITS, omega=0.1)
    layer(np.zeros((1, 3, 2), "float32"))
    assert layer.omega == 0.1 and layer.get_config()["omega"] == 0.1
    layer.omega = 1 / 3
    assert layer.omega == 1 / 3


def test_jit_compile_takes_numpy_bools():
    layer = keras_rnncr.layers.SimpleRNN(UNITS, omega=1.0, omega_jit_compile=np.True_)
    assert layer.omega_jit_compile is True


def test_a_list_of_cells_is_refused_when_built():
    cells = [keras.layers.SimpleRNNCell(UNITS), keras.layers.SimpleRNNCell(UNITS)]
    with pytest.raises(ValueError, match="not a list of cells or StackedRNNCells"):
        keras_rnncr.layers.RNN(cells, omega=1.0)
    keras_rnncr.layers.RNN(cells)  # omega=0: Keras's own layer


def test_unsupported_cells_raise_clear_errors():
    class NoKernelCell(keras.layers.Layer):
        state_size = UNITS

        def build(self, input_shape):
            self.w = self.add_weight((input_shape[-1], UNITS))

        def call(self, x, states):
            h = tf.tanh(x @ self.w + states[0])
            return h, [h]

    x, _ = _data()
    layer = keras_rnncr.layers.RNN(NoKernelCell(), omega=1.0)
    with pytest.raises(ValueError, match="`recurrent_kernel`"):
        layer(x, training=True)


def test_a_cell_whose_output_is_not_its_first_state_is_refused():
    class CopyingCell(keras.layers.Layer):
        state_size = UNITS

        def build(self, input_shape):
            self.kernel = self.add_weight((input_shape[-1], UNITS))
            self.recurrent_kernel = self.add_weight((UNITS, UNITS))

        def call(self, x, states):
            h = tf.tanh(x @ self.kernel + states[0] @ self.recurrent_kernel)
            return h * 1.0, [h]

    x, _ = _data()
    layer = keras_rnncr.layers.RNN(CopyingCell(), omega=1.0, name="copying")
    message = (
        r"Layer 'copying': Omega needs a cell whose output is its first state "
        r"\(dE/dh_k must include the output's term\). CopyingCell returns a "
        r"different output."
    )
    with pytest.raises(ValueError, match=message):
        layer(x, training=True)


def test_a_cell_whose_dropout_masks_cannot_be_read_back_is_refused():
    class FreshMaskCell(keras.layers.SimpleRNNCell):
        """Without the mask methods, as a cell drawing masks at every call."""

        get_dropout_mask = get_recurrent_dropout_mask = None

    message = (
        r"Argument `cell` must draw its dropout masks once per sequence through "
        r"`get_dropout_mask` and `get_recurrent_dropout_mask`.*Received: "
        r"cell=FreshMaskCell with dropout=0.2, recurrent_dropout=0.0 and no such"
    )
    with pytest.raises(ValueError, match=message):
        keras_rnncr.layers.RNN(FreshMaskCell(UNITS, dropout=0.2), omega=1.0)
    keras_rnncr.layers.RNN(FreshMaskCell(UNITS), omega=1.0)  # no dropout: fine


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (
            lambda **kw: keras_rnncr.layers.SimpleRNN(UNITS, **kw),
            lambda **kw: keras.layers.SimpleRNN(UNITS, **kw),
        ),
        (
            lambda **kw: keras_rnncr.layers.SimpleRNN(
                UNITS, omega_backward="stored", omega_jit_compile=False, **kw
            ),
            lambda **kw: keras.layers.SimpleRNN(UNITS, **kw),
        ),
        (
            lambda **kw: keras_rnncr.layers.SimpleRNN(UNITS, activation="elu", **kw),
            lambda **kw: keras.layers.SimpleRNN(UNITS, activation="elu", **kw),
        ),
        (
            lambda **kw: keras_rnncr.layers.GRU(UNITS, **kw),
            lambda **kw: keras.layers.GRU(UNITS, **kw),
        ),
        (
            lambda **kw: keras_rnncr.layers.GRU(UNITS, reset_after=False, **kw),
            lambda **kw: keras.layers.GRU(UNITS, reset_after=False, **kw),
        ),
        (
            lambda **kw: keras_rnncr.layers.LSTM(UNITS, **kw),
            lambda **kw: keras.layers.LSTM(UNITS, **kw),
        ),
    ],
    ids=[
        "fused_streaming",
        "fused_stored",
        "generic_simple",
        "gru",
        "gru_reset_before",
        "lstm",
    ],
)
def test_omega_pass_at_zero_with_dropout_trains_as_keras(ours, theirs):
    # Same seed, same masks, same steps: two epochs of two masked batches give
    # Keras's losses and weights (the backward pass draws no new masks).
    x, y = _data(batch=8)
    x = x.astype("float64")
    x[:3, -2:] = 0.0
    kwargs = {"dropout": 0.3, "recurrent_dropout": 0.4, "seed": 5, "dtype": "float64"}
    models = []
    for layer in (ours(omega=0.0, omega_metrics=True, **kwargs), theirs(**kwargs)):
        inputs = keras.Input((STEPS, FEATURES), dtype="float64")
        hidden = layer(keras.layers.Masking(0.0, dtype="float64")(inputs))
        model = keras.Model(inputs, keras.layers.Dense(4, dtype="float64")(hidden))
        model.compile(
            "sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
        models.append(model)
    _copy_weights(models[0], models[1])
    losses = [
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history[
            "loss"
        ]
        for model in models
    ]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-12)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_reference_module_is_independent():
    """The reference must not import the library it checks."""
    assert "keras_rnncr" not in open(ref.__file__).read().split('"""', 2)[2]


# Each Omega layer with the Keras layer it replaces, from the same arguments.
KERAS_TWINS = {
    "simple_rnn": (keras_rnncr.layers.SimpleRNN, keras.layers.SimpleRNN),
    "gru": (keras_rnncr.layers.GRU, keras.layers.GRU),
    "lstm": (keras_rnncr.layers.LSTM, keras.layers.LSTM),
    "rnn_simple_cell": (
        lambda units, omega, **kw: keras_rnncr.layers.RNN(
            keras.layers.SimpleRNNCell(units, **kw), omega=omega
        ),
        lambda units, **kw: keras.layers.RNN(keras.layers.SimpleRNNCell(units, **kw)),
    ),
}


@pytest.mark.parametrize(
    "dropout",
    [{}, {"dropout": 0.3, "recurrent_dropout": 0.4, "seed": 5}],
    ids=["no_dropout", "dropout"],
)
@pytest.mark.parametrize("twin", sorted(KERAS_TWINS))
def test_omega_zero_runs_keras_code_exactly(twin, dropout):
    # Built with omega=0, the layer trains with the Keras layer's own code: the
    # same float32 weights bit for bit after four fit steps, no probe loss, no
    # Omega metric in the logs.
    ours, theirs = KERAS_TWINS[twin]
    x, y = _data(batch=8)
    x[:3, -2:] = 0.0
    models, layers = [], [ours(UNITS, omega=0.0, **dropout), theirs(UNITS, **dropout)]
    for layer in layers:
        inputs = keras.Input((STEPS, FEATURES))
        hidden = layer(keras.layers.Masking(0.0)(inputs))
        models.append(_model_of(inputs, keras.layers.Dense(4)(hidden)))
    _copy_weights(models[0], models[1])
    histories = [
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
        for model in models
    ]
    assert histories[0] == histories[1]  # same losses, and nothing else logged
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not layers[0].omega_metrics and layers[0].omega_tracker is None
    models[0](x, training=True)
    assert not models[0].losses


def _model_of(inputs, outputs):
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


@pytest.mark.parametrize("layer", sorted(OMEGA_LAYERS))
def test_omega_metrics_measures_omega_at_zero_and_alpha_can_rise(layer):
    keras.utils.set_random_seed(16)
    x, y = _data()
    made = OMEGA_LAYERS[layer](omega_metrics=True)
    assert made.omega_metrics and made.get_config()["omega_metrics"] is True
    model = _model(made)
    scheduler = keras_rnncr.callbacks.OmegaScheduler(lambda epoch: float(epoch))
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[scheduler]).history
    assert history[f"{made.name}_omega"][0] > 0
    assert 0 < history[f"{made.name}_omega_valid"][0] <= 1
    assert history[f"{made.name}_alpha"] == [0.0, 1.0] and made.omega == 1.0


def test_alpha_cannot_rise_on_a_layer_built_at_zero():
    layer = keras_rnncr.layers.GRU(UNITS)
    layer.omega = 0.0  # what it has: allowed
    message = (
        r"Argument `omega` must be 0 for layer '\w+', built with omega=0 and "
        r"omega_metrics=False.*omega_metrics=True.*Received: omega=0.5"
    )
    with pytest.raises(ValueError, match=message):
        layer.omega = 0.5
    assert layer.omega == 0.0


def test_config_keeps_the_training_path(tmp_path):
    keras.utils.set_random_seed(17)
    x, y = _data()
    at_zero = keras_rnncr.layers.LSTM(UNITS)
    assert at_zero.get_config()["omega_metrics"] is False
    # Built with omega > 0 and scheduled down to 0: still Omega's pass, which a
    # configuration with omega=0 must not lose.
    decayed = keras_rnncr.layers.SimpleRNN(UNITS, omega=0.5)
    assert decayed.omega_metrics
    decayed.omega = 0.0
    for layer in (at_zero, decayed):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()
        assert clone.omega_metrics == layer.omega_metrics and clone.omega == 0.0
        model = _model(layer)
        model.fit(x, y, epochs=1, verbose=0)
        path = tmp_path / f"{layer.name}.keras"
        model.save(path)
        loaded = keras.models.load_model(path)
        np.testing.assert_array_equal(
            loaded.predict(x, verbose=0), model.predict(x, verbose=0)
        )
        restored = loaded.layers[1]
        assert type(restored) is type(layer)
        assert restored.omega_metrics == layer.omega_metrics
        logs = loaded.fit(x, y, epochs=1, verbose=0).history
        assert (f"{restored.name}_omega" in logs) == layer.omega_metrics


@pytest.mark.parametrize("layer", [keras_rnncr.layers.GRU, keras_rnncr.layers.LSTM])
def test_use_cudnn_true_is_refused_with_the_omega_pass(layer):
    # Keras's layer raises where cuDNN cannot run; Omega's pass never runs it.
    with pytest.raises(ValueError, match=r"`use_cudnn` must be 'auto' or False"):
        layer(UNITS, omega=1.0, use_cudnn=True)
    with pytest.raises(ValueError, match=r"Received: use_cudnn=True"):
        layer(UNITS, omega_metrics=True, use_cudnn=True)
    layer(UNITS, use_cudnn=True)  # omega=0: Keras's layer, its own rules
    layer(UNITS, omega=1.0, use_cudnn=False)


@pytest.mark.parametrize("run_eagerly", [False, True])
@pytest.mark.parametrize("order", ["training_first", "inference_first"])
def test_omega_is_logged_when_a_step_also_calls_the_layer_in_inference(
    order, run_eagerly
):
    # A model that calls the Omega layer in training and, in the same step,
    # with training=False (say a frozen teacher pass on the same weights).

    class TwoPasses(keras.Model):
        def __init__(self):
            super().__init__()
            self.rnn = keras_rnncr.layers.SimpleRNN(UNITS, omega=1.0, name="rnn")
            self.head = keras.layers.Dense(4)

        def call(self, x, training=False):
            if order == "inference_first":
                teacher = self.rnn(x, training=False)
                student = self.rnn(x, training=training)
            else:
                student = self.rnn(x, training=training)
                teacher = self.rnn(x, training=False)
            return self.head(student + 0.0 * keras.ops.stop_gradient(teacher))

    model = TwoPasses()
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        run_eagerly=run_eagerly,
    )
    x, y = _data()
    history = model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0).history
    assert "rnn_omega" in history and min(history["rnn_omega"]) > 0.0
    assert not any(k.startswith("val_rnn_omega") for k in history)
    assert not any("omega" in k for k in model.evaluate(x, y, return_dict=True))


@pytest.mark.parametrize("kind", ["SimpleRNN", "GRU", "LSTM"])
@pytest.mark.parametrize(
    "return_sequences, zero_output_for_mask, go_backwards",
    [(True, False, False), (False, False, True), (True, True, True)],
)
def test_masked_steps_before_the_first_valid_one_output_zeros_as_keras(
    kind, return_sequences, zero_output_for_mask, go_backwards
):
    # The fused loops output the carried state; before a row's first valid
    # step that is the initial state, where Keras outputs zeros (a row fully
    # masked too). The gradient reaching the initial state follows.
    rng = np.random.default_rng(3)
    x = tf.constant(rng.normal(size=(3, 5, FEATURES)), tf.float64)
    mask = tf.constant([[False, False, True, True, False], [False] * 5, [True] * 5])
    state = [tf.constant(rng.normal(size=(3, UNITS)), tf.float64)]
    if kind == "LSTM":
        state.append(tf.constant(rng.normal(size=(3, UNITS)), tf.float64))
    options = dict(
        return_sequences=return_sequences,
        zero_output_for_mask=zero_output_for_mask,
        go_backwards=go_backwards,
        dtype="float64",
    )
    theirs = getattr(keras.layers, kind)(UNITS, **options)
    ours = getattr(keras_rnncr.layers, kind)(UNITS, omega=0.5, **options)
    theirs(x, initial_state=state, mask=mask)
    ours(x, initial_state=state, mask=mask)
    ours.set_weights(theirs.get_weights())
    results = []
    for layer in (theirs, ours):
        with tf.GradientTape() as tape:
            tape.watch(state)
            outputs = layer(x, initial_state=state, mask=mask, training=True)
            loss = tf.reduce_sum(
                outputs * tf.sin(tf.range(outputs.shape[-1], dtype=tf.float64))
            )
        results.append(
            (outputs.numpy(), [g.numpy() for g in tape.gradient(loss, state)])
        )
    (expected, expected_grads), (got, got_grads) = results
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    for a, b in zip(got_grads, expected_grads):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["SimpleRNN", "GRU", "LSTM", "RNN"])
def test_signature_shows_the_keras_arguments_and_omegas(name):
    import inspect

    ours = inspect.signature(getattr(keras_rnncr.layers, name)).parameters
    theirs = inspect.signature(getattr(keras.layers, name)).parameters
    assert list(ours)[: len(theirs) - 1] == list(theirs)[:-1]
    assert "omega" in ours and "omega_batch_parts" in ours
    assert list(ours)[-1] == "kwargs"
    layer = getattr(keras_rnncr.layers, name)(
        keras.layers.GRUCell(2) if name == "RNN" else 2
    )
    # An instance's signature is still its call's, as for Keras's layer.
    assert "omega" not in inspect.signature(layer).parameters
