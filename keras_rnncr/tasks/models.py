"""The paper's model for the synthetic tasks, for each training method."""

import keras

from keras_rnncr import _validation, methods
from keras_rnncr.initializers import paper_initializers
from keras_rnncr.layers import SimpleRNN
from keras_rnncr.tasks.registry import get_task


def task_model(
    task,
    method="sgd-cr",
    units=50,
    scheme="basic_tanh",
    learning_rate=0.01,
    threshold=1.0,
    omega=4.0,
    seed=None,
    jit_compile="auto",
    n_values=None,
):
    """A compiled SimpleRNN model for a synthetic task, trained with SGD(-C)(-R).

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1: 50 hidden units, minibatch SGD
    without momentum at learning rate 0.01, clipping threshold 1 (SGD-C) and the
    Omega weight alpha (SGD-CR; 4 in Figure 7). Heads as in the released code:
    softmax at the last step, at every step (memorization), or linear.
    Omega is measured and logged (`rnn_omega`) for every method, so that the
    methods can be compared (the layer's `omega_metrics=True`; its fused pass
    takes about Keras's step time).

    Args:
        task: a name of `keras_rnncr.tasks.TASKS`.
        method: `"sgd"`, `"sgd-c"` (clipping) or `"sgd-cr"` (clipping + Omega),
            see `keras_rnncr.methods`.
        units: positive int, hidden units.
        scheme: initialisation scheme of `keras_rnncr.initializers`.
        learning_rate, threshold, omega: as above (`omega` only for sgd-cr):
            positive floats (`threshold` may also be an adaptive rule of
            `ClippedOptimizer`), `omega` >= 0.
        seed: seed of the initialisers.
        jit_compile: `"auto"`, True or False, passed to `compile`.
        n_values: None (the task's default: 5 for memorization), or a
            positive int, the alphabet size of memorization (the other tasks
            have fixed sizes and accept only None).
    """
    methods.check_method(method)
    jit_compile = _validation.check_jit_compile(jit_compile)
    units = _validation.check_positive_int("units", units)
    learning_rate = _validation.check_positive_float("learning_rate", learning_rate)
    omega = _validation.check_non_negative_float("omega", omega)
    spec = get_task(task)
    options = {}
    if n_values is not None:
        n_values = _validation.check_positive_int("n_values", n_values)
        if not callable(spec.input_size):
            raise ValueError(
                f"Argument `n_values` applies to memorization only; {spec.label} "
                f"has fixed sizes (pass None). Received: n_values={n_values!r}"
            )
        options["n_values"] = n_values
    inputs_size, outputs_size = spec.sizes(**options)
    setup = methods.training_setup(method, learning_rate, threshold, omega)
    init = paper_initializers(scheme, seed=seed)
    layer = SimpleRNN(
        units,
        activation=init["activation"],
        kernel_initializer=init["kernel_initializer"],
        recurrent_initializer=init["recurrent_initializer"],
        return_sequences=spec.output_head == "softmax",
        omega=setup.omega,
        omega_metrics=True,  # Omega logged for every method, to compare
        name="rnn",
    )
    linear = spec.output_head == "last_linear"
    head = keras.layers.Dense(
        outputs_size,
        kernel_initializer=init["output_initializer"],
        activation=None if linear else "softmax",
        name="head",
    )
    inputs = keras.Input((None, inputs_size), name="sequence")
    model = keras.Model(inputs, head(layer(inputs)), name=f"{task}_{method}")
    model.compile(
        optimizer=setup.optimizer,
        loss="mse" if linear else "sparse_categorical_crossentropy",
        metrics=[spec.error_metric()],
        jit_compile=jit_compile,
    )
    return model
