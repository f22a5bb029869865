"""A SimpleRNN recurrence whose hand-written backward pass also yields Omega's gradient.

`fused_simple_rnn` is a custom-gradient op: its backward pass computes the total
derivative `delta_k = dE/dh_k` step by step and, from the products that
back-propagation needs anyway, Omega and its gradient, folded into the
recurrent kernel's gradient. Its shell is short; the loops are the module's
functions below, each taking the recurrence's `Recurrence` description by
keyword:

* `forward_loop` and `forward_states`: the states, one buffer per span of steps
  (`Recurrence.spans`);
* `stored_loop` and `stored_gradients`: the backward pass that keeps each step's
  error and transported error, and folds Omega in after the loop;
* `streaming_loop`, `backward_pass` and `streaming_gradients`: the backward pass
  that keeps only the states and adds each step's weight products to sums.

Omega's coefficient, statistics and finiteness checks are
`_omega_coefficient`'s; its per-pair terms `_omega_math`'s.
"""

import dataclasses
import functools

import keras
import tensorflow as tf

from keras_rnncr import _private_apis
from keras_rnncr.layers import _omega_math
from keras_rnncr.layers._batch_parts import row_slices, rows_of
from keras_rnncr.layers._omega_coefficient import (
    all_finite,
    coefficient_if_all_valid,
    keep_if_finite,
    sequence_omega,
    statistics_dtype,
)

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

# `delta * activation'`, written with the activation's output `h` (one fused op).
_THROUGH_ACTIVATION = {
    "tanh": lambda h, delta: tf.raw_ops.TanhGrad(y=h, dy=delta),
    "sigmoid": lambda h, delta: tf.raw_ops.SigmoidGrad(y=h, dy=delta),
    "relu": lambda h, delta: tf.raw_ops.ReluGrad(gradients=delta, features=h),
    "linear": lambda h, delta: delta,
    # h = a / (1 + |a|), so 1 - |h| = 1 / (1 + |a|): f'(a) = (1 - |h|)**2.
    # (TensorFlow has no second derivative of softsign, so the general path
    # cannot train it.)
    "softsign": lambda h, delta: delta * tf.square(1.0 - tf.abs(h)),
}


def activation_name(activation):
    """The name under which `fused_simple_rnn` knows `activation`, or None."""
    if activation is None:
        return "linear"
    for name in _THROUGH_ACTIVATION:
        if activation is keras.activations.get(name):
            return name
    return None


