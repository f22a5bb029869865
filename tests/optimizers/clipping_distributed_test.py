"""ClippedOptimizer under MirroredStrategy on 2 logical CPU devices."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from _clipping_models import make_model, train

from keras_rnncr.callbacks import ClippingLogger
from keras_rnncr.optimizers import ClippedOptimizer


def _max_diff(a, b):
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b, strict=True))


def _clipped_sgd():
    return ClippedOptimizer(keras.optimizers.SGD(0.1), threshold=1.0)


@pytest.mark.slow
def test_two_replicas_take_the_one_device_step(mirrored):
    one = train(_clipped_sgd, callbacks=[ClippingLogger()])
    two = train(_clipped_sgd, mirrored, callbacks=[ClippingLogger()])
    assert _max_diff(one.get_weights(), two.get_weights()) < 1e-6
    # Clipping was active at every step, and the norm is that of the global
    # batch on both (not summed, not local).
    assert two.history.history["clipped"] == [1.0, 1.0, 1.0]
    np.testing.assert_allclose(
        two.history.history["grad_norm"], one.history.history["grad_norm"], rtol=1e-5
    )
    assert one.optimizer.statistics() == pytest.approx(two.optimizer.statistics())
    assert int(two.optimizer.iterations.numpy()) == 3


@pytest.mark.slow
def test_keras_global_clipnorm_does_not_match_one_device(mirrored):
    """Keras 3 clips each replica's local gradient before aggregation."""

    def keras_sgd():
        return keras.optimizers.SGD(0.1, global_clipnorm=1.0)

    one = train(keras_sgd).get_weights()
    two = train(keras_sgd, mirrored).get_weights()
    assert _max_diff(one, two) > 1e-2


@pytest.mark.slow
def test_under_loss_scale_optimizer_on_two_replicas(mirrored):
    def lso():
        return keras.optimizers.LossScaleOptimizer(_clipped_sgd(), initial_scale=64.0)

    one = train(_clipped_sgd).get_weights()
    two = train(lso, mirrored).get_weights()
    assert _max_diff(one, two) < 1e-6


def _step_with_one_bad_replica(strategy, nonfinite, bad_value=np.nan):
    """Applies gradients of ones on replica 0 and `bad_value` on replica 1."""
    with strategy.scope():
        model = make_model()
        optimizer = ClippedOptimizer(
            keras.optimizers.SGD(0.5), threshold=100.0, nonfinite=nonfinite
        )
        optimizer.build(model.trainable_variables)
    before = [v.numpy() for v in model.trainable_variables]

    @tf.function
    def step():
        def replica_fn():
            replica = tf.distribute.get_replica_context().replica_id_in_sync_group
            fill = tf.where(replica == 1, bad_value, 1.0)
            grads = [fill * tf.ones_like(v) for v in model.trainable_variables]
            optimizer.apply(grads, model.trainable_variables)

        strategy.run(replica_fn)

    step()
    return model, optimizer, before


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_one_bad_replica_skip_leaves_every_weight(mirrored, bad_value):
    model, optimizer, before = _step_with_one_bad_replica(mirrored, "skip", bad_value)
    for v, b in zip(model.trainable_variables, before, strict=True):
        np.testing.assert_array_equal(v.numpy(), b)
    assert optimizer.statistics()["nonfinite_steps"] == 1.0
    assert int(optimizer.iterations.numpy()) == 0


def test_one_bad_replica_shrink_only_shrinks_recurrent_kernel(mirrored):
    model, optimizer, before = _step_with_one_bad_replica(mirrored, "shrink")
    for v, b in zip(model.trainable_variables, before, strict=True):
        assert np.all(np.isfinite(v.numpy()))
        if "recurrent_kernel" in v.path:
            np.testing.assert_allclose(v.numpy(), (1 - 0.5 * 0.02) * b, rtol=1e-6)
        else:
            np.testing.assert_array_equal(v.numpy(), b)
    assert optimizer.statistics()["nonfinite_steps"] == 1.0


def test_one_bad_replica_raise(mirrored):
    with pytest.raises(tf.errors.InvalidArgumentError, match="non-finite gradient"):
        _step_with_one_bad_replica(mirrored, "raise")


def test_one_bad_replica_propagate_poisons_weights(mirrored):
    model, optimizer, _ = _step_with_one_bad_replica(mirrored, "propagate")
    assert all(np.all(np.isnan(v.numpy())) for v in model.trainable_variables)
    assert optimizer.statistics()["nonfinite_steps"] == 1.0


def test_good_replicas_step_is_clipped_global_gradient(mirrored):
    """Both replicas send ones: the global gradient is 2s, clipped to norm 100."""
    model, optimizer, before = _step_with_one_bad_replica(mirrored, "skip", 1.0)
    count = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    norm = 2.0 * np.sqrt(count)
    scale = min(1.0, 100.0 / norm)
    for v, b in zip(model.trainable_variables, before, strict=True):
        np.testing.assert_allclose(v.numpy(), b - 0.5 * 2.0 * scale, rtol=1e-5)
    assert optimizer.statistics()["grad_norm"] == pytest.approx(norm, rel=1e-6)


@pytest.mark.parametrize("nonfinite", ["skip", "raise"])
def test_mirrored_strategy_with_one_replica(nonfinite):
    # MirroredStrategy on one device (a one-GPU or CPU-only machine) still
    # synchronises by merge calls, which a cond in replica context cannot hold.
    one = train(_clipped_sgd).get_weights()
    strategy = tf.distribute.MirroredStrategy(
        [tf.config.list_logical_devices("CPU")[0].name]
    )

    def clipped():
        return ClippedOptimizer(keras.optimizers.SGD(0.1), 1.0, nonfinite=nonfinite)

    assert _max_diff(one, train(clipped, strategy).get_weights()) < 1e-6


def test_embedding_on_two_replicas_takes_the_one_device_step(mirrored):
    # Replicas look up different rows: sparse gradients of different sizes.
    ids = np.array([[0, 1, 1, 2], [3, 3, 3, 3], [4, 0, 4, 0], [1, 2, 3, 4]] * 2)
    targets = np.arange(8, dtype="float32")[:, None]

    def run(strategy):
        with strategy.scope():
            model = keras.Sequential(
                [
                    keras.Input((4,), dtype="int32"),
                    keras.layers.Embedding(5, 3, name="embed"),
                    keras.layers.GlobalAveragePooling1D(),
                    keras.layers.Dense(1),
                ]
            )
            model.set_weights([np.full(w.shape, 0.1, "float32") for w in model.weights])
            model.compile(_clipped_sgd(), "mse")
        model.fit(ids, targets, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return model.get_weights()

    one = run(tf.distribute.get_strategy())
    assert _max_diff(one, run(mirrored)) < 1e-6
