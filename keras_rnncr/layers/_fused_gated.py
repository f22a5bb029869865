"""GRU and LSTM recurrences whose backward pass also yields Omega's gradient.

`fused_gated` is a custom-gradient op over a Keras `GRUCell` (either
`reset_after`) or `LSTMCell` recurrence: its inputs, kernels, biases,
initial states and dropout masks in, its states out. Steps go in runs of
`CHUNK_STEPS` (`spans`), so that what a run needs is held for one run at a time:
forward, each run's input projections (`inputs @ kernel + input bias`) are
formed in one product before its loop of steps; backward, the runs are taken
from the last, each forming its projections and recurrent pre-activations again
in one product each, and Omega's products of at most two runs are pending at
once (see `gated_gradients`). For each run, one loop over its steps does what
back-propagation through time needs and no more: for each step, the error of
the step's elementwise part (the `core`, the step without its recurrent
product) and `v = delta_k @ ds_k/ds_{k-1}`, the error carried one step back,
which is also the transported error that Omega_k compares with `delta_k`.
Everything else is taken after the run's loop, for all its steps at once, as
large products:

* the recurrent kernel's gradient, `h_{k-1}^T @ g_k` over all `(step, example)`
  pairs;
* Omega's gradient. With `u_k = 2 coefficient slope_k v_k` (held fixed, as are
  the step's input, previous states and `delta_k`), `dOmega/dU = sum_k
  d<u_k, v_k(U)>/dU`, and `v_k = d_core/ds (direct) + (g_k @ U^T) * mask`, with
  `g_k` the error of the recurrent pre-activation `a_k = (h_{k-1} * mask) @ U`.
  (With `reset_after=False` the GRU's candidate reads `r * h_{k-1}`: its
  columns `K` of `U` are left out of `a_k` and its product is in the core,
  so the core's second derivative also gives `dOmega/dK`.)
  So `dOmega/dU = h_in^T @ G + u_in^T @ g` where `w = u_in @ U` and `G =
  d/da [<u, d_core/ds> + <w, d_core/da>]`, a second derivative of the
  elementwise core only, taken by automatic differentiation over the run's
  steps at once. Omega's coefficient needs every pair's norms, so Omega's sums
  are kept apart and scaled after the last run. This is the full derivative
  through the gates (what the generic pass, `_omega_probe`, computes step by
  step), not one with the gates' derivatives held fixed.

Per step, the loops take one `(batch, units) x (units, gates * units)` product
forward and one back, as Keras's own layers do (theirs take one more per step,
for the kernel's gradient); the rest are the runs' products, which run much
faster per multiply-add than the steps' small ones. The reset-before GRU's
candidate product is in its core: its loops take two products per step forward
(as Keras's) and three back (the candidate's forward again, and its transpose).
"""

import dataclasses
import inspect

import keras
import tensorflow as tf

from keras_rnncr import _private_apis
from keras_rnncr.layers import _omega_math
from keras_rnncr.layers._omega_coefficient import (
    keep_if_finite,
    sequence_omega,
    statistics_dtype,
)

GATES = {"gru": 3, "gru_reset_before": 3, "lstm": 4}

# Steps per run (see `spans`): the projections, errors, transported errors and
# Omega's products are held for a run at a time (two runs' Omega products at
# most, see `gated_gradients`). Measured (batch 64, 128 units, omega=2,
# allocator's requested peak against Keras's layer, T=100 / T=500): with every
# run's Omega products left to the executor's order, runs of 32 steps took
# GRU 3.47x / 2.20x, 16 steps 2.06x / 1.36x, 8 steps 1.47x / 1.28x. With at
# most two runs' Omega products alive, at T=100: 8 steps GRU 0.78x, LSTM 0.91x;
# 12 steps GRU 0.90-0.96x, LSTM 1.18-1.21x; 16 steps GRU 1.11-1.30x, LSTM
# 1.40x. Time per forward and backward pass within this machine's noise of each
# other (runs of 8 steps 3-6% slower than 12 or 16 in the best of ten).
CHUNK_STEPS = 8


def cell_kind(cell):
    """`"gru"`, `"gru_reset_before"` (`reset_after=False`) or `"lstm"` for a
    cell `fused_gated` runs, else None."""
    if runs_stock_step(cell, keras.layers.GRUCell):
        return "gru" if cell.reset_after else "gru_reset_before"
    if runs_stock_step(cell, keras.layers.LSTMCell):
        return "lstm"
    return None


