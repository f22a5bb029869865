"""`keras.layers.SimpleRNN` with the Omega regularizer: the paper's model."""

import keras

from keras_rnncr.layers.omega_rnn import OmegaMixin, shared_omega_docs


@keras.saving.register_keras_serializable(package="keras_rnncr")
@shared_omega_docs
class SimpleRNN(OmegaMixin, keras.layers.SimpleRNN):
    """Fully-connected RNN trained with the Omega regularizer (SGD-CR).

    A drop-in replacement for `keras.layers.SimpleRNN`: it accepts all of its
    arguments and, with `training=False`, runs its very code. In training, a fused
    back-propagation through time computes the total derivatives
    `delta_k = dE/dh_k`, Omega, and adds `omega * dOmega/dW_rec` to the gradient
    of `recurrent_kernel` before the optimizer (and any clipping) sees it. Built
    with `omega=0` (the default), it trains with `keras.layers.SimpleRNN`'s own
    code, unless `omega_metrics=True`.

    ```python
    h_k = activation(x_k @ kernel + h_{k-1} @ recurrent_kernel + bias)
    v_k = (delta_k * activation'(a_k)) @ recurrent_kernel.T   # = delta_k dh_k/dh_{k-1}
    Omega = mean over valid (k, b) of (||v_k||^2 / ||delta_k||^2 - 1) ** 2
    # valid: ||delta_k||^2 >= 1e-20 and step k not masked;
    # dOmega/d recurrent_kernel with delta_k, h_{k-1} and activation'(a_k) fixed.
    ```

    With `dropout` and `recurrent_dropout`, `x_k` and `h_{k-1}` are multiplied
    by their masks (drawn once per sequence, as Keras does) before the kernels,
    and `v_k` is the error through that dropped-out step: `v_k = ((delta_k *
    activation'(a_k)) @ recurrent_kernel.T) * recurrent_mask`.

    Reference: Pascanu, Mikolov & Bengio, "On the difficulty of training
    recurrent neural networks", ICML 2013, §3.3, Eq. (10); with gradient
    clipping (`keras_rnncr.optimizers.ClippedOptimizer`) this is SGD-CR.

    Note: this follows the released code (github.com/pascanur/trainingRNNs,
    RNN.py): the squared-norm ratio, the mean over valid pairs, and
    `activation'(a_k)` held fixed. Activations tanh, sigmoid, relu, softsign and
    linear use the fused path; any other activation falls back to the general
    path of `keras_rnncr.layers.RNN` (where `activation'` is differentiated
    too, so it needs TensorFlow's second derivative of the activation).

    Args:
        units: positive int, dimensionality of the output space.
        {{omega_layer_args}}
        omega_backward: how the fused back-propagation trades time for memory
            (same gradients up to rounding). `"streaming"` keeps only the
            states, as Keras does. When every step receives an error of its
            own (per-step losses) it folds Omega into the recurrent gradient's
            product; otherwise (a loss on the last step only) it takes one more
            `units x batch x units` product per step. `"stored"` never needs
            that product but keeps two more `(time, batch, units)` tensors; it
            is the faster of the two when the loops are not compiled. `"auto"`
            (default) takes `"streaming"` when the loops are compiled (see
            `omega_jit_compile`), `"stored"` when not. Measured at T=100
            (batch 64, 128 units, a last-step loss, one CPU thread), in step
            time and peak memory against Keras's: streaming 1.02x and 1.09x
            compiled, 1.30x and 1.32x uncompiled; stored 0.89x and 4.3x
            compiled, 1.09x and 3.8x uncompiled. With TensorFlow's default
            threads on a 2-core CPU (wall clock), compiled: streaming 1.06x
            time (in two parts, see `omega_batch_parts`) and 1.0-1.12x memory,
            stored 0.98x and 4.0x.
        omega_jit_compile: `"auto"` (default), True or False. True compiles
            the fused training loops with XLA (`tf.function(jit_compile=True)`),
            also when the model itself is not compiled: one fused computation
            per loop instead of one TensorFlow op per operation and step. Each
            new input shape (sequence length, batch size) is compiled once, in
            about a second. `"auto"` compiles when the sequence length is fixed
            when `fit` traces the step (fixed-length data), and not when it is
            unknown (`None`: lengths that change from batch to batch). Pass
            False on a platform without XLA.
        omega_batch_parts: `"auto"` (default) or an int >= 1: into how many
            parts of the batch's rows the compiled streaming loops are split.
            XLA's CPU code runs a compiled loop on one thread, where Keras's
            own layer shares each product between TensorFlow's threads; the
            parts' loops run side by side, one per core. `"auto"` takes one
            part per thread TensorFlow may use (by default the cores): each of
            at least 16 rows when the batch size is known when `fit` traces
            the step; when it is not (`fit` on arrays), two parts at most
            (as for `fit`'s default batch of 32), the rows split when the step
            runs (at batches of 8 and 20, two parts cost 3-8% more time than
            one). One part in a model compiled with XLA and on
            a machine with a GPU. Each part compiles its loops once. The
            stored pass and uncompiled loops ignore it. Measured on a 2-core
            CPU (batch 64, 128 units, a last-step loss, wall clock,
            TensorFlow's threads, 30 rounds): 1.38x / 1.33x Keras's step time
            in one part at T=100 / 500, 1.06x / 1.00x in two.
        **kwargs: every argument of `keras.layers.SimpleRNN` (`activation`,
            `use_bias`, initializers, regularizers, constraints, `dropout`,
            `recurrent_dropout`, `return_sequences`, `return_state`,
            `go_backwards`, `stateful`, `unroll`, `seed`, ...).

    Call arguments, input and output shapes: as `keras.layers.SimpleRNN`.

    {{omega_layer_metrics}}

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((None, 6)),
    ...     keras_rnncr.layers.SimpleRNN(50, omega=2.0),
    ...     keras.layers.Dense(4, activation="softmax"),
    ... ])
    >>> model.compile(
    ...     optimizer=keras.optimizers.SGD(0.01),
    ...     loss="sparse_categorical_crossentropy",
    ... )
    """
