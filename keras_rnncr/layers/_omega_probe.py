"""The generic Omega pass, for any cell: a probe on each step's new states.

* `omega_probe` is an identity on the new state whose backward pass sees
  `delta_k = dE/dh_k` and differentiates Omega_k with respect to the recurrent
  kernel with the step's inputs, states and `delta_k` held fixed (second-order
  autodiff). Its per-step sums flow, as gradients of zero accumulators, back to
* `omega_gate`, which sits before the recurrence and turns the summed Omega
  gradient into `alpha * dOmega/dW_rec` for the recurrent kernels, through
  `_omega_coefficient.omega_coefficient`.
* `recurrence_loop` is the masked loop over a cell's steps (Keras's semantics),
  which the layers and `keras_rnncr.diagnostics.gradient_profile` run, and
  `cell_states` the one check that a step's output is its first state.
"""

import contextlib

import keras
import tensorflow as tf

from keras_rnncr.layers import _omega_math
from keras_rnncr.layers._omega_coefficient import (
    keep_if_finite,
    omega_coefficient,
    statistics_dtype,
)


def omega_gate(alpha, kernels, tracker):
    """Creates the accumulators through which the Omega gradient returns.

    Args:
        alpha: float32 scalar tensor, the weight of Omega.
        kernels: list of recurrent-kernel tensors that receive the gradient;
            the sums are kept in `statistics_dtype` of the first one.
        tracker: `OmegaTracker` updated with Omega and the valid fraction of the
            global batch at each backward pass.

    Returns:
        `(accumulators, statistics, loss_probe)`: zeros shaped like each kernel,
        a zero vector for `_omega_math.omega_statistics`, and a float32 zero
        scalar that must be added to the loss (its gradient is the loss
        scale).
    """

    stats_dtype = statistics_dtype(kernels[0].dtype)

    @tf.custom_gradient
    def gate(alpha, *kernels):
        accumulators = [tf.zeros(k.shape, stats_dtype) for k in kernels]
        statistics = tf.zeros([len(_omega_math.STATISTICS)], stats_dtype)
        outputs = (*accumulators, statistics, tf.zeros([], tf.float32))

        def grad(*upstream):
            upstream = [
                tf.zeros_like(o) if u is None else u for u, o in zip(upstream, outputs)
            ]
            *sums, statistics, probe = upstream
            coefficient = omega_coefficient(alpha, statistics, probe, tracker)
            grads = keep_if_finite([coefficient * s for s in sums], alpha)
            return (None, *[tf.cast(g, k.dtype) for g, k in zip(grads, kernels)])

        return outputs, grad

    *accumulators, statistics, probe = gate(alpha, *kernels)
    return accumulators, statistics, probe


def dropout_masks(cell, step_input, state):
    """`(dropout mask, recurrent dropout mask)` of `cell` for this sequence.

    Keras's cells (`SimpleRNNCell`, `GRUCell`, `LSTMCell`) draw their masks once
    per sequence, before the loop, through these two methods, and keep them
    until the layer's call ends (either may be None: no dropout; or a list, one
    per gate). None for a cell without the methods.
    """
    if not hasattr(cell, "get_dropout_mask"):
        return None
    return (
        cell.get_dropout_mask(step_input),
        cell.get_recurrent_dropout_mask(state),
    )


@contextlib.contextmanager
def _forward_masks(cell, masks):
    """Within, `cell` takes the forward pass's `masks` instead of drawing new ones.

    The probe's backward pass recomputes the step after the layer's call has
    released the masks: the step must be the one the forward pass took.
    """
    if masks is None:
        yield
        return
    dropout_mask, recurrent_mask = masks
    cell.get_dropout_mask = lambda step_input: dropout_mask
    cell.get_recurrent_dropout_mask = lambda step_input: recurrent_mask
    try:
        yield
    finally:
        del cell.get_dropout_mask, cell.get_recurrent_dropout_mask


