"""Tests for keras_rnncr.callbacks.RNNDiagnostics, read back from the event files."""

import collections
import glob

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnncr import layers
from keras_rnncr.callbacks import (
    ClippingLogger,
    RNNDiagnostics,
    SpectralRadiusLogger,
    recurrent_spectral_radii,
)
from keras_rnncr.optimizers import ClippedOptimizer

CLIPPING = ("grad_norm", "clip_threshold", "clipped", "skipped_steps")


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 5, 2)).astype("float32")
    y = (10 * rng.normal(size=(12, 1))).astype("float32")
    return x, y


def _model(recurrent, optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5, 2)), recurrent, keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    return model


def _clipped(threshold=1e-3):
    return ClippedOptimizer(keras.optimizers.SGD(0.01), threshold=threshold)


def _read(log_dir):
    """{tag: {step: value}} from the event files under `log_dir/train`."""
    scalars = collections.defaultdict(dict)
    for path in glob.glob(str(log_dir / "train" / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                assert value.metadata.plugin_data.plugin_name == "scalars"
                scalars[value.tag][event.step] = float(tf.make_ndarray(value.tensor))
    return scalars


def test_epoch_scalars_match_the_loggers_and_the_kernel(tmp_path):
    x, y = _data()
    model = _model(layers.SimpleRNN(3, omega=1.0, name="rnn"), _clipped())
    history = model.fit(
        x,
        y,
        batch_size=4,
        epochs=2,
        shuffle=False,
        verbose=0,
        callbacks=[
            RNNDiagnostics(tmp_path),
            ClippingLogger(),
            SpectralRadiusLogger(),
        ],
    )
    written = _read(tmp_path)
    # Omega is a metric in the logs: keras.callbacks.TensorBoard writes it.
    assert "epoch_rnn_omega" not in written and "epoch_rnn_omega_valid" not in written
    for name in CLIPPING + ("rnn_spectral_radius",):
        assert written[f"epoch_{name}"] == pytest.approx(
            dict(enumerate(history.history[name])), rel=1e-6
        )
    # The threshold 1e-3 is below every norm: each step is clipped.
    assert written["epoch_clipped"] == {0: 1.0, 1: 1.0}
    assert written["epoch_skipped_steps"] == {0: 0.0, 1: 0.0}
    assert written["epoch_last_grad_norm"][1] == pytest.approx(
        model.optimizer.statistics()["grad_norm"], rel=1e-6
    )
    kernel = model.layers[0].cell.recurrent_kernel.numpy()
    assert written["epoch_rnn_spectral_radius"][1] == pytest.approx(
        max(abs(np.linalg.eigvals(kernel))), rel=1e-6
    )
    assert not any(tag.startswith("batch_") for tag in written)


def test_batch_scalars_every_n_batches(tmp_path):
    x, y = _data()
    seen = []

    class Recorder(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(dict(logs))

    model = _model(layers.SimpleRNN(3, omega=1.0, name="rnn"), _clipped())
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=2,
        shuffle=False,
        verbose=0,
        callbacks=[
            RNNDiagnostics(tmp_path, update_freq=2),
            ClippingLogger(),
            Recorder(),
        ],
    )
    written = _read(tmp_path)
    # 3 batches per epoch, 6 in all, counted from 1 across epochs.
    for name in CLIPPING + ("last_grad_norm", "rnn_spectral_radius"):
        assert sorted(written[f"batch_{name}"]) == [2, 4, 6]
    assert "batch_rnn_omega" not in written  # in the logs, for TensorBoard
    for step in (2, 4, 6):
        for name in CLIPPING:
            assert written[f"batch_{name}"][step] == pytest.approx(
                seen[step - 1][name], rel=1e-6
            )
    assert written["batch_last_grad_norm"][6] == pytest.approx(
        model.optimizer.statistics()["grad_norm"], rel=1e-6
    )


def test_logs_are_left_unchanged(tmp_path):
    x, y = _data()
    model = _model(keras.layers.SimpleRNN(3, name="rnn"), _clipped())
    history = model.fit(
        x, y, epochs=1, verbose=0, callbacks=[RNNDiagnostics(tmp_path, "batch")]
    )
    assert set(history.history) == {"loss"}
    assert {"batch_grad_norm", "epoch_rnn_spectral_radius"} <= set(_read(tmp_path))


def test_without_clipped_optimizer_writes_the_rest(tmp_path):
    x, y = _data()
    model = _model(
        layers.RNN(keras.layers.SimpleRNNCell(3), omega=0.5, name="cell_rnn"),
        keras.optimizers.SGD(0.01),
    )
    model.fit(x, y, epochs=1, verbose=0, callbacks=[RNNDiagnostics(tmp_path)])
    assert set(_read(tmp_path)) == {"epoch_cell_rnn_spectral_radius"}


class _ScalarSummary:
    """`tf.summary` whose `scalar` needs no tensorboard package.

    `tf.summary.scalar` comes from tensorboard; without it, this writes the
    same event (value and scalars-plugin metadata) with `tf.summary.write`.
    """

    def __getattr__(self, name):
        return getattr(tf.summary, name)

    def scalar(self, name, data, step=None, description=None):
        metadata = tf.compat.v1.SummaryMetadata(
            plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars")
        )
        value = tf.constant(float(np.asarray(data)), tf.float32)
        return tf.summary.write(name, value, step=step, metadata=metadata)


def _board(log_dir, update_freq):
    board = keras.callbacks.TensorBoard(
        str(log_dir), update_freq=update_freq, write_graph=False
    )
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        board._summary_module = _ScalarSummary()
    return board


def _counts(log_dir):
    """Counter of `(tag, step)` over the event files under `log_dir/train`."""
    counts = collections.Counter()
    for path in glob.glob(str(log_dir / "train" / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            counts.update((value.tag, event.step) for value in event.summary.value)
    return counts


@pytest.mark.parametrize("update_freq", ["epoch", 2, 3])
def test_beside_tensorboard_each_scalar_is_written_once(tmp_path, update_freq):
    x, y = _data()
    model = _model(layers.SimpleRNN(3, omega=1.0, name="rnn"), _clipped())
    # 4 batches per epoch, 3 epochs: with update_freq=3, TensorBoard leaves
    # `record_if(batch % 3 == 0)` in force between its batches, which must not
    # drop the diagnostics' own scalars.
    model.fit(
        x,
        y,
        batch_size=3,
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=[
            _board(tmp_path, update_freq),
            RNNDiagnostics(tmp_path, update_freq=update_freq),
        ],
    )
    counts = _counts(tmp_path)
    for epoch in range(3):
        if update_freq != 3:  # Keras's own epoch scalars are dropped there
            for name in ("rnn_omega", "rnn_omega_valid", "loss"):  # TensorBoard's
                assert counts[(f"epoch_{name}", epoch)] == 1
        for name in CLIPPING + ("last_grad_norm", "rnn_spectral_radius"):
            assert counts[(f"epoch_{name}", epoch)] == 1, (name, epoch)
    if update_freq != "epoch":
        steps = range(update_freq, 13, update_freq)
        for name in CLIPPING + ("last_grad_norm", "rnn_spectral_radius"):
            assert sorted(s for t, s in counts if t == f"batch_{name}") == list(steps)
    assert max(counts.values()) == 1, [k for k, n in counts.items() if n > 1]


@pytest.mark.parametrize("order", ["logger first", "logger after"])
def test_writes_its_scalars_whatever_the_order_of_the_loggers(tmp_path, order):
    x, y = _data()
    model = _model(layers.SimpleRNN(3, omega=1.0, name="rnn"), _clipped())
    loggers = [ClippingLogger(), SpectralRadiusLogger()]
    diagnostics = RNNDiagnostics(tmp_path)
    callbacks = (
        loggers + [diagnostics] if order == "logger first" else [diagnostics] + loggers
    )
    if order == "logger first":
        with pytest.warns(UserWarning, match="also in the fit logs"):
            history = model.fit(
                x, y, batch_size=4, epochs=2, verbose=0, callbacks=callbacks
            )
    else:
        history = model.fit(
            x, y, batch_size=4, epochs=2, verbose=0, callbacks=callbacks
        )
    written = _read(tmp_path)
    for name in CLIPPING + ("rnn_spectral_radius",):
        assert written[f"epoch_{name}"] == pytest.approx(
            dict(enumerate(history.history[name])), rel=1e-6
        )


@pytest.mark.parametrize(
    "layer_class, gates", [(layers.GRU, "zrh"), (layers.LSTM, "ifco")]
)
def test_gated_kernels_give_one_radius_per_gate(layer_class, gates):
    units = 3
    model = _model(layer_class(units, name="gated"), "sgd")
    # Gate g's block is (g + 1) / 4 times a rotation: radius (g + 1) / 4.
    rotation = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    kernel = np.concatenate([(g + 1) / 4 * rotation for g in range(len(gates))], axis=1)
    model.layers[0].cell.recurrent_kernel.assign(kernel)
    radii = recurrent_spectral_radii(model)
    assert radii == pytest.approx(
        {f"gated_spectral_radius_{gate}": (g + 1) / 4 for g, gate in enumerate(gates)}
    )


def test_bidirectional_layers_are_found():
    model = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.Bidirectional(layers.SimpleRNN(3))]
    )
    assert len(recurrent_spectral_radii(model)) == 2


def test_layers_of_nested_models_are_found():
    encoder = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.SimpleRNN(3, name="rnn")], name="encoder"
    )
    inputs = keras.Input((5, 2))
    model = keras.Model(inputs, keras.layers.Dense(1)(encoder(inputs)))
    kernel = encoder.get_layer("rnn").cell.recurrent_kernel.numpy()
    expected = np.max(np.abs(np.linalg.eigvals(kernel)))
    assert recurrent_spectral_radii(model) == pytest.approx(
        {"rnn_spectral_radius": expected}
    )


