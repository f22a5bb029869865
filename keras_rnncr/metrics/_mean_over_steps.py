"""Weighted mean of per-step values over every valid step seen."""

import keras
from keras import ops

from keras_rnncr import _private_apis, _validation


class MeanOverSteps(keras.metrics.Metric):
    """Accumulates `sum(w * value) / sum(w)` over all steps of all batches.

    `keras.metrics.Mean` first averages each sample over its time steps and
    then counts samples, so batches of different lengths would be weighted
    per sequence. This base class counts every valid step once instead.
    Subclasses set `step_fn(y_true, y_pred, from_logits)`, which returns one
    value per step with the shape of `y_true` minus any class axis.
    """

    step_fn = None

    def __init__(self, from_logits=False, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.from_logits = _validation.check_bool("from_logits", from_logits)
        self._direction = "down"
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = _private_apis.keras_mask(y_pred)
        values = ops.cast(
            self.step_fn(y_true, y_pred, from_logits=self.from_logits),
            self.dtype,
        )
        weights = ops.ones_like(values)
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, self.dtype)
            # `(batch, time, 1)` weights, as Keras's losses and metrics take.
            while sample_weight.ndim > values.ndim and sample_weight.shape[-1] == 1:
                sample_weight = ops.squeeze(sample_weight, axis=-1)
            if sample_weight.ndim > values.ndim:
                raise ValueError(
                    f"Argument `sample_weight` of {self.name} must have at most "
                    f"the rank of the per-step values, {tuple(values.shape)}, "
                    "plus trailing axes of size 1. Received: shape "
                    f"{tuple(sample_weight.shape)}"
                )
            weights = weights * ops.reshape(
                sample_weight,
                ops.shape(sample_weight) + (1,) * (values.ndim - sample_weight.ndim),
            )
        if mask is not None:
            weights = weights * ops.cast(mask, self.dtype)
        self.total.assign_add(ops.sum(weights * values))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits}
