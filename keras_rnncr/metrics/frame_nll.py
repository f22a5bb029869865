"""Negative log-likelihood per frame of a piano roll, in nats."""

import keras
from keras import ops

from keras_rnncr import _validation
from keras_rnncr.metrics._mean_over_steps import MeanOverSteps


def frame_nll(y_true, y_pred, from_logits=False):
    """Negative log-likelihood of each frame under independent Bernoulli keys.

    Each frame `x_t` of a piano roll holds `K` binary notes (`K = 88` for the
    polyphonic music data of Boulanger-Lewandowski, Bengio & Vincent, ICML 2012).
    The model predicts one Bernoulli probability `p_k` per key, and the NLL of
    the frame is the sum over keys, in nats:

    ```python
    nll_t = -sum_k(x_k * log(p_k) + (1 - x_k) * log(1 - p_k))
    ```

    Probabilities are clipped to `[epsilon, 1 - epsilon]` with
    `keras.config.epsilon()`; logits use the exact, stable form
    `sum_k(softplus(z_k) - x_k * z_k)`.

    Args:
        y_true: Binary targets, shape `(..., K)`.
        y_pred: Probabilities (or logits if `from_logits=True`), shape `(..., K)`.
        from_logits: bool. Whether `y_pred` holds logits. Defaults to `False`.

    Returns:
        Tensor of shape `(...)`: the NLL of every frame, in nats.
    """
    _validation.check_bool("from_logits", from_logits)
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    if from_logits:
        per_key = ops.softplus(y_pred) - y_true * y_pred
    else:
        epsilon = keras.config.epsilon()
        p = ops.clip(y_pred, epsilon, 1.0 - epsilon)
        per_key = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    return ops.sum(per_key, axis=-1)


@keras.saving.register_keras_serializable(package="keras_rnncr")
class FrameNLL(MeanOverSteps):
    """Negative log-likelihood per time step of a piano roll, in nats.

    This is the music metric of Pascanu, Mikolov & Bengio, "On the difficulty
    of training recurrent neural networks", ICML 2013, Table 1 ("negative
    log-likelihood per time step"), for the 88-key piano rolls of
    Boulanger-Lewandowski, Bengio & Vincent, "Modeling temporal dependencies in
    high-dimensional sequences", ICML 2012. The outputs are independent
    Bernoulli variables, one per key.

    How values are averaged:

    1. Sum over keys (the last axis): one NLL per frame, see `frame_nll`.
    2. Weighted mean over **all valid frames** seen since the last
       `reset_state()`, across batches and sequences:
       `sum_t(w_t * nll_t) / sum_t(w_t)`. Long sequences therefore count in
       proportion to their number of frames (this is not a mean of
       per-sequence means).

    Padding frames are excluded by giving them weight 0: pass a
    `sample_weight` of shape `(batch, time)` (1 for real frames, 0 for
    padding) or `(batch,)`, or let a Keras mask on `y_pred` (e.g. from
    `Masking`) do it; both are combined by multiplication. In
    `model.compile`, list the metric in `weighted_metrics` for the
    `sample_weight` given to `fit`/`evaluate` to reach it.

    Note: the paper does not state whether it averages over all frames or per
    sequence first; this metric uses the all-frames mean (every frame counts
    once). Take the mean of per-sequence results yourself for the other one.

    Args:
        from_logits: bool. Whether `y_pred` holds logits rather than
            probabilities. Defaults to `False`.
        name: string. Name of the metric. Defaults to `"frame_nll"`.
        dtype: Data type of the metric result. Defaults to `None`
            (the Keras float type).

    Example:

    >>> metric = FrameNLL()
    >>> metric.update_state([[1.0, 0.0]], [[0.5, 0.5]])
    >>> round(float(metric.result()), 4)  # 2 * log(2)
    1.3863
    """

    step_fn = staticmethod(frame_nll)

    def __init__(self, from_logits=False, name="frame_nll", dtype=None):
        super().__init__(from_logits=from_logits, name=name, dtype=dtype)