@dataclasses.dataclass(frozen=True, eq=False)
class Recurrence:
    """One SimpleRNN recurrence as its loops see it.

    The inputs, initial state and weights are taken through `tf.stop_gradient`
    (the op's gradient is its own); the masks are the layer's.

    Attributes:
        inputs: `(time, batch, features)`.
        initial_state: `(batch, units)`.
        kernel: `(features, units)`.
        bias: `(units,)`, zeros when the layer has none.
        has_bias: whether the layer has a bias (whose gradient is returned).
        recurrent_kernel: `(units, units)`.
        activation: a name of `activation_name`.
        step_mask: bool `(time, batch)` or None; False marks a masked step.
        recurrent_mask: `(batch, units)` recurrent-dropout mask or None.
        return_sequences: whether the output is every state or the last.
        ratio: `"squared"` or `"norm"`, see `_omega_math.omega_pair_terms`.
        backward: `"stored"` or `"streaming"`.
        jit_compile: whether the loops are compiled with XLA.
        inputs_need_gradient: whether the backward pass returns `dE/dinputs`.
        batch_parts: into how many parts of batch rows the compiled streaming
            loops are split (see `parts`; no more parts than rows when the
            batch size is known at trace time).
        stacked_kernels: `[kernel; recurrent_kernel]` for the streaming pass's
            one product per step (None for the stored pass), made once.
        steps: the number of steps, a scalar tensor, read once.
    """

    inputs: tf.Tensor
    initial_state: tf.Tensor
    kernel: tf.Tensor
    bias: tf.Tensor
    has_bias: bool
    recurrent_kernel: tf.Tensor
    activation: str
    step_mask: tf.Tensor | None
    recurrent_mask: tf.Tensor | None
    return_sequences: bool
    ratio: str
    backward: str
    jit_compile: bool
    inputs_need_gradient: bool
    batch_parts: int = 1
    stacked_kernels: tf.Tensor | None = dataclasses.field(init=False, default=None)
    steps: tf.Tensor = dataclasses.field(init=False, default=None)

    def __post_init__(self):
        stacked = None
        if not self.stored:
            stacked = tf.concat([self.kernel, self.recurrent_kernel], 0)
        object.__setattr__(self, "stacked_kernels", stacked)
        object.__setattr__(self, "steps", tf.shape(self.inputs)[0])

    def parts(self):
        """The recurrence as `batch_parts` recurrences of consecutive batch rows.

        Each part's loops run on their own, side by side (see
        `_batch_parts`). Returns `[(rows, recurrence)]`,
        `rows` a slice of the batch; `[(slice(None), self)]` when not split.
        """
        batch = self.initial_state.shape[0]
        count = self.batch_parts if batch is None else min(self.batch_parts, batch)
        if self.stored or not self.jit_compile or count == 1:
            return [(slice(None), self)]
        if batch is None:
            batch = tf.shape(self.initial_state)[0]
        return [
            (
                rows,
                dataclasses.replace(
                    self,
                    inputs=rows_of(self.inputs, rows, 1),
                    initial_state=rows_of(self.initial_state, rows, 0),
                    step_mask=rows_of(self.step_mask, rows, 1),
                    recurrent_mask=rows_of(self.recurrent_mask, rows, 0),
                    batch_parts=1,
                ),
            )
            for rows in row_slices(batch, count)
        ]

    @property
    def stored(self):
        """Whether the backward pass is the stored one (else streaming)."""
        return self.backward == "stored"

    @property
    def features(self):
        return self.kernel.shape[0]

    @property
    def units(self):
        return self.kernel.shape[1]

    @property
    def statistics_dtype(self):
        """The dtype of Omega's sums (`statistics_dtype`)."""
        return statistics_dtype(self.inputs.dtype)

    @property
    def norms_carried(self):
        """Unmasked, with only the last state's error coming in, `delta_t` is the
        transported error of step t+1, whose norm that step computes."""
        return self.step_mask is None and not self.return_sequences

    @property
    def spans(self):
        """`(start, end)` of each run of steps with a buffer of states of its own.

        With the streaming pass compiled and a known number of steps, chunks
        of `CHUNK_STEPS` (the allocator counts a single sequence-sized buffer
        at its next power of two); otherwise one run, `(None, None)`.
        """
        total = self.inputs.shape[0]
        if self.jit_compile and not self.stored and total is not None:
            return [
                (i, min(i + CHUNK_STEPS, total)) for i in range(0, total, CHUNK_STEPS)
            ]
        return [(None, None)]

    def compiled(self, function):
        if not self.jit_compile:
            return function
        return tf.function(function, jit_compile=True, autograph=False)

    def masked(self, h):
        """`h` with the recurrent-dropout mask applied (in `h`'s dtype: Omega's
        statistics are float32 under a float16 policy)."""
        if self.recurrent_mask is None:
            return h
        return h * tf.cast(self.recurrent_mask, h.dtype)

    def through_activation(self, h, delta):
        return _THROUGH_ACTIVATION[self.activation](h, delta)

    def input_sequence(self):
        """What the forward steps read: the inputs (streaming), or their
        projections `inputs @ kernel + bias` for all steps at once (stored:
        fast, one more sequence held)."""
        if not self.stored:
            return self.inputs
        projected = tf.matmul(self.inputs, self.kernel)
        return projected + self.bias if self.has_bias else projected

    def pre_activation(self, x, h):
        """The step's pre-activation from its `input_sequence` entry `x`."""
        if self.stored:
            return x + tf.matmul(self.masked(h), self.recurrent_kernel)
        if self.recurrent_mask is None:
            pre = tf.matmul(tf.concat([x, h], -1), self.stacked_kernels)
        else:
            # Two products: XLA's CPU compiler (TF 2.21) miscompiles float64
            # `concat([x, h * recurrent_mask]) @ stacked` at some shapes (batch
            # 4, 3 features, 5 units; checked by the dropout cases of
            # omega_correctness_test.py).
            pre = tf.matmul(x, self.kernel) + tf.matmul(
                self.masked(h), self.recurrent_kernel
            )
        return pre + self.bias if self.has_bias else pre


