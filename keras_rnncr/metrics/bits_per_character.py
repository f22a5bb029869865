"""Cross-entropy of next-character predictions in bits per character."""

import math

import keras
from keras import ops

from keras_rnncr import _validation
from keras_rnncr.metrics._mean_over_steps import MeanOverSteps


def bits_per_character(y_true, y_pred, from_logits=False):
    """Cross-entropy of each predicted character, in bits.

    ```python
    bits_t = -log2(p_t[y_t]) = -log(p_t[y_t]) / log(2)
    ```

    Args:
        y_true: Integer character indices, shape `(...)`.
        y_pred: Probabilities over the vocabulary (or logits if
            `from_logits=True`), shape `(..., vocabulary_size)`.
        from_logits: bool. Whether `y_pred` holds logits. Defaults to `False`.

    Returns:
        Tensor of shape `(...)`: the bits of every predicted character.
    """
    _validation.check_bool("from_logits", from_logits)
    nats = ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits)
    return nats / math.log(2.0)


@keras.saving.register_keras_serializable(package="keras_rnncr")
class BitsPerCharacter(MeanOverSteps):
    """Mean cross-entropy over predicted characters, in bits (log base 2).

    The character-level language-modelling metric of Pascanu, Mikolov &
    Bengio, ICML 2013, Table 1 (Penn Treebank, next character and "5 steps"
    ahead), following Mikolov et al., "Subword language modeling with neural
    networks", 2012.

    The value is the weighted mean of `-log2 p(y_t)` over all predicted
    characters seen since the last `reset_state()`:
    `sum_t(w_t * bits_t) / sum_t(w_t)`. Give padding positions weight 0 with
    `sample_weight` of shape `(batch, time)` or with a Keras mask on `y_pred`
    (list the metric in `weighted_metrics` for `fit`'s `sample_weight` to
    reach it).

    Args:
        from_logits: bool. Whether `y_pred` holds logits rather than
            probabilities. Defaults to `False`.
        name: string. Name of the metric. Defaults to `"bits_per_character"`.
        dtype: Data type of the metric result. Defaults to `None`
            (the Keras float type).

    Example:

    >>> metric = BitsPerCharacter()
    >>> metric.update_state([0, 1], [[0.5, 0.5], [0.75, 0.25]])
    >>> float(metric.result())  # (1 bit + 2 bits) / 2
    1.5
    """

    step_fn = staticmethod(bits_per_character)

    def __init__(self, from_logits=False, name="bits_per_character", dtype=None):
        super().__init__(from_logits=from_logits, name=name, dtype=dtype)
