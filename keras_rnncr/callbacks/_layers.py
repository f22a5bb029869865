"""Every layer inside a model: nested models, wrappers and custom layers."""

from keras_rnncr import _private_apis


def layer_paths(model):
    """Yields `(path, layer)` for `model` and every layer inside it, each once.

    Walks the layers Keras tracks: those of nested models, the wrapped layers
    of `Bidirectional` and `TimeDistributed`, the cell of an RNN layer, and the
    layers a custom layer holds as attributes. `path` is the tuple of the
    names from the first layer inside `model` down to `layer` (`()` for
    `model` itself).
    """
    seen = set()

    def visit(layer, path):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        yield path, layer
        for inner in _private_apis.direct_sublayers(layer):
            yield from visit(inner, path + (inner.name,))

    yield from visit(model, ())


def inner_layers(model):
    """Yields `model` and every layer inside it, each once (see `layer_paths`)."""
    for _, layer in layer_paths(model):
        yield layer
