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
        omega: float >= 0, the weight alpha of Omega (default `0.0`).
        omega_ratio: `"squared"` (default, Eq. 10) or `"norm"` (Eq. 9).
        **kwargs: every argument of `keras.layers.GRU`, `dropout` and
            `recurrent_dropout` included: Omega's Jacobian is that of the
            dropped-out step (the recurrent masks multiply `h_{k-1}` before
            `recurrent_kernel`, the same masks at every step, as in Keras).

    Example:

    >>> layer = keras_rnncr.layers.GRU(16, omega=1.0, return_sequences=True)
    """
