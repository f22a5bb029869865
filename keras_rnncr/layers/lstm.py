"""`keras.layers.LSTM` with the Omega regularizer."""

import keras

from keras_rnncr.layers.omega_rnn import OmegaMixin, shared_omega_docs


@keras.saving.register_keras_serializable(package="keras_rnncr")
@shared_omega_docs
class LSTM(OmegaMixin, keras.layers.LSTM):
    """Long Short-Term Memory layer trained with the Omega regularizer.

    A drop-in replacement for `keras.layers.LSTM` (all of its arguments, its own
    code and cuDNN kernel at inference) that adds `omega * dOmega/dW_rec` to the
    gradient of `recurrent_kernel` in training. The state is `[h, c]`:
    `delta_k` is the total derivative with respect to both, and Omega compares
    `||delta_k @ d[h_k, c_k]/d[h_{k-1}, c_{k-1}]||^2` with `||delta_k||^2`. The
    derivative of each Omega_k goes through every use of `recurrent_kernel` in
    the step, with the step's input, previous state and `delta_k` held fixed.

    {{omega_gated_layer_docs}}

    Example:

    >>> layer = keras_rnncr.layers.LSTM(16, omega=1.0)
    """
