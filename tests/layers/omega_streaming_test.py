"""The streaming backward pass's three routes give the stored pass's gradients.

`fused_simple_rnn(backward="streaming")` folds Omega's rows into the recurrent
ones when every step receives an error of its own (a coefficient guessed before
the loop), folds again with the true coefficient when a pair falls under the
bound, and keeps Omega apart when a sum is not finite. Each route is driven here
with chosen output errors (`output_gradients`) and compared with
`backward="stored"`, which has one route only and is itself checked against the
float64 reference in `omega_correctness_test.py`.
"""

import numpy as np
import pytest
import tensorflow as tf

from keras_rnncr.layers import _fused_simple_rnn
from keras_rnncr.layers._omega_tracker import OmegaTracker

STEPS, BATCH, FEATURES, UNITS = 9, 5, 3, 4

# `fused_simple_rnn`'s `batch_parts` in `_taped` (the fixture `jit_compile`).
OPTIONS = {"batch_parts": 1}


def _weights(dtype, recurrent_scale=0.5, seed=0):
    rng = np.random.default_rng(seed)
    return [
        tf.constant(rng.normal(size=(STEPS, BATCH, FEATURES)), dtype),
        tf.constant(rng.normal(size=(BATCH, UNITS)) * 0.1, dtype),
        tf.constant(rng.normal(size=(FEATURES, UNITS)) * 0.5, dtype),
        tf.constant(rng.normal(size=(UNITS,)) * 0.1, dtype),
        tf.constant(rng.normal(size=(UNITS, UNITS)) * recurrent_scale, dtype),
    ]


def _gradients(
    backward, weights, d_states, alpha=2.0, step_mask=None, jit_compile=False
):
    """Gradients of all five weights and the logged (Omega, valid fraction)."""
    grads, logged, _ = _taped(
        backward, weights, d_states, alpha, step_mask, jit_compile
    )
    return grads, logged


def _taped(
    backward,
    weights,
    d_output,
    alpha,
    step_mask,
    jit_compile,
    return_sequences=True,
    watched=None,
):
    """`(gradients, (Omega, valid fraction), output)` of one taped fused pass.

    The gradients are those of all five weights, None for those not `watched`
    (default: all), with `d_output` the error of the states returned.
    """
    tracker = OmegaTracker("omega")
    tracker.active = True
    with tf.GradientTape() as tape:
        tape.watch(weights if watched is None else watched)
        output, probe = _fused_simple_rnn.fused_simple_rnn(
            *weights,
            tf.constant(alpha, tf.float32),
            tracker,
            "tanh",
            step_mask=step_mask,
            return_sequences=return_sequences,
            backward=backward,
            jit_compile=jit_compile,
            batch_parts=OPTIONS["batch_parts"],
        )
    grads = tape.gradient(
        [output, probe],
        weights,
        output_gradients=[d_output, tf.constant(1.0)],
    )
    logged = tracker.result()
    return (
        [None if g is None else g.numpy() for g in grads],
        (float(logged["omega"]), float(logged["omega_valid"])),
        output.numpy(),
    )


def _assert_same(streaming, stored, rtol=1e-10):
    for got, want in zip(streaming, stored):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())


@pytest.fixture(
    params=[False, True, "chunks", "parts"],
    ids=["graph", "xla", "xla_chunks", "xla_chunks_parts"],
)
def jit_compile(request, monkeypatch):
    """The fused loops uncompiled, compiled, compiled in chunks of 4 steps, or
    those chunks split into 2 parts of the batch (2 and 3 rows)."""
    if request.param in ("chunks", "parts"):  # 9 steps: chunks of 4 + 4 + 1
        monkeypatch.setattr(_fused_simple_rnn, "CHUNK_STEPS", 4)
        if request.param == "parts":
            monkeypatch.setitem(OPTIONS, "batch_parts", 2)
        return True
    return request.param


def test_folded_route_when_every_step_has_an_error(jit_compile):
    weights = _weights(tf.float64)
    d_states = tf.constant(np.random.default_rng(1).normal(size=(STEPS, BATCH, UNITS)))
    streaming, logged = _gradients(
        "streaming", weights, d_states, jit_compile=jit_compile
    )
    stored, logged_stored = _gradients("stored", weights, d_states)
    assert logged[1] == 1.0  # every pair valid: the guessed coefficient holds
    _assert_same(streaming, stored)
    np.testing.assert_allclose(logged, logged_stored, rtol=1e-12)


