"""Training runs that checkpoint, stop at a wall-clock limit and resume: the loop
the reproduction scripts share (`reproduce_music.py`, `reproduce_char_lm.py`).

A benchmark is a list of runs. Each run trains in its own folder with a
`keras_rnncr.callbacks.TrainingCheckpoint`; a finished run is written to the
results JSON at once. Running the same command again skips the finished runs
and resumes the unfinished one from its checkpoint, epoch for epoch as if it
had not been stopped.
"""

import contextlib
import copy
import datetime
import fcntl
import json
import os
import pathlib
import shlex
import sys
import time

import _common
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
    with run_lock(directory):
        remaining = deadline.remaining()
        checkpoint = rnncr_callbacks.TrainingCheckpoint(
            directory,
            every_seconds=every_seconds,
            time_limit=None if remaining is None else max(remaining, 1.0),
            callbacks=stateful,
            monitor=monitor,
            mode="min",  # the reproductions monitor errors (NLL, bits per character)
        )
        initial_epoch = checkpoint.restore(model)
        converged = any(
            getattr(callback, "stopped_epoch", None) is not None
            for callback in stateful
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


@contextlib.contextmanager
def run_lock(directory):
    """Holds `<directory>/.lock` while a process trains the run, or raises.

    Two invocations given the same run (the same command twice, or runs that
    overlap) would otherwise train one checkpoint folder at once, each
    restoring and overwriting the other's files, and write one record of a
    mixed run.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"The run in {directory} is being trained by another process; "
                "give each invocation other runs (--methods, --seeds, ...)."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def load_results(path, setup):
    """The results JSON at `path`, or a new one with `setup` and no runs.

    What was read is remembered, so that `save_results` can tell the entries
    changed in the returned dict from those it only carries along.
    """
    path = pathlib.Path(path)
    loaded = json.loads(path.read_text()) if path.exists() else {}
    results = copy.deepcopy(loaded) or {"setup": setup, "runs": []}
    _LOADED[_loaded_key(path, results)] = (results, loaded)
    return results


# What each results dict last read from or wrote to its file, by the file
# and the dict's id (the dict is held here too, so that its id stays its own).
_LOADED = {}


def _loaded_key(path, results):
    return str(pathlib.Path(path).resolve()), id(results)


def save_results(path, results):
    """Writes the results JSON atomically, keeping what other processes wrote.

    Two invocations may train different runs of one benchmark side by side
    (say `--methods sgd-c` on one core, `--methods sgd-cr` on the other), each
    from the file as it was when it started. Before writing, `results` is
    merged with the file as it is now, entry by entry (a run by dataset,
    ahead, method and seed; a top-level key; an entry of a dict such as the
    baselines or samples by dataset): an entry this process changed since it
    read or last wrote the file is written as it holds it; any other is taken
    from the file, so a run finished or a sample drawn by the other
    invocation is neither lost nor overwritten by an older copy. `results` is
    updated in place to what was written. Under a lock, so that two writers
    do not interleave. (`run_lock` keeps two from training one run.)
    """
    path = pathlib.Path(path)
    key = _loaded_key(path, results)
    with results_lock(path):
        if path.exists():
            theirs = json.loads(path.read_text())
            base = _LOADED.get(key, (None, {}))[1]
            runs = _merge_runs(
                results.get("runs", []), theirs.get("runs", []), base.get("runs", [])
            )
            merged = _merge_entries(
                {k: v for k, v in results.items() if k != "runs"},
                {k: v for k, v in theirs.items() if k != "runs"},
                {k: v for k, v in base.items() if k != "runs"},
                nested=True,
            )
            results.clear()
            results.update(merged)
            results["runs"] = runs
        text = json.dumps(results, indent=1)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text)
        os.replace(temporary, path)
        # What was written, as it reads back (tuples become lists).
        _LOADED[key] = (results, json.loads(text))


_MISSING = object()


def _changed(ours, base):
    """Whether this process changed an entry since it last read the file."""
    return base is _MISSING or _as_json(ours) != base


def _as_json(value):
    return json.loads(json.dumps(value))


def _merge_entries(ours, theirs, base, nested=False):
    """Ours where changed (or only ours), else theirs; dicts entry by entry."""
    merged = {}
    for name in [*ours, *(k for k in theirs if k not in ours)]:
        if name not in theirs:
            merged[name] = ours[name]
        elif name not in ours:
            merged[name] = theirs[name]
        elif nested and isinstance(ours[name], dict) and isinstance(theirs[name], dict):
            old = base.get(name, {})
            merged[name] = _merge_entries(
                ours[name], theirs[name], old if isinstance(old, dict) else {}
            )
        elif _changed(ours[name], base.get(name, _MISSING)):
            merged[name] = ours[name]
        else:
            merged[name] = theirs[name]
    return merged


def _merge_runs(ours, theirs, base):
    merged = _merge_entries(_by_run_key(ours), _by_run_key(theirs), _by_run_key(base))
    return list(merged.values())


def _by_run_key(runs):
    return {_run_key(run): run for run in runs}


@contextlib.contextmanager
def results_lock(path):
    """Holds an exclusive lock shared by the invocations writing `path`.

    `save_results` writes under it; the scripts also load their data under
    it, so that two invocations started together do not both prepare a TFDS
    dataset (the second one's rename of its `incomplete.*` folder fails).
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_key(run):
    return tuple(run.get(k) for k in ("dataset", "ahead", "method", "seed"))


def in_progress(directory):
    """`(epochs done, history)` of an unfinished run's checkpoint, or None."""
    state = pathlib.Path(directory) / "state.json"
    if not state.is_file():
        return None
    saved = json.loads(state.read_text())
    return saved["epochs_done"], saved["history"]


def add_arguments(parser, data_help, work_dir):
    """The arguments both reproduction scripts take, in one definition.

    Runs, seeds and the learning-rate schedule (`--methods`, `--seeds` of
    SGD-C and SGD-CR, `--sgd-seeds`, `--patience`, `--max-halvings`), where the
    data and the results are (`--data-dir`, `--tfds-dir`, `--work-dir`,
    `--results`) and how the invocation runs (`--time-limit`,
    `--checkpoint-every`, `--threads`, `--verbose`, `--report-only`).
    """
    root = pathlib.Path(__file__).resolve().parent
    parser.add_argument("--data-dir", help=data_help)
    parser.add_argument("--tfds-dir", default=None, help="TFDS data_dir")
    parser.add_argument("--work-dir", default=work_dir)
    parser.add_argument("--results", default=str(root / "results"))
    methods = ["sgd", "sgd-c", "sgd-cr"]
    parser.add_argument("--methods", nargs="+", default=methods, choices=methods)
    parser.add_argument(
        "--seeds",
        type=_common.non_negative_int,
        nargs="+",
        default=[0, 1],
        help="of sgd-c and sgd-cr",
    )
    parser.add_argument(
        "--sgd-seeds", type=_common.non_negative_int, nargs="+", default=[0]
    )
    parser.add_argument(
        "--patience",
        type=_common.non_negative_int,
        help="default: the model's PATIENCE",
    )
    parser.add_argument(
        "--max-halvings",
        type=_common.non_negative_int,
        help="default: the model's MAX_HALVINGS",
    )
    parser.add_argument(
        "--time-limit", type=float, help="seconds; then checkpoint and exit"
    )
    parser.add_argument("--checkpoint-every", type=float, default=300.0)
    parser.add_argument("--threads", type=int, default=1, help="0: TensorFlow's")
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument("--report-only", action="store_true")


def seeds_of(args, method):
    """The seeds of `method`'s runs: `--sgd-seeds` for SGD, `--seeds` otherwise."""
    return args.sgd_seeds if method == "sgd" else args.seeds


def schedule_settings(args, module):
    """Patience and halvings from the arguments, or `module`'s defaults."""
    return dict(
        patience=module.PATIENCE if args.patience is None else args.patience,
        max_halvings=module.MAX_HALVINGS
        if args.max_halvings is None
        else args.max_halvings,
    )


def command_line(script, argv):
    """The command that runs (and continues) this invocation."""
    given = sys.argv[1:] if argv is None else argv
    return f"python benchmarks/{script} " + shlex.join(given)


def may_start(trained, deadline, margin):
    """Whether another run may start in this invocation.

    The first run of an invocation always trains (at least an epoch), so that
    every invocation makes progress; later ones need `margin` seconds left.
    """
    return not trained or not deadline.expired(margin=margin)


def run_record(checkpoint, settings, steps, curve_keys, model, threads):
    """The part of a finished run's record both scripts share.

    Args:
        checkpoint: the run's `TrainingCheckpoint` after `train_resumably`.
        settings: the run's settings (with `max_epochs`).
        steps: updates per epoch (of this invocation's settings).
        curve_keys: the per-epoch log entries kept as curves, besides the
            learning rate, gradient norm, clip rate and epoch seconds.
        model: the run's model: `updates` is its optimizer's `iterations`
            (the updates applied over every session, whatever their batch
            sizes; a step skipped as non-finite is not one).
        threads: `--threads` of this invocation, kept with the machine (a
            run's `train_seconds` depend on both; the epochs' seconds include
            each session's tracing, so a run interrupted more often counts a
            few seconds more).
    """
    history = checkpoint.history
    keys = (*curve_keys, "learning_rate", "grad_norm", "clipped", "epoch_seconds")
    return {
        "settings": settings,
        "epochs": checkpoint.epochs_done,
        "updates_per_epoch": steps,
        "updates": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        "machine": {**_common.machine(), "threads": threads},
        "best_epoch": checkpoint.best_epoch + 1,
        "train_seconds": float(sum(history["epoch_seconds"])),
        "final_learning_rate": history["learning_rate"][-1],
        "halvings": int(history["halvings"][-1]),
        "converged": checkpoint.epochs_done < settings["max_epochs"],
        "curves": {key: history[key] for key in keys if key in history},
        "finished": datetime.datetime.now(datetime.UTC).isoformat(),
    }


SETTINGS_FILE = "settings.json"


def settings_history(directory, settings, initial_epoch, earlier=None):
    """The run's settings by epoch, `[{"from_epoch": e, "settings": {...}}]`.

    Kept in `<run dir>/settings.json`: a run resumed with other settings (a new
    `--min-improvement`, `--max-epochs`...) gets an entry from its next epoch,
    so that its record says which rule trained which epochs. A checkpoint
    from before the file was kept ran with the settings updated by `earlier`.
    """
    path = pathlib.Path(directory) / SETTINGS_FILE
    if path.is_file():
        history = json.loads(path.read_text())
    elif initial_epoch:
        history = [{"from_epoch": 1, "settings": {**settings, **(earlier or {})}}]
    else:
        history = []
    changed = not history or history[-1]["settings"] != settings
    if changed:
        history.append({"from_epoch": initial_epoch + 1, "settings": settings})
    if changed or not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(history, indent=1))
    return history


def read_settings_history(directory):
    """The run's settings by epoch as `settings_history` kept them, or `[]`
    (a run finished before they were kept)."""
    path = pathlib.Path(directory) / SETTINGS_FILE
    return json.loads(path.read_text()) if path.is_file() else []


# Settings a resumed run does not take from the command: the checkpoint
# restores the optimizer's learning rate (and the halvings made so far).
_RESTORED = {"learning_rate": "not applied: the run keeps its restored rate"}


def settings_changes(history):
    """`"from epoch E: key a -> b, ..."` for each change in `history`."""
    changes = []
    for before, after in zip(history, history[1:]):
        old, new = before["settings"], after["settings"]
        moved = [
            f"{k} {old.get(k)} -> {new[k]}"
            + (f" ({_RESTORED[k]})" if k in _RESTORED else "")
            for k in new
            if old.get(k) != new[k]
        ]
        changes.append(f"from epoch {after['from_epoch']}: " + ", ".join(moved))
    return changes


def warn_if_settings_differ(record, settings, name):
    """Says so when a finished run's record has other settings than this
    invocation's: the record stands (delete it from the results JSON to
    train the run again)."""
    kept = record.get("settings", {})
    differ = sorted(
        k for k in set(kept) | set(settings) if kept.get(k) != settings.get(k)
    )
    if differ:
        moved = ", ".join(f"{k} {kept.get(k)} (now {settings.get(k)})" for k in differ)
        print(
            f"{name} is finished with other settings than this invocation's: "
            f"{moved}. Its record stands; remove it from the results JSON to "
            "train it again.",
            flush=True,
        )


def print_stopped():
    print(
        "Stopped at the time limit with a checkpoint; run the same command "
        "again to continue.",
        flush=True,
    )


def start(args, name):
    """`(deadline, results_dir, path, results)` of an invocation.

    Starts the clock of `--time-limit`, sets TensorFlow's threads and loads
    the results JSON `<--results>/<name>.json` (or a new one with the machine).
    """
    deadline = Deadline(args.time_limit)
    set_threads(args.threads)
    results_dir = pathlib.Path(args.results)
    path = results_dir / f"{name}.json"
    machine = {**_common.machine(), "threads": args.threads}
    return deadline, results_dir, path, load_results(path, {"machine": machine})