def test_subclassed_gated_cells_give_one_radius_per_gate():
    class MyGRUCell(keras.layers.GRUCell):
        pass

    model = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.RNN(MyGRUCell(3), name="gated")]
    )
    assert sorted(recurrent_spectral_radii(model)) == [
        f"gated_spectral_radius_{gate}" for gate in "hrz"
    ]


def test_config_round_trip(tmp_path):
    callback = RNNDiagnostics(tmp_path / "logs", update_freq=5)
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(callback)
    )
    assert isinstance(restored, RNNDiagnostics)
    assert restored.get_config() == {
        "log_dir": str(tmp_path / "logs"),
        "update_freq": 5,
    }


def test_rejects_a_log_dir_that_is_not_a_path():
    with pytest.raises(
        TypeError, match=r"Argument `log_dir` must be a string or a path. Received"
    ):
        RNNDiagnostics(log_dir=3)
    with pytest.raises(ValueError, match=r"Argument `log_dir` must name a directory"):
        RNNDiagnostics(log_dir="")


@pytest.mark.parametrize(
    "update_freq", ["step", 0, -1, True, 1.5, np.array([1, 2]), np.array("epoch")]
)
def test_rejects_a_bad_update_freq(update_freq):
    with pytest.raises(
        ValueError,
        match=r"Argument `update_freq` must be 'epoch', 'batch' or a positive "
        r"integer. Received: update_freq=",
    ):
        RNNDiagnostics(update_freq=update_freq)


