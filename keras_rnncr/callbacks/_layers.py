"""Every layer inside a model: nested models and wrappers included."""

import keras


def inner_layers(model):
    """Yields `model` and every layer inside it, each once.

    Walks nested models (`layers`) and wrappers (`Bidirectional`'s
    `forward_layer` and `backward_layer`, `TimeDistributed`'s `layer`).
    """
    seen = set()

    def visit(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        yield layer
        for attribute in ("forward_layer", "backward_layer", "layer"):
            inner = getattr(layer, attribute, None)
            if isinstance(inner, keras.layers.Layer):
                yield from visit(inner)
        for inner in getattr(layer, "layers", []):
            yield from visit(inner)

    yield from visit(model)
