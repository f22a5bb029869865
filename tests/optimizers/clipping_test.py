"""Tests for keras_rnncr.optimizers.ClippedOptimizer on one device."""

import inspect
import json
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from _clipping_models import GLOBAL_BATCH, make_data, make_model, train

from keras_rnncr.callbacks import ClippingLogger
from keras_rnncr.optimizers import (
    AverageNormThreshold,
    ClippedOptimizer,
    PercentileThreshold,
)


def _sgd_step(grads, threshold, **kwargs):
    """One apply of `grads` to zero variables with SGD(lr=1); returns values."""
    variables = [
        keras.Variable(np.zeros_like(g), name=f"v{i}") for i, g in enumerate(grads)
    ]
    optimizer = ClippedOptimizer(keras.optimizers.SGD(1.0), threshold, **kwargs)
    optimizer.apply([tf.constant(g) for g in grads], variables)
    return [-v.numpy() for v in variables], optimizer


# --------------------------------------------------------------- Algorithm 1


def test_clips_global_norm_not_per_tensor():
    grads = [np.array([3.0, 0.0], "float32"), np.array([[0.0, 4.0]], "float32")]
    step, optimizer = _sgd_step(grads, threshold=1.0)
    np.testing.assert_allclose(step[0], [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(step[1], [[0.0, 0.8]], rtol=1e-6)
    stats = optimizer.statistics()
    assert stats["grad_norm"] == pytest.approx(5.0)
    assert stats["clip_threshold"] == 1.0
    assert stats["clipped_steps"] == 1.0


def test_below_threshold_is_unchanged():
    grads = [np.array([0.3, 0.4], "float32")]
    step, optimizer = _sgd_step(grads, threshold=1.0)
    np.testing.assert_allclose(step[0], grads[0])
    assert optimizer.statistics()["clipped_steps"] == 0.0


def test_elementwise_mode():
    grads = [np.array([3.0, -0.5, -7.0], "float32")]
    step, optimizer = _sgd_step(grads, threshold=1.0, mode="elementwise")
    np.testing.assert_allclose(step[0], [1.0, -0.5, -1.0])
    assert optimizer.statistics()["clipped_steps"] == 1.0


def test_sparse_gradients_are_clipped():
    model = keras.Sequential(
        [keras.Input((3,), dtype="int32"), keras.layers.Embedding(10, 4)]
    )
    optimizer = ClippedOptimizer(keras.optimizers.SGD(1.0), threshold=1.0)
    with tf.GradientTape() as tape:
        loss = 100.0 * tf.reduce_sum(model(tf.constant([[1, 2, 3]])))
    grads = tape.gradient(loss, model.trainable_variables)
    assert isinstance(grads[0], tf.IndexedSlices)
    before = model.trainable_variables[0].numpy()
    optimizer.apply(grads, model.trainable_variables)
    delta = before - model.trainable_variables[0].numpy()
    assert np.linalg.norm(delta) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("jit_compile", [False, True])
@pytest.mark.parametrize("mode", ["global_norm", "elementwise"])
def test_repeated_rows_of_sparse_gradients_are_summed_before_clipping(
    mode, jit_compile
):
    # An Embedding looked up twice at id 2: its IndexedSlices gradient holds
    # the row twice; the gradient (and its norm, and its elements) is the sum.
    model = keras.Sequential(
        [keras.Input((4,), dtype="int32"), keras.layers.Embedding(10, 3)]
    )
    ids = tf.constant([[2, 2, 5, 2]])
    weights = tf.constant(np.random.default_rng(0).normal(size=(1, 4, 3)), "float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(weights * model(ids))
    grads = tape.gradient(loss, model.trainable_variables)
    assert isinstance(grads[0], tf.IndexedSlices)
    dense = tf.convert_to_tensor(grads[0]).numpy()
    threshold = 0.1
    if mode == "global_norm":
        expected = dense * min(1.0, threshold / np.linalg.norm(dense))
    else:
        expected = np.clip(dense, -threshold, threshold)
    optimizer = ClippedOptimizer(
        keras.optimizers.SGD(1.0), threshold=threshold, mode=mode
    )
    optimizer.build(model.trainable_variables)
    before = model.trainable_variables[0].numpy()
    variables = model.trainable_variables
    tf.function(lambda: optimizer.apply(grads, variables), jit_compile=jit_compile)()
    applied = before - model.trainable_variables[0].numpy()
    np.testing.assert_allclose(applied, expected, rtol=1e-5, atol=1e-7)
    assert optimizer.statistics()["grad_norm"] == pytest.approx(
        np.linalg.norm(dense), rel=1e-5
    )


@pytest.mark.parametrize("inner", ["adam", "rmsprop"])
def test_repeated_rows_update_as_keras_clipping_does(inner):
    # Keras's sparse Adam/RMSprop update a row that appears twice in an
    # IndexedSlices wrongly; Keras's own clipping hands them dense gradients.
    ids = np.array([[1, 1, 2, 1], [0, 2, 2, 3]])
    targets = np.array([[1.0], [-2.0]], "float32")

    def fit(optimizer):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((4,), dtype="int32"),
                keras.layers.Embedding(5, 3),
                keras.layers.GlobalAveragePooling1D(),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer, "mse")
        model.fit(ids, targets, batch_size=2, epochs=3, shuffle=False, verbose=0)
        return model.get_weights()

    ours = fit(ClippedOptimizer(keras.optimizers.get(inner), threshold=1e9))
    keras_clipped = keras.optimizers.get(
        {"class_name": inner, "config": {"global_clipnorm": 1e9}}
    )
    theirs = fit(keras_clipped)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_float8_scales_are_overwritten_not_clipped():
    rng = np.random.default_rng(0)
    x = 3 * rng.normal(size=(16, 8)).astype("float32")
    y = rng.normal(size=(16, 4)).astype("float32")

    def fit(optimizer):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
        model.quantize("float8")
        model.compile(optimizer, "mse")
        history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
        return model, history.history["loss"]

    ours, our_loss = fit(ClippedOptimizer(keras.optimizers.SGD(0.01), 0.5))
    theirs, their_loss = fit(keras.optimizers.SGD(0.01, global_clipnorm=0.5))
    np.testing.assert_allclose(our_loss, their_loss, rtol=1e-5)
    for a, b in zip(ours.weights, theirs.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, err_msg=a.path)


def test_apply_gradients_returns_the_iterations():
    variable = keras.Variable(np.zeros(2, "float32"))
    optimizer = ClippedOptimizer(keras.optimizers.SGD(1.0), threshold=1.0)
    for step in (1, 2):
        done = optimizer.apply_gradients([(tf.ones(2), variable)])
        assert int(done.numpy()) == step == int(optimizer.iterations.numpy())


def test_a_threshold_that_is_zero_in_float32_is_refused():
    with pytest.raises(ValueError, match="at least float32's smallest positive"):
        ClippedOptimizer(keras.optimizers.SGD(1.0), threshold=1e-46)


# ------------------------------------------------------------- non-finite


@pytest.mark.parametrize("bad", [np.nan, np.inf, 1e11])
def test_skip_leaves_variables_and_counts(bad):
    grads = [np.array([bad, 1.0], "float32"), np.ones((2,), "float32")]
    step, optimizer = _sgd_step(grads, threshold=1.0)
    for s in step:
        np.testing.assert_array_equal(s, 0.0)
    assert optimizer.statistics()["nonfinite_steps"] == 1.0
    assert int(optimizer.iterations.numpy()) == 0


def test_max_finite_norm_is_an_argument():
    grads = [np.array([1e11, 0.0], "float32")]
    step, optimizer = _sgd_step(grads, threshold=1.0, max_finite_norm=None)
    np.testing.assert_allclose(step[0], [1.0, 0.0])
    assert optimizer.statistics()["nonfinite_steps"] == 0.0


def test_shrink_uses_recurrent_kernel_path():
    model = make_model()
    optimizer = ClippedOptimizer(keras.optimizers.SGD(0.5), nonfinite="shrink")
    before = [v.numpy() for v in model.trainable_variables]
    grads = [tf.fill(v.shape, np.nan) for v in model.trainable_variables]
    optimizer.apply(grads, model.trainable_variables)
    names = []
    for v, b in zip(model.trainable_variables, before, strict=True):
        if "recurrent_kernel" in v.path:
            names.append(v.path)
            np.testing.assert_allclose(v.numpy(), (1 - 0.5 * 0.02) * b, rtol=1e-6)
        else:
            np.testing.assert_array_equal(v.numpy(), b)
    assert len(names) == 1 and names[0].endswith("rnn/simple_rnn_cell/recurrent_kernel")


def test_raise_names_the_step():
    optimizer = ClippedOptimizer(keras.optimizers.SGD(0.1), nonfinite="raise")
    variables = [keras.Variable(np.zeros(2, "float32"))]
    optimizer.apply([tf.ones(2)], variables)

    @tf.function
    def step(g):
        optimizer.apply([g], variables)

    step(tf.ones(2))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at step.*2"):
        step(tf.constant([np.nan, 1.0]))
    np.testing.assert_allclose(variables[0].numpy(), [-0.2 / np.sqrt(2)] * 2, rtol=1e-6)
    # Raised in the step: nothing is left pending.
    assert optimizer.statistics()["pending_error"] == 0.0
    optimizer.raise_if_nonfinite()
    with pytest.raises(tf.errors.InvalidArgumentError, match="(?s)at step.*2"):
        optimizer.apply([tf.constant([1.0, np.inf])], variables)  # eager
    np.testing.assert_allclose(variables[0].numpy(), [-0.2 / np.sqrt(2)] * 2, rtol=1e-6)


def _fit_with_nan_batch(
    jit_compile, callbacks=(), batches=3, bad_batch=1, threshold=1.0
):
    """Fits one epoch of `batches` batches, the `bad_batch`-th one NaN."""
    x, y = make_data()
    x, y = np.concatenate([x] * batches), np.concatenate([y] * batches)
    if bad_batch is not None:
        x[bad_batch * GLOBAL_BATCH, 0, 0] = np.nan
    model = make_model()
    optimizer = ClippedOptimizer(
        keras.optimizers.SGD(0.1), threshold=threshold, nonfinite="raise"
    )
    model.compile(optimizer=optimizer, loss="mse", jit_compile=jit_compile)
    model.fit(
        x,
        y,
        batch_size=GLOBAL_BATCH,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=list(callbacks),
    )
    return model


def _assert_weights_after_one_step(model):
    reference = _fit_with_nan_batch(False, batches=1, bad_batch=None)
    for a, b in zip(reference.get_weights(), model.get_weights(), strict=True):
        assert np.all(np.isfinite(b))
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_raise_under_jit_compile_raises_from_clipping_logger():
    models = []

    class Keep(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            models.append(self.model)

    with (
        pytest.warns(UserWarning, match="XLA-compiled step.*ClippingLogger"),
        pytest.raises(
            tf.errors.InvalidArgumentError,
            match=r"global norm nan.*at step 1 .*after batch 1 of epoch 0",
        ),
    ):
        _fit_with_nan_batch(True, callbacks=[Keep(), ClippingLogger()])
    model = models[0]
    _assert_weights_after_one_step(model)
    stats = model.optimizer.statistics()
    assert stats["nonfinite_steps"] == 1.0 and stats["steps"] == 2.0
    assert stats["pending_error_step"] == 1.0
    assert stats["pending_error"] == 0.0  # cleared by raising
    assert int(model.optimizer.iterations.numpy()) == 1


def test_raise_under_jit_compile_without_callback_raises_when_fit_ends():
    models = []

    class Keep(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            models.append(self.model)

    with (
        pytest.warns(UserWarning, match="XLA"),
        pytest.raises(
            tf.errors.InvalidArgumentError,
            match=r"at step 1 .*when training ended.*every later one were skipped",
        ),
    ):
        _fit_with_nan_batch(True, callbacks=[Keep()])
    model = models[0]
    # The finite batch after the NaN one was skipped too, and left the
    # statistics as they were (steps: the finite one and the NaN one).
    _assert_weights_after_one_step(model)
    assert model.optimizer.statistics()["steps"] == 2.0
    assert int(model.optimizer.iterations.numpy()) == 1


def test_steps_skipped_after_a_pending_error_leave_the_threshold_rule_alone():
    models = []

    class Keep(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            models.append(self.model)

    rule = AverageNormThreshold(warmup_steps=1)
    with (
        pytest.warns(UserWarning, match="XLA"),
        pytest.raises(tf.errors.InvalidArgumentError, match="at step 1 "),
    ):
        _fit_with_nan_batch(True, callbacks=[Keep()], batches=4, threshold=rule)
    optimizer = models[0].optimizer
    state = {v.name: v.numpy() for v in optimizer.variables if v.shape == ()}
    # Only the first (finite) step's norm: the NaN step is invalid, the two
    # after it were skipped (before the fix they were counted: 3.0).
    assert state["threshold_count"] == 1.0
    assert state["threshold_mean"] == pytest.approx(
        optimizer.statistics()["grad_norm_sum"]
    )


def test_propagate_lets_nan_through():
    grads = [np.array([np.nan, 1.0], "float32")]
    step, optimizer = _sgd_step(grads, threshold=1.0, nonfinite="propagate")
    assert np.isnan(step[0][0]) and step[0][1] == 1.0


def test_fit_skips_a_nan_batch():
    x, y = make_data()
    x[0, 0, 0] = np.nan
    model = make_model()
    model.compile(optimizer=ClippedOptimizer(keras.optimizers.SGD(0.1)), loss="mse")
    before = model.get_weights()
    history = model.fit(
        x, y, batch_size=GLOBAL_BATCH, epochs=2, verbose=0, callbacks=[ClippingLogger()]
    )
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert history.history["skipped_steps"] == [1.0, 2.0]


# ---------------------------------------------------------- composition


@pytest.mark.slow
def test_jit_compile_matches_eager_graph():
    def clipped():
        return ClippedOptimizer(keras.optimizers.Adam(0.1), threshold="percentile")

    a = train(clipped).get_weights()
    model = make_model()
    model.compile(optimizer=clipped(), loss="mse", jit_compile=True)
    x, y = make_data()
    model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=3, shuffle=False, verbose=0)
    for u, v in zip(a, model.get_weights(), strict=True):
        np.testing.assert_allclose(u, v, atol=1e-5)


@pytest.mark.slow
def test_mixed_float16_clips_after_unscaling():
    def clipped():
        return ClippedOptimizer(keras.optimizers.SGD(0.1), threshold=1.0)

    reference = train(clipped, steps=1).optimizer.statistics()["grad_norm"]
    keras.config.set_dtype_policy("mixed_float16")
    model = train(clipped, steps=4)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    # The first steps overflow float16 at the initial loss scale 2**15 and the
    # LossScaleOptimizer skips them before they reach the wrapper; the first
    # step that arrives starts from the initial weights.
    stats = model.optimizer.inner_optimizer.statistics()
    applied = int(stats["steps"])
    assert applied == 2
    first_norm = stats["grad_norm_sum"] - stats["grad_norm"]
    # Unscaled: the float32 norm, not ~2**15 times larger.
    assert first_norm == pytest.approx(reference, rel=1e-2)
    assert stats["clipped_steps"] == applied
    initial = make_model().get_weights()
    moved = np.sqrt(
        sum(
            np.sum(np.square(a - b))
            for a, b in zip(initial, model.get_weights(), strict=True)
        )
    )
    assert moved <= applied * 0.1 * 1.0 + 1e-3


def test_loss_scale_factor_moves_to_wrapper_and_unscales_first():
    inner = keras.optimizers.SGD(1.0, loss_scale_factor=8.0)
    optimizer = ClippedOptimizer(inner, threshold=1.0)
    assert inner.loss_scale_factor is None
    assert optimizer.loss_scale_factor == 8.0
    variables = [keras.Variable(np.zeros(1, "float32"))]
    optimizer.apply([tf.constant([4.0])], variables)  # unscaled: 0.5 < 1
    np.testing.assert_allclose(variables[0].numpy(), [-0.5])


def test_loss_scale_optimizer_inside_is_an_error():
    inner = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1))
    with pytest.raises(
        ValueError,
        match=r"Argument `inner_optimizer` must not be a `LossScaleOptimizer`.*"
        r"Put the loss-scale optimizer outside instead: "
        r"`LossScaleOptimizer\(ClippedOptimizer\(inner, \.\.\.\)\)`",
    ):
        ClippedOptimizer(inner, threshold=100.0)


@pytest.mark.parametrize("threshold", [1.0, 100.0])
def test_loss_scale_optimizer_outside_steps_as_without_it(threshold):
    """`LossScaleOptimizer(ClippedOptimizer(...))` clips the unscaled gradient."""

    def clipped():
        return ClippedOptimizer(keras.optimizers.SGD(0.1), threshold=threshold)

    def loss_scaled():
        return keras.optimizers.LossScaleOptimizer(clipped())

    reference = train(clipped, steps=2)
    model = train(loss_scaled, steps=2)
    stats = model.optimizer.inner_optimizer.statistics()
    assert stats == pytest.approx(reference.optimizer.statistics(), rel=1e-5)
    assert stats["steps"] == 2.0
    assert stats["clipped_steps"] == (2.0 if threshold == 1.0 else 0.0)
    for a, b in zip(reference.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_step_skipped_by_loss_scale_optimizer_leaves_wrapper_state():
    """An overflowed float16 step never reaches the wrapper's statistics."""
    keras.config.set_dtype_policy("mixed_float16")
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(1, kernel_initializer="ones")]
    )
    wrapper = ClippedOptimizer(keras.optimizers.SGD(1e-6), threshold="average")
    model.compile(optimizer=wrapper, loss="mse")
    # The gradient is ~1e4: times the initial loss scale 2**15, float16 overflows.
    x, y = np.full((4, 3), 100.0, "float32"), np.zeros((4, 1), "float32")
    model.train_on_batch(x, y)
    assert float(model.optimizer.dynamic_scale.numpy()) == 2.0**14  # skipped
    assert not wrapper.clip_stats.numpy().any()
    for variable in wrapper._rule_state.values():
        assert not variable.numpy().any()
    while not wrapper.statistics()["steps"]:
        model.train_on_batch(x, y)
    assert wrapper.statistics()["steps"] == 1.0
    assert int(wrapper.iterations.numpy()) == 1
    assert float(wrapper._rule_state["count"].numpy()) == 1.0
    assert np.isfinite(wrapper.statistics()["grad_norm_sum"])


@pytest.mark.slow
def test_swap_ema_weights_through_loss_scale_optimizer():
    def clipped():
        return ClippedOptimizer(keras.optimizers.Adam(0.1, use_ema=True), threshold=1.0)

    for policy in ("float32", "mixed_float16"):
        keras.config.set_dtype_policy(policy)
        model = train(clipped, callbacks=[keras.callbacks.SwapEMAWeights()])
        ema_optimizer = model.optimizer
        while not hasattr(ema_optimizer, "use_ema") or not ema_optimizer.use_ema:
            ema_optimizer = ema_optimizer.inner_optimizer
        # finalize_variable_values copied the EMA into the model at the end.
        for v, average in zip(
            model.trainable_variables,
            ema_optimizer._model_variables_moving_average,
            strict=True,
        ):
            np.testing.assert_allclose(v.numpy(), average.numpy(), atol=1e-6)
        x, _ = make_data()
        model.evaluate(x, x[:, 0, :1], verbose=0)  # swaps in and out


def test_learning_rate_schedule_and_reduce_lr_on_plateau():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
    optimizer = ClippedOptimizer(keras.optimizers.SGD(schedule))
    train(lambda: optimizer, steps=2)
    assert int(optimizer.iterations.numpy()) == 2
    assert float(optimizer.learning_rate.numpy()) == pytest.approx(0.025)

    optimizer = ClippedOptimizer(keras.optimizers.SGD(0.1))
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=0, min_delta=1e9
    )
    train(lambda: optimizer, steps=2, callbacks=[plateau])
    # Epoch 1 sets the best loss, epoch 2 reduces 0.1 -> 0.05 on the inner.
    assert float(optimizer.inner_optimizer.learning_rate.numpy()) == pytest.approx(0.05)
    optimizer.learning_rate = 0.3
    assert float(optimizer.inner_optimizer.learning_rate.numpy()) == pytest.approx(0.3)


