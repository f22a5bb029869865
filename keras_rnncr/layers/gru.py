"""`keras.layers.GRU` with the Omega regularizer."""

import keras

from keras_rnncr.layers.omega_rnn import OmegaMixin, shared_omega_docs


@keras.saving.register_keras_serializable(package="keras_rnncr")
@shared_omega_docs
class GRU(OmegaMixin, keras.layers.GRU):
    """Gated Recurrent Unit trained with the Omega regularizer.

    A drop-in replacement for `keras.layers.GRU` (all of its arguments, its own
    code and cuDNN kernel at inference) that adds `omega * dOmega/dW_rec` to the
    gradient of `recurrent_kernel` in training. Omega is that of
    `keras_rnncr.layers.RNN`: the derivative of each Omega_k goes through every
    use of `recurrent_kernel` in the step, with the step's input, previous state
    and `delta_k` held fixed.

    {{omega_gated_layer_docs}}

    Example:

    >>> layer = keras_rnncr.layers.GRU(16, omega=1.0, return_sequences=True)
    """
