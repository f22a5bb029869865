"""One step of a `char_model` with explicit state, built from its own layers."""

import keras
from keras import ops


def check_char_model(model):
    """Returns the `one_hot`, `rnn` and `head` layers of a `char_model`."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            "Argument `model` must be a `keras_rnncr.text.char_model`. "
            f"Received: model={type(model).__name__}"
        )
    names = {layer.name for layer in model.layers}
    missing = [n for n in ("one_hot", "rnn", "head") if n not in names]
    if missing:
        raise ValueError(
            "Argument `model` must be a `keras_rnncr.text.char_model` (layers "
            f"'one_hot', 'rnn', 'head'). Received: a model without {missing}"
        )
    return model.get_layer("one_hot"), model.get_layer("rnn"), model.get_layer("head")


def check_vocabulary(vocabulary, model):
    """Refuses a `vocabulary` that is not a `CharVocabulary` of the model's size."""
    from keras_rnncr.text.vocabulary import CharVocabulary

    if not isinstance(vocabulary, CharVocabulary):
        raise TypeError(
            "Argument `vocabulary` must be the `keras_rnncr.text.CharVocabulary` "
            f"the model was trained with. Received: {type(vocabulary).__name__}"
        )
    one_hot = check_char_model(model)[0]
    if vocabulary.size != one_hot.input_dim:
        raise ValueError(
            f"Argument `vocabulary` has {vocabulary.size} symbols and the model "
            f"{one_hot.input_dim} (its `one_hot` layer): pass the vocabulary the "
            "model was trained with."
        )


def step_function(model):
    """`step(ids, state) -> (logits, new_state)` for one character per row.

    Runs the model's own layers (`training=False`) on ids of shape `(batch,)`
    and a state of shape `(batch, units)`, so that iterating it over a sequence
    from the zero state gives the logits of `model.predict` on that sequence.
    """
    one_hot, rnn, head = check_char_model(model)

    def step(ids, state):
        output, new_state = rnn.cell(one_hot(ids), [state], training=False)
        return head(output), new_state[0]

    return step


def units_of(model):
    """Number of hidden units of a `char_model`."""
    return check_char_model(model)[1].cell.units


def softmax(logits, temperature=1.0):
    """`softmax(logits / temperature)` over the last axis."""
    # Shifted first: a tiny temperature then gives -inf and 0, not inf.
    shifted = logits - ops.max(logits, axis=-1, keepdims=True)
    return ops.softmax(shifted / temperature, axis=-1)