def forward_loop(xs, h0, mask, *, rnn):
    """`(last state, TensorArray of states)` over the steps of `xs`."""
    n = tf.shape(xs)[0]
    activation = keras.activations.get(rnn.activation)

    def forward_step(t, h, states):
        h_new = activation(rnn.pre_activation(xs[t], h))
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


def forward_states(*, rnn):
    """`(output, states)`: the layer's output, and the forward states as one
    buffer per span of `rnn.spans` (a tensor, or the loop's TensorArray when
    uncompiled and only the last state is returned)."""
    sequence = rnn.input_sequence()
    spans = rnn.spans
    if spans != [(None, None)]:
        forward_chunk = rnn.compiled(
            lambda xs, h0, mask: forward_loop(xs, h0, mask, rnn=rnn)[1].stack()
        )
        states, h = [], rnn.initial_state
        for start, end in spans:
            mask = None if rnn.step_mask is None else rnn.step_mask[start:end]
            states.append(forward_chunk(sequence[start:end], h, mask))
            h = states[-1][-1]
        output = tf.concat(states, 0) if rnn.return_sequences else h
        return output, states
    if rnn.jit_compile:
        every = rnn.compiled(
            lambda: forward_loop(sequence, rnn.initial_state, rnn.step_mask, rnn=rnn)[
                1
            ].stack()
        )()
        return (every if rnn.return_sequences else every[-1]), [every]
    last, states = forward_loop(sequence, rnn.initial_state, rnn.step_mask, rnn=rnn)
    if rnn.return_sequences:
        every = states.stack()
        return every, [every]
    return last, [states]  # stacked only if the stored pass needs it


def forward_parts(*, rnn):
    """`(output, states)` of `forward_states` for each of `rnn.parts()`: the
    output of the whole batch, and the states as a list, one per part."""
    parts = [forward_states(rnn=part) for _, part in rnn.parts()]
    if len(parts) == 1:
        return parts[0][0], [parts[0][1]]
    axis = 1 if rnn.return_sequences else 0
    return tf.concat([output for output, _ in parts], axis), [s for _, s in parts]


def _all_states(states):
    """The whole `(time, batch, units)` sequence of the forward `states`."""
    if isinstance(states[0], tf.TensorArray):
        return states[0].stack()
    return states[0] if len(states) == 1 else tf.concat(states, 0)


