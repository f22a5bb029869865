"""Tests for keras_rnncr.callbacks.ClippingLogger (fit logs, History, TensorBoard)."""

import glob

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnncr.callbacks import ClippingLogger
from keras_rnncr.optimizers import ClippedOptimizer

KEYS = ("grad_norm", "clip_threshold", "clipped", "skipped_steps")


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4, 2)).astype("float32")
    y = (10 * rng.normal(size=(16, 1))).astype("float32")
    return x, y


def _model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4, 2)), keras.layers.SimpleRNN(3), keras.layers.Dense(1)]
    )
    model.compile(optimizer=optimizer, loss="mse")
    return model


def test_logs_reach_history_and_progress_bar(capsys):
    x, y = _data()
    x[8, 0, 0] = np.nan  # second batch of the first epoch is non-finite
    model = _model(ClippedOptimizer(keras.optimizers.SGD(0.01), threshold=1.0))
    history = model.fit(
        x,
        y,
        batch_size=8,
        epochs=2,
        shuffle=False,
        verbose=1,
        callbacks=[ClippingLogger()],
    )
    printed = capsys.readouterr().out
    for key in KEYS:
        assert f"{key}:" in printed
        assert len(history.history[key]) == 2
    assert history.history["skipped_steps"] == [1.0, 2.0]
    # Both finite steps were clipped; the non-finite ones do not count.
    assert history.history["clipped"] == [0.5, 0.5]
    assert history.history["clip_threshold"] == [1.0, 1.0]
    # grad_norm is the mean over each epoch's finite steps (one per epoch here).
    stats = model.optimizer.statistics()
    assert np.isnan(stats["grad_norm"])  # the last step's norm
    assert sum(history.history["grad_norm"]) == pytest.approx(stats["grad_norm_sum"])


def test_per_batch_logs_match_the_optimizer():
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((dict(logs), self.model.optimizer.statistics()))

    x, y = _data()
    model = _model(ClippedOptimizer(keras.optimizers.SGD(0.01), threshold=5.0))
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[ClippingLogger(), Recorder()],
    )
    norms = []
    for logs, stats in seen:
        norms.append(stats["grad_norm"])
        assert logs["grad_norm"] == pytest.approx(np.mean(norms))  # epoch mean so far
        assert logs["clip_threshold"] == 5.0


class _RecordingSummary:
    """Stands in for `tf.summary` when the tensorboard package is missing."""

    def __init__(self):
        self.names = set()

    def __getattr__(self, name):
        return getattr(tf.summary, name)

    def scalar(self, name, data, step=None, description=None):
        self.names.add(name)
        return True


def test_tensorboard_after_the_logger_gets_the_values(tmp_path):
    x, y = _data()
    model = _model(ClippedOptimizer(keras.optimizers.SGD(0.01), threshold=1.0))
    board = keras.callbacks.TensorBoard(str(tmp_path), update_freq=1)
    try:
        import tensorboard  # noqa: F401

        recorder = None
    except ImportError:
        # tf.summary.scalar cannot write without tensorboard: record what the
        # callback asks it to write (through its summary-module attribute).
        recorder = board._summary_module = _RecordingSummary()
    model.fit(
        x, y, batch_size=8, epochs=2, verbose=0, callbacks=[ClippingLogger(), board]
    )
    if recorder is None:
        written = set()
        for path in glob.glob(str(tmp_path / "train" / "events.out.tfevents.*")):
            for event in tf.compat.v1.train.summary_iterator(path):
                written.update(value.tag for value in event.summary.value)
    else:
        written = recorder.names
    for key in KEYS:
        assert f"epoch_{key}" in written
        assert f"batch_{key}" in written


def test_finds_the_wrapper_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_float16")
    try:
        x, y = _data()
        model = _model(ClippedOptimizer(keras.optimizers.SGD(0.01), threshold=1.0))
        history = model.fit(
            x, y, batch_size=8, epochs=1, verbose=0, callbacks=[ClippingLogger()]
        )
    finally:
        keras.config.set_dtype_policy("float32")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert set(KEYS) <= set(history.history)


def test_needs_a_clipped_optimizer():
    x, y = _data()
    model = _model(keras.optimizers.SGD(0.01))
    with pytest.raises(
        ValueError,
        match="ClippingLogger needs a model compiled with a `ClippedOptimizer`",
    ):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ClippingLogger()])
