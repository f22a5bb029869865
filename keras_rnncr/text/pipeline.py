"""Parallel character streams cut into segments for a stateful RNN."""

import keras
import numpy as np
import tensorflow as tf

from keras_rnncr import _validation


def stream_segments(ids, batch_size, segment_length=200, ahead=1, drop_remainder=True):
    """Cuts one long id sequence into `batch_size` streams of consecutive segments.

    The set-up of Pascanu, Mikolov & Bengio, ICML 2013, §4.2 (Penn Treebank
    characters): truncated back-propagation over 200-step segments of a
    contiguous text, with the hidden state carried from one segment to the next.
    The text is split into `batch_size` contiguous streams, one per batch row;
    batch `i` holds segment `i` of every stream, so a stateful RNN fed the
    batches in order (`shuffle=False`) continues each row where it stopped:

    ```
    ids:    |---- stream 0 ----|---- stream 1 ----| ... |-- stream B-1 --|
    batch i, row b = stream b[i * T : (i + 1) * T]     (T = segment_length)
    targets[t] = ids[t + ahead]   # ahead=1: next character; 5: the 5th ahead
    ```

    Rows are ordered batch by batch: row `i * batch_size + b` is segment `i` of
    stream `b`, so `keras.Model.fit(x, y, batch_size=batch_size, shuffle=False)`
    and `tf.data.Dataset.from_tensor_slices(...).batch(batch_size)` see them in
    the right order.

    The "5 steps" task predicts the 5th character in the future (paper §4.2):
    with `ahead=5` the model reads `c_1 .. c_t` and is scored in bits on
    `c_{t+5}` alone, with one softmax (not 5 characters jointly).

    Args:
        ids: 1-D integer array, the whole text (e.g. `CharVocabulary.encode`).
        batch_size: positive int, number of parallel streams.
        segment_length: positive int, steps per segment (the paper's 200).
        ahead: positive int, how far ahead the target lies (1 or 5).
        drop_remainder: bool. `True` (default, for training) drops the tail that
            does not fill a whole batch of segments. `False` (for evaluation)
            keeps every predicted character: streams and segments are padded
            with id 0, and `weights` marks the padding with 0.

    Returns:
        `(inputs, targets, weights)`: int32, int32 and float32 arrays of shape
        `(num_segments * batch_size, segment_length)`.

    Example:

    >>> inputs, targets, _ = stream_segments(np.arange(21), 2, 5)
    >>> inputs.tolist()  # rows: (segment 0: streams 0, 1), (segment 1: ...)
    [[0, 1, 2, 3, 4], [10, 11, 12, 13, 14], [5, 6, 7, 8, 9], [15, 16, 17, 18, 19]]
    >>> targets[0].tolist()
    [1, 2, 3, 4, 5]
    """
    batch_size = _validation.check_positive_int("batch_size", batch_size)
    segment_length = _validation.check_positive_int("segment_length", segment_length)
    ahead = _validation.check_positive_int("ahead", ahead)
    drop_remainder = _validation.check_bool("drop_remainder", drop_remainder)
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            "Argument `ids` must be a 1-D array of integer ids. Received: ids with "
            f"shape {ids.shape} and dtype {ids.dtype}"
        )
    predicted = len(ids) - ahead  # characters that have a target
    if drop_remainder:
        stream_length = predicted // batch_size
        num_segments = stream_length // segment_length
        if num_segments <= 0:
            raise ValueError(
                f"The text ({len(ids)} ids) is too short for one batch of "
                f"{batch_size} segments of {segment_length} steps with "
                f"ahead={ahead}. Use a smaller `batch_size` or `segment_length`."
            )
    else:
        if predicted < 1:
            raise ValueError(
                f"The text ({len(ids)} ids) has no character {ahead} steps ahead."
            )
        stream_length = -(-predicted // batch_size)
        num_segments = -(-stream_length // segment_length)
    steps = num_segments * segment_length
    starts = np.arange(batch_size)[:, None] * stream_length
    offsets = np.arange(steps)[None, :]
    positions = starts + offsets  # (batch, steps) positions of the inputs
    valid = (offsets < stream_length) & (positions < predicted)
    padded = np.concatenate([ids, np.zeros(steps * batch_size + ahead, ids.dtype)])
    inputs = np.where(valid, padded[positions], 0).astype(np.int32)
    targets = np.where(valid, padded[positions + ahead], 0).astype(np.int32)
    weights = valid.astype(np.float32)

    def rows(array):  # (batch, segments * T) -> (segments * batch, T)
        array = array.reshape(batch_size, num_segments, segment_length)
        return array.transpose(1, 0, 2).reshape(-1, segment_length)

    return rows(inputs), rows(targets), rows(weights)


def stream_dataset(ids, batch_size, segment_length=200, ahead=1, drop_remainder=True):
    """`stream_segments` as a `tf.data.Dataset` of batches, in stream order.

    Yields `(inputs, targets)` batches, or `(inputs, targets, weights)` when
    `drop_remainder=False` (pass the metrics as `weighted_metrics` so that the
    padding is not scored). The order is fixed (no shuffling), as a stateful
    model needs; wrap `fit` with `ResetStreamStates` to start every epoch and
    every evaluation from the zero state.

    Args: as `stream_segments`.
    """
    inputs, targets, weights = stream_segments(
        ids, batch_size, segment_length, ahead, drop_remainder
    )
    arrays = (inputs, targets) if drop_remainder else (inputs, targets, weights)
    # The rows are whole batches, so nothing is dropped; the batch size becomes
    # static, as a stateful model's input is (Keras's stateful loop fails on a
    # batch of one whose size is unknown at trace time).
    return tf.data.Dataset.from_tensor_slices(arrays).batch(
        batch_size, drop_remainder=True
    )


def stateful_layers(model):
    """The stateful recurrent layers of `model` (searched recursively)."""
    found = []

    def visit(layer):
        if getattr(layer, "stateful", False) and hasattr(layer, "reset_state"):
            found.append(layer)
        for inner in getattr(layer, "layers", []):
            visit(inner)

    visit(model)
    return found


def reset_stream_states(model):
    """Sets the state of every stateful recurrent layer of `model` to zero."""
    for layer in stateful_layers(model):
        layer.reset_state()


@keras.saving.register_keras_serializable(package="keras_rnncr")
class ResetStreamStates(keras.callbacks.Callback):
    """Zeroes the carried state at the start of each epoch, evaluation and predict.

    With `stream_segments`, the state is carried across the segments of an
    epoch (Pascanu et al., 2013, §4.2); each epoch, and each pass over the
    validation or test text, starts again from `h_0 = 0`. Keras 3 `fit` does not
    reset stateful layers by itself.

    Example:

    >>> # model.fit(train, validation_data=valid, callbacks=[ResetStreamStates()])
    """

    def on_epoch_begin(self, epoch, logs=None):
        reset_stream_states(self.model)

    def on_test_begin(self, logs=None):
        reset_stream_states(self.model)

    def on_predict_begin(self, logs=None):
        reset_stream_states(self.model)

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