def test_folded_route_with_masked_steps(jit_compile):
    weights = _weights(tf.float64, seed=2)
    d_states = tf.constant(np.random.default_rng(3).normal(size=(STEPS, BATCH, UNITS)))
    mask = np.ones((STEPS, BATCH), bool)
    mask[-3:, :2] = False
    mask = tf.constant(mask)
    streaming, _ = _gradients(
        "streaming", weights, d_states, step_mask=mask, jit_compile=jit_compile
    )
    stored, _ = _gradients("stored", weights, d_states, step_mask=mask)
    _assert_same(streaming, stored)


def _vanishing_case():
    """Errors at the last step only, through a small recurrent kernel."""
    weights = _weights(tf.float64, recurrent_scale=1e-3, seed=4)
    d_states = np.zeros((STEPS, BATCH, UNITS))
    d_states[-1] = np.random.default_rng(5).normal(size=(BATCH, UNITS))
    return weights, tf.constant(d_states)


def test_apart_route_when_steps_lack_an_error(jit_compile):
    weights, d_states = _vanishing_case()
    streaming, logged = _gradients(
        "streaming", weights, d_states, jit_compile=jit_compile
    )
    stored, _ = _gradients("stored", weights, d_states, jit_compile=jit_compile)
    assert 0.0 < logged[1] < 1.0  # some pairs fall under the bound
    _assert_same(streaming, stored)


def test_refolded_route_when_the_guess_fails(monkeypatch, jit_compile):
    # Folding is tried whenever every direct error reaches the bound: with the
    # bound at zero, the zero errors of the vanishing case pass, the guessed
    # coefficient is wrong, and the loop runs again with the true one.
    monkeypatch.setattr(_fused_simple_rnn, "FOLD_BOUND", 0.0)
    weights, d_states = _vanishing_case()
    streaming, logged = _gradients(
        "streaming", weights, d_states, jit_compile=jit_compile
    )
    stored, _ = _gradients("stored", weights, d_states)
    assert 0.0 < logged[1] < 1.0
    _assert_same(streaming, stored)


@pytest.mark.parametrize("alpha", [2.0, 0.0])
def test_apart_route_drops_a_non_finite_omega(alpha, jit_compile):
    # Errors near float32's limit: ||v||^2 overflows, Omega's slope is infinite,
    # the folded sums are not finite and Omega's part is dropped, while the
    # loss's own gradient stays finite.
    weights = _weights(tf.float32, seed=6)
    d_states = np.random.default_rng(7).normal(size=(STEPS, BATCH, UNITS)) * 3e19
    d_states = tf.constant(d_states, tf.float32)
    streaming, _ = _gradients(
        "streaming", weights, d_states, alpha=alpha, jit_compile=jit_compile
    )
    stored, _ = _gradients("stored", weights, d_states, alpha=alpha)
    assert all(np.isfinite(g).all() for g in streaming)
    _assert_same(streaming, stored, rtol=1e-4)
    plain, _ = _gradients("stored", weights, d_states, alpha=0.0)
    _assert_same(streaming, plain, rtol=1e-4)


@pytest.mark.parametrize("backward", ["streaming", "stored"])
def test_inputs_error_only_when_a_tape_needs_it(backward, jit_compile):
    # Keras's RNN leaves out dE/dx when nothing upstream is trainable; so do
    # the fused passes, with the other gradients unchanged.
    inputs, *rest = _weights(tf.float64, seed=8)
    d_states = tf.constant(np.random.default_rng(9).normal(size=(STEPS, BATCH, UNITS)))
    watched, _ = _gradients(
        backward, [inputs, *rest], d_states, jit_compile=jit_compile
    )
    grads, _, _ = _taped(
        backward, [inputs, *rest], d_states, 2.0, None, jit_compile, watched=rest
    )
    assert grads[0] is None
    _assert_same(grads[1:], watched[1:])


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_last_state_only_in_compiled_chunks(monkeypatch, masked):
    # A loss on the last state alone (return_sequences=False), the states kept
    # in compiled chunks of 4 steps, against the stored pass.
    monkeypatch.setattr(_fused_simple_rnn, "CHUNK_STEPS", 4)
    weights = _weights(tf.float64, seed=10)
    d_last = tf.constant(np.random.default_rng(11).normal(size=(BATCH, UNITS)))
    mask = None
    if masked:
        mask = np.ones((STEPS, BATCH), bool)
        mask[-3:, :2] = False
        mask = tf.constant(mask)
    streaming, stored = (
        _taped(backward, weights, d_last, 2.0, mask, True, return_sequences=False)
        for backward in ("streaming", "stored")
    )
    _assert_same(streaming[0], stored[0])
    np.testing.assert_allclose(streaming[2], stored[2], rtol=1e-12)