def test_gradient_accumulation_clips_each_micro_batch():
    inner = keras.optimizers.SGD(1.0, gradient_accumulation_steps=2)
    optimizer = ClippedOptimizer(inner, threshold=1.0)
    variables = [keras.Variable(np.zeros(2, "float32"))]
    optimizer.apply([tf.constant([10.0, 0.0])], variables)
    np.testing.assert_array_equal(variables[0].numpy(), [0.0, 0.0])
    optimizer.apply([tf.constant([0.0, 0.5])], variables)
    # Average of the clipped micro-batch gradients [1, 0] and [0, 0.5].
    np.testing.assert_allclose(variables[0].numpy(), [-0.5, -0.25])
    assert int(optimizer.iterations.numpy()) == 1


# -------------------------------------------------------- serialization


def _every_argument():
    return ClippedOptimizer(
        keras.optimizers.Adam(0.01),
        threshold=PercentileThreshold(25.0, history_length=7),
        mode="global_norm",
        nonfinite="shrink",
        max_finite_norm=1e8,
        shrink_factor=0.05,
        name="clip",
    )


def test_get_config_has_every_argument():
    config = _every_argument().get_config()
    parameters = set(inspect.signature(ClippedOptimizer.__init__).parameters)
    assert parameters - {"self", "kwargs"} <= set(config)
    restored = ClippedOptimizer.from_config(config)
    assert restored.get_config() == config
    again = keras.optimizers.deserialize(keras.optimizers.serialize(restored))
    assert isinstance(again.threshold, PercentileThreshold)
    assert again.threshold.history_length == 7