def stored_loop(d_output, every, *, rnn):
    """The backward steps, keeping the error `a` and transported error `v` of
    every step.

    Returns `(errors, transported, d_initial, delta_sq)`, `delta_sq` None when
    `rnn.norms_carried`.
    """
    stats_dtype = rnn.statistics_dtype
    step_mask = rnn.step_mask

    def backward_step(t, carry, errors, transported, *delta_sq):
        delta = carry + d_output[t] if rnn.return_sequences else carry
        a = rnn.through_activation(every[t], delta)
        if step_mask is not None:
            keep = step_mask[t][:, None]
            a = tf.where(keep, a, tf.zeros_like(a))
        v = rnn.masked(tf.matmul(a, rnn.recurrent_kernel, transpose_b=True))
        carry = v if step_mask is None else tf.where(keep, v, delta)
        if delta_sq:
            (delta_sq,) = delta_sq
            delta_sq = (
                delta_sq.write(
                    t, tf.reduce_sum(tf.square(tf.cast(delta, stats_dtype)), -1)
                ),
            )
        return (t - 1, carry, errors.write(t, a), transported.write(t, v), *delta_sq)

    steps = rnn.steps
    start = tf.zeros_like(rnn.initial_state) if rnn.return_sequences else d_output
    loop_vars = [
        steps - 1,
        start,
        tf.TensorArray(rnn.inputs.dtype, size=steps),
        tf.TensorArray(rnn.inputs.dtype, size=steps),
    ]
    if not rnn.norms_carried:
        loop_vars.append(tf.TensorArray(stats_dtype, size=steps))
    _, d_initial, errors, transported, *delta_sq = tf.while_loop(
        lambda t, *_: t >= 0,
        backward_step,
        tuple(loop_vars),
        maximum_iterations=steps,
    )
    delta_sq = None if rnn.norms_carried else delta_sq[0].stack()
    return errors.stack(), transported.stack(), d_initial, delta_sq


def stored_gradients(states, d_output, d_probe, alpha, tracker, *, rnn):
    """The gradients of the stored pass: Omega folded in after the loop."""
    stats_dtype, units, features = rnn.statistics_dtype, rnn.units, rnn.features
    every = _all_states(states)
    errors, transported, d_initial, delta_sq = rnn.compiled(
        functools.partial(stored_loop, rnn=rnn)
    )(d_output, every)
    transported_stats = tf.cast(transported, stats_dtype)
    transported_sq = tf.reduce_sum(tf.square(transported_stats), -1)
    if rnn.norms_carried:
        start_sq = tf.reduce_sum(tf.square(tf.cast(d_output, stats_dtype)), -1)
        delta_sq = tf.concat([transported_sq[1:], start_sq[None]], 0)
    coefficient, slope = sequence_omega(
        transported_sq, delta_sq, rnn.step_mask, rnn.ratio, alpha, d_probe, tracker
    )
    (scale,) = keep_if_finite([coefficient * 2.0 * slope], alpha)
    previous = tf.concat([rnn.initial_state[None], every[:-1]], 0)
    combined = tf.cast(previous, stats_dtype) + scale[..., None] * transported_stats
    if rnn.recurrent_mask is not None:
        combined = combined * tf.cast(rnn.recurrent_mask, stats_dtype)
    flat_errors = tf.reshape(errors, [-1, units])
    # In the statistics dtype: under a float16 policy `scale * v` can pass
    # float16's range for pairs whose error is small but valid (the streaming
    # pass takes its sums in that dtype too).
    d_recurrent = tf.matmul(
        tf.reshape(combined, [-1, units]),
        tf.cast(flat_errors, stats_dtype),
        transpose_a=True,
    )
    d_recurrent = tf.cast(d_recurrent, rnn.recurrent_kernel.dtype)
    d_kernel = tf.matmul(
        tf.reshape(rnn.inputs, [-1, features]), flat_errors, transpose_a=True
    )
    d_inputs = None
    if rnn.inputs_need_gradient:
        d_inputs = tf.matmul(errors, rnn.kernel, transpose_b=True)
    d_bias = tf.reduce_sum(flat_errors, 0) if rnn.has_bias else None
    return (d_inputs, d_initial, d_kernel, d_bias, d_recurrent, None)


