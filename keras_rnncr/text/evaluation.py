"""Bits per character of a character model on a whole text, state carried."""

from keras_rnncr.text.pipeline import reset_stream_states, stream_dataset


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
    data = stream_dataset(ids, batch_size, segment_length, ahead, drop_remainder=False)
    reset_stream_states(model)
    logs = model.evaluate(data, verbose=0, return_dict=True)
    reset_stream_states(model)
    return float(logs["bits_per_character"])