def test_keras_round_trip_restores_inner_and_wrapper_state(tmp_path):
    model = train(_every_argument, steps=3)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.optimizer, ClippedOptimizer)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.optimizer.iterations.numpy()) == 3
    assert loaded.optimizer.statistics() == model.optimizer.statistics()
    # Training continues identically.
    x, y = make_data()
    for m in (model, loaded):
        m.fit(x, y, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("threshold", [1.0, "average"])
@pytest.mark.parametrize("file_name", ["model.keras", "model.weights.h5"])
def test_untrained_compiled_model_round_trip_is_silent(tmp_path, threshold, file_name):
    """Saving before the first step keeps every variable the loaded one has."""

    def compiled():
        model = make_model()
        optimizer = ClippedOptimizer(keras.optimizers.SGD(0.1), threshold=threshold)
        model.compile(optimizer=optimizer, loss="mse")
        return model

    model = compiled()
    path = str(tmp_path / file_name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if file_name.endswith(".keras"):
            model.save(path)
            loaded = keras.models.load_model(path)
        else:
            model.save_weights(path)
            loaded = compiled()
            loaded.optimizer.build(loaded.trainable_variables)
            loaded.load_weights(path)
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    model.optimizer.build(model.trainable_variables)
    saved, restored = model.optimizer.variables, loaded.optimizer.variables
    assert [v.name for v in saved] == [v.name for v in restored]
    for a, b in zip(saved, restored, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x, y = make_data()
    for m in (model, loaded):
        m.fit(x, y, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    assert loaded.optimizer.statistics() == model.optimizer.statistics()


def test_loads_the_earlier_layout_with_inner_variables_in_the_wrapper_entry():
    source = train(_every_argument, steps=2).optimizer
    target = _every_argument()
    target.build(make_model().trainable_variables)
    # Earlier versions saved the inner optimizer's variables after the wrapper's.
    target.load_own_variables(
        {str(i): v.numpy() for i, v in enumerate(source.variables)}
    )
    own = len(target._variables)
    for a, b in zip(source.variables[:own], target.variables[:own], strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert target.statistics() == source.statistics()
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        target.load_own_variables({"0": np.zeros(())})


def test_set_weights_covers_inner_variables():
    source = train(_every_argument, steps=2).optimizer
    target = _every_argument()
    target.build(make_model().trainable_variables)
    target.set_weights([v.numpy() for v in source.variables])
    for a, b in zip(source.variables, target.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_export_serves_without_the_optimizer(tmp_path):
    model = train(_every_argument, steps=1)
    path = str(tmp_path / "exported")
    model.export(path, verbose=False)
    x, _ = make_data()
    reloaded = tf.saved_model.load(path)  # keep a reference: it owns the variables
    served = reloaded.serve(x)
    np.testing.assert_allclose(served, model.predict(x, verbose=0), rtol=1e-6)


# ----------------------------------------------------- argument errors


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"threshold": -1.0},
            ValueError,
            r"Argument `threshold` must be a positive float. Received: threshold=-1.0",
        ),
        ({"threshold": 0}, ValueError, r"Received: threshold=0"),
        ({"threshold": float("inf")}, ValueError, r"Received: threshold=inf"),
        ({"threshold": "median"}, ValueError, r"Received: threshold='median'"),
        ({"threshold": True}, ValueError, r"Received: threshold=True"),
        (
            {"threshold": float("nan")},
            ValueError,
            r"Argument `threshold` must be a positive float. Received: threshold=nan",
        ),
        ({"threshold": np.float32("inf")}, ValueError, r"positive float.*inf"),
        (
            {"threshold": {}},
            ValueError,
            r"Argument `threshold` must be a positive float, a `ThresholdRule` \(or "
            r"its serialized config\).*Received: threshold=\{\}",
        ),
        (
            {"threshold": keras.optimizers.serialize(keras.optimizers.SGD())},
            ValueError,
            r"a `ThresholdRule` \(or its serialized config\)",
        ),
        (
            {"mode": "per_tensor"},
            ValueError,
            r"Argument `mode` must be one of .*Received: mode='per_tensor'",
        ),
        (
            {"mode": "elementwise", "threshold": "zscore"},
            ValueError,
            r"adaptive `threshold` needs `mode='global_norm'`",
        ),
        (
            {"nonfinite": "ignore"},
            ValueError,
            r"Argument `nonfinite` must be one of .*Received: nonfinite='ignore'",
        ),
        (
            {"max_finite_norm": 0.0},
            ValueError,
            r"Argument `max_finite_norm` must be a positive float or None. "
            r"Received: max_finite_norm=0.0",
        ),
        (
            {"max_finite_norm": True},
            ValueError,
            r"Argument `max_finite_norm` must be a positive float or None. "
            r"Received: max_finite_norm=True",
        ),
        (
            {"max_finite_norm": float("inf")},
            ValueError,
            r"must be a positive float or None. Received: max_finite_norm=inf",
        ),
        (
            {"shrink_factor": True},
            ValueError,
            r"Argument `shrink_factor` must be a positive float. "
            r"Received: shrink_factor=True",
        ),
        (
            {"shrink_factor": float("nan")},
            ValueError,
            r"Received: shrink_factor=nan",
        ),
        (
            {"shrink_factor": -0.02},
            ValueError,
            r"Argument `shrink_factor` must be a positive float. "
            r"Received: shrink_factor=-0.02",
        ),
        (
            {"weight_decay": 0.1},
            ValueError,
            r"does not support arguments: `weight_decay`. "
            r"Set them on the `inner_optimizer`",
        ),
    ],
)
def test_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        ClippedOptimizer(keras.optimizers.SGD(0.1), **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": np.float32(0.5)},
        {"threshold": np.int64(2)},
        {"threshold": np.float64(0.5)},
        {"max_finite_norm": np.float32(1e8), "shrink_factor": np.float16(0.5)},
        {"max_finite_norm": np.int64(10**8)},
    ],
)
def test_numpy_scalars_are_numbers(kwargs):
    optimizer = ClippedOptimizer(keras.optimizers.SGD(0.1), **kwargs)
    for name, value in kwargs.items():
        assert type(getattr(optimizer, name)) is float
        assert getattr(optimizer, name) == pytest.approx(float(value))
    json.dumps(optimizer.get_config())


def test_threshold_config_dict_gives_the_rule():
    rule = keras.saving.serialize_keras_object(PercentileThreshold(25.0, 7))
    optimizer = ClippedOptimizer(keras.optimizers.SGD(0.1), threshold=rule)
    assert isinstance(optimizer.threshold, PercentileThreshold)
    assert optimizer.threshold.history_length == 7


def test_inner_optimizer_type_error():
    with pytest.raises(
        TypeError,
        match=r"Argument `inner_optimizer` must be a .*Received: inner_optimizer='sgd'",
    ):
        ClippedOptimizer("sgd")


@pytest.mark.parametrize("arg", ["clipnorm", "global_clipnorm", "clipvalue"])
def test_clipping_on_inner_optimizer_is_an_error(arg):
    with pytest.raises(
        ValueError,
        match=rf"inner optimizer sets `{arg}=2.0`.*before aggregation.*threshold=2.0",
    ):
        ClippedOptimizer(keras.optimizers.SGD(0.1, **{arg: 2.0}))


@pytest.mark.parametrize("max_finite_norm", [1e10, 1e39, None])
def test_an_infinite_gradient_is_skipped_whatever_the_bound(max_finite_norm):
    # 1e39 is inf in float32: the bound no longer let an inf norm pass as
    # finite (threshold / inf = 0, inf * 0 = NaN in the weights).
    variable = keras.Variable(np.ones(2, "float32"))
    optimizer = ClippedOptimizer(
        keras.optimizers.SGD(0.1), max_finite_norm=max_finite_norm
    )
    optimizer.apply([tf.constant([np.inf, 1.0])], [variable])
    np.testing.assert_array_equal(variable.numpy(), [1.0, 1.0])
    assert optimizer.statistics()["nonfinite_steps"] == 1


def test_a_finite_float64_norm_beyond_float32_is_clipped_not_skipped():
    variable = keras.Variable(np.ones(2), dtype="float64")
    optimizer = ClippedOptimizer(
        keras.optimizers.SGD(0.1), threshold=1.0, max_finite_norm=None
    )
    optimizer.apply([tf.constant([1e200, 0.0], tf.float64)], [variable])
    np.testing.assert_allclose(variable.numpy(), [0.9, 1.0], rtol=1e-7)  # lr float32
    statistics = optimizer.statistics()
    assert statistics["nonfinite_steps"] == 0 and statistics["clipped_steps"] == 1
    assert statistics["grad_norm"] == pytest.approx(np.finfo(np.float32).max)
    # The bound is judged on the float64 norm too.
    bounded = ClippedOptimizer(keras.optimizers.SGD(0.1), max_finite_norm=1e100)
    bounded.apply([tf.constant([1e200, 0.0], tf.float64)], [variable])
    assert bounded.statistics()["nonfinite_steps"] == 1


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_gradients_are_scaled_in_float32(dtype):
    # A norm 3.8e7 times the threshold: the scale rounded to 0 in float16.
    size = 400_000
    variable = keras.Variable(np.zeros(size), dtype=dtype)
    optimizer = ClippedOptimizer(keras.optimizers.SGD(1.0), threshold=1.0)
    optimizer.apply([tf.fill([size], tf.constant(60000.0, dtype))], [variable])
    step = -variable.numpy().astype(np.float64)
    expected = (
        np.float64(tf.cast(60000.0, dtype).numpy())
        / optimizer.statistics()["grad_norm"]
    )
    np.testing.assert_allclose(step, expected, rtol=1e-2)
    assert np.linalg.norm(step) == pytest.approx(1.0, rel=1e-2)


def test_exclude_from_weight_decay_reaches_the_inner_optimizer():
    inner = keras.optimizers.AdamW(0.1, weight_decay=0.5)
    optimizer = ClippedOptimizer(inner)
    kernel = keras.Variable(np.ones(2, "float32"), name="kernel")
    bias = keras.Variable(np.ones(2, "float32"), name="bias")
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    optimizer.apply([tf.zeros(2), tf.zeros(2)], [kernel, bias])
    np.testing.assert_array_equal(bias.numpy(), [1.0, 1.0])
    assert np.all(kernel.numpy() < 1.0)


def test_a_finite_float32_gradient_whose_squares_overflow_is_clipped():
    variable = keras.Variable(np.ones(3, "float32"))
    optimizer = ClippedOptimizer(
        keras.optimizers.SGD(0.1), threshold=1.0, max_finite_norm=None
    )
    optimizer.apply([tf.constant([3e20, 4e20, 0.0])], [variable])
    np.testing.assert_allclose(variable.numpy(), [0.94, 0.92, 1.0], rtol=1e-6)
    assert optimizer.statistics()["grad_norm"] == pytest.approx(5e20, rel=1e-6)


def test_an_infinite_element_gives_an_infinite_norm():
    from keras_rnncr.optimizers import _math

    norm = _math.global_norm([tf.constant([1.0, np.inf]), tf.constant([2.0])])
    assert np.isposinf(norm.numpy())
    norm = _math.global_norm([tf.constant([1.0, np.nan])])
    assert np.isnan(norm.numpy())
