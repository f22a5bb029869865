"""Prototype, not kept: SimpleRNN through the runs pass against its own fused pass.

Needs `simple_rnn_runs_prototype.diff` applied (`git apply`), which adds a
one-gate `"simple"` kind to `_fused_gated`. From the repository root:

    python benchmarks/results/simple_rnn_runs_prototype.py check
    python benchmarks/results/simple_rnn_runs_prototype.py time 100 0 10

`check` prints the largest relative difference of the gradients (float64) of
the two passes; `time T PER_STEP ROUNDS` the best of ROUNDS x 5 `train_on_batch`
steps (ms) of Keras's SimpleRNN, the fused pass ("own") and the runs ("runs"),
batch 64, 128 units, omega=2. See `benchmarks/RESULTS.md`.
"""

import os
import sys
import time

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
import numpy as np
import tensorflow as tf

import keras_rnncr
from keras_rnncr.layers import _fused_gated, _fused_simple_rnn

orig_name, orig_kind = _fused_simple_rnn.activation_name, _fused_gated.cell_kind


def use_runs(on):
    if on:
        _fused_simple_rnn.activation_name = lambda a: None
        _fused_gated.cell_kind = lambda c: (
            "simple" if isinstance(c, keras.layers.SimpleRNNCell) else orig_kind(c)
        )
    else:
        _fused_simple_rnn.activation_name, _fused_gated.cell_kind = orig_name, orig_kind


def grads(runs, dtype="float64", T=23, kw=None):
    if kw is None:
        kw = {}
    use_runs(runs)
    keras.utils.set_random_seed(1)
    layer = keras_rnncr.layers.SimpleRNN(5, omega=3.0, dtype=dtype, **kw)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(3, T, 4)), dtype)
    mask = tf.constant(np.arange(T)[None] < np.array([[T], [T - 4], [5]]))
    layer(x, mask=mask)
    with tf.GradientTape() as tape:
        keras.utils.set_random_seed(4)
        out = layer(x, mask=mask, training=True)
        if kw.get("return_sequences"):
            out = tf.reduce_mean(out, 1)
        loss = tf.reduce_sum(tf.square(out - 0.3)) + tf.add_n(
            [tf.cast(v, dtype) for v in layer.losses]
        )
    g = tape.gradient(loss, layer.trainable_weights)
    use_runs(False)
    return [v.numpy() for v in g], layer.omega_tracker.result()


if sys.argv[1] == "check":
    for kw in [
        {},
        {"return_sequences": True},
        {"activation": "sigmoid", "dropout": 0.2, "recurrent_dropout": 0.3},
        {"activation": "relu", "go_backwards": True},
    ]:
        a, oa = grads(False, kw=kw)
        b, ob = grads(True, kw=kw)
        print(
            kw,
            [float(np.max(np.abs(x - y)) / np.max(np.abs(x))) for x, y in zip(a, b)],
            oa,
            ob,
        )
else:
    T = int(sys.argv[2])
    per_step = sys.argv[3] == "1"
    x = tf.random.normal((64, T, 10))
    y = tf.random.uniform((64, T) if per_step else (64,), 0, 4, tf.int32)
    models = {}
    for name in ["keras", "own", "runs"]:
        use_runs(name == "runs")
        keras.utils.set_random_seed(0)
        layer = (
            keras.layers.SimpleRNN(128, return_sequences=per_step)
            if name == "keras"
            else keras_rnncr.layers.SimpleRNN(128, omega=2.0, return_sequences=per_step)
        )
        inp = keras.Input((T, 10))
        m = keras.Model(inp, keras.layers.Dense(4)(layer(inp)))
        m.compile(
            keras.optimizers.SGD(0.01),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        m.train_on_batch(x, y)
        m.train_on_batch(x, y)
        models[name] = m
        use_runs(False)
    best = {k: 1e9 for k in models}
    for _r in range(int(sys.argv[4]) if len(sys.argv) > 4 else 10):
        for k in models:
            use_runs(k == "runs")
            t = time.perf_counter()
            for _ in range(5):
                models[k].train_on_batch(x, y)
            best[k] = min(best[k], (time.perf_counter() - t) / 5)
            use_runs(False)
    print(
        T,
        per_step,
        {k: round(v * 1e3, 2) for k, v in best.items()},
        {k: round(v / best["keras"], 3) for k, v in best.items()},
    )
