"""Small deterministic models and data shared by the optimizer tests."""

import keras
import numpy as np

GLOBAL_BATCH = 8


def make_data(seed=0, scale=10.0):
    """Returns `(x, y)`: one global batch of sequences with large targets."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(GLOBAL_BATCH, 5, 3)).astype("float32")
    y = (scale * rng.normal(size=(GLOBAL_BATCH, 1))).astype("float32")
    return x, y


def make_model(seed=0):
    """A SimpleRNN regressor whose weights depend only on `seed`."""
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            keras.layers.SimpleRNN(4, name="rnn"),
            keras.layers.Dense(1, name="out"),
        ]
    )
    rng = np.random.default_rng(seed)
    model.set_weights(
        [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in model.weights]
    )
    return model


def train(optimizer, strategy=None, steps=3, seed=0, **fit_kwargs):
    """Compiles under `strategy`, runs `steps` full-batch steps, returns weights."""
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    x, y = make_data(seed)
    with strategy.scope():
        model = make_model(seed)
        model.compile(optimizer=optimizer(), loss="mse")
    model.fit(
        x,
        y,
        batch_size=GLOBAL_BATCH,
        epochs=steps,
        shuffle=False,
        verbose=0,
        **fit_kwargs,
    )
    return model
