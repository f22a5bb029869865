"""A metric through which an Omega layer reports Omega and its valid fraction."""

import weakref

import keras
import tensorflow as tf


class OmegaTracker(keras.metrics.Metric):
    """Mean of Omega and of the valid-pair fraction over the training batches.

    The Omega layers update it from their backward pass, where the total
    derivatives `dE/dh_k` exist, with values already summed over replicas. Its
    `result()` is a dict `{name: mean Omega, name + "_valid": mean fraction of
    unmasked (step, example) pairs that passed the bound}` (masked pairs are
    neither valid nor counted, on every path); it is empty in a function
    traced for inference (`evaluate`), so that no meaningless `val_` entry appears.

    A batch whose backward pass overflowed is not recorded: one where some
    `||delta_k||^2` or `||delta_k dh_k/dh_{k-1}||^2`, or Omega's sums, are not
    finite (under `mixed_float16`, the steps that `LossScaleOptimizer` skips).
    The layer cannot see the optimizer's decision itself: a step skipped for an
    overflow that leaves this layer's errors finite (in another layer's
    gradient only) is still recorded.
    """

    def __init__(self, name):
        super().__init__(name=name)
        self.omega_total = self._scalar("omega_total")
        self.valid_total = self._scalar("valid_total")
        self.batches = self._scalar("batches")
        self.active = False
        self._training_graph = None
        self._trained_since_reset = False

    def _scalar(self, name):
        return self.add_variable(
            (), "zeros", dtype="float32", aggregation="mean", name=name
        )

    def mark_active(self):
        """Called by a training call of the layer: Omega is reported."""
        self.active = True
        self._trained_since_reset = True
        self._training_graph = (
            None
            if tf.executing_eagerly()
            else weakref.ref(tf.compat.v1.get_default_graph())
        )

    def leave_inactive_unless_trained_here(self):
        """Called by an inference call: Omega is not reported, unless a
        training call of the layer came in the same step (a model that also
        calls the layer with `training=False`): traced in the same function,
        or, run eagerly, since the metrics were last reset (`fit` and
        `evaluate` reset them before their steps)."""
        if tf.executing_eagerly():
            trained = self._trained_since_reset
        else:
            here = tf.compat.v1.get_default_graph()
            trained = (
                self._training_graph is not None and self._training_graph() is here
            )
        if not trained:
            self.active = False

    def reset_state(self):
        super().reset_state()
        self._trained_since_reset = False

    def record(self, omega, valid_fraction, counted):
        """Adds one batch's Omega and valid fraction when `counted` is true."""
        weight = tf.cast(counted, tf.float32)
        self.omega_total.assign_add(weight * omega)
        self.valid_total.assign_add(weight * valid_fraction)
        self.batches.assign_add(weight)

    def update_state(self, omega, valid_fraction):
        self.record(omega, valid_fraction, True)

    def result(self):
        if not self.active:
            return {}
        return {
            self.name: tf.math.divide_no_nan(
                self.omega_total.value, self.batches.value
            ),
            f"{self.name}_valid": tf.math.divide_no_nan(
                self.valid_total.value, self.batches.value
            ),
        }