def omega_probe(cell, kernel_indices, training, ratio="squared", masks=None):
    """Returns an identity op on a cell's new states that adds Omega's gradient.

    The op is called as `probe(new_states, inputs, states, weights, accumulators,
    statistics, step_mask)` inside the recurrence, with `weights` the tensors of
    `cell.weights` read before the loop and `step_mask` the step's bool `(batch,)`
    mask or None. In the backward pass, with `delta = dE/d(new_states)` flattened
    over all states, it recomputes the step, forms `v = delta @
    d(new_states)/d(states)` and Omega_k, and differentiates Omega_k with respect
    to `weights[i]` for `i` in `kernel_indices`, holding `inputs`, `states` and
    `delta` fixed (second-order autodiff). Masked pairs are neither valid nor
    counted, as in `_omega_coefficient.sequence_omega`. With dropout, the step
    is recomputed with the forward pass's `masks` (see `dropout_masks`): the
    Jacobian is that of the dropped-out step.
    """
    variables = list(cell.weights)
    stats_dtype = statistics_dtype(cell.compute_dtype)

    def probe(new_states, inputs, states, weights, accumulators, statistics, step_mask):
        n_new, n_old, n_w = len(new_states), len(states), len(weights)
        masked = step_mask is not None

        @tf.custom_gradient
        def identity(*args):
            new = args[:n_new]
            x = args[n_new]
            old = list(args[n_new + 1 : n_new + 1 + n_old])
            w = list(args[n_new + 1 + n_old : n_new + 1 + n_old + n_w])
            kept = args[-1] if masked else None
            kernels = [w[i] for i in kernel_indices]

            def grad(*deltas):
                deltas = [
                    tf.zeros_like(s) if d is None else d for d, s in zip(deltas, new)
                ]
                with tf.GradientTape() as outer:
                    outer.watch(kernels)
                    with tf.GradientTape() as inner:
                        inner.watch(old)
                        mapping = list(zip(variables, w))
                        with (
                            keras.StatelessScope(state_mapping=mapping),
                            _forward_masks(cell, masks),
                        ):
                            _, recomputed = cell(x, old, training=training)
                        recomputed = tf.nest.flatten(recomputed)
                    transported = inner.gradient(
                        recomputed,
                        old,
                        output_gradients=deltas,
                        unconnected_gradients="zero",
                    )
                    transported_sq = tf.add_n(
                        [
                            tf.reduce_sum(tf.square(tf.cast(v, stats_dtype)), -1)
                            for v in transported
                        ]
                    )
                    delta_sq = tf.add_n(
                        [
                            tf.reduce_sum(tf.square(tf.cast(d, stats_dtype)), -1)
                            for d in deltas
                        ]
                    )
                    valid = _omega_math.valid_pairs(delta_sq, kept)
                    omega, _ = _omega_math.omega_pair_terms(
                        transported_sq, delta_sq, valid, ratio
                    )
                    objective = tf.reduce_sum(omega)
                d_kernels = outer.gradient(
                    objective, kernels, unconnected_gradients="zero"
                )
                d_accumulators = [tf.cast(g, stats_dtype) for g in d_kernels]
                d_statistics = _omega_math.omega_statistics(
                    omega,
                    valid,
                    tf.ones_like(valid) if kept is None else kept,
                    [transported_sq, delta_sq],
                )
                nones = [None] * (1 + n_old + n_w)
                mask_gradient = [None] if masked else []
                return (*deltas, *nones, *d_accumulators, d_statistics, *mask_gradient)

            return tuple(tf.identity(s) for s in new), grad

        mask = [step_mask] if masked else []
        return list(
            identity(
                *new_states,
                inputs,
                *states,
                *weights,
                *accumulators,
                statistics,
                *mask,
            )
        )

    return probe


def cell_states(layer, output, new_states, needed_by, reason):
    """The flat new states of a step of `layer.cell`, whose output is the first.

    Omega and `keras_rnncr.diagnostics.gradient_profile` take the output of a
    step as its first state (the `h_t` that the next step reads); a cell that
    returns anything else is refused with a `ValueError` that names the layer,
    what needs it (`needed_by`) and why (`reason`).
    """
    new_states = tf.nest.flatten(new_states)
    if output is not new_states[0]:
        raise ValueError(
            f"Layer {layer.name!r}: {needed_by} needs a cell whose output is its "
            f"first state ({reason}). {type(layer.cell).__name__} returns a "
            "different output."
        )
    return new_states


def recurrence_loop(step, inputs, initial_states, step_mask, zero_output_for_mask):
    """Runs `step` over time-major `inputs` with Keras's masking semantics.

    `step(inputs_t, states, step_mask_t)` returns `(output, new_states)` with the
    output equal to the first state, as for Keras's SimpleRNN, GRU and LSTM
    cells; `step_mask_t` is the step's bool `(batch,)` mask, or None.

    Masked steps carry the previous states; their output is the previous output,
    or zeros when `zero_output_for_mask` (as `keras.layers.RNN`).

    Returns:
        `(outputs, final_states)` with outputs time-major.
    """
    steps = tf.shape(inputs)[0]
    zero_output = tf.zeros_like(initial_states[0])

    def body(t, states, previous_output, outputs):
        output, new_states = step(
            inputs[t], states, None if step_mask is None else step_mask[t]
        )
        if step_mask is not None:
            keep = step_mask[t][:, None]
            new_states = [tf.where(keep, n, s) for n, s in zip(new_states, states)]
            fallback = zero_output if zero_output_for_mask else previous_output
            output = tf.where(keep, output, fallback)
        return t + 1, new_states, output, outputs.write(t, output)

    _, states, _, outputs = tf.while_loop(
        lambda t, *_: t < steps,
        body,
        (
            0,
            list(initial_states),
            zero_output,
            tf.TensorArray(zero_output.dtype, size=steps),
        ),
        maximum_iterations=steps,
    )
    return outputs.stack(), states
