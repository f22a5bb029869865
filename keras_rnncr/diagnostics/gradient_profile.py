"""Gradient profile: the norm of dE/dh_t against t, to see gradients vanish."""

import inspect

import keras
import numpy as np
import tensorflow as tf

from keras_rnncr import _validation
from keras_rnncr._plotting import finish, pyplot
from keras_rnncr.callbacks._layers import inner_layers
from keras_rnncr.layers import _omega_probe


def gradient_profile(
    model, inputs, targets, layer=None, sample_weight=None, per_example=False
):
    """Measures `||dE/dh_t||` at every time step `t` of one recurrent layer.

    The picture of Pascanu, Mikolov & Bengio, ICML 2013, §2-3 (Eqs. (3)-(5)):
    the error `E` reaches a hidden state `h_t` through every later step,

    ```python
    dE/dh_t = sum over k >= t of dE_k/dh_k @ dh_k/dh_t  # total derivative
    dh_k/dh_t = prod over t < i <= k of dh_i/dh_{i-1}   # Eq. (5)
    ```

    and the norm of that product decays (vanishing gradients) or grows
    (exploding gradients) exponentially with `k - t`. This function computes
    the total derivative exactly, for a batch, with automatic differentiation.

    How `h_t` is exposed: for the duration of one forward pass, the layer's
    recurrence (`inner_loop` of `keras.layers.RNN`) is replaced by an eager
    Python loop over the steps that calls the layer's own cell with its own
    weights and adds a zero probe `p_t` to the cell's new state:
    `h_t = cell(x_t, h_{t-1}) + p_t`. The probed `h_t` is both the step's
    output and the state passed to step `t + 1`, so one tape over the whole
    model gives `dE/dp_t = dE/dh_t`, the total derivative through all later
    steps and every later use of the outputs (not the partial derivative of a
    sequence-returning copy's outputs). Masking, `zero_output_for_mask`,
    `go_backwards` and `return_sequences` follow `keras.layers.RNN`; the rest
    of the layer's `call` (initial states, `return_state`) is its own. As with
    `model(inputs)`, stateful layers advance their states. The layer is
    restored when the function returns, also on errors.

    `E` is the loss that `fit` minimises on this batch, `model.compute_loss`
    (the compiled loss, with its reduction over the batch, plus the model's
    added losses), evaluated in inference mode (`training=False`: no dropout,
    and the Omega layers of keras_rnncr run the plain Keras recurrence). It is
    computed in the dtypes of the model and of its loss; Keras losses compute
    in `keras.config.floatx()` (float32 unless set to float64).

    Note: `E` is a mean over the batch, so each example's `dE/dh_t` carries a
    factor `1 / batch_size`: the profile is what the optimizer sees. For
    `LSTM`, `h_t` is the cell's output (first state); the cell state `c_t` is
    a separate state that does not depend on `h_t`. For `go_backwards=True`,
    `t` is the input position: `h_t` is the state after reading `x_t`.

    Args:
        model: a compiled `keras.Model` that contains `layer`.
        inputs: the model's inputs for one batch (arrays or tensors, or a
            structure of them, as for `model(inputs)`).
        targets: the targets of the batch, as for `model.fit`.
        layer: the recurrent layer whose states are probed: a
            `keras.layers.RNN` instance (`keras_rnncr.layers.SimpleRNN`, `GRU`,
            `LSTM`, `RNN`, or the Keras layers of the same names) or its name.
            Defaults to the only RNN layer of the model (nested models
            included). Its cell's output must be its first state.
        sample_weight: optional sample weights for the loss.
        per_example: bool. If `False` (default), returns the mean over the
            batch; if `True`, the norms of every example.

    Returns:
        A float64 numpy array: shape `(steps,)`, the mean over the examples of
        `||dE/dh_t||` at each step `t` (over the unmasked examples; `nan`
        where every example is masked), or with `per_example=True` shape
        `(batch_size, steps)`, `nan` at masked steps. Steps are excluded by
        the model's Keras mask only: padding given weight 0 by sample weights
        (`keras_rnncr.music.next_frame_dataset`'s `frame_weights`) has a norm
        of 0 and counts in the mean; pass `per_example=True` and average the
        real steps, or profile sequences of one length.

    Example:

    ```python
    model = keras_rnncr.tasks.task_model("temporal_order", method="sgd")
    inputs, targets = keras_rnncr.tasks.temporal_order_batch(50, 20, rng=0)
    profile = gradient_profile(model, inputs, targets)  # shape (50,)
    plot_gradient_profile({"before training": profile})
    ```
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            "Argument `model` must be a keras.Model. "
            f"Received: model={type(model).__name__}"
        )
    if not getattr(model, "compiled", False):
        raise ValueError(
            "Argument `model` must be compiled with a loss (`model.compile("
            "loss=...)`): E is the model's compiled loss. Received: an "
            f"uncompiled model {model.name!r}"
        )
    per_example = _validation.check_bool("per_example", per_example)
    layer = _find_layer(model, layer)
    with tf.GradientTape() as tape:
        with _probed(layer, tape) as record:
            predictions = model(inputs, training=False)
        loss = model.compute_loss(
            x=inputs,
            y=targets,
            y_pred=predictions,
            sample_weight=sample_weight,
            training=False,
        )
    if record["calls"] != 1:
        raise ValueError(
            f"The forward pass of model {model.name!r} must call layer "
            f"{layer.name!r} exactly once. It was called {record['calls']} times."
        )
    gradients = tape.gradient(
        loss, record["probes"], unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    norms = np.stack(
        [np.linalg.norm(np.asarray(g, np.float64), axis=-1) for g in gradients],
        axis=1,
    )
    if layer.go_backwards:
        norms = norms[:, ::-1]
    if record["mask"] is not None:
        norms = np.where(record["mask"], norms, np.nan)
    if per_example:
        return norms
    valid = ~np.isnan(norms)
    counts = valid.sum(axis=0)
    sums = np.where(valid, norms, 0.0).sum(axis=0)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def plot_gradient_profile(profiles, path=None, title=None):
    """Plots gradient profiles on a log scale, one curve per label.

    Args:
        profiles: dict from a label (e.g. `"before training"`) to a profile
            returned by `gradient_profile` (1-D: one value per time step).
        path: file to save the figure to (any matplotlib format), or `None` to
            only return it.
        title: optional axis title.

    Returns:
        The matplotlib `Figure`: time step `t` on the x axis, `||dE/dh_t||`
        on a logarithmic y axis. A straight line is exponential decay or
        growth; steps where the norm is 0 or `nan` are left out.
    """
    if not isinstance(profiles, dict) or not profiles:
        raise ValueError(
            "Argument `profiles` must be a non-empty dict from label to "
            f"profile. Received: profiles={type(profiles).__name__}"
        )
    curves = {}
    for label, profile in profiles.items():
        profile = np.asarray(profile, dtype=float)
        if profile.ndim != 1:
            raise ValueError(
                "Each profile must be 1-D (one value per time step; average "
                f"per-example profiles first). Received: shape {profile.shape} "
                f"for label {label!r}"
            )
        curves[label] = np.where(profile > 0, profile, np.nan)
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(5, 3.2))
    for label, profile in curves.items():
        axis.plot(np.arange(len(profile)), profile, label=str(label))
    axis.set_yscale("log")
    axis.set_xlabel("time step t")
    axis.set_ylabel("||dE/dh_t||")
    if title is not None:
        axis.set_title(title)
    axis.legend(fontsize="small")
    figure.tight_layout()
    return finish(plt, figure, path)


def _recurrent_layers(model):
    """Every `keras.layers.RNN` of `model`: nested models, wrappers
    (`Bidirectional`'s two layers) and custom layers included."""
    for layer in inner_layers(model):
        if isinstance(layer, keras.layers.RNN):
            yield layer


def _find_layer(model, layer):
    candidates = list(_recurrent_layers(model))
    if layer is None:
        if len(candidates) != 1:
            raise ValueError(
                "Argument `layer` must name the recurrent layer to probe when "
                f"the model does not have exactly one. Model {model.name!r} has "
                f"{[c.name for c in candidates]}. Received: layer=None"
            )
        return candidates[0]
    if isinstance(layer, str):
        named = [c for c in candidates if c.name == layer]
        if not named:
            raise ValueError(
                "Argument `layer` must be the name of a keras.layers.RNN of the "
                f"model, one of {[c.name for c in candidates]}. "
                f"Received: layer={layer!r}"
            )
        if len(named) > 1:
            raise ValueError(
                f"Argument `layer` names {len(named)} recurrent layers of the "
                f"model ({layer!r} in several nested models): pass the layer "
                f"itself. Received: layer={layer!r}"
            )
        return named[0]
    if not isinstance(layer, keras.layers.RNN):
        raise ValueError(
            "Argument `layer` must be a keras.layers.RNN (e.g. SimpleRNN, GRU, "
            f"LSTM) or its name. Received: layer={type(layer).__name__}"
        )
    return layer


class _probed:
    """Context manager: replaces `layer.inner_loop` by the probed recurrence."""

    def __init__(self, layer, tape):
        self.layer, self.tape = layer, tape
        self.record = {"calls": 0, "probes": [], "mask": None}

    def __enter__(self):
        # object.__setattr__ keeps the function out of Keras's attribute
        # tracking; deleting the instance attribute restores the class method.
        object.__setattr__(self.layer, "inner_loop", self._inner_loop)
        return self.record

    def __exit__(self, *exc_info):
        object.__delattr__(self.layer, "inner_loop")
        return False

    def _inner_loop(self, sequences, initial_state, mask, training=False):
        layer, cell = self.layer, self.layer.cell
        self.record["calls"] += 1
        if tf.nest.is_nested(mask):
            mask = mask[0]
        cell_kwargs = {}
        if "training" in inspect.signature(cell.call).parameters:
            cell_kwargs["training"] = training
        inputs = tf.transpose(sequences, [1, 0, 2])
        step_mask = None
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
            self.record["mask"] = mask.numpy()
            step_mask = tf.transpose(mask)
        if layer.go_backwards:
            inputs = tf.reverse(inputs, [0])
            step_mask = None if step_mask is None else tf.reverse(step_mask, [0])
        probes = []

        def step(x, states, step_mask):
            output, new_states = cell(x, states, **cell_kwargs)
            new_states = _omega_probe.cell_states(
                layer,
                output,
                new_states,
                "the gradient profile",
                "as SimpleRNNCell, GRUCell and LSTMCell",
            )
            probe = tf.zeros_like(output)
            self.tape.watch(probe)
            probes.append(probe)
            output = output + probe
            return output, [output, *new_states[1:]]

        # Eager, so the loop runs the steps in Python and the tape sees each.
        outputs, states = _omega_probe.recurrence_loop(
            step,
            inputs,
            tf.nest.flatten(initial_state),
            step_mask,
            layer.zero_output_for_mask,
        )
        self.record["probes"] = probes
        last_output = outputs[-1]
        if layer.return_sequences:
            return last_output, tf.transpose(outputs, [1, 0, 2]), states
        return last_output, last_output[:, None], states
