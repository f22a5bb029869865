"""The paper's character-level language model, for each training method."""

import keras

from keras_rnncr import _validation, callbacks, methods
from keras_rnncr.initializers import paper_initializers
from keras_rnncr.layers import SimpleRNN
from keras_rnncr.metrics import BitsPerCharacter
from keras_rnncr.text.pipeline import ResetStreamStates

# Pascanu, Mikolov & Bengio, arXiv:1211.5063v2, appendix (the Penn Treebank
# set-up, which the ICML 2013 text does not give), for a cost summed over the
# steps of a segment: (learning rate, clipping threshold, alpha).
# alpha decays as 1/epoch for the 5-steps task. SGD was not run 5 steps ahead;
# its next-character rate is used there too.
PAPER_SETTINGS = {
    ("sgd", 1): (0.001, None, 0.0),
    ("sgd-c", 1): (0.01, 45.0, 0.0),
    ("sgd-cr", 1): (0.05, 45.0, 0.01),
    ("sgd", 5): (0.001, None, 0.0),
    ("sgd-c", 5): (0.1, 45.0, 0.0),
    ("sgd-cr", 5): (0.05, 45.0, 0.05),
}

# Settings the paper leaves open, chosen by short runs (issue 14; PTB, SGD-CR
# next character, one CPU thread): progress per update was the same with 8 or
# 32 parallel streams (validation 2.85 bits per character after 1,800 updates
# with 8, 2.85 after 1,968 with 32), and an update of 8 streams costs half as
# much, so 8 streams reached 2.85 in 180 s against 2.98 after 300 s with 32
# (benchmarks/results/char_lm.json); an epoch of PTB is then 3,136 updates.
# Quadrupling the learning rate instead did not help (2.87 after 1,500
# updates). The paper does not halve the learning rate on PTB; with
# `char_callbacks(monitor=...)`, it is halved after PATIENCE epochs whose
# validation error does not beat the best by MIN_IMPROVEMENT of it (relative),
# at most MAX_HALVINGS times: Mikolov's RNNLM toolkit (0.3e) starts halving when
# an epoch improves the validation log-likelihood by less than its default
# `min_improvement` 1.003, i.e. 0.3%. Measured (PTB, SGD-CR next character,
# seed 0, issue 14): with no margin the rate stayed at its first value for 50
# epochs, as the validation error kept falling by 0.001-0.006 bits per epoch
# (1.657 at epoch 49, 1.654 at 50); one epoch from the epoch-50 weights at half
# the rate gave 1.612 (the same epoch at the full rate 1.655, at 4x 1.977).
BATCH_SIZE = 8
PATIENCE = 1
MAX_HALVINGS = 6
MIN_IMPROVEMENT = 0.003
# Five ahead, a new best is any gain (a plateau is an epoch without one).
# Measured (PTB, SGD-CR 5 ahead, seed 0, 2026-12-07): the validation error
# fell by 0.025-0.029 bits per epoch for 3 epochs, then by 0.012-0.015 (4.255
# after epoch 1, 4.121 after 8), about 0.3% of it: the 0.3% rule halved the
# rate after epoch 8 while the model was 0.22 bits from the unigram's 4.34,
# and would have halved it at every epoch after. The error is 2.5x the next
# character's, so the same relative margin asks 2.5x more bits of an epoch.
MIN_IMPROVEMENT_AHEAD = {1: MIN_IMPROVEMENT, 5: 0.0}


def paper_settings(method, ahead=1, segment_length=200):
    """The paper's learning rate, threshold and alpha for a mean-over-steps loss.

    The paper sums the cost over the 200 steps of a segment; Keras (and
    `char_model`) averages it. Scaling the three values by the segment length
    `T` gives exactly the same updates:

    ```
    learning_rate = T * paper_learning_rate
    threshold     = paper_threshold / T
    omega         = paper_alpha / T     # Omega's gradient is added before clipping
    ```

    Args:
        method: `"sgd"`, `"sgd-c"` or `"sgd-cr"`.
        ahead: 1 (next character) or 5 (the 5th character ahead).
        segment_length: steps per segment `T`.

    Returns:
        dict with `learning_rate`, `threshold` (None for SGD), `omega` (the
        initial alpha) and `omega_decay` (`True` when alpha follows 1/epoch).
    """
    methods.check_method(method)
    ahead = _validation.check_positive_int("ahead", ahead)
    segment_length = _validation.check_positive_int("segment_length", segment_length)
    if ahead not in (1, 5):
        raise ValueError(
            f"The paper's settings exist for `ahead` 1 and 5. Received: ahead={ahead!r}"
        )
    learning_rate, threshold, alpha = PAPER_SETTINGS[(method, ahead)]
    return {
        "learning_rate": learning_rate * segment_length,
        "threshold": None if threshold is None else threshold / segment_length,
        "omega": alpha / segment_length,
        "omega_decay": methods.uses_omega(method) and ahead == 5,
    }


