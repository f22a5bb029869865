"""One epoch of a PTB run from a copy of its checkpoint, at FACTOR x its rate.

What halving (FACTOR 0.5) at the checkpoint's epoch would give, against the
run's own next epoch: same code path (reproduce_char_lm.train_one), data order,
callbacks and state; only the learning rate differs. The copy is trained to
one more epoch; no evaluation of the splits (only the logged validation).
Usage: python benchmarks/results/char_lm_ahead5_fork_rate.py RUN_DIR FACTOR FORK_DIR
(a measurement script, kept with its result char_lm_ahead5_fork_rate.json;
it trains the five-ahead SGD-CR seed-0 run only)
"""

import pathlib
import shutil
import sys

sys.path.insert(0, "/work/main/benchmarks")
import reproduce_char_lm as rc  # noqa: E402

run_dir, factor, fork = pathlib.Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
target = pathlib.Path(fork) / "ahead5" / "sgd-cr_seed0"
target.mkdir(parents=True)
for path in run_dir.iterdir():
    if path.is_file() and path.name != "best.npz":
        shutil.copy(path, target / path.name)
import json  # noqa: E402

done = json.loads((target / "state.json").read_text())["epochs_done"]
args = rc.parse_args(
    [
        "--data-dir",
        "/work/shared/data/ptb",
        "--work-dir",
        fork,
        "--methods",
        "sgd-cr",
        "--seeds",
        "0",
        "--aheads",
        "5",
        "--threads",
        "1",
        "--max-epochs",
        str(done + 1),
    ]
)
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
from keras_rnncr import callbacks, text  # noqa: E402

restore = callbacks.TrainingCheckpoint.restore


def restore_then_scale(self, model):
    epochs = restore(self, model)
    rate = float(model.optimizer.learning_rate.numpy())
    model.optimizer.learning_rate = rate * factor
    print(
        f"restored epoch {epochs}, learning rate {rate} -> {rate * factor}", flush=True
    )
    return epochs


callbacks.TrainingCheckpoint.restore = restore_then_scale
text.evaluate_bits_per_character = lambda *a, **k: float("nan")
_, vocabulary, ids = rc.corpus_ids(args)
import _resumable  # noqa: E402

rc.train_one(args, vocabulary, ids, "sgd-cr", 5, 0, _resumable.Deadline(None))
history = json.loads((target / "state.json").read_text())["history"]
print("val_bits_per_character", history["val_bits_per_character"][-3:])
print("learning_rate", history["learning_rate"][-3:])
