"""The paper's sigmoid RNN for next-frame prediction of piano rolls."""

import keras

from keras_rnncr import _validation, methods
from keras_rnncr.callbacks import (
    ClippingLogger,
    HalveLearningRateOnPlateau,
    InverseTimeOmega,
    OmegaScheduler,
)
from keras_rnncr.datasets._piano_roll import NUM_KEYS
from keras_rnncr.initializers import paper_initializers
from keras_rnncr.layers import SimpleRNN
from keras_rnncr.metrics import FrameNLL
from keras_rnncr.music.losses import FrameNLLLoss

# Pascanu, Mikolov & Bengio, arXiv:1211.5063v2, appendix (the music set-up,
# which the ICML 2013 text does not give): hidden units, initial learning rate,
# alpha at epoch 1 (alpha_t = omega / t).
# JSB Chorales is not in the paper; it and the offline chorales get the
# Nottingham / Piano-midi.de settings.
PAPER_SETTINGS = {
    "jsb_chorales": {"units": 300, "learning_rate": 1.0, "omega": 0.5},
    "nottingham": {"units": 300, "learning_rate": 1.0, "omega": 0.5},
    "muse_data": {"units": 400, "learning_rate": 0.5, "omega": 0.1},
    "piano_midi": {"units": 300, "learning_rate": 1.0, "omega": 0.5},
    "offline_chorales": {"units": 300, "learning_rate": 1.0, "omega": 0.5},
}
THRESHOLD = 8.0  # Clipping threshold of the music experiments.

# Settings the paper leaves open, chosen by short runs (issue 14; Nottingham,
# SGD-CR, one CPU thread): batches of 4 subsequences (292 updates per epoch on
# Nottingham) reached a validation NLL of 4.27 after 4,000 updates in 170 s,
# against 4.33 after 3,358 updates in 310 s with batches of 16; batches of 1
# were no better per second (4.32 after 5,200 updates in 205 s). The rate is
# halved after PATIENCE epochs without a better validation NLL: in a 41-epoch
# run at these settings (examples/music.py, test NLL 3.46), the validation NLL
# went at most 4 epochs without a new best while it fell from 6.23 to 3.46.
# At most MAX_HALVINGS halvings (1.0 down to 1/64; not measured, a bound on
# the length of a run).
BATCH_SIZE = 4
PATIENCE = 5
MAX_HALVINGS = 6


def music_model(
    method="sgd-cr",
    units=300,
    learning_rate=1.0,
    threshold=THRESHOLD,
    omega=0.5,
    num_keys=NUM_KEYS,
    seed=None,
    jit_compile=False,
    omega_backward="stored",
):
    """A compiled sigmoid RNN that predicts the next frame of a piano roll.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.2 and Table 1 (set-up from the
    arXiv v2 appendix): one layer of sigmoid units and `num_keys` sigmoid
    outputs, independent Bernoulli probabilities of each key sounding in the
    next frame:

    ```python
    h_t = sigmoid(x_t @ W_in + h_{t-1} @ W_rec + b)     # h_0 = 0
    p_{t+1} = sigmoid(h_t @ W_out + c)
    loss = mean over valid frames of -sum_k log Bernoulli(x_{t+1,k}; p_{t+1,k})
    ```

    Weights start as N(0, sd 0.01), biases at zero (the released code's
    `sigmoid` scheme). Training is plain SGD (no momentum) at `learning_rate`;
    `"sgd-c"` and `"sgd-cr"` clip the global gradient norm at `threshold`
    (with the released code's guard against non-finite norms), and
    `"sgd-cr"` adds the Omega regularizer, whose weight `omega` is set each
    epoch by `music_callbacks` (alpha_t = omega / t). Omega is measured and
    logged (`rnn_omega`) for every method, so that the methods can be compared
    (the layer's `omega_metrics=True`).

    Args:
        method: `"sgd"`, `"sgd-c"` or `"sgd-cr"`. Defaults to `"sgd-cr"`.
        units: positive int, hidden units (300; 400 for MuseData).
        learning_rate: float, the initial SGD step (1.0; 0.5 for MuseData).
        threshold: float, the clipping threshold. Defaults to 8.
        omega: float, alpha at the first epoch (0.5; 0.1 for MuseData).
            Ignored unless `method="sgd-cr"`.
        num_keys: positive int, keys per frame. Defaults to 88.
        seed: int or None, seed of the initialisers.
        jit_compile: `"auto"`, True or False, passed to `compile`. Defaults
            to `False`.
        omega_backward: the recurrent layer's (`keras_rnncr.layers.SimpleRNN`).
            Defaults to `"stored"`: at these sizes (a few sequences of 200
            steps, 300 units) its two extra `(time, batch, units)` tensors are
            a few MB, and it is the faster pass: measured at batch 4, 300
            units, 200 steps, a loss at every step, one CPU thread, 0.49x
            Keras's step time against 1.05x for `"streaming"` (what `"auto"`
            takes for fixed-length batches); see `benchmarks/RESULTS.md`.

    Returns:
        A compiled `keras.Model` from `(batch, time, num_keys)` frames to
        `(batch, time, num_keys)` probabilities, with the loss
        `FrameNLLLoss` and the weighted metric `FrameNLL` (name `frame_nll`).
        Train it with `(inputs, targets, frame_weights)` batches from
        `next_frame_dataset`.
    """
    units = _validation.check_positive_int("units", units)
    num_keys = _validation.check_positive_int("num_keys", num_keys)
    jit_compile = _validation.check_jit_compile(jit_compile)
    setup = methods.training_setup(
        method, learning_rate, threshold, omega, nonfinite="shrink"
    )
    init = paper_initializers("sigmoid", seed=seed)
    inputs = keras.Input((None, num_keys), name="frames")
    hidden = SimpleRNN(
        units,
        activation=init["activation"],
        kernel_initializer=init["kernel_initializer"],
        recurrent_initializer=init["recurrent_initializer"],
        return_sequences=True,
        omega=setup.omega,
        omega_metrics=True,  # Omega logged for every method, to compare
        omega_backward=omega_backward,
        name="rnn",
    )(inputs)
    outputs = keras.layers.Dense(
        num_keys,
        activation="sigmoid",
        kernel_initializer=init["output_initializer"],
        name="head",
    )(hidden)
    model = keras.Model(inputs, outputs, name=f"music_{method.replace('-', '_')}")
    model.compile(
        optimizer=setup.optimizer,
        loss=FrameNLLLoss(),
        weighted_metrics=[FrameNLL()],
        jit_compile=jit_compile,
    )
    return model


