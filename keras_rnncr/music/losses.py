"""The music training cost: NLL per frame, averaged over the valid frames."""

import keras

from keras_rnncr import _validation
from keras_rnncr.metrics import frame_nll


@keras.saving.register_keras_serializable(package="keras_rnncr")
class FrameNLLLoss(keras.losses.Loss):
    """Negative log-likelihood per frame, in nats, averaged over valid frames.

    The cost of the music experiments of Pascanu, Mikolov & Bengio, ICML 2013
    (arXiv v2 appendix: "the cost averaged over time"), with 88 independent
    Bernoulli keys per frame:

    ```python
    nll_t = -sum_k(x_k * log(p_k) + (1 - x_k) * log(1 - p_k))  # frame_nll
    loss = sum_t(w_t * nll_t) / sum_t(w_t)   # over the batch's frames
    ```

    With a `(batch, time)` `sample_weight` that is 0 on padding, the batch
    loss is the mean over its real frames ("mean_with_sample_weight"), so
    padding does not shrink the gradient (which matters for the clipping
    threshold). A `(batch,)` or `(batch, 1)` weight (one per sequence, as the
    `FrameNLL` metric takes) weighs every frame of its sequence. It is the training
    counterpart of `keras_rnncr.metrics.
    FrameNLL`, which averages over every frame of an epoch.

    Args:
        from_logits: bool, whether `y_pred` holds logits. Defaults to `False`.
        name: str. Defaults to `"frame_nll_loss"`.
        reduction: Keras reduction. Defaults to `"mean_with_sample_weight"`.
        dtype: loss dtype. Defaults to `None`.
    """

    def __init__(
        self,
        from_logits=False,
        name="frame_nll_loss",
        reduction="mean_with_sample_weight",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = _validation.check_bool("from_logits", from_logits)
        self._config_dtype = dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            weight = keras.ops.convert_to_tensor(sample_weight)
            _check_weight_shape(tuple(weight.shape), tuple(y_pred.shape))
            frames = keras.ops.shape(y_pred)[:2]
            if len(weight.shape) == 2 and weight.shape[-1] == 1:
                weight = weight[:, 0]  # (batch, 1): one per sequence too
            if len(weight.shape) == 1:  # one per sequence: every frame of it
                weight = keras.ops.broadcast_to(weight[:, None], frames)
            sample_weight = weight
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)

    def call(self, y_true, y_pred):
        return frame_nll(y_true, y_pred, from_logits=self.from_logits)

    def get_config(self):
        config = super().get_config()
        config["from_logits"] = self.from_logits
        if isinstance(self._config_dtype, str):  # Keras's losses drop it
            config["dtype"] = self._config_dtype
        return config


def _check_weight_shape(weight, predictions):
    """Refuses weights that are not `(batch,)`, `(batch, 1)`, `(batch,
    frames)` or `(batch, frames, 1)` for `predictions` `(batch, frames,
    keys)` (unknown sizes pass)."""
    batch, frames = predictions[:2]
    allowed = {1: [(batch,)], 2: [(batch, 1), (batch, frames)], 3: [(batch, frames, 1)]}
    fits = any(
        all(w is None or a is None or w == a for w, a in zip(weight, shape))
        for shape in allowed.get(len(weight), [])
    )
    if not fits:
        raise ValueError(
            "Argument `sample_weight` must be `(batch,)`, `(batch, 1)`, "
            "`(batch, frames)` or `(batch, frames, 1)` for predictions of shape "
            f"{predictions}. Received: shape {weight}"
        )
