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

import contextlib

import keras
import tensorflow as tf

from keras_rnncr import _private_apis
from keras_rnncr.layers import _omega_math

# Steps per compiled chunk of the streaming pass: each chunk's states are one
# buffer. Measured on the CPU (batch 64, 128 units, one training step): with the
# whole sequence's states in one `(time, batch, units)` buffer, TensorFlow's
# allocator counted the buffer at its next power of two, so the step's peak
# jumped just past each one: 9.13 MiB at T=129 (a 4.03 MiB buffer) against
# Keras's 4.93 MiB, 1.85x, but 5.12 against 4.87 MiB at T=128. In chunks of 32
# steps (1 MiB each at that size) the peak at T=129 was 5.24 MiB (1.06x), and
# 0.85-1.09x of Keras's at 50 to 300 steps, with step times of 0.95x and 0.94x
# Keras's at T=100 and T=500.
CHUNK_STEPS = 32

# The streaming pass folds Omega in when every unmasked step's own error reaches
# this squared norm (then every pair is most likely valid).
FOLD_BOUND = _omega_math.VALID_BOUND


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

    Sums `statistics` (see `omega_statistics`) over replicas, records Omega and
    the valid fraction in `tracker` (unless a pair's norms or the sums are not
    finite: an overflowed step, which `LossScaleOptimizer` skips), and returns
    `alpha * loss_scale / valid_pairs`, where the loss scale is read from the
    gradient of the zero probe that the layer added to the loss:
    `d(scaled loss)/d(probe) = loss_scale / replicas` (1/replicas under
    `tf.distribute`, times the dynamic scale under `LossScaleOptimizer`). A loss
    that leaves out the layer's losses gives zero there, read as unscaled.
    """
    replicas, statistics = _replica_count_and_sum(statistics)
    omega_sum, valid, counted, non_finite = tf.unstack(statistics)
    measured = tf.logical_and(counted > 0, non_finite == 0)
    tracker.record(
        tf.cast(tf.math.divide_no_nan(omega_sum, valid), tf.float32),
        tf.cast(tf.math.divide_no_nan(valid, counted), tf.float32),
        tf.logical_and(measured, all_finite(statistics)),
    )
    scaled = _scaled_alpha(alpha, probe_gradient, replicas, statistics.dtype)
    return scaled / tf.maximum(valid, 1.0)


def coefficient_if_all_valid(alpha, counted, probe_gradient, dtype):
    """`omega_coefficient`'s value should all `counted` pairs prove valid."""
    replicas, counted = _replica_count_and_sum(counted)
    scaled = _scaled_alpha(alpha, probe_gradient, replicas, dtype)
    return scaled / tf.maximum(counted, 1.0)


def all_finite(tensor):
    """Whether every entry of `tensor` is finite."""
    return tf.reduce_all(tf.math.is_finite(tensor))


