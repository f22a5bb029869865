"""A callback that logs the spectral radius of every recurrent kernel."""

import warnings

import keras
import numpy as np

from keras_rnncr.callbacks import _config
from keras_rnncr.callbacks._layers import layer_paths

# Keras's gate order in the columns of `recurrent_kernel`.
GATES = {
    keras.layers.GRUCell: ("z", "r", "h"),
    keras.layers.LSTMCell: ("i", "f", "c", "o"),
}


def spectral_radius(matrix):
    """Largest absolute eigenvalue of a square matrix (numpy)."""
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(matrix, "float64")))))


@keras.saving.register_keras_serializable(package="keras_rnncr")
class SpectralRadiusLogger(_config.ConfigMixin, keras.callbacks.Callback):
    """Writes `<layer>_spectral_radius` of each recurrent kernel to the epoch logs.

    The spectral radius rho(W_rec) decides whether gradients vanish (rho below
    1/gamma) or may explode (Pascanu, Mikolov & Bengio, ICML 2013, §2.1); the
    released code logs it at every check. Layers are every layer of the model
    whose cell has a `recurrent_kernel`; see `recurrent_spectral_radii` for the
    names (one per gate for GRU and LSTM).
    """

    def on_train_begin(self, logs=None):
        if not has_recurrent_kernels(self.model):
            warnings.warn(
                f"SpectralRadiusLogger: model {self.model.name!r} has no layer "
                "whose cell has a `recurrent_kernel`; nothing will be logged.",
                stacklevel=2,
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs.update(recurrent_spectral_radii(self.model))


def _recurrent_cells(model):
    """Yields `(name prefix, cell)` for every cell with a `recurrent_kernel`.

    The prefix is the layer's name; where two layers of the model share a name
    (say, each of two nested models holds a layer `"rnn"`), it is the path of
    names from the first layer inside `model` down to the layer, joined by
    `"/"` (`"encoder/rnn"`). The cells of a `StackedRNNCells`
    (`keras.layers.RNN([cell, cell])`) are named `<layer>_cell<i>`.
    """
    found = []
    for path, layer in layer_paths(model):
        path = path or (layer.name,)
        cell = getattr(layer, "cell", None)
        inner = getattr(cell, "cells", None)
        if isinstance(inner, list | tuple):
            for i, one in enumerate(inner):
                if hasattr(one, "recurrent_kernel"):
                    found.append((path, f"_cell{i}", one))
        elif hasattr(cell, "recurrent_kernel"):
            found.append((path, "", cell))
    names = [path[-1] for path, _, _ in found]
    for path, suffix, cell in found:
        name = path[-1] if names.count(path[-1]) == 1 else "/".join(path)
        yield name + suffix, cell


def has_recurrent_kernels(model):
    """Whether `model` has a layer whose cell has a matrix `recurrent_kernel`
    (from the shapes alone: no eigenvalues are computed)."""
    return any(
        len(cell.recurrent_kernel.shape) == 2 for _, cell in _recurrent_cells(model)
    )


def recurrent_spectral_radii(model):
    """Spectral radius of every recurrent kernel of `model`, keyed by log name.

    A square kernel (`SimpleRNN`) gives `<layer>_spectral_radius`, with
    `<layer>` the layer's name, or its path (`"encoder/rnn"`) where two layers
    of the model share a name. Layers are found inside nested models,
    wrappers (`Bidirectional`, `TimeDistributed`) and custom layers. The
    `recurrent_kernel` of a `GRU` (`units x 3 units`) or `LSTM`
    (`units x 4 units`) holds one square block per gate; each gives
    `<layer>_spectral_radius_<gate>`, with the gates in Keras's column order
    (`z`, `r`, `h` for GRU; `i`, `f`, `c`, `o` for LSTM). The cells of a
    stacked `keras.layers.RNN([...])` are named `<layer>_cell<i>`. Kernels
    that are not matrices (the convolution kernels of `ConvLSTM2D`) have no
    spectral radius in this sense and are left out, as are other shapes.

    Reference: Pascanu, Mikolov & Bengio, ICML 2013, §2.1: gradients vanish
    when rho(W_rec) < 1/gamma and may explode when it is larger.

    Note: the paper analyses a plain RNN; for gated cells the per-gate radii
    are a diagnostic, not a bound.

    Args:
        model: a built `keras.Model`.

    Returns:
        A dict `{name: float}`.
    """
    radii = {}
    for name, cell in _recurrent_cells(model):
        kernel = keras.ops.convert_to_numpy(cell.recurrent_kernel)
        if kernel.ndim != 2:
            continue
        rows, columns = kernel.shape
        if rows == columns:
            radii[f"{name}_spectral_radius"] = spectral_radius(kernel)
            continue
        gates = next(
            (names for cls, names in GATES.items() if isinstance(cell, cls)),
            None,
        )
        if gates is None or columns != rows * len(gates):
            continue
        for i, gate in enumerate(gates):
            block = kernel[:, i * rows : (i + 1) * rows]
            radii[f"{name}_spectral_radius_{gate}"] = spectral_radius(block)
    return radii