def test_same_named_layers_of_two_nested_models_keep_both_radii():
    def encoder(name, scale):
        inputs = keras.Input((5, 2))
        rnn = keras.layers.SimpleRNN(2, name="rnn")
        model = keras.Model(inputs, rnn(inputs), name=name)
        rnn.cell.recurrent_kernel.assign(scale * np.eye(2))
        return model

    inputs = keras.Input((5, 2))
    first, second = encoder("first", 0.5), encoder("second", 2.0)
    model = keras.Model(inputs, [first(inputs), second(inputs)])
    assert recurrent_spectral_radii(model) == pytest.approx(
        {"first/rnn_spectral_radius": 0.5, "second/rnn_spectral_radius": 2.0}
    )


def test_layers_held_by_a_custom_layer_are_found():
    class Encoder(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.blocks = {"rnn": layers.SimpleRNN(3, omega=0.5, name="inner_rnn")}

        def call(self, inputs):
            return self.blocks["rnn"](inputs)

    model = _model(Encoder(), "sgd")
    kernel = model.layers[0].blocks["rnn"].cell.recurrent_kernel.numpy()
    assert recurrent_spectral_radii(model) == pytest.approx(
        {"inner_rnn_spectral_radius": max(abs(np.linalg.eigvals(kernel)))}
    )


def test_a_model_without_recurrent_layers_warns(tmp_path):
    x, y = np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.warns(UserWarning, match="SpectralRadiusLogger: model .* has no layer"):
        model.fit(x, y, verbose=0, callbacks=[SpectralRadiusLogger()])
    with pytest.warns(UserWarning, match="RNNDiagnostics: model .* has neither"):
        model.fit(x, y, verbose=0, callbacks=[RNNDiagnostics(tmp_path)])
