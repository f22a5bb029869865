"""Private TensorFlow and Keras APIs are used in `keras_rnncr._private_apis` only.

The package's other modules reach TensorFlow's and Keras's internals through
that module, whose docstring says why each is needed and what breaks if it
changes. This test scans the source files for `tensorflow.python`, `keras.src`,
the private names that module wraps, and any `_private` attribute of the `tf`
or `keras` modules.
"""

import ast
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnncr import _private_apis

_ROOT = pathlib.Path(__file__).resolve().parents[1]
_PACKAGE = _ROOT / "keras_rnncr"
_HOME = _PACKAGE / "_private_apis.py"
_PRIVATE_MODULES = ("tensorflow.python", "keras.src")
# The private names `_private_apis` wraps.
_PRIVATE_NAMES = (
    "should_record_backprop",
    "_get_control_flow_context",
    "_model_variables_moving_average",
    "_keras_mask",
    "_flatten_layers",
)


def _sources(*folders):
    for folder in folders:
        yield from sorted((_ROOT / folder).rglob("*.py"))


def _module_roots(tree):
    """Local names bound to the `tensorflow` and `keras` modules (`tf`, ...)."""
    roots = {"tensorflow", "keras"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("tensorflow", "keras"):
                    roots.add(alias.asname or alias.name.split(".")[0])
    return roots


def _private_attributes(tree):
    """`(line, text)` of each `tf...._name` or `keras...._name` attribute."""
    roots = _module_roots(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__"):
            continue
        base = node.value
        while isinstance(base, ast.Attribute):
            base = base.value
        if isinstance(base, ast.Name) and base.id in roots:
            yield node.lineno, ast.unparse(node)


def _uses(path):
    text = path.read_text()
    found = [name for name in _PRIVATE_MODULES + _PRIVATE_NAMES if name in text]
    found += [
        f"line {line}: {code}" for line, code in _private_attributes(ast.parse(text))
    ]
    return found


def test_private_apis_only_in_their_module():
    found = {
        str(path.relative_to(_ROOT)): uses
        for path in _sources("keras_rnncr")
        if path != _HOME and (uses := _uses(path))
    }
    assert not found, f"private TensorFlow/Keras APIs outside {_HOME.name}: {found}"


def test_no_private_modules_in_examples_and_benchmarks():
    found = {
        str(path.relative_to(_ROOT)): names
        for path in _sources("examples", "benchmarks")
        if (names := [n for n in _PRIVATE_MODULES if n in path.read_text()])
    }
    assert not found, found


def test_the_module_holds_what_it_documents():
    text = _HOME.read_text()
    docstring = ast.get_docstring(ast.parse(text))
    for name in _PRIVATE_NAMES:
        assert name in text
        assert name.lstrip("_") in docstring, name


def test_tape_records():
    x = tf.constant([1.0, 2.0])
    assert not _private_apis.tape_records(x)
    with tf.GradientTape() as tape:
        assert not _private_apis.tape_records(x)
        tape.watch(x)
        assert _private_apis.tape_records(x)
        assert _private_apis.tape_records(x * 2.0)


def test_in_xla_context():
    seen = []

    def probe():
        seen.append(_private_apis.in_xla_context())
        return tf.constant(0.0)

    probe()
    tf.function(probe)()
    tf.function(probe, jit_compile=True)()
    assert seen == [False, False, True]


def test_keras_mask():
    inputs = np.array([[1, 2, 0]])
    embedded = keras.layers.Embedding(3, 2, mask_zero=True)(inputs)
    np.testing.assert_array_equal(
        _private_apis.keras_mask(embedded), [[True, True, False]]
    )
    assert _private_apis.keras_mask(tf.constant([1.0])) is None


class _Wrapper(_private_apis.InnerMovingAverages):
    def __init__(self, inner_optimizer):
        self.inner_optimizer = inner_optimizer


def test_inner_moving_averages():
    inner = keras.optimizers.SGD(0.1, use_ema=True)
    variable = keras.Variable([1.0, 2.0])
    inner.build([variable])
    wrapper = _Wrapper(inner)
    averages = wrapper._model_variables_moving_average
    assert averages is inner._model_variables_moving_average
    with pytest.raises(AttributeError):
        assert _Wrapper(object())._model_variables_moving_average