# Methods of Keras's cells that do not take part in a step: a subclass may
# override them and keep the stock step.
_STEP_NEUTRAL = frozenset({"build", "get_config", "get_initial_state"})


def runs_stock_step(cell, base):
    """Whether `cell` is a `base` (a Keras cell class) whose step is `base`'s.

    The fused passes compute `base`'s equations from the cell's weights; a
    subclass that overrides `call`, or a method `call` uses (the LSTM's
    `_compute_carry_and_output`, say: a scaled or normalised step), steps
    otherwise, so it takes the generic pass, which runs the cell's own step.
    Every method `base` defines counts, but its constructor, `build`,
    `get_config` and `get_initial_state`.
    """
    if not isinstance(cell, base):
        return False
    cls = type(cell)
    return all(
        getattr(cls, name) is value
        for name, value in vars(base).items()
        if inspect.isfunction(value)
        and not name.startswith("__")
        and name not in _STEP_NEUTRAL
    )


def gru_core(x, a, states, activation, recurrent_activation):
    """Keras's GRU step (reset_after) from its projections: `x` the input's,
    `a` the recurrent one's with its bias, each `[z, r, h]`."""
    (h,) = states
    x_z, x_r, x_h = tf.split(x, 3, axis=-1)
    a_z, a_r, a_h = tf.split(a, 3, axis=-1)
    z = recurrent_activation(x_z + a_z)
    r = recurrent_activation(x_r + a_r)
    candidate = activation(x_h + r * a_h)
    return [z * h + (1 - z) * candidate]


def gru_reset_before_core(x, a, states, activation, recurrent_activation, candidate):
    """Keras's GRU step with `reset_after=False`: `x` the input's projection
    `[z, r, h]`, `a` the recurrent one of the gates only, `[z, r]`, and
    `candidate(r * h)` the candidate's recurrent term (its product with the
    candidate's kernel, after recurrent dropout), which reads the reset gate."""
    (h,) = states
    x_z, x_r, x_h = tf.split(x, 3, axis=-1)
    a_z, a_r = tf.split(a, 2, axis=-1)
    z = recurrent_activation(x_z + a_z)
    r = recurrent_activation(x_r + a_r)
    return [z * h + (1 - z) * activation(x_h + candidate(r * h))]


def lstm_core(x, a, states, activation, recurrent_activation):
    """Keras's LSTM step from its projections, each `[i, f, c, o]`."""
    _, c = states
    i, f, g, o = tf.split(x + a, 4, axis=-1)
    c = recurrent_activation(f) * c + recurrent_activation(i) * activation(g)
    return [recurrent_activation(o) * activation(c), c]


_CORES = {"gru": gru_core, "lstm": lstm_core}


def _softsign(a):
    """Softsign from ops TensorFlow differentiates twice (its `Softsign` op's
    gradient has no gradient), for Omega's second derivative through it."""
    return a / (1.0 + tf.abs(a))


def twice_differentiable(activation):
    """`activation`, or the same function from ops TensorFlow can
    differentiate twice: softsign is the one Keras activation whose op
    TensorFlow cannot (its gradient `SoftsignGrad` has no gradient)."""
    return _softsign if activation is keras.activations.softsign else activation


