"""A callback that logs the spectral radius of every recurrent kernel."""

import keras
import numpy as np


def spectral_radius(matrix):
    """Largest absolute eigenvalue of a square matrix (numpy)."""
    return float(np.max(np.abs(np.linalg.eigvals(np.asarray(matrix, "float64")))))


class SpectralRadiusLogger(keras.callbacks.Callback):
    """Writes `<layer>_spectral_radius` of each recurrent kernel to the epoch logs.

    The spectral radius rho(W_rec) decides whether gradients vanish (rho below
    1/gamma) or may explode (Pascanu, Mikolov & Bengio, ICML 2013, §2.1); the
    released code logs it at every check. Layers are every layer of the model
    whose cell has a square `recurrent_kernel` (SimpleRNN).
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for layer in _recurrent_layers(self.model):
            kernel = layer.cell.recurrent_kernel
            if kernel.shape[0] == kernel.shape[1]:
                logs[f"{layer.name}_spectral_radius"] = spectral_radius(kernel.numpy())


def _recurrent_layers(model):
    for layer in model.layers:
        if hasattr(getattr(layer, "cell", None), "recurrent_kernel"):
            yield layer
        for attribute in ("forward_layer", "backward_layer"):
            inner = getattr(layer, attribute, None)
            if hasattr(getattr(inner, "cell", None), "recurrent_kernel"):
                yield inner
