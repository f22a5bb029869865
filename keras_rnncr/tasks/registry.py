"""Lookup of the synthetic tasks by name: generator, dataset, output head, metric."""

import collections.abc
import dataclasses
import inspect
from collections.abc import Callable

import numpy as np

from keras_rnncr.tasks import arithmetic, memorization, permutation, temporal_order
from keras_rnncr.tasks.metrics import (
    SequenceErrorRate,
    SquaredErrorRate,
    sequence_errors,
    squared_error_exceeds,
)


@dataclasses.dataclass(frozen=True)
class PaperSettings:
    """The hyper-parameters the paper trains a task with.

    Temporal order: Figure 7's (Pascanu, Mikolov & Bengio, ICML 2013: 50
    units, learning rate 0.01, threshold 1, alpha 4; smart tanh, the released
    code's default initialisation). The other tasks: the arXiv v2 appendix's
    values where it gives them (a secondary source: addition and
    multiplication alpha 0.5 and basic tanh; permutation learning rate 0.001
    and alpha 1; threshold 6; 100 units for 3-bit temporal order and
    permutation), Figure 7's otherwise.

    Args:
        units: int, hidden units.
        learning_rate: float, SGD's.
        threshold: float, of the gradient-norm clipping (SGD-C, SGD-CR).
        omega: float, the weight alpha of Omega (SGD-CR).
        scheme: str, initialisation of `keras_rnncr.initializers`.
    """

    units: int = 50
    learning_rate: float = 0.01
    threshold: float = 1.0
    omega: float = 4.0
    scheme: str = "smart_tanh"


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """Everything the training and evaluation code needs to know about a task.

    One declarative record per task: `task_model` reads its sizes and head,
    `evaluate_task` its criterion, the Keras metric and the error messages
    its label, so that none of them decides these again.

    Args:
        name: str, task name, e.g. `"temporal_order"`.
        label: str, the task's name in messages, e.g. `"temporal order"`.
        batch_fn: numpy generator with the signature shared by all tasks,
            `batch_fn(length, batch_size, rng, **options)`.
        dataset_fn: function returning the endless `tf.data.Dataset`, with
            the signature shared by all tasks, `dataset_fn(min_length=50,
            max_length=200, batch_size=20, seed=None, **options,
            num_parallel_calls=1, prefetch_buffer_size=AUTOTUNE)`.
        output_head: str, the released code's `classifType` in snake case:
            `"last_softmax"` (classify at the last step), `"softmax"`
            (classify at every step) or `"last_linear"` (regress at the last
            step).
        minimum_length: int, smallest length the generator accepts.
        input_size: int, or a function of the task's options giving it.
        output_size: int (classes or regression outputs), or a function of
            the task's options giving it.
        criterion: function `criterion(y_true, y_pred)` marking each wrong
            sequence with 1.0 (`sequence_errors`, `squared_error_exceeds`).
        metric: Keras metric class averaging `criterion` (a rate in [0, 1]).
        steps_fn: None, or `steps_fn(length, rng)` for a task whose
            generator draws its number of steps itself (it then accepts
            `steps=`), so that batches of several seeds can share it.
        paper_settings: `PaperSettings`, the hyper-parameters the paper
            trains the task with.
    """

    name: str
    label: str
    batch_fn: Callable
    dataset_fn: Callable
    output_head: str
    minimum_length: int
    input_size: int | Callable
    output_size: int | Callable
    criterion: Callable
    metric: type
    steps_fn: Callable | None = None
    paper_settings: PaperSettings = PaperSettings()

    def check_options(self, options):
        """`options` as a dict, if they are options of the task's generator.

        Their names must be arguments of `batch_fn` after `rng` (but `steps`,
        which the callers draw), and their values are checked by drawing one
        sequence of the shortest length with them, so that a bad value fails
        here, named by the generator, rather than at the first update.
        """
        if options is not None and not isinstance(options, collections.abc.Mapping):
            raise ValueError(
                f"The task options of {self.label} (`task_options`) must be a dict "
                f"or None. Received: {options!r}"
            )
        options = dict(options or {})
        accepted = [
            name
            for name in list(inspect.signature(self.batch_fn).parameters)[3:]
            if name != "steps"
        ]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise ValueError(
                f"The task options of {self.label} (`task_options`) are "
                f"{accepted or 'none'}. Received unknown: {unknown}"
            )
        if options:
            self.batch_fn(self.minimum_length, 1, np.random.default_rng(0), **options)
        return options

    def sizes(self, **options):
        """`(input_size, output_size)` for the task's `options`."""
        return tuple(
            size(**options) if callable(size) else size
            for size in (self.input_size, self.output_size)
        )

    def error_metric(self, **kwargs):
        """Returns a new Keras metric with the paper's error criterion."""
        return self.metric(**kwargs)


