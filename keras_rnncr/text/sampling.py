"""Sampling text from a trained character-level language model."""

import numpy as np
import tensorflow as tf

from keras_rnncr import _validation
from keras_rnncr.text._step import check_vocabulary, step_function, units_of


def sample_text(model, vocabulary, prompt="", length=200, temperature=1.0, seed=None):
    """Generates `length` characters after `prompt`, one at a time.

    The model (a `keras_rnncr.text.char_model`, stateful or not; its carried
    state is left untouched) reads `prompt` from the zero state, then each
    sampled character is fed back:
    `c_{t+1} ~ softmax(logits_t / temperature)`. For a model trained with
    `ahead > 1` the samples are draws of the character `ahead` steps later,
    fed back as if they were the next one, so the text is not a sample of the
    language (only `ahead=1` models generate text).

    Args:
        model: a `char_model`.
        vocabulary: the `CharVocabulary` the model was trained with.
        prompt: string to condition on (may be empty: sampling then starts
            from id 0 at the zero state).
        length: non-negative int, number of characters to generate.
        temperature: positive float; below 1 sharpens, above 1 flattens.
        seed: int or None, seed of the numpy random generator.

    Returns:
        The generated string (without `prompt`).
    """
    length = _validation.check_non_negative_int("length", length)
    temperature = _validation.check_positive_float("temperature", temperature)
    seed = _validation.check_seed(seed)
    step = tf.function(step_function(model))  # checks that it is a char_model
    check_vocabulary(vocabulary, model)
    rng = np.random.default_rng(seed)
    state = tf.zeros((1, units_of(model)))
    try:
        ids = vocabulary.encode(prompt) if prompt else np.zeros(1, np.int32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"Argument `prompt`: {error}") from None
    logits = None
    for character in ids:
        logits, state = step(tf.constant([character], tf.int32), state)
    generated = []
    for _ in range(length):
        row = np.asarray(logits[0], np.float64)
        # Shifted by the maximum before the division, so that a tiny
        # temperature gives -inf and 0 (greedy), not inf - inf = NaN.
        with np.errstate(over="ignore"):
            scaled = (row - row.max()) / temperature
        probabilities = np.exp(scaled)
        probabilities /= probabilities.sum()
        character = int(rng.choice(len(probabilities), p=probabilities))
        generated.append(character)
        logits, state = step(tf.constant([character], tf.int32), state)
    return vocabulary.decode(np.asarray(generated, np.int64))
