"""One step of a `char_model` with explicit state, built from its own layers."""

from keras import ops


def check_char_model(model):
    """Returns the `one_hot`, `rnn` and `head` layers of a `char_model`."""
    names = {layer.name for layer in model.layers}
    missing = [n for n in ("one_hot", "rnn", "head") if n not in names]
    if missing:
        raise ValueError(
            "Argument `model` must be a `keras_rnncr.text.char_model` (layers "
            f"'one_hot', 'rnn', 'head'). Received: a model without {missing}"
        )
    return model.get_layer("one_hot"), model.get_layer("rnn"), model.get_layer("head")


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
    return ops.softmax(logits / temperature, axis=-1)
