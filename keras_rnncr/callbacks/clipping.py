"""`ClippingLogger`: writes `ClippedOptimizer` statistics to the `fit` logs."""

import keras

from keras_rnncr.callbacks import _config
from keras_rnncr.optimizers.clipping import ClippedOptimizer


def find_clipped_optimizer(optimizer):
    """Returns the `ClippedOptimizer` in a chain of `inner_optimizer` wrappers."""
    seen = optimizer
    while seen is not None:
        if isinstance(seen, ClippedOptimizer):
            return seen
        seen = getattr(seen, "inner_optimizer", None)
    raise ValueError(
        "ClippingLogger needs a model compiled with a `ClippedOptimizer` "
        "(possibly inside a LossScaleOptimizer). "
        f"Received: model.optimizer={optimizer!r}"
    )


@keras.saving.register_keras_serializable(package="keras_rnncr")
class ClippingLogger(_config.ConfigMixin, keras.callbacks.Callback):
    """Adds gradient-clipping statistics to the training logs.

    Reads the state of the model's `ClippedOptimizer` (found through any
    `inner_optimizer` wrappers, e.g. the `LossScaleOptimizer` of
    `mixed_float16`) after every batch and epoch and writes:

    - `grad_norm`: mean pre-clip global gradient norm over this epoch's finite
      steps so far (the released code of Pascanu, Mikolov & Bengio, ICML 2013,
      logs the same average);
    - `clip_threshold`: threshold in force at the last step (`inf` while an
      adaptive rule is warming up, or while its statistic is 0);
    - `clipped`: fraction of this epoch's steps whose gradient was clipped;
    - `skipped_steps`: number of steps since training began whose aggregated
      gradient was non-finite (skipped under the default `nonfinite="skip"`).

    With `nonfinite="raise"` under `jit_compile=True`, where XLA keeps the
    optimizer from raising inside the step, this callback raises the recorded
    error at the end of the offending batch (see `ClippedOptimizer`).

    The values come from optimizer variables that every replica sets to the
    same value, so they are not summed over replicas. Callbacks that come
    after this one in the list (`History`, the progress bar, and
    `keras.callbacks.TensorBoard` if it is placed after it) see the values.

    Example:

    ```python
    model.fit(
        x, y,
        callbacks=[ClippingLogger(), keras.callbacks.TensorBoard("logs")],
    )
    ```
    """

    def __init__(self):
        super().__init__()
        self._epoch_start = None
        self._epoch = 0

    def _statistics(self):
        optimizer = find_clipped_optimizer(self.model.optimizer)
        return optimizer.statistics() if optimizer.built else None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_start = self._statistics()

    def _write(self, logs):
        now = self._statistics()
        if logs is None or now is None:
            return
        start = self._epoch_start or dict.fromkeys(now, 0.0)
        steps = now["steps"] - start["steps"]
        finite = steps - (now["nonfinite_steps"] - start["nonfinite_steps"])
        norm_sum = now["grad_norm_sum"] - start["grad_norm_sum"]
        clipped = now["clipped_steps"] - start["clipped_steps"]
        logs["grad_norm"] = norm_sum / finite if finite > 0 else now["grad_norm"]
        logs["clip_threshold"] = now["clip_threshold"]
        logs["clipped"] = clipped / steps if steps > 0 else 0.0
        logs["skipped_steps"] = now["nonfinite_steps"]

    def on_train_batch_end(self, batch, logs=None):
        find_clipped_optimizer(self.model.optimizer).raise_if_nonfinite(
            f", detected after batch {batch} of epoch {self._epoch} (0-based)"
        )
        self._write(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._write(logs)