def _scaled_alpha(alpha, probe_gradient, replicas, dtype):
    """`alpha * loss_scale`, the loss scale read from the probe's gradient."""
    loss_scale = tf.cast(probe_gradient, tf.float32) * replicas
    loss_scale = tf.where(loss_scale == 0.0, tf.ones_like(loss_scale), loss_scale)
    return tf.cast(alpha * loss_scale, dtype)


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
        _omega_math.omega_statistics(omega, valid, counted, [transported_sq, delta_sq]),
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
        a zero vector for `omega_statistics`, and a float32 zero scalar that must
        be added to the loss (its gradient is the loss scale).
    """

    wide = statistics_dtype(kernels[0].dtype)

    @tf.custom_gradient
    def gate(alpha, *kernels):
        accumulators = [tf.zeros(k.shape, wide) for k in kernels]
        statistics = tf.zeros([len(_omega_math.STATISTICS)], wide)
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


# `delta * activation'`, written with the activation's output `h` (one fused op).
_THROUGH_ACTIVATION = {
    "tanh": lambda h, delta: tf.raw_ops.TanhGrad(y=h, dy=delta),
    "sigmoid": lambda h, delta: tf.raw_ops.SigmoidGrad(y=h, dy=delta),
    "relu": lambda h, delta: tf.raw_ops.ReluGrad(gradients=delta, features=h),
    "linear": lambda h, delta: delta,
}


def activation_name(activation):
    """The name under which `fused_simple_rnn` knows `activation`, or None."""
    if activation is None:
        return "linear"
    for name in _THROUGH_ACTIVATION:
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
    jit_compile=False,
):
    """SimpleRNN recurrence whose backward pass also yields Omega's gradient.

    Forward, time-major:

    ```python
    h_in = h[t-1] * recurrent_mask
    h[t] = activation(inputs[t] @ kernel + bias + h_in @ recurrent_kernel)
    h[t] = where(step_mask[t], h[t], h[t-1])
    ```

    (`backward="stored"` forms `inputs @ kernel` for all steps at once;
    `"streaming"` uses one product per step with the stacked kernels, two with
    a `recurrent_mask`, so that no sequence-sized temporary is made.)

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
    * `backward="streaming"` adds each step's products to accumulators (one
      per block of rows: `[1, inputs[t]]`, the recurrent rows and, apart,
      Omega's rows) and keeps only the states (as Keras's own SimpleRNN
      does). It has three routes, all exact:
      - folded, when every unmasked step receives an error of its own
        (`return_sequences` with a per-step loss): every pair is then most
        likely valid, so the coefficient is taken as if all were, `alpha *
        loss_scale / counted pairs`, and Omega is folded into the recurrent
        rows, `(h_in + coefficient * w)^T @ a`: no extra product. After the
        loop the guess is checked; if a pair fell under the bound, the loop
        runs again with the true coefficient;
      - apart, otherwise (a loss on the last state only, where the errors of
        early steps often vanish under the bound): Omega's rows are kept
        apart, `w^T @ a` beside `h_in^T @ a`, and scaled after the loop, at
        the cost of one more `units x batch x units` product per step;
      - when a folded sum is not finite, the loop runs again apart, so that
        `keep_if_finite` drops Omega's part alone.

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
        jit_compile: compile the forward loop and the backward loops with XLA
            (each distinct input shape is compiled once), as one fused
            computation per loop instead of one TensorFlow op per operation
            and step. With the streaming pass and a known number of steps, the
            loops run in compiled chunks of `CHUNK_STEPS` steps, each chunk's
            states one buffer. Inside a model compiled with XLA this changes
            nothing.

    Returns:
        `(states, loss_probe)`: all states `(time, batch, units)` or the last
        state `(batch, units)`, and a float32 zero scalar that must be added to
        the loss (see `omega_coefficient`).
    """
    through_activation = _THROUGH_ACTIVATION[activation]
    forward_activation = keras.activations.get(activation)
    wide = statistics_dtype(inputs.dtype)
    features, units = kernel.shape
    has_bias = bias is not None
    if not has_bias:
        bias = tf.zeros([units], kernel.dtype)

    # The error of the inputs is computed only where a tape needs it (the
    # inputs come from trainable layers), as TensorFlow does for Keras's RNN.
    inputs_need_gradient = _private_apis.tape_records(inputs)

    def compiled(function):
        if not jit_compile:
            return function
        return tf.function(function, jit_compile=True, autograph=False)

    @tf.custom_gradient
    def recurrence(inputs, initial_state, kernel, bias, recurrent_kernel, alpha):
        # The gradient is `grad`'s alone: keep tapes from recording the steps
        # (an eager tape would otherwise try to differentiate compiled loops).
        inputs, initial_state, kernel, bias, recurrent_kernel = (
            tf.stop_gradient(t)
            for t in (inputs, initial_state, kernel, bias, recurrent_kernel)
        )
        steps = tf.shape(inputs)[0]

        def masked(h):
            return h if recurrent_mask is None else h * recurrent_mask

        if backward == "stored":
            # All input projections in one product: fast, one more sequence held.
            projected = tf.matmul(inputs, kernel)
            if has_bias:
                projected = projected + bias
            sequence = projected

            def pre_activation(x, h):
                return x + tf.matmul(masked(h), recurrent_kernel)

        else:
            stacked = tf.concat([kernel, recurrent_kernel], 0)
            sequence = inputs

            def pre_activation(x, h):
                if recurrent_mask is None:
                    pre = tf.matmul(tf.concat([x, h], -1), stacked)
                else:
                    # Two products: XLA's CPU compiler (TF 2.21) miscompiles
                    # float64 `concat([x, h * recurrent_mask]) @ stacked` at
                    # some shapes (batch 4, 3 features, 5 units; checked by
                    # the dropout cases of omega_correctness_test.py).
                    pre = tf.matmul(x, kernel) + tf.matmul(masked(h), recurrent_kernel)
                return pre + bias if has_bias else pre

        def forward_loop(xs, h0, mask):
            """`(last state, TensorArray of states)` over the steps of `xs`."""
            n = tf.shape(xs)[0]

            def forward_step(t, h, states):
                h_new = forward_activation(pre_activation(xs[t], h))
                if mask is not None:
                    h_new = tf.where(mask[t][:, None], h_new, h)
                return t + 1, h_new, states.write(t, h_new)

            _, last, states = tf.while_loop(
                lambda t, *_: t < n,
                forward_step,
                (0, h0, tf.TensorArray(xs.dtype, size=n, clear_after_read=False)),
                maximum_iterations=n,
            )
            return last, states

        # `(start, end)` of the compiled chunks, or None for one loop.
        chunks = None
        total = inputs.shape[0]
        if jit_compile and backward == "streaming" and total is not None:
            chunks = [
                (i, min(i + CHUNK_STEPS, total)) for i in range(0, total, CHUNK_STEPS)
            ]
        state_chunks = None
        if chunks is not None:
            # One buffer per chunk of steps: the allocator counts a single
            # sequence-sized buffer at its next power of two (see CHUNK_STEPS).
            forward_chunk = compiled(
                lambda xs, h0, mask: forward_loop(xs, h0, mask)[1].stack()
            )
            state_chunks, h = [], initial_state
            for start, end in chunks:
                mask = None if step_mask is None else step_mask[start:end]
                state_chunks.append(forward_chunk(sequence[start:end], h, mask))
                h = state_chunks[-1][-1]
            if return_sequences:
                every_state = output = tf.concat(state_chunks, 0)
            else:
                every_state, output = None, h
        elif jit_compile:
            every_state = compiled(
                lambda: forward_loop(sequence, initial_state, step_mask)[1].stack()
            )()
            output = every_state if return_sequences else every_state[-1]
        else:
            last, states = forward_loop(sequence, initial_state, step_mask)
            if return_sequences:
                every_state = output = states.stack()
            else:
                every_state = None  # stacked only if the stored pass needs it
                output = last
        probe = tf.zeros([], tf.float32)

        # Unmasked, with only the last state's error coming in, delta_t is the
        # transported error of step t+1, whose norm that step computes.
        norms_carried = step_mask is None and not return_sequences

        def stored_grad(d_output, d_probe):
            every = states.stack() if every_state is None else every_state
            errors, transported, d_initial, delta_sq = compiled(stored_loop)(
                d_output, every
            )
            transported_wide = tf.cast(transported, wide)
            transported_sq = tf.reduce_sum(tf.square(transported_wide), -1)
            if norms_carried:
                start_sq = tf.reduce_sum(tf.square(tf.cast(d_output, wide)), -1)
                delta_sq = tf.concat([transported_sq[1:], start_sq[None]], 0)
            coefficient, slope = sequence_omega(
                transported_sq, delta_sq, step_mask, ratio, alpha, d_probe, tracker
            )
            (scale,) = keep_if_finite([coefficient * 2.0 * slope], alpha)
            previous = tf.concat([initial_state[None], every[:-1]], 0)
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
            d_inputs = None
            if inputs_need_gradient:
                d_inputs = tf.matmul(errors, kernel, transpose_b=True)
            d_bias = tf.reduce_sum(flat_errors, 0) if has_bias else None
            return (d_inputs, d_initial, d_kernel, d_bias, d_recurrent, None)

        def stored_loop(d_output, every_state):
            """The backward steps, keeping `a` and `v` of every step.

            Returns `(errors, transported, d_initial, delta_sq)`, `delta_sq` None
            when `norms_carried`.
            """

            def backward_step(t, carry, errors, transported, *delta_sq):
                delta = carry + d_output[t] if return_sequences else carry
                a = through_activation(every_state[t], delta)
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
            if not norms_carried:
                loop_vars.append(tf.TensorArray(wide, size=steps))
            _, d_initial, errors, transported, *delta_sq = tf.while_loop(
                lambda t, *_: t >= 0,
                backward_step,
                tuple(loop_vars),
                maximum_iterations=steps,
            )
            delta_sq = None if norms_carried else delta_sq[0].stack()
            return errors.stack(), transported.stack(), d_initial, delta_sq

        def streaming_loop(
            states,
            d_output,
            xs,
            mask,
            h_before,
            carry,
            delta_sq,
            gradient,
            fold,
            keep_inputs,
        ):
            """Backward steps over a run of steps, adding their weight products.

            Steps are indexed within the run: `states` (a tensor, or the
            forward's TensorArray when uncompiled and only the last state is
            returned), `d_output[t]`, `xs[t]`, `mask[t]`; `h_before` is the
            state before the run, and
            `carry`, `delta_sq`, `gradient` come from the steps after it. The
            sums, `gradient`, are a list of blocks of rows: `[bias, kernel]`,
            `recurrent` and, with `fold=None`, Omega's own `units` rows (to be
            scaled once the coefficient is known); with `fold` a coefficient,
            Omega's rows are added into the recurrent ones with that
            coefficient, which saves one product per step. Returns `(carry,
            delta_sq, gradient, d_inputs, norms)`, the last two for the run's
            steps.
            """
            n = tf.shape(xs)[0]
            ones = tf.ones_like(initial_state[:, :1], wide)
            if isinstance(states, tf.TensorArray):
                state_at = states.read
            else:
                state_at = states.__getitem__

            def backward_step(t, h_prev, carry, delta_sq, gradient, d_inputs, norms):
                delta = carry + d_output[t] if return_sequences else carry
                a = through_activation(state_at(t), delta)
                if mask is not None:
                    keep = mask[t][:, None]
                    a = tf.where(keep, a, tf.zeros_like(a))
                if keep_inputs:
                    back = tf.matmul(a, stacked, transpose_b=True)
                    v = masked(back[:, features:])
                else:
                    v = masked(tf.matmul(a, recurrent_kernel, transpose_b=True))
                carry = v if mask is None else tf.where(keep, v, delta)
                v_wide = tf.cast(v, wide)
                transported_sq = tf.reduce_sum(tf.square(v_wide), -1, keepdims=True)
                if not norms_carried:
                    delta_sq = tf.reduce_sum(
                        tf.square(tf.cast(delta, wide)), -1, keepdims=True
                    )
                valid = _omega_math.valid_pairs(delta_sq)
                slope = _omega_math.omega_slope(transported_sq, delta_sq, valid, ratio)
                h_in = masked(tf.cast(h_prev, wide))
                if fold is None:
                    recurrent_rows = [h_in, masked(slope * v_wide)]
                else:
                    recurrent_rows = [h_in + masked((2.0 * fold) * slope * v_wide)]
                rows = [tf.concat([ones, tf.cast(xs[t], wide)], -1), *recurrent_rows]
                if keep_inputs:
                    d_inputs = d_inputs.write(t, back[:, :features])
                a_wide = tf.cast(a, wide)
                # One product per block of rows: no rows-sized concatenation, and
                # a temporary no larger than one block.
                gradient = [
                    g + tf.matmul(r, a_wide, transpose_a=True)
                    for g, r in zip(gradient, rows)
                ]
                return (
                    carry,
                    transported_sq,
                    gradient,
                    d_inputs,
                    norms.write(t, tf.concat([transported_sq, delta_sq], -1)),
                )

            def loop_body(t, *carried):
                return (t - 1, *backward_step(t, state_at(t - 1), *carried))

            _, *carried = tf.while_loop(
                lambda t, *_: t >= 1,
                loop_body,
                (
                    n - 1,
                    carry,
                    delta_sq,
                    gradient,
                    tf.TensorArray(inputs.dtype, size=n if keep_inputs else 0),
                    tf.TensorArray(wide, size=n),
                ),
                maximum_iterations=n - 1,
            )
            carry, delta_sq, gradient, d_inputs, norms = backward_step(
                0, h_before, *carried
            )
            d_inputs = d_inputs.stack() if keep_inputs else None
            return carry, delta_sq, gradient, d_inputs, norms.stack()

        def backward_pass(d_output, fold=None, keep_inputs=True):
            """`(d_initial, sums, d_inputs, norms)` of a whole backward pass.

            One loop (compiled when `jit_compile`), or one compiled loop per
            chunk of steps, from the last chunk to the first.
            """
            carry = tf.zeros_like(initial_state) if return_sequences else d_output
            delta_sq = tf.reduce_sum(tf.square(tf.cast(carry, wide)), -1, keepdims=True)
            blocks = [1 + features] + [units] * (2 if fold is None else 1)
            gradient = [tf.zeros([b, units], wide) for b in blocks]

            run = compiled(streaming_loop)
            # The states of each run: the chunks', or all of them.
            if chunks is None:
                spans = [(None, None)]
                buffers = [states if every_state is None else every_state]
            else:
                spans, buffers = chunks, state_chunks
            d_inputs, norms = [], []
            for i in reversed(range(len(spans))):
                part = slice(*spans[i])
                carry, delta_sq, gradient, d_in, norm = run(
                    buffers[i],
                    d_output[part] if return_sequences else None,
                    inputs[part],
                    None if step_mask is None else step_mask[part],
                    initial_state if i == 0 else buffers[i - 1][-1],
                    carry,
                    delta_sq,
                    gradient,
                    fold,
                    keep_inputs,
                )
                d_inputs.insert(0, d_in)
                norms.insert(0, norm)
            d_inputs = tf.concat(d_inputs, 0) if keep_inputs else None
            return carry, tf.concat(gradient, 0), d_inputs, tf.concat(norms, 0)

        plain_rows = 1 + features + units

        def with_omega_rows(sums, coefficient):
            """Adds Omega's separate rows, scaled (if finite), to the recurrent ones."""
            plain, d_omega = tf.split(sums, [plain_rows, units])
            (d_omega,) = keep_if_finite([2.0 * coefficient * d_omega], alpha)
            return plain + tf.pad(d_omega, [[1 + features, 0], [0, 0]])

        def streaming_grad(d_output, d_probe):
            folding = None
            if return_sequences:
                # With an error coming into every step, every pair is most likely
                # valid: fold Omega in with the coefficient that assumes so, and
                # check the assumption after the loop.
                direct_sq = tf.reduce_sum(tf.square(tf.cast(d_output, wide)), -1)
                likely = direct_sq >= FOLD_BOUND
                counted = tf.cast(steps * tf.shape(initial_state)[0], wide)
                if step_mask is not None:
                    likely = tf.logical_or(likely, tf.logical_not(step_mask))
                    counted = tf.reduce_sum(tf.cast(step_mask, wide))
                guess = coefficient_if_all_valid(alpha, counted, d_probe, wide)
                folding = tf.reduce_all(likely)

                def folded():
                    d_initial, sums, d_inputs, norms = backward_pass(
                        d_output, guess, keep_inputs=inputs_need_gradient
                    )
                    sums = tf.pad(sums, [[0, units], [0, 0]])  # as `apart`'s shape
                    return d_initial, sums, d_inputs, norms

                d_initial, sums, d_inputs, norms = tf.cond(
                    folding,
                    folded,
                    lambda: backward_pass(d_output, keep_inputs=inputs_need_gradient),
                )
            else:
                d_initial, sums, d_inputs, norms = backward_pass(
                    d_output, keep_inputs=inputs_need_gradient
                )
            transported_sq, delta_sq = tf.unstack(norms, axis=-1)
            coefficient, _ = sequence_omega(
                transported_sq, delta_sq, step_mask, ratio, alpha, d_probe, tracker
            )

            def apart():
                _, again, _, _ = backward_pass(d_output, keep_inputs=False)
                return with_omega_rows(again, coefficient)

            def refolded():
                # A pair fell under the bound: fold again with the true count.
                _, again, _, _ = backward_pass(d_output, coefficient, keep_inputs=False)
                return tf.cond(all_finite(again), lambda: again, apart)

            def checked(sums):
                sums = sums[:plain_rows]
                return tf.cond(
                    all_finite(sums),
                    lambda: tf.cond(coefficient == guess, lambda: sums, refolded),
                    apart,
                )

            if folding is None:
                gradient = with_omega_rows(sums, coefficient)
            else:
                gradient = tf.cond(
                    folding,
                    lambda: checked(sums),
                    lambda: with_omega_rows(sums, coefficient),
                )
            d_bias, d_kernel, d_recurrent = tf.split(gradient, [1, features, units])
            return (
                d_inputs,
                d_initial,
                tf.cast(d_kernel, kernel.dtype),
                tf.cast(d_bias[0], bias.dtype) if has_bias else None,
                tf.cast(d_recurrent, recurrent_kernel.dtype),
                None,
            )

        return (output, probe), (
            stored_grad if backward == "stored" else streaming_grad
        )

    return recurrence(inputs, initial_state, kernel, bias, recurrent_kernel, alpha)


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
    counted, as in `sequence_omega`. With dropout, the step is recomputed with
    the forward pass's `masks` (see `dropout_masks`): the Jacobian is that of
    the dropped-out step.
    """
    variables = list(cell.weights)
    wide = statistics_dtype(cell.compute_dtype)

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
                            tf.reduce_sum(tf.square(tf.cast(v, wide)), -1)
                            for v in transported
                        ]
                    )
                    delta_sq = tf.add_n(
                        [tf.reduce_sum(tf.square(tf.cast(d, wide)), -1) for d in deltas]
                    )
                    valid = _omega_math.valid_pairs(delta_sq, kept)
                    omega, _ = _omega_math.omega_pair_terms(
                        transported_sq, delta_sq, valid, ratio
                    )
                    objective = tf.reduce_sum(omega)
                d_kernels = outer.gradient(
                    objective, kernels, unconnected_gradients="zero"
                )
                d_accumulators = [tf.cast(g, wide) for g in d_kernels]
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