@dataclasses.dataclass(frozen=True, eq=False)
class GatedRecurrence:
    """One GRU or LSTM recurrence as its loops see it.

    The recurrent pre-activations `a` (`recurrent_pre_activation`) are the
    products of `h_{k-1}` with `product_kernel`: every gate's columns of the
    recurrent kernel, except for the reset-before GRU, whose candidate reads
    `r * h_{k-1}` and takes its product (`candidate_kernel`) inside the core.

    Attributes:
        kind: `"gru"`, `"gru_reset_before"` or `"lstm"`.
        inputs: `(time, batch, features)`.
        kernel: `(features, gates * units)`.
        input_bias: `(gates * units,)` or None.
        input_masks: None, or one `(batch, features)` dropout mask per gate.
        inputs_need_gradient: whether the backward pass returns `dE/dinputs`.
        initial_states: list of `(batch, units)`: `[h]` or `[h, c]`.
        recurrent_kernel: `(units, gates * units)`.
        recurrent_bias: `(gates * units,)` (GRU) or None.
        recurrent_masks: None, or one `(batch, units)` recurrent-dropout mask
            per gate.
        activation, recurrent_activation: the cell's.
        step_mask: bool `(time, batch)` or None; False marks a masked step.
        ratio: `"squared"` or `"norm"`.
        jit_compile: whether the backward loop and Omega's second-order pass
            are compiled with XLA (the forward loop never is).
    """

    kind: str
    inputs: tf.Tensor
    kernel: tf.Tensor
    input_bias: tf.Tensor | None
    input_masks: list | None
    inputs_need_gradient: bool
    initial_states: list
    recurrent_kernel: tf.Tensor
    recurrent_bias: tf.Tensor | None
    recurrent_masks: list | None
    activation: object
    recurrent_activation: object
    step_mask: tf.Tensor | None
    ratio: str
    jit_compile: bool

    @property
    def units(self):
        return self.recurrent_kernel.shape[0]

    @property
    def gates(self):
        return GATES[self.kind]

    @property
    def product_gates(self):
        """The gates whose recurrent term is in `recurrent_pre_activation`."""
        return 2 if self.kind == "gru_reset_before" else self.gates

    @property
    def product_kernel(self):
        """The columns of the recurrent kernel in `recurrent_pre_activation`."""
        if self.product_gates == self.gates:
            return self.recurrent_kernel
        return self.recurrent_kernel[:, : self.product_gates * self.units]

    @property
    def candidate_kernel(self):
        """The reset-before GRU's candidate columns of the recurrent kernel
        (the core's own product), else None."""
        if self.product_gates == self.gates:
            return None
        return self.recurrent_kernel[:, self.product_gates * self.units :]

    @property
    def statistics_dtype(self):
        return statistics_dtype(self.inputs.dtype)

    def projection(self, xs):
        """The steps' input projections, `xs @ kernel + input_bias` per gate."""
        if self.input_masks is None:
            projected = _matmul(xs, self.kernel)
        else:
            projected = tf.concat(
                [
                    _matmul(xs * m, k)
                    for m, k in zip(self.input_masks, self._gate_kernels(self.kernel))
                ],
                -1,
            )
        return projected if self.input_bias is None else projected + self.input_bias

    def input_gradients(self, xs, d_projected):
        """`(d_inputs or None, d_kernel, d_input_bias)` of a run of steps, the
        last two in `statistics_dtype`."""
        stats_dtype = self.statistics_dtype
        flat_x = tf.reshape(xs, [-1, xs.shape[-1]])
        flat_d = tf.reshape(d_projected, [-1, d_projected.shape[-1]])
        d_bias = tf.cast(tf.reduce_sum(flat_d, 0), stats_dtype)
        if self.input_masks is None:
            d_kernel = tf.matmul(flat_x, flat_d, transpose_a=True)
            d_inputs = None
            if self.inputs_need_gradient:
                d_inputs = _matmul(d_projected, tf.transpose(self.kernel))
            return d_inputs, tf.cast(d_kernel, stats_dtype), d_bias
        gates = zip(
            self.input_masks,
            tf.split(d_projected, self.gates, -1),
            self._gate_kernels(self.kernel),
        )
        d_kernels, d_inputs = [], []
        steps = tf.shape(flat_x)[0] // tf.shape(self.input_masks[0])[0]
        for m, d, k in gates:
            tiled = tf.tile(m, [steps, 1])
            d_flat = tf.reshape(d, [-1, d.shape[-1]])
            d_kernels.append(tf.matmul(flat_x * tiled, d_flat, transpose_a=True))
            if self.inputs_need_gradient:
                d_inputs.append(_matmul(d, tf.transpose(k)) * m)
        d_kernel = tf.cast(tf.concat(d_kernels, -1), stats_dtype)
        return (tf.add_n(d_inputs) if d_inputs else None), d_kernel, d_bias

    @property
    def projection_error_differs(self):
        """Whether the projections' error differs from the recurrent
        pre-activations' (the LSTM adds the two; the GRU's reset gate
        multiplies the recurrent candidate's term)."""
        return self.kind != "lstm"

    def compiled(self, function):
        if not self.jit_compile:
            return function
        return tf.function(function, jit_compile=True, autograph=False)

    def core(self, x, a, states, candidate_kernel=None):
        """The step from its projections; `candidate_kernel` (reset-before GRU
        only) replaces `self.candidate_kernel`."""
        if self.kind != "gru_reset_before":
            return _CORES[self.kind](
                x, a, states, self.activation, self.recurrent_activation
            )
        kernel = self.candidate_kernel if candidate_kernel is None else candidate_kernel
        return gru_reset_before_core(
            x,
            a,
            states,
            self.activation,
            self.recurrent_activation,
            lambda reset: _matmul(self._candidate_input(reset), kernel),
        )

    def _candidate_input(self, reset):
        """`r * h` after the candidate's recurrent dropout mask."""
        if self.recurrent_masks is None:
            return reset
        return reset * tf.cast(self.recurrent_masks[2], reset.dtype)

    def candidate_outer(self, xs, pre_activations, h, d_projected):
        """The reset-before GRU's candidate kernel's error over a run's pairs,
        the sum of `outer((r * h) * mask, g)`, `g` the candidate's error (that
        of its projection)."""
        # The reset gate of `gru_reset_before_core`, for the whole run.
        reset = self.recurrent_activation(
            tf.split(xs, 3, -1)[1] + tf.split(pre_activations, 2, -1)[1]
        )
        y = self._candidate_input(reset * h)
        g = tf.split(d_projected, 3, -1)[2]
        return tf.matmul(
            tf.reshape(y, [-1, y.shape[-1]]),
            tf.reshape(g, [-1, g.shape[-1]]),
            transpose_a=True,
        )

    def _gate_kernels(self, kernel):
        return tf.split(kernel, kernel.shape[-1] // self.units, axis=-1)

    def recurrent_product(self, h, kernel=None):
        """`(h * mask) @ U` per gate of `product_kernel` (or `kernel`),
        `(..., units) -> (..., product_gates * units)`."""
        kernel = self.product_kernel if kernel is None else kernel
        if self.recurrent_masks is None:
            return _matmul(h, kernel)
        return tf.concat(
            [
                _matmul(h * tf.cast(m, h.dtype), k)
                for m, k in zip(self.recurrent_masks, self._gate_kernels(kernel))
            ],
            -1,
        )

    def recurrent_transpose(self, g):
        """The error of `h` from that of `recurrent_product`'s output."""
        kernel = self.product_kernel
        if self.recurrent_masks is None:
            return tf.matmul(g, kernel, transpose_b=True)
        parts = zip(
            self.recurrent_masks,
            tf.split(g, self.product_gates, -1),
            self._gate_kernels(kernel),
        )
        return tf.add_n([tf.matmul(e, k, transpose_b=True) * m for m, e, k in parts])

    def recurrent_outer(self, h, g):
        """The sum over pairs of `outer(h * mask, g)` per gate."""
        h = tf.reshape(h, [-1, h.shape[-1]])
        g = tf.reshape(g, [-1, g.shape[-1]])
        if self.recurrent_masks is None:
            return tf.matmul(h, g, transpose_a=True)
        steps = tf.shape(h)[0] // tf.shape(self.recurrent_masks[0])[0]
        blocks = []
        for m, e in zip(
            self.recurrent_masks, tf.split(g, g.shape[-1] // h.shape[-1], -1)
        ):
            m = tf.tile(tf.cast(m, h.dtype), [steps, 1])
            blocks.append(tf.matmul(h * m, e, transpose_a=True))
        return tf.concat(blocks, -1)

    def recurrent_pre_activation(self, h):
        a = self.recurrent_product(h)
        return a if self.recurrent_bias is None else a + self.recurrent_bias


def _matmul(h, kernel):
    if h.shape.rank == 2:
        return tf.matmul(h, kernel)
    flat = tf.matmul(tf.reshape(h, [-1, h.shape[-1]]), kernel)
    return tf.reshape(flat, tf.concat([tf.shape(h)[:-1], [kernel.shape[-1]]], 0))


def forward_loop(xs, initial_states, step_mask, *, rnn):
    """The states of a run of steps (a list of `(steps, batch, units)`), from
    its projections `xs` and the states before it."""
    n = tf.shape(xs)[0]

    def forward_step(t, states, buffers):
        new = rnn.core(xs[t], rnn.recurrent_pre_activation(states[0]), states)
        if step_mask is not None:
            keep = step_mask[t][:, None]
            new = [tf.where(keep, n_, s) for n_, s in zip(new, states)]
        return t + 1, new, [b.write(t, s) for b, s in zip(buffers, new)]

    _, _, buffers = tf.while_loop(
        lambda t, *_: t < n,
        forward_step,
        (
            0,
            list(initial_states),
            [tf.TensorArray(xs.dtype, size=n) for _ in initial_states],
        ),
        maximum_iterations=n,
    )
    return [b.stack() for b in buffers]


def forward_runs(*, rnn):
    """The states of every run of `spans(rnn)`: a list (runs) of lists (states)
    of `(steps, batch, units)`, each run's projections formed in one product.

    Never compiled: TensorFlow's own ops ran the forward steps in 11-12 ms
    where XLA's CPU code took 21-22 ms (GRU, batch 64, 128 units, 100 steps,
    with one thread or two), as its products are slower.
    """
    runs, states = [], list(rnn.initial_states)
    for start, end in spans(rnn):
        part = slice(start, end)
        mask = None if rnn.step_mask is None else rnn.step_mask[part]
        run = forward_loop(rnn.projection(rnn.inputs[part]), states, mask, rnn=rnn)
        runs.append(run)
        states = [s[-1] for s in run]
    return runs


def backward_loop(d_states, previous, pre_activations, xs, step_mask, carry, *, rnn):
    """The backward steps over a run of steps, from its last step to its first.

    Args:
        d_states: per state, `(steps, batch, units)` or None (none): the error
            arriving at each step's state from the outputs.
        previous: per state, `(steps, batch, units)`: the states each step read.
        pre_activations: `(steps, batch, gates * units)`, each step's
            `recurrent_pre_activation`.
        xs: `(steps, batch, gates * units)`, the steps' projections.
        step_mask: bool `(steps, batch)` or None.
        carry: per state, the error carried back from the step after the run.

    Returns:
        `(deltas, d_projected, d_pre, transported, carry)`: `delta_k = dE/ds_k`
        of each state (zero on masked steps), the errors of the projections and
        of the recurrent pre-activations, the transported errors `v_k`, and the
        error carried back to the state before the run.
    """
    n = tf.shape(xs)[0]
    count = len(carry)

    def backward_step(t, carry, deltas, d_xs, d_as, transported):
        delta = [c if d is None else c + d[t] for c, d in zip(carry, d_states)]
        kept = delta
        if step_mask is not None:
            keep = step_mask[t][:, None]
            kept = [tf.where(keep, d, tf.zeros_like(d)) for d in delta]
        x, a = xs[t], pre_activations[t]
        states = [p[t] for p in previous]
        with tf.GradientTape() as tape:
            tape.watch([x, a, *states])
            new = rnn.core(x, a, states)
        d_x, d_a, *direct = tape.gradient(
            new, [x, a, *states], output_gradients=kept, unconnected_gradients="zero"
        )
        v = list(direct)
        v[0] = v[0] + rnn.recurrent_transpose(d_a)
        carry = v
        if step_mask is not None:
            carry = [tf.where(keep, v_, d) for v_, d in zip(v, delta)]
        return (
            t - 1,
            carry,
            [b.write(t, d) for b, d in zip(deltas, kept)],
            d_xs.write(t, d_x) if rnn.projection_error_differs else d_xs,
            d_as.write(t, d_a),
            [b.write(t, v_) for b, v_ in zip(transported, v)],
        )

    def arrays():
        return [tf.TensorArray(xs.dtype, size=n) for _ in range(count)]

    _, d_initial, deltas, d_xs, d_as, transported = tf.while_loop(
        lambda t, *_: t >= 0,
        backward_step,
        (
            n - 1,
            list(carry),
            arrays(),
            tf.TensorArray(xs.dtype, size=n if rnn.projection_error_differs else 0),
            tf.TensorArray(xs.dtype, size=n),
            arrays(),
        ),
        maximum_iterations=n,
    )
    d_as = d_as.stack()
    return (
        [d.stack() for d in deltas],
        d_xs.stack() if rnn.projection_error_differs else d_as,
        d_as,
        [v.stack() for v in transported],
        d_initial,
    )


def omega_second_order(
    deltas, previous, pre_activations, xs, u, w, candidate_kernel, *, rnn
):
    """`G = d/da [<u, d_core/ds> + <w, d_core/da>]` over a run of steps at once.

    With `delta`, the projections and the previous states held fixed: the part
    of Omega's gradient that goes through the gates' and activations' own
    derivatives. Returns `(G, d/dK [...])`, `K` the reset-before GRU's
    `candidate_kernel` (the core's own product; else None, and so is the
    second).
    """
    watched = [pre_activations] + (
        [] if candidate_kernel is None else [candidate_kernel]
    )
    with tf.GradientTape() as outer:
        outer.watch(watched)
        with tf.GradientTape() as inner:
            inner.watch([pre_activations, *previous])
            new = rnn.core(xs, pre_activations, previous, candidate_kernel)
        d_a, *direct = inner.gradient(
            new,
            [pre_activations, *previous],
            output_gradients=deltas,
            unconnected_gradients="zero",
        )
        objective = tf.reduce_sum(w * d_a) + tf.add_n(
            [tf.reduce_sum(u_ * d) for u_, d in zip(u, direct)]
        )
    second = outer.gradient(objective, watched, unconnected_gradients="zero")
    return second[0], (second[1] if len(second) > 1 else None)


def spans(rnn):
    """`(start, end)` of each run of steps (see `CHUNK_STEPS`): runs of
    `CHUNK_STEPS` when the number of steps is known, else one run of all steps
    `(None, None)`."""
    total = rnn.inputs.shape[0]
    if total is not None:
        return [(i, min(i + CHUNK_STEPS, total)) for i in range(0, total, CHUNK_STEPS)]
    return [(None, None)]


def _waiting(tensors, on):
    """`tensors` again, computed once the tensors `on` exist.

    Otherwise TensorFlow's graph optimizer, or XLA in a compiled model, finds a
    run's products of them identical to the forward pass's and keeps those
    instead, for the whole sequence, or takes them early. XLA drops control
    dependencies, so the order is also kept by data: an exact zero made from
    each of `on` (finite whatever they hold) is added. Measured (GRU, T=100,
    batch 64, 128 units, model compiled): XLA's temporary memory 53.5 MiB
    without the zero, 40.5 MiB with it, Keras's GRU 40.4 MiB.
    """
    zero = tf.add_n([tf.cast(tf.reduce_any(tf.math.is_nan(t)), tf.float32) for t in on])
    zero = zero * 0.0
    with tf.control_dependencies(on):
        return [t + tf.cast(zero, t.dtype) for t in tensors]


def chunk_gradients(runs, index, d_outputs, carry, alpha, *, rnn, after=()):
    """The backward pass over one run of steps, `spans(rnn)[index]`.

    The run starts (forms its projections again) once the error `carry` has
    arrived and the tensors `after` exist.

    `runs` are the forward states (`forward_runs`). Returns `(carry,
    d_inputs, sums, norms)`: the error carried to the state before the run,
    the run's input errors (or None), its sums `(h_in^T @ g, Omega's rows,
    the recurrent bias's error, the kernel's, the input bias's)` (Omega's rows
    without the coefficient, which needs every pair), and the pairs'
    `(||v||^2, ||delta||^2)`.
    """
    stats_dtype = rnn.statistics_dtype
    part = slice(*spans(rnn)[index])
    before = rnn.initial_states if index == 0 else [s[-1] for s in runs[index - 1]]
    previous = [tf.concat([b[None], s[:-1]], 0) for b, s in zip(before, runs[index])]
    # The run's projections and recurrent pre-activations, again, each in one
    # product: cheaper than sequences of them kept from the forward pass.
    # After the error arrives (see `_waiting`).
    inputs, h_previous = _waiting([rnn.inputs[part], previous[0]], [carry[0], *after])
    xs = rnn.projection(inputs)
    pre = rnn.recurrent_pre_activation(h_previous)
    step_mask = None if rnn.step_mask is None else rnn.step_mask[part]
    deltas, d_projected, d_pre, transported, carry = rnn.compiled(
        lambda d, p, a, x, m, c: backward_loop(d, p, a, x, m, c, rnn=rnn)
    )(
        [None if d is None else d[part] for d in d_outputs],
        previous,
        pre,
        xs,
        step_mask,
        carry,
    )
    d_inputs, d_kernel, d_input_bias = rnn.input_gradients(inputs, d_projected)
    plain = rnn.recurrent_outer(previous[0], d_pre)
    if rnn.candidate_kernel is not None:
        plain = tf.concat(
            [plain, rnn.candidate_outer(xs, pre, previous[0], d_projected)], -1
        )
    plain = tf.cast(plain, stats_dtype)

    def norms(parts):
        return tf.add_n(
            [tf.reduce_sum(tf.square(tf.cast(p, stats_dtype)), -1) for p in parts]
        )

    transported_sq, delta_sq = norms(transported), norms(deltas)
    valid = _omega_math.valid_pairs(delta_sq, step_mask)
    slope = _omega_math.omega_slope(transported_sq, delta_sq, valid, rnn.ratio)

    def omega_rows():
        # `h_in^T @ G + u_in^T @ g`, with `u = 2 slope v` (the coefficient
        # comes after the last run).
        u = [(2.0 * slope)[..., None] * tf.cast(v, stats_dtype) for v in transported]
        w = rnn.recurrent_product(u[0], tf.cast(rnn.product_kernel, stats_dtype))
        candidate = rnn.candidate_kernel
        if candidate is not None:
            candidate = tf.cast(candidate, stats_dtype)
        cast = [tf.cast(t, stats_dtype) for t in (*deltas, *previous, pre, xs, d_pre)]
        count = len(deltas)
        deltas_s, previous_s = cast[:count], cast[count : 2 * count]
        pre_s, xs_s, d_pre_s = cast[2 * count :]
        second, d_candidate = rnn.compiled(
            lambda d, p, a, x, u_, w_, k: omega_second_order(
                d, p, a, x, u_, w_, k, rnn=rnn
            )
        )(deltas_s, previous_s, pre_s, xs_s, u, w, candidate)
        rows = rnn.recurrent_outer(previous_s[0], second) + rnn.recurrent_outer(
            u[0], d_pre_s
        )
        return rows if d_candidate is None else tf.concat([rows, d_candidate], -1)

    rows = tf.cond(alpha > 0.0, omega_rows, lambda: tf.zeros_like(plain))
    if rnn.recurrent_bias is None:  # the LSTM's and reset-before GRU's
        d_bias = tf.zeros([rnn.gates * rnn.units], stats_dtype)
    else:
        d_bias = tf.cast(tf.reduce_sum(d_pre, [0, 1]), stats_dtype)
    sums = (plain, rows, d_bias, d_kernel, d_input_bias)
    return carry, d_inputs, sums, (transported_sq, delta_sq)


def gated_gradients(runs, d_sequence, d_final, d_probe, alpha, tracker, *, rnn):
    """The gradients of the recurrence, Omega's added to the recurrent kernel's.

    `d_sequence` is the error of the output sequence (the `h` of every step)
    or None, `d_final` that of the final states. The backward pass runs over
    `spans(rnn)` from the last run of steps to the first, so that its per-pair
    temporaries are a run's, not the sequence's. Returns `(d_inputs,
    d_initial, d_kernel, d_input_bias, d_recurrent, d_recurrent_bias)`, the
    sums in `statistics_dtype`.
    """
    carry = list(d_final)
    d_outputs = [d_sequence] + [None] * (len(carry) - 1)
    d_inputs, norms, sums, rows = [], [], None, {}
    for index in reversed(range(len(runs))):
        # Nothing else orders a run's Omega products (they are only summed at
        # the end), and the executor may leave them until every run's loop is
        # done, holding what they read for the whole sequence. So run `i - 2`
        # waits for run `i`'s: they still overlap run `i - 1`'s loop, on
        # another core, and at most two runs' inputs to them are alive.
        # (Waiting one run instead cost ~20% more time, GRU, T=100.)
        after = [rows[index + 2]] if index + 2 in rows else []
        carry, d_part, part_sums, part_norms = chunk_gradients(
            runs, index, d_outputs, carry, alpha, rnn=rnn, after=after
        )
        rows[index] = part_sums[1]
        d_inputs.insert(0, d_part)
        norms.insert(0, part_norms)
        if sums is not None:
            part_sums = [a + b for a, b in zip(sums, part_sums)]
        sums = part_sums
    if rnn.inputs_need_gradient:
        d_inputs = d_inputs[0] if len(d_inputs) == 1 else tf.concat(d_inputs, 0)
    else:
        d_inputs = None
    transported_sq = tf.concat([n[0] for n in norms], 0)
    delta_sq = tf.concat([n[1] for n in norms], 0)
    coefficient, _ = sequence_omega(
        transported_sq, delta_sq, rnn.step_mask, rnn.ratio, alpha, d_probe, tracker
    )
    plain, rows, d_bias, d_kernel, d_input_bias = sums
    (rows,) = keep_if_finite([coefficient * rows], alpha)
    return d_inputs, carry, d_kernel, d_input_bias, plain + rows, d_bias


def fused_gated(
    kind,
    inputs,
    initial_states,
    kernel,
    input_bias,
    recurrent_kernel,
    recurrent_bias,
    alpha,
    tracker,
    activation,
    recurrent_activation,
    step_mask=None,
    input_masks=None,
    recurrent_masks=None,
    ratio="squared",
    jit_compile=False,
    return_sequences=True,
):
    """A GRU or LSTM recurrence whose backward pass yields Omega.

    Forward, time-major, with `x` the input projection and `a` the recurrent
    pre-activation:

    ```python
    x[t] = concat over gates g of (inputs[t] * input_masks[g]) @ kernel[:, g]
    x[t] += input_bias
    a[t] = concat over gates g of (h[t-1] * recurrent_masks[g]) @ U[:, g]
    a[t] += recurrent_bias                          # GRU
    states[t] = core(x[t], a[t], states[t-1])       # gru_core / lstm_core
    # reset-before GRU: a[t] of the gates z and r only, and its core takes
    # (r * h[t-1] * recurrent_masks[2]) @ U[:, candidate] itself.
    states[t] = where(step_mask[t], states[t], states[t-1])
    ```

    Backward: see the module's docstring. The result equals the generic pass's
    (`_omega_probe`): Omega_k's derivative through everything in step k that
    depends on the recurrent kernel, the step's input, previous states and
    `delta_k` held fixed, `delta_k` taken over all of the cell's states.

    Args:
        kind: `"gru"`, `"gru_reset_before"` or `"lstm"` (see `cell_kind`).
        inputs: `(time, batch, features)`.
        initial_states: list of `(batch, units)`: `[h]` or `[h, c]`.
        kernel: `(features, gates * units)`.
        input_bias: `(gates * units,)` or None.
        recurrent_kernel: `(units, gates * units)`.
        recurrent_bias: `(gates * units,)` for a GRU with `reset_after` and a
            bias, else None.
        alpha: float32 scalar tensor, the weight of Omega.
        tracker: `OmegaTracker` (see `_omega_coefficient.omega_coefficient`).
        activation, recurrent_activation: the cell's.
        step_mask: optional bool `(time, batch)`.
        input_masks: optional list of one `(batch, features)` mask per gate.
        recurrent_masks: optional list of one `(batch, units)` mask per gate.
        ratio: `"squared"` or `"norm"`.
        jit_compile: compile the backward loop and Omega's second-order pass
            with XLA (see `GatedRecurrence`). The steps go in runs of
            `CHUNK_STEPS` when their number is known (see `spans`).
        return_sequences: whether to return every step's `h`.

    Returns:
        `(sequence, final_states, loss_probe)`: every step's `h`, `(time,
        batch, units)` (None unless `return_sequences`), the final states (a
        list), and a float32 zero scalar that must be added to the loss.
    """
    gate_units = recurrent_kernel.shape[-1]
    biases = {"input": input_bias, "recurrent": recurrent_bias}
    present = {name: bias is not None for name, bias in biases.items()}
    biases = {
        name: tf.zeros([gate_units], kernel.dtype) if bias is None else bias
        for name, bias in biases.items()
    }
    # The inputs' error only where a tape needs it (see `fused_simple_rnn`).
    inputs_need_gradient = _private_apis.tape_records(inputs)

    @tf.custom_gradient
    def recurrence(
        inputs, kernel, input_bias, recurrent_kernel, recurrent_bias, alpha, *initial
    ):
        rnn = GatedRecurrence(
            kind=kind,
            inputs=tf.stop_gradient(inputs),
            kernel=tf.stop_gradient(kernel),
            input_bias=tf.stop_gradient(input_bias) if present["input"] else None,
            input_masks=input_masks,
            inputs_need_gradient=inputs_need_gradient,
            initial_states=[tf.stop_gradient(s) for s in initial],
            recurrent_kernel=tf.stop_gradient(recurrent_kernel),
            recurrent_bias=(
                tf.stop_gradient(recurrent_bias) if present["recurrent"] else None
            ),
            recurrent_masks=recurrent_masks,
            activation=twice_differentiable(activation),
            recurrent_activation=twice_differentiable(recurrent_activation),
            step_mask=step_mask,
            ratio=ratio,
            jit_compile=jit_compile,
        )
        runs = forward_runs(rnn=rnn)
        finals = [s[-1] for s in runs[-1]]

        def grad(*upstream):
            d_sequence = upstream[0] if return_sequences else None
            d_final = upstream[int(return_sequences) : -1]
            d_final = [
                tf.zeros_like(s) if d is None else d for d, s in zip(d_final, finals)
            ]
            d_inputs, d_initial, d_kernel, d_input_bias, d_recurrent, d_bias = (
                gated_gradients(
                    runs, d_sequence, d_final, upstream[-1], alpha, tracker, rnn=rnn
                )
            )
            return (
                d_inputs,
                tf.cast(d_kernel, kernel.dtype),
                tf.cast(d_input_bias, input_bias.dtype),
                tf.cast(d_recurrent, recurrent_kernel.dtype),
                tf.cast(d_bias, recurrent_bias.dtype),
                None,
                *d_initial,
            )

        sequence = []
        if return_sequences:
            h = [run[0] for run in runs]
            sequence = [h[0] if len(h) == 1 else tf.concat(h, 0)]
        return (*sequence, *finals, tf.zeros([], tf.float32)), grad

    *outputs, probe = recurrence(
        inputs,
        kernel,
        biases["input"],
        recurrent_kernel,
        biases["recurrent"],
        alpha,
        *initial_states,
    )
    sequence = outputs.pop(0) if return_sequences else None
    return sequence, outputs, probe
