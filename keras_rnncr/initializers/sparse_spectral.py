"""Sparse recurrent kernel rescaled to a target spectral radius (smart tanh init)."""

import keras
import numpy as np
import tensorflow as tf

from keras_rnncr import _validation


@keras.saving.register_keras_serializable(package="keras_rnncr")
class SparseSpectral(keras.initializers.Initializer):
    """Sparse Gaussian square matrix rescaled to a given spectral radius.

    The recurrent-kernel part of the "smart tanh" initialisation of
    Pascanu, Mikolov & Bengio, ICML 2013, §4.1.1, following the released code
    (github.com/pascanur/trainingRNNs, `RNN.py`, `init == 'smart_tanh'`):

    ```python
    w = normal(0, stddev, (n, n))
    for each row i: keep num_nonzero random entries of w[i], zero the rest
    w = spectral_radius * w / max(abs(eigvals(w)))
    ```

    Note: the paper speaks of 15 non-zero *incoming* connections per unit;
    the code sparsifies the *rows* of `W_hh` in `h_t = act(h_{t-1} W_hh + ...)`,
    i.e. each unit's outgoing weights. Keras' `recurrent_kernel` has the same
    orientation as `W_hh`, so rows are sparsified here, as in the code. The
    values differ from the code's, whose draws share one RNG with the other
    weights. Because of the final rescaling, `stddev` only affects rounding.

    Args:
        num_nonzero: int, non-zero entries kept in each row. Defaults to 15;
            rows keep all entries when the matrix has fewer columns.
        spectral_radius: float, largest eigenvalue modulus of the result.
            Defaults to 0.95.
        stddev: float, standard deviation of the Gaussian draw. Defaults to
            0.01.
        seed: int or None. An int seed gives the same matrix on every call;
            None draws a new matrix each call (from numpy's global RNG, so
            `keras.utils.set_random_seed` makes it reproducible).

    Example:

    >>> initializer = SparseSpectral(seed=0)
    >>> weights = initializer((50, 50))
    >>> layer = keras.layers.SimpleRNN(50, recurrent_initializer=initializer)
    """

    def __init__(self, num_nonzero=15, spectral_radius=0.95, stddev=0.01, seed=None):
        self.num_nonzero = _validation.check_positive_int("num_nonzero", num_nonzero)
        self.spectral_radius = _validation.check_positive_float(
            "spectral_radius", spectral_radius
        )
        self.stddev = _validation.check_positive_float("stddev", stddev)
        self.seed = _validation.check_seed(seed)

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(
                "`SparseSpectral` initializes square recurrent kernels and needs "
                f"a shape (units, units). Received: shape={shape}"
            )
        size = shape[0]
        seed = self.seed if self.seed is not None else np.random.randint(2**31 - 1)
        rng = np.random.default_rng(seed)
        weights = rng.normal(0.0, self.stddev, size=shape)
        if self.num_nonzero < size:
            order = np.argsort(rng.random(shape), axis=1)
            weights[np.arange(size)[:, None], order[:, self.num_nonzero :]] = 0.0
        radius = np.max(np.abs(np.linalg.eigvals(weights)))
        if 0 < radius < np.inf:
            weights *= self.spectral_radius / radius
        if not (0 < radius < np.inf and np.isfinite(weights).all()):
            raise ValueError(
                f"Argument `stddev` is too small or too large for float64: the "
                f"drawn matrix has spectral radius {radius}, which cannot be "
                f"rescaled. Received: stddev={self.stddev!r}"
            )
        dtype = keras.backend.standardize_dtype(dtype or keras.backend.floatx())
        if not np.abs(weights).max() <= tf.as_dtype(dtype).max:
            raise ValueError(
                f"Argument `spectral_radius` gives weights beyond the range of "
                f"{dtype} ({np.abs(weights).max():.3g}). Received: "
                f"spectral_radius={self.spectral_radius!r}"
            )
        return keras.ops.convert_to_tensor(weights, dtype=dtype)

    def get_config(self):
        return {
            "num_nonzero": self.num_nonzero,
            "spectral_radius": self.spectral_radius,
            "stddev": self.stddev,
            "seed": self.seed,
        }
