"""`keras.layers.GRU` with the Omega regularizer."""

import keras

from keras_rnncr.layers.omega_rnn import OmegaMixin


@keras.saving.register_keras_serializable(package="keras_rnncr")
class GRU(OmegaMixin, keras.layers.GRU):
    """Gated Recurrent Unit trained with the Omega regularizer.

    A drop-in replacement for `keras.layers.GRU` (all of its arguments, its own
    code and cuDNN kernel at inference) that adds `omega * dOmega/dW_rec` to the
    gradient of `recurrent_kernel` in training. Omega is that of
    `keras_rnncr.layers.RNN`: the derivative of each Omega_k goes through every
    use of `recurrent_kernel` in the step, with the step's input, previous state
    and `delta_k` held fixed.

    Reference: Pascanu, Mikolov & Bengio, ICML 2013, §3.3, Eq. (10); the paper
    used a plain tanh/sigmoid RNN only, so this is an extension.

    Args:
        units: positive int, dimensionality of the output space.
        omega: float >= 0, the weight alpha of Omega. Defaults to `0.0`: the
            layer then trains with `keras.layers.GRU`'s own code, with its
            updates and speed, and measures no Omega (see `omega_metrics`).
            Built with `omega > 0`, `layer.omega = value` changes alpha during
            training without retracing, down to 0 included.
        omega_ratio: `"squared"` (default, Eq. 10) or `"norm"` (Eq. 9).
        omega_metrics: bool, whether a layer built with `omega=0` still trains
            through Omega's pass (default False), to measure and log Omega at
            alpha = 0 or to raise `omega` during training, at that pass's
            cost (3-4x Keras's step time at T=100 on a 2-core CPU, see
            `benchmarks/RESULTS.md`). Built with `omega > 0`, always True.
        omega_backward, omega_jit_compile: the fused pass's options, as in
            `keras_rnncr.layers.SimpleRNN`; this layer's generic path ignores
            them.
        **kwargs: every argument of `keras.layers.GRU`, `dropout` and
            `recurrent_dropout` included: Omega's Jacobian is that of the
            dropped-out step (the recurrent masks multiply `h_{k-1}` before
            `recurrent_kernel`, the same masks at every step, as in Keras).

    Example:

    >>> layer = keras_rnncr.layers.GRU(16, omega=1.0, return_sequences=True)
    """