def streaming_loop(
    buffer,
    d_output,
    xs,
    mask,
    h_before,
    carry,
    delta_sq,
    gradient,
    fold,
    keep_inputs,
    *,
    rnn,
):
    """Backward steps over a run of steps, adding their weight products.

    Steps are indexed within the run: `buffer`, the run's states (a tensor,
    or the forward's TensorArray when uncompiled and only the last state is returned),
    `d_output[t]`, `xs[t]`, `mask[t]`; `h_before` is the state before the run,
    and `carry`, `delta_sq`, `gradient` come from the steps after it. The sums,
    `gradient`, are a list of blocks of rows: `[bias, kernel]`, `recurrent`
    and, with `fold=None`, Omega's own `units` rows (to be scaled once the
    coefficient is known); with `fold` a coefficient, Omega's rows are added
    into the recurrent ones with that coefficient, which saves one product per
    step. Returns `(carry, delta_sq, gradient, d_inputs, norms)`, the last two
    for the run's steps.
    """
    stats_dtype, features = rnn.statistics_dtype, rnn.features
    n = tf.shape(xs)[0]
    ones = tf.ones_like(rnn.initial_state[:, :1], stats_dtype)
    if isinstance(buffer, tf.TensorArray):
        state_at = buffer.read
    else:
        state_at = buffer.__getitem__

    def backward_step(t, h_prev, carry, delta_sq, gradient, d_inputs, norms):
        delta = carry + d_output[t] if rnn.return_sequences else carry
        a = rnn.through_activation(state_at(t), delta)
        if mask is not None:
            keep = mask[t][:, None]
            a = tf.where(keep, a, tf.zeros_like(a))
        if keep_inputs:
            back = tf.matmul(a, rnn.stacked_kernels, transpose_b=True)
            v = rnn.masked(back[:, features:])
        else:
            v = rnn.masked(tf.matmul(a, rnn.recurrent_kernel, transpose_b=True))
        carry = v if mask is None else tf.where(keep, v, delta)
        v_stats = tf.cast(v, stats_dtype)
        transported_sq = tf.reduce_sum(tf.square(v_stats), -1, keepdims=True)
        if not rnn.norms_carried:
            delta_sq = tf.reduce_sum(
                tf.square(tf.cast(delta, stats_dtype)), -1, keepdims=True
            )
        valid = _omega_math.valid_pairs(delta_sq)
        slope = _omega_math.omega_slope(transported_sq, delta_sq, valid, rnn.ratio)
        h_in = rnn.masked(tf.cast(h_prev, stats_dtype))
        if fold is None:
            recurrent_rows = [h_in, rnn.masked(slope * v_stats)]
        else:
            recurrent_rows = [h_in + rnn.masked((2.0 * fold) * slope * v_stats)]
        rows = [tf.concat([ones, tf.cast(xs[t], stats_dtype)], -1), *recurrent_rows]
        if keep_inputs:
            d_inputs = d_inputs.write(t, back[:, :features])
        a_stats = tf.cast(a, stats_dtype)
        # One product per block of rows: no rows-sized concatenation, and a
        # temporary no larger than one block.
        gradient = [
            g + tf.matmul(r, a_stats, transpose_a=True) for g, r in zip(gradient, rows)
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
            tf.TensorArray(rnn.inputs.dtype, size=n if keep_inputs else 0),
            tf.TensorArray(stats_dtype, size=n),
        ),
        maximum_iterations=n - 1,
    )
    carry, delta_sq, gradient, d_inputs, norms = backward_step(0, h_before, *carried)
    d_inputs = d_inputs.stack() if keep_inputs else None
    return carry, delta_sq, gradient, d_inputs, norms.stack()


