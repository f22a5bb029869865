"""An independent float64 reference for one SGD-CR step, written with explicit probes.

Nothing here shares code with keras_rnncr: the cells are written out from their
equations, the total derivatives dE/dh_k come from zero "probe" tensors added to
every state (the recipe of the paper notes), and dOmega/dW_rec comes from a
second tape around the per-step vector-Jacobian products. Dropout masks, when
given, are applied as Keras's cells apply them (the same masks at every step).
"""

import numpy as np
import tensorflow as tf

BOUND = 1e-20


def _per_gate(masks, gates):
    """Dropout masks as one per gate: None (no dropout), one for all, or a list."""
    if masks is None:
        return [None] * gates
    if isinstance(masks, (list, tuple)):
        return list(masks)
    return [masks] * gates


def _dropped(value, mask):
    return value if mask is None else value * mask


def simple_step(activation):
    """A SimpleRNN step; `masks = (input mask, recurrent mask)`, either None."""
    act = {
        "tanh": tf.tanh,
        "sigmoid": tf.sigmoid,
        "elu": tf.nn.elu,
        "softsign": tf.nn.softsign,
    }[activation]

    def recurrent(h, w, masks=None):
        """The pre-activation's term in h_{k-1}."""
        h = h if masks is None else _dropped(h, masks[1])
        return h @ w["recurrent_kernel"]

    def pre_activation(x, h, w, masks=None):
        x = x if masks is None else _dropped(x, masks[0])
        return x @ w["kernel"] + recurrent(h, w, masks) + w["bias"]

    def step(x, states, w, masks=None):
        (h,) = states
        return [act(pre_activation(x, h, w, masks))]

    step.activation = act
    step.pre_activation = pre_activation
    step.recurrent = recurrent
    return step


def gru_step(x, states, w, masks=None):
    """Keras GRU with reset_after=True (its default), written from the equations.

    `masks = (input masks, recurrent masks)`, each None, one mask, or one per gate
    (z, r, h); the recurrent masks drop h_{k-1} where it meets the recurrent
    kernel only, not in `z * h`.
    """
    (h,) = states
    units = h.shape[-1]
    inputs, recurrents = (None, None) if masks is None else masks
    inputs, recurrents = _per_gate(inputs, 3), _per_gate(recurrents, 3)
    gate = [slice(i * units, (i + 1) * units) for i in range(3)]
    xs = [_dropped(x, m) @ w["kernel"][:, g] for m, g in zip(inputs, gate)]
    xs = [v + w["bias"][0][g] for v, g in zip(xs, gate)]
    hs = [
        _dropped(h, m) @ w["recurrent_kernel"][:, g] for m, g in zip(recurrents, gate)
    ]
    hs = [v + w["bias"][1][g] for v, g in zip(hs, gate)]
    z = tf.sigmoid(xs[0] + hs[0])
    r = tf.sigmoid(xs[1] + hs[1])
    candidate = tf.tanh(xs[2] + r * hs[2])
    return [z * h + (1 - z) * candidate]


def gru_reset_before_step(x, states, w, masks=None):
    """Keras GRU with reset_after=False: one bias, and the reset gate scales
    h_{k-1} before the candidate's recurrent kernel; `masks` as for `gru_step`."""
    (h,) = states
    units = h.shape[-1]
    inputs, recurrents = (None, None) if masks is None else masks
    inputs, recurrents = _per_gate(inputs, 3), _per_gate(recurrents, 3)
    gate = [slice(i * units, (i + 1) * units) for i in range(3)]
    xs = [
        _dropped(x, m) @ w["kernel"][:, g] + w["bias"][g] for m, g in zip(inputs, gate)
    ]
    u = w["recurrent_kernel"]
    z = tf.sigmoid(xs[0] + _dropped(h, recurrents[0]) @ u[:, gate[0]])
    r = tf.sigmoid(xs[1] + _dropped(h, recurrents[1]) @ u[:, gate[1]])
    candidate = tf.tanh(xs[2] + (r * _dropped(h, recurrents[2])) @ u[:, gate[2]])
    return [z * h + (1 - z) * candidate]


def lstm_step(x, states, w, masks=None):
    """Keras LSTM; `masks` as for `gru_step`, per gate (i, f, c, o)."""
    h, c = states
    units = h.shape[-1]
    inputs, recurrents = (None, None) if masks is None else masks
    inputs, recurrents = _per_gate(inputs, 4), _per_gate(recurrents, 4)
    gates = [
        _dropped(x, m) @ w["kernel"][:, i * units : (i + 1) * units]
        + _dropped(h, n) @ w["recurrent_kernel"][:, i * units : (i + 1) * units]
        + w["bias"][i * units : (i + 1) * units]
        for i, (m, n) in enumerate(zip(inputs, recurrents))
    ]
    i, f, o = (tf.sigmoid(gates[k]) for k in (0, 1, 3))
    g = tf.tanh(gates[2])
    c = f * c + i * g
    return [o * tf.tanh(c), c]


