"""Training runs that checkpoint, stop at a wall-clock limit and resume: the loop
the reproduction scripts share (`reproduce_music.py`, `reproduce_char_lm.py`).

A benchmark is a list of runs. Each run trains in its own folder with a
`keras_rnncr.callbacks.TrainingCheckpoint`; a finished run is written to the
results JSON at once. Running the same command again skips the finished runs
and resumes the unfinished one from its checkpoint, epoch for epoch as if it
had not been stopped.
"""

import json
import os
import pathlib
import time

import keras

from keras_rnncr import callbacks as rnncr_callbacks


def set_threads(threads):
    """Gives TensorFlow `threads` intra- and inter-op threads (0: its choice).

    Call it before TensorFlow runs anything; if it already has (a second
    `main` in one process), its threads are left as they are.
    """
    import tensorflow as tf

    if not threads:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        print(f"TensorFlow already runs: --threads={threads} is not applied.")


class Deadline:
    """The wall-clock limit of one invocation of a benchmark script."""

    def __init__(self, seconds):
        self.end = None if seconds is None else time.monotonic() + seconds

    def remaining(self):
        """Seconds left, or None without a limit."""
        return None if self.end is None else self.end - time.monotonic()

    def expired(self, margin=0.0):
        remaining = self.remaining()
        return remaining is not None and remaining <= margin


class EpochSeconds(keras.callbacks.Callback):
    """Logs the seconds of each epoch (training and validation) as `epoch_seconds`."""

    def on_epoch_begin(self, epoch, logs=None):
        self.begin = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.monotonic() - self.begin


def train_resumably(
    model,
    directory,
    make_data,
    epochs,
    callbacks,
    stateful,
    monitor,
    every_seconds,
    deadline,
    verbose=2,
):
    """Trains `model` from its checkpoint in `directory` until done or out of time.

    Args:
        model: the compiled model, built as in every session of the run.
        directory: the run's checkpoint folder.
        make_data: `make_data(initial_epoch) -> dict` of `fit` arguments for
            the data (`x`, `validation_data`, `steps_per_epoch`...).
        epochs: the most epochs of the run.
        callbacks: the run's callbacks (the checkpoint is added last).
        stateful: the callbacks among them whose state must be saved.
        monitor: the log entry whose lowest value marks the best epoch.
        every_seconds: least time between two checkpoints.
        deadline: a `Deadline`.
        verbose: `fit` verbosity.

    Returns:
        `(checkpoint, finished)`: the `TrainingCheckpoint` (its `history` has
        every epoch of the run) and whether the run is over (it converged or
        reached `epochs`) rather than stopped by the deadline.
    """
    remaining = deadline.remaining()
    checkpoint = rnncr_callbacks.TrainingCheckpoint(
        directory,
        every_seconds=every_seconds,
        time_limit=None if remaining is None else max(remaining, 1.0),
        callbacks=stateful,
        monitor=monitor,
    )
    initial_epoch = checkpoint.restore(model)
    converged = any(
        getattr(callback, "stopped_epoch", None) is not None for callback in stateful
    )
    if initial_epoch < epochs and not converged:
        if initial_epoch:
            print(f"Resuming {directory} at epoch {initial_epoch + 1}.", flush=True)
        model.fit(
            **make_data(initial_epoch),
            initial_epoch=initial_epoch,
            epochs=epochs,
            callbacks=[*callbacks, EpochSeconds(), checkpoint],
            shuffle=False,
            verbose=verbose,
        )
    return checkpoint, not checkpoint.stopped_by_time_limit


def load_results(path, setup):
    """The results JSON at `path`, or a new one with `setup` and no runs."""
    path = pathlib.Path(path)
    if path.exists():
        return json.loads(path.read_text())
    return {"setup": setup, "runs": []}


def save_results(path, results):
    """Writes the results JSON atomically."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(results, indent=1))
    os.replace(temporary, path)


def in_progress(directory):
    """`(epochs done, history)` of an unfinished run's checkpoint, or None."""
    state = pathlib.Path(directory) / "state.json"
    if not state.is_file():
        return None
    saved = json.loads(state.read_text())
    return saved["epochs_done"], saved["history"]
