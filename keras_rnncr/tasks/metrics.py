"""The paper's error criteria for the synthetic tasks, as functions and metrics."""

import keras
from keras import ops

from keras_rnncr import _private_apis, _validation


def sequence_errors(y_true, y_pred):
    """Marks each misclassified sequence with 1.0, the others with 0.0.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1; released code
    (github.com/pascanur/trainingRNNs, `RNN.py`, `eval_step`). A sequence is
    wrong when the argmax of `y_pred` differs from `y_true`; with per-step
    targets, when it differs at any step (the code's `report='all'`):

    ```python
    wrong = argmax(y_pred, -1) != y_true       # (batch,) or (batch, time)
    wrong = wrong.any(axis=time)               # per-step targets only
    ```

    Note: a sequence whose predictions are not all finite counts as wrong,
    so that a diverged model is never reported as solved (the code also
    requires a finite validation cost before it stops).

    Args:
        y_true: integer class ids, `(batch,)` or `(batch, time)`; a trailing
            axis of size 1 is allowed.
        y_pred: scores (probabilities or logits), `y_true.shape + (classes,)`.

    Returns:
        float32 tensor of shape `(batch,)`.
    """
    return _per_sequence(_wrong_classes(y_true, y_pred))


def _wrong_classes(y_true, y_pred):
    """`sequence_errors` before the reduction over time: bool per step."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == len(y_pred.shape):
        y_true = ops.squeeze(y_true, axis=-1)
    predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    wrong = ops.not_equal(predicted, ops.cast(y_true, "int32"))
    not_finite = ops.logical_not(ops.all(ops.isfinite(y_pred), axis=-1))
    return ops.logical_or(wrong, not_finite)


def squared_error_exceeds(y_true, y_pred, threshold=0.04):
    """Marks each sequence whose squared error exceeds `threshold` with 1.0.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1 (addition and multiplication:
    "a squared error above 0.04", i.e. an absolute error above 0.2); released
    code (github.com/pascanur/trainingRNNs, `RNN.py`, `lastLinear`):

    ```python
    wrong = ((y_true - y_pred) ** 2).sum(axis=-1) > threshold
    ```

    Note: non-finite predictions count as errors (see `sequence_errors`).

    Args:
        y_true: float targets, `(batch, outputs)` or `(batch,)`.
        y_pred: float predictions, `(batch, outputs)` or `(batch,)` (one
            output per sequence).
        threshold: float, largest squared error still counted as correct.

    Returns:
        float32 tensor of shape `(batch,)`.
    """
    return _per_sequence(_wrong_squares(y_true, y_pred, threshold))


def _wrong_squares(y_true, y_pred, threshold=0.04):
    """`squared_error_exceeds` before the reduction over time: bool."""
    y_pred = ops.convert_to_tensor(y_pred)
    if len(y_pred.shape) == 1:  # one output per sequence, not a sum over the batch
        y_pred = ops.expand_dims(y_pred, axis=-1)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = ops.expand_dims(y_true, axis=-1)
    squared = ops.sum(ops.square(y_true - y_pred), axis=-1)
    return ops.logical_not(ops.less_equal(squared, threshold))


def _per_sequence(wrong):
    if len(wrong.shape) > 1:
        wrong = ops.any(wrong, axis=tuple(range(1, len(wrong.shape))))
    return ops.cast(wrong, "float32")


class _SequenceRate(keras.metrics.MeanMetricWrapper):
    """A rate of wrong sequences whose weights may be given per step.

    Keras turns an output mask into a sample weight of the output's shape,
    and a user may pass per-step weights (`(batch, time)`) with per-step
    targets: a step of weight 0 is then left out of its sequence's verdict
    (a sequence is wrong when a step of nonzero weight is wrong), and the
    sequence weighs as its heaviest step (a fully masked one not at all).
    """

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = _private_apis.keras_mask(y_pred)
        wrong = self._fn(y_true, y_pred, **self._fn_kwargs)
        rank = len(wrong.shape)
        weight = None
        for factor in (sample_weight, mask):
            if factor is not None:
                # Aligned on the batch axis: `(batch,)` weights a whole
                # sequence, `(batch, time)` (a trailing 1 allowed) its steps.
                factor = ops.cast(ops.convert_to_tensor(factor), "float32")
                while len(factor.shape) > rank and factor.shape[-1] == 1:
                    factor = ops.squeeze(factor, axis=-1)
                while len(factor.shape) < rank:
                    factor = ops.expand_dims(factor, axis=-1)
                weight = factor if weight is None else weight * factor
        if weight is not None and rank > 1:
            weight = ops.broadcast_to(weight, ops.shape(wrong))
            wrong = ops.logical_and(wrong, ops.greater(weight, 0.0))
            weight = ops.max(weight, axis=tuple(range(1, rank)))
        return keras.metrics.Mean.update_state(
            self, _per_sequence(wrong), sample_weight=weight
        )


@keras.saving.register_keras_serializable(package="keras_rnncr")
class SequenceErrorRate(_SequenceRate):
    """Fraction of misclassified sequences, the paper's classification error.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1: a run succeeds when fewer
    than 1% of 10000 fresh sequences are misclassified. A sequence is wrong
    when its last-step prediction is wrong or, for per-step targets
    (memorization), when any step is wrong; see `sequence_errors`.

    Args:
        name: str, metric name. Defaults to `"sequence_error_rate"`.
        dtype: dtype of the metric's result.

    Shapes:
        `y_true`: integer class ids, `(batch,)` or `(batch, time)`.
        `y_pred`: scores, `(batch, classes)` or `(batch, time, classes)`.
        `sample_weight`: `(batch,)`, or `(batch, time)` with per-step
        targets, as is a Keras mask on `y_pred`: a step of weight 0 is left
        out of its sequence's verdict, and a sequence weighs as its heaviest
        step (a fully masked one not at all).

    Example:

    >>> metric = SequenceErrorRate()
    >>> metric.update_state([0, 1], [[0.9, 0.1], [0.8, 0.2]])
    >>> float(metric.result())
    0.5
    """

    def __init__(self, name="sequence_error_rate", dtype=None):
        super().__init__(fn=_wrong_classes, name=name, dtype=dtype)
        self._direction = "down"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="keras_rnncr")
class SquaredErrorRate(_SequenceRate):
    """Fraction of sequences whose squared error exceeds a threshold.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1: for addition and
    multiplication a sequence counts as an error when its squared error is
    above 0.04; see `squared_error_exceeds`.

    Args:
        threshold: float, largest squared error still counted as correct.
            Defaults to 0.04.
        name: str, metric name. Defaults to `"squared_error_rate"`.
        dtype: dtype of the metric's result.

    Shapes:
        `y_true`, `y_pred`: `(batch, outputs)`.

    Example:

    >>> metric = SquaredErrorRate()
    >>> metric.update_state([[0.5], [0.5]], [[0.6], [0.8]])
    >>> float(metric.result())
    0.5
    """

    def __init__(self, threshold=0.04, name="squared_error_rate", dtype=None):
        threshold = _validation.check_non_negative_float("threshold", threshold)
        super().__init__(fn=_wrong_squares, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold
        self._direction = "down"

    def get_config(self):
        return {"threshold": self.threshold, "name": self.name, "dtype": self.dtype}
