"""The Omega regularizer as a drop-in `keras.layers.RNN` for any recurrent cell."""

import inspect
import math
import numbers

import keras
import numpy as np
import tensorflow as tf

from keras_rnncr import _validation
from keras_rnncr.layers import (
    _batch_parts,
    _fused_gated,
    _fused_simple_rnn,
    _omega_math,
    _omega_probe,
)
from keras_rnncr.layers._omega_tracker import OmegaTracker

BACKWARDS = ("auto", "streaming", "stored")
JIT_COMPILES = (True, False, "auto")


def check_omega(omega):
    """`omega` as a Python float, if it is a finite real number >= 0 (numpy's
    too; not a bool or a string)."""
    if (
        isinstance(omega, bool)
        or not isinstance(omega, numbers.Real)
        or not math.isfinite(omega)
        or omega < 0
    ):
        raise ValueError(
            "Argument `omega` must be a finite float >= 0 (the weight alpha of the "
            f"Omega regularizer). Received: omega={omega!r}"
        )
    return float(omega)


def _check_ratio(omega_ratio):
    if omega_ratio not in _omega_math.RATIOS:
        raise ValueError(
            "Argument `omega_ratio` must be one of "
            f"{', '.join(repr(r) for r in _omega_math.RATIOS)}. "
            f"Received: omega_ratio={omega_ratio!r}"
        )
    return omega_ratio


def _check_backward(omega_backward):
    if omega_backward not in BACKWARDS:
        raise ValueError(
            f"Argument `omega_backward` must be one of {BACKWARDS}. "
            f"Received: omega_backward={omega_backward!r}"
        )
    return omega_backward


def _check_jit_compile(omega_jit_compile):
    if isinstance(omega_jit_compile, bool | np.bool_):
        return bool(omega_jit_compile)
    if not (isinstance(omega_jit_compile, str) and omega_jit_compile == "auto"):
        raise ValueError(
            f"Argument `omega_jit_compile` must be one of {JIT_COMPILES}. "
            f"Received: omega_jit_compile={omega_jit_compile!r}"
        )
    return omega_jit_compile


def _per_gate(masks, gates):
    """A cell's dropout masks as one per gate (Keras draws a list, one per gate,
    when the cell's `implementation` is 1, and one mask otherwise)."""
    if isinstance(masks, (list, tuple)):
        return list(masks)
    return [masks] * gates


def _check_single_cell(cell):
    """Omega needs one recurrent kernel: a list of cells (`StackedRNNCells`)
    has one per cell, and is refused when the layer is built, not at its first
    training step."""
    if isinstance(cell, keras.layers.StackedRNNCells):
        raise ValueError(
            "Argument `cell` must be a single cell with a `recurrent_kernel` for "
            "Omega (omega > 0 or omega_metrics=True), not a list of cells or "
            f"StackedRNNCells ({len(cell.cells)} cells): stack one Omega layer "
            "per cell, each with `return_sequences=True` but the last."
        )


def _check_cell_dropout(cell):
    """Dropout in `cell` is supported if the cell's masks can be read back."""
    rates = {name: getattr(cell, name, 0) for name in ("dropout", "recurrent_dropout")}
    methods = ("get_dropout_mask", "get_recurrent_dropout_mask")
    if any(rates.values()) and not all(
        callable(getattr(cell, m, None)) for m in methods
    ):
        received = ", ".join(f"{name}={rate!r}" for name, rate in rates.items())
        raise ValueError(
            "Argument `cell` must draw its dropout masks once per sequence "
            "through `get_dropout_mask` and `get_recurrent_dropout_mask`, as "
            "Keras's SimpleRNNCell, GRUCell and LSTMCell do, for Omega to "
            "differentiate the dropped-out step; or have no dropout. Received: "
            f"cell={type(cell).__name__} with {received} and no such methods."
        )