def music_callbacks(
    method,
    omega=0.5,
    monitor="val_frame_nll",
    patience=PATIENCE,
    max_halvings=MAX_HALVINGS,
    stop_when_exhausted=False,
):
    """The paper's schedules as callbacks for `model.fit`.

    - the learning rate is halved when the validation NLL has not improved
      for `patience` epochs, at most `max_halvings` times
      (`HalveLearningRateOnPlateau`). The paper halves it "whenever the epoch
      error increases"; taken literally, on a noisy epoch error, that rule
      drives the rate to zero while the model is still near the trivial
      baselines (issue 14; see `HalveLearningRateOnPlateau`);
    - for `"sgd-cr"`, alpha_t = `omega / t`, t counting epochs from 1
      (`OmegaScheduler(InverseTimeOmega(omega))`; 1/(2t) for Nottingham and
      Piano-midi.de, 0.1/t for MuseData);
    - for `"sgd-c"` and `"sgd-cr"`, the pre-clip gradient norm and the
      fraction of clipped steps are logged (`ClippingLogger`).

    Args:
        method: `"sgd"`, `"sgd-c"` or `"sgd-cr"`.
        omega: float >= 0, alpha at the first epoch (sgd-cr).
        monitor: str, the log entry watched for a plateau. Defaults to
            `"val_frame_nll"` (needs validation data); `"frame_nll"` or
            `"loss"` watch the training error of the epoch. Lower is better
            (an error).
        patience: positive int, epochs without improvement before a halving.
            Defaults to `PATIENCE` (5).
        max_halvings: int >= 0 or None, the most halvings. Defaults to
            `MAX_HALVINGS` (6).
        stop_when_exhausted: bool, stop training at the first plateau with no
            halving left (the run has converged). Defaults to `False`.

    Returns:
        A list of callbacks; the first is the `HalveLearningRateOnPlateau`.
    """
    methods.check_method(method)
    omega = _validation.check_non_negative_float("omega", omega)
    callbacks = [
        HalveLearningRateOnPlateau(
            monitor,
            patience=patience,
            max_halvings=max_halvings,
            stop_when_exhausted=stop_when_exhausted,
            mode="min",  # an error: NLL, loss
        )
    ]
    if methods.uses_omega(method):
        callbacks.append(OmegaScheduler(InverseTimeOmega(omega)))
    if methods.uses_clipping(method):
        callbacks.append(ClippingLogger())
    return callbacks