def _memorization_inputs(n_values=5, **_):
    return n_values + 2  # the symbols, a filler and the "go" signal


def _memorization_outputs(n_values=5, **_):
    return n_values + 1  # the symbols and the blank


_CLASSES = dict(
    output_head="last_softmax", criterion=sequence_errors, metric=SequenceErrorRate
)
_REGRESSION = dict(
    output_head="last_linear",
    criterion=squared_error_exceeds,
    metric=SquaredErrorRate,
    input_size=arithmetic.NUM_CHANNELS,
    output_size=1,
    minimum_length=arithmetic.MINIMUM_LENGTH,
    steps_fn=arithmetic.generated_steps,
    paper_settings=PaperSettings(omega=0.5, threshold=6.0, scheme="basic_tanh"),
)

TASKS = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "temporal_order",
            "temporal order",
            temporal_order.temporal_order_batch,
            temporal_order.temporal_order,
            minimum_length=temporal_order.MINIMUM_LENGTH,
            input_size=temporal_order.NUM_SYMBOLS,
            output_size=4,
            **_CLASSES,
        ),
        TaskSpec(
            "temporal_order_3bit",
            "3-bit temporal order",
            temporal_order.temporal_order_3bit_batch,
            temporal_order.temporal_order_3bit,
            minimum_length=temporal_order.MINIMUM_LENGTH,
            input_size=temporal_order.NUM_SYMBOLS,
            output_size=8,
            paper_settings=PaperSettings(units=100),
            **_CLASSES,
        ),
        TaskSpec(
            "addition",
            "addition",
            arithmetic.addition_batch,
            arithmetic.addition,
            **_REGRESSION,
        ),
        TaskSpec(
            "multiplication",
            "multiplication",
            arithmetic.multiplication_batch,
            arithmetic.multiplication,
            **_REGRESSION,
        ),
        TaskSpec(
            "permutation",
            "permutation",
            permutation.permutation_batch,
            permutation.permutation,
            minimum_length=1,
            input_size=permutation.NUM_SYMBOLS,
            output_size=permutation.NUM_SYMBOLS,
            paper_settings=PaperSettings(
                units=100, learning_rate=0.001, omega=1.0, threshold=6.0
            ),
            **_CLASSES,
        ),
        TaskSpec(
            "memorization",
            "memorization",
            memorization.memorization_batch,
            memorization.memorization,
            output_head="softmax",
            minimum_length=1,
            input_size=_memorization_inputs,
            output_size=_memorization_outputs,
            criterion=sequence_errors,
            metric=SequenceErrorRate,
        ),
    )
}


def get_task(name):
    """Returns the `TaskSpec` registered under `name` (see `TASKS`)."""
    if not isinstance(name, str) or name not in TASKS:
        raise ValueError(
            f"Argument `task` must be one of {sorted(TASKS)}. Received: task={name!r}"
        )
    return TASKS[name]


def generate_batch(task, length, batch_size, rng=None, **options):
    """Generates one numpy batch of the task named `task`.

    Dispatches to the task's generator, e.g. `temporal_order_batch`.

    Args:
        task: str, one of `TASKS`.
        length: int, sequence length `L` (see the task's generator).
        batch_size: int, number of sequences.
        rng: `numpy.random.Generator`, int seed or None.
        **options: task-specific options (memorization: `n_values`,
            `n_positions`).

    Returns:
        `(inputs, targets)` numpy arrays.

    Example:

    >>> inputs, targets = generate_batch("addition", 50, 4, rng=0)
    >>> targets.shape
    (4, 1)
    """
    return get_task(task).batch_fn(length, batch_size, rng, **options)