def char_model(
    method,
    vocab_size,
    units=500,
    ahead=1,
    stateful=True,
    batch_size=BATCH_SIZE,
    segment_length=200,
    learning_rate=None,
    threshold=None,
    omega=None,
    use_bias=False,
    seed=None,
    jit_compile="auto",
    omega_backward="stored",
):
    """A compiled character-level RNN language model trained with SGD(-C)(-R).

    Pascanu, Mikolov & Bengio, ICML 2013, §4.2 and Table 1 (Penn Treebank
    characters): one layer of 500 sigmoid units without biases, weights drawn
    from N(0, 0.01) (standard deviation, the `"sigmoid"` scheme of
    `keras_rnncr.initializers.paper_initializers`), a softmax over the
    characters, plain minibatch SGD without momentum, clipping of the global
    gradient norm (SGD-C) and the Omega regularizer (SGD-CR):

    ```
    x_t = one_hot(c_t)                            # fixed identity embedding
    h_t = sigmoid(x_t @ W_in + h_{t-1} @ W_rec)   # no bias
    logits_t = h_t @ W_out                        # predicts c_{t + ahead}
    loss = mean over batch and steps of cross-entropy (nats)
    ```

    Unset `learning_rate`, `threshold` and `omega` take the paper's values
    (`paper_settings`), rescaled from its summed-over-steps cost to the mean
    used here. Omega is measured and logged (`rnn_omega`) for every method, so
    that the methods can be compared (the layer's `omega_metrics=True`).

    Note: the paper states neither the batch size nor whether the output layer
    has a bias; like Mikolov's RNNLM, no layer has one here (`use_bias=False`).

    Args:
        method: `"sgd"`, `"sgd-c"` (clipping) or `"sgd-cr"` (clipping + Omega).
        vocab_size: positive int, number of character ids.
        units: positive int, hidden units (500 in the paper).
        ahead: positive int, 1 for the next character, 5 for the paper's
            "5 steps" task (targets from `stream_segments(..., ahead=ahead)`);
            any `ahead > 1` takes the paper's 5-steps settings by default.
        stateful: bool. `True` (default) carries the state across batches, for
            `stream_segments`; the input then has the static batch size
            `batch_size`.
        batch_size: positive int, the static batch size when `stateful`
            (parallel streams). Defaults to `BATCH_SIZE` (8).
        segment_length: positive int, steps per segment (200), used to rescale
            the paper's settings.
        learning_rate: positive float or None (the paper's).
        threshold: positive float or None (the paper's; ignored for `"sgd"`).
        omega: float >= 0 or None, the initial alpha for `"sgd-cr"` (the
            paper's); schedule it with `keras_rnncr.callbacks.OmegaScheduler`.
        use_bias: bool, biases in the recurrent and output layers.
        seed: int or None, seed of the initialisers.
        jit_compile: passed to `compile`.
        omega_backward: the recurrent layer's (`keras_rnncr.layers.SimpleRNN`).
            Defaults to `"stored"`: at these sizes (8 streams of 200 steps,
            500 units) its two extra `(time, batch, units)` tensors take 6 MB,
            and it is the faster pass: measured training this model on Penn
            Treebank, one CPU thread, 46-52 ms of CPU per step against 75-87
            ms for `"streaming"` (what `"auto"` takes for fixed-length
            segments); see `benchmarks/RESULTS.md`.

    Returns:
        A compiled `keras.Model` from int32 ids `(batch, time)` to logits
        `(batch, time, vocab_size)`, with the metric `bits_per_character`:
        the exact mean over the scored characters, padding excluded. The
        `loss` is Keras's mean over every position of a batch, so on padded
        batches (evaluation streams with `drop_remainder=False`) it reads
        lower than `bits_per_character * ln 2`; read `bits_per_character`
        (or `evaluate_bits_per_character`) for results. Layers:
        `"one_hot"` (Embedding), `"rnn"` (`keras_rnncr.layers.SimpleRNN`),
        `"head"` (Dense).

    Example:

    >>> model = char_model("sgd-cr", vocab_size=50, units=32, batch_size=4)
    >>> model.output_shape
    (4, None, 50)
    """
    methods.check_method(method)
    vocab_size = _validation.check_positive_int("vocab_size", vocab_size)
    units = _validation.check_positive_int("units", units)
    ahead = _validation.check_positive_int("ahead", ahead)
    batch_size = _validation.check_positive_int("batch_size", batch_size)
    segment_length = _validation.check_positive_int("segment_length", segment_length)
    learning_rate = _validation.check_positive_float(
        "learning_rate", learning_rate, allow_none=True
    )
    threshold = _validation.check_positive_float(
        "threshold", threshold, allow_none=True
    )
    omega = _validation.check_non_negative_float("omega", omega, allow_none=True)
    stateful = _validation.check_bool("stateful", stateful)
    use_bias = _validation.check_bool("use_bias", use_bias)
    jit_compile = _validation.check_jit_compile(jit_compile)
    defaults = paper_settings(method, 1 if ahead == 1 else 5, segment_length)
    learning_rate = (
        defaults["learning_rate"] if learning_rate is None else learning_rate
    )
    threshold = defaults["threshold"] if threshold is None else threshold
    omega = defaults["omega"] if omega is None else omega
    if threshold is None and methods.uses_clipping(method):
        threshold = paper_settings("sgd-c", 1, segment_length)["threshold"]
    setup = methods.training_setup(method, learning_rate, threshold, float(omega))

    init = paper_initializers("sigmoid", seed=seed)
    if stateful:
        inputs = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="ids")
    else:
        inputs = keras.Input(shape=(None,), dtype="int32", name="ids")
    one_hot = keras.layers.Embedding(
        vocab_size,
        vocab_size,
        embeddings_initializer="identity",
        trainable=False,
        name="one_hot",
    )
    rnn = SimpleRNN(
        units,
        activation="sigmoid",
        use_bias=use_bias,
        kernel_initializer=init["kernel_initializer"],
        recurrent_initializer=init["recurrent_initializer"],
        return_sequences=True,
        stateful=stateful,
        omega=setup.omega,
        omega_metrics=True,  # Omega logged for every method, to compare
        omega_backward=omega_backward,
        name="rnn",
    )
    head = keras.layers.Dense(
        vocab_size,
        use_bias=use_bias,
        kernel_initializer=init["output_initializer"],
        name="head",
    )
    model = keras.Model(inputs, head(rnn(one_hot(inputs))), name=f"char_lm_{method}")
    model.compile(
        optimizer=setup.optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[BitsPerCharacter(from_logits=True)],
        jit_compile=jit_compile,
    )
    return model