def reference_gradients(
    step,
    n_states,
    weights,
    head,
    x,
    y,
    mask,
    alpha,
    per_step,
    hold_activation_slope,
    dropout_masks=None,
):
    """Gradient of E plus alpha * dOmega/dW_rec for an RNN -> Dense model.

    Args:
        step: `step(x_t, states, w) -> new_states`, output = new_states[0].
        n_states: number of state tensors of the cell.
        weights: dict of float64 cell weights (`recurrent_kernel` among them).
        head: `(kernel, bias)` of the Dense softmax-logits head.
        x: `(batch, time, features)` float64; y: int targets, `(batch,)` for a
            last-step loss or `(batch, time)` for a per-step loss.
        mask: bool `(batch, time)` or None.
        hold_activation_slope: hold f'(a_k) fixed in Omega (SimpleRNN, as the
            released code) instead of differentiating through it.
        dropout_masks: None, or the step's `masks` argument, the same for every
            step (Keras draws them once per sequence).

    Returns:
        `(gradients, omega)`: gradients for the cell weights and the head, keyed
        like `weights` plus "head_kernel" and "head_bias".
    """
    batch, steps, _ = x.shape
    w = {k: tf.constant(v) for k, v in weights.items()}
    head_kernel, head_bias = (tf.constant(v) for v in head)
    units = weights["recurrent_kernel"].shape[0]
    probes = [
        [tf.zeros((batch, units), tf.float64) for _ in range(n_states)]
        for _ in range(steps)
    ]
    keep = np.ones((batch, steps), bool) if mask is None else mask

    with tf.GradientTape(persistent=True) as tape:
        tape.watch(list(w.values()) + [head_kernel, head_bias])
        tape.watch(probes)
        states = [tf.zeros((batch, units), tf.float64) for _ in range(n_states)]
        output = tf.zeros((batch, units), tf.float64)
        history = []
        outputs = []
        for t in range(steps):
            new = step(x[:, t], states, w, dropout_masks)
            new = [n + p for n, p in zip(new, probes[t])]
            m = keep[:, t][:, None]
            history.append((states, new))
            states = [tf.where(m, n, s) for n, s in zip(new, states)]
            output = tf.where(m, new[0], output)
            outputs.append(output)
        if per_step:
            logits = tf.stack(outputs, 1) @ head_kernel + head_bias
            ce = tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)
            weight = tf.constant(keep, tf.float64)
            # Keras's masked mean: sum over unmasked entries / their count.
            loss = tf.reduce_sum(ce * weight) / tf.reduce_sum(weight)
        else:
            logits = output @ head_kernel + head_bias
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)
            )
    names = list(w)
    grads = tape.gradient(loss, [w[k] for k in names] + [head_kernel, head_bias])
    deltas = tape.gradient(loss, probes, unconnected_gradients="zero")
    gradients = dict(zip(names + ["head_kernel", "head_bias"], grads))

    # Omega, with delta_k, the states and the inputs held fixed.
    with tf.GradientTape() as outer:
        outer.watch(w["recurrent_kernel"])
        terms, valid_count = [], 0
        for t in range(steps):
            previous, new = history[t]
            previous = [tf.stop_gradient(p) for p in previous]
            with tf.GradientTape() as inner:
                inner.watch(previous)
                if hold_activation_slope:
                    # f'(a_k) from the forward pass, as a constant.
                    pre = step.pre_activation(x[:, t], previous[0], w, dropout_masks)
                    with tf.GradientTape() as slope_tape:
                        slope_tape.watch(pre)
                        post = step.activation(pre)
                    slope = tf.stop_gradient(slope_tape.gradient(post, pre))
                    linear = [slope * step.recurrent(previous[0], w, dropout_masks)]
                else:
                    linear = step(x[:, t], previous, w, dropout_masks)
            delta = [tf.constant(d.numpy()) for d in deltas[t]]
            moved = inner.gradient(linear, previous, output_gradients=delta)
            moved = [
                tf.zeros_like(p) if m is None else m for m, p in zip(moved, previous)
            ]
            num = sum(tf.reduce_sum(v**2, -1) for v in moved)
            den = sum(tf.reduce_sum(d**2, -1) for d in delta)
            valid = np.logical_and(den.numpy() >= BOUND, keep[:, t])
            valid_count += int(valid.sum())
            ratio = num / tf.where(valid, den, 1.0)
            terms.append(tf.reduce_sum(tf.where(valid, (ratio - 1.0) ** 2, 0.0)))
        omega = tf.add_n(terms) / max(valid_count, 1)
    omega_grad = outer.gradient(omega, w["recurrent_kernel"])
    gradients["recurrent_kernel"] = gradients["recurrent_kernel"] + alpha * omega_grad
    return {k: v.numpy() for k, v in gradients.items()}, float(omega)