# The Omega layers' shared arguments and metrics, written once and formatted into
# the docstrings of RNN, SimpleRNN, GRU and LSTM by `shared_omega_docs`, as Keras
# formats `base_optimizer_keyword_args` into its optimizers' docstrings.
omega_layer_args = """omega: float >= 0, the weight alpha of Omega. Defaults to
            `0.0`: the layer then trains with the Keras layer's own code, with
            its updates and speed, and measures no Omega (see `omega_metrics`).
            A layer built with `omega > 0` takes Omega's pass, and
            `layer.omega = value` changes alpha during training without
            retracing (see `keras_rnncr.callbacks.OmegaScheduler`), down to 0
            included; it keeps the pass at 0.
        omega_ratio: `"squared"` (default, Eq. 10 and the released code) or
            `"norm"` (Eq. 9).
        omega_metrics: bool, whether a layer built with `omega=0` still trains
            through Omega's pass (default False). True measures and logs Omega
            at alpha = 0 (e.g. for an unregularized baseline) and lets `omega`
            be raised during training, at the cost of that pass: at T=100 on a
            2-core CPU, about Keras's step time for the fused pass of a
            `SimpleRNNCell` (whose gradients are then Keras's up to rounding);
            for a `GRUCell` (`reset_after=True`) or an `LSTMCell`, their fused
            pass without Omega's products, measured at 1.0-1.2x and 1.0-2.3x
            Keras's step time (median ratios of three 8-round runs; see
            `benchmarks/RESULTS.md`). A layer built with
            `omega > 0` always takes the pass and reports
            `omega_metrics=True`."""

omega_fused_args = """omega_backward, omega_jit_compile, omega_batch_parts: the fused
            passes' options (all default to `"auto"`). A `SimpleRNNCell` with a
            tanh, sigmoid, relu, softsign or linear activation takes the fused
            SimpleRNN pass, with all three (see `keras_rnncr.layers.SimpleRNN`).
            A `GRUCell` (either `reset_after`) and an `LSTMCell` (any
            activations) take the fused gated pass, which keeps every step's errors (as
            `omega_backward="stored"` does, so it ignores `omega_backward`),
            whose backward loop `omega_jit_compile` compiles with XLA
            (`"auto"`: when the number of steps is fixed), and which ignores
            `omega_batch_parts`. Other cells take the generic pass, which
            ignores all three, as do subclasses of those cells that override
            a method of their step (`call`, the LSTM's
            `_compute_carry_and_output`, ...). The generic pass differentiates
            the cell's step twice, which TensorFlow cannot do through its
            softsign op: a custom cell stepping with softsign writes it
            `a / (1 + abs(a))`."""

omega_layer_metrics = """Logged metrics: with Omega's pass (built with `omega > 0` or
    `omega_metrics=True`), `<name>_omega` (mean Omega of the epoch's batches)
    and `<name>_omega_valid` (mean fraction of valid pairs) appear in `fit`'s
    logs; a layer built with `omega=0` logs neither.

    A layer called more than once in a training step (shared weights, two
    inputs) adds one Omega per call, each the mean over that call's valid
    pairs: the gradient gets `omega * sum over calls of dOmega_call/dW_rec`,
    and `<name>_omega` logs the mean of the calls' Omegas.

    Losses: Omega's pass adds one loss of value 0 to `layer.losses` at each
    training call (a probe, whose gradient brings the loss scale of mixed
    precision into Omega's term), in `keras.config.floatx()`, the dtype in
    which `fit` sums the model's losses. `fit` needs nothing; a custom
    training loop that adds `sum(model.losses)` to a loss of another dtype
    (say a float64 loss computed by hand for a float64 layer) casts it
    first: `loss + tf.cast(tf.add_n(model.losses), loss.dtype)`."""

# GRU and LSTM: everything after their first paragraph but the example.
omega_gated_layer_docs = f"""Reference: Pascanu, Mikolov & Bengio, ICML 2013, §3.3,
    Eq. (10); the paper used a plain tanh/sigmoid RNN only, so this is an
    extension.

    Args:
        units: positive int, dimensionality of the output space.
        {omega_layer_args}
        {omega_fused_args}
        **kwargs: every argument of the Keras layer, `dropout` and
            `recurrent_dropout` included: Omega's Jacobian is that of the
            dropped-out step (the recurrent masks multiply `h_{{k-1}}` before
            `recurrent_kernel`, the same masks at every step, as in Keras).

    {omega_layer_metrics}

    Speed: for the GRU (`reset_after=True`, its default) and the LSTM,
    training with Omega's pass takes the fused gated pass (compiled backward
    loops; Omega's second derivative through the gates from products over
    runs of steps), measured with alpha = 2 on a 2-core CPU, wall clock, at
    100 and 500 steps: GRU 1.5x Keras's step time (fastest rounds) at 0.5-0.7x
    its memory, LSTM 1.7-1.9x at 0.6-0.9x (median ratios move more from run
    to run on that machine, see `benchmarks/RESULTS.md`). A GRU with
    `reset_after=False` takes the fused pass too (its candidate's product
    inside the loops): 1.4-1.5x at 0.7x memory. These are CPU figures: on a
    GPU, Keras's layer trains with cuDNN, which a step-by-step loop does not
    match, and no GPU speed has been measured."""

