"""Bits per character on a whole text: of a character model, and of a unigram."""

import numpy as np

from keras_rnncr import _validation
from keras_rnncr.text.pipeline import (
    reset_stream_states,
    stateful_layers,
    stream_dataset,
)


def evaluate_bits_per_character(model, ids, batch_size, segment_length=200, ahead=1):
    """Mean bits per character of `model` over every predictable id of `ids`.

    The text is cut into `batch_size` streams of `segment_length`-step
    segments (`stream_segments` with `drop_remainder=False`), the state is
    reset to zero and carried across the segments, and padding is given
    weight 0, so each character `ids[t + ahead]` for `t` in
    `0 .. len(ids) - ahead - 1` is scored exactly once, as in the paper's bits
    per character (Pascanu, Mikolov & Bengio, ICML 2013, Table 1).

    Args:
        model: a compiled `keras_rnncr.text.char_model` (its metric
            `bits_per_character` is read); stateful models need `batch_size`
            equal to their static batch size.
        ids: 1-D integer array, the text.
        batch_size, segment_length, ahead: as in `stream_segments`.

    Returns:
        float, bits per character.
    """
    if not stateful_layers(model):
        raise ValueError(
            "`evaluate_bits_per_character` carries the state across segments, "
            "and `model` has no stateful recurrent layer: it would score each "
            "segment from the zero state. Build it with `stateful=True` (e.g. "
            "`char_model(..., stateful=True, batch_size=batch_size)`) and copy "
            "the weights."
        )
    batch_size = _validation.check_positive_int("batch_size", batch_size)
    static = model.inputs[0].shape[0] if model.inputs else None
    if static is not None and static != batch_size:
        raise ValueError(
            f"Argument `batch_size` must be the stateful model's batch size "
            f"({static}). Received: batch_size={batch_size!r}"
        )
    data = stream_dataset(ids, batch_size, segment_length, ahead, drop_remainder=False)
    ids = np.asarray(ids)  # 1-D integers (`stream_dataset` checked)
    vocab_size = model.output_shape[-1]
    if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(
            f"Argument `ids` must hold ids in [0, {vocab_size - 1}] (the model's "
            f"vocabulary). Received: ids from {ids.min()} to {ids.max()}"
        )
    reset_stream_states(model)
    logs = model.evaluate(data, verbose=0, return_dict=True)
    reset_stream_states(model)
    return float(logs["bits_per_character"])


def unigram_bits_per_character(train_ids, ids, ahead=1, vocab_size=None):
    """Bits per character of the training-set character frequencies on `ids`.

    The trivial baseline of a character model: every character is predicted
    with its frequency in `train_ids`, whatever came before, with add-one
    (Laplace) smoothing so that a symbol missing from the training text costs
    a finite number of bits:

    ```python
    p(c) = (count(c in train_ids) + 1) / (len(train_ids) + vocab_size)
    bits = mean over t of -log2 p(ids[t + ahead])   # t = 0 .. len(ids)-ahead-1
    ```

    It scores the characters `evaluate_bits_per_character` scores. A unigram
    model knows no context, so its value is the same for every `ahead` up to
    the characters left out at the start (on PTB's test set about 4.35 bits;
    issue 14).

    Args:
        train_ids: 1-D integer array, the training text.
        ids: 1-D integer array, the text scored.
        ahead: positive int, as in `stream_segments`. Defaults to 1.
        vocab_size: positive int or None, the number of symbols; defaults to
            the largest id in either text plus one.

    Returns:
        float, bits per character.
    """
    ahead = _validation.check_positive_int("ahead", ahead)
    train_ids, ids = np.asarray(train_ids), np.asarray(ids)
    for name, array in (("train_ids", train_ids), ("ids", ids)):
        if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"Argument `{name}` must be a 1-D array of integer ids. Received: "
                f"shape {array.shape}, dtype {array.dtype}"
            )
        if array.size and array.min() < 0:
            raise ValueError(
                f"Argument `{name}` must hold non-negative ids. Received: the id "
                f"{int(array.min())}"
            )
    if len(ids) <= ahead:
        raise ValueError(
            f"Argument `ids` has no character {ahead} steps ahead. Received: "
            f"{len(ids)} ids"
        )
    largest = int(max(train_ids.max(initial=0), ids.max(initial=0)))
    vocab_size = _validation.check_positive_int(
        "vocab_size", vocab_size, allow_none=True
    )
    if vocab_size is None:
        vocab_size = largest + 1
    elif vocab_size <= largest:
        raise ValueError(
            f"Argument `vocab_size` must exceed every id ({largest}). Received: "
            f"vocab_size={vocab_size}"
        )
    counts = np.bincount(train_ids, minlength=vocab_size) + 1.0
    log2_p = np.log2(counts / counts.sum())
    return float(-log2_p[ids[ahead:]].mean())
