"""A SavedModel with a one-step generation endpoint for a character model."""

import os

import keras
import tensorflow as tf

from keras_rnncr import _validation
from keras_rnncr.text._step import check_vocabulary, softmax, step_function, units_of

VOCABULARY_FILE = os.path.join("assets.extra", "vocabulary.json")


def export_generator(model, path, vocabulary=None, verbose=False):
    """Writes a SavedModel from which a server can generate text step by step.

    The endpoints take the state explicitly, so one artefact serves any number
    of independent conversations and needs neither Python classes from
    keras_rnncr nor Keras to load (`tf.saved_model.load(path)`):

    ```
    step(ids[int32, (batch,)], state[float32, (batch, units)])
        -> {"logits", "probabilities": (batch, vocab), "state": (batch, units)}
    sample(ids, state, temperature[float32, ()], seed[int32, (2,)])
        -> {"ids": (batch,) drawn from softmax(logits / temperature), "state"}
    initial_state(batch_size[int32, ()]) -> zeros (batch_size, units)
    ```

    Feeding `step` the characters of a text from `initial_state` reproduces the
    logits of `model.predict` on that text. `sample` is deterministic given
    `seed` (`tf.random.stateless_categorical`). The endpoints refuse, with an
    error naming the argument, a temperature that is not a positive finite
    number, a negative `batch_size`, and `ids` and `state` of different batch
    sizes; ids outside the vocabulary are not checked (a negative id is read
    from the end, as in `model.predict`).

    Args:
        model: a `keras_rnncr.text.char_model` (stateful or not).
        path: directory to write the SavedModel to.
        vocabulary: optional `CharVocabulary`, the one the model was trained
            with (same size), written as JSON to
            `<path>/assets.extra/vocabulary.json` (ignored by the loader; a
            server reads it to turn ids into characters).
        verbose: bool, whether to print the endpoints' signatures.

    Every argument is checked before anything is written.

    Returns:
        The `keras.export.ExportArchive` that was written.

    Example:

    >>> # export_generator(model, "generator", vocabulary)
    >>> # served = tf.saved_model.load("generator")
    >>> # out = served.step(tf.constant([3]), served.initial_state(1))
    """
    step = step_function(model)  # checks that it is a char_model
    units = units_of(model)
    if vocabulary is not None:
        check_vocabulary(vocabulary, model)
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise ValueError(
            "Argument `path` must be a directory name (a non-empty string or "
            f"path). Received: path={path!r}"
        )
    if not isinstance(verbose, bool) and not _validation.is_integer(verbose):
        raise ValueError(
            f"Argument `verbose` must be a bool (or 0/1). Received: verbose={verbose!r}"
        )
    verbose = bool(verbose)
    ids_spec = tf.TensorSpec((None,), tf.int32, name="ids")
    state_spec = tf.TensorSpec((None, units), tf.float32, name="state")

    def checked_step(ids, state):
        check = tf.debugging.Assert(
            tf.equal(tf.shape(ids)[0], tf.shape(state)[0]),
            [
                "Arguments `ids` and `state` must have the same batch size. "
                "Received batch sizes:",
                tf.shape(ids)[0],
                tf.shape(state)[0],
            ],
        )
        with tf.control_dependencies([check]):
            return step(tf.identity(ids), state)

    def step_endpoint(ids, state):
        logits, new_state = checked_step(ids, state)
        return {
            "logits": logits,
            "probabilities": softmax(logits),
            "state": new_state,
        }

    def sample_endpoint(ids, state, temperature, seed):
        # As `sample_text`: a temperature that is not a positive finite number
        # is an error (0 or NaN drew an id outside the vocabulary, a negative
        # one the inverted distribution).
        check = tf.debugging.Assert(
            tf.logical_and(temperature > 0.0, tf.math.is_finite(temperature)),
            [
                "Argument `temperature` must be a positive finite float. Received:",
                temperature,
            ],
        )
        with tf.control_dependencies([check]):
            logits, new_state = checked_step(ids, state)
        # Shifted by their maximum first, so that a tiny temperature gives
        # -inf (probability 0) and 0, never +inf (which drew an id outside
        # the vocabulary).
        shifted = logits - tf.reduce_max(logits, axis=-1, keepdims=True)
        drawn = tf.random.stateless_categorical(shifted / temperature, 1, seed)
        return {"ids": tf.cast(drawn[:, 0], tf.int32), "state": new_state}

    def initial_state_endpoint(batch_size):
        check = tf.debugging.Assert(
            batch_size >= 0,
            [
                "Argument `batch_size` must be a non-negative integer. Received:",
                batch_size,
            ],
        )
        with tf.control_dependencies([check]):
            return tf.zeros(tf.stack([batch_size, units]), tf.float32)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("step", step_endpoint, input_signature=[ids_spec, state_spec])
    archive.add_endpoint(
        "sample",
        sample_endpoint,
        input_signature=[
            ids_spec,
            state_spec,
            tf.TensorSpec((), tf.float32, name="temperature"),
            tf.TensorSpec((2,), tf.int32, name="seed"),
        ],
    )
    archive.add_endpoint(
        "initial_state",
        initial_state_endpoint,
        input_signature=[tf.TensorSpec((), tf.int32, name="batch_size")],
    )
    archive.write_out(path, verbose=verbose)
    if vocabulary is not None:
        os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
        with open(os.path.join(path, VOCABULARY_FILE), "w", encoding="utf-8") as f:
            f.write(vocabulary.to_json())
    return archive