_SHARED_DOCS = {
    "omega_layer_args": omega_layer_args,
    "omega_fused_args": omega_fused_args,
    "omega_layer_metrics": omega_layer_metrics,
    "omega_gated_layer_docs": omega_gated_layer_docs,
}


def shared_omega_docs(cls):
    """Class decorator: formats the shared texts (`{{omega_layer_args}}`, ...) in,
    and gives the class the signature of the Keras layer it replaces with the
    Omega arguments added (`inspect.signature`, `help`)."""
    if cls.__doc__:  # None under `python -OO`
        for name, text in _SHARED_DOCS.items():
            cls.__doc__ = cls.__doc__.replace("{{" + name + "}}", text)
    cls.__signature__ = _ClassSignature(_signature(cls))
    return cls


def _signature(cls):
    """The Keras base's constructor arguments, then Omega's (keyword only),
    then `**kwargs`."""
    keras_base = next(
        base for base in cls.__mro__[1:] if base.__module__.startswith("keras.")
    )
    theirs = list(inspect.signature(keras_base).parameters.values())
    ours = [
        parameter
        for parameter in inspect.signature(OmegaMixin.__init__).parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    rest = [p for p in theirs if p.kind is inspect.Parameter.VAR_KEYWORD]
    theirs = [p for p in theirs if p.kind is not inspect.Parameter.VAR_KEYWORD]
    return inspect.Signature(theirs + ours + rest)


class _ClassSignature:
    """`__signature__` of the class only: a layer instance's own (its call's)
    stays what `inspect` finds without it."""

    def __init__(self, signature):
        self.signature = signature

    def __get__(self, instance, owner):
        if instance is not None:
            raise AttributeError("__signature__")
        return self.signature


class OmegaMixin:
    """Adds the Omega regularizer to a `keras.layers.RNN` subclass.

    Placed before the Keras class in the bases, it takes the Omega arguments
    (`omega`, `omega_ratio`, `omega_metrics`, `omega_backward`,
    `omega_jit_compile`, `omega_batch_parts`, documented on the layers) and replaces the
    training-time recurrence by Omega's pass, when the layer has one (built
    with `omega > 0` or `omega_metrics=True`). Inference (`training=False`),
    and training of a layer built with `omega=0`, are the Keras layer's own
    code.
    """

    def __init__(
        self,
        *args,
        omega=0.0,
        omega_ratio="squared",
        omega_metrics=False,
        omega_backward="auto",
        omega_jit_compile="auto",
        omega_batch_parts="auto",
        **kwargs,
    ):
        omega = check_omega(omega)
        omega_ratio = _check_ratio(omega_ratio)
        omega_metrics = _validation.check_bool("omega_metrics", omega_metrics)
        omega_backward = _check_backward(omega_backward)
        omega_jit_compile = _check_jit_compile(omega_jit_compile)
        omega_batch_parts = _batch_parts.check_parts(
            "omega_batch_parts", omega_batch_parts
        )
        super().__init__(*args, **kwargs)
        # Fixed at construction: a traced training step cannot change path.
        self._omega_pass = omega > 0 or omega_metrics
        if self._omega_pass:
            _check_single_cell(self.cell)
            _check_cell_dropout(self.cell)
            if getattr(self, "use_cudnn", None) is True:
                # Keras's layer raises where cuDNN cannot run; Omega's pass
                # never runs it, so the request could only be half kept.
                raise ValueError(
                    f"Argument `use_cudnn` must be 'auto' or False for layer "
                    f"{self.name!r} trained with Omega's pass (omega > 0 or "
                    "omega_metrics=True): that pass is a loop of its own and "
                    "does not use cuDNN ('auto' still lets inference use it on a "
                    "GPU). Received: use_cudnn=True"
                )
        self._omega_value = omega
        self.omega_ratio = omega_ratio
        self.omega_backward = omega_backward
        self.omega_jit_compile = omega_jit_compile
        self.omega_batch_parts = omega_batch_parts
        self._omega_variable = None
        self.omega_tracker = None
        if self._omega_pass:
            self.omega_tracker = OmegaTracker(name=f"{self.name}_omega")

    @property
    def omega_metrics(self):
        """Whether training runs Omega's pass, which measures and logs Omega.

        True for a layer built with `omega > 0` or `omega_metrics=True`; False
        for one built with `omega=0` (and the default `omega_metrics=False`),
        which trains with the Keras layer's own code.
        """
        return self._omega_pass

    @property
    def omega(self):
        """The weight alpha of Omega; assign to change it without retracing.

        The value given (a Python float); the training step reads it from a
        float32 variable."""
        return self._omega_value

    @omega.setter
    def omega(self, value):
        value = check_omega(value)
        if value > 0 and not self._omega_pass:
            raise ValueError(
                f"Argument `omega` must be 0 for layer {self.name!r}, built with "
                "omega=0 and omega_metrics=False: it trains with the Keras "
                "layer's own code, without Omega's pass. Build it with omega > 0 "
                "(the alpha of the first epoch) or omega_metrics=True to change "
                f"alpha during training. Received: omega={value!r}"
            )
        self._omega_value = value
        if self._omega_variable is not None:
            self._omega_variable.assign(self._omega_value)

    def build(self, sequences_shape, initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)
        if self._omega_pass and self._omega_variable is None:
            with tf.init_scope():
                self._omega_variable = tf.Variable(
                    self._omega_value,
                    trainable=False,
                    dtype=tf.float32,
                    name="omega",
                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self._omega_pass:
            return super().inner_loop(
                sequences=sequences,
                initial_state=initial_state,
                mask=mask,
                training=training,
            )
        if not training:
            # No Omega in a function traced for inference (`evaluate`), unless
            # the same step also calls the layer in training.
            self.omega_tracker.leave_inactive_unless_trained_here()
            return super().inner_loop(
                sequences=sequences,
                initial_state=initial_state,
                mask=mask,
                training=training,
            )
        self.omega_tracker.mark_active()
        if tf.nest.is_nested(mask):
            mask = mask[0]
        inputs = tf.transpose(sequences, [1, 0, 2])
        step_mask = None if mask is None else tf.transpose(tf.cast(mask, tf.bool))
        if self.go_backwards:
            inputs = tf.reverse(inputs, [0])
            step_mask = None if step_mask is None else tf.reverse(step_mask, [0])
        alpha = tf.convert_to_tensor(self._omega_variable)
        cell = self.cell
        fused_activation = None
        if _fused_gated.runs_stock_step(cell, keras.layers.SimpleRNNCell):
            fused_activation = _fused_simple_rnn.activation_name(cell.activation)
        gated = _fused_gated.cell_kind(cell)
        if fused_activation is not None:
            outputs, states = self._fused_loop(
                inputs, initial_state, step_mask, alpha, fused_activation
            )
        elif gated is not None:
            outputs, states = self._gated_loop(
                inputs, initial_state, step_mask, alpha, gated
            )
        else:
            outputs, states = self._probed_loop(
                inputs, initial_state, step_mask, alpha, training
            )
        last_output = outputs[-1]
        if self.return_sequences:
            outputs = tf.transpose(outputs, [1, 0, 2])
        else:
            outputs = last_output[:, None]
        return last_output, outputs, states

    def _omega_jit(self, inputs):
        """Whether to compile the fused loops: `omega_jit_compile`, resolved."""
        if self.omega_jit_compile == "auto":
            return inputs.shape[0] is not None  # time-major: a fixed length
        return self.omega_jit_compile

    def _omega_backward(self, inputs):
        """The fused backward pass: `omega_backward`, resolved."""
        if self.omega_backward == "auto":
            return "streaming" if self._omega_jit(inputs) else "stored"
        return self.omega_backward

    def _omega_batch_parts(self, inputs):
        """Parts of the batch for the fused loops: `omega_batch_parts`, resolved."""
        if self.omega_batch_parts == "auto":
            return _batch_parts.batch_parts(inputs.shape[1])  # time-major
        return self.omega_batch_parts

    def _add_probe_loss(self, probe):
        """Adds the zero probe whose gradient carries the loss scale to the loss.

        In `keras.config.floatx()`, the dtype in which Keras sums the model's
        losses (a float32 probe under floatx float64 would fail there).
        """
        self.add_loss(tf.cast(probe, keras.config.floatx()))

    def _fused_loop(self, inputs, initial_state, step_mask, alpha, activation):
        cell = self.cell
        if cell.dropout > 0:
            inputs = inputs * cell.get_dropout_mask(inputs[0])
        recurrent_mask = None
        if cell.recurrent_dropout > 0:
            recurrent_mask = cell.get_recurrent_dropout_mask(initial_state[0])
        return_all = self.return_sequences or (
            step_mask is not None and self.zero_output_for_mask
        )
        hidden, probe = _fused_simple_rnn.fused_simple_rnn(
            inputs,
            initial_state[0],
            tf.convert_to_tensor(cell.kernel),
            tf.convert_to_tensor(cell.bias) if cell.use_bias else None,
            tf.convert_to_tensor(cell.recurrent_kernel),
            alpha,
            self.omega_tracker,
            activation,
            step_mask=step_mask,
            recurrent_mask=recurrent_mask,
            return_sequences=return_all,
            ratio=self.omega_ratio,
            backward=self._omega_backward(inputs),
            jit_compile=self._omega_jit(inputs),
            batch_parts=self._omega_batch_parts(inputs),
        )
        self._add_probe_loss(probe)
        if not return_all:
            return self._masked_outputs(hidden[None], step_mask, last=True), [hidden]
        return self._masked_outputs(hidden, step_mask), [hidden[-1]]

    def _gated_loop(self, inputs, initial_state, step_mask, alpha, kind):
        cell = self.cell
        gates = _fused_gated.GATES[kind]
        input_masks = recurrent_masks = None
        if 0.0 < cell.dropout < 1.0:
            input_masks = _per_gate(cell.get_dropout_mask(inputs[0]), gates)
        if 0.0 < cell.recurrent_dropout < 1.0:
            recurrent_masks = _per_gate(
                cell.get_recurrent_dropout_mask(initial_state[0]), gates
            )
        input_bias = recurrent_bias = None
        if cell.use_bias:
            input_bias = tf.convert_to_tensor(cell.bias)
            if kind == "gru":
                input_bias, recurrent_bias = input_bias[0], input_bias[1]
        return_all = self.return_sequences or (
            step_mask is not None and self.zero_output_for_mask
        )
        sequence, finals, probe = _fused_gated.fused_gated(
            kind,
            inputs,
            list(initial_state),
            tf.convert_to_tensor(cell.kernel),
            input_bias,
            tf.convert_to_tensor(cell.recurrent_kernel),
            recurrent_bias,
            alpha,
            self.omega_tracker,
            cell.activation,
            cell.recurrent_activation,
            step_mask=step_mask,
            input_masks=input_masks,
            recurrent_masks=recurrent_masks,
            ratio=self.omega_ratio,
            jit_compile=self._omega_jit(inputs),
            return_sequences=return_all,
        )
        self._add_probe_loss(probe)
        if not return_all:
            return self._masked_outputs(finals[0][None], step_mask, last=True), finals
        return self._masked_outputs(sequence, step_mask), finals

    def _masked_outputs(self, outputs, step_mask, last=False):
        """The fused loops' outputs (time-major) at masked steps as Keras's
        loop gives them.

        The loops output the state carried through a masked step. Keras
        outputs zeros there with `zero_output_for_mask`, and otherwise the
        output of the row's last valid step, or zeros before its first one,
        where the carried state is the initial (or `stateful`) state.
        `outputs` holds every step, or with `last=True` only the last
        (`return_sequences=False` without `zero_output_for_mask`).
        """
        if step_mask is None:
            return outputs
        if last:
            keep = tf.reduce_any(step_mask, axis=0, keepdims=True)
        elif self.zero_output_for_mask:
            keep = step_mask
        else:
            keep = tf.math.cumsum(tf.cast(step_mask, tf.int32), axis=0) > 0
        return tf.where(keep[..., None], outputs, tf.zeros_like(outputs))

    def _probed_loop(self, inputs, initial_state, step_mask, alpha, training):
        cell = self.cell
        variables = list(cell.weights)
        kernel = getattr(cell, "recurrent_kernel", None)
        kernel_indices = [i for i, v in enumerate(variables) if v is kernel]
        if not kernel_indices:
            raise ValueError(
                f"Layer {self.name!r}: Omega needs the cell's recurrent weight "
                "matrix as the attribute `recurrent_kernel` (as in Keras's "
                f"SimpleRNNCell, GRUCell and LSTMCell). Received a "
                f"{type(cell).__name__} without one."
            )
        weights = [tf.convert_to_tensor(v) for v in variables]
        accumulators, statistics, probe_loss = _omega_probe.omega_gate(
            alpha, [weights[i] for i in kernel_indices], self.omega_tracker
        )
        self._add_probe_loss(probe_loss)
        probe = _omega_probe.omega_probe(
            cell,
            kernel_indices,
            training,
            ratio=self.omega_ratio,
            masks=_omega_probe.dropout_masks(cell, inputs[0], initial_state[0]),
        )

        def step(x, states, step_mask):
            output, new_states = cell(x, states, training=training)
            new_states = _omega_probe.cell_states(
                self,
                output,
                new_states,
                "Omega",
                "dE/dh_k must include the output's term",
            )
            new_states = probe(
                new_states,
                x,
                list(states),
                weights,
                accumulators,
                statistics,
                step_mask,
            )
            return new_states[0], new_states

        return _omega_probe.recurrence_loop(
            step, inputs, initial_state, step_mask, self.zero_output_for_mask
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "omega": self.omega,
                "omega_ratio": self.omega_ratio,
                # The path, so that a layer scheduled down to omega=0 keeps it.
                "omega_metrics": self._omega_pass,
                "omega_backward": self.omega_backward,
                "omega_jit_compile": self.omega_jit_compile,
                "omega_batch_parts": self.omega_batch_parts,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="keras_rnncr")
@shared_omega_docs
class RNN(OmegaMixin, keras.layers.RNN):
    """`keras.layers.RNN` with the Omega regularizer of Pascanu et al. (2013).

    Omega pushes each one-step Jacobian `dh_k/dh_{k-1}` to preserve the norm of
    the back-propagated error `delta_k = dE/dh_k`, so that gradients do not vanish
    over long time lags. With `omega=alpha`, training adds `alpha * dOmega/dW_rec`
    to the gradient of the recurrent kernel during back-propagation, before the
    optimizer (and any clipping) sees it. The reported `loss` stays `E`.

    ```python
    # ratio = ||delta_k @ dh_k/dh_{k-1}||^2 / ||delta_k||^2        (Eq. 10)
    # Omega = mean over valid (k, b) of (ratio - 1) ** 2
    # valid: ||delta_k||^2 >= 1e-20 and step k not masked
    # dOmega/dW_rec with delta_k, h_{k-1} and the step's inputs held fixed
    ```

    Reference: Pascanu, Mikolov & Bengio, "On the difficulty of training
    recurrent neural networks", ICML 2013, §3.3, Eqs. (9)-(10).

    Note: as in the released code (github.com/pascanur/trainingRNNs, RNN.py),
    Omega is the squared-norm ratio of Eq. (10), averaged over valid (step,
    example) pairs rather than summed over steps; `omega_ratio="norm"` gives the
    plain-norm ratio of Eq. (9). For a `keras.layers.SimpleRNNCell` with a tanh,
    sigmoid, relu or linear activation, `f'(a_k)` is also held fixed, as in the
    released code, and a fused back-propagation computes Omega from the products
    it needs anyway. For any other cell (GRU, LSTM, custom), `delta_k` is taken
    over all of the cell's states (e.g. `[h, c]` for LSTM), and the derivative of
    Omega_k goes through everything in the step that depends on
    `recurrent_kernel`, with the step's inputs and states held fixed (a
    second-order derivative). A `GRUCell` (either `reset_after`) and an
    `LSTMCell` get it from a fused pass: backward loops for back-propagation
    through time and the transported errors, and the rest in products over
    runs of steps; other cells, from a second-order autodiff pass per step
    (slower).

    Built with `omega=0` (the default), the layer is `keras.layers.RNN`, in
    training too: its own code, updates and speed, and no Omega measured,
    unless `omega_metrics=True`.

    Args:
        cell: a Keras RNN cell whose output is its first state and that has a
            `recurrent_kernel` weight (e.g. `SimpleRNNCell`, `GRUCell`,
            `LSTMCell`). Its `dropout` and `recurrent_dropout` are supported as
            Keras's cells apply them (the same masks at every step of a
            sequence, drawn through `get_dropout_mask` and
            `get_recurrent_dropout_mask`): Omega's Jacobian is that of the
            dropped-out step, recurrent mask included.
        {{omega_layer_args}}
        {{omega_fused_args}}
        **kwargs: every other argument of `keras.layers.RNN` (`return_sequences`,
            `return_state`, `go_backwards`, `stateful`, `unroll`,
            `zero_output_for_mask`, ...).

    Call arguments: as `keras.layers.RNN`. With `training=False` (predict,
    evaluate, export) the layer runs `keras.layers.RNN`'s own code, at no extra
    cost.

    {{omega_layer_metrics}}

    Example:

    >>> cell = keras.layers.GRUCell(8)
    >>> layer = keras_rnncr.layers.RNN(cell, omega=2.0)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 8])
    """