def backward_pass(states, d_output, fold=None, keep_inputs=True, *, rnn):
    """`(d_initial, sums, d_inputs, norms)` of a whole streaming backward pass.

    One loop (compiled when `rnn.jit_compile`), or one compiled loop per chunk
    of steps, from the last chunk to the first.
    """
    stats_dtype, units = rnn.statistics_dtype, rnn.units
    carry = tf.zeros_like(rnn.initial_state) if rnn.return_sequences else d_output
    delta_sq = tf.reduce_sum(tf.square(tf.cast(carry, stats_dtype)), -1, keepdims=True)
    blocks = [1 + rnn.features] + [units] * (2 if fold is None else 1)
    gradient = [tf.zeros([b, units], stats_dtype) for b in blocks]
    run = rnn.compiled(functools.partial(streaming_loop, rnn=rnn))
    spans = rnn.spans
    d_inputs, norms = [], []
    for i in reversed(range(len(spans))):
        part = slice(*spans[i])
        carry, delta_sq, gradient, d_in, norm = run(
            states[i],
            d_output[part] if rnn.return_sequences else None,
            rnn.inputs[part],
            None if rnn.step_mask is None else rnn.step_mask[part],
            rnn.initial_state if i == 0 else states[i - 1][-1],
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


def backward_parts(states, d_output, fold=None, keep_inputs=True, *, rnn):
    """`backward_pass` over each of `rnn.parts()` (`states`, one per part),
    combined: the batch's errors and norms, the weight sums added."""
    passes = []
    for (rows, part), part_states in zip(rnn.parts(), states):
        part_output = rows_of(d_output, rows, 1 if rnn.return_sequences else 0)
        passes.append(
            backward_pass(part_states, part_output, fold, keep_inputs, rnn=part)
        )
    if len(passes) == 1:
        return passes[0]
    d_initial, sums, d_inputs, norms = zip(*passes)
    return (
        tf.concat(d_initial, 0),
        tf.add_n(sums),
        tf.concat(d_inputs, 1) if keep_inputs else None,
        tf.concat(norms, 1),
    )


def _with_omega_rows(sums, coefficient, alpha, *, rnn):
    """Adds Omega's separate rows, scaled (if finite), to the recurrent ones."""
    features = rnn.features
    plain, d_omega = tf.split(sums, [1 + features + rnn.units, rnn.units])
    (d_omega,) = keep_if_finite([2.0 * coefficient * d_omega], alpha)
    return plain + tf.pad(d_omega, [[1 + features, 0], [0, 0]])


def streaming_gradients(states, d_output, d_probe, alpha, tracker, *, rnn):
    """The gradients of the streaming pass, by its folded or apart route."""
    stats_dtype, units, features = rnn.statistics_dtype, rnn.units, rnn.features
    step_mask, keep_inputs = rnn.step_mask, rnn.inputs_need_gradient
    backward = functools.partial(backward_parts, states, d_output, rnn=rnn)
    with_omega_rows = functools.partial(_with_omega_rows, alpha=alpha, rnn=rnn)
    folding = None
    if rnn.return_sequences:
        # With an error coming into every step, every pair is most likely
        # valid: fold Omega in with the coefficient that assumes so, and check
        # the assumption after the loop.
        direct_sq = tf.reduce_sum(tf.square(tf.cast(d_output, stats_dtype)), -1)
        likely = direct_sq >= FOLD_BOUND
        counted = tf.cast(rnn.steps * tf.shape(rnn.initial_state)[0], stats_dtype)
        if step_mask is not None:
            likely = tf.logical_or(likely, tf.logical_not(step_mask))
            counted = tf.reduce_sum(tf.cast(step_mask, stats_dtype))
        guess = coefficient_if_all_valid(alpha, counted, d_probe, stats_dtype)
        folding = tf.reduce_all(likely)

        def folded():
            d_initial, sums, d_inputs, norms = backward(guess, keep_inputs)
            sums = tf.pad(sums, [[0, units], [0, 0]])  # as `apart`'s shape
            return d_initial, sums, d_inputs, norms

        d_initial, sums, d_inputs, norms = tf.cond(
            folding, folded, lambda: backward(None, keep_inputs)
        )
    else:
        d_initial, sums, d_inputs, norms = backward(None, keep_inputs)
    transported_sq, delta_sq = tf.unstack(norms, axis=-1)
    coefficient, _ = sequence_omega(
        transported_sq, delta_sq, step_mask, rnn.ratio, alpha, d_probe, tracker
    )
    plain_rows = 1 + features + units

    def apart():
        _, again, _, _ = backward(None, False)
        return with_omega_rows(again, coefficient)

    def refolded():
        # A pair fell under the bound: fold again with the true count.
        _, again, _, _ = backward(coefficient, False)
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
        tf.cast(d_kernel, rnn.kernel.dtype),
        tf.cast(d_bias[0], rnn.bias.dtype) if rnn.has_bias else None,
        tf.cast(d_recurrent, rnn.recurrent_kernel.dtype),
        None,
    )


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
    batch_parts=1,
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
    recurrent_mask` (`slope` from `_omega_math.omega_slope`). The gradient of
    Omega needs `alpha * loss_scale / valid pairs` (see
    `_omega_coefficient.omega_coefficient`), known only once every step is done,
    so the two forms differ in when the weight products are taken:

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
        tracker: `OmegaTracker` to record Omega in (see
            `_omega_coefficient.omega_coefficient`).
        activation: one of the names of `activation_name`.
        step_mask: optional bool `(time, batch)`; False marks a masked step.
        recurrent_mask: optional `(batch, units)` recurrent-dropout mask.
        return_sequences: return all states, or only the last one.
        ratio: `"squared"` or `"norm"`, see `_omega_math.omega_pair_terms`.
        backward: `"stored"` or `"streaming"`, see above.
        jit_compile: compile the forward loop and the backward loops with XLA
            (each distinct input shape is compiled once), as one fused
            computation per loop instead of one TensorFlow op per operation
            and step. With the streaming pass and a known number of steps, the
            loops run in compiled chunks of `CHUNK_STEPS` steps, each chunk's
            states one buffer. Inside a model compiled with XLA this changes
            nothing.
        batch_parts: split the compiled streaming pass's loops into this many
            parts of batch rows (split when the step runs if the batch size is
            unknown at trace time), which TensorFlow's executor runs side by
            side (see `Recurrence.parts`); the stored pass and uncompiled loops
            ignore it.

    Returns:
        `(states, loss_probe)`: all states `(time, batch, units)` or the last
        state `(batch, units)`, and a float32 zero scalar that must be added to
        the loss (see `_omega_coefficient.omega_coefficient`).
    """
    has_bias = bias is not None
    if not has_bias:
        bias = tf.zeros([kernel.shape[1]], kernel.dtype)
    # The error of the inputs is computed only where a tape needs it (the
    # inputs come from trainable layers), as TensorFlow does for Keras's RNN.
    inputs_need_gradient = _private_apis.tape_records(inputs)

    @tf.custom_gradient
    def recurrence(inputs, initial_state, kernel, bias, recurrent_kernel, alpha):
        # The gradient is `gradients`' alone: keep tapes from recording the
        # steps (an eager tape would otherwise try to differentiate compiled
        # loops).
        rnn = Recurrence(
            inputs=tf.stop_gradient(inputs),
            initial_state=tf.stop_gradient(initial_state),
            kernel=tf.stop_gradient(kernel),
            bias=tf.stop_gradient(bias),
            has_bias=has_bias,
            recurrent_kernel=tf.stop_gradient(recurrent_kernel),
            activation=activation,
            step_mask=step_mask,
            recurrent_mask=recurrent_mask,
            return_sequences=return_sequences,
            ratio=ratio,
            backward=backward,
            jit_compile=jit_compile,
            batch_parts=batch_parts,
            inputs_need_gradient=inputs_need_gradient,
        )
        output, states = forward_parts(rnn=rnn)

        def grad(d_output, d_probe):
            if rnn.stored:  # never split: one part's states
                (whole,) = states
                return stored_gradients(
                    whole, d_output, d_probe, alpha, tracker, rnn=rnn
                )
            return streaming_gradients(
                states, d_output, d_probe, alpha, tracker, rnn=rnn
            )

        return (output, tf.zeros([], tf.float32)), grad

    return recurrence(inputs, initial_state, kernel, bias, recurrent_kernel, alpha)
