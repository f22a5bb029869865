"""Synthetic tasks of Pascanu, Mikolov & Bengio (ICML 2013, §4.1) with their metrics."""

from keras_rnncr.methods import METHODS  # re-exported: the home is keras_rnncr.methods
from keras_rnncr.tasks.arithmetic import (
    addition,
    addition_batch,
    multiplication,
    multiplication_batch,
)
from keras_rnncr.tasks.evaluation import evaluate_task
from keras_rnncr.tasks.memorization import memorization, memorization_batch
from keras_rnncr.tasks.metrics import (
    SequenceErrorRate,
    SquaredErrorRate,
    sequence_errors,
    squared_error_exceeds,
)
from keras_rnncr.tasks.models import task_model
from keras_rnncr.tasks.multi_run import MultiRunTrainer, RunSpec
from keras_rnncr.tasks.permutation import permutation, permutation_batch
from keras_rnncr.tasks.registry import (
    TASKS,
    PaperSettings,
    TaskSpec,
    generate_batch,
    get_task,
)
from keras_rnncr.tasks.sampling import sample_length
from keras_rnncr.tasks.temporal_order import (
    temporal_order,
    temporal_order_3bit,
    temporal_order_3bit_batch,
    temporal_order_batch,
)

__all__ = [
    "METHODS",
    "TASKS",
    "MultiRunTrainer",
    "RunSpec",
    "SequenceErrorRate",
    "SquaredErrorRate",
    "PaperSettings",
    "TaskSpec",
    "addition",
    "addition_batch",
    "evaluate_task",
    "generate_batch",
    "get_task",
    "memorization",
    "memorization_batch",
    "multiplication",
    "multiplication_batch",
    "permutation",
    "permutation_batch",
    "sample_length",
    "sequence_errors",
    "squared_error_exceeds",
    "temporal_order",
    "temporal_order_3bit",
    "temporal_order_3bit_batch",
    "task_model",
    "temporal_order_batch",
]
