"""Graph ops that inject the Omega gradient during back-propagation through time.

Three custom-gradient ops:

* `fused_simple_rnn` runs a SimpleRNN recurrence with a hand-written backward
  pass that computes the total derivative `delta_k = dE/dh_k` step by step and,
  from the products that back-propagation needs anyway, Omega and its gradient,
  folded into the recurrent kernel's gradient.
* `omega_probe` is the general form for any cell: an identity on the new state
  whose backward pass sees `delta_k` and differentiates Omega_k with respect to
  the recurrent kernel with the step's inputs, states and `delta_k` held fixed.
  Its per-step sums flow, as gradients of zero accumulators, back to
* `omega_gate`, which sits before the recurrence and turns the summed Omega
  gradient into `alpha * dOmega/dW_rec` for the recurrent kernels.

Both paths normalise, read the loss scale and log through `omega_coefficient`.
"""

import keras
import tensorflow as tf

from keras_rnncr.layers import _omega_math


def statistics_dtype(dtype):
    """Omega's sums are float32, or float64 for a float64 recurrence."""
    return tf.float64 if tf.as_dtype(dtype) == tf.float64 else tf.float32


def _replica_count_and_sum(stats):
    """Sums `stats` over replicas when running inside a multi-replica step."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 1, stats
    return context.num_replicas_in_sync, context.all_reduce("sum", stats)


def omega_coefficient(alpha, statistics, probe_gradient, tracker):
    """The factor that turns Omega's summed gradient into alpha * dOmega/dW.

    Sums `statistics = [sum of Omega_{k,b}, valid pairs, counted pairs]` over
    replicas, records Omega and the valid fraction in `tracker`, and returns
    `alpha * loss_scale / valid_pairs`, where the loss scale is read from the
    gradient of the zero probe that the layer added to the loss:
    `d(scaled loss)/d(probe) = loss_scale / replicas` (1/replicas under
    `tf.distribute`, times the dynamic scale under `LossScaleOptimizer`). A loss
    that leaves out the layer's losses gives zero there, read as unscaled.
    """
    replicas, statistics = _replica_count_and_sum(statistics)
    omega_sum, valid, counted = tf.unstack(statistics)
    tracker.record(
        tf.cast(tf.math.divide_no_nan(omega_sum, valid), tf.float32),
        tf.cast(tf.math.divide_no_nan(valid, counted), tf.float32),
        counted > 0,
    )
    loss_scale = tf.cast(probe_gradient, tf.float32) * replicas
    loss_scale = tf.where(loss_scale == 0.0, tf.ones_like(loss_scale), loss_scale)
    return tf.cast(alpha * loss_scale, statistics.dtype) / tf.maximum(valid, 1.0)


def sequence_omega(
    transported_sq, delta_sq, step_mask, ratio, alpha, probe_gradient, tracker
):
    """Omega's terms over `(time, batch)` pairs: `(coefficient, slope)`.

    Takes `||v||^2` and `||delta||^2` of every pair, leaves out masked steps and
    pairs under the bound, records Omega through `omega_coefficient` and returns
    its coefficient with the per-pair `slope` of `omega_pair_terms`.
    """
    valid = _omega_math.valid_pairs(delta_sq, step_mask)
    omega, slope = _omega_math.omega_pair_terms(transported_sq, delta_sq, valid, ratio)
    counted = tf.ones_like(valid) if step_mask is None else step_mask
    coefficient = omega_coefficient(
        alpha,
        _omega_math.omega_statistics(omega, valid, counted),
        probe_gradient,
        tracker,
    )
    return coefficient, slope


def keep_if_finite(omega_gradients, alpha):
    """Zeroes Omega's gradients unless alpha > 0 and all of them are finite."""
    usable = tf.logical_and(
        alpha > 0.0,
        tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in omega_gradients]),
    )
    return [tf.where(usable, g, tf.zeros_like(g)) for g in omega_gradients]


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
        a zero vector of length 3, and a float32 zero scalar that must be added
        to the loss (its gradient is the loss scale).
    """

    wide = statistics_dtype(kernels[0].dtype)

    @tf.custom_gradient
    def gate(alpha, *kernels):
        accumulators = [tf.zeros(k.shape, wide) for k in kernels]
        outputs = (*accumulators, tf.zeros([3], wide), tf.zeros([], tf.float32))

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


_DERIVATIVES_FROM_OUTPUT = {
    "tanh": lambda h: 1.0 - tf.square(h),
    "sigmoid": lambda h: h * (1.0 - h),
    "relu": lambda h: tf.cast(h > 0, h.dtype),
    "linear": tf.ones_like,
}


def activation_name(activation):
    """The name under which `fused_simple_rnn` knows `activation`, or None."""
    if activation is None:
        return "linear"
    for name in _DERIVATIVES_FROM_OUTPUT:
        if activation is keras.activations.get(name):
            return name
    return None


def fused_simple_rnn(
    inputs,
    initial_state,
    kernel,
    bias,
    recurrent_kernel,
    alpha,
    tracker,
    activation,
    step_mask=None,
    recurrent_mask=None,
    return_sequences=True,
    ratio="squared",
    backward="stored",
):
    """SimpleRNN recurrence whose backward pass also yields Omega's gradient.

    Forward, time-major:

    ```python
    h_in = h[t-1] * recurrent_mask
    h[t] = activation(inputs[t] @ kernel + bias + h_in @ recurrent_kernel)
    h[t] = where(step_mask[t], h[t], h[t-1])
    ```

    (`backward="stored"` forms `inputs @ kernel` for all steps at once;
    `"streaming"` uses one product per step with the stacked kernels, so that
    no sequence-sized temporary is made.)

    Backward, one step at a time from the last: `delta = dE/dh_t` (the total
    derivative), `a = delta * f'(h_t)`, `v = (a @ recurrent_kernel.T) *
    recurrent_mask` (the recurrent part of `delta` at `t-1`, and the error that
    Omega_t compares with `delta`). With `delta`, the states and `f'` held fixed,
    `dOmega_t/dU = sum over b of outer(w[b], a[b])` with `w = 2 slope * v *
    recurrent_mask` (`slope` from `omega_slope`). The gradient of Omega needs
    `alpha * loss_scale / valid pairs` (see `omega_coefficient`), known only once
    every step is done, so the two forms differ in when the weight products are
    taken:

    * `backward="stored"` keeps `a` and `v` of every step and, after the loop,
      folds Omega into the one product that gives the recurrent gradient,
      `((h[t-1] + coefficient * w) * recurrent_mask)^T a`: no extra
      multiply-adds, but `a` and `v` cost two more `(time, batch, units)`
      tensors.
    * `backward="streaming"` adds each step's products to one accumulator,
      `concat([1, inputs[t], h_in, w])^T @ a` (bias, kernel, recurrent and Omega
      rows), so only the states are kept (as for Keras's own SimpleRNN), at the
      cost of one more `units x batch x units` product per step; the Omega rows
      are scaled after the loop.

    Args:
        inputs: `(time, batch, features)`.
        initial_state: `(batch, units)`.
        kernel: `(features, units)`; bias: `(units,)` or None.
        recurrent_kernel: `(units, units)`.
        alpha: float32 scalar tensor, the weight of Omega.
        tracker: `OmegaTracker` to record Omega in (see `omega_coefficient`).
        activation: one of the names of `activation_name`.
        step_mask: optional bool `(time, batch)`; False marks a masked step.
        recurrent_mask: optional `(batch, units)` recurrent-dropout mask.
        return_sequences: return all states, or only the last one.
        ratio: `"squared"` or `"norm"`, see `omega_pair_terms`.
        backward: `"stored"` or `"streaming"`, see above.

    Returns:
        `(states, loss_probe)`: all states `(time, batch, units)` or the last
        state `(batch, units)`, and a float32 zero scalar that must be added to
        the loss (see `omega_coefficient`).
    """
    derivative = _DERIVATIVES_FROM_OUTPUT[activation]
    forward_activation = keras.activations.get(activation)
    wide = statistics_dtype(inputs.dtype)
    features, units = kernel.shape
    has_bias = bias is not None
    if not has_bias:
        bias = tf.zeros([units], kernel.dtype)

    @tf.custom_gradient
    def recurrence(inputs, initial_state, kernel, bias, recurrent_kernel, alpha):
        steps = tf.shape(inputs)[0]

        def masked(h):
            return h if recurrent_mask is None else h * recurrent_mask

        if backward == "stored":
            # All input projections in one product: fast, one more sequence held.
            projected = tf.matmul(inputs, kernel)
            if has_bias:
                projected = projected + bias

            def pre_activation(t, h):
                return projected[t] + tf.matmul(masked(h), recurrent_kernel)

        else:
            stacked = tf.concat([kernel, recurrent_kernel], 0)

            def pre_activation(t, h):
                pre = tf.matmul(tf.concat([inputs[t], masked(h)], -1), stacked)
                return pre + bias if has_bias else pre

        def forward_step(t, h, states):
            h_new = forward_activation(pre_activation(t, h))
            if step_mask is not None:
                h_new = tf.where(step_mask[t][:, None], h_new, h)
            return t + 1, h_new, states.write(t, h_new)

        _, last, states = tf.while_loop(
            lambda t, *_: t < steps,
            forward_step,
            (
                0,
                initial_state,
                tf.TensorArray(inputs.dtype, size=steps, clear_after_read=False),
            ),
            maximum_iterations=steps,
        )
        if return_sequences:
            output = states.stack()
            state_at = output.__getitem__
        else:
            output = last
            state_at = states.read
        probe = tf.zeros([], tf.float32)

        def stored_grad(d_output, d_probe):
            every_state = output if return_sequences else states.stack()
            # Unmasked, with only the last state's error coming in, delta_t is the
            # transported error of step t+1: its norms come from `transported`.
            norms_from_transported = step_mask is None and not return_sequences

            def backward_step(t, carry, errors, transported, *delta_sq):
                delta = carry + d_output[t] if return_sequences else carry
                a = delta * derivative(every_state[t])
                if step_mask is not None:
                    keep = step_mask[t][:, None]
                    a = tf.where(keep, a, tf.zeros_like(a))
                v = masked(tf.matmul(a, recurrent_kernel, transpose_b=True))
                carry = v if step_mask is None else tf.where(keep, v, delta)
                if delta_sq:
                    (delta_sq,) = delta_sq
                    delta_sq = (
                        delta_sq.write(
                            t, tf.reduce_sum(tf.square(tf.cast(delta, wide)), -1)
                        ),
                    )
                return (
                    t - 1,
                    carry,
                    errors.write(t, a),
                    transported.write(t, v),
                    *delta_sq,
                )

            start = tf.zeros_like(initial_state) if return_sequences else d_output
            loop_vars = [
                steps - 1,
                start,
                tf.TensorArray(inputs.dtype, size=steps),
                tf.TensorArray(inputs.dtype, size=steps),
            ]
            if not norms_from_transported:
                loop_vars.append(tf.TensorArray(wide, size=steps))
            _, d_initial, errors, transported, *delta_sq = tf.while_loop(
                lambda t, *_: t >= 0,
                backward_step,
                tuple(loop_vars),
                maximum_iterations=steps,
            )
            errors, transported = errors.stack(), transported.stack()
            transported_wide = tf.cast(transported, wide)
            transported_sq = tf.reduce_sum(tf.square(transported_wide), -1)
            if norms_from_transported:
                start_sq = tf.reduce_sum(tf.square(tf.cast(start, wide)), -1)
                delta_sq = tf.concat([transported_sq[1:], start_sq[None]], 0)
            else:
                delta_sq = delta_sq[0].stack()
            coefficient, slope = sequence_omega(
                transported_sq, delta_sq, step_mask, ratio, alpha, d_probe, tracker
            )
            (scale,) = keep_if_finite([coefficient * 2.0 * slope], alpha)
            previous = tf.concat([initial_state[None], every_state[:-1]], 0)
            combined = tf.cast(previous, wide) + scale[..., None] * transported_wide
            if recurrent_mask is not None:
                combined = combined * tf.cast(recurrent_mask, wide)
            flat_errors = tf.reshape(errors, [-1, units])
            d_recurrent = tf.matmul(
                tf.reshape(tf.cast(combined, errors.dtype), [-1, units]),
                flat_errors,
                transpose_a=True,
            )
            d_kernel = tf.matmul(
                tf.reshape(inputs, [-1, features]), flat_errors, transpose_a=True
            )
            d_inputs = tf.matmul(errors, kernel, transpose_b=True)
            d_bias = tf.reduce_sum(flat_errors, 0) if has_bias else None
            return (d_inputs, d_initial, d_kernel, d_bias, d_recurrent, None)

        def streaming_grad(d_output, d_probe):
            ones = tf.ones_like(initial_state[:, :1], wide)

            def backward_step(t, h_prev, carry, gradient, d_inputs, norms):
                delta = carry + d_output[t] if return_sequences else carry
                a = delta * derivative(state_at(t))
                if step_mask is not None:
                    keep = step_mask[t]
                    a = tf.where(keep[:, None], a, tf.zeros_like(a))
                back = tf.matmul(a, stacked, transpose_b=True)
                v = masked(back[:, features:])
                carry = v if step_mask is None else tf.where(keep[:, None], v, delta)
                v_wide = tf.cast(v, wide)
                delta_sq = tf.reduce_sum(tf.square(tf.cast(delta, wide)), -1)
                transported_sq = tf.reduce_sum(tf.square(v_wide), -1)
                valid = _omega_math.valid_pairs(
                    delta_sq, None if step_mask is None else keep
                )
                slope = _omega_math.omega_slope(transported_sq, delta_sq, valid, ratio)
                rows = tf.concat(
                    [
                        ones,
                        tf.cast(inputs[t], wide),
                        tf.cast(masked(h_prev), wide),
                        masked(slope[:, None] * v_wide),
                    ],
                    -1,
                )
                return (
                    carry,
                    gradient + tf.matmul(rows, tf.cast(a, wide), transpose_a=True),
                    d_inputs.write(t, back[:, :features]),
                    norms.write(t, tf.stack([transported_sq, delta_sq])),
                )

            def loop_body(t, *carried):
                return (t - 1, *backward_step(t, state_at(t - 1), *carried))

            start = tf.zeros_like(initial_state) if return_sequences else d_output
            _, *carried = tf.while_loop(
                lambda t, *_: t >= 1,
                loop_body,
                (
                    steps - 1,
                    start,
                    tf.zeros([1 + features + 2 * units, units], wide),
                    tf.TensorArray(inputs.dtype, size=steps),
                    tf.TensorArray(wide, size=steps),
                ),
                maximum_iterations=steps - 1,
            )
            d_initial, gradient, d_inputs, norms = backward_step(
                0, initial_state, *carried
            )
            transported_sq, delta_sq = tf.unstack(norms.stack(), axis=1)
            coefficient, _ = sequence_omega(
                transported_sq, delta_sq, step_mask, ratio, alpha, d_probe, tracker
            )
            d_bias, d_kernel, d_recurrent, d_omega = tf.split(
                gradient, [1, features, units, units]
            )
            (d_omega,) = keep_if_finite([2.0 * coefficient * d_omega], alpha)
            return (
                d_inputs.stack(),
                d_initial,
                tf.cast(d_kernel, kernel.dtype),
                tf.cast(d_bias[0], bias.dtype) if has_bias else None,
                tf.cast(d_recurrent + d_omega, recurrent_kernel.dtype),
                None,
            )

        return (output, probe), (
            stored_grad if backward == "stored" else streaming_grad
        )

    return recurrence(inputs, initial_state, kernel, bias, recurrent_kernel, alpha)


def omega_probe(cell, kernel_indices, training, ratio="squared"):
    """Returns an identity op on a cell's new states that adds Omega's gradient.

    The op is called as `probe(new_states, inputs, states, weights, accumulators,
    statistics)` inside the recurrence, with `weights` the tensors of
    `cell.weights` read before the loop. In the backward pass, with
    `delta = dE/d(new_states)` flattened over all states, it recomputes the step,
    forms `v = delta @ d(new_states)/d(states)` and Omega_k, and differentiates
    Omega_k with respect to `weights[i]` for `i` in `kernel_indices`, holding
    `inputs`, `states` and `delta` fixed (second-order autodiff).
    """
    variables = list(cell.weights)
    wide = statistics_dtype(cell.compute_dtype)

    def probe(new_states, inputs, states, weights, accumulators, statistics):
        n_new, n_old, n_w = len(new_states), len(states), len(weights)

        @tf.custom_gradient
        def identity(*args):
            new = args[:n_new]
            x = args[n_new]
            old = list(args[n_new + 1 : n_new + 1 + n_old])
            w = list(args[n_new + 1 + n_old : n_new + 1 + n_old + n_w])
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
                        with keras.StatelessScope(state_mapping=mapping):
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
                            tf.reduce_sum(tf.square(tf.cast(v, wide)), -1)
                            for v in transported
                        ]
                    )
                    delta_sq = tf.add_n(
                        [tf.reduce_sum(tf.square(tf.cast(d, wide)), -1) for d in deltas]
                    )
                    valid = _omega_math.valid_pairs(delta_sq)
                    omega, _ = _omega_math.omega_pair_terms(
                        transported_sq, delta_sq, valid, ratio
                    )
                    objective = tf.reduce_sum(omega)
                d_kernels = outer.gradient(
                    objective, kernels, unconnected_gradients="zero"
                )
                d_accumulators = [tf.cast(g, wide) for g in d_kernels]
                d_statistics = _omega_math.omega_statistics(
                    omega, valid, tf.ones_like(valid)
                )
                nones = [None] * (1 + n_old + n_w)
                return (*deltas, *nones, *d_accumulators, d_statistics)

            return tuple(tf.identity(s) for s in new), grad

        return list(
            identity(*new_states, inputs, *states, *weights, *accumulators, statistics)
        )

    return probe


def recurrence_loop(step, inputs, initial_states, step_mask, zero_output_for_mask):
    """Runs `step` over time-major `inputs` with Keras's masking semantics.

    `step(inputs_t, states)` returns `(output, new_states)` with the output equal
    to the first state, as for Keras's SimpleRNN, GRU and LSTM cells.

    Masked steps carry the previous states; their output is the previous output,
    or zeros when `zero_output_for_mask` (as `keras.layers.RNN`).

    Returns:
        `(outputs, final_states)` with outputs time-major.
    """
    steps = tf.shape(inputs)[0]
    zero_output = tf.zeros_like(initial_states[0])

    def body(t, states, previous_output, outputs):
        output, new_states = step(inputs[t], states)
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
