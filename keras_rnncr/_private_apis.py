"""The private TensorFlow and Keras APIs keras_rnncr needs, in one place.

Each is used here and nowhere else in the package (`tests/private_apis_test.py`
scans the sources), with why it is needed, what breaks if it changes, and a
fallback where one is safe. Checked with TensorFlow 2.21 and Keras 3.15.

* `tape_records` reads `tensorflow.python.eager.record.should_record_backprop`:
  whether an active gradient tape records operations on a tensor. TensorFlow
  has no public form of it. The fused SimpleRNN pass of Omega
  (`keras_rnncr.layers._fused_simple_rnn.fused_simple_rnn`) computes the error of its
  inputs only when a tape needs it, as TensorFlow's own while-loop gradient
  does; without it the pass would always compute that error, the largest part
  of its extra memory. If the module moves, the import fails and the answer is
  "records": the gradients stay right and only cost more memory.
* `in_xla_context` walks `graph._get_control_flow_context()` (and
  `IsXLAContext()`, `outer_context`, `outer_graph`): whether the function being
  traced is compiled with XLA (`jit_compile=True`), which has no public API.
  `ClippedOptimizer(nonfinite="raise")` warns there that XLA removes
  assertions. If the method goes, the answer is False and only the warning is
  lost.
* `InnerMovingAverages` defines `_model_variables_moving_average`, the EMA
  variables of a Keras optimizer, on a wrapper with an `inner_optimizer`.
  `keras.callbacks.SwapEMAWeights` unwraps one `inner_optimizer` level (for a
  `LossScaleOptimizer`), so under a loss-scale optimizer it finds
  `ClippedOptimizer` and reads this attribute on it; the property shows it the
  inner optimizer's. If Keras renames the attribute, `SwapEMAWeights` fails on
  a `ClippedOptimizer` inside a `LossScaleOptimizer` (mixed precision with
  `use_ema=True`); `tests/optimizers/clipping_test.py` covers it.
* `keras_mask` reads `_keras_mask`, the mask Keras attaches to a layer's output
  tensor (e.g. after `Embedding(mask_zero=True)` or `Masking`), which Keras 3
  exposes to metrics only as this attribute. `keras_rnncr.metrics`' step
  means and the error rates of `keras_rnncr.tasks` leave masked steps out with
  it. If it is renamed, the answer is None:
  masked steps would be counted, unless the mask is also passed as
  `sample_weight`.

* `metric_direction` reads `_direction` (`"up"` or `"down"`), which Keras's
  metrics set and its `ModelCheckpoint`, `EarlyStopping` and
  `ReduceLROnPlateau` read in `mode="auto"` to tell whether a monitored metric
  should go up or down (keras_rnncr's own metrics set it too). The callbacks of
  `keras_rnncr.callbacks` that monitor a quantity read it the same way. If it
  is renamed, the answer is None, and those callbacks ask for `mode="min"` or
  `mode="max"` for a metric other than a loss.

* `strategy_needs_merge_call` calls
  `tf.__internal__.distribute.strategy_supports_no_merge_call`, as Keras's
  `LossScaleOptimizer` does: whether the current `tf.distribute` strategy
  synchronises replicas with `merge_call` (`MirroredStrategy` does, even with
  one replica). `ClippedOptimizer` then skips a non-finite step in a
  cross-replica context, because the inner optimizer's apply makes a merge
  call, which a cond's branch in replica context cannot hold. If the function
  goes, the answer is "needs" under any strategy: the merge-call path works for
  every strategy.

* `direct_sublayers` calls `_flatten_layers(include_self=False,
  recursive=False)`, the layers Keras tracks inside a layer: those of a
  model, the wrapped layers of `Bidirectional` and `TimeDistributed`, and the
  layers a custom `keras.layers.Layer` holds as attributes (in lists and dicts
  too), which no public API lists. The callbacks and diagnostics that look for
  every recurrent layer of a model walk it. If it is renamed, the answer falls
  back to the public attributes (`layers`, `forward_layer`, `backward_layer`,
  `layer`), and layers held by custom layers are no longer found.

Keras's `keras.layers.RNN.inner_loop`, which the Omega layers override and
`keras_rnncr.diagnostics.gradient_profile` replaces for one call, is public but
undocumented; it is not held here.
"""

import keras
import tensorflow as tf


def tape_records(tensor):
    """Whether an active gradient tape records operations on `tensor`."""
    try:
        from tensorflow.python.eager import record
    except ImportError:  # a TensorFlow without this module: assume it does
        return True
    return bool(record.should_record_backprop([tensor]))


def in_xla_context():
    """True while tracing a step that XLA compiles (`jit_compile=True`).

    `tf.function(jit_compile=True)` traces under an XLA control-flow context
    on the calling graph; this looks for it on the graph and its outer graphs
    and answers False if that fails.
    """
    graph = tf.compat.v1.get_default_graph()
    while graph is not None:
        try:
            context = graph._get_control_flow_context()
            while context is not None:
                if context.IsXLAContext():
                    return True
                context = context.outer_context
        except AttributeError:
            return False
        graph = getattr(graph, "outer_graph", None)
    return False


class InnerMovingAverages:
    """For an optimizer wrapper: Keras's EMA variables are the inner optimizer's.

    `keras.callbacks.SwapEMAWeights` reads them on the model's optimizer, or on
    its `inner_optimizer` when it has one (a `LossScaleOptimizer`); a wrapper
    that it reaches that way forwards them with this base class.
    """

    @property
    def _model_variables_moving_average(self):
        return self.inner_optimizer._model_variables_moving_average


def keras_mask(tensor):
    """The mask Keras attached to `tensor` (a layer's output), or None."""
    return getattr(tensor, "_keras_mask", None)


def metric_direction(metric):
    """`"up"`, `"down"` or None: the direction a Keras metric improves in."""
    direction = getattr(metric, "_direction", None)
    return direction if direction in ("up", "down") else None


def strategy_needs_merge_call():
    """Whether the current `tf.distribute` strategy synchronises replicas with
    `merge_call` (False without a strategy)."""
    if not tf.distribute.has_strategy():
        return False
    try:
        supports_no_merge_call = (
            tf.__internal__.distribute.strategy_supports_no_merge_call
        )
    except AttributeError:
        return True
    return not supports_no_merge_call()


def direct_sublayers(layer):
    """The layers Keras tracks directly inside `layer` (not `layer` itself)."""
    flatten = getattr(layer, "_flatten_layers", None)
    if flatten is not None:
        try:
            return list(flatten(include_self=False, recursive=False))
        except TypeError:
            pass
    inner = [
        getattr(layer, attribute, None)
        for attribute in ("forward_layer", "backward_layer", "layer")
    ]
    inner += list(getattr(layer, "layers", None) or [])
    return [one for one in inner if isinstance(one, keras.layers.Layer)]