def char_callbacks(
    method,
    ahead=1,
    omega=None,
    segment_length=200,
    monitor=None,
    patience=PATIENCE,
    max_halvings=MAX_HALVINGS,
    stop_when_exhausted=False,
    min_improvement=None,
):
    """The callbacks of the paper's set-up for a `char_model`.

    `ResetStreamStates` (zero state at each epoch and evaluation), the
    clipping statistics (`keras_rnncr.callbacks.ClippingLogger`, SGD-C and
    SGD-CR) and, for SGD-CR 5 steps ahead, alpha decaying as 1/epoch
    (`OmegaScheduler(InverseTimeOmega(omega))`). The paper does not halve the
    learning rate on PTB; with `monitor`, a
    `keras_rnncr.callbacks.HalveLearningRateOnPlateau` on that log entry
    (e.g. `"val_bits_per_character"`) comes first, to train until the
    validation error no longer improves by `min_improvement` of it.

    Args:
        method: `"sgd"`, `"sgd-c"` or `"sgd-cr"`.
        ahead: 1 or 5.
        omega: the initial alpha (default: the paper's, see `paper_settings`).
        segment_length: steps per segment.
        monitor: str or None, the log entry watched for a plateau, an error
            (lower is better); `None` (default) keeps the learning rate
            constant, as the paper.
        patience: positive int, epochs without improvement before a halving.
            Defaults to `PATIENCE` (1).
        max_halvings: int >= 0 or None, the most halvings. Defaults to
            `MAX_HALVINGS` (6).
        min_improvement: None or float >= 0, the fraction of the best
            validation error an epoch must improve on it by to count as
            better. None (default): `MIN_IMPROVEMENT_AHEAD[ahead]`, 0.003 (the
            RNNLM toolkit's) next character, 0 five ahead.
        stop_when_exhausted: bool, stop at the first plateau with no halving
            left. Defaults to `False`.

    Returns:
        list of `keras.callbacks.Callback`.
    """
    ahead = _validation.check_positive_int("ahead", ahead)
    omega = _validation.check_non_negative_float("omega", omega, allow_none=True)
    task = 1 if ahead == 1 else 5  # the paper's two: next character, five ahead
    settings = paper_settings(method, task, segment_length)
    if min_improvement is None:
        min_improvement = MIN_IMPROVEMENT_AHEAD[task]
    found = [ResetStreamStates()]
    if monitor is not None:
        found.insert(
            0,
            callbacks.HalveLearningRateOnPlateau(
                monitor,
                patience=patience,
                min_delta=min_improvement,
                min_delta_mode="relative",
                max_halvings=max_halvings,
                stop_when_exhausted=stop_when_exhausted,
                mode="min",  # an error: bits per character, loss
            ),
        )
    if methods.uses_clipping(method):
        found.append(callbacks.ClippingLogger())
    if settings["omega_decay"]:
        initial = settings["omega"] if omega is None else omega
        found.append(callbacks.OmegaScheduler(callbacks.InverseTimeOmega(initial)))
    return found
