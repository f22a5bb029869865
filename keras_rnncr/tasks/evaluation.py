"""The paper's evaluation protocol: error rate on fresh sequences, in chunks."""

import numpy as np

from keras_rnncr.tasks import _validation
from keras_rnncr.tasks.registry import get_task
from keras_rnncr.tasks.sampling import sample_length

SUCCESS_PERCENT = 1.0

# How `evaluate_task` chooses its sequences' lengths.
LENGTH_DRAWS = ("random", "every")


def evaluate_task(
    model,
    task,
    num_sequences=10000,
    chunk_size=1000,
    min_length=50,
    max_length=200,
    seed=None,
    lengths="random",
    **task_options,
):
    """Measures a model's error rate on fresh sequences of a synthetic task.

    Pascanu, Mikolov & Bengio, ICML 2013, §4.1, following the released code
    (github.com/pascanur/trainingRNNs, `RNN.py`, validation loop):
    `num_sequences` fresh sequences are generated in chunks of `chunk_size`,
    each chunk with its own length drawn by `sample_length`, and scored with
    the task's criterion (`sequence_errors` or `squared_error_exceeds`).

    ```python
    for chunk in range(ceil(num_sequences / chunk_size)):
        length = min_length + rng.randint(max_length - min_length)
        errors += criterion(targets, model(inputs)).sum()
    error_percent = 100 * errors / num_sequences
    ```

    Two success rules are reported: the paper's (`success`: under 1% errors)
    and the code's stopping rule (`solved_zero_errors`: no error at all).

    With `lengths="every"`, the sequences are instead shared out equally
    between every length of `[min_length, max_length)` (in chunks of at most
    `chunk_size` sequences of one length; a remainder goes to evenly spaced
    lengths), so that no length of the range goes unscored (given at least as
    many sequences as lengths). The released code's rule samples at most
    `num_sequences / chunk_size` lengths (10 of the 150 of 50-199): a model
    that fails at a few lengths of its range can pass it by luck, and models
    trained to its zero-error rule did (keras_rnncr's Figure 7 sweep, 2026-12:
    four of 19 "solved" models had 1.5-4.5% errors over every length of their
    range, up to 43% at one length).

    Note: the code averages the per-chunk error rates; with equal chunks this
    equals `100 * num_errors / num_sequences`, which is used here so that a
    smaller last chunk is weighted correctly.

    Args:
        model: a Keras model (`predict_on_batch` is used) or any callable
            mapping an inputs batch to predictions.
        task: str, task name, one of `keras_rnncr.tasks.TASKS`.
        num_sequences: int, number of sequences. Defaults to 10000.
        chunk_size: int, sequences per chunk. Defaults to 1000.
        min_length: int, shortest length. Defaults to 50.
        max_length: int, exclusive upper bound of the length (unless equal to
            `min_length`). Defaults to 200.
        seed: int or None, seed of the evaluation data.
        lengths: `"random"` (the released code's rule: each chunk draws its
            length with `sample_length`) or `"every"` (every length of the
            range equally). Defaults to `"random"`.
        **task_options: task-specific generator options (memorization:
            `n_values`, `n_positions`).

    Returns:
        A dict with `task`, `num_sequences`, `num_errors`, `error_percent`,
        `success` (`error_percent < 1`), `solved_zero_errors`
        (`num_errors == 0`), `chunk_lengths` (the drawn length `L` of each
        chunk), `chunk_steps` (its number of time steps) and `chunk_errors`.

    Example:

    ```python
    result = evaluate_task(model, "temporal_order", seed=0)
    print(f"{result['error_percent']:.3f}% errors", result["success"])
    ```
    """
    predict = getattr(model, "predict_on_batch", model)
    (result,) = evaluate_predictions(
        lambda inputs: [predict(inputs)],
        task,
        num_sequences=num_sequences,
        chunk_size=chunk_size,
        min_length=min_length,
        max_length=max_length,
        seed=seed,
        lengths=lengths,
        **task_options,
    )
    return result


def evaluate_predictions(
    predict_all,
    task,
    num_sequences=10000,
    chunk_size=1000,
    min_length=50,
    max_length=200,
    seed=None,
    lengths="random",
    **task_options,
):
    """`evaluate_task` for several models on the same sequences.

    Args:
        predict_all: callable mapping an inputs batch to a sequence of
            predictions, one per model (e.g. an array `(models, batch, ...)`).
        Others: as `evaluate_task`.

    Returns:
        A list with `evaluate_task`'s result for each model.
    """
    spec = get_task(task)
    task_options = spec.check_options(task_options)
    num_sequences = _validation.check_positive_int("num_sequences", num_sequences)
    chunk_size = _validation.check_positive_int("chunk_size", chunk_size)
    min_length, max_length = _validation.check_length_range(
        min_length, max_length, spec.minimum_length, spec.label
    )
    seed = _validation.check_seed(seed)
    if lengths not in LENGTH_DRAWS:
        raise ValueError(
            f"Argument `lengths` must be one of {LENGTH_DRAWS}. "
            f"Received: lengths={lengths!r}"
        )
    criterion = spec.criterion
    # A stream of its own: the training streams draw batch i from
    # `default_rng([seed, i])`, and `default_rng(seed)` is batch 0's.
    rng = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(_validation.EVALUATION_STREAM,))
    )
    chunk_lengths, chunk_steps, chunk_errors = [], [], []
    for length, size in _chunks(
        num_sequences, chunk_size, min_length, max_length, lengths, rng
    ):
        inputs, targets = spec.batch_fn(length, size, rng, **task_options)
        chunk_lengths.append(length)
        chunk_steps.append(int(inputs.shape[1]))
        chunk_errors.append(
            [
                int(np.sum(np.asarray(criterion(targets, predictions))))
                for predictions in predict_all(inputs)
            ]
        )
    results = []
    for errors in zip(*chunk_errors, strict=True):
        num_errors = sum(errors)
        error_percent = 100.0 * num_errors / num_sequences
        results.append(
            {
                "task": task,
                "num_sequences": num_sequences,
                "num_errors": num_errors,
                "error_percent": error_percent,
                "success": error_percent < SUCCESS_PERCENT,
                "solved_zero_errors": num_errors == 0,
                "chunk_lengths": chunk_lengths,
                "chunk_steps": chunk_steps,
                "chunk_errors": list(errors),
            }
        )
    return results


def _chunks(num_sequences, chunk_size, min_length, max_length, lengths, rng):
    """`(length, size)` of each chunk of an evaluation (see `evaluate_task`)."""
    if lengths == "random":
        for start in range(0, num_sequences, chunk_size):
            size = min(chunk_size, num_sequences - start)
            yield sample_length(min_length, max_length, rng), size
        return
    every = range(min_length, max(max_length, min_length + 1))
    share, extra = divmod(num_sequences, len(every))
    for index, length in enumerate(every):
        # The `extra` sequences go to evenly spaced lengths.
        count = share + (
            (index + 1) * extra // len(every) > index * extra // len(every)
        )
        for start in range(0, count, chunk_size):
            yield length, min(chunk_size, count - start)
