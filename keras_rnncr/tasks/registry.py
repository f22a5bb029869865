"""Lookup of the synthetic tasks by name: generator, dataset, output head, metric."""

import dataclasses
from collections.abc import Callable

from keras_rnncr.tasks import arithmetic, memorization, permutation, temporal_order
from keras_rnncr.tasks.metrics import SequenceErrorRate, SquaredErrorRate


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """Everything the training and evaluation code needs to know about a task.

    Args:
        name: str, task name, e.g. `"temporal_order"`.
        batch_fn: numpy generator `batch_fn(length, batch_size, rng, **options)`.
        dataset_fn: function returning the endless `tf.data.Dataset`.
        output_head: str, the released code's `classifType` in snake case:
            `"last_softmax"` (classify at the last step), `"softmax"`
            (classify at every step) or `"last_linear"` (regress at the last
            step).
        minimum_length: int, smallest length the generator accepts.
        steps_fn: None, or `steps_fn(length, rng)` for a task whose
            generator draws its number of steps itself (it then accepts
            `steps=`), so that batches of several seeds can share it.
    """

    name: str
    batch_fn: Callable
    dataset_fn: Callable
    output_head: str
    minimum_length: int
    steps_fn: Callable | None = None

    def error_metric(self, **kwargs):
        """Returns a new Keras metric with the paper's error criterion."""
        if self.output_head == "last_linear":
            return SquaredErrorRate(**kwargs)
        return SequenceErrorRate(**kwargs)


TASKS = {
    spec.name: spec
    for spec in (
        TaskSpec(
            "temporal_order",
            temporal_order.temporal_order_batch,
            temporal_order.temporal_order,
            "last_softmax",
            temporal_order.MINIMUM_LENGTH,
        ),
        TaskSpec(
            "temporal_order_3bit",
            temporal_order.temporal_order_3bit_batch,
            temporal_order.temporal_order_3bit,
            "last_softmax",
            temporal_order.MINIMUM_LENGTH,
        ),
        TaskSpec(
            "addition",
            arithmetic.addition_batch,
            arithmetic.addition,
            "last_linear",
            arithmetic.MINIMUM_LENGTH,
            steps_fn=arithmetic.generated_steps,
        ),
        TaskSpec(
            "multiplication",
            arithmetic.multiplication_batch,
            arithmetic.multiplication,
            "last_linear",
            arithmetic.MINIMUM_LENGTH,
            steps_fn=arithmetic.generated_steps,
        ),
        TaskSpec(
            "permutation",
            permutation.permutation_batch,
            permutation.permutation,
            "last_softmax",
            1,
        ),
        TaskSpec(
            "memorization",
            memorization.memorization_batch,
            memorization.memorization,
            "softmax",
            1,
        ),
    )
}


def get_task(name):
    """Returns the `TaskSpec` registered under `name` (see `TASKS`)."""
    if name not in TASKS:
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
