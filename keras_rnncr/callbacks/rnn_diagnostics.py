"""`RNNDiagnostics`: clipping, Omega and spectral-radius scalars in TensorBoard."""

import os
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_rnncr import _validation
from keras_rnncr.callbacks import _config
from keras_rnncr.callbacks.clipping import ClippingLogger, find_clipped_optimizer
from keras_rnncr.callbacks.spectral_radius import (
    has_recurrent_kernels,
    recurrent_spectral_radii,
)

# What `tf.summary.scalar` (from the tensorboard package) attaches to a scalar;
# written directly so that no tensorboard install is needed to log.
_SCALAR_METADATA = tf.compat.v1.SummaryMetadata(
    plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars")
)


@keras.saving.register_keras_serializable(package="keras_rnncr")
class RNNDiagnostics(_config.ConfigMixin, keras.callbacks.Callback):
    """Writes the diagnostics of Pascanu, Mikolov & Bengio (2013) to TensorBoard.

    At the end of every epoch, and every `update_freq` batches if asked, writes
    these scalars with `tf.summary` to `<log_dir>/train`, tagged `epoch_<name>`
    and `batch_<name>` like `keras.callbacks.TensorBoard`, so that they appear
    beside the loss of that callback when both use the same `log_dir`:

    - with a `ClippedOptimizer` (Algorithm 1), as
      `keras_rnncr.callbacks.ClippingLogger` computes them: `grad_norm` (mean
      pre-clip global norm over the epoch so far), `clip_threshold`,
      `clipped` (the clip rate over the epoch so far) and `skipped_steps`
      (non-finite steps since training began); and `last_grad_norm`, the
      pre-clip norm of the latest step, where a single exploding step shows;
    - for each recurrent layer (§2.1): the spectral radius of its recurrent
      kernel, or of each gate's block (see `recurrent_spectral_radii`).

    The loss, the metrics and the Omega of each Omega layer (§3.3, Eq. 10:
    `<layer>_omega` and `<layer>_omega_valid` are metrics) are in the `fit`
    logs, which `keras.callbacks.TensorBoard` writes; give it the same
    `log_dir` (and the same `update_freq` for the per-batch values). This
    callback writes its own scalars whatever other callbacks do, under
    `tf.summary.record_if(True)`: `TensorBoard(update_freq=N)` leaves a
    condition in force between its batches that would otherwise drop them.
    A `ClippingLogger` or `SpectralRadiusLogger` also puts these values in the
    logs, so with one of them placed before a `TensorBoard` on the same
    `log_dir` each is written twice (same values, same steps); use this
    callback instead of them, and it warns once when it finds their values
    in the logs.

    Unlike `ClippingLogger` and `SpectralRadiusLogger`, it leaves `logs`
    unchanged. It writes with `tf.summary.write` and the metadata of the
    TensorBoard scalars plugin, so logging needs no `tensorboard` install
    (viewing does).

    Args:
        log_dir: string or path, the TensorBoard log directory. Defaults to
            `"logs"`.
        update_freq: `"epoch"` (default) writes once per epoch; `"batch"` also
            writes after every training batch; an integer `N` after every
            `N`-th batch. The batch step counts batches from 1 across epochs,
            as in `keras.callbacks.TensorBoard`.

    Example:

    ```python
    model.compile(
        optimizer=keras_rnncr.optimizers.ClippedOptimizer(
            keras.optimizers.SGD(0.01), threshold=1.0
        ),
        loss="mse",
    )
    model.fit(
        x, y,
        callbacks=[
            keras.callbacks.TensorBoard("logs"),
            keras_rnncr.callbacks.RNNDiagnostics("logs", update_freq=10),
        ],
    )
    ```
    """

    _CONFIG = ("log_dir", "update_freq")

    def __init__(self, log_dir="logs", update_freq="epoch"):
        super().__init__()
        if not isinstance(log_dir, (str, os.PathLike)):
            raise TypeError(
                "Argument `log_dir` must be a string or a path. "
                f"Received: log_dir={log_dir!r}"
            )
        if not os.fspath(log_dir):
            raise ValueError(
                "Argument `log_dir` must name a directory; it is empty. "
                f"Received: log_dir={log_dir!r}"
            )
        if _validation.is_integer(update_freq) and update_freq > 0:
            update_freq = int(update_freq)
        elif not isinstance(update_freq, str) or update_freq not in (
            "epoch",
            "batch",
        ):
            raise ValueError(
                "Argument `update_freq` must be 'epoch', 'batch' or a positive "
                f"integer. Received: update_freq={update_freq!r}"
            )
        self.log_dir = os.fspath(log_dir)
        self.update_freq = update_freq
        self._every = 1 if update_freq == "batch" else update_freq
        self._writer = None
        self._optimizer = None
        self._clipping = None
        self._batches = 0
        self._warned = False

    def on_train_begin(self, logs=None):
        # A `fit` that raised never reached `on_train_end`: close its writer.
        self.on_train_end()
        self._writer = tf.summary.create_file_writer(
            os.path.join(self.log_dir, "train")
        )
        self._batches = 0
        self._optimizer = self._clipping = None
        try:
            self._optimizer = find_clipped_optimizer(self.model.optimizer)
        except ValueError:
            if not has_recurrent_kernels(self.model):
                warnings.warn(
                    f"RNNDiagnostics: model {self.model.name!r} has neither a "
                    "ClippedOptimizer nor a layer with a recurrent kernel; "
                    "nothing will be written.",
                    stacklevel=2,
                )
            return
        self._clipping = ClippingLogger()
        self._clipping.set_model(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        if self._clipping is not None:
            self._clipping.on_epoch_begin(epoch)

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self._every == "epoch" or self._batches % self._every:
            return
        scalars = {}
        if self._clipping is not None:
            self._clipping.on_train_batch_end(batch, scalars)
        self._write("batch", self._batches, scalars, logs)

    def on_epoch_end(self, epoch, logs=None):
        scalars = {}
        if self._clipping is not None:
            self._clipping.on_epoch_end(epoch, scalars)
        self._write("epoch", epoch, scalars, logs)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _write(self, prefix, step, scalars, logs):
        """Writes `scalars` (clipping statistics) and the spectral radii."""
        if self._optimizer is not None and self._optimizer.built:
            scalars["last_grad_norm"] = self._optimizer.statistics()["grad_norm"]
        scalars.update(recurrent_spectral_radii(self.model))
        logged = sorted(set(scalars) & set(logs or {}))
        if logged and not self._warned:
            self._warned = True
            warnings.warn(
                f"RNNDiagnostics: {logged} are also in the fit logs (a "
                "ClippingLogger or SpectralRadiusLogger placed before this "
                "callback); a keras.callbacks.TensorBoard after that logger on "
                f"the same log_dir writes them a second time. RNNDiagnostics "
                "writes them itself: the loggers are not needed beside it.",
                stacklevel=2,
            )
        with self._writer.as_default(step=step), tf.summary.record_if(True):
            for name, value in scalars.items():
                tf.summary.write(
                    f"{prefix}_{name}",
                    tf.constant(float(np.asarray(value)), tf.float32),
                    metadata=_SCALAR_METADATA,
                )
